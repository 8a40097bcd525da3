// The anomaly task's metric (supernet/tasks/anomaly.cpp registers the task "anomaly"): DCASE
// 2020 Task 2's scoring. The network's output is each example's (window's) anomaly score, its
// reconstruction error; the examples' targets say which clip and machine id each window is of
// (supernet/tasks/anomaly_target.h). A clip's score is the mean of its windows' scores; each
// machine id (group) is scored by the AUROC of its clips' scores (anomalous clips positive),
// and the metric is the mean over the groups (DCASE's per-id average). pAUC over FPR [0, 0.1]
// (supernet/roc.h's partial_auroc) per group is kept for reports.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <vector>

#include "supernet/task.h"

namespace tinynas {

constexpr double kAnomalyPaucMaxFpr = 0.1;  // DCASE 2020 Task 2's pAUC

struct AnomalyGroupScore {
  int group = 0;
  int64_t normal_clips = 0, anomaly_clips = 0;
  // Of the clip scores; NaN when the group lacks a class (no ROC curve).
  double auroc = 0, pauc = 0;
  bool scored() const { return normal_clips > 0 && anomaly_clips > 0; }
};

class AnomalyAccumulator : public MetricAccumulator {
 public:
  // outputs: [N] or [N, 1] scores (any device); targets: [N] packed AnomalyTargets.
  void add(const at::Tensor& outputs, const at::Tensor& targets) override;
  // The mean AUROC over the groups that have clips of both classes; 0.5 (chance) when none has
  // (e.g. the training split, normal clips only, or too few examples of an evaluation).
  double value() const override;
  // Per group, in group order.
  std::vector<AnomalyGroupScore> groups() const;
  // Mean pAUC (FPR <= kAnomalyPaucMaxFpr, normalised by it: 1 perfect, 0.05 chance) over the
  // scored groups; chance (kAnomalyPaucMaxFpr / 2) when none is.
  double mean_pauc() const;
  // Each clip's mean score and label, by clip index.
  struct Clip {
    double sum = 0;
    int64_t windows = 0;
    int label = 0;
    int group = 0;
    double score() const { return windows > 0 ? sum / windows : 0.0; }
  };
  const std::map<int64_t, Clip>& clips() const { return clips_; }

 private:
  std::map<int64_t, Clip> clips_;
};

}  // namespace tinynas
