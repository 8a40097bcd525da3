#include "nas/search/accuracy_predictor.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "search_spaces/net_graph.h"

namespace tinynas {

namespace {

template <typename T>
int index_of(const std::vector<T>& v, T x) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (std::abs(static_cast<double>(v[i]) - static_cast<double>(x)) < 1e-9) return static_cast<int>(i);
  }
  throw std::invalid_argument("value outside the search space");
}

}  // namespace

AccuracyPredictor::AccuracyPredictor(const SearchSpace& space) : space_(space) {
  int n = static_cast<int>(space.resolutions.size() + space.width_multipliers.size());
  depth_offset_ = n;
  for (const auto& st : space.stages) n += static_cast<int>(st.depths.size());
  for (const auto& st : space.stages) {
    stage_offsets_.push_back(n);
    n += st.max_depth() * static_cast<int>(st.kernel_sizes.size() + st.expand_ratios.size());
  }
  num_features_ = n + 1;  // + log MACs
}

int AccuracyPredictor::offset_of_block(std::size_t stage, int index) const {
  const auto& st = space_.stages[stage];
  return stage_offsets_[stage] +
         index * static_cast<int>(st.kernel_sizes.size() + st.expand_ratios.size());
}

Eigen::VectorXd AccuracyPredictor::features(const ArchSpec& a) const {
  Eigen::VectorXd f = Eigen::VectorXd::Zero(num_features_);
  f[index_of(space_.resolutions, a.resolution)] = 1;
  f[space_.resolutions.size() + index_of(space_.width_multipliers, a.width)] = 1;
  int d = depth_offset_;
  for (std::size_t s = 0; s < space_.stages.size(); ++s) {
    const auto& st = space_.stages[s];
    f[d + index_of(st.depths, a.depth(s))] = 1;
    d += static_cast<int>(st.depths.size());
    for (int i = 0; i < a.depth(s); ++i) {
      const int o = offset_of_block(s, i);
      f[o + index_of(st.kernel_sizes, a.stages[s][i].kernel)] = 1;
      f[o + static_cast<int>(st.kernel_sizes.size()) +
        index_of(st.expand_ratios, a.stages[s][i].expand)] = 1;
    }
  }
  f[num_features_ - 1] = std::log(static_cast<double>(lower(space_, a).macs())) / 10.0;
  return f;
}

void AccuracyPredictor::fit(const std::vector<ArchSpec>& archs, const std::vector<double>& acc,
                            double l2) {
  if (archs.size() != acc.size() || archs.size() < 2) {
    throw std::invalid_argument("predictor needs at least two measured subnets");
  }
  const int n = static_cast<int>(archs.size());
  Eigen::MatrixXd X(n, num_features_);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    X.row(i) = features(archs[i]).transpose();
    y[i] = acc[i];
  }
  // Centre so the bias is not penalised.
  const Eigen::RowVectorXd mean_x = X.colwise().mean();
  const double mean_y = y.mean();
  X.rowwise() -= mean_x;
  y.array() -= mean_y;
  Eigen::MatrixXd A = X.transpose() * X;
  A.diagonal().array() += l2 * n;
  weights_ = A.ldlt().solve(X.transpose() * y);
  bias_ = mean_y - mean_x.dot(weights_);
}

double AccuracyPredictor::predict(const ArchSpec& arch) const {
  if (!fitted()) throw std::logic_error("accuracy predictor used before fit()");
  return features(arch).dot(weights_) + bias_;
}

double kendall_tau(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size()) throw std::invalid_argument("kendall_tau: sizes differ");
  int64_t concordant = 0, discordant = 0, ties_x = 0, ties_y = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      const double dx = x[i] - x[j], dy = y[i] - y[j];
      if (dx == 0 && dy == 0) continue;
      if (dx == 0) {
        ++ties_x;
      } else if (dy == 0) {
        ++ties_y;
      } else if ((dx > 0) == (dy > 0)) {
        ++concordant;
      } else {
        ++discordant;
      }
    }
  }
  const double denom = std::sqrt(static_cast<double>(concordant + discordant + ties_x) *
                                 static_cast<double>(concordant + discordant + ties_y));
  return denom > 0 ? (concordant - discordant) / denom : 0.0;
}

}  // namespace tinynas
