// The memory planner's scratch bytes per layer (layer_scratch_bytes) against the runtime's own
// tn_<kernel>_scratch_bytes for every op kind and many shapes; and each kernel run on a scratch
// buffer of exactly that size followed by guard bytes that must stay untouched. Linked with the
// DSP-emulation runtime: its SMLAD path is the one that uses the scratch (the portable path uses
// less: none for conv and pointwise, an unpadded plane for depthwise), and it is the path the
// Arm build runs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "estimators/memory_plan.h"
#include "runtime/tn_runtime.h"
extern "C" {
#include "runtime/host/tn_mfcc_tables.h"
}
#include "search_spaces/arch_sampler.h"
#include "search_spaces/net_graph.h"
#include "search_spaces/search_space.h"

namespace tinynas {
namespace {

const std::string kRoot = TINYNAS_SOURCE_DIR;

struct Pads {
  int top, left, bottom, right;
};

// The runtime call's parameters for a layer of `kind` on an h x w x c_in input (geometry only;
// the requantisation arrays are set by the caller when the kernel is run).
tn_conv_params_t conv_params(const std::string& kind, int kh, int kw, int stride, int h, int w, int c_in,
                             int c_out, Pads p) {
  tn_conv_params_t q{};
  q.h_in = h;
  q.w_in = w;
  q.c_in = c_in;
  q.c_out = kind == "depthwise" ? c_in : c_out;
  q.kh = kh;
  q.kw = kw;
  q.stride_h = q.stride_w = stride;
  q.pad_top = p.top;
  q.pad_left = p.left;
  q.pad_bottom = p.bottom;
  q.pad_right = p.right;
  q.h_out = (h + p.top + p.bottom - kh) / stride + 1;
  q.w_out = (w + p.left + p.right - kw) / stride + 1;
  q.act_min = -128;
  q.act_max = 127;
  return q;
}

// MLPerf Tiny's MFCC tables (the keyword-spotting front end).
const tn_mfcc_tables_t& kws_mfcc() {
  static const tn_mfcc_tables_t t = [] {
    tn_mfcc_tables_t out{};
    const tn_mfcc_config_t cfg = tn_mfcc_config_kws();
    if (tn_mfcc_tables_build(&cfg, &out) != 0) ADD_FAILURE() << "no MFCC tables";
    return out;
  }();
  return t;
}

// MLPerf Tiny's anomaly-detection log-mel tables (the logmel front end).
const tn_mfcc_tables_t& ad_logmel() {
  static const tn_mfcc_tables_t t = [] {
    tn_mfcc_tables_t out{};
    const tn_mfcc_config_t cfg = tn_mfcc_config_logmel_ad();
    if (tn_mfcc_tables_build(&cfg, &out) != 0) ADD_FAILURE() << "no log-mel tables";
    return out;
  }();
  return t;
}

// What the runtime says a call of layer kind `kind` needs.
// (A new operator kind adds its runtime call here; a kind missing here fails the tests below.)
int64_t runtime_scratch_bytes(const std::string& kind, const tn_conv_params_t& p) {
  if (kind == "conv") return static_cast<int64_t>(tn_conv2d_s8_scratch_bytes(&p));
  if (kind == "pointwise") return static_cast<int64_t>(tn_pointwise_s8_scratch_bytes(&p));
  if (kind == "depthwise") return static_cast<int64_t>(tn_depthwise_s8_scratch_bytes(&p));
  if (kind == "add") {
    const tn_add_params_t a{};
    return static_cast<int64_t>(tn_add_s8_scratch_bytes(&a, p.h_in * p.w_in * p.c_in));
  }
  if (kind == "avgpool") {
    return static_cast<int64_t>(tn_avgpool_global_s8_scratch_bytes(p.h_in, p.w_in, p.c_in));
  }
  if (kind == "softmax") return static_cast<int64_t>(tn_softmax_s8_scratch_bytes(p.h_in * p.w_in, p.c_in));
  if (kind == "mfcc") return static_cast<int64_t>(tn_mfcc_s8_scratch_bytes(&kws_mfcc().params));
  if (kind == "logmel") return static_cast<int64_t>(tn_mfcc_s8_scratch_bytes(&ad_logmel().params));
  if (kind == "mse") {
    const tn_mse_params_t m{0, 0, 1 << 30, 1};
    return static_cast<int64_t>(tn_mse_s8_scratch_bytes(&m, p.h_in * p.w_in * p.c_in));
  }
  if (kind == "upsample") {  // the factor is the layer's stride
    const tn_upsample_params_t u{p.h_in, p.w_in, p.c_in, p.stride_h};
    return static_cast<int64_t>(tn_upsample_s8_scratch_bytes(&u));
  }
  if (kind == "fc") {
    tn_fc_params_t f{};
    f.in_features = p.c_in;
    f.out_features = p.c_out;
    return static_cast<int64_t>(tn_fully_connected_s8_scratch_bytes(&f));
  }
  ADD_FAILURE() << "no runtime scratch function listed for op kind '" << kind << "'";
  return -1;
}

const std::vector<int> kSizes = {1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 28, 31, 32};
const std::vector<int> kChannels = {1,  2,  3,  4,  5,  7,   8,   12,  15,  16,  17,  24, 31,
                                    32, 33, 48, 64, 96, 100, 127, 128, 160, 255, 256, 300};
// Kernels (kh, kw): square odd ones and non-square even ones (TF SAME, asymmetric pads).
const std::vector<std::pair<int, int>> kWindows = {{1, 1}, {3, 3}, {5, 5}, {7, 7},
                                                   {2, 4}, {4, 2}, {10, 4}};

// The layer's pads on an h x w input (ops/layer.h's rule).
Pads layer_pads(int kh, int kw, int stride, int h, int w) {
  const AxisPadding ph = same_padding(h, kh, stride), pw = same_padding(w, kw, stride);
  return {ph.before, pw.before, ph.after, pw.after};
}

TEST(ScratchBytes, PlannerEqualsRuntimeForEveryKindAndManyShapes) {
  int64_t cases = 0;
  for (const OpDescriptor* d : all_ops()) {
    const std::string kind = d->name();
    for (const auto& [kh, kw] : kWindows) {
      if (kind == "pointwise" && kh * kw != 1) continue;
      for (int stride : {1, 2}) {
        for (int h : kSizes) {
          for (int w : kSizes) {
            for (int c : kChannels) {
              const Pads pads = layer_pads(kh, kw, stride, h, w);
              if (h + pads.top + pads.bottom < kh || w + pads.left + pads.right < kw) continue;
              const tn_conv_params_t p = conv_params(kind, kh, kw, stride, h, w, c, 10, pads);
              ASSERT_EQ(layer_scratch_bytes(*d, kh, kw, h, w, c), runtime_scratch_bytes(kind, p))
                  << kind << " k" << kh << "x" << kw << " s" << stride << " " << h << "x" << w
                  << "x" << c;
              ++cases;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(cases, 30000);
}

// Every layer of sampled subnets of the shipped spaces, as the planner sees it.
TEST(ScratchBytes, PlannerEqualsRuntimeOnSampledSubnets) {
  std::vector<bool> seen(num_ops());
  for (const char* file : {"/configs/spaces/fmnist-mbv2.yaml", "/configs/spaces/fmnist-mbv2-rf.yaml",
                           "/configs/spaces/kws.yaml", "/configs/spaces/ae-machine.yaml"}) {
    const SearchSpace space = SearchSpace::load(kRoot + file);
    ArchSampler sampler(space, 3);
    for (int n = 0; n < 50; ++n) {
      const NetGraph g = lower(space, sampler.sample());
      for (const Layer& l : g.layers) {
        seen[l.op->id()] = true;
        const tn_conv_params_t p =
            conv_params(l.op->name(), l.kh, l.kw, l.stride, l.in.h, l.in.w, l.in.c, l.out.c,
                        {l.pad_top, l.pad_left, l.pad_bottom, l.pad_right});
        if (l.op->patch_rule() == PatchRule::Spatial) {
          ASSERT_EQ(p.h_out, l.out.h) << l.name();
          ASSERT_EQ(p.w_out, l.out.w) << l.name();
        }
        ASSERT_EQ(layer_scratch_bytes(l), runtime_scratch_bytes(l.op->name(), p)) << file << " " << l.name();
      }
    }
  }
  // Softmax comes only with imported .tflite models (nas/export/tflite_*.cpp), and upsample only
  // with a convolutional autoencoder space (not among those above; ae-machine is dense: logmel,
  // fc, mse); the test above covers them.
  for (const OpDescriptor* d : all_ops()) {
    if (std::string(d->name()) == "softmax" || std::string(d->name()) == "mse" ||
        std::string(d->name()) == "upsample") {
      continue;
    }
    EXPECT_TRUE(seen[d->id()]) << "no shipped space has " << d->name();
  }
}

// DS-CNN (configs/spaces/kws-dscnn.yaml): its 10x4 stem with asymmetric pads and its separable
// blocks, as the planner sees them.
TEST(ScratchBytes, PlannerEqualsRuntimeOnDsCnn) {
  const SearchSpace space = [] {  // the network alone, on its 49 x 10 features (the MFCC front end: Export.FrontEnd*)
    SearchSpace s = SearchSpace::load(kRoot + "/configs/spaces/kws-dscnn.yaml");
    s.front_end = {};
    return s;
  }();
  const NetGraph g = lower(space, ArchSpec::largest(space));
  for (const Layer& l : g.layers) {
    const tn_conv_params_t p = conv_params(l.op->name(), l.kh, l.kw, l.stride, l.in.h, l.in.w, l.in.c,
                                           l.out.c, {l.pad_top, l.pad_left, l.pad_bottom, l.pad_right});
    if (l.op->patch_rule() == PatchRule::Spatial) {
      ASSERT_EQ(p.h_out, l.out.h) << l.name();
      ASSERT_EQ(p.w_out, l.out.w) << l.name();
    }
    ASSERT_EQ(layer_scratch_bytes(l), runtime_scratch_bytes(l.op->name(), p)) << l.name();
  }
  EXPECT_EQ(layer_scratch_bytes(g.layers.front()), 2 * 10 * 4 * 1 * 2);
}

// A scratch buffer of exactly `bytes`, 8-byte aligned, followed by random guard bytes.
class GuardedScratch {
 public:
  GuardedScratch(int64_t bytes, std::mt19937& rng) : bytes_(bytes), store_((bytes + kGuard) / 8 + 1) {
    guard_.resize(kGuard);
    for (auto& b : guard_) b = static_cast<uint8_t>(rng());
    std::memcpy(data() + bytes_, guard_.data(), kGuard);
  }
  uint8_t* data() { return reinterpret_cast<uint8_t*>(store_.data()); }
  bool guard_intact() const {
    return std::memcmp(reinterpret_cast<const uint8_t*>(store_.data()) + bytes_, guard_.data(), kGuard) == 0;
  }

 private:
  static constexpr int kGuard = 64;
  int64_t bytes_;
  std::vector<uint64_t> store_;
  std::vector<uint8_t> guard_;
};

// Runs conv / pointwise / depthwise on random data with random requantisation (fast and generic
// paths, large biases that keep the doubled kernels off) and pads as layer by layer (the padding
// rule: k/2 every side for odd kernels, TF SAME for even ones) or as a patch at an image corner
// (the layer's pads on two sides, 0 on the others).
TEST(ScratchBytes, KernelsStayInsideThePlannedScratch) {
  std::mt19937 rng(2024);
  auto pick = [&](const std::vector<int>& v) { return v[rng() % v.size()]; };
  std::uniform_int_distribution<int> byte(-128, 127);
  int runs = 0;
  for (int n = 0; n < 1500; ++n) {
    const std::string kind = std::vector<std::string>{"conv", "pointwise", "depthwise"}[rng() % 3];
    const auto [kh, kw] = kind == "pointwise" ? std::pair<int, int>{1, 1} : kWindows[rng() % kWindows.size()];
    const int stride = pick({1, 2});
    const int h = pick(kSizes) % 17 + 1, w = pick(kSizes) % 17 + 1;
    const int c_in = kind == "conv" && kh * kw >= 25 ? pick({1, 2, 3, 8, 17, 64, 300}) : pick(kChannels);
    const int c_out = kind == "depthwise" ? c_in : 1 + static_cast<int>(rng() % 9);
    const Pads lp = layer_pads(kh, kw, stride, h, w);
    Pads pads = lp;
    if (rng() % 3 == 0) pads = rng() % 2 ? Pads{lp.top, lp.left, 0, 0} : Pads{0, 0, lp.bottom, lp.right};
    if (h + pads.top + pads.bottom < kh || w + pads.left + pads.right < kw) continue;
    tn_conv_params_t p = conv_params(kind, kh, kw, stride, h, w, c_in, c_out, pads);
    p.input_zero_point = byte(rng);
    p.output_zero_point = byte(rng);
    std::vector<int32_t> mult(c_out), shift(c_out), bias(c_out);
    const bool big_bias = rng() % 4 == 0;
    for (int o = 0; o < c_out; ++o) {
      mult[o] = (1 << 30) + static_cast<int32_t>(rng() % (1u << 30));
      shift[o] = rng() % 5 == 0 ? 1 : -2 - static_cast<int32_t>(rng() % 12);
      bias[o] = big_bias ? (1 << 29) + static_cast<int32_t>(rng() % 1000) : static_cast<int32_t>(rng() % 2001) - 1000;
    }
    p.out_multiplier = mult.data();
    p.out_shift = shift.data();
    const int64_t planned = layer_scratch_bytes(op(kind), kh, kw, h, w, c_in);
    ASSERT_EQ(planned, runtime_scratch_bytes(kind, p));
    const std::size_t taps = kind == "depthwise" ? static_cast<std::size_t>(kh) * kw * c_in
                                                       : static_cast<std::size_t>(c_out) * kh * kw * c_in;
    std::vector<int8_t> in(static_cast<std::size_t>(h) * w * c_in), weights(taps),
        out(static_cast<std::size_t>(p.h_out) * p.w_out * c_out);
    for (auto& v : in) v = static_cast<int8_t>(byte(rng));
    for (auto& v : weights) v = static_cast<int8_t>(byte(rng) | 1);
    GuardedScratch scratch(planned, rng);
    int rc = TN_ERR_ARG;
    if (kind == "conv") {
      rc = tn_conv2d_s8(&p, in.data(), weights.data(), bias.data(), out.data(),
                        reinterpret_cast<int16_t*>(scratch.data()));
    } else if (kind == "pointwise") {
      rc = tn_pointwise_s8(&p, in.data(), weights.data(), bias.data(), out.data(),
                           reinterpret_cast<int16_t*>(scratch.data()));
    } else {
      rc = tn_depthwise_s8(&p, in.data(), weights.data(), bias.data(), out.data(),
                           reinterpret_cast<int8_t*>(scratch.data()));
    }
    const std::string what = kind + " k" + std::to_string(kh) + "x" + std::to_string(kw) + " s" +
                             std::to_string(stride) + " " + std::to_string(h) + "x" + std::to_string(w) +
                             "x" + std::to_string(c_in) + " pads " + std::to_string(pads.top) +
                             std::to_string(pads.left) + std::to_string(pads.bottom) + std::to_string(pads.right);
    ASSERT_EQ(rc, TN_OK) << what;
    ASSERT_TRUE(scratch.guard_intact()) << what << ": wrote past its " << planned << " scratch bytes";
    ++runs;
  }
  EXPECT_GT(runs, 1000);
}

// ADD, global average pool, FC and the reconstruction error (mse) need no scratch: the planner
// gives none, the runtime asks none, and the kernels run without one.
TEST(ScratchBytes, ElementwisePoolAndFcNeedNone) {
  for (int c : {1, 10, 300}) {
    EXPECT_EQ(layer_scratch_bytes(op("add"), 1, 1, 7, 5, c), 0);
    EXPECT_EQ(layer_scratch_bytes(op("avgpool"), 1, 1, 7, 5, c), 0);
    EXPECT_EQ(layer_scratch_bytes(op("fc"), 1, 1, 1, 1, c), 0);
    EXPECT_EQ(layer_scratch_bytes(op("mse"), 1, 1, 1, 1, c), 0);
  }
  {
    const std::vector<int8_t> r(640, 5), x(640, -3);
    const tn_mse_params_t m{1, 2, 1 << 30, 1};
    int32_t score = 0;
    EXPECT_EQ(tn_mse_s8_scratch_bytes(&m, 640), 0u);
    EXPECT_EQ(tn_mse_s8(&m, r.data(), x.data(), 640, &score), TN_OK);
    EXPECT_EQ(score, 640 * 9 * 9);  // (5 - 1) - (-3 - 2)
  }
  std::vector<int8_t> a(7 * 5 * 3, 3), b(7 * 5 * 3, -2), out(7 * 5 * 3);
  tn_add_params_t add{};
  ASSERT_EQ(tn_add_params_from_scales(0.1, 0, 0.2, 1, 0.25, -3, -128, 127, &add), TN_OK);
  EXPECT_EQ(tn_add_s8_scratch_bytes(&add, 105), 0u);
  EXPECT_EQ(tn_add_s8(&add, a.data(), b.data(), out.data(), 105), TN_OK);
  EXPECT_EQ(tn_avgpool_global_s8_scratch_bytes(7, 5, 3), 0u);
  EXPECT_EQ(tn_avgpool_global_s8(a.data(), 7, 5, 3, -128, 127, out.data()), TN_OK);
  const int32_t m = 1 << 30, s = -4;
  tn_fc_params_t fc{};
  fc.in_features = 3;
  fc.out_features = 2;
  fc.act_min = -128;
  fc.act_max = 127;
  fc.out_multiplier = &m;
  fc.out_shift = &s;
  EXPECT_EQ(tn_fully_connected_s8_scratch_bytes(&fc), 0u);
  EXPECT_EQ(tn_fully_connected_s8(&fc, a.data(), b.data(), nullptr, out.data()), TN_OK);
  {
    const tn_upsample_params_t u{7, 5, 3, 2};
    std::vector<int8_t> big(14 * 10 * 3);
    EXPECT_EQ(layer_scratch_bytes(op("upsample"), 1, 1, 7, 5, 3), 0);
    EXPECT_EQ(tn_upsample_s8_scratch_bytes(&u), 0u);
    EXPECT_EQ(tn_upsample_s8(&u, a.data(), big.data()), TN_OK);
  }
  EXPECT_EQ(tn_conv2d_s8_scratch_bytes(nullptr), 0u);
  EXPECT_EQ(tn_depthwise_s8_scratch_bytes(nullptr), 0u);
}

// The front ends (MFCC, log-mel) on a loud chirp and on silence, in exactly the planned scratch.
TEST(ScratchBytes, FrontEndStaysInsideThePlannedScratch) {
  std::mt19937 rng(5);
  for (const char* kind : {"mfcc", "logmel"}) {
    const tn_mfcc_params_t& p = std::string(kind) == "mfcc" ? kws_mfcc().params : ad_logmel().params;
    const int64_t planned = layer_scratch_bytes(op(kind), 1, 1, 1, 16000, 1);
    ASSERT_EQ(planned, static_cast<int64_t>(tn_mfcc_s8_scratch_bytes(&p))) << kind;
    for (double amplitude : {0.0, 100.0, 32000.0}) {
      std::vector<int16_t> pcm(16000);
      for (int i = 0; i < 16000; ++i) {
        const double t = i / 16000.0;
        pcm[i] = static_cast<int16_t>(std::lround(amplitude * std::sin(2 * M_PI * (100 + 3000 * t) * t)));
      }
      std::vector<int8_t> out(static_cast<std::size_t>(tn_mfcc_num_frames(&p, 16000)) * p.num_out);
      GuardedScratch scratch(planned, rng);
      ASSERT_EQ(tn_mfcc_s8(&p, pcm.data(), 16000, out.data(), scratch.data()), TN_OK);
      EXPECT_TRUE(scratch.guard_intact()) << kind << " amplitude " << amplitude;
    }
  }
}

}  // namespace
}  // namespace tinynas
