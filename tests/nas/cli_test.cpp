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
