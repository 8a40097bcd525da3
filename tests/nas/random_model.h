// Random but well-scaled trained weights for a NetGraph, for tests of the exporter.
#pragma once

#include <cmath>
#include <random>
#include <vector>

#include "nas/export/float_model.h"
#include "nas/export/int8_model.h"
#include "search_spaces/net_graph.h"
#include "ops/layer_weights.h"

namespace tinynas {

// Random trained weights with batch norm, scaled so activations stay in a sane range.
inline std::vector<LayerWeights> random_weights(const NetGraph& g, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uni(0.5f, 1.5f);
  std::vector<LayerWeights> out(g.layers.size());
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    if (l.op == &op("add") || l.op == &op("avgpool")) continue;
    const int cin = l.op == &op("depthwise") ? 1 : l.in.c;
    const int fan_in = cin * l.kh * l.kw;
    const float stdev = std::sqrt(2.0f / fan_in);
    out[i].weight.resize(static_cast<std::size_t>(l.out.c) * fan_in);
    for (float& w : out[i].weight) w = normal(rng) * stdev;
    if (l.op == &op("fc")) {
      out[i].bias.resize(l.out.c);
      for (float& b : out[i].bias) b = 0.1f * normal(rng);
    } else {
      for (int c = 0; c < l.out.c; ++c) {
        out[i].bn_gamma.push_back(uni(rng));
        out[i].bn_beta.push_back(0.2f * normal(rng));
        out[i].bn_mean.push_back(0.1f * normal(rng));
        out[i].bn_var.push_back(uni(rng));
      }
    }
  }
  return out;
}

// Those weights, int8-quantised with activation ranges from 4 random images.
inline Int8Model random_int8_model(const NetGraph& g, uint64_t seed) {
  const FloatModel fm = FloatModel::fold(g, random_weights(g, seed));
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> pixel(-1.0f, 2.0f);
  RangeObserver obs(g);
  for (int i = 0; i < 4; ++i) {
    std::vector<float> img(static_cast<std::size_t>(g.tensors[g.input].shape.elements()));
    for (float& v : img) v = pixel(rng);
    obs.observe(fm.run_all(img));
  }
  return Int8Model::quantize(fm, obs.ranges());
}

}  // namespace tinynas
