// `tinynas sweep`: the same search (nas/search_pipeline.h) over several MCUs, memory budgets or
// search settings, as MCUNet's accuracy-against-SRAM figures are made.
//
// A sweep file names a base experiment and a list of runs; each run is the base with overrides:
//
//   base: ../tiny.yaml             # experiment config every run starts from (relative to this file)
//   search: {generations: 5}       # optional: over the base's search: section, for every run
//   export: {calibration_images: 64}  # optional: over the base's export: section, for every run
//   runs:
//     - name: l432                 # required, unique; the run's output directory
//       mcu: ../mcus/stm32l432.yaml  # another MCU file
//       sram_budget_kb: 48         # what the model may use of SRAM (the MCU's sram_bytes becomes
//       flash_budget_kb: 192       #   reserved_sram_bytes + this); likewise flash
//       search: {seed: 1}          # over the sweep's and the base's search: settings
//       export: {run_on_qemu: true}
//
// Every key is validated by the config reader (unknown keys get a did-you-mean, bad values name
// the file and the key path). Only the MCU, its budgets and the search/export settings change
// between runs: the space, data and supernet are the base's, so the supernet is loaded once and
// every accuracy measured by one run is reused by the others (keyed by the ArchSpec hash, the
// split and the number of validation images: an AccuracyCache, nas/search/accuracy_cache.h, the
// class each search keeps its measurements with).
//
// Everything a sweep measures and decides goes into one results store (nas/search/results_store.h,
// default OUT/results.db): the shared scores, each run's search measurements and each run's record
// (its effective settings, and its row once searched and once exported; exported to
// OUT/<name>/sweep_run.json). A run finished under the same settings is skipped; one killed after
// its search (summary.json written) is only exported; one killed during its search resumes as
// `tinynas search` does; one whose settings changed starts over (its accuracies still come from the
// store). OUT/sweep.csv, sweep.json, sweep.svg (test accuracy against the SRAM limit),
// sweep_flash.svg and accuracy_cache.csv are exports of the store, rewritten after every run.
//
// As a job array: each task runs one run (SweepOptions::array_task) into the shared store, at the
// same time as the others; a plain run afterwards finds them all finished and writes the exports.
// What is compared is the scorer's metric (the task's; "accuracy" in names and files), named in
// sweep.csv's metric column and sweep.json. Torch-free: the supernet comes in through a
// SubnetScorer (one for the whole sweep), the export through a hook.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nas/search/experiment.h"
#include "nas/search/search_pipeline.h"

namespace tinynas {

struct SweepRun {
  std::string name;
  Experiment exp;         // the base experiment with this run's overrides applied
  std::string settings;   // its effective settings (JSON): MCU, budgets, search, export, space
  std::string fingerprint;  // hash of `settings` (hex): a saved run under other settings is stale
};

struct Sweep {
  std::string path;       // the sweep file
  std::string name;       // its stem: "configs/sweeps/tiny.yaml" -> "tiny"
  std::string base_path;  // the base experiment config
  Experiment base;
  SearchConfig search;    // the sweep-wide search settings (the base's with the sweep's search:)
  std::vector<SweepRun> runs;

  // Throws ConfigError naming the file, the key path and what was expected.
  static Sweep load(const std::string& path);
};

// One line of sweep.csv.
struct SweepRow {
  std::string name, mcu;
  int64_t sram_limit_bytes = 0, flash_limit_bytes = 0;
  double latency_limit_ms = 0;  // 0: none
  ScoredArch best, baseline;    // baseline.arch empty: no scaled MobileNetV2 fits
  int measured = 0;             // subnets measured by the run (its measured.csv)
  int supernet_evaluations = 0; // of its accuracies, how many the supernet computed (cache misses)
  int cache_hits = 0;           // ... and how many came from earlier runs of the sweep
  double int8_test_accuracy = -1;  // of the exported winner (-1: not exported)
  bool export_verified = true;     // the generated C matched the reference (host, and QEMU if run)
  double seconds = 0;           // wall time of its search and export (a search resumed after a
                                //   kill counts from the resumption)
  bool skipped = false;         // finished by an earlier invocation (not serialised)
  std::string error;            // the run failed (not finished; the next invocation retries it)
};

struct RunExport {
  double int8_test_accuracy = -1;
  bool verified = true;
};

// Exports a run's winner into `dir` (OUT/<name>/export); `qemu`: verify on QEMU's Cortex-M7 too.
using SweepExportHook =
    std::function<RunExport(const SweepRun& run, const SearchSummary& s, const std::string& dir, bool qemu)>;

struct SweepOptions {
  std::string out_dir;
  bool resume = true;        // false: forget this sweep's runs and its supernet's scores in the store
  std::string scorer_id;     // names the supernet; a sweep run with another is refused
  std::string store_path;    // the results store (default out_dir/results.db): one path for every
                             //   task of an array, on a filesystem they all see
  int array_task = -1;       // >= 0: only this run (0-based, the file's order), no merged exports;
                             //   out of range: ConfigError
  SweepExportHook export_run;  // empty: no export
  bool qemu = false;         // with export_run: verify on QEMU (also when a run's export.run_on_qemu)
};

struct SweepResult {
  std::vector<SweepRow> rows;  // one per run, in the sweep file's order (an array task: its run)
  int skipped = 0, failed = 0;
  int supernet_evaluations = 0, cache_hits = 0;  // in this invocation
  double seconds = 0;
};

SweepResult run_sweep(const Sweep& sweep, SubnetScorer& scorer, const SweepOptions& options);

// The text of sweep.csv for these rows, measured in `metric`.
std::string sweep_csv(const std::vector<SweepRow>& rows, const Metric& metric);

}  // namespace tinynas
