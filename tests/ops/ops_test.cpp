// Every registered operator kind (ops/kinds/), checked through its descriptor alone: a unique
// name the registry finds, a shape rule whose costs agree with its weight and latency features,
// and numerics whose int8 reference follows its float reference within the quantisation error.
#include "ops/op.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>

namespace tinynas {
namespace {

TEST(Ops, RegistryNamesAreUniqueAndFound) {
  std::set<std::string> names;
  for (const OpDescriptor* d : all_ops()) {
    EXPECT_TRUE(names.insert(d->name()).second) << d->name();
    EXPECT_EQ(find_op(d->name()), d);
    EXPECT_EQ(all_ops()[d->id()], d);
  }
  EXPECT_EQ(find_op("no-such-op"), nullptr);
  EXPECT_THROW(op("no-such-op"), std::invalid_argument);
  // The kinds the MobileNetV2-style spaces lower to.
  for (const char* n : {"conv", "pointwise", "depthwise", "add", "avgpool", "fc"}) {
    EXPECT_NE(find_op(n), nullptr) << n;
  }
}

// A one-layer network of kind `d` on an h x w x c input (a front end: on 1 s of 16 kHz samples)
// with a kh x kw window (1 x 1 for the kinds that have none, and for pointwise) padded by the rule
// of ops/layer.h.
Layer one_layer(const OpDescriptor& d, int h, int w, int c, int kh, int kw, int stride, int out_c) {
  Layer l;
  l.op = &d;
  l.in = d.is_front_end() ? Shape{1, 16000, 1} : Shape{h, w, c};
  l.out_scale = 0.6f;  // a front end's fixed output quantisation (others ignore it)
  l.out_zero_point = 83;
  const bool window = d.patch_rule() == PatchRule::Spatial && &d != &op("pointwise");
  l.set_window(window ? kh : 1, window ? kw : 1, d.patch_rule() == PatchRule::Spatial ? stride : 1);
  l.inputs[0] = 0;
  if (d.num_inputs() == 2) l.inputs[1] = 1;
  // Both inputs of a two-input kind have the input's shape here; mse reads the second one's
  // element count from out_channels (add ignores it).
  d.infer(&l, d.num_inputs() == 2 ? static_cast<int>(l.in.elements()) : out_c);
  return l;
}

TEST(Ops, ShapeRuleCostsAgreeWithWeightsAndLatencyFeatures) {
  for (const OpDescriptor* d : all_ops()) {
    SCOPED_TRACE(d->name());
    // Square odd kernels and non-square even ones (TF SAME padding, asymmetric).
    for (const auto& [kh, kw] : std::vector<std::pair<int, int>>{{1, 1}, {3, 3}, {5, 5}, {4, 2}, {10, 4}}) {
      for (int stride : {1, 2}) {
        const Layer l = one_layer(*d, 11, 7, 6, kh, kw, stride, 9);
        EXPECT_GT(l.out.elements(), 0);
        EXPECT_GE(l.macs, 0);
        EXPECT_GE(d->scratch_bytes(l.kh, l.kw, l.in.h, l.in.w, l.in.c), 0);
        EXPECT_EQ(d->has_weights(), l.weights > 0);
        // The profile's weight bytes (latency fit) are the layer's int8 weights.
        // (A Global kind reads its whole input: fc's c_in is the flattened h x w x c.)
        const int c_in = d->patch_rule() == PatchRule::Global ? static_cast<int>(l.in.elements()) : l.in.c;
        EXPECT_EQ(d->weight_bytes(l.kh, l.kw, c_in, l.out.c), l.weights);
        if (d->patch_rule() == PatchRule::Spatial) {
          // k/2 padding of odd kernels and SAME padding alike: out = ceil(in / stride).
          EXPECT_EQ(l.out.h, (l.in.h + stride - 1) / stride);
          EXPECT_EQ(l.out.w, (l.in.w + stride - 1) / stride);
          EXPECT_EQ(l.macs, int64_t{l.out.h} * l.out.w * l.weights);
        }
        if (d->patch_rule() == PatchRule::Elementwise) {
          EXPECT_EQ(l.out, l.in);
        }
        EXPECT_EQ(l.in_element_bytes, d->input_element_bytes());
      }
    }
    int used = 0;
    for (int f = 0; f < kNumLatencyFeatures; ++f) used += d->latency_feature_used(f);
    EXPECT_GE(used, 1);
    EXPECT_GT(d->default_code_per_layer(), 0);
    EXPECT_GT(d->default_kernel_code(), 0);
  }
}

// The padding rule by hand (ops/layer.h): odd kernels keep k/2 on both sides whatever the
// stride; even kernels pad as TensorFlow's SAME, the extra pad at the bottom / right.
TEST(Ops, EvenKernelsPadAsTensorFlowSame) {
  EXPECT_EQ(same_padding(32, 3, 2).before, 1);
  EXPECT_EQ(same_padding(32, 3, 2).after, 1);
  EXPECT_EQ(conv_out_size(32, 3, 2), 16);
  EXPECT_EQ(conv_out_size(28, 7, 1), 28);
  // DS-CNN's stem on a 49 x 10 MFCC map: 10 x 4, stride 2 -> 25 x 5, pads (4, 1, 5, 1).
  EXPECT_EQ(same_padding(49, 10, 2).before, 4);
  EXPECT_EQ(same_padding(49, 10, 2).after, 5);
  EXPECT_EQ(same_padding(10, 4, 2).before, 1);
  EXPECT_EQ(same_padding(10, 4, 2).after, 1);
  EXPECT_EQ(conv_out_size(49, 10, 2), 25);
  EXPECT_EQ(conv_out_size(10, 4, 2), 5);
  EXPECT_EQ(same_padding(7, 2, 1).before, 0);  // total 1: at the bottom
  EXPECT_EQ(same_padding(7, 2, 1).after, 1);
  EXPECT_EQ(same_padding(10, 2, 4).before + same_padding(10, 2, 4).after, 0);  // k < stride
  EXPECT_EQ(conv_out_size(10, 2, 4), 3);

  // All-ones input and weights: each output counts the taps inside the input, so a pad on the
  // wrong side shows. 7 x 5 input, 4 x 2 kernel, stride 2: pads top 1, left 0, bottom 2, right 1.
  for (const char* kind : {"conv", "depthwise"}) {
    SCOPED_TRACE(kind);
    const Layer l = one_layer(op(kind), 7, 5, 1, 4, 2, 2, 1);
    EXPECT_EQ(l.pad_top, 1);
    EXPECT_EQ(l.pad_left, 0);
    EXPECT_EQ(l.pad_bottom, 2);
    EXPECT_EQ(l.pad_right, 1);
    ASSERT_EQ(l.out, (Shape{4, 3, 1}));
    FloatLayer f{std::vector<float>(8, 1.0f), {0.0f}};
    const std::vector<float> x(35, 1.0f);
    std::vector<float> y(12);
    const float* const in[2] = {x.data(), nullptr};
    op(kind).run_float(l, f, in, y.data());
    // Rows read by output row oy: 2*oy - 1 .. 2*oy + 2 inside [0, 7); columns 2*ox .. 2*ox + 1
    // inside [0, 5).
    const std::vector<float> want = {3 * 2, 3 * 2, 3 * 1, 4 * 2, 4 * 2, 4 * 1,
                                     4 * 2, 4 * 2, 4 * 1, 2 * 2, 2 * 2, 2 * 1};
    EXPECT_EQ(y, want);
  }
}

QuantParams range_params(const std::vector<float>& v) {
  float lo = 0, hi = 0;
  for (float x : v) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  QuantParams q;
  q.scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
  q.zero_point = static_cast<int32_t>(std::clamp<long>(std::lround(-128.0 - lo / q.scale), -128, 127));
  return q;
}

TEST(Ops, Int8ReferenceFollowsTheFloatReference) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  struct Window {
    int kh, kw, stride;
  };
  // Square odd kernels (symmetric k/2 pads) and non-square even ones, whose TF SAME pads on a
  // 7 x 5 input are asymmetric: 4x2 s2 pads (1, 0, 2, 1), 2x4 s1 pads (0, 1, 1, 2).
  for (const OpDescriptor* d : all_ops()) {
    if (d->is_front_end()) continue;  // FrontEndsFloatIsTheirInt8Dequantised
    for (const Window& win : {Window{1, 1, 1}, Window{3, 3, 1}, Window{4, 2, 2}, Window{2, 4, 1}}) {
      SCOPED_TRACE(std::string(d->name()) + " k" + std::to_string(win.kh) + "x" +
                   std::to_string(win.kw) + " s" + std::to_string(win.stride));
      const Layer l = one_layer(*d, 7, 5, 8, win.kh, win.kw, win.stride, 4);
      if (d->patch_rule() == PatchRule::Spatial && d != &op("pointwise") && win.kh % 2 == 0) {
        EXPECT_FALSE(l.symmetric_padding());
      }
      FloatLayer f;
      f.weight.resize(static_cast<std::size_t>(l.weights));
      f.bias.resize(static_cast<std::size_t>(l.biases));
      for (float& v : f.weight) v = 0.3f * u(rng);
      for (float& v : f.bias) v = 0.1f * u(rng);
      std::vector<float> x0(static_cast<std::size_t>(l.in.elements())), x1(x0.size());
      for (float& v : x0) v = u(rng);
      for (float& v : x1) v = u(rng);
      std::vector<float> y(static_cast<std::size_t>(l.out.elements()));
      const float* const fin[2] = {x0.data(), x1.data()};
      d->run_float(l, f, fin, y.data());

      const QuantParams qin[2] = {range_params(x0), range_params(x1)};
      QuantParams qout = range_params(y);
      Int8Layer q;
      d->quantize(l, f, qin, &qout, &q);
      // Outputs of output_element_bytes() each (an int32 score: 4, native order).
      const int ob = d->output_element_bytes();
      std::vector<int8_t> i0(x0.size()), i1(x1.size()), iy(y.size() * ob);
      for (std::size_t j = 0; j < x0.size(); ++j) {
        i0[j] = qin[0].quantize(x0[j]);
        i1[j] = qin[1].quantize(x1[j]);
      }
      const int8_t* const iin[2] = {i0.data(), i1.data()};
      d->run_int8(l, q, qin, qout, iin, iy.data());
      // Input rounding (half a step of each input through the weights) plus output rounding.
      double in_err = 0.5 * qin[0].scale;
      if (d->num_inputs() == 2) in_err += 0.5 * qin[1].scale;
      if (d->has_weights()) {
        double wsum = 0;
        for (float v : f.weight) wsum = std::max<double>(wsum, std::abs(v));
        in_err *= wsum * static_cast<double>(l.weights) / l.out.c;
      }
      const double tol = in_err + 1.5 * qout.scale + 1e-6;
      for (std::size_t j = 0; j < y.size(); ++j) {
        int32_t v = iy[j];
        if (ob == 4) std::memcpy(&v, iy.data() + 4 * j, 4);
        ASSERT_NEAR(qout.scale * (v - qout.zero_point), y[j], tol) << "output " << j;
      }
    }
  }
}

// A front end's float reference is its int8 output dequantised (what the network trains on), and
// its output quantisation is its own, whatever the calibration says; on a chirp its features vary.
TEST(Ops, FrontEndsFloatIsTheirInt8Dequantised) {
  int front_ends = 0;
  for (const OpDescriptor* d : all_ops()) {
    if (!d->is_front_end()) continue;
    SCOPED_TRACE(d->name());
    ++front_ends;
    const Layer l = one_layer(*d, 0, 0, 0, 1, 1, 1, 1);
    ASSERT_GT(l.out.elements(), 0);
    EXPECT_GT(l.const_bytes, 0);  // its tables, in flash
    EXPECT_EQ(l.weights, 0);
    std::vector<float> x(static_cast<std::size_t>(l.in.elements()));
    std::vector<int8_t> bytes(x.size() * 2);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double t = static_cast<double>(i) / 16000.0;
      x[i] = static_cast<float>(std::lround(8000.0 * std::sin(2 * M_PI * (200.0 + 1500.0 * t) * t)));
      const auto v = static_cast<uint16_t>(static_cast<int16_t>(x[i]));
      bytes[2 * i] = static_cast<int8_t>(v & 0xff);
      bytes[2 * i + 1] = static_cast<int8_t>(v >> 8);
    }
    std::vector<float> y(static_cast<std::size_t>(l.out.elements()));
    const float* const fin[2] = {x.data(), nullptr};
    d->run_float(l, FloatLayer{}, fin, y.data());
    const QuantParams qin[2] = {QuantParams{}, QuantParams{}};
    QuantParams qout{0.25f, -3};  // a calibrated guess the front end must replace
    Int8Layer q;
    d->quantize(l, FloatLayer{}, qin, &qout, &q);
    EXPECT_FLOAT_EQ(qout.scale, 0.6f);
    EXPECT_EQ(qout.zero_point, 83);
    std::vector<int8_t> iy(y.size());
    const int8_t* const iin[2] = {bytes.data(), nullptr};
    d->run_int8(l, q, qin, qout, iin, iy.data());
    std::set<int> distinct;
    for (std::size_t j = 0; j < y.size(); ++j) {
      ASSERT_EQ(qout.dequantize(iy[j]), y[j]) << "output " << j;
      distinct.insert(iy[j]);
    }
    EXPECT_GT(distinct.size(), 20u);
  }
  EXPECT_GE(front_ends, 1);
}

}  // namespace
}  // namespace tinynas
