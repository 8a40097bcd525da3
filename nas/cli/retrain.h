// The end of `tinynas search` with search.retrain_winner: the winner (and the baseline, with
// search.retrain_baseline) trained alone from scratch with the train section's schedule, once per
// seed (search.retrain_seeds), as MCUNet retrains its searched model. Each run is its own
// resumable checkpoint in the output folder, so a killed search picks up where it was.
#pragma once

#include <string>

#include "nas/search/experiment.h"
#include "nas/search/search_pipeline.h"

namespace tinynas {

// Checkpoints: <out_dir>/<stem>.pt for the first seed (train.seed), <stem>-seed<N>.pt for the
// others. Returns the runs; finished runs are read back (re-evaluated), not trained again, unless
// `fresh`. A checkpoint of another network is a ConfigError naming it. Throws
// std::runtime_error when a run stops before the end of its schedule.
SeedRuns retrain_alone(const Experiment& exp, const ArchSpec& arch, const std::string& what,
                       const std::string& out_dir, const std::string& stem, bool fresh);

}  // namespace tinynas
