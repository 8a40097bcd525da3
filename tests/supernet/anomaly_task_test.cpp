// The anomaly task (supernet/tasks/anomaly.cpp): its loss and distillation are the outputs' mean
// (the network's output is the reconstruction error), and its accumulator averages window scores
// per clip and reports the mean over machine ids of the clips' AUROC, against values worked out
// by hand; pAUC per id as supernet/roc.h computes it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "supernet/dataset.h"
#include "supernet/roc.h"
#include "supernet/task.h"
#include "supernet/tasks/anomaly.h"
#include "supernet/tasks/anomaly_target.h"

namespace tinynas {
namespace {

TaskInfo anomaly_info() {
  const TaskInfo* t = find_task_info("machine-sounds");
  EXPECT_NE(t, nullptr);
  return t ? *t : TaskInfo{};
}

// Windows: (score, label, clip, group).
struct Window {
  double score;
  int label;
  int64_t clip;
  int group;
};

void add(MetricAccumulator& acc, const std::vector<Window>& w, bool column) {
  std::vector<double> s;
  std::vector<int64_t> t;
  for (const Window& x : w) {
    s.push_back(x.score);
    t.push_back(pack_anomaly_target({x.label, x.clip, x.group}));
  }
  at::Tensor out = torch::tensor(s, torch::kFloat);
  if (column) out = out.view({-1, 1});
  acc.add(out, torch::tensor(t, torch::kLong));
}

TEST(AnomalyTask, LossAndDistillationAreTheMeanError) {
  const std::unique_ptr<Task> task = make_task(anomaly_info(), TrainConfig{});
  EXPECT_EQ(task->metric().name, "auroc");
  EXPECT_EQ(task->metric().label, "AUROC");
  EXPECT_TRUE(task->metric().higher_is_better);
  const at::Tensor err = torch::tensor({0.5f, 1.5f, 4.0f}, torch::requires_grad());
  const at::Tensor targets = torch::tensor({pack_anomaly_target({0, 0, 0}), pack_anomaly_target({0, 1, 0}),
                                            pack_anomaly_target({0, 2, 1})});
  const at::Tensor loss = task->loss(err, targets);
  EXPECT_FLOAT_EQ(loss.item<float>(), 2.0f);
  loss.backward();
  EXPECT_TRUE(err.grad().allclose(torch::full({3}, 1.0f / 3)));
  const at::Tensor soft = task->soft_targets(err * 2);
  EXPECT_FALSE(soft.requires_grad());
  EXPECT_TRUE(soft.equal(torch::tensor({1.0f, 3.0f, 8.0f})));
  // A child learns from its own error, not from the teacher's.
  const at::Tensor child = torch::tensor({1.0f, 2.0f}).view({2, 1});
  EXPECT_FLOAT_EQ(task->distill_loss(child, torch::tensor({9.0f, 9.0f})).item<float>(), 1.5f);
}

TEST(AnomalyTask, AurocPerClipAndMachineId) {
  // Id 0: clip 0 normal (windows 1, 3: mean 2), clip 1 normal (5), clip 2 anomalous (4, 4, 4):
  //   the anomaly beats one normal of two: AUROC 0.5.
  // Id 1: clip 3 normal (3), clip 4 anomalous (6, 2: mean 4), clip 5 anomalous (3):
  //   4 > 3 counts 1, 3 == 3 a half: AUROC 0.75. Mean over ids: 0.625.
  // A clip's windows arrive over two batches.
  const std::unique_ptr<Task> task = make_task(anomaly_info(), TrainConfig{});
  const auto acc = task->accumulator();
  add(*acc, {{1, 0, 0, 0}, {5, 0, 1, 0}, {4, 1, 2, 0}, {3, 0, 3, 1}, {6, 1, 4, 1}}, false);
  add(*acc, {{3, 0, 0, 0}, {4, 1, 2, 0}, {4, 1, 2, 0}, {2, 1, 4, 1}, {3, 1, 5, 1}}, true);
  EXPECT_DOUBLE_EQ(acc->value(), 0.625);
  const auto* a = dynamic_cast<const AnomalyAccumulator*>(acc.get());
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->clips().size(), 6u);
  EXPECT_DOUBLE_EQ(a->clips().at(0).score(), 2.0);
  EXPECT_EQ(a->clips().at(2).windows, 3);
  EXPECT_DOUBLE_EQ(a->clips().at(4).score(), 4.0);
  const std::vector<AnomalyGroupScore> g = a->groups();
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].normal_clips, 2);
  EXPECT_EQ(g[0].anomaly_clips, 1);
  EXPECT_EQ(g[1].normal_clips, 1);
  EXPECT_EQ(g[1].anomaly_clips, 2);
  EXPECT_DOUBLE_EQ(g[0].auroc, 0.5);
  EXPECT_DOUBLE_EQ(g[1].auroc, 0.75);
  EXPECT_DOUBLE_EQ(g[0].pauc, partial_auroc({2, 5, 4}, {0, 0, 1}, kAnomalyPaucMaxFpr));
  EXPECT_DOUBLE_EQ(g[1].pauc, partial_auroc({3, 4, 3}, {0, 1, 1}, kAnomalyPaucMaxFpr));
  EXPECT_DOUBLE_EQ(a->mean_pauc(), (g[0].pauc + g[1].pauc) / 2);
}

TEST(AnomalyTask, IdsWithoutBothClassesAreNotScored) {
  AnomalyAccumulator acc;
  EXPECT_DOUBLE_EQ(acc.value(), 0.5);  // nothing yet: chance
  add(acc, {{1, 0, 0, 0}, {2, 0, 1, 0}}, false);  // normal clips only (a training split)
  EXPECT_DOUBLE_EQ(acc.value(), 0.5);
  EXPECT_FALSE(acc.groups()[0].scored());
  EXPECT_TRUE(std::isnan(acc.groups()[0].auroc));
  add(acc, {{9, 1, 2, 1}, {1, 0, 3, 1}}, false);  // id 1: a perfect detector
  EXPECT_DOUBLE_EQ(acc.value(), 1.0);
  // A diverged network's scores rank as the worst detector.
  AnomalyAccumulator bad;
  add(bad, {{NAN, 1, 0, 0}, {1, 0, 1, 0}}, false);
  EXPECT_DOUBLE_EQ(bad.value(), 0.0);
  // Scores and targets must pair up, and a clip keeps its label.
  EXPECT_THROW(acc.add(torch::zeros({3}), torch::zeros({2}, torch::kLong)), std::invalid_argument);
  EXPECT_THROW(add(acc, {{1, 1, 0, 0}}, false), std::invalid_argument);
}

}  // namespace
}  // namespace tinynas
