#include "nas/cli/supernet_scorer.h"

#include "supernet/api.h"

namespace tinynas {

namespace {

Split to_split(EvalSplit s) { return s == EvalSplit::Val ? Split::Val : Split::Test; }

}  // namespace

SupernetScorer::SupernetScorer(const Experiment& exp, std::string checkpoint)
    : exp_(exp), checkpoint_(std::move(checkpoint)) {}

SupernetScorer::~SupernetScorer() = default;

SupernetEvaluator& SupernetScorer::evaluator() const {
  if (!e_) e_ = std::make_unique<SupernetEvaluator>(exp_.space, exp_.data, exp_.train, checkpoint_);
  return *e_;
}

const Metric& SupernetScorer::metric() const { return task_info(exp_.data.dataset, exp_.data.where).metric; }

// Test is always scored whole; val_images only limits validation.
double SupernetScorer::score(const ArchSpec& arch, EvalSplit split, int val_images) {
  return evaluator().score(arch, to_split(split), split == EvalSplit::Val ? val_images : 0);
}

HalvedScore SupernetScorer::score_halves(const ArchSpec& arch, EvalSplit split, int val_images) {
  const SplitScore s = evaluator().score_halves(arch, to_split(split), split == EvalSplit::Val ? val_images : 0);
  HalvedScore h;
  h.value = s.value;
  h.first_half = s.first_half;
  h.second_half = s.second_half;
  return h;
}

int64_t SupernetScorer::split_size(EvalSplit split) const {
  return evaluator().split_size(to_split(split));
}

}  // namespace tinynas
