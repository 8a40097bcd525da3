// Exporting one subnet of the trained supernet: its BN-recalibrated weights and the data the
// exporter calibrates and measures on. Shared by `tinynas export` and the end of `tinynas search`.
#pragma once

#include "nas/search/experiment.h"
#include "nas/export/exporter.h"

namespace tinynas {

class SupernetEvaluator;

// Prints a short summary; returns the report (also written to options.out_dir/report.json).
ExportReport export_subnet(const Experiment& exp, const SearchSpace& space, const ArchSpec& arch,
                           SupernetEvaluator& evaluator, const ExportOptions& options);

}  // namespace tinynas
