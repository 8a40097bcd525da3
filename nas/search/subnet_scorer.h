// What the search measures subnets with: the supernet's task metric (nas/cmd_search.cpp wraps a
// SupernetEvaluator), or a synthetic stand-in in tests. Torch-free.
#pragma once

#include "search_spaces/arch_spec.h"
#include "supernet/task_info.h"

namespace tinynas {

enum class EvalSplit { Val, Test };

class SubnetScorer {
 public:
  virtual ~SubnetScorer() = default;
  // What score() returns: the task's metric, with its name and direction.
  virtual const Metric& metric() const = 0;
  // The metric of `arch` on the split; on Val over its first `val_images` examples (0 = all),
  // on Test over all of it. The patch schedule is irrelevant (patch-based inference computes
  // the same function).
  virtual double score(const ArchSpec& arch, EvalSplit split, int val_images) = 0;
};

}  // namespace tinynas
