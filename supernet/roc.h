// The receiver operating characteristic of a detector's scores: what an anomaly-detection task
// reports (its score is the reconstruction error; higher = more anomalous, label 1 = anomaly).
// Plain C++ (no LibTorch), shared by the task's metric and the reports.
//
//   auroc         the area under the ROC curve = P(s+ > s-) + P(s+ == s-) / 2 (Mann-Whitney);
//                 ties between the classes count a half, as the curve's diagonal steps do.
//   partial_auroc the area over false-positive rates [0, max_fpr], divided by max_fpr: 1 for a
//                 perfect detector, max_fpr / 2 for chance (DCASE's pAUC, p = 0.1). The curve is
//                 cut at max_fpr by linear interpolation, as scikit-learn cuts it.
//   partial_auroc_mcclish  the same area standardised by McClish's correction to [0.5, 1] for
//                 chance .. perfect: scikit-learn's roc_auc_score(max_fpr=...), which the DCASE
//                 2020 baseline code reports as pAUC.
#pragma once

#include <vector>

namespace tinynas {

// `labels[i]` is 1 (positive: anomaly) or 0 (negative: normal). Throws std::invalid_argument
// when the sizes differ, a label is neither, a score is not finite, or a class is empty.
double auroc(const std::vector<double>& scores, const std::vector<int>& labels);
// max_fpr in (0, 1].
double partial_auroc(const std::vector<double>& scores, const std::vector<int>& labels,
                     double max_fpr);
double partial_auroc_mcclish(const std::vector<double>& scores, const std::vector<int>& labels,
                             double max_fpr);

// A decision threshold from held-out normal scores: the smallest t with at most a fraction
// `fpr` of them above it (a score > t is called anomalous).
double threshold_at_fpr(std::vector<double> normal_scores, double fpr);

struct DetectionRates {
  double false_positive_rate = 0;  // normals called anomalous
  double true_positive_rate = 0;   // anomalies called anomalous
};
DetectionRates rates_at(const std::vector<double>& scores, const std::vector<int>& labels,
                        double threshold);

}  // namespace tinynas
