#include "nas/export/float_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tinynas {

FloatModel FloatModel::fold(const NetGraph& graph, const std::vector<LayerWeights>& trained) {
  if (trained.size() != graph.layers.size()) {
    throw std::invalid_argument("weights for " + std::to_string(trained.size()) +
                                " layers, graph has " + std::to_string(graph.layers.size()));
  }
  FloatModel m;
  m.graph = graph;
  m.layers.resize(graph.layers.size());
  for (std::size_t i = 0; i < graph.layers.size(); ++i) {
    const Layer& l = graph.layers[i];
    if (l.op->has_weights()) m.layers[i] = l.op->fold(l, trained[i]);
  }
  return m;
}

std::vector<std::vector<float>> FloatModel::run_all(const std::vector<float>& input) const {
  std::vector<std::vector<float>> t(graph.tensors.size());
  if (input.size() != static_cast<std::size_t>(graph.tensors[graph.input].shape.elements())) {
    throw std::invalid_argument("input has " + std::to_string(input.size()) + " values, expected " +
                                std::to_string(graph.tensors[graph.input].shape.elements()));
  }
  t[graph.input] = input;
  for (std::size_t i = 0; i < graph.layers.size(); ++i) {
    const Layer& l = graph.layers[i];
    std::vector<float>& out = t[l.output];
    out.assign(static_cast<std::size_t>(l.out.elements()), 0.0f);
    const float* const in[2] = {t[l.inputs[0]].data(),
                                l.inputs[1] >= 0 ? t[l.inputs[1]].data() : nullptr};
    l.op->run_float(l, layers[i], in, out.data());
    if (l.relu6) {
      for (float& v : out) v = std::min(6.0f, std::max(0.0f, v));
    }
  }
  return t;
}

std::vector<float> FloatModel::run(const std::vector<float>& input) const {
  return run_all(input)[graph.output];
}

}  // namespace tinynas
