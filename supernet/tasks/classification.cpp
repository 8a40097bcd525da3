// Classification: cross entropy with label smoothing (train.label_smoothing) for the largest
// subnet, KL divergence to its softmax for the children (in-place distillation), top-1 accuracy.
#include <torch/nn/functional/loss.h>

#include <map>

#include "search_spaces/config_node.h"
#include "supernet/task.h"

namespace tinynas {

namespace {

namespace F = torch::nn::functional;

class Top1 : public MetricAccumulator {
 public:
  void add(const at::Tensor& outputs, const at::Tensor& targets) override {
    const at::Tensor pred = outputs.argmax(1).cpu();
    correct_ += pred.eq(targets).sum().item<int64_t>();
    n_ += targets.size(0);
  }
  double value() const override { return n_ > 0 ? static_cast<double>(correct_) / n_ : 0.0; }

 private:
  int64_t correct_ = 0, n_ = 0;
};

class Classification : public Task {
 public:
  Classification(const TaskInfo& info, const TrainConfig& train)
      : Task(info), label_smoothing_(train.label_smoothing) {}

  at::Tensor loss(const at::Tensor& outputs, const at::Tensor& targets) const override {
    return F::cross_entropy(outputs, targets,
                            F::CrossEntropyFuncOptions().label_smoothing(label_smoothing_));
  }
  at::Tensor soft_targets(const at::Tensor& teacher) const override {
    return torch::softmax(teacher.detach(), 1);
  }
  at::Tensor distill_loss(const at::Tensor& outputs, const at::Tensor& soft) const override {
    return F::kl_div(torch::log_softmax(outputs, 1), soft,
                     F::KLDivFuncOptions().reduction(torch::kBatchMean));
  }
  std::unique_ptr<MetricAccumulator> accumulator() const override {
    return std::make_unique<Top1>();
  }

 private:
  double label_smoothing_;
};

}  // namespace

TINYNAS_REGISTER_TASK("classification", [](const TaskInfo& info, const TrainConfig& train) {
  return std::unique_ptr<Task>(std::make_unique<Classification>(info, train));
});

}  // namespace tinynas
