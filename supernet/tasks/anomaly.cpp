// Anomaly detection with an autoencoder (MLPerf Tiny's AD benchmark, DCASE 2020 Task 2): the
// network's output is already each example's anomaly score, its reconstruction error (the graph
// ends in an error layer: the mean squared error of the reconstruction against the input
// features, [N] or [N, 1]), so training minimises that error on normal sounds and the metric is
// the AUROC of the scores (supernet/tasks/anomaly.h).
#include "supernet/tasks/anomaly.h"

#include <ATen/ATen.h>
#include <fmt/core.h>

#include <cmath>
#include <stdexcept>

#include "supernet/roc.h"
#include "supernet/tasks/anomaly_target.h"

namespace tinynas {

void AnomalyAccumulator::add(const at::Tensor& outputs, const at::Tensor& targets) {
  const at::Tensor s = outputs.detach().to(at::kCPU, at::kDouble).contiguous().view({-1});
  const at::Tensor t = targets.to(at::kCPU, at::kLong).contiguous().view({-1});
  if (s.numel() != t.numel()) {
    throw std::invalid_argument(fmt::format(
        "anomaly task: {} scores for {} targets; the network must end in one reconstruction "
        "error per example ([N] or [N, 1])", s.numel(), t.numel()));
  }
  const double* score = s.data_ptr<double>();
  const int64_t* target = t.data_ptr<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const AnomalyTarget a = unpack_anomaly_target(target[i]);
    Clip& c = clips_[a.clip];
    if (c.windows > 0 && (c.label != a.label || c.group != a.group)) {
      throw std::invalid_argument(fmt::format(
          "anomaly task: clip {} seen with label {} group {} and with label {} group {}", a.clip,
          c.label, c.group, a.label, a.group));
    }
    c.label = a.label;
    c.group = a.group;
    c.sum += score[i];
    ++c.windows;
  }
}

std::vector<AnomalyGroupScore> AnomalyAccumulator::groups() const {
  std::map<int, std::pair<std::vector<double>, std::vector<int>>> by_group;
  for (const auto& [index, c] : clips_) {
    auto& g = by_group[c.group];
    g.first.push_back(c.score());
    g.second.push_back(c.label);
  }
  std::vector<AnomalyGroupScore> out;
  for (const auto& [group, sl] : by_group) {
    AnomalyGroupScore g;
    g.group = group;
    for (int label : sl.second) (label ? g.anomaly_clips : g.normal_clips) += 1;
    g.auroc = g.pauc = std::nan("");
    // A diverged network's NaN / infinite errors rank as the worst detector, not an exception.
    bool finite = true;
    for (double v : sl.first) finite = finite && std::isfinite(v);
    if (g.scored()) {
      if (finite) {
        g.auroc = auroc(sl.first, sl.second);
        g.pauc = partial_auroc(sl.first, sl.second, kAnomalyPaucMaxFpr);
      } else {
        g.auroc = 0;
        g.pauc = 0;
      }
    }
    out.push_back(g);
  }
  return out;
}

double AnomalyAccumulator::value() const {
  double sum = 0;
  int n = 0;
  for (const AnomalyGroupScore& g : groups()) {
    if (!g.scored()) continue;
    sum += g.auroc;
    ++n;
  }
  return n > 0 ? sum / n : 0.5;
}

double AnomalyAccumulator::mean_pauc() const {
  double sum = 0;
  int n = 0;
  for (const AnomalyGroupScore& g : groups()) {
    if (!g.scored()) continue;
    sum += g.pauc;
    ++n;
  }
  return n > 0 ? sum / n : kAnomalyPaucMaxFpr / 2;
}

namespace {

class Anomaly : public Task {
 public:
  explicit Anomaly(const TaskInfo& info) : Task(info) {}

  // The mean reconstruction error of the batch (the targets only say which clip a window is of).
  at::Tensor loss(const at::Tensor& outputs, const at::Tensor&) const override {
    return outputs.mean();
  }
  at::Tensor soft_targets(const at::Tensor& teacher) const override { return teacher.detach(); }
  // The children learn from the data too, not from the largest subnet: an autoencoder's target
  // is its own input, which every child sees, so there is nothing better to distil than the
  // data itself. Matching the teacher's error instead would teach a child to be as wrong as the
  // teacher (a larger error on a window the teacher reconstructs badly is not "softer", it is
  // worse), and an error-matching loss is minimised by errors of the right size, not by good
  // reconstructions. So distillation is the child's own mean reconstruction error, and the
  // sandwich rule's children are trained exactly as the largest subnet is.
  at::Tensor distill_loss(const at::Tensor& outputs, const at::Tensor&) const override {
    return outputs.mean();
  }
  std::unique_ptr<MetricAccumulator> accumulator() const override {
    return std::make_unique<AnomalyAccumulator>();
  }
};

}  // namespace

TINYNAS_REGISTER_TASK("anomaly", [](const TaskInfo& info, const TrainConfig&) {
  return std::unique_ptr<Task>(std::make_unique<Anomaly>(info));
});

}  // namespace tinynas
