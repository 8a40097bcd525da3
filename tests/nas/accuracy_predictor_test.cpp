#include "nas/search/accuracy_predictor.h"

#include <gtest/gtest.h>

#include <cmath>

#include "search_spaces/arch_sampler.h"

namespace tinynas {
namespace {

const std::string kRoot = TINYNAS_SOURCE_DIR;

TEST(KendallTau, KnownValues) {
  EXPECT_DOUBLE_EQ(kendall_tau({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(kendall_tau({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  // scipy.stats.kendalltau([1,2,3,4,5], [3,1,2,5,4]) = 0.4
  EXPECT_NEAR(kendall_tau({1, 2, 3, 4, 5}, {3, 1, 2, 5, 4}), 0.4, 1e-12);
  // With ties (tau-b): scipy gives 0.9128709291752769 for [1,2,2,3] vs [1,2,3,4].
  EXPECT_NEAR(kendall_tau({1, 2, 2, 3}, {1, 2, 3, 4}), 0.9128709291752769, 1e-12);
}

TEST(AccuracyPredictor, RecoversAnAdditiveModelAndRanksHeldOutSubnets) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  ArchSampler sampler(space, 11);
  // A synthetic "accuracy": additive in the choices, plus noise.
  auto truth = [&](const ArchSpec& a) {
    double v = 0.80 + 0.01 * (a.resolution - 28) / 20.0 + 0.03 * a.width;
    for (const auto& st : a.stages) {
      for (const auto& b : st) v += 0.002 * b.kernel + 0.001 * b.expand;
    }
    return v;
  };
  std::vector<ArchSpec> train, test;
  std::vector<double> y_train, y_test;
  std::mt19937_64 noise(3);
  for (int i = 0; i < 300; ++i) {
    const ArchSpec a = sampler.sample();
    const double eps = (static_cast<double>(noise() % 1000) / 1000.0 - 0.5) * 0.002;
    (i < 200 ? train : test).push_back(a);
    (i < 200 ? y_train : y_test).push_back(truth(a) + eps);
  }
  AccuracyPredictor p(space);
  p.fit(train, y_train, 1e-4);
  std::vector<double> pred;
  double max_err = 0;
  for (std::size_t i = 0; i < test.size(); ++i) {
    pred.push_back(p.predict(test[i]));
    max_err = std::max(max_err, std::abs(pred.back() - truth(test[i])));
  }
  EXPECT_LT(max_err, 0.005);
  EXPECT_GT(kendall_tau(pred, y_test), 0.85);
}

}  // namespace
}  // namespace tinynas
