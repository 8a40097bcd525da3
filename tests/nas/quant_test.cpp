#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "nas/export/float_model.h"
#include "nas/export/int8_model.h"
#include "runtime/tn_runtime.h"
#include "search_spaces/arch_sampler.h"
#include "tests/nas/random_model.h"

namespace tinynas {
namespace {

const std::string kRoot = TINYNAS_SOURCE_DIR;

// The quantiser and the int8 reference call the runtime's C (runtime/tn_quant.c), the project's
// one copy of the requantisation arithmetic; these pin the values they rely on.
TEST(QuantMath, QuantizeMultiplier) {
  int32_t m, s;
  ASSERT_EQ(tn_quantize_multiplier(0.5, &m, &s), TN_OK);
  EXPECT_EQ(m, 1 << 30);
  EXPECT_EQ(s, 0);
  ASSERT_EQ(tn_quantize_multiplier(0.25, &m, &s), TN_OK);
  EXPECT_EQ(m, 1 << 30);
  EXPECT_EQ(s, -1);
  ASSERT_EQ(tn_quantize_multiplier(3.0, &m, &s), TN_OK);
  EXPECT_EQ(m, 3 << 29);
  EXPECT_EQ(s, 2);
  ASSERT_EQ(tn_quantize_multiplier(0.0, &m, &s), TN_OK);
  EXPECT_EQ(m, 0);
  // Rounds up to 2^31: renormalised.
  ASSERT_EQ(tn_quantize_multiplier(0.99999999999, &m, &s), TN_OK);
  EXPECT_EQ(m, 1 << 30);
  EXPECT_EQ(s, 1);
}

// Where the runtime's QuantizeMultiplier differs from the former C++ copy (which had no clamp
// and no checks) it is outside what a quantised layer produces: a layer's real multiplier is
// in_scale * weight_scale / out_scale (or an ADD's ratios of scales, at most 0.5 for the inputs),
// positive and finite; a shift above 30 would need a multiplier of 2^30 or more.
TEST(QuantMath, QuantizeMultiplierEdgesTheQuantiserNeverHits) {
  int32_t m = 0, s = 0;
  ASSERT_EQ(tn_quantize_multiplier(std::ldexp(1.0, 30) * 0.75, &m, &s), TN_OK);  // largest unclamped
  EXPECT_EQ(m, 3 << 29);
  EXPECT_EQ(s, 30);
  ASSERT_EQ(tn_quantize_multiplier(std::ldexp(1.0, 31), &m, &s), TN_OK);  // clamped
  EXPECT_EQ(m, INT32_MAX);
  EXPECT_EQ(s, 30);
  EXPECT_EQ(tn_quantize_multiplier(-0.5, &m, &s), TN_ERR_ARG);
  EXPECT_EQ(tn_quantize_multiplier(std::nan(""), &m, &s), TN_ERR_ARG);
}

TEST(QuantMath, RoundingMatchesTfLite) {
  // SaturatingRoundingDoublingHighMul: the only overflow case saturates.
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
  // Ties round away from zero.
  EXPECT_EQ(tn_rounding_divide_by_pot(5, 1), 3);
  EXPECT_EQ(tn_rounding_divide_by_pot(-5, 1), -3);
  EXPECT_EQ(tn_rounding_divide_by_pot(4, 1), 2);
  EXPECT_EQ(tn_rounding_divide_by_pot(-7, 2), -2);
  EXPECT_EQ(tn_rounding_divide_by_pot(-6, 2), -2);  // -1.5 -> -2
  EXPECT_EQ(tn_rounding_divide_by_pot(-5, 2), -1);
  // x * 0.5 * 2^-1 = x / 4 with rounding.
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(10, 1 << 30, -1), 3);   // 2.5 -> 3
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(-10, 1 << 30, -1), -3);
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(100, 3 << 29, 2), 300);  // x * 3
}

TEST(QuantParams, CoverTheRangeAndZero) {
  const QuantParams q = choose_quant_params(0.0f, 6.0f);
  EXPECT_EQ(q.zero_point, -128);
  EXPECT_FLOAT_EQ(q.scale, 6.0f / 255.0f);
  EXPECT_EQ(q.quantize(6.0f), 127);
  EXPECT_EQ(q.quantize(0.0f), -128);
  const QuantParams r = choose_quant_params(-1.0f, 1.0f);
  EXPECT_NEAR(r.dequantize(r.quantize(0.0f)), 0.0f, 1e-6);
  EXPECT_NEAR(r.dequantize(r.quantize(0.5f)), 0.5f, r.scale / 2 + 1e-6);
  const QuantParams s = choose_quant_params(2.0f, 3.0f);  // widened to include 0
  EXPECT_EQ(s.quantize(0.0f), -128);
}

TEST(FloatModel, FoldsBatchNormIntoTheStem) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  ArchSpec arch = ArchSpec::smallest(space);
  arch.resolution = 28;
  const NetGraph g = lower(space, arch);
  const auto trained = random_weights(g, 1);
  const FloatModel m = FloatModel::fold(g, trained);
  std::vector<float> img(28 * 28);
  for (std::size_t i = 0; i < img.size(); ++i) img[i] = std::sin(0.1f * i);
  const auto t = m.run_all(img);
  // Unfolded reference for one output pixel of the stem (conv OIHW + BN + ReLU6).
  const Layer& stem = g.layers[0];
  const LayerWeights& w = trained[0];
  const int oy = 5, ox = 7;
  for (int o = 0; o < stem.out.c; ++o) {
    float acc = 0;
    for (int ky = 0; ky < 3; ++ky) {
      for (int kx = 0; kx < 3; ++kx) {
        const int iy = oy - 1 + ky, ix = ox - 1 + kx;
        acc += img[iy * 28 + ix] * w.weight[(o * 3 + ky) * 3 + kx];
      }
    }
    float bn = (acc - w.bn_mean[o]) / std::sqrt(w.bn_var[o] + w.bn_eps) * w.bn_gamma[o] + w.bn_beta[o];
    bn = std::min(6.0f, std::max(0.0f, bn));
    EXPECT_NEAR(t[stem.output][(oy * 28 + ox) * stem.out.c + o], bn, 1e-4f);
  }
}

TEST(FloatModel, RejectsMismatchedWeights) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  const NetGraph g = lower(space, ArchSpec::smallest(space));
  auto trained = random_weights(g, 1);
  trained[4].weight.pop_back();  // s1.b1.expand
  EXPECT_THROW(FloatModel::fold(g, trained), std::invalid_argument);
}

TEST(Int8Model, TracksTheFloatModel) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  ArchSampler sampler(space, 9);
  for (int n = 0; n < 3; ++n) {
    ArchSpec arch = sampler.sample();
    arch.resolution = 28;
    const NetGraph g = lower(space, arch);
    const FloatModel fm = FloatModel::fold(g, random_weights(g, 100 + n));
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> pixel(-1.0f, 2.0f);
    auto image = [&] {
      std::vector<float> img(28 * 28);
      for (float& v : img) v = pixel(rng);
      return img;
    };
    RangeObserver obs(g);
    for (int i = 0; i < 32; ++i) obs.observe(fm.run_all(image()));
    const Int8Model qm = Int8Model::quantize(fm, obs.ranges());
    // Relative error of each tensor over a few images. A random network saturates ReLU6
    // everywhere and amplifies noise with depth (a trained one does not), so the first layers
    // are held to int8's rounding (about 1%) and the logits more loosely.
    std::vector<double> err(g.tensors.size()), mag(g.tensors.size());
    for (int i = 0; i < 8; ++i) {
      const auto img = image();
      const auto f = fm.run_all(img);
      const auto q = qm.run_all(qm.quantize_input(img));
      for (std::size_t t = 0; t < f.size(); ++t) {
        for (std::size_t j = 0; j < f[t].size(); ++j) {
          err[t] += std::abs(qm.tensor_quant[t].dequantize(q[t][j]) - f[t][j]);
          mag[t] += std::abs(f[t][j]);
        }
      }
    }
    EXPECT_LT(err[g.input] / mag[g.input], 0.01);
    EXPECT_LT(err[g.layers[0].output] / mag[g.layers[0].output], 0.015) << arch.to_string();
    EXPECT_LT(err[g.layers[2].output] / mag[g.layers[2].output], 0.04) << arch.to_string();
    EXPECT_LT(err[g.output] / mag[g.output], 0.35) << arch.to_string();
    for (const auto& l : qm.layers) {
      for (int8_t w : l.weight) EXPECT_GE(w, -127);
    }
    // Average pooling keeps its input's quantisation.
    const Layer& pool = g.layers[g.layers.size() - 2];
    EXPECT_EQ(qm.tensor_quant[pool.output].scale, qm.tensor_quant[pool.inputs[0]].scale);
  }
}

}  // namespace
}  // namespace tinynas
