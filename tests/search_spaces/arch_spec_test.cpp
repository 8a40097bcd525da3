#include "search_spaces/arch_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/config_error.h"

#include <set>

#include "search_spaces/arch_sampler.h"

namespace tinynas {
namespace {

using ::testing::HasSubstr;

const std::string kRoot = TINYNAS_SOURCE_DIR;

SearchSpace fmnist() { return SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml"); }

TEST(ArchSpec, YamlAndJsonRoundTripExactly) {
  const SearchSpace space = fmnist();
  ArchSampler sampler(space, 7);
  for (int i = 0; i < 500; ++i) {
    ArchSpec a = sampler.sample();
    a.patch = sampler.sample_patch(a);
    const ArchSpec from_yaml = ArchSpec::from_config(ConfigNode::parse(a.to_yaml(), "y"), space);
    const ArchSpec from_json = ArchSpec::from_json(a.to_json(), space);
    ASSERT_EQ(from_yaml, a) << a.to_yaml();
    ASSERT_EQ(from_json, a) << a.to_json();
    ASSERT_EQ(from_yaml.hash(), a.hash());
    ASSERT_EQ(from_json.to_string(), a.to_string());
  }
}

TEST(ArchSpec, HashIsStableAndDistinguishes) {
  const SearchSpace space = fmnist();
  const ArchSpec big = ArchSpec::largest(space);
  // The hash is part of file names and caches: it must never change between versions.
  EXPECT_EQ(big.to_string(),
            "r32 w1.0 | 3e1 | 7e6 7e6 7e6 7e6 | 7e6 7e6 7e6 7e6 | 7e6 7e6 7e6 7e6 | 7e6 7e6 7e6 7e6");
  EXPECT_EQ(big.hash_hex(), "00cdd55b7327e431");
  ArchSpec other = big;
  other.stages[2][1].expand = 4;
  EXPECT_NE(other.hash(), big.hash());
  other = big;
  other.patch = {2, 3};
  EXPECT_NE(other.hash(), big.hash());
  EXPECT_THAT(other.to_string(), HasSubstr("| p2s3"));
  // Distinct samples hash distinctly.
  ArchSampler sampler(space, 1);
  std::set<std::string> strings;
  std::set<uint64_t> hashes;
  for (int i = 0; i < 2000; ++i) {
    const ArchSpec a = sampler.sample();
    strings.insert(a.to_string());
    hashes.insert(a.hash());
  }
  EXPECT_EQ(strings.size(), hashes.size());
}

TEST(ArchSpec, SamplingIsSeeded) {
  const SearchSpace space = fmnist();
  ArchSampler a(space, 42), b(space, 42), c(space, 43);
  int differ = 0;
  for (int i = 0; i < 50; ++i) {
    const ArchSpec x = a.sample();
    EXPECT_EQ(x, b.sample());
    differ += x != c.sample();
  }
  EXPECT_GT(differ, 45);
}

TEST(ArchSpec, MutationAndCrossoverStayInTheSpace) {
  const SearchSpace space = fmnist();
  ArchSampler sampler(space, 3);
  std::set<int> depths_seen, kernels_seen;
  int changed = 0;
  for (int i = 0; i < 3000; ++i) {
    ArchSpec a = sampler.sample();
    a.patch = sampler.sample_patch(a);
    const ArchSpec b = sampler.sample();
    const ArchSpec m = sampler.mutate(a, 0.1);
    const ArchSpec x = sampler.crossover(a, b);
    ASSERT_NO_THROW(m.validate(space)) << m.to_string();
    ASSERT_NO_THROW(x.validate(space)) << x.to_string();
    changed += m != a;
    for (std::size_t s = 0; s < x.stages.size(); ++s) {
      depths_seen.insert(x.depth(s));
      for (const auto& blk : x.stages[s]) kernels_seen.insert(blk.kernel);
      // Every block of the child comes from a parent at the same position.
      for (std::size_t i2 = 0; i2 < x.stages[s].size(); ++i2) {
        const bool in_a = i2 < a.stages[s].size() && a.stages[s][i2] == x.stages[s][i2];
        const bool in_b = i2 < b.stages[s].size() && b.stages[s][i2] == x.stages[s][i2];
        ASSERT_TRUE(in_a || in_b);
      }
    }
  }
  // With 34 genes at p=0.1, most mutants differ from their parent
  // (a resampled gene keeps its value a third of the time): about 87%.
  EXPECT_GT(changed, 2400);
  EXPECT_LT(changed, 2850);
  EXPECT_EQ(depths_seen, (std::set<int>{1, 2, 3, 4}));
  EXPECT_EQ(kernels_seen, (std::set<int>{3, 5, 7}));
}

TEST(ArchSpec, ValidationNamesTheKey) {
  const SearchSpace space = fmnist();
  const std::string good = ArchSpec::smallest(space).to_yaml();
  auto bad = [&](const std::string& from, const std::string& to) {
    std::string y = good;
    y.replace(y.find(from), from.size(), to);
    return error_of([&] { ArchSpec::from_config(ConfigNode::parse(y, "a.yaml"), space); });
  };
  EXPECT_EQ(bad("resolution: 24", "resolution: 30"),
            "a.yaml: resolution: expected one of the space's resolutions {24, 28, 32}, got 30 "
            "(line 1)");
  EXPECT_EQ(bad("width: 0.5", "width: 0.6"),
            "a.yaml: width: expected one of the space's width multipliers {0.5, 0.75, 1.0}, got "
            "0.6 (line 2)");
  EXPECT_THAT(bad("{kernels: [3, 3], expands: [3, 3]}", "{kernels: [3, 4], expands: [3, 3]}"),
              HasSubstr("a.yaml: stages[1].kernels[1]: expected a kernel size in {3, 5, 7}, got 4"));
  EXPECT_THAT(bad("{kernels: [3, 3], expands: [3, 3]}", "{kernels: [3], expands: [3]}"),
              HasSubstr("a.yaml: stages[1].kernels: stage depth (list length) must be one of "
                        "{2, 3, 4}, got 1"));
  EXPECT_THAT(bad("{kernels: [3, 3], expands: [3, 3]}", "{kernels: [3, 3], expands: [3]}"),
              HasSubstr("a.yaml: stages[1].expands: expected as many expand ratios as kernels"));
  EXPECT_THAT(bad("patch: {patches: 1, split: 0}", "patch: {patches: 2, split: 9}"),
              HasSubstr("a.yaml: patch.split: expected a split in [1, 5] blocks, got 9"));
  EXPECT_THAT(bad("patch: {patches: 1, split: 0}", "patch: {patches: 5, split: 1}"),
              HasSubstr("a.yaml: patch.patches: expected one of the space's patch counts"));
  EXPECT_THAT(bad("resolution: 24", "resolution: 24\nkernel: 3"),
              HasSubstr("a.yaml: kernel: unknown key"));
}

TEST(ArchSpec, ExtremesAreTheLargestAndSmallest) {
  const SearchSpace space = fmnist();
  const ArchSpec big = ArchSpec::largest(space), small = ArchSpec::smallest(space);
  EXPECT_EQ(big.num_blocks(), 1 + 4 * 4);
  EXPECT_EQ(small.num_blocks(), 1 + 4 * 2);
  EXPECT_EQ(big.resolution, 32);
  EXPECT_EQ(small.width, 0.5);
}

}  // namespace
}  // namespace tinynas
