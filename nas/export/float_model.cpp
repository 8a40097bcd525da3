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
  if (input.size() != static_cast<std::size_t>(graph.tensors[graph.input].bytes())) {
    throw std::invalid_argument("input has " + std::to_string(input.size()) + " values, expected " +
                                std::to_string(graph.tensors[graph.input].bytes()));
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

std::vector<float> resize_bilinear(const std::vector<float>& src, int h, int w, int c, int out_h,
                                   int out_w) {
  if (h == out_h && w == out_w) return src;
  std::vector<float> dst(static_cast<std::size_t>(out_h) * out_w * c);
  const float sy = static_cast<float>(h) / out_h, sx = static_cast<float>(w) / out_w;
  for (int oy = 0; oy < out_h; ++oy) {
    const float fy = std::max(0.0f, (oy + 0.5f) * sy - 0.5f);
    const int y0 = std::min(static_cast<int>(fy), h - 1);
    const int y1 = std::min(y0 + 1, h - 1);
    const float ly = fy - y0;
    for (int ox = 0; ox < out_w; ++ox) {
      const float fx = std::max(0.0f, (ox + 0.5f) * sx - 0.5f);
      const int x0 = std::min(static_cast<int>(fx), w - 1);
      const int x1 = std::min(x0 + 1, w - 1);
      const float lx = fx - x0;
      for (int ch = 0; ch < c; ++ch) {
        auto at = [&](int y, int x) { return src[(static_cast<std::size_t>(y) * w + x) * c + ch]; };
        dst[(static_cast<std::size_t>(oy) * out_w + ox) * c + ch] =
            (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) +
            ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
      }
    }
  }
  return dst;
}

}  // namespace tinynas
