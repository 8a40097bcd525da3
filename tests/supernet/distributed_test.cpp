// Data-parallel training (supernet/distributed.h): the launcher's environment, synchronised batch
// norm against the single-process kernel, 2 ranks x half the batch against 1 process x the whole
// batch, and a job with a rank SIGKILLed mid-epoch, resumed.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "search_spaces/config_node.h"
#include "supernet/api.h"
#include "supernet/distributed.h"
#include "supernet/sync_batch_norm.h"
#include "supernet/trainer.h"
#include "tests/temp_dir.h"

namespace tinynas {
namespace {

const std::string kRoot = TINYNAS_SOURCE_DIR;

EnvLookup env_of(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(DistributedConfig, ReadsEachLauncher) {
  EXPECT_FALSE(distributed_config_from_env(env_of({})).has_value());

  auto c = distributed_config_from_env(
      env_of({{"TINYNAS_RANK", "1"}, {"TINYNAS_WORLD_SIZE", "2"}, {"TINYNAS_STORE", "/tmp/s"}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->launcher, "nproc");
  EXPECT_EQ(c->rank, 1);
  EXPECT_EQ(c->world_size, 2);
  EXPECT_EQ(c->local_world_size, 2);
  EXPECT_EQ(c->store_file, "/tmp/s");

  // srun: the step's tasks; the master is the first node of the step, the port per job step.
  c = distributed_config_from_env(env_of({{"SLURM_PROCID", "3"},
                                          {"SLURM_STEP_NUM_TASKS", "4"},
                                          {"SLURM_NTASKS", "4"},
                                          {"SLURM_LOCALID", "1"},
                                          {"SLURM_STEP_TASKS_PER_NODE", "2(x2)"},
                                          {"SLURM_STEP_NODELIST", "gpu[07-08]"},
                                          {"SLURM_JOB_ID", "1234"},
                                          {"SLURM_STEP_ID", "0"}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->launcher, "slurm");
  EXPECT_EQ(c->rank, 3);
  EXPECT_EQ(c->world_size, 4);
  EXPECT_EQ(c->local_rank, 1);
  EXPECT_EQ(c->local_world_size, 2);
  EXPECT_EQ(c->master_addr, "gpu07");
  EXPECT_EQ(c->master_port, 15000 + (1234 * 8) % 40000);
  EXPECT_TRUE(c->store_file.empty());

  // A batch script (no job step) is one process, whatever --ntasks says.
  EXPECT_FALSE(distributed_config_from_env(
                   env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_JOB_ID", "5"}}))
                   .has_value());

  c = distributed_config_from_env(env_of({{"RANK", "0"}, {"WORLD_SIZE", "8"},
                                          {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29400"}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->launcher, "env");
  EXPECT_EQ(c->master_addr, "10.0.0.1");
  EXPECT_EQ(c->master_port, 29400);
}

TEST(DistributedConfig, RefusesNonsenseByName) {
  try {
    distributed_config_from_env(env_of({{"TINYNAS_RANK", "2"}, {"TINYNAS_WORLD_SIZE", "2"},
                                        {"TINYNAS_STORE", "/tmp/s"}}));
    FAIL() << "rank 2 of 2 accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("TINYNAS_RANK=2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(distributed_config_from_env(env_of({{"WORLD_SIZE", "x"}})), ConfigError);
  EXPECT_THROW(distributed_config_from_env(env_of({{"WORLD_SIZE", "2"}, {"RANK", "0"}})),
               ConfigError);  // no master
}

TEST(DistributedConfig, SlurmNodeLists) {
  EXPECT_EQ(first_slurm_host("node[03-05,9],gpu1"), "node03");
  EXPECT_EQ(first_slurm_host("a,b"), "a");
  EXPECT_EQ(first_slurm_host("localhost"), "localhost");
  EXPECT_EQ(first_slurm_host("n[1,4]"), "n1");
  EXPECT_EQ(first_tasks_per_node("2(x3),1"), 2);
  EXPECT_EQ(first_tasks_per_node("16"), 16);
}

// Runs fn(rank, group) on `world` threads, each a rank of one group meeting at a FileStore.
void run_ranks(int world, const std::string& store,
               const std::function<void(int, DataParallel&)>& fn) {
  std::filesystem::remove(store);
  std::vector<std::thread> threads;
  std::vector<std::string> errors(static_cast<std::size_t>(world));
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        DistributedConfig c;
        c.rank = r;
        c.world_size = world;
        c.local_world_size = world;
        c.store_file = store;
        c.timeout_seconds = 120;
        DataParallel group(c);
        fn(r, group);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) EXPECT_EQ(errors[static_cast<std::size_t>(r)], "") << "rank " << r;
}

// Each rank normalises its half of the batch with the whole batch's statistics: outputs, the
// input's gradient, the summed weight and bias gradients and the running statistics are those of
// torch::batch_norm over the whole batch.
TEST(SyncBatchNorm, TwoHalvesAreTheWholeBatch) {
  TempDir dir("sync_bn");
  std::filesystem::create_directories(dir.path);
  torch::manual_seed(3);
  const int64_t c = 5;
  const torch::Tensor x = torch::randn({8, c, 3, 4}) * 3 + 1.5;
  const torch::Tensor g = torch::randn({8, c, 3, 4});  // d loss / d y
  const torch::Tensor w0 = torch::rand({c}) + 0.5, b0 = torch::randn({c});

  torch::Tensor xr = x.clone().requires_grad_(true), wr = w0.clone().requires_grad_(true),
                br = b0.clone().requires_grad_(true);
  torch::Tensor rm = torch::zeros({c}), rv = torch::ones({c});
  const torch::Tensor yr = torch::batch_norm(xr, wr, br, rm, rv, true, 0.1, 1e-5, false);
  (yr * g).sum().backward();

  std::vector<torch::Tensor> y(2), gx(2), gw(2), gb(2), rms(2), rvs(2);
  run_ranks(2, dir.path + "/store", [&](int r, DataParallel& group) {
    torch::Tensor xs = x.narrow(0, 4 * r, 4).clone().requires_grad_(true);
    torch::Tensor w = w0.clone().requires_grad_(true), b = b0.clone().requires_grad_(true);
    torch::Tensor m = torch::zeros({c}), v = torch::ones({c});
    const AllReduceSum sum = [&group](torch::Tensor& t) { group.all_reduce_sum(t); };
    const torch::Tensor out = sync_batch_norm(xs, w, b, m, v, 0.1, 1e-5, sum);
    (out * g.narrow(0, 4 * r, 4)).sum().backward();
    const auto i = static_cast<std::size_t>(r);
    y[i] = out.detach();
    gx[i] = xs.grad();
    gw[i] = w.grad();
    gb[i] = b.grad();
    rms[i] = m;
    rvs[i] = v;
  });
  ASSERT_TRUE(y[0].defined() && y[1].defined());
  EXPECT_TRUE(torch::allclose(torch::cat({y[0], y[1]}), yr, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(torch::cat({gx[0], gx[1]}), xr.grad(), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(gw[0] + gw[1], wr.grad(), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(gb[0] + gb[1], br.grad(), 1e-5, 1e-5));
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(torch::allclose(rms[static_cast<std::size_t>(r)], rm, 1e-6, 1e-6));
    EXPECT_TRUE(torch::allclose(rvs[static_cast<std::size_t>(r)], rv, 1e-5, 1e-5));
  }
}

struct TinyExperiment {
  SearchSpace space;
  DataConfig data;
  TrainConfig train;
  static TinyExperiment load() {
    const ConfigNode root = ConfigNode::load_file(kRoot + "/configs/tiny.yaml");
    return {SearchSpace::load(root.at("space").as_path()),
            DataConfig::from_config(root.section("data")),
            TrainConfig::from_config(root.section("train"))};
  }
};

bool have_fashion_mnist(const DataConfig& d) {
  return std::filesystem::exists(d.path + "/train-images-idx3-ubyte.gz");
}

double max_abs_diff(Supernet& a, Supernet& b) {
  double d = 0;
  const auto pa = a->parameters(), pb = b->parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    d = std::max(d, (pa[i] - pb[i]).abs().max().item<double>());
  }
  return d;
}

// The criterion: 2 ranks x batch 64 and 1 rank x batch 128 reach the same weights within
// 1e-5 after 20 steps of configs/tiny.yaml. Batch norms are synchronised (the global batch's
// statistics), so the two differ only in the order of floating-point sums. In float32 that
// rounding alone grows, through 20 steps at learning rate 0.1, to ~0.05 (the same program with 1
// and with 2 intra-op threads differs as much: 1e-5 after one step, 0.06 after 20), so the check
// runs in float64, where it is ~1e-13, and any mistake in the data-parallel arithmetic (a shard,
// a statistic, a gradient scale) would stand out by orders of magnitude.
TEST(DataParallel, TwoRanksOfHalfTheBatchFollowOneProcessWithTheWholeBatch) {
  TinyExperiment exp = TinyExperiment::load();
  if (!have_fashion_mnist(exp.data)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  TempDir dir("dp_equiv");
  std::filesystem::create_directories(dir.path);
  TrainConfig t = exp.train;
  t.batch_size = 128;
  t.threads = 2;
  t.channels_last = false;  // LibTorch's float64 channels-last convolution is 8x slower here
  const int kSteps = 20;
  const torch::Device device = setup_torch(t);
  const auto dataset = make_dataset(exp.data, t, exp.space);
  const auto task = make_task(dataset->info(), t);
  auto train_steps = [&](Trainer& trainer) {
    const auto stream = trainer.batches();
    Batch batch;
    for (int s = 0; s < kSteps && stream->next(&batch); ++s) trainer.step(batch);
    EXPECT_EQ(trainer.state().step, kSteps);
  };
  // Built here, one after the other: a Trainer seeds torch's global generator and draws its
  // initial weights from it, which two threads must not do at once.
  auto make = [&](Shard shard) {
    auto trainer = std::make_unique<Trainer>(exp.space, *dataset, *task, t, device, 0, shard);
    trainer->net()->to(torch::kDouble);
    return trainer;
  };
  const auto initial = make({});
  const auto whole = make({});
  train_steps(*whole);
  std::vector<std::unique_ptr<Trainer>> ranks;
  for (int r = 0; r < 2; ++r) ranks.push_back(make({r, 2}));

  torch::set_num_threads(1);  // one each, as --nproc 2 on 2 cores
  run_ranks(2, dir.path + "/store", [&](int r, DataParallel& group) {
    Trainer& trainer = *ranks[static_cast<std::size_t>(r)];
    trainer.join(group);
    train_steps(trainer);
    EXPECT_GT(group.collectives(), kSteps);
  });
  torch::set_num_threads(2);
  // The ranks hold identical weights (every update is the same all-reduced gradient)...
  EXPECT_EQ(max_abs_diff(ranks[0]->net(), ranks[1]->net()), 0.0);
  // ...which are the whole-batch run's, and training moved them.
  const double d = max_abs_diff(ranks[0]->net(), whole->net());
  EXPECT_LT(d, 1e-5);
  EXPECT_GT(max_abs_diff(initial->net(), whole->net()), 1e-2);
  std::printf("max |2 ranks x 64 - 1 x 128| after %d steps (float64): %.3g\n", kSteps, d);
}

// A config for the job tests: tiny.yaml's space and data, 1 epoch of 20 steps of 128, a
// checkpoint every 5 steps.
std::string write_job_config(const std::string& dir, const std::string& checkpoint) {
  const std::string path = dir + "/job.yaml";
  std::ofstream f(path);
  f << "mcu: " << kRoot << "/configs/mcus/stm32f746.yaml\n"
    << "space: " << kRoot << "/configs/spaces/tiny.yaml\n"
    << "data: {dataset: fashion-mnist, path: /usr/share/datasets/fashion-mnist, val_size: 500, "
       "train_images: 2560, workers: 1}\n"
    << "train: {epochs: 1, batch_size: 128, lr: 0.1, warmup_epochs: 0.2, random_subnets: 1, "
       "bn_calibration_batches: 2, seed: 0, log_every: 5, checkpoint_every: 5, checkpoint: "
    << checkpoint << "}\n";
  return path;
}

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// A rank SIGKILLed mid-epoch fails the job (not a hang), and --resume from the lead rank's last
// checkpoint finishes with the uninterrupted run's weights: exactly with the same number of
// ranks; with another, up to float32 summation order.
TEST(DataParallelJob, KilledRankFailsTheJobAndResumeFinishesWithTheSameWeights) {
  TinyExperiment exp = TinyExperiment::load();
  if (!have_fashion_mnist(exp.data)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  TempDir dir("dp_job");
  std::filesystem::create_directories(dir.path);
  const std::string bin = TINYNAS_BINARY;
  const std::string straight = dir.path + "/straight.pt", killed = dir.path + "/killed.pt";
  const std::string log = " 2>>" + dir.path + "/log.txt >/dev/null";

  const std::string cfg_a = write_job_config(dir.path, straight);
  ASSERT_EQ(run(bin + " train --config " + cfg_a + " --nproc 2" + log), 0);

  std::filesystem::create_directories(dir.path + "/k");
  const std::string cfg_b = write_job_config(dir.path + "/k", killed);
  // Rank 1 dies after step 12; the lead wrote its last checkpoint after step 10.
  EXPECT_EQ(run("TINYNAS_TEST_KILL_AT_STEP=1:12 " + bin + " train --config " + cfg_b +
                " --nproc 2" + log),
            1);
  ASSERT_TRUE(std::filesystem::exists(killed));
  std::filesystem::copy_file(killed, dir.path + "/killed-1.pt");

  // Resumed with 2 ranks: bit for bit the uninterrupted run.
  ASSERT_EQ(run(bin + " train --config " + cfg_b + " --nproc 2 --resume" + log), 0);
  Supernet a(exp.space), b(exp.space), c(exp.space);
  const CheckpointState sa = load_checkpoint(straight, a, nullptr);
  const CheckpointState sb = load_checkpoint(killed, b, nullptr);
  EXPECT_EQ(sa.epoch, 1);
  EXPECT_EQ(sb.epoch, 1);
  EXPECT_EQ(max_abs_diff(a, b), 0.0);

  // Resumed by one process (another number of ranks): the same weights up to summation order.
  std::filesystem::rename(dir.path + "/killed-1.pt", killed);
  ASSERT_EQ(run(bin + " train --config " + cfg_b + " --resume" + log), 0);
  EXPECT_EQ(load_checkpoint(killed, c, nullptr).epoch, 1);
  // float32: 10 steps from another summation order differ by ~2e-3 (see the float64 test above);
  // a wrong position in the data or the schedule would be off by ~1e-1.
  EXPECT_LT(max_abs_diff(a, c), 2e-2);
}

}  // namespace
}  // namespace tinynas
