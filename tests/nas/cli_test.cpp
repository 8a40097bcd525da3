// Runs the real `tinynas` binary: exit codes and messages are part of its interface.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int code;
  std::string out;
};

Result run(const std::string& args) {
  const std::string cmd = std::string(TINYNAS_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

TEST(Cli, EveryCommandHasHelp) {
  for (const char* c :
       {"train", "eval", "search", "space", "estimate", "export", "calibrate", "sweep"}) {
    const Result r = run(std::string(c) + " --help");
    EXPECT_EQ(r.code, 0) << c;
    EXPECT_THAT(r.out, HasSubstr("Usage")) << c;
  }
}

TEST(Cli, EstimateJsonOnMobileNetV2) {
  const Result r = run("estimate --config configs/stm32f746.yaml --arch configs/archs/mbv2-w1.0-r224.yaml --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["macs"].get<int64_t>(), 300774272);
  EXPECT_EQ(j["params"].get<int64_t>(), 3487816);
  // stem, 2 + 16 x 3 block convs, 10 adds, head, pool, fc.
  EXPECT_EQ(j["layers"].size(), 64u);
}

// The image placement comes from the config (export.input_in_arena) or the flag, and changes
// the planned arena of a patch-based MobileNetV2 from 305.5 KB to 196.8 KB.
TEST(Cli, EstimateHonoursInputInArenaFromTheConfigAndTheFlag) {
  const std::string config = "configs/_cli_test_" + std::to_string(::getpid()) + ".yaml";
  {
    std::ofstream f(config);
    f << "mcu: mcus/stm32f746.yaml\nspace: spaces/fmnist-mbv2.yaml\nexport:\n  input_in_arena: false\n";
  }
  const std::string arch = " --arch configs/archs/mbv2-w1.0-r224-p4.yaml --json";
  const Result key = run("estimate --config " + config + arch);
  std::remove(config.c_str());
  const Result flag = run("estimate --config configs/stm32f746.yaml --input-outside-arena" + arch);
  const Result in = run("estimate --config configs/stm32f746.yaml" + arch);
  ASSERT_EQ(key.code, 0) << key.out;
  ASSERT_EQ(flag.code, 0) << flag.out;
  ASSERT_EQ(in.code, 0) << in.out;
  const auto k = nlohmann::json::parse(key.out), f = nlohmann::json::parse(flag.out),
             i = nlohmann::json::parse(in.out);
  EXPECT_FALSE(k["memory_plan"]["input_in_arena"].get<bool>());
  EXPECT_FALSE(f["memory_plan"]["input_in_arena"].get<bool>());
  EXPECT_TRUE(i["memory_plan"]["input_in_arena"].get<bool>());
  EXPECT_EQ(k["peak_sram_bytes"], f["peak_sram_bytes"]);
  EXPECT_LT(k["peak_sram_bytes"].get<int64_t>() + 100 * 1024, i["peak_sram_bytes"].get<int64_t>());
}

// `tinynas space` compares another space on the config's MCU under a stated budget.
TEST(Cli, SpaceTakesAnotherSpaceAndBudgets) {
  const std::string tag = std::to_string(::getpid());
  const std::string config = "configs/_cli_test_space_" + tag + ".yaml";
  const std::string out = "out/_cli_test_space_" + tag;
  {
    std::ofstream f(config);
    f << "mcu: mcus/stm32f746.yaml\nspace: spaces/fmnist-mbv2.yaml\n"
         "space_search: {widths: [1.0], resolutions: [32], samples: 60, seed: 0}\n";
  }
  const Result r = run("space --config " + config + " --space configs/spaces/fmnist-mbv2-rf.yaml" +
                       " --patches --sram-budget-kb 20 --out " + out);
  const Result bad = run("space --config " + config + " --space configs/spaces/none.yaml");
  std::remove(config.c_str());
  std::ifstream csv(out + "/space.csv");
  const std::string text((std::istreambuf_iterator<char>(csv)), std::istreambuf_iterator<char>());
  std::system(("rm -rf " + out).c_str());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("fmnist-mbv2-rf on stm32f746: 20.0 KB SRAM, 960.0 KB flash"));
  EXPECT_THAT(text, HasSubstr("mean_patch_overhead"));
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("configs/spaces/none.yaml: file not found"));
}

// A 2-epoch supernet of spaces/tiny.yaml on 2,000 Fashion-MNIST images, checkpointed in `out`,
// with a small evolution and the given search settings (YAML flow-map entries).
std::string tiny_fmnist_config(const std::string& out, int val_size, int seed, const std::string& search) {
  return "mcu: mcus/stm32f746.yaml\nspace: spaces/tiny.yaml\n"
         "data: {dataset: fashion-mnist, path: /usr/share/datasets/fashion-mnist, val_size: " +
         std::to_string(val_size) +
         ", train_images: 2000, workers: 1}\n"
         "train: {epochs: 2, batch_size: 100, lr: 0.1, warmup_epochs: 0.2, random_subnets: 1,"
         " bn_calibration_batches: 2, seed: " +
         std::to_string(seed) + ", threads: 2, log_every: 100, checkpoint: ../" + out +
         "/supernet.pt}\n"
         "search: {population: 8, parents: 4, mutations: 4, crossovers: 4, generations: 2, " + search + "}\n";
}

// search.retrain_winner with 2 seeds on a 2-epoch tiny supernet: the winner and the baseline are
// each trained alone per seed into their own checkpoints, summary.json gives every run and the
// means, and a second call reads the finished runs back instead of training them again.
TEST(Cli, SearchRetrainsWinnerAndBaselineOncePerSeedAndResumes) {
  if (std::ifstream("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").fail()) {
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  }
  const std::string tag = std::to_string(::getpid());
  const std::string config = "configs/_cli_test_retrain_" + tag + ".yaml";
  const std::string out = "out/_cli_test_retrain_" + tag;
  {
    std::ofstream f(config);
    f << tiny_fmnist_config(out, 500, 3,
                            "measure_subnets: 8, finalists: 2, retrain_winner: true, retrain_seeds: 2");
  }
  const Result trained = run("train --config " + config);
  const Result first = run("search --no-export --config " + config + " --out " + out);
  const Result again = run("search --no-export --config " + config + " --out " + out);
  std::ifstream in(out + "/summary.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bool checkpoints = true;
  for (const char* f : {"winner.pt", "winner-seed4.pt", "baseline.pt", "baseline-seed4.pt"}) {
    checkpoints = checkpoints && !std::ifstream(out + "/" + f).fail();
  }
  std::remove(config.c_str());
  std::system(("rm -rf " + out).c_str());
  ASSERT_EQ(trained.code, 0) << trained.out;
  ASSERT_EQ(first.code, 0) << first.out;
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_TRUE(checkpoints);
  const auto j = nlohmann::json::parse(text).at("retrained");
  for (const char* net : {"searched", "baseline"}) {
    SCOPED_TRACE(net);
    const auto& r = j.at(net);
    EXPECT_EQ(r.at("seeds"), nlohmann::json({3, 4}));  // train.seed, train.seed + 1
    const double t0 = r.at("test")[0], t1 = r.at("test")[1];
    EXPECT_GT(t0, 0.3);  // learnt: chance is 0.1
    EXPECT_GT(t1, 0.3);
    EXPECT_NE(t0, t1);   // two seeds, two trainings
    EXPECT_NEAR(r.at("test_mean").get<double>(), (t0 + t1) / 2, 1e-12);
  }
  EXPECT_NEAR(j.at("test_gain_over_baseline").get<double>(),
              j.at("searched").at("test_mean").get<double>() - j.at("baseline").at("test_mean").get<double>(),
              1e-12);
  EXPECT_THAT(first.out, HasSubstr("trained alone from scratch (2 seeds each, mean +- sample std)"));
  EXPECT_THAT(first.out, HasSubstr("searched - scaled MobileNetV2: test "));
  // The second call trains nothing: every run resumes at its end.
  EXPECT_THAT(again.out, Not(HasSubstr("step 10/")));
  EXPECT_THAT(again.out, HasSubstr("resuming " + out + "/baseline-seed4.pt at epoch 3"));
  EXPECT_EQ(first.out.substr(first.out.find("trained alone from scratch")),
            again.out.substr(again.out.find("trained alone from scratch")));
}

// The main job's comparison: the searched winner against the scaled MobileNetV2 and against
// random search at equal cost (2 seeds), each also through the int8 export, on one screen and in
// summary.json.
TEST(Cli, SearchComparesTheWinnerWithBothBaselinesInFloatAndInt8) {
  if (std::ifstream("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").fail()) {
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  }
  const std::string tag = std::to_string(::getpid());
  const std::string config = "configs/_cli_test_baselines_" + tag + ".yaml";
  const std::string out = "out/_cli_test_baselines_" + tag;
  {
    std::ofstream f(config);
    f << tiny_fmnist_config(out, 400, 5,
                            "measure_subnets: 10, finalists: 2, latency_limit_ms: 5, random_search_runs: 2")
      << "export: {calibration_images: 64, firmware_inputs: 2}\n";
  }
  const Result trained = run("train --config " + config);
  const Result searched = run("search --config " + config + " --out " + out);
  std::ifstream in(out + "/summary.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const bool baseline_report = !std::ifstream(out + "/baselines/baseline/report.json").fail();
  std::remove(config.c_str());
  std::system(("rm -rf " + out).c_str());
  ASSERT_EQ(trained.code, 0) << trained.out;
  ASSERT_EQ(searched.code, 0) << searched.out;
  EXPECT_TRUE(baseline_report);
  const auto j = nlohmann::json::parse(text);
  EXPECT_LE(j.at("latency_ms").get<double>(), 5.0);
  for (const auto* a : {&j, &j.at("baseline"), &j.at("random_search").at("runs")[0], &j.at("random_search").at("runs")[1]}) {
    EXPECT_GT(a->at("int8_test_accuracy").get<double>(), 0.25);  // chance is 0.1
    EXPECT_NEAR(a->at("int8_test_accuracy").get<double>(), a->at("test_accuracy").get<double>(), 0.05);
    EXPECT_LE(a->at("latency_ms").get<double>(), 5.0);
  }
  const auto& r = j.at("random_search");
  EXPECT_EQ(r.at("runs").size(), 2u);
  EXPECT_EQ(r.at("runs")[1].at("seed"), 1);
  EXPECT_GE(r.at("evaluations_per_run").get<int>(), 10);
  EXPECT_NEAR(j.at("int8_test_accuracy_gain_over_baseline").get<double>(),
              j.at("int8_test_accuracy").get<double>() - j.at("baseline").at("int8_test_accuracy").get<double>(), 1e-12);
  EXPECT_FALSE(j.at("int8_test_accuracy_gain_over_random_search").is_null());
  EXPECT_EQ(j.at("predictor").at("half_examples"), 200);
  EXPECT_THAT(searched.out, HasSubstr("random, seed 1"));
  EXPECT_THAT(searched.out, HasSubstr("searched - random search (best of "));
  EXPECT_THAT(searched.out, HasSubstr("noise floor: against a 200-example half of the validation"));
}

TEST(Cli, BadInputExitsTwoNamingTheProblem) {
  Result r = run("estimate --config configs/missing.yaml --arch largest");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("configs/missing.yaml: file not found"));
  r = run("estimate --config configs/stm32f746.yaml --arch configs/archs/mbv2-w1.0-r224.yaml.nope");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("file not found"));
  r = run("estimate --config configs/stm32f746.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("--arch is required"));
  r = run("frobnicate");
  EXPECT_EQ(r.code, 2);
}

}  // namespace
