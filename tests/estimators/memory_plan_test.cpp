#include "estimators/memory_plan.h"

#include <gtest/gtest.h>

#include <random>

#include "search_spaces/arch_sampler.h"
#include "test_util.h"

namespace tinynas {
namespace {

using testing_util::arch_from_yaml;
using testing_util::check_plan;
using testing_util::in_place_over_image_graph;
using testing_util::independent_lower_bound;
using testing_util::kRoot;
using testing_util::space_from_yaml;

// A stem and one t=1 block; `stage_channels` == 8 (the stem's) gives the block a residual.
std::string tiny_space(int stage_channels, int resolution = 8) {
  return "name: tiny\ninput_channels: 3\nnum_classes: 10\nchannel_divisor: 1\n"
         "stem: {channels: 8, kernel: 3, stride: 1}\n"
         "stages:\n  - {channels: " + std::to_string(stage_channels) +
         ", stride: 1, depths: [1], expand_ratios: [1]}\n"
         "kernel_sizes: [3]\nexpand_ratios: [2]\ndepths: [1]\nwidth_multipliers: [1.0]\n"
         "resolutions: [" + std::to_string(resolution) + "]\npatch: {patches: [1, 2], max_split: 1}\n";
}

NetGraph tiny_graph(int stage_channels, int resolution = 8) {
  const SearchSpace s = space_from_yaml(tiny_space(stage_channels, resolution));
  const ArchSpec a = arch_from_yaml("resolution: " + std::to_string(resolution) +
                                        "\nwidth: 1.0\nstages:\n  - {kernels: [3], expands: [1]}\n",
                                    s);
  return lower(s, a);
}

TEST(ScratchBytes, FollowTheRuntimeContract) {
  EXPECT_EQ(layer_scratch_bytes(op("conv"), 3, 3, 224, 224, 3), 2 * 3 * 3 * 3 * 2);  // 108
  EXPECT_EQ(layer_scratch_bytes(op("conv"), 5, 5, 7, 7, 16), 2 * 5 * 5 * 16 * 2);
  EXPECT_EQ(layer_scratch_bytes(op("conv"), 10, 4, 49, 10, 1), 2 * 10 * 4 * 1 * 2);  // DS-CNN stem
  EXPECT_EQ(layer_scratch_bytes(op("pointwise"), 1, 1, 56, 56, 24), 2 * 24 * 2);
  // The runtime's tn_depthwise_scratch_bytes_k: the input plane with a kh/2, kw/2 border, + 4.
  EXPECT_EQ(layer_scratch_bytes(op("depthwise"), 3, 3, 112, 112, 96), 114 * 114 + 4);
  EXPECT_EQ(layer_scratch_bytes(op("depthwise"), 7, 7, 7, 9, 96), 13 * 15 + 4);
  EXPECT_EQ(layer_scratch_bytes(op("depthwise"), 4, 2, 7, 9, 96), 11 * 11 + 4);
  EXPECT_EQ(layer_scratch_bytes(op("add"), 1, 1, 56, 56, 24), 0);
  EXPECT_EQ(layer_scratch_bytes(op("avgpool"), 1, 1, 7, 7, 1280), 0);
  EXPECT_EQ(layer_scratch_bytes(op("fc"), 1, 1, 1, 1, 1280), 0);
}

TEST(Alignment, OneConstantForSizesAndOffsets) {
  EXPECT_EQ(kArenaAlignment, 8);
  EXPECT_EQ(align_arena(0), 0);
  EXPECT_EQ(align_arena(1), 8);
  EXPECT_EQ(align_arena(8), 8);
  EXPECT_EQ(align_arena(243), 248);
  // 9x9x3 = 243 image bytes, 4-channel pool output, 10 logits: all rounded up to 8.
  const NetGraph g = tiny_graph(4, 9);
  const MemoryPlan p = plan_memory(g);
  EXPECT_EQ(p.tensors[0].size, 248);
  EXPECT_EQ(p.tensors[4].size, 8);   // 1x1x4
  EXPECT_EQ(p.tensors[5].size, 16);  // 1x1x10
  EXPECT_EQ(p.scratch[0].size, 112);  // 108 -> 112
  for (const PlacedBuffer& b : p.tensors) EXPECT_EQ(b.offset % 8, 0);
  for (const PlacedBuffer& b : p.scratch) {
    if (b.placed()) {
      EXPECT_EQ(b.offset % 8, 0);
    }
  }
  EXPECT_EQ(p.arena_bytes % 8, 0);
  check_plan(g, p, "9x9");
}

TEST(MemoryPlan, DepthwiseRunsInPlaceWhenItsInputDiesThere) {
  // stem 8x8x3 -> 8x8x8; dw 8x8x8 (in place: the stem output's last reader); project -> 8x8x4;
  // pool -> 4; fc -> 10.
  const NetGraph g = tiny_graph(4);
  ASSERT_EQ(g.layers.size(), 5u);
  ASSERT_EQ(g.layers[1].op, &op("depthwise"));
  const MemoryPlan p = plan_memory(g);
  EXPECT_EQ(p.in_place[1], 0);
  EXPECT_EQ(p.tensors[2].offset, p.tensors[1].offset);  // output over input
  for (int i : {0, 2, 3, 4}) EXPECT_EQ(p.in_place[i], -1);
  // Live bytes by hand: image 192 + stem out 512 + im2col 112; dw 512 + padded plane
  // 10*10+4 = 104; project 512 + 256 + 32; pool 256 + 8; fc 8 + 16.
  EXPECT_EQ(p.live_bytes, (std::vector<int64_t>{816, 616, 800, 264, 24}));
  EXPECT_EQ(p.lower_bound_bytes, 816);
  EXPECT_EQ(p.peak_layer, 0);
  EXPECT_EQ(p.arena_bytes, 816);
  EXPECT_EQ(analytic_peak_bytes(g), 512 + 256);  // project: 8x8x8 in, 8x8x4 out
  check_plan(g, p, "tiny");
}

TEST(MemoryPlan, DepthwiseNotInPlaceWhileAResidualStillNeedsItsInput) {
  // The t=1 block keeps 8 channels at stride 1, so it has a residual: the stem output is read by
  // the dw and by the add, and must survive the dw.
  const NetGraph g = tiny_graph(8);
  ASSERT_EQ(g.layers.size(), 6u);
  ASSERT_EQ(g.layers[3].op, &op("add"));
  const MemoryPlan p = plan_memory(g);
  EXPECT_EQ(p.in_place[1], -1);
  EXPECT_EQ(p.in_place[3], 0);  // the add writes over the project output
  EXPECT_EQ(p.tensors[4].offset, p.tensors[3].offset);
  // The residual input (stem output) lives until the add.
  EXPECT_EQ(p.tensors[1].first, 0);
  EXPECT_EQ(p.tensors[1].last, 3);
  // stem 192+512+112; dw 512+512+104; project 512+512+512+32; add 512+512; pool 512+8;
  // fc 8+16.
  EXPECT_EQ(p.live_bytes, (std::vector<int64_t>{816, 1128, 1568, 1024, 520, 24}));
  EXPECT_EQ(p.arena_bytes, 1568);
  EXPECT_EQ(p.peak_layer, 2);
  std::vector<int> live;
  p.live_tensors(2, &live);
  EXPECT_EQ(live, (std::vector<int>{1, 2, 3}));
  // The dw output may not overlap the stem output.
  const PlacedBuffer& a = p.tensors[1];
  const PlacedBuffer& b = p.tensors[2];
  EXPECT_TRUE(a.end() <= b.offset || b.end() <= a.offset);
  check_plan(g, p, "tiny residual");
}

TEST(MemoryPlan, ImageOutsideTheArena) {
  const NetGraph g = tiny_graph(4);
  PlanOptions opt;
  opt.input_in_arena = false;
  const MemoryPlan p = plan_memory(g, opt);
  EXPECT_EQ(p.tensors[0].offset, -1);
  EXPECT_EQ(p.live_bytes[0], 512 + 112);
  EXPECT_EQ(p.arena_bytes, 800);  // now the project layer is the peak
  check_plan(g, p, "no image");
}

TEST(MemoryPlan, NothingRunsInPlaceOverAnImageOutsideTheArena) {
  const NetGraph g = in_place_over_image_graph();
  const MemoryPlan in = plan_memory(g);
  EXPECT_TRUE(in.input_in_arena);
  EXPECT_EQ(in.in_place[1], 0);  // the add overwrites the image it reads last
  check_plan(g, in, "image in the arena");
  PlanOptions opt;
  opt.input_in_arena = false;
  const MemoryPlan out = plan_memory(g, opt);
  EXPECT_FALSE(out.input_in_arena);
  EXPECT_EQ(out.tensors[0].offset, -1);
  EXPECT_EQ(out.in_place[1], 1);  // over the depthwise output instead, never over the image
  EXPECT_EQ(out.in_place[2], 0);
  check_plan(g, out, "image outside");
  // Without the add, the first depthwise is the image's last reader.
  NetGraph h = g;
  h.layers.erase(h.layers.begin() + 1);
  h.tensors.erase(h.tensors.begin() + 2);
  h.tensors[0].last_consumer = 0;
  h.tensors[1].last_consumer = 1;
  h.tensors[2].producer = 1;
  h.layers[1].inputs[0] = 1;
  h.layers[1].output = 2;
  h.output = 2;
  EXPECT_EQ(plan_memory(h).in_place[0], 0);
  const MemoryPlan hp = plan_memory(h, opt);
  EXPECT_EQ(hp.in_place[0], -1);
  EXPECT_EQ(hp.in_place[1], 0);
  check_plan(h, hp, "depthwise first, image outside");
}

TEST(Placer, FirstFitReusesFreedSpace) {
  MemoryPlanner planner;
  std::vector<int64_t> off;
  // a [0,1] 16 B, b [1,2] 8 B, c [2,3] 16 B: a and c can share.
  const int64_t arena = planner.place({{16, 0, 1}, {8, 1, 2}, {16, 2, 3}}, 4, &off);
  EXPECT_EQ(arena, 24);
  EXPECT_EQ(off[0], off[2]);
  EXPECT_NE(off[1], off[0]);
}

// TF-Lite Micro's greedy planner: largest first, first fit. The floor the planner must beat.
int64_t size_first_fit(const std::vector<MemoryPlanner::Item>& items) {
  std::vector<int> order(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return items[a].size > items[b].size; });
  std::vector<int64_t> off(items.size(), -1);
  int64_t arena = 0;
  for (std::size_t r = 0; r < order.size(); ++r) {
    const auto& it = items[order[r]];
    int64_t cand = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (std::size_t k = 0; k < r; ++k) {
        const auto& o = items[order[k]];
        const int64_t oo = off[order[k]];
        if (o.first <= it.last && it.first <= o.last && oo < cand + it.size && cand < oo + o.size) {
          cand = oo + o.size;
          moved = true;
        }
      }
    }
    off[order[r]] = cand;
    arena = std::max(arena, cand + it.size);
  }
  return arena;
}

TEST(Placer, NeverWorseThanGreedyBySizeAndSometimesBetter) {
  MemoryPlanner planner;
  std::mt19937_64 rng(3);
  int better = 0;
  for (int n = 0; n < 3000; ++n) {
    std::vector<MemoryPlanner::Item> items;
    const int k = 3 + static_cast<int>(rng() % 10);
    for (int i = 0; i < k; ++i) {
      const int first = static_cast<int>(rng() % 8);
      const int len = static_cast<int>(rng() % 4);
      items.push_back({8 * static_cast<int64_t>(1 + rng() % 16), first, std::min(7, first + len)});
    }
    std::vector<int64_t> off;
    const int64_t arena = planner.place(items, 8, &off);
    const int64_t floor = size_first_fit(items);
    EXPECT_LE(arena, floor);
    better += arena < floor;
    // Valid: no two time-overlapping items overlap in space.
    for (int i = 0; i < k; ++i) {
      EXPECT_LE(off[i] + items[i].size, arena);
      for (int j = i + 1; j < k; ++j) {
        const bool t = items[i].first <= items[j].last && items[j].first <= items[i].last;
        const bool s = off[i] < off[j] + items[j].size && off[j] < off[i] + items[i].size;
        EXPECT_FALSE(t && s);
      }
    }
  }
  EXPECT_GT(better, 30);
}

// ---------------------------------------------------------------------------------------------
// MobileNetV2 1.0 at 224.

LoadedArch load_arch(const std::string& rel) {
  const SearchSpace none;
  return load_arch_file(kRoot + "/configs/archs/" + rel, none);
}

TEST(MobileNetV2, AnalyticFigureIs1372KB) {
  const LoadedArch a = load_arch("mbv2-w1.0-r224.yaml");
  const NetGraph g = lower(a.space, a.arch);
  // The first block's expand layer: 112x112x16 in, 112x112x96 out.
  EXPECT_EQ(analytic_peak_bytes(g), 112 * 112 * (16 + 96));
  EXPECT_EQ(analytic_peak_bytes(g), 1372 * 1024);
}

TEST(MobileNetV2, LayerByLayerArenaReachesTheLowerBound) {
  const LoadedArch a = load_arch("mbv2-w1.0-r224.yaml");
  const NetGraph g = lower(a.space, a.arch);
  const MemoryPlan p = plan_memory(g);
  // The expand pair plus its pointwise scratch (2*16*2 = 64).
  EXPECT_EQ(p.arena_bytes, 112 * 112 * (16 + 96) + 64);
  EXPECT_EQ(p.arena_bytes, p.lower_bound_bytes);
  EXPECT_EQ(g.layers[p.peak_layer].name(), "s1.b1.expand");
  check_plan(g, p, "mbv2");
}

TEST(MobileNetV2, PatchBasedInference) {
  const LoadedArch lbl = load_arch("mbv2-w1.0-r224.yaml");
  const LoadedArch a = load_arch("mbv2-w1.0-r224-p4.yaml");
  ASSERT_EQ(a.arch.patch, (PatchSchedule{4, 4}));
  const NetGraph g0 = lower(lbl.space, lbl.arch);
  const NetGraph g = lower(a.space, a.arch);
  const MemoryPlan layer_plan = plan_memory(g0);
  const MemoryPlan p = plan_memory(g);
  ASSERT_TRUE(p.ok);
  check_plan(g, p, "mbv2 p4");
  EXPECT_EQ(p.patch.stage_end, 13);  // stem + blocks 0..3 (t=1 block: 2 layers; others 3 + add)
  EXPECT_EQ(g.tensors[p.patch.stage_output].shape, (Shape{28, 28, 32}));
  // Interior patch: a 7x7 tile at 28x28 needs 15x15 at 56, 35x35 at 112 and 75x75 of the image.
  const Rect& crop = p.patch.region(5, 0);  // patch (1, 1)
  EXPECT_EQ(crop.h(), 75);
  EXPECT_EQ(crop.w(), 75);
  // ~ +10% MACs, as the MCUNetV2 paper reports for this split.
  const double extra = static_cast<double>(p.patch.extra_macs) / g.macs();
  EXPECT_NEAR(extra, 0.093, 0.005);
  EXPECT_LT(extra, 0.15);
  // With the image in the arena: the image (147 KB) + the 28x28x32 output + one patch's work.
  EXPECT_EQ(p.patch.stage_peak_bytes,
            224 * 224 * 3 + 28 * 28 * 32 + p.patch.sub_arena_bytes);
  EXPECT_EQ(p.arena_bytes, p.patch.stage_peak_bytes);
  EXPECT_LT(p.arena_bytes, 310 * 1024);
  EXPECT_LT(p.arena_bytes * 4, layer_plan.arena_bytes);
  // With the image outside the arena (the paper's setting): under 200 KB, <= 1/6 of layer by
  // layer; the peak is then after the patch stage (block 4's residual project at 28x28).
  PlanOptions ext;
  ext.input_in_arena = false;
  const MemoryPlan q = plan_memory(g, ext);
  check_plan(g, q, "mbv2 p4 image outside");
  EXPECT_LT(q.arena_bytes, 200 * 1024);
  EXPECT_LE(q.arena_bytes * 6, plan_memory(g0, ext).arena_bytes);
  EXPECT_EQ(q.arena_bytes, q.patch.rest_peak_bytes);
}

// ---------------------------------------------------------------------------------------------
// Properties over sampled subnets of the default space.

TEST(MemoryPlanProperty, SampledSubnetsArePackedSafely) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  ArchSampler sampler(space, 7);
  MemoryPlanner planner;
  MemoryPlan plan;
  NetGraph g;
  int patched = 0;
  for (int n = 0; n < 2000; ++n) {
    ArchSpec a = sampler.sample();
    if (n % 2 == 1) a.patch = sampler.sample_patch(a);
    lower(space, a, &g);
    for (bool in_arena : {true, false}) {
      PlanOptions opt;
      opt.input_in_arena = in_arena;
      planner.plan(g, opt, &plan);
      ASSERT_TRUE(plan.ok) << a.to_string();
      check_plan(g, plan, a.to_string());
      if (!g.patch.enabled()) {
        EXPECT_GE(plan.arena_bytes, independent_lower_bound(g, in_arena)) << a.to_string();
        if (in_arena) {
          EXPECT_GE(plan.arena_bytes, analytic_peak_bytes(g)) << a.to_string();
        }
      } else {
        ++patched;
        EXPECT_GE(plan.patch.executed_macs, g.macs());
      }
      // The early-stopping path agrees on fit / no fit.
      for (int64_t budget : {plan.arena_bytes - 8, plan.arena_bytes, plan.arena_bytes + 1000}) {
        const int64_t got = planner.arena_bytes(g, opt, budget);
        EXPECT_EQ(got <= budget, plan.arena_bytes <= budget) << a.to_string();
      }
    }
    if (HasFailure()) break;
  }
  EXPECT_GT(patched, 500);
}

// An autoencoder's features are read twice: by its first layer and by the reconstruction error
// at the end. The planner keeps them live until that last reader, so while the reconstruction is
// made (layer 1) the arena holds features, code and reconstruction; the score is 4 bytes (8
// aligned).
TEST(MemoryPlan, AutoencoderKeepsItsFeaturesUntilTheError) {
  const NetGraph g = testing_util::autoencoder_graph({4, 5, 2}, 12);
  ASSERT_EQ(g.layers.size(), 3u);
  EXPECT_EQ(g.tensors[0].last_consumer, 2);
  EXPECT_EQ(g.tensors[3].bytes(), 4);
  for (bool in_arena : {true, false}) {
    SCOPED_TRACE(in_arena ? "features in the arena" : "features in the caller's buffer");
    PlanOptions opt;
    opt.input_in_arena = in_arena;
    const MemoryPlan p = plan_memory(g, opt);
    check_plan(g, p, "autoencoder");
    EXPECT_EQ(p.tensors[3].size, 8);
    const int64_t features = in_arena ? 40 : 0;
    if (in_arena) {
      EXPECT_EQ(p.tensors[0].first, 0);
      EXPECT_EQ(p.tensors[0].last, 2);
    }
    EXPECT_EQ(p.live_bytes[0], features + 16);       // features, code (12 -> 16)
    EXPECT_EQ(p.live_bytes[1], features + 16 + 40);  // features, code, reconstruction
    EXPECT_EQ(p.live_bytes[2], features + 40 + 8);   // features, reconstruction, score
    EXPECT_EQ(p.arena_bytes, features + 56);
  }
  // The classic analytic figure counts the score as 4 bytes too.
  EXPECT_EQ(analytic_layer_bytes(g.layers[2]), 40 + 4);
}

}  // namespace
}  // namespace tinynas
