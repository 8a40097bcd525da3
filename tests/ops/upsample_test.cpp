// The nearest-neighbour upsampling kind (ops/kinds/upsample.cpp) by hand: its traits, the factor
// as the stride of a 1 x 1 window (set_window(1, 1, f), pads 0), the shape rule and refusals, the
// float and int8 values of small maps written out, the output keeping the input's quantisation,
// and the emitted parameter block and call.
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/op.h"

namespace tinynas {
namespace {

const OpDescriptor& upsample() { return op("upsample"); }

// A decoder's upsampling layer by `factor` on an h x w x c input, as the lowering makes it.
Layer upsample_layer(int h, int w, int c, int factor) {
  Layer l;
  l.op = &upsample();
  l.role = LayerRole::Upsample;
  l.inputs[0] = 0;
  l.in = {h, w, c};
  l.set_window(1, 1, factor);
  upsample().infer(&l, c);
  return l;
}

TEST(Upsample, TraitsAndShapeRule) {
  EXPECT_EQ(upsample().num_inputs(), 1);
  EXPECT_EQ(upsample().patch_rule(), PatchRule::Global);
  EXPECT_FALSE(upsample().has_weights());
  EXPECT_FALSE(upsample().in_place());
  EXPECT_FALSE(upsample().is_front_end());
  EXPECT_EQ(upsample().output_element_bytes(), 1);
  EXPECT_TRUE(upsample().latency_feature_used(kOutputBytes));
  EXPECT_TRUE(upsample().latency_feature_used(kFixed));
  EXPECT_FALSE(upsample().latency_feature_used(kMacs));
  EXPECT_FALSE(upsample().latency_feature_used(kInputBytes));
  EXPECT_FALSE(upsample().latency_feature_used(kWeightBytes));
  EXPECT_EQ(upsample().tflite_builtin(), 97);  // RESIZE_NEAREST_NEIGHBOR

  const Layer l = upsample_layer(7, 5, 16, 2);
  EXPECT_EQ(l.kh, 1);
  EXPECT_EQ(l.kw, 1);
  EXPECT_EQ(l.stride, 2);
  EXPECT_EQ(l.pad_top + l.pad_left + l.pad_bottom + l.pad_right, 0);
  EXPECT_EQ(l.out, (Shape{14, 10, 16}));
  EXPECT_EQ(l.macs, 0);
  EXPECT_EQ(l.weights, 0);
  EXPECT_EQ(l.biases, 0);
  EXPECT_EQ(upsample().scratch_bytes(l.kh, l.kw, l.in.h, l.in.w, l.in.c), 0);
  EXPECT_EQ(upsample_layer(7, 7, 32, 4).out, (Shape{28, 28, 32}));
  EXPECT_EQ(upsample_layer(3, 4, 1, 1).out, (Shape{3, 4, 1}));  // factor 1: identity
}

TEST(Upsample, RefusesAWindowOrPaddingByName) {
  Layer l;
  l.op = &upsample();
  l.role = LayerRole::Upsample;
  l.block = 4;
  l.stage = 2;
  l.in = {7, 7, 8};
  l.set_window(3, 3, 2);  // pads 1
  try {
    upsample().infer(&l, 8);
    FAIL() << "a 3x3 window was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(l.name()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3x3 window"), std::string::npos) << e.what();
  }
  l.set_window(1, 1, 2);
  l.pad_right = 1;
  EXPECT_THROW(upsample().infer(&l, 8), std::invalid_argument);
  l.set_window(1, 1, 0);
  EXPECT_THROW(upsample().infer(&l, 8), std::invalid_argument);
}

// 2 x 3 x 2 by 2: each input pixel becomes a 2 x 2 block, channels kept.
TEST(Upsample, FloatValuesByHand) {
  const Layer l = upsample_layer(2, 3, 2, 2);
  std::vector<float> x(12);
  std::iota(x.begin(), x.end(), 0.0f);  // pixel p = (y * 3 + x): channels 2p, 2p + 1
  std::vector<float> y(static_cast<std::size_t>(l.out.elements()), -1.0f);
  const float* const in[2] = {x.data(), nullptr};
  upsample().run_float(l, FloatLayer{}, in, y.data());
  // Output rows 0 and 1 repeat input row 0; rows 2 and 3 input row 1. Six pixels a row.
  const std::vector<float> row0 = {0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5};
  const std::vector<float> row1 = {6, 7, 6, 7, 8, 9, 8, 9, 10, 11, 10, 11};
  std::vector<float> want;
  for (const auto* r : {&row0, &row0, &row1, &row1}) want.insert(want.end(), r->begin(), r->end());
  EXPECT_EQ(y, want);
}

// int8: the same copy, by 3 on a 2 x 2 x 1 map; the output keeps the input's parameters and a
// fused ReLU6 is refused.
TEST(Upsample, Int8CopiesAndKeepsTheInputsQuantisation) {
  const Layer l = upsample_layer(2, 2, 1, 3);
  ASSERT_EQ(l.out, (Shape{6, 6, 1}));
  const QuantParams in[2] = {{0.05f, -7}, {}};
  QuantParams out{0.3f, 12};  // the calibration's guess, replaced
  Int8Layer q;
  upsample().quantize(l, FloatLayer{}, in, &out, &q);
  EXPECT_EQ(out.scale, 0.05f);
  EXPECT_EQ(out.zero_point, -7);
  const std::vector<int8_t> x = {-128, 5, 127, -7};
  std::vector<int8_t> y(36, 0);
  const int8_t* const xs[2] = {x.data(), nullptr};
  upsample().run_int8(l, q, in, out, xs, y.data());
  const std::vector<int8_t> want = {
      -128, -128, -128, 5,  5,  5,   //
      -128, -128, -128, 5,  5,  5,   //
      -128, -128, -128, 5,  5,  5,   //
      127,  127,  127,  -7, -7, -7,  //
      127,  127,  127,  -7, -7, -7,  //
      127,  127,  127,  -7, -7, -7};
  EXPECT_EQ(y, want);

  Layer act = l;
  act.relu6 = true;
  QuantParams o2 = out;
  EXPECT_THROW(upsample().quantize(act, FloatLayer{}, in, &o2, &q), std::invalid_argument);
}

// int8 against float on a random map with channels: dequantise(int8) == float of the
// dequantised input, exactly (a copy).
TEST(Upsample, Int8IsTheFloatCopyExactly) {
  const Layer l = upsample_layer(5, 3, 7, 2);
  std::vector<int8_t> x(static_cast<std::size_t>(l.in.elements()));
  for (std::size_t j = 0; j < x.size(); ++j) x[j] = static_cast<int8_t>((j * 37 + 11) % 256 - 128);
  const QuantParams in[2] = {{0.02f, 3}, {}};
  std::vector<float> xf(x.size());
  for (std::size_t j = 0; j < x.size(); ++j) xf[j] = in[0].dequantize(x[j]);
  std::vector<float> yf(static_cast<std::size_t>(l.out.elements()));
  const float* const fin[2] = {xf.data(), nullptr};
  upsample().run_float(l, FloatLayer{}, fin, yf.data());
  QuantParams out;
  Int8Layer q;
  upsample().quantize(l, FloatLayer{}, in, &out, &q);
  std::vector<int8_t> y(yf.size());
  const int8_t* const xs[2] = {x.data(), nullptr};
  upsample().run_int8(l, q, in, out, xs, y.data());
  for (std::size_t j = 0; j < y.size(); ++j) ASSERT_EQ(out.dequantize(y[j]), yf[j]) << j;
}

class RecordingContext : public EmitContext {
 public:
  std::ostringstream& data() override { return data_; }
  std::ostringstream& body() override { return body_; }
  void array(const std::string&, const std::vector<int8_t>&) override { ++arrays_; }
  void array(const std::string&, const std::vector<int16_t>&) override { ++arrays_; }
  void array(const std::string&, const std::vector<int32_t>&) override { ++arrays_; }
  const QuantParams& quant(int) const override { return q_; }
  std::string scratch(int, bool) const override { return "scratch"; }
  std::string profile_end(int, const std::string&, const std::string&, const std::string&,
                          const std::string&, const std::string&, const std::string&) const override {
    return "";
  }
  std::ostringstream data_, body_;
  int arrays_ = 0;
  QuantParams q_;
};

TEST(Upsample, EmitsItsParameterBlockAndCall) {
  const Layer l = upsample_layer(7, 5, 16, 2);
  RecordingContext c;
  upsample().emit_constants(c, 6, l, Int8Layer{});
  const std::string in[2] = {"arena + 0", ""};
  upsample().emit_call(c, 6, l, Int8Layer{}, in, "arena + 560");
  EXPECT_EQ(c.data_.str(), "static const tn_upsample_params_t up6 = {7, 5, 16, 2};\n");
  EXPECT_EQ(c.body_.str(), "  rc = tn_upsample_s8(&up6, arena + 0, arena + 560);\n");
  EXPECT_EQ(c.arrays_, 0);
  EXPECT_THROW(upsample().emit_patch_call(c, 6, l, in, "out"), std::invalid_argument);
}

}  // namespace
}  // namespace tinynas
