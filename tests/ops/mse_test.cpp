// The reconstruction-error kind (ops/kinds/mse.cpp) by hand: its shape rule and the element-count
// check, the float mean squared error, the int8 arithmetic (requantisation of the reconstruction
// into the features' units, the int32 sum of squares, the output's fixed quantisation) on small
// examples with different scales and zero points, and the int8 score against the float one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "ops/op.h"

namespace tinynas {
namespace {

const OpDescriptor& mse() { return op("mse"); }

// An autoencoder's error layer: a reconstruction of `recon` values compared with features of
// `features` values (the lowering passes that count as out_channels).
Layer error_layer(Shape recon, int features) {
  Layer l;
  l.op = &mse();
  l.role = LayerRole::Error;
  l.inputs[0] = 2;
  l.inputs[1] = 0;
  l.in = recon;
  l.block = 3;
  mse().infer(&l, features);
  return l;
}

// The int32 score of run_int8 (it writes the value's 4 bytes).
int32_t score(const Layer& l, const Int8Layer& q, const QuantParams in[2], const QuantParams& out,
              const std::vector<int8_t>& r, const std::vector<int8_t>& x) {
  const int8_t* const ins[2] = {r.data(), x.data()};
  int8_t bytes[4];
  mse().run_int8(l, q, in, out, ins, bytes);
  int32_t s = 0;
  std::memcpy(&s, bytes, 4);
  return s;
}

TEST(Mse, TraitsAndShapeRule) {
  EXPECT_EQ(mse().num_inputs(), 2);
  EXPECT_EQ(mse().patch_rule(), PatchRule::Global);
  EXPECT_FALSE(mse().has_weights());
  EXPECT_FALSE(mse().in_place());
  EXPECT_FALSE(mse().is_front_end());
  EXPECT_EQ(mse().input_element_bytes(), 1);
  EXPECT_EQ(mse().output_element_bytes(), 4);
  EXPECT_EQ(mse().tflite_builtin(), -1);
  EXPECT_TRUE(mse().latency_feature_used(kInputBytes));
  EXPECT_TRUE(mse().latency_feature_used(kFixed));
  EXPECT_FALSE(mse().latency_feature_used(kMacs));
  EXPECT_FALSE(mse().latency_feature_used(kOutputBytes));
  EXPECT_GT(mse().default_kernel_code(), 0);
  EXPECT_GT(mse().default_code_per_layer(), 0);
  // An fc's 1 x 1 x 40 reconstruction of 4 x 5 x 2 features: one int32 value out.
  const Layer l = error_layer({1, 1, 40}, 40);
  EXPECT_EQ(l.out, (Shape{1, 1, 1}));
  EXPECT_EQ(l.macs, 0);
  EXPECT_EQ(l.weights, 0);
  EXPECT_EQ(l.biases, 0);
  EXPECT_EQ(mse().scratch_bytes(1, 1, 1, 1, 40), 0);
  // The shapes may differ; the element counts may not.
  EXPECT_EQ(error_layer({4, 5, 2}, 40).out, (Shape{1, 1, 1}));
}

TEST(Mse, ElementCountMismatchNamesTheLayer) {
  try {
    error_layer({1, 1, 39}, 40);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("layer error"), std::string::npos) << what;
    EXPECT_NE(what.find("39"), std::string::npos) << what;
    EXPECT_NE(what.find("40"), std::string::npos) << what;
  }
}

TEST(Mse, FloatIsTheMeanSquaredError) {
  const Layer l = error_layer({1, 1, 4}, 4);
  const std::vector<float> r = {1, 2, 3, 4}, x = {0, 2, 5, 4};
  const float* const in[2] = {r.data(), x.data()};
  float out = -1;
  mse().run_float(l, FloatLayer{}, in, &out);
  EXPECT_FLOAT_EQ(out, (1.0f + 0.0f + 4.0f + 0.0f) / 4.0f);
}

// s_r = 0.5, zp_r = 3; s_x = 0.25, zp_x = -2: the reconstruction's steps are 2 of the features'
// (multiplier 2^30, shift 2). r = {3, 5, 1, 10} -> r - zp_r = {0, 2, -2, 7} -> r' = {0, 4, -4, 14};
// x = {2, 0, -2, 10} -> x - zp_x = {4, 2, 0, 12}; differences {-4, 2, -4, 2}: S = 40. Real:
// r = {0, 1, -1, 3.5}, x = {1, 0.5, 0, 3}, MSE = (1 + 0.25 + 1 + 0.25) / 4 = 0.625 = 40 * 0.25^2 / 4.
TEST(Mse, Int8ByHandWithDifferentScalesAndZeroPoints) {
  const Layer l = error_layer({1, 1, 4}, 4);
  const QuantParams in[2] = {{0.5f, 3}, {0.25f, -2}};
  QuantParams out{0.01f, 17};  // a calibrated guess the layer must replace
  Int8Layer q;
  mse().quantize(l, FloatLayer{}, in, &out, &q);
  ASSERT_EQ(q.multiplier.size(), 1u);
  EXPECT_EQ(q.multiplier[0], 1 << 30);
  EXPECT_EQ(q.shift[0], 2);
  EXPECT_FLOAT_EQ(out.scale, 0.25f * 0.25f / 4);
  EXPECT_EQ(out.zero_point, 0);
  const int32_t s = score(l, q, in, out, {3, 5, 1, 10}, {2, 0, -2, 10});
  EXPECT_EQ(s, 40);
  EXPECT_FLOAT_EQ(out.scale * static_cast<float>(s), 0.625f);

  // s_r / s_x = 1.5 (3 * 2^29, shift 1): 3 steps of r are 4.5 of x, rounded up to 5; -3 are -4.5,
  // rounded toward +infinity to -4 (the runtime's rounding, TF-Lite's).
  const QuantParams in2[2] = {{0.375f, -1}, {0.25f, 5}};  // exact in binary
  Int8Layer q2;
  QuantParams out2;
  const Layer l3 = error_layer({1, 1, 3}, 3);
  mse().quantize(l3, FloatLayer{}, in2, &out2, &q2);
  EXPECT_EQ(q2.shift[0], 1);
  EXPECT_EQ(q2.multiplier[0], 3 << 29);
  EXPECT_FLOAT_EQ(out2.scale, 0.0625f / 3);
  // r - zp_r = {3, -3, 0}, x - zp_x = {0, 0, 7}: 5^2 + 4^2 + 7^2.
  EXPECT_EQ(score(l3, q2, in2, out2, {2, -4, -1}, {5, 5, 12}), 25 + 16 + 49);
}

TEST(Mse, RefusesScalesTheKernelCannotTake) {
  const Layer l = error_layer({1, 1, 4}, 4);
  Int8Layer q;
  QuantParams out;
  const QuantParams huge[2] = {{1.0f, 0}, {1.0f / (1 << 24), 0}};  // s_r / s_x = 2^24 > 2^22
  EXPECT_THROW(mse().quantize(l, FloatLayer{}, huge, &out, &q), std::invalid_argument);
  const QuantParams zero[2] = {{0.5f, 0}, {0.0f, 0}};
  EXPECT_THROW(mse().quantize(l, FloatLayer{}, zero, &out, &q), std::invalid_argument);
}

// Random features and reconstructions near them (an autoencoder's error is small next to the
// features): the dequantised int32 score follows the float MSE within the input rounding.
TEST(Mse, Int8ScoreFollowsTheFloatMse) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-2.0f, 3.0f), noise(-0.3f, 0.3f);
  for (int n : {1, 7, 40, 640}) {
    SCOPED_TRACE(n);
    const Layer l = error_layer({1, 1, n}, n);
    std::vector<float> x(n), r(n);
    for (int j = 0; j < n; ++j) {
      x[j] = u(rng);
      r[j] = x[j] + noise(rng);
    }
    auto params = [](const std::vector<float>& v) {
      float lo = 0, hi = 0;
      for (float f : v) lo = std::min(lo, f), hi = std::max(hi, f);
      QuantParams p;
      p.scale = (hi - lo) / 255.0f;
      p.zero_point = static_cast<int32_t>(std::lround(-128.0 - lo / p.scale));
      return p;
    };
    const QuantParams in[2] = {params(r), params(x)};
    std::vector<int8_t> qr(n), qx(n);
    for (int j = 0; j < n; ++j) qr[j] = in[0].quantize(r[j]), qx[j] = in[1].quantize(x[j]);
    const float* const fin[2] = {r.data(), x.data()};
    float want = 0;
    mse().run_float(l, FloatLayer{}, fin, &want);
    QuantParams out;
    Int8Layer q;
    mse().quantize(l, FloatLayer{}, in, &out, &q);
    const double got = out.scale * static_cast<double>(score(l, q, in, out, qr, qx));
    // Per element the difference is off by at most half a step of each input and half a step of
    // x for r': |d' - d| <= e = s_r / 2 + s_x, so |d'^2 - d^2| <= e (2 |d| + e), |d| <= 0.3.
    const double e = in[0].scale / 2 + in[1].scale;
    EXPECT_NEAR(got, want, e * (0.6 + e)) << "float " << want << ", int8 " << got;
  }
}

}  // namespace
}  // namespace tinynas
