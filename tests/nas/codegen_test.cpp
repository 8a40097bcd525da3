// Generates C for random int8 models, compiles it with the host C compiler together with the
// runtime, runs it, and checks every output byte against the C++ reference, layer by layer and
// patch by patch; the generated arena must be the memory plan's estimate exactly.
#include "nas/codegen.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "estimators/memory_plan.h"
#include "nas/float_model.h"
#include "search_spaces/arch_sampler.h"
#include "tests/nas/random_model.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kRoot = TINYNAS_SOURCE_DIR;

struct Built {
  Int8Model model;
  std::vector<std::vector<int8_t>> inputs, expected;
};

Built build_model(const SearchSpace& space, const ArchSpec& arch, uint64_t seed, int images) {
  const NetGraph g = lower(space, arch);
  const FloatModel fm = FloatModel::fold(g, random_weights(g, seed));
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> pixel(-1.0f, 2.0f);
  const int n = static_cast<int>(g.tensors[g.input].bytes());
  auto image = [&] {
    std::vector<float> img(n);
    for (float& v : img) v = pixel(rng);
    return img;
  };
  RangeObserver obs(g);
  for (int i = 0; i < 8; ++i) obs.observe(fm.run_all(image()));
  Built b{Int8Model::quantize(fm, obs.ranges()), {}, {}};
  for (int i = 0; i < images; ++i) {
    b.inputs.push_back(b.model.quantize_input(image()));
    b.expected.push_back(b.model.run(b.inputs.back()));
  }
  return b;
}

struct RunResult {
  int code;
  std::string out;
};

// Writes the generated files to a fresh directory, compiles them with the runtime, runs.
RunResult compile_and_run(const GeneratedC& c, const GeneratedTest& t, const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("tinynas_codegen_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "model.h") << c.header;
  std::ofstream(dir / "model.c") << c.source;
  std::ofstream(dir / "main.c") << t.main_c;
  std::ofstream(dir / "test_data.c") << t.test_data_c;
  std::string runtime_srcs;
  for (const auto& e : fs::directory_iterator(kRoot + "/runtime")) {
    if (e.path().extension() == ".c") runtime_srcs += " " + e.path().string();
  }
  const std::string exe = (dir / "model").string();
  const std::string cc = "cc -std=c99 -O1 -Wall -Wextra -Werror -I" + dir.string() + " -I" + kRoot +
                         "/runtime " + (dir / "model.c").string() + " " + (dir / "main.c").string() +
                         " " + (dir / "test_data.c").string() + runtime_srcs + " -o " + exe + " 2>&1";
  RunResult r{0, ""};
  auto run = [&](const std::string& cmd) {
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    std::string out;
    while (std::size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
    return RunResult{WEXITSTATUS(pclose(p)), out};
  };
  r = run(cc);
  if (r.code != 0) return {100 + r.code, "compile failed:\n" + r.out};
  r = run(exe);
  fs::remove_all(dir);
  return r;
}

SearchSpace fmnist() { return SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml"); }

TEST(Codegen, LayerByLayerIsBitExactAndTheArenaIsThePlan) {
  const SearchSpace space = fmnist();
  ArchSampler sampler(space, 21);
  for (int n = 0; n < 2; ++n) {
    ArchSpec arch = sampler.sample();
    arch.resolution = 24 + 4 * n;
    const Built b = build_model(space, arch, 40 + n, 6);
    const MemoryPlan plan = plan_memory(b.model.graph);
    const GeneratedC c = generate_model_c(b.model, plan);
    EXPECT_EQ(c.arena_bytes, plan.arena_bytes);
    EXPECT_THAT(c.source, HasSubstr("static int8_t tn_arena[" + std::to_string(plan.arena_bytes) + "];"));
    EXPECT_THAT(c.header, HasSubstr("#define TINYNAS_ARENA_BYTES " + std::to_string(plan.arena_bytes)));
    EXPECT_GE(c.const_bytes, b.model.graph.weight_count() + 4 * b.model.graph.bias_count());
    const RunResult r = compile_and_run(c, generate_test_program(b.model, b.inputs, b.expected),
                                        "lbl" + std::to_string(n));
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("match 6/6")) << arch.to_string();
  }
}

TEST(Codegen, PatchBasedIsBitExactWithLayerByLayer) {
  const SearchSpace space = fmnist();
  ArchSampler sampler(space, 33);
  int runs = 0;
  for (int n = 0; runs < 3 && n < 20; ++n) {
    ArchSpec arch = sampler.sample();
    arch.resolution = 32;
    arch.patch = {2 + n % 3, 1 + n % 4};
    if (arch.patch.split > arch.num_blocks()) continue;
    const Built b = build_model(space, arch, 70 + n, 4);
    const MemoryPlan plan = plan_memory(b.model.graph);
    if (!plan.ok) continue;
    ASSERT_TRUE(plan.patched);
    // The expected outputs come from the layer-by-layer reference: patches must not change a bit.
    const GeneratedC c = generate_model_c(b.model, plan);
    EXPECT_EQ(c.arena_bytes, plan.arena_bytes);
    const RunResult r = compile_and_run(c, generate_test_program(b.model, b.inputs, b.expected),
                                        "patch" + std::to_string(n));
    ASSERT_EQ(r.code, 0) << arch.to_string() << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr("match 4/4")) << arch.to_string();
    ++runs;
  }
  EXPECT_EQ(runs, 3);
}

TEST(Codegen, RefusesAPlanOfAnotherGraph) {
  const SearchSpace space = fmnist();
  const Built b = build_model(space, ArchSpec::smallest(space), 1, 1);
  const MemoryPlan other = plan_memory(lower(space, ArchSpec::largest(space)));
  EXPECT_THROW(generate_model_c(b.model, other), std::invalid_argument);
}

}  // namespace
}  // namespace tinynas
