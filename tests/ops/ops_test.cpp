// Every registered operator kind (ops/kinds/), checked through its descriptor alone: a unique
// name the registry finds, a shape rule whose costs agree with its weight and latency features,
// and numerics whose int8 reference follows its float reference within the quantisation error.
#include "ops/op.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

// A one-layer network of kind `d` on an h x w x c input (a front end: on 1 s of 16 kHz samples):
// its layer, and its inputs' shapes.
Layer one_layer(const OpDescriptor& d, int h, int w, int c, int kernel, int stride, int out_c) {
  Layer l;
  l.op = &d;
  l.in = d.is_front_end() ? Shape{1, 16000, 1} : Shape{h, w, c};
  l.out_scale = 0.6f;  // a front end's fixed output quantisation (others ignore it)
  l.out_zero_point = 83;
  l.kernel = d.patch_rule() == PatchRule::Spatial ? kernel : 1;
  l.stride = d.patch_rule() == PatchRule::Spatial ? stride : 1;
  l.pad = l.kernel / 2;
  l.inputs[0] = 0;
  if (d.num_inputs() == 2) l.inputs[1] = 1;
  d.infer(&l, out_c);
  return l;
}

TEST(Ops, ShapeRuleCostsAgreeWithWeightsAndLatencyFeatures) {
  for (const OpDescriptor* d : all_ops()) {
    SCOPED_TRACE(d->name());
    for (int k : {1, 3, 5}) {
      for (int stride : {1, 2}) {
        const Layer l = one_layer(*d, 11, 7, 6, k, stride, 9);
        EXPECT_GT(l.out.elements(), 0);
        EXPECT_GE(l.macs, 0);
        EXPECT_GE(d->scratch_bytes(l.kernel, l.in.h, l.in.w, l.in.c), 0);
        EXPECT_EQ(d->has_weights(), l.weights > 0);
        // The profile's weight bytes (latency fit) are the layer's int8 weights.
        EXPECT_EQ(d->weight_bytes(l.kernel, l.kernel, l.in.c, l.out.c), l.weights);
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
  for (const OpDescriptor* d : all_ops()) {
    if (d->is_front_end()) continue;  // FrontEndsFloatIsTheirInt8Dequantised
    for (int k : {1, 3}) {
      SCOPED_TRACE(std::string(d->name()) + " k" + std::to_string(k));
      const Layer l = one_layer(*d, 6, 5, 8, k, 1, 4);
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
      std::vector<int8_t> i0(x0.size()), i1(x1.size()), iy(y.size());
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
        ASSERT_NEAR(qout.dequantize(iy[j]), y[j], tol) << "output " << j;
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
    const Layer l = one_layer(*d, 0, 0, 0, 1, 1, 1);
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
