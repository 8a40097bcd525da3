#include "estimators/estimate.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "search_spaces/arch_sampler.h"
#include "test_util.h"

namespace tinynas {
namespace {

using testing_util::arch_from_yaml;
using testing_util::kRoot;
using testing_util::space_from_yaml;

McuSpec test_mcu(int64_t sram, int64_t flash) {
  McuSpec m;
  m.name = "test";
  m.core = "cortex-m7";
  m.clock_mhz = 100;
  m.sram_bytes = sram;
  m.flash_bytes = flash;
  m.code.runtime = 6000;
  std::fill(m.code.per_layer.begin(), m.code.per_layer.end(), 50);
  m.code.patch = 500;
  for (const auto& [kind, bytes] : std::vector<std::pair<const char*, int64_t>>{
           {"conv", 2000}, {"pointwise", 1000}, {"depthwise", 1500}, {"add", 300},
           {"avgpool", 200}, {"fc", 400}}) {
    m.code.kernels[op(kind).id()] = bytes;
  }
  return m;
}

TEST(Flash, ByHand) {
  // stem 3x3x3->8, t=1 block (dw 3x3x8, project 8->4), pool, fc 4->10.
  const SearchSpace s = space_from_yaml(
      "name: tiny\ninput_channels: 3\nnum_classes: 10\nchannel_divisor: 1\n"
      "stem: {channels: 8, kernel: 3, stride: 1}\n"
      "stages:\n  - {channels: 4, stride: 1, depths: [1], expand_ratios: [1]}\n"
      "kernel_sizes: [3]\nexpand_ratios: [2]\ndepths: [1]\nwidth_multipliers: [1.0]\n"
      "resolutions: [8]\n");
  const NetGraph g =
      lower(s, arch_from_yaml("resolution: 8\nwidth: 1.0\nstages:\n  - {kernels: [3], expands: [1]}\n", s));
  const int64_t weights = 216 + 72 + 32 + 40;
  const int64_t channels = 8 + 8 + 4 + 10;  // one int32 bias + int32 multiplier + int32 shift each
  const int64_t code = 6000 + 5 * 50 + 2000 + 1500 + 1000 + 200 + 400;  // no add kernel
  EXPECT_EQ(flash_bytes(g, test_mcu(1 << 20, 1 << 20)), weights + channels * 12 + code);
  const Estimate e = estimate(g, test_mcu(1 << 20, 1 << 20));
  EXPECT_EQ(e.flash_bytes, weights + channels * 12 + code);
  EXPECT_EQ(e.params, weights + channels);
  EXPECT_EQ(e.peak_sram_bytes, 816);
  EXPECT_EQ(e.analytic_peak_bytes, 768);
  EXPECT_TRUE(e.fits);
  EXPECT_FALSE(e.has_latency);
  // Budgets: the arena must fit sram - reserved, the model flash - reserved.
  McuSpec tight = test_mcu(816 + 100, weights + channels * 12 + code + 10);
  tight.reserved_sram_bytes = 100;
  tight.reserved_flash_bytes = 10;
  EXPECT_TRUE(estimate(g, tight).fits);
  tight.reserved_sram_bytes = 101;
  EXPECT_FALSE(estimate(g, tight).fits_sram);
  EXPECT_TRUE(estimate(g, tight).fits_flash);
  tight.reserved_flash_bytes = 11;
  EXPECT_FALSE(estimate(g, tight).fits_flash);
}

TEST(Estimate, LatencyFromTheCalibration) {
  const McuSpec m = McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml");
  const SearchSpace none;
  const LoadedArch a = load_arch_file(kRoot + "/configs/archs/mbv2-w1.0-r224.yaml", none);
  const NetGraph g = lower(a.space, a.arch);
  const Estimate e = estimate(g, m);
  ASSERT_TRUE(e.has_latency);
  double cycles = 0;
  for (const Layer& l : g.layers) cycles += m.latency.layer_cycles(l);
  EXPECT_DOUBLE_EQ(e.cycles, cycles);
  EXPECT_DOUBLE_EQ(e.latency_ms, cycles / (216 * 1000.0));
  // With patches, the patch stage's layers run once per patch on their per-patch shapes.
  const LoadedArch p = load_arch_file(kRoot + "/configs/archs/mbv2-w1.0-r224-p4.yaml", none);
  const NetGraph gp = lower(p.space, p.arch);
  Estimator est(m);
  const Estimate ep = est.estimate(gp);
  EXPECT_GT(ep.cycles, e.cycles);
  EXPECT_LT(ep.cycles, e.cycles * 1.15);
  EXPECT_EQ(ep.executed_macs - ep.macs, est.plan().patch.extra_macs);
  EXPECT_EQ(ep.macs, e.macs);
  // A latency limit needs a calibration.
  EstimateOptions opt;
  opt.latency_limit_ms = 100;
  EXPECT_THROW(Estimator(test_mcu(1 << 20, 1 << 20), opt), ConfigError);
  EXPECT_FALSE(Estimator(m, opt).estimate(g).fits_latency);
  // A MACs cap: just above the network fits, just below does not, and only that fails.
  EstimateOptions cap;
  cap.macs_limit = e.macs;
  EXPECT_TRUE(Estimator(m, cap).estimate(g).fits_macs);
  cap.macs_limit = e.macs - 1;
  const Estimate over = Estimator(m, cap).estimate(g);
  EXPECT_FALSE(over.fits_macs);
  EXPECT_FALSE(over.fits);
  Estimator capped(m, cap);
  EXPECT_FALSE(capped.fits(g));
}

TEST(Estimate, FitsAgreesWithTheFullEstimate) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  McuSpec m = McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml");
  ArchSampler sampler(space, 9);
  NetGraph g;
  int fit = 0, total = 0;
  for (int64_t sram : {48 * 1024, 96 * 1024, 320 * 1024}) {
    for (double limit : {0.0, 20.0}) {
      m.sram_bytes = sram;
      m.reserved_sram_bytes = 0;
      EstimateOptions opt;
      opt.latency_limit_ms = limit;
      opt.macs_limit = limit > 0 ? 0 : 4000000;  // and a compute cap (a baseline's MACs)
      Estimator full(m, opt), fast(m, opt);
      for (int n = 0; n < 300; ++n) {
        ArchSpec a = sampler.sample();
        if (n % 3 == 0) a.patch = sampler.sample_patch(a);
        lower(space, a, &g);
        const bool want = full.estimate(g).fits;
        ASSERT_EQ(fast.fits(g), want) << a.to_string() << " sram " << sram << " limit " << limit;
        fit += want;
        ++total;
      }
    }
  }
  EXPECT_GT(fit, total / 10);
  EXPECT_LT(fit, total);
}

TEST(ChoosePatchSchedule, PicksTheCheapestScheduleThatFits) {
  const SearchSpace none;
  const LoadedArch a = load_arch_file(kRoot + "/configs/archs/mbv2-w1.0-r224.yaml", none);
  McuSpec m = McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml");
  m.flash_bytes = 16 << 20;  // MobileNetV2's 3.5 MB of weights: look at SRAM only
  EstimateOptions opt;
  opt.plan.input_in_arena = false;
  Estimate chosen;
  const auto s = choose_patch_schedule(a.space, a.arch, m, opt, &chosen);
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->enabled());
  EXPECT_TRUE(chosen.fits);
  EXPECT_LE(chosen.peak_sram_bytes, m.sram_budget());
  // Brute force: nothing that fits is cheaper.
  ArchSpec b = a.arch;
  for (int p : a.space.patch.patches) {
    for (int split = p == 1 ? 0 : 1; split <= (p == 1 ? 0 : a.space.patch.max_split); ++split) {
      b.patch = {p, split};
      const Estimate e = estimate(lower(a.space, b), m, opt);
      if (e.fits) {
        EXPECT_GE(e.cycles, chosen.cycles) << p << "x" << p << " split " << split;
      }
    }
  }
  // The layer-by-layer plan is chosen when it fits.
  m.sram_bytes = 4 << 20;
  EXPECT_EQ(choose_patch_schedule(a.space, a.arch, m, opt), PatchSchedule{});
  // Nothing fits 64 KB.
  m.sram_bytes = 64 << 10;
  EXPECT_FALSE(choose_patch_schedule(a.space, a.arch, m, opt).has_value());
}

}  // namespace
}  // namespace tinynas
