// `tinynas search`: MCUNet's TinyNAS step on a trained supernet.
//   1. Every candidate is checked by the estimators first (SRAM, flash, optional latency), with
//      its patch schedule chosen as MCUNetV2 does when patches are allowed; nothing that does not
//      fit is ever scored.
//   2. A sample of fitting subnets is measured (the task's metric on validation data, of the
//      BN-recalibrated subnet with inherited weights, and of each half of those examples); an
//      accuracy predictor is fitted on them, its Kendall tau cross-validated and set beside the
//      noise floor (PredictorQuality).
//   3. The evolutionary search runs on the predictor (or on measurements when the predictor is
//      off); its finalists are re-measured and the best measured one wins.
//   4. The baselines through the same pipeline: random search at equal cost
//      (search.random_search_runs seeds) and a scaled MobileNetV2 (the largest width and
//      resolution of that family that fits); all get their test accuracy.
// Every measurement and every generation is saved as it happens, so a killed search resumes.
// What is optimised, and which way, is the scorer's metric (the dataset's task); "accuracy" in
// names and files is that metric. Torch-free: the supernet comes in through SubnetScorer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "estimators/estimate.h"
#include "nas/search/experiment.h"
#include "nas/search/subnet_scorer.h"

namespace tinynas {

// A subnet with its measured metric (val_accuracy / test_accuracy: the task's metric; -1 = not
// measured) and its estimate.
struct ScoredArch {
  ArchSpec arch;
  double val_accuracy = -1, test_accuracy = -1;
  std::optional<double> int8_test_accuracy;  // after the int8 export (tinynas search exports)
  Estimate estimate;

  bool empty() const { return arch.stages.empty(); }
  // The one JSON form (summary.json, sweep.json, sweep_run.json); null when empty.
  nlohmann::ordered_json to_json() const;
  static ScoredArch from_json(const nlohmann::ordered_json& j, const SearchSpace& space);
};

// One network trained alone from scratch once per seed (search.retrain_seeds): the task's metric
// of each run, and their mean and sample standard deviation (0 for one run).
struct SeedRuns {
  std::vector<uint64_t> seeds;
  std::vector<double> val, test;  // per seed; -1 = not measured
  std::vector<std::string> checkpoints;

  bool empty() const { return seeds.empty(); }
  void add(uint64_t seed, double val_score, double test_score, const std::string& checkpoint);
  static double mean(const std::vector<double>& v);
  static double stddev(const std::vector<double>& v);
  // {"seeds", "val", "test", "checkpoints", "val_mean", "val_std", "test_mean", "test_std"}; null when empty.
  nlohmann::ordered_json to_json() const;
};

// Random search at equal cost (search.random_search_runs): run r draws random fitting subnets
// with seed search.seed + r until it has measured as many as the search did (`evaluations`),
// and keeps the best by validation. Run 0 continues the stream the search drew its predictor's
// sample from, so it shares those measurements and pays only for the rest.
struct RandomSearch {
  int evaluations = 0;  // subnets measured per run
  std::vector<uint64_t> seeds;
  std::vector<ScoredArch> runs;  // each run's winner with its val and test metric

  bool empty() const { return runs.empty(); }
  std::vector<double> val() const;
  std::vector<double> test() const;
  // Each run's int8 test metric; empty unless every run has one.
  std::vector<double> int8_test() const;
  // {"evaluations_per_run", "runs": [{"seed", winner...}], "val_mean", "val_std", "test_mean",
  // "test_std"}; null when empty.
  nlohmann::ordered_json to_json() const;
};

// How far the predictor's ranking is from what measurement noise allows: every measured subnet
// predicted by a fit without it (5-fold cross-validation), against each half of its validation
// examples, beside the two halves against each other. A predictor that ranks a half as well as
// the other half does is as good as a second measurement of that size: what it misses is noise.
struct PredictorQuality {
  double l2 = 0;                       // the ridge penalty (search.predictor_l2, or chosen)
  bool l2_chosen = false;              // by the highest cross-validated tau (a slight optimism)
  int subnets = 0;                     // cross-validated predictions (0: no predictor)
  double kendall_tau = -2;             // predictions vs the full measurement
  int half_examples = 0;               // examples in each half (0: halves not measured)
  double tau_vs_half = -2;             // predictions vs a half (mean over the two halves)
  double tau_between_halves = -2;      // first half vs second half: the noise floor
  nlohmann::ordered_json to_json() const;
};

struct SearchSummary {
  Metric metric;                    // what val_accuracy / test_accuracy measure
  ScoredArch best, baseline;
  std::string baseline_name;        // "scaled MobileNetV2", or the search.baseline file's stem
  int measured = 0;                 // subnets measured on the supernet
  PredictorQuality predictor;
  RandomSearch random_search;
  int generations = 0;
  double seconds = 0;
  // search.retrain_winner: the winner and the baseline, each trained alone (empty when not).
  SeedRuns retrained_best, retrained_baseline;
  std::string to_json(const McuSpec& mcu) const;
};

class ResultsStore;

struct SearchOptions {
  SearchOptions(std::string out = "", bool resume_there = true, std::string store_file = "",
                ResultsStore* open_store = nullptr)
      : out_dir(std::move(out)), resume(resume_there), store_path(std::move(store_file)), store(open_store) {}
  std::string out_dir;
  bool resume = true;  // reuse the measurements and generations already in out_dir
  // The results store its measurements go to (measured.csv and random_search.csv are exports of
  // it): `store` if set (a sweep's), else the file `store_path` (default out_dir/results.db).
  std::string store_path;
  ResultsStore* store = nullptr;
};

SearchSummary run_search(const Experiment& exp, SubnetScorer& scorer, const SearchOptions& options);

// The MobileNetV2 family inside a space: kernel 3 (or the smallest offered), the largest
// expand ratio, MobileNetV2's depths (2, 3, 4, 3, 3, 1 after the first block) clipped to each
// stage's choices; scaled by the largest width x resolution (by MACs) that fits.
std::optional<ArchSpec> scaled_mobilenet_v2(const SearchSpace& space, Estimator& estimator);

}  // namespace tinynas
