// Patch-based inference: the receptive field by hand on a small graph, and a reference
// execution showing that running the patch stage patch by patch, exactly as the plan says
// (dense per-patch buffers, the steps' explicit pads, the add's sub-rectangle), reproduces the
// layer-by-layer tensors bit for bit.
#include <gtest/gtest.h>

#include <random>

#include "estimators/memory_plan.h"
#include "search_spaces/arch_sampler.h"
#include "test_util.h"

namespace tinynas {
namespace {

using testing_util::arch_from_yaml;
using testing_util::check_plan;
using testing_util::kRoot;
using testing_util::space_from_yaml;

// 16x16x3 -> stem k3 s2 -> 8x8x8 -> t=1 block (dw k3, project to 4 channels) -> pool -> fc.
NetGraph small_patch_graph(int patches, int split) {
  const SearchSpace s = space_from_yaml(
      "name: small\ninput_channels: 3\nnum_classes: 10\nchannel_divisor: 1\n"
      "stem: {channels: 8, kernel: 3, stride: 2}\n"
      "stages:\n  - {channels: 4, stride: 1, depths: [1], expand_ratios: [1]}\n"
      "kernel_sizes: [3]\nexpand_ratios: [2]\ndepths: [1]\nwidth_multipliers: [1.0]\n"
      "resolutions: [16]\npatch: {patches: [1, 2, 4], max_split: 1}\n");
  const ArchSpec a = arch_from_yaml(
      "resolution: 16\nwidth: 1.0\nstages:\n  - {kernels: [3], expands: [1]}\npatch: {patches: " +
          std::to_string(patches) + ", split: " + std::to_string(split) + "}\n",
      s);
  return lower(s, a);
}

TEST(PatchPlan, ReceptiveFieldByHand) {
  const NetGraph g = small_patch_graph(2, 1);
  const MemoryPlan p = plan_memory(g);
  ASSERT_TRUE(p.ok);
  const PatchPlan& pp = p.patch;
  EXPECT_EQ(pp.stage_end, 3);  // stem, dw, project
  EXPECT_EQ(pp.stage_output, 3);
  EXPECT_EQ(pp.row_bands, (std::vector<int>{0, 4, 8}));
  // Patch (0,0): tile rows/cols [0,4); the dw (k3, pad 1) needs [-1,5) -> [0,5) padded on the
  // top/left only; the stem (k3, s2, pad 1) needs [-1,10) of the image -> [0,10).
  EXPECT_EQ(pp.region(0, 3), (Rect{0, 0, 4, 4}));
  EXPECT_EQ(pp.region(0, 2), (Rect{0, 0, 4, 4}));
  EXPECT_EQ(pp.region(0, 1), (Rect{0, 0, 5, 5}));
  EXPECT_EQ(pp.region(0, 0), (Rect{0, 0, 10, 10}));
  const PatchStep& dw0 = pp.step(0, 1);
  EXPECT_EQ(dw0.in[0], (Rect{0, 0, 5, 5}));
  EXPECT_EQ(dw0.pad_top, 1);
  EXPECT_EQ(dw0.pad_left, 1);
  EXPECT_EQ(dw0.pad_bottom, 0);
  EXPECT_EQ(dw0.pad_right, 0);
  const PatchStep& stem0 = pp.step(0, 0);
  EXPECT_EQ(stem0.out, (Rect{0, 0, 5, 5}));
  EXPECT_EQ(stem0.pad_top, 1);
  EXPECT_EQ(stem0.pad_bottom, 0);
  // Patch (1,1): tile [4,8); dw needs [3,9) -> [3,8) padded at the bottom/right; the stem
  // needs [5,16) of the image, no padding (row 15 is the last one its window reaches).
  EXPECT_EQ(pp.region(3, 3), (Rect{4, 4, 8, 8}));
  EXPECT_EQ(pp.region(3, 1), (Rect{3, 3, 8, 8}));
  EXPECT_EQ(pp.region(3, 0), (Rect{5, 5, 16, 16}));
  EXPECT_EQ(pp.step(3, 1).pad_bottom, 1);
  EXPECT_EQ(pp.step(3, 1).pad_top, 0);
  EXPECT_EQ(pp.step(3, 0).pad_top, 0);
  EXPECT_EQ(pp.step(3, 0).pad_bottom, 0);
  // Patch (0,1) mixes the two.
  EXPECT_EQ(pp.region(1, 0), (Rect{0, 5, 10, 16}));
  // Extra MACs: each patch computes 5x5 stem pixels instead of 4x4 (216 MACs each).
  EXPECT_EQ(pp.extra_macs, (4 * 25 - 64) * 216);
  EXPECT_EQ(pp.executed_macs, g.macs() + 7776);
  // Sub-plan, sized for the largest patch: crop 11x11x3 = 363 -> 368, stem output 5x5x8 = 200
  // (the dw runs in place over it), tile 4x4x4 = 64; scratch: im2col 108 -> 112, dw plane
  // (5+2)x(5+2)+4 = 53 -> 56, pointwise 2*8*2 = 32.
  EXPECT_EQ(pp.crop.size, 368);
  EXPECT_EQ(p.tensors[1].size, 200);
  EXPECT_EQ(p.in_place[1], 0);
  EXPECT_EQ(pp.tile.size, 64);
  EXPECT_EQ(p.scratch[0].size, 112);
  EXPECT_EQ(p.scratch[1].size, 56);
  EXPECT_EQ(p.scratch[2].size, 32);
  EXPECT_EQ(p.live_bytes[0], 768 + 256 + 368 + 200 + 112);  // image, full output, sub-plan
  EXPECT_EQ(pp.sub_arena_bytes, 368 + 200 + 112);
  EXPECT_EQ(pp.stage_peak_bytes, 768 + 256 + 680);
  EXPECT_EQ(p.arena_bytes, 1704);
  check_plan(g, p, "small p2");
}

TEST(PatchPlan, TooFewRowsForThePatchesIsInfeasible) {
  // 8x8 stage output split 4 ways is fine; the space does not allow more, so cut a graph by hand.
  NetGraph g = small_patch_graph(4, 1);
  g.patch.patches = 9;  // 8 rows cannot make 9 bands
  const MemoryPlan p = plan_memory(g);
  EXPECT_FALSE(p.ok);
}

// ---------------------------------------------------------------------------------------------
// Reference execution.

struct Tensor {
  Rect r;  // region held (absolute coordinates)
  int c = 0;
  std::vector<int32_t> v;
  int32_t& at(int y, int x, int ch) { return v[((y - r.y0) * r.w() + (x - r.x0)) * c + ch]; }
  int32_t at(int y, int x, int ch) const { return v[((y - r.y0) * r.w() + (x - r.x0)) * c + ch]; }
};

int32_t squash(int64_t acc) { return static_cast<int32_t>(std::clamp<int64_t>(acc >> 5, -128, 127)); }

struct Weights {
  std::vector<std::vector<int32_t>> w;
  explicit Weights(const NetGraph& g) {
    std::mt19937 rng(11);
    for (const Layer& l : g.layers) {
      std::vector<int32_t> v(static_cast<std::size_t>(l.weights));
      for (auto& x : v) x = static_cast<int32_t>(rng() % 7) - 3;
      w.push_back(v);
    }
  }
};

// Runs layer `l` the way the runtime does: a dense input buffer `in` (its region's size),
// explicit pads, output of `out` region size. Returns the output over region `out`.
Tensor run_layer(const Layer& l, const std::vector<int32_t>& w, const Tensor& in, const Tensor* in2,
                 const Rect& in2_read, const Rect& out, int pt, int pl, int pb, int pr) {
  Tensor o;
  o.r = out;
  o.c = l.out.c;
  o.v.assign(static_cast<std::size_t>(out.h()) * out.w() * o.c, 0);
  if (l.op == &op("add")) {
    EXPECT_EQ(in.r, out);
    for (int y = 0; y < out.h(); ++y)
      for (int x = 0; x < out.w(); ++x)
        for (int ch = 0; ch < o.c; ++ch)
          o.v[(y * out.w() + x) * o.c + ch] = std::clamp(
              in.v[(y * out.w() + x) * o.c + ch] +
                  in2->at(in2_read.y0 + y, in2_read.x0 + x, ch), -128, 127);
    return o;
  }
  const int kh = l.kh, kw = l.kw, s = l.stride;
  const int hin = in.r.h(), win = in.r.w();
  EXPECT_EQ((hin + pt + pb - kh) / s + 1, out.h()) << l.name();
  EXPECT_EQ((win + pl + pr - kw) / s + 1, out.w()) << l.name();
  EXPECT_LT(std::max(pt, pb), kh) << l.name();
  EXPECT_LT(std::max(pl, pr), kw) << l.name();
  const int cin = in.c;
  for (int oy = 0; oy < out.h(); ++oy) {
    for (int ox = 0; ox < out.w(); ++ox) {
      for (int co = 0; co < o.c; ++co) {
        int64_t acc = co % 5;  // a bias
        for (int ky = 0; ky < kh; ++ky) {
          for (int kx = 0; kx < kw; ++kx) {
            const int iy = oy * s + ky - pt, ix = ox * s + kx - pl;
            if (iy < 0 || iy >= hin || ix < 0 || ix >= win) continue;  // zero padding
            const int32_t* px = &in.v[(iy * win + ix) * cin];
            if (l.op == &op("depthwise")) {
              acc += int64_t{px[co]} * w[(ky * kw + kx) * o.c + co];
            } else {
              for (int ci = 0; ci < cin; ++ci) {
                acc += int64_t{px[ci]} * w[((co * kh + ky) * kw + kx) * cin + ci];
              }
            }
          }
        }
        o.v[(oy * out.w() + ox) * o.c + co] = squash(acc);
      }
    }
  }
  return o;
}

// Layer by layer over the patch stage, then patch by patch per the plan; every per-patch tensor
// must equal the matching region of the full one.
void check_patch_execution(const NetGraph& g, const MemoryPlan& plan, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_TRUE(plan.patched);
  ASSERT_TRUE(plan.ok);
  const PatchPlan& pp = plan.patch;
  const int T = pp.stage_end + 1;
  const Weights wts(g);
  std::vector<Tensor> full(T);
  std::mt19937 rng(5);
  const Shape& is = g.tensors[0].shape;
  full[0].r = {0, 0, is.h, is.w};
  full[0].c = is.c;
  full[0].v.resize(static_cast<std::size_t>(is.elements()));
  for (auto& x : full[0].v) x = static_cast<int32_t>(rng() % 256) - 128;
  for (int i = 0; i < pp.stage_end; ++i) {
    const Layer& l = g.layers[i];
    const Tensor& in = full[l.inputs[0]];
    const Tensor* in2 = l.op == &op("add") ? &full[l.inputs[1]] : nullptr;
    const Rect all{0, 0, l.out.h, l.out.w};
    // Layer by layer: the layer's top / left pads (ops/layer.h); the bottom / right pad is what
    // the window reaches (at most the layer's).
    const int pb = std::max(0, (l.out.h - 1) * l.stride + l.kh - l.pad_top - l.in.h);
    const int pr = std::max(0, (l.out.w - 1) * l.stride + l.kw - l.pad_left - l.in.w);
    EXPECT_LE(pb, l.pad_bottom) << l.name();
    EXPECT_LE(pr, l.pad_right) << l.name();
    full[l.output] = run_layer(l, wts.w[i], in, in2, all, all, l.pad_top, l.pad_left, pb, pr);
  }
  std::vector<bool> covered(static_cast<std::size_t>(full[pp.stage_output].r.h()) *
                                full[pp.stage_output].r.w(),
                            false);
  for (int q = 0; q < pp.num_patches(); ++q) {
    std::vector<Tensor> loc(T);
    // 1. Crop the image region.
    const Rect& cr = pp.region(q, 0);
    loc[0].r = cr;
    loc[0].c = is.c;
    for (int y = cr.y0; y < cr.y1; ++y)
      for (int x = cr.x0; x < cr.x1; ++x)
        for (int ch = 0; ch < is.c; ++ch) loc[0].v.push_back(full[0].at(y, x, ch));
    EXPECT_LE(static_cast<int64_t>(loc[0].v.size()), pp.crop.size);
    // 2. The layers.
    for (int i = 0; i < pp.stage_end; ++i) {
      const Layer& l = g.layers[i];
      const PatchStep& s = pp.step(q, i);
      EXPECT_EQ(s.out, pp.region(q, l.output)) << l.name();
      EXPECT_EQ(s.in[0], loc[l.inputs[0]].r) << l.name() << ": a conv reads its whole input";
      const Tensor* in2 = nullptr;
      if (l.op == &op("add")) {
        in2 = &loc[l.inputs[1]];
        const Rect& rd = s.in[1];
        EXPECT_TRUE(rd.y0 >= in2->r.y0 && rd.y1 <= in2->r.y1 && rd.x0 >= in2->r.x0 &&
                    rd.x1 <= in2->r.x1);
      }
      loc[l.output] = run_layer(l, wts.w[i], loc[l.inputs[0]], in2, s.in[1], s.out, s.pad_top,
                                s.pad_left, s.pad_bottom, s.pad_right);
      // Fits its per-patch buffer.
      const int64_t bytes = static_cast<int64_t>(s.out.h()) * s.out.w() * l.out.c;
      EXPECT_LE(bytes, l.output == pp.stage_output ? pp.tile.size : plan.tensors[l.output].size);
      // Equals the layer-by-layer tensor on its region.
      const Tensor& f = full[l.output];
      const Tensor& o = loc[l.output];
      int bad = 0;
      for (int y = o.r.y0; y < o.r.y1 && bad == 0; ++y)
        for (int x = o.r.x0; x < o.r.x1 && bad == 0; ++x)
          for (int ch = 0; ch < o.c; ++ch) bad += o.at(y, x, ch) != f.at(y, x, ch);
      EXPECT_EQ(bad, 0) << "patch " << q << " layer " << i << " (" << l.name() << ")";
      if (bad) return;
    }
    // 3. The tile goes into the full output.
    const Rect& tile = pp.region(q, pp.stage_output);
    for (int y = tile.y0; y < tile.y1; ++y)
      for (int x = tile.x0; x < tile.x1; ++x) {
        const std::size_t idx = static_cast<std::size_t>(y) * full[pp.stage_output].r.w() + x;
        EXPECT_FALSE(covered[idx]) << "tiles overlap";
        covered[idx] = true;
      }
  }
  for (bool c : covered) ASSERT_TRUE(c) << "tiles leave a gap";
}

TEST(PatchExecution, SmallGraphMatchesLayerByLayer) {
  for (int p : {2, 4}) {
    const NetGraph g = small_patch_graph(p, 1);
    check_patch_execution(g, plan_memory(g), "small p" + std::to_string(p));
  }
}

TEST(PatchExecution, SampledSubnetsMatchLayerByLayer) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  ArchSampler sampler(space, 21);
  MemoryPlanner planner;
  MemoryPlan plan;
  NetGraph g;
  for (int n = 0; n < 60; ++n) {
    ArchSpec a = sampler.sample();
    a.patch = sampler.sample_patch(a);
    if (!a.patch.enabled()) a.patch = {2, 1 + n % 4};
    lower(space, a, &g);
    planner.plan(g, PlanOptions{}, &plan);
    check_patch_execution(g, plan, a.to_string());
    if (HasFailure()) break;
  }
}

// Non-square even kernels in the patch stage: DS-CNN's 10x4 stride-2 stem with TF SAME pads
// (4, 1, 5, 1) on 49 x 10, and a 4x2 stride-2 stem on 49 x 9 (pads 1, 0, 2, 1: asymmetric on
// both axes); patch counts 2-4, every split.
TEST(PatchExecution, EvenNonSquareStemsMatchLayerByLayer) {
  struct Case {
    std::string kernel, input;
  };
  int runs = 0;
  for (const Case& c : {Case{"[10, 4]", "[49, 10]"}, Case{"[4, 2]", "[49, 9]"}}) {
    const std::string kernel = c.kernel;
    const SearchSpace s = space_from_yaml(
        "name: kws\ninput_channels: 1\ninput_size: " + c.input + "\nnum_classes: 12\n"
        "stem: {channels: 16, kernel: " + kernel + ", stride: 2}\n"
        "stages:\n  - {channels: 16, stride: 1, block: separable, depths: [3], expand_ratios: [1]}\n"
        "  - {channels: 24, stride: 2, depths: [2]}\n"
        "kernel_sizes: [3, 5]\nexpand_ratios: [2]\ndepths: [1]\nwidth_multipliers: [1.0]\n"
        "resolutions: [49]\npatch: {patches: [1, 2, 3, 4], max_split: 5}\n");
    for (int p : {2, 3, 4}) {
      for (int split = 1; split <= 5; ++split) {
        ArchSpec a = ArchSpec::largest(s);
        a.stages[0][1].kernel = 5;
        a.patch = {p, split};
        const NetGraph g = lower(s, a);
        const MemoryPlan plan = plan_memory(g);
        if (!plan.ok) continue;  // too few rows or columns for p bands
        check_patch_execution(g, plan, "stem " + kernel + " " + a.to_string());
        if (HasFailure()) return;
        ++runs;
      }
    }
  }
  EXPECT_GE(runs, 20);
  // The 4x2 stem's layer-by-layer pads, and the first patch's: top and left as the layer's, none
  // at the bottom / right (the image continues there).
  const SearchSpace s = space_from_yaml(
      "name: kws\ninput_channels: 1\ninput_size: [49, 9]\nnum_classes: 12\n"
      "stem: {channels: 16, kernel: [4, 2], stride: 2}\n"
      "stages:\n  - {channels: 16, stride: 1, block: separable, depths: [1], expand_ratios: [1]}\n"
      "kernel_sizes: [3]\nexpand_ratios: [1]\ndepths: [1]\nwidth_multipliers: [1.0]\n"
      "resolutions: [49]\npatch: {patches: [1, 2], max_split: 1}\n");
  ArchSpec a = ArchSpec::largest(s);
  a.patch = {2, 1};
  const NetGraph g = lower(s, a);
  const Layer& stem = g.layers.front();
  EXPECT_EQ((std::vector<int>{stem.pad_top, stem.pad_left, stem.pad_bottom, stem.pad_right}),
            (std::vector<int>{1, 0, 2, 1}));
  const MemoryPlan plan = plan_memory(g);
  ASSERT_TRUE(plan.ok);
  const PatchStep first = plan.patch.step(0, 0), last = plan.patch.step(3, 0);
  EXPECT_EQ((std::vector<int>{first.pad_top, first.pad_left, first.pad_bottom, first.pad_right}),
            (std::vector<int>{1, 0, 0, 0}));
  EXPECT_EQ((std::vector<int>{last.pad_top, last.pad_left, last.pad_bottom, last.pad_right}),
            (std::vector<int>{0, 0, 2, 1}));
}

TEST(PatchExecution, MobileNetV2WithFourByFourPatches) {
  const SearchSpace none;
  const LoadedArch a = load_arch_file(kRoot + "/configs/archs/mbv2-w1.0-r224-p4.yaml", none);
  const NetGraph g = lower(a.space, a.arch);
  check_patch_execution(g, plan_memory(g), "mbv2 p4");
}

}  // namespace
}  // namespace tinynas
