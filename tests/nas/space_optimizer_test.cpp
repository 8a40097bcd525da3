#include "nas/search/space_optimizer.h"

#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include "search_spaces/arch_sampler.h"

namespace tinynas {
namespace {

const std::string kRoot = TINYNAS_SOURCE_DIR;

SpaceSearchConfig grid() {
  SpaceSearchConfig g;
  g.widths = {0.5, 1.0};
  g.resolutions = {28, 48};
  g.samples = 200;
  return g;
}

McuSpec mcu(int64_t sram, int64_t flash) {
  McuSpec m = McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml");
  m.sram_bytes = sram;
  m.flash_bytes = flash;
  m.reserved_sram_bytes = m.reserved_flash_bytes = 0;
  return m;
}

TEST(SpaceOptimizer, WithRoomForEverythingTheLargestSpaceWins) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  const SpaceOptimization r = optimize_space(space, mcu(64 << 20, 64 << 20), grid(), false);
  ASSERT_EQ(r.candidates.size(), 4u);
  for (const auto& c : r.candidates) EXPECT_EQ(c.fitting, 200);
  ASSERT_GE(r.best, 0);
  EXPECT_EQ(r.candidates[r.best].width, 1.0);
  EXPECT_EQ(r.candidates[r.best].resolution, 48);
  EXPECT_EQ(r.subnets_estimated, 800);
}

// A real-time budget (search.latency_limit_ms) counts like memory: a subnet too slow does not
// fit, so the space with the most compute is a smaller one.
TEST(SpaceOptimizer, ALatencyLimitCountsAsNotFitting) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  const McuSpec m = mcu(64 << 20, 64 << 20);
  const SpaceOptimization free = optimize_space(space, m, grid(), false);
  EstimateOptions fast;
  fast.latency_limit_ms = 50;
  const SpaceOptimization r = optimize_space(space, m, grid(), false, fast);
  ASSERT_EQ(r.candidates.size(), free.candidates.size());
  int fewer = 0;
  for (std::size_t i = 0; i < r.candidates.size(); ++i) {
    EXPECT_LE(r.candidates[i].fitting, free.candidates[i].fitting);
    fewer += r.candidates[i].fitting < free.candidates[i].fitting;
  }
  EXPECT_GE(fewer, 2);
  ASSERT_GE(r.best, 0);
  // Unlimited, w1.0 r48 wins; its subnets take well over 50 ms, so under the limit it cannot.
  EXPECT_FALSE(r.candidates[r.best].width == 1.0 && r.candidates[r.best].resolution == 48);
  EXPECT_LT(r.candidates[r.best].mean_macs, free.candidates[free.best].mean_macs);
}

TEST(SpaceOptimizer, MemoryDecidesUnderATightLimit) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  // Find an SRAM limit between the smallest subnets of w1.0/r48 and the largest of w0.5/r28.
  const SpaceOptimization r = optimize_space(space, mcu(40 * 1024, 64 << 20), grid(), false);
  const SpaceCandidate* big = nullptr;
  const SpaceCandidate* small = nullptr;
  for (const auto& c : r.candidates) {
    if (c.width == 1.0 && c.resolution == 48) big = &c;
    if (c.width == 0.5 && c.resolution == 28) small = &c;
  }
  ASSERT_TRUE(big && small);
  EXPECT_LT(big->fitting, small->fitting);
  EXPECT_GT(small->fitting, 0);
  // Every kept sample really fits, and the chosen space has the highest mean MACs.
  for (const auto& c : r.candidates) {
    if (c.fitting > 0) {
      EXPECT_LE(c.mean_macs, r.candidates[r.best].mean_macs);
    }
  }
  // With patch-based inference allowed, at least as many subnets fit, some only thanks to it.
  const SpaceOptimization p = optimize_space(space, mcu(40 * 1024, 64 << 20), grid(), true);
  int more = 0;
  for (std::size_t i = 0; i < r.candidates.size(); ++i) {
    EXPECT_GE(p.candidates[i].fitting, r.candidates[i].fitting);
    more += p.candidates[i].fitting_with_patches;
  }
  EXPECT_GT(more, 0);
  // Those that needed patches pay for the overlap, but not absurdly (split points are chosen
  // for the least executed MACs).
  for (const auto& c : p.candidates) {
    if (c.fitting_with_patches == 0) continue;
    EXPECT_GT(c.mean_patch_overhead, 0.0);
    EXPECT_LT(c.mean_patch_overhead, 0.5);
  }
  // With the image outside the arena too (export.input_in_arena: false), where the patch stage
  // holds the whole image: more again.
  EstimateOptions outside;
  outside.plan.input_in_arena = false;
  const SpaceOptimization o = optimize_space(space, mcu(40 * 1024, 64 << 20), grid(), true, outside);
  int gained = 0;
  for (std::size_t i = 0; i < p.candidates.size(); ++i) {
    EXPECT_GE(o.candidates[i].fitting, p.candidates[i].fitting);
    gained += o.candidates[i].fitting - p.candidates[i].fitting;
  }
  EXPECT_GT(gained, 0);
}

TEST(SpaceOptimizer, RedistributingTheReceptiveFieldLetsMoreFitAndCutsTheOverlap) {
  // fmnist-mbv2-rf.yaml gives the patch stage smaller kernels and fewer blocks: at w1.0 r32 with
  // 24 KB of SRAM, more of its subnets fit (with patches) and their patches overlap less.
  SpaceSearchConfig g;
  g.widths = {1.0};
  g.resolutions = {32};
  g.samples = 300;
  const McuSpec m = mcu(24 * 1024, 64 << 20);
  const SpaceOptimization base = optimize_space(
      SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml"), m, g, true);
  const SpaceOptimization rf = optimize_space(
      SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2-rf.yaml"), m, g, true);
  const SpaceCandidate& b = base.candidates.at(0);
  const SpaceCandidate& r = rf.candidates.at(0);
  ASSERT_GT(b.fitting_with_patches, 0);
  ASSERT_GT(r.fitting_with_patches, 0);
  EXPECT_GT(r.fitting, b.fitting);
  EXPECT_LT(r.mean_patch_overhead, b.mean_patch_overhead);
}

TEST(SpaceOptimizer, ASpaceWhereTooFewFitDoesNotCompete) {
  // At 20 KB, w1.25 r32's few fitting subnets (its smallest, with patches) have the most MACs;
  // the fraction floor hands the choice to a space the search can explore.
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  SpaceSearchConfig g;
  g.widths = {1.0, 1.25};
  g.resolutions = {24, 32};
  g.samples = 300;
  g.min_fitting_fraction = 0;
  const McuSpec m = mcu(20 * 1024, 64 << 20);
  const SpaceOptimization any = optimize_space(space, m, g, true);
  ASSERT_GE(any.best, 0);
  EXPECT_FALSE(any.fallback());
  EXPECT_EQ(any.candidates[any.best].width, 1.25);
  EXPECT_EQ(any.candidates[any.best].resolution, 32);
  EXPECT_LT(any.candidates[any.best].fitting_fraction(), 0.05);

  g.min_fitting_fraction = 0.1;
  const SpaceOptimization floor = optimize_space(space, m, g, true);
  ASSERT_GE(floor.best, 0);
  EXPECT_FALSE(floor.fallback());
  const SpaceCandidate& b = floor.candidates[floor.best];
  EXPECT_GE(b.fitting_fraction(), 0.1);
  EXPECT_TRUE(b.eligible);
  for (const auto& c : floor.candidates) {
    EXPECT_EQ(c.eligible, c.fitting_fraction() >= 0.1);
    if (c.eligible) {
      EXPECT_LE(c.mean_macs, b.mean_macs);
    }
  }
  EXPECT_NE(floor.to_csv().find(",eligible,chosen\n"), std::string::npos);

  // Where no space reaches the floor, the one where most fit is chosen, and flagged.
  g.widths = {1.25};
  g.resolutions = {28, 32};
  const SpaceOptimization none = optimize_space(space, m, g, true);
  ASSERT_EQ(none.best, 0);
  EXPECT_TRUE(none.fallback());
  EXPECT_GT(none.candidates[0].fitting, none.candidates[1].fitting);
  EXPECT_GT(none.candidates[1].fitting, 0);
}

TEST(SpaceOptimizer, NothingFits) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  const SpaceOptimization r = optimize_space(space, mcu(2048, 64 << 20), grid(), false);
  EXPECT_EQ(r.best, -1);
  EXPECT_NE(r.to_csv().find("width,resolution"), std::string::npos);
}

TEST(SpaceOptimizer, TheChosenSpaceRoundTrips) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  const std::string yaml = restricted_space_yaml(space, 0.75, 40);
  const SearchSpace back = SearchSpace::from_config(ConfigNode::parse(yaml, "space.yaml"));
  EXPECT_EQ(back.width_multipliers, std::vector<double>{0.75});
  EXPECT_EQ(back.resolutions, std::vector<int>{40});
  // Same structure apart from width and resolution.
  SearchSpace same = restrict_space(space, 0.75, 40);
  EXPECT_EQ(back.fingerprint(), same.fingerprint());
  EXPECT_EQ(SearchSpace::from_config(ConfigNode::parse(space.to_yaml(), "s")).fingerprint(),
            space.fingerprint());
}

}  // namespace
}  // namespace tinynas

namespace tinynas {
namespace {

// The cells run in parallel (TBB); the result does not depend on how many threads ran them.
TEST(SpaceOptimizer, OneThreadAndAllThreadsGiveTheSameResult) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  const McuSpec m = mcu(40 * 1024, 64 << 20);
  SpaceSearchConfig g = grid();
  g.widths = {0.35, 0.5, 0.75, 1.0};
  const SpaceOptimization all = optimize_space(space, m, g, true);
  SpaceOptimization one;
  {
    tbb::global_control only(tbb::global_control::max_allowed_parallelism, 1);
    one = optimize_space(space, m, g, true);
  }
  EXPECT_EQ(all.to_csv(), one.to_csv());
  EXPECT_EQ(all.best, one.best);
  EXPECT_EQ(all.subnets_estimated, 8 * 200);
  ASSERT_EQ(all.candidates.size(), one.candidates.size());
  for (std::size_t k = 0; k < all.candidates.size(); ++k) EXPECT_EQ(all.candidates[k].macs, one.candidates[k].macs);
}

}  // namespace
}  // namespace tinynas
