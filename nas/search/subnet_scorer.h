// What the search measures subnets with: the supernet's task metric (nas/cmd_search.cpp wraps a
// SupernetEvaluator), or a synthetic stand-in in tests. Torch-free.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "search_spaces/arch_spec.h"
#include "supernet/task_info.h"

namespace tinynas {

enum class EvalSplit { Val, Test };

// A measurement, and the same metric over each half of its examples (the first n/2, the rest):
// two independent measurements of half the size, which tell how much of a ranking is noise. The
// halves are NaN when the scorer does not split.
struct HalvedScore {
  double value = 0;
  double first_half = std::numeric_limits<double>::quiet_NaN();
  double second_half = std::numeric_limits<double>::quiet_NaN();
  bool has_halves() const { return !std::isnan(first_half) && !std::isnan(second_half); }
};

class SubnetScorer {
 public:
  virtual ~SubnetScorer() = default;
  // What score() returns: the task's metric, with its name and direction.
  virtual const Metric& metric() const = 0;
  // The metric of `arch` on the split; on Val over its first `val_images` examples (0 = all),
  // on Test over all of it. The patch schedule is irrelevant (patch-based inference computes
  // the same function).
  virtual double score(const ArchSpec& arch, EvalSplit split, int val_images) = 0;
  // Examples in the split (0: unknown).
  virtual int64_t split_size(EvalSplit) const { return 0; }
  // The same measurement with its halves; a scorer that cannot split returns the value alone.
  virtual HalvedScore score_halves(const ArchSpec& arch, EvalSplit split, int val_images) {
    HalvedScore s;
    s.value = score(arch, split, val_images);
    return s;
  }
};

}  // namespace tinynas
