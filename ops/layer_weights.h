// A subnet's float parameters, one entry per NetGraph layer, in NetGraph layer order. Plain data
// (no LibTorch), so the int8 exporter and the quantiser read weights without knowing anything of
// the elastic supernet that produced them.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "ops/layer.h"

namespace tinynas {

struct LayerWeights {
  const OpDescriptor* op = nullptr;
  LayerRole role = LayerRole::Stem;
  // Conv / Pointwise: OIHW [out, in, k, k]; Depthwise: [channels, 1, k, k] (the effective kernel,
  // after the elastic kernel transform); FullyConnected: [out, in]; empty for Add and AvgPool.
  std::vector<int64_t> weight_shape;
  std::vector<float> weight;  // row-major in weight_shape order
  std::vector<float> bias;    // FullyConnected only (convolutions carry no bias: BN follows)
  // The batch norm that follows every convolution (eval-mode statistics):
  // y = gamma * (x - mean) / sqrt(var + eps) + beta. Empty for Add, AvgPool and FullyConnected.
  std::vector<float> bn_gamma, bn_beta, bn_mean, bn_var;
  double bn_eps = 1e-5;

  bool has_bn() const { return !bn_gamma.empty(); }
  // The same layer with its batch norm folded in: weight scaled per output channel and a bias
  // beta - mean * gamma / sqrt(var + eps). Layers without batch norm come back unchanged.
  LayerWeights folded() const;
};

inline LayerWeights LayerWeights::folded() const {
  if (!has_bn()) return *this;
  LayerWeights f = *this;
  const std::size_t out = bn_gamma.size();
  const std::size_t per = weight.size() / out;
  f.bias.assign(out, 0.0f);
  for (std::size_t o = 0; o < out; ++o) {
    const double scale = bn_gamma[o] / std::sqrt(static_cast<double>(bn_var[o]) + bn_eps);
    for (std::size_t i = 0; i < per; ++i) {
      f.weight[o * per + i] = static_cast<float>(weight[o * per + i] * scale);
    }
    f.bias[o] = static_cast<float>(bn_beta[o] - bn_mean[o] * scale);
  }
  f.bn_gamma.clear();
  f.bn_beta.clear();
  f.bn_mean.clear();
  f.bn_var.clear();
  return f;
}

}  // namespace tinynas
