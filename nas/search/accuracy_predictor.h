// An accuracy predictor for the search: ridge regression on a one-hot encoding of an ArchSpec
// (resolution, width, per-stage depth, per-block kernel and expand ratio) plus log MACs, fitted
// on subnets measured on the supernet. It lets the evolution score thousands of candidates in
// milliseconds; finalists are re-measured, and its rank correlation (Kendall tau) on held-out
// measured subnets is reported.
#pragma once

#include <Eigen/Dense>

#include <vector>

#include "search_spaces/arch_spec.h"
#include "search_spaces/search_space.h"

namespace tinynas {

class AccuracyPredictor {
 public:
  explicit AccuracyPredictor(const SearchSpace& space);

  int num_features() const { return num_features_; }
  Eigen::VectorXd features(const ArchSpec& arch) const;

  // Fits on (arch, accuracy) pairs; `l2` is the ridge penalty.
  void fit(const std::vector<ArchSpec>& archs, const std::vector<double>& accuracy, double l2 = 1e-2);
  double predict(const ArchSpec& arch) const;
  bool fitted() const { return weights_.size() > 0; }

 private:
  int offset_of_block(std::size_t stage, int index) const;

  const SearchSpace& space_;
  int num_features_ = 0;
  int depth_offset_ = 0;
  std::vector<int> stage_offsets_;  // first block feature of each stage
  Eigen::VectorXd weights_;
  double bias_ = 0;
};

// Kendall's tau-b between two equally long sequences (ties counted as in tau-b).
double kendall_tau(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace tinynas
