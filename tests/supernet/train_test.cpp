// End-to-end training on the tiny config (configs/tiny.yaml, 4000 real Fashion-MNIST images):
// learns well above chance, resumes exactly, refuses a checkpoint of another space.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "supernet/api.h"
#include "supernet/trainer.h"

namespace tinynas {
namespace {

const std::string kRoot = TINYNAS_SOURCE_DIR;

// The parts of configs/tiny.yaml the supernet reads, through the same section readers the
// experiment loader uses (the MCU section is not needed here).
struct Experiment {
  SearchSpace space;
  DataConfig data;
  TrainConfig train;
  static Experiment load(const std::string& path) {
    const ConfigNode root = ConfigNode::load_file(path);
    return {SearchSpace::load(root.at("space").as_path()),
            DataConfig::from_config(root.section("data")),
            TrainConfig::from_config(root.section("train"))};
  }
};

std::string temp_path(const std::string& name) {
  // The pid keeps concurrent test processes (ctest -j) apart.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tinynas-supernet-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

bool have_fashion_mnist(const DataConfig& d) {
  return std::filesystem::exists(d.path + "/train-images-idx3-ubyte.gz");
}

// Every parameter and buffer of a checkpoint, by name.
std::vector<std::pair<std::string, torch::Tensor>> checkpoint_tensors(const SearchSpace& space,
                                                                      const std::string& path) {
  Supernet net(space);
  load_checkpoint(path, net, nullptr);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : net->named_parameters()) out.emplace_back(p.key(), p.value().clone());
  for (const auto& b : net->named_buffers()) out.emplace_back(b.key(), b.value().clone());
  return out;
}

class TinyTraining : public ::testing::Test {
 protected:
  // One uninterrupted run of the tiny config, shared by the tests that compare against it.
  static void SetUpTestSuite() {
    exp_ = new Experiment(Experiment::load(kRoot + "/configs/tiny.yaml"));
    if (!have_fashion_mnist(exp_->data)) return;
    TrainOptions o;
    o.checkpoint = temp_path("straight.pt");
    std::remove(o.checkpoint.c_str());
    straight_ = new TrainReport(train_supernet(exp_->space, exp_->data, exp_->train, o));
  }
  static void TearDownTestSuite() {
    delete straight_;
    delete exp_;
    straight_ = nullptr;
    exp_ = nullptr;
  }
  void SetUp() override {
    if (!have_fashion_mnist(exp_->data)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  }
  void expect_same_checkpoints(const std::string& a_path, const std::string& b_path) {
    const auto a = checkpoint_tensors(exp_->space, a_path);
    const auto b = checkpoint_tensors(exp_->space, b_path);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].first, b[i].first);
      EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
    }
  }
  static Experiment* exp_;
  static TrainReport* straight_;
};
Experiment* TinyTraining::exp_ = nullptr;
TrainReport* TinyTraining::straight_ = nullptr;

TEST_F(TinyTraining, LearnsWellAboveChanceAndWritesMetrics) {
  const TrainReport& r = *straight_;
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.epoch, exp_->train.epochs);
  EXPECT_GT(r.images_per_second, 0);
  // Chance is 10%.
  EXPECT_GT(r.largest.val, 0.55);
  EXPECT_GT(r.smallest.val, 0.35);
  EXPECT_GT(r.largest.test, 0.55);
  EXPECT_GT(r.smallest.test, 0.35);
  EXPECT_TRUE(std::filesystem::exists(metrics_path_for(r.checkpoint)));

  // The evaluator reproduces the final figures from the checkpoint.
  SupernetEvaluator ev(exp_->space, exp_->data, exp_->train, r.checkpoint);
  EXPECT_DOUBLE_EQ(ev.accuracy(ArchSpec::largest(exp_->space), Split::Val), r.largest.val);
  EXPECT_DOUBLE_EQ(ev.accuracy(ArchSpec::smallest(exp_->space), Split::Test), r.smallest.test);
  const auto w = ev.weights(ArchSpec::smallest(exp_->space));
  EXPECT_EQ(w.size(), lower(exp_->space, ArchSpec::smallest(exp_->space)).layers.size());
  // The halves of a measurement are the first and the last half of its examples, scored alone:
  // for top-1 accuracy over an even count, the whole is their mean.
  const int64_t n = ev.split_size(Split::Val) / 2 * 2;
  const SplitScore h = ev.score_halves(ArchSpec::largest(exp_->space), Split::Val, n);
  EXPECT_DOUBLE_EQ(h.value, ev.score(ArchSpec::largest(exp_->space), Split::Val, n));
  EXPECT_NEAR(h.value, (h.first_half + h.second_half) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(h.first_half, ev.score(ArchSpec::largest(exp_->space), Split::Val, n / 2));
}

TEST_F(TinyTraining, ResumeGivesTheSameWeightsAsAnUninterruptedRun) {
  // Killed after the first epoch...
  TrainOptions first;
  first.checkpoint = temp_path("resume-split.pt");
  std::remove(first.checkpoint.c_str());
  first.final_test = false;
  first.stop_after_epochs = 1;
  const TrainReport r1 = train_supernet(exp_->space, exp_->data, exp_->train, first);
  EXPECT_FALSE(r1.finished);
  EXPECT_EQ(r1.epoch, 1);

  // ...then carried on by a Trainer driven by hand: it loads the position, runs the second epoch
  // (run_epoch), does what train_supernet does at an epoch's end (the validation figures
  // recalibrate batch norms, which the checkpoint keeps) and saves: the uninterrupted run.
  // (train_supernet's own resume is ResumeFromAMidEpochCheckpoint's.)
  const TrainConfig& t = exp_->train;
  const auto dataset = make_dataset(exp_->data, t, exp_->space);
  const auto task = make_task(dataset->info(), t);
  EXPECT_EQ(task->metric().name, "top1_accuracy");
  Trainer trainer(exp_->space, *dataset, *task, t, setup_torch(t), exp_->data.workers);
  trainer.load(first.checkpoint);
  EXPECT_EQ(trainer.state().epoch, 1);
  EXPECT_EQ(trainer.state().step, 0);
  EXPECT_FALSE(trainer.finished());
  int steps = 0;
  trainer.run_epoch([&](const SandwichLoss& l) {
    ++steps;
    EXPECT_TRUE(std::isfinite(l.largest));
    EXPECT_EQ(trainer.state().step, steps);
  });
  EXPECT_EQ(steps, trainer.steps_per_epoch());
  EXPECT_EQ(trainer.state().epoch, 2);
  EXPECT_EQ(trainer.state().step, 0);
  EXPECT_TRUE(trainer.finished());
  EXPECT_DOUBLE_EQ(trainer.evaluate(ArchSpec::largest(exp_->space), Split::Val), straight_->largest.val);
  trainer.evaluate(ArchSpec::smallest(exp_->space), Split::Val);
  const std::string by_hand = temp_path("by-hand.pt");
  trainer.save(by_hand);
  expect_same_checkpoints(straight_->checkpoint, by_hand);
}

TEST_F(TinyTraining, ResumeFromAMidEpochCheckpoint) {
  // The checkpoint a kill after step 25 of epoch 1 leaves behind (train.checkpoint_every),
  // written here by running the same 25 steps by hand, continues to the uninterrupted result.
  const TrainConfig& t = exp_->train;
  TrainOptions killed;
  killed.checkpoint = temp_path("mid-killed.pt");
  std::remove(killed.checkpoint.c_str());
  killed.final_test = false;
  {
    // The Trainer's step interface, driven by hand: 25 steps, then a checkpoint.
    const auto dataset = make_dataset(exp_->data, t, exp_->space);
    const auto task = make_task(dataset->info(), t);
    Trainer trainer(exp_->space, *dataset, *task, t, setup_torch(t), exp_->data.workers);
    const auto stream = trainer.batches();
    Batch batch;
    for (int64_t step = 0; step < 25 && stream->next(&batch); ++step) trainer.step(batch);
    EXPECT_EQ(trainer.state().epoch, 0);
    EXPECT_EQ(trainer.state().step, 25);
    trainer.save(killed.checkpoint);
  }
  killed.resume = true;
  const TrainReport r = train_supernet(exp_->space, exp_->data, t, killed);
  EXPECT_TRUE(r.finished);
  expect_same_checkpoints(straight_->checkpoint, killed.checkpoint);
}

TEST_F(TinyTraining, RefusesACheckpointOfAnotherSpace) {
  const std::string path = temp_path("other-space.pt");
  {
    // A checkpoint of the default space...
    const SearchSpace other = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
    Supernet net(other);
    CheckpointState st;
    st.fingerprint = other.fingerprint();
    st.epochs = exp_->train.epochs;
    save_checkpoint(path, net, nullptr, st);
  }
  // ...is refused by the tiny config, by training --resume and by evaluation.
  TrainOptions o;
  o.checkpoint = path;
  o.resume = true;
  try {
    train_supernet(exp_->space, exp_->data, exp_->train, o);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("different search space"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tiny"), std::string::npos) << msg;
  }
  EXPECT_THROW(SupernetEvaluator(exp_->space, exp_->data, exp_->train, path), ConfigError);
  EXPECT_THROW(SupernetEvaluator(exp_->space, exp_->data, exp_->train, temp_path("missing.pt")),
               ConfigError);
}

TEST_F(TinyTraining, ResumingOneNetworkTrainedAloneRefusesAnother) {
  // A half-way checkpoint of the smallest subnet trained alone (as search.retrain_winner writes)...
  const std::string path = temp_path("alone-smallest.pt");
  const ArchSpec smallest = ArchSpec::smallest(exp_->space), largest = ArchSpec::largest(exp_->space);
  std::remove(path.c_str());
  {
    TrainConfig t = exp_->train;
    t.only_arch = smallest;
    TrainOptions o;
    o.checkpoint = path;
    o.stop_after_epochs = 1;
    o.final_test = false;
    EXPECT_FALSE(train_supernet(exp_->space, exp_->data, t, o).finished);
    Supernet back(exp_->space);
    EXPECT_EQ(load_checkpoint(path, back, nullptr).only_arch, smallest.to_string());
  }
  // ...is not resumed as the largest one's, nor as the supernet's.
  for (const bool alone : {true, false}) {
    TrainConfig t = exp_->train;
    if (alone) t.only_arch = largest;
    TrainOptions o;
    o.checkpoint = path;
    o.resume = true;
    try {
      train_supernet(exp_->space, exp_->data, t, o);
      ADD_FAILURE() << "expected ConfigError";
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()),
                path + ": checkpoint trains " + smallest.to_string() + " alone, the run asks for " +
                    (alone ? largest.to_string() : std::string("the whole supernet")) +
                    "; remove it or write elsewhere");
    }
  }
}

}  // namespace
}  // namespace tinynas
