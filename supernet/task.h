// A Task (LibTorch): what the supernet's outputs mean. It owns the training loss, the in-place
// distillation loss of the sandwich rule's children, and the metric every evaluation reports
// (named, with its direction, in TaskInfo::metric). The head itself is the space's classifier
// (num_classes outputs, supernet/supernet.h). Each task kind registers itself from its own file:
//
//   supernet/tasks/<kind>.cpp:   TINYNAS_REGISTER_TASK("kind", factory)
//
// and a dataset names its kind in TaskInfo::task.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>

#include "supernet/task_info.h"
#include "supernet/train_config.h"

namespace tinynas {

// Accumulates the metric over the batches of an evaluation.
class MetricAccumulator {
 public:
  virtual ~MetricAccumulator() = default;
  virtual void add(const at::Tensor& outputs, const at::Tensor& targets) = 0;  // outputs on any device
  virtual double value() const = 0;
};

class Task {
 public:
  explicit Task(TaskInfo info) : info_(std::move(info)) {}
  virtual ~Task() = default;
  const TaskInfo& info() const { return info_; }
  const Metric& metric() const { return info_.metric; }

  // The loss of the largest subnet against the targets.
  virtual at::Tensor loss(const at::Tensor& outputs, const at::Tensor& targets) const = 0;
  // What the children learn from (in-place distillation): the largest subnet's outputs, detached.
  virtual at::Tensor soft_targets(const at::Tensor& teacher_outputs) const = 0;
  virtual at::Tensor distill_loss(const at::Tensor& outputs, const at::Tensor& soft) const = 0;
  virtual std::unique_ptr<MetricAccumulator> accumulator() const = 0;

 private:
  TaskInfo info_;
};

using TaskFactory = std::function<std::unique_ptr<Task>(const TaskInfo&, const TrainConfig&)>;
bool register_task(const std::string& kind, TaskFactory factory);
#define TINYNAS_REGISTER_TASK(kind, factory) \
  static const bool tinynas_task_registered_ = ::tinynas::register_task(kind, factory)

// The task of a dataset (by info.task); a kind nobody registered is a ConfigError.
std::unique_ptr<Task> make_task(const TaskInfo& info, const TrainConfig& train);

}  // namespace tinynas
