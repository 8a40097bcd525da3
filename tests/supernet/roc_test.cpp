// The ROC summaries of supernet/roc.h against hand-worked cases and against scikit-learn 1.2.1
// (roc_auc_score, with and without max_fpr; the raw partial area from roc_curve), on a seeded set
// with ties (numpy RandomState(7): 40 normals ~ N(0, 1), 25 anomalies ~ N(1, 1), rounded to 0.1).
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "supernet/roc.h"

namespace tinynas {
namespace {

TEST(Roc, HandWorkedCases) {
  // Perfectly separated, and reversed.
  EXPECT_DOUBLE_EQ(auroc({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(auroc({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(partial_auroc({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}, 0.1), 1.0);
  // Every score equal: chance, a tie is half a win.
  EXPECT_DOUBLE_EQ(auroc({1, 1, 1, 1}, {0, 1, 0, 1}), 0.5);
  EXPECT_DOUBLE_EQ(partial_auroc({1, 1, 1, 1}, {0, 1, 0, 1}, 0.1), 0.05);
  EXPECT_DOUBLE_EQ(partial_auroc_mcclish({1, 1, 1, 1}, {0, 1, 0, 1}, 0.1), 0.5);
  // Pairs (pos, neg): 3>1 3>2 | 2=2 (half) 2>1 -> (2 + 1.5) / 4.
  EXPECT_DOUBLE_EQ(auroc({3, 2, 2, 1}, {1, 1, 0, 0}), 0.875);
}

TEST(Roc, MatchesScikitLearnWithTies) {
  const std::vector<double> s = {
      1.7,  -0.5, 0.0,  0.4,  -0.8, 0.0,  -0.0, -1.8, 1.0,  0.6,  -0.6, -0.2, 0.5,
      -0.3, -0.2, -1.5, 0.6,  0.1,  0.3,  -1.5, 1.7,  0.2,  -0.4, 2.0,  -0.0, -1.5,
      -0.4, -2.3, 1.0,  -0.4, -0.7, 1.1,  -1.7, 0.5,  -2.1, -0.7, -1.2, 1.5,  1.8,
      -0.3, 1.8,  0.8,  1.6,  0.2,  -0.7, -0.8, 1.4,  3.2,  1.3,  0.5,  2.9,  1.2,
      1.1,  1.3,  0.9,  0.7,  -0.4, 1.5,  0.9,  2.2,  0.6,  -0.9, 0.9,  2.7,  0.6};
  std::vector<int> y(65, 0);
  for (int i = 40; i < 65; ++i) y[static_cast<std::size_t>(i)] = 1;
  EXPECT_NEAR(auroc(s, y), 0.762, 1e-12);
  EXPECT_NEAR(partial_auroc(s, y, 0.1), 0.185, 1e-12);
  EXPECT_NEAR(partial_auroc(s, y, 0.05), 0.17, 1e-12);
  EXPECT_NEAR(partial_auroc(s, y, 0.2), 0.3025, 1e-12);
  EXPECT_NEAR(partial_auroc_mcclish(s, y, 0.1), 0.571052631579, 1e-11);
  EXPECT_NEAR(partial_auroc_mcclish(s, y, 0.05), 0.574358974359, 1e-11);
  EXPECT_NEAR(partial_auroc_mcclish(s, y, 0.2), 0.6125, 1e-11);
  EXPECT_NEAR(partial_auroc(s, y, 1.0), auroc(s, y), 1e-15);
}

TEST(Roc, ThresholdFromNormalScoresAndItsRates) {
  const std::vector<double> normal = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
  // At most 10% (one of ten) above: 0.9; at most 0%: the largest.
  EXPECT_DOUBLE_EQ(threshold_at_fpr(normal, 0.1), 0.9);
  EXPECT_DOUBLE_EQ(threshold_at_fpr(normal, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(threshold_at_fpr(normal, 0.25), 0.8);
  const DetectionRates r = rates_at({0.5, 0.95, 1.2, 0.85, 2.0}, {0, 0, 1, 1, 1}, 0.9);
  EXPECT_DOUBLE_EQ(r.false_positive_rate, 0.5);
  EXPECT_DOUBLE_EQ(r.true_positive_rate, 2.0 / 3.0);
}

TEST(Roc, RefusesWhatHasNoCurve) {
  EXPECT_THROW(auroc({1, 2}, {1, 1}), std::invalid_argument);     // no normal example
  EXPECT_THROW(auroc({1, 2}, {0}), std::invalid_argument);        // sizes
  EXPECT_THROW(auroc({1, 2}, {0, 2}), std::invalid_argument);     // label
  EXPECT_THROW(auroc({1, 0.0 / 0.0}, {0, 1}), std::invalid_argument);
  EXPECT_THROW(partial_auroc({1, 2}, {0, 1}, 0), std::invalid_argument);
  EXPECT_THROW(threshold_at_fpr({}, 0.1), std::invalid_argument);
}

}  // namespace
}  // namespace tinynas
