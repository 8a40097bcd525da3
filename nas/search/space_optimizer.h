// TinyNAS search-space optimisation (MCUNet §3.1): for each (width multiplier, resolution) of a
// grid, sample subnets of the space restricted to them, keep those the estimators say fit the
// MCU, and compare the distributions (CDFs) of their MACs. The space whose fitting subnets have
// the highest mean MACs wins: under the same memory limit, more compute tends to mean more
// accuracy. Only spaces where enough subnets fit compete (min_fitting_fraction): otherwise a
// large space whose few smallest subnets squeeze in would win on MACs it cannot search.
// Runs on the estimators alone (no network), in well under a second.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "estimators/estimate.h"
#include "nas/search/experiment.h"

namespace tinynas {

struct SpaceCandidate {
  double width = 1.0;
  int resolution = 0;
  int samples = 0;
  int fitting = 0;               // samples that fit (with a patch schedule if allowed)
  int fitting_with_patches = 0;  // of those, how many needed patch-based inference
  double mean_macs = 0;          // over fitting samples (0 if none fit)
  // Over the samples that needed patches: mean of (executed MACs / layer-by-layer MACs - 1), the
  // overlapping patches' recomputation under the chosen schedule. What receptive-field
  // redistribution (a small-kernel, shallow patch stage) is meant to keep low.
  double mean_patch_overhead = 0;
  std::vector<int64_t> macs;     // fitting samples' MACs, sorted (the CDF)
  bool eligible = false;          // enough fit (SpaceSearchConfig::min_fitting_fraction)
  double fitting_fraction() const { return samples ? static_cast<double>(fitting) / samples : 0; }
};

struct SpaceOptimization {
  std::vector<SpaceCandidate> candidates;
  // Index into candidates: the eligible one with the highest mean MACs; if none is eligible, the
  // one where most fit (fallback()); -1 if nothing fits anywhere.
  int best = -1;
  double seconds = 0;
  int64_t subnets_estimated = 0;

  bool fallback() const { return best >= 0 && !candidates[best].eligible; }

  std::string to_csv() const;   // one row per candidate
  std::string cdf_csv() const;  // width,resolution,macs,cdf: the curves
  std::string to_svg(const std::string& mcu) const;
};

// `space` with width and resolution fixed to one candidate.
SearchSpace restrict_space(const SearchSpace& space, double width, int resolution);

// Fitting is SRAM and flash (MCUNet's rule), plus the search's latency and MACs limits when the
// experiment sets them (`options`: Experiment::estimate_options(), which also holds the
// deployment's memory plan options): a subnet too slow for the real-time budget does not fit.
SpaceOptimization optimize_space(const SearchSpace& space, const McuSpec& mcu,
                                 const SpaceSearchConfig& config, bool allow_patches,
                                 const EstimateOptions& options = {});

// The chosen space as YAML (the base space's file with width_multipliers and resolutions
// replaced), for `space:` in an experiment config.
std::string restricted_space_yaml(const SearchSpace& space, double width, int resolution);

}  // namespace tinynas
