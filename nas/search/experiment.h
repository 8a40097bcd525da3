// An experiment config (configs/*.yaml): the MCU, the search space and the data, train, search
// and export sections, all validated by one loader. Bad input throws ConfigError (exit code 2).
// `base: other.yaml` (a config in the same folder) lays that config under this one, section by
// section: this file's keys win (configs/stm32f746-ceiling.yaml is the main experiment without its
// latency limit).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "estimators/estimate.h"
#include "estimators/mcu.h"
#include "search_spaces/config_node.h"
#include "search_spaces/search_space.h"
#include "supernet/train_config.h"

namespace tinynas {

struct SearchConfig {
  int population = 100;
  int parents = 20;
  int mutations = 50;
  int crossovers = 50;
  double mutation_prob = 0.1;
  int generations = 30;
  uint64_t seed = 0;
  double latency_limit_ms = 0;  // 0 = no latency constraint
  double macs_limit = 0;        // 0 = none; else at most this many MACs (a baseline's compute)
  int val_images = 0;           // 0 = the whole validation split
  bool search_patches = true;   // choose a patch schedule per candidate (MCUNetV2)
  bool use_predictor = true;    // evolve on an accuracy predictor fitted to measured subnets
  int measure_subnets = 100;    // fitting subnets measured to fit the predictor
  int finalists = 10;           // top candidates re-measured on the supernet
  // The predictor's ridge penalty; -1: the one of 1e-3, 1e-2, ..., 1e3 whose cross-validated
  // Kendall tau is highest.
  double predictor_l2 = -1;
  // After the search, train the winner alone from scratch with the train section's schedule (as
  // MCUNet retrains its searched model) and export those weights; out/winner.pt, resumable.
  bool retrain_winner = false;
  // With retrain_winner: each network is trained alone this many times, with seeds train.seed,
  // train.seed + 1, ...; summary.json gives every run and the mean and spread, since one seed's
  // test accuracy moves by about a point on small test sets. The first seed's winner is exported.
  int retrain_seeds = 1;
  // With retrain_winner: the baseline is trained alone too, with the same seeds and schedule, so
  // that searched and baseline are compared as equals (not retrained against inherited weights).
  bool retrain_baseline = true;
  // Random search at equal cost, the second baseline: this many runs (seeds), each the best by
  // validation of as many random fitting subnets as the search measured on the supernet; their
  // test metrics' mean and spread go beside the searched winner. 0 = none.
  int random_search_runs = 0;
  // The baseline measured beside the winner: an ArchSpec file of the space (e.g. MLPerf Tiny's
  // DS-CNN for keyword spotting); empty = the scaled MobileNetV2 of the space that fits.
  std::string baseline;

  static SearchConfig from_config(const ConfigNode& node);
  // Every setting by its config key, in declaration order (a sweep's run settings and labels).
  nlohmann::ordered_json to_json() const;

 private:
  // The one list of the fields: key, member, accepted range (experiment.cpp).
  template <class Self, class Visitor>
  static void fields(Self& s, Visitor&& visit);
};

// The grid of `tinynas space` (MCUNet's search-space optimisation).
struct SpaceSearchConfig {
  std::vector<double> widths{0.25, 0.35, 0.5, 0.75, 1.0, 1.25, 1.5};
  std::vector<int> resolutions{24, 28, 32, 36, 40, 48, 56, 64};
  int samples = 1000;  // subnets sampled per (width, resolution)
  uint64_t seed = 0;
  // A space where fewer of the sampled subnets fit is not chosen: its fitting subnets are a
  // corner of it that the search can hardly explore, and their mean MACs rest on few samples.
  double min_fitting_fraction = 0.1;

  static SpaceSearchConfig from_config(const ConfigNode& node);
};

// How the network is deployed and checked. input_in_arena is a property of the deployment, not
// of the export step alone: it changes the memory plan, so the search's fits() check, `tinynas
// estimate` and the generated code all read it (Experiment::estimate_options()).
struct ExportConfig {
  int calibration_images = 512;  // training images used to calibrate activation ranges
  bool run_on_qemu = false;
  // false: the image stays in the application's buffer (camera / DMA frame, flash), which the
  // generated tinynas_invoke(input) only reads; the arena holds none of it (MCUNetV2's setting).
  bool input_in_arena = true;
  int firmware_inputs = 16;  // test-split inputs embedded in the firmware, checked byte for byte

  static ExportConfig from_config(const ConfigNode& node);
};

struct Experiment {
  std::string path;        // the config file
  std::string mcu_path;
  std::string space_path;
  McuSpec mcu;
  SearchSpace space;
  DataConfig data;
  TrainConfig train;
  SearchConfig search;
  ExportConfig export_;
  SpaceSearchConfig space_search;
  ConfigNode root;         // for sections that later stages read themselves

  static Experiment load(const std::string& path);
  // The estimator settings every stage shares, so that search, estimate and export plan the
  // same arena: search's latency limit and export's input placement.
  EstimateOptions estimate_options() const;
};

}  // namespace tinynas
