// The search's SubnetScorer over a trained supernet (SupernetEvaluator), shared by `tinynas
// search` and `tinynas sweep`. The supernet loads on first use: a sweep whose runs are all
// finished, or a search answered from its saved measurements, never loads it.
#pragma once

#include <memory>
#include <string>

#include "nas/search/experiment.h"
#include "nas/search/subnet_scorer.h"

namespace tinynas {

class SupernetEvaluator;

class SupernetScorer : public SubnetScorer {
 public:
  // `checkpoint` empty: the experiment's train.checkpoint.
  SupernetScorer(const Experiment& exp, std::string checkpoint);
  ~SupernetScorer() override;

  SupernetEvaluator& evaluator() const;
  const Metric& metric() const override;
  double score(const ArchSpec& arch, EvalSplit split, int val_images) override;
  HalvedScore score_halves(const ArchSpec& arch, EvalSplit split, int val_images) override;
  int64_t split_size(EvalSplit split) const override;

 private:
  const Experiment& exp_;
  std::string checkpoint_;
  mutable std::unique_ptr<SupernetEvaluator> e_;  // loaded on first use
};

}  // namespace tinynas
