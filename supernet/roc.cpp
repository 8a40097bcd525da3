#include "supernet/roc.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace tinynas {

namespace {

struct Point {
  double fpr, tpr;
};

void check(const std::vector<double>& scores, const std::vector<int>& labels) {
  if (scores.size() != labels.size()) {
    throw std::invalid_argument("roc: " + std::to_string(scores.size()) + " scores but " +
                                std::to_string(labels.size()) + " labels");
  }
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1) {
      throw std::invalid_argument("roc: label " + std::to_string(labels[i]) + " at " +
                                  std::to_string(i) + ": expected 0 (normal) or 1 (anomaly)");
    }
    if (!std::isfinite(scores[i])) {
      throw std::invalid_argument("roc: score at " + std::to_string(i) + " is not finite");
    }
  }
}

// The ROC curve: one point per distinct score, from (0, 0) to (1, 1), thresholds descending.
std::vector<Point> roc_curve(const std::vector<double>& scores, const std::vector<int>& labels) {
  check(scores, labels);
  const auto pos = static_cast<double>(std::count(labels.begin(), labels.end(), 1));
  const double neg = static_cast<double>(labels.size()) - pos;
  if (pos == 0 || neg == 0) {
    throw std::invalid_argument("roc: needs both normal (0) and anomalous (1) examples; got " +
                                std::to_string(static_cast<int>(neg)) + " and " +
                                std::to_string(static_cast<int>(pos)));
  }
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  std::vector<Point> curve{{0, 0}};
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < order.size();) {
    // Equal scores move together: a diagonal step, half credit for the tied pairs.
    const double s = scores[order[i]];
    for (; i < order.size() && scores[order[i]] == s; ++i) (labels[order[i]] ? tp : fp) += 1;
    curve.push_back({fp / neg, tp / pos});
  }
  return curve;
}

// The area under the curve over fpr in [0, max_fpr] (trapezoids; the crossing segment cut by
// linear interpolation).
double area_to(const std::vector<Point>& curve, double max_fpr) {
  double area = 0;
  for (std::size_t i = 1; i < curve.size(); ++i) {
    const Point a = curve[i - 1], b = curve[i];
    if (a.fpr >= max_fpr) break;
    Point end = b;
    if (b.fpr > max_fpr) end = {max_fpr, a.tpr + (b.tpr - a.tpr) * (max_fpr - a.fpr) / (b.fpr - a.fpr)};
    area += (end.fpr - a.fpr) * (a.tpr + end.tpr) / 2;
  }
  return area;
}

void check_max_fpr(double max_fpr) {
  if (!(max_fpr > 0 && max_fpr <= 1)) {
    throw std::invalid_argument("roc: max_fpr " + std::to_string(max_fpr) + ": expected (0, 1]");
  }
}

}  // namespace

double auroc(const std::vector<double>& scores, const std::vector<int>& labels) {
  return area_to(roc_curve(scores, labels), 1.0);
}

double partial_auroc(const std::vector<double>& scores, const std::vector<int>& labels,
                     double max_fpr) {
  check_max_fpr(max_fpr);
  return area_to(roc_curve(scores, labels), max_fpr) / max_fpr;
}

double partial_auroc_mcclish(const std::vector<double>& scores, const std::vector<int>& labels,
                             double max_fpr) {
  check_max_fpr(max_fpr);
  const double area = area_to(roc_curve(scores, labels), max_fpr);
  const double chance = max_fpr * max_fpr / 2, perfect = max_fpr;
  return 0.5 * (1 + (area - chance) / (perfect - chance));
}

double threshold_at_fpr(std::vector<double> normal_scores, double fpr) {
  if (normal_scores.empty()) throw std::invalid_argument("roc: no normal scores to set a threshold on");
  if (!(fpr >= 0 && fpr < 1)) throw std::invalid_argument("roc: fpr " + std::to_string(fpr) + ": expected [0, 1)");
  std::sort(normal_scores.begin(), normal_scores.end());
  const auto n = normal_scores.size();
  // At most floor(fpr * n) scores may lie above t: t is the score with that many above it.
  const auto above = static_cast<std::size_t>(std::floor(fpr * static_cast<double>(n)));
  return normal_scores[n - 1 - above];
}

DetectionRates rates_at(const std::vector<double>& scores, const std::vector<int>& labels,
                        double threshold) {
  check(scores, labels);
  double fp = 0, tp = 0, neg = 0, pos = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const bool called = scores[i] > threshold;
    if (labels[i]) {
      ++pos;
      tp += called;
    } else {
      ++neg;
      fp += called;
    }
  }
  return {neg > 0 ? fp / neg : 0, pos > 0 ? tp / pos : 0};
}

}  // namespace tinynas
