// A subnet's float weights with batch norm folded, in the runtime's layouts, and a plain float
// executor over its NetGraph. The exporter calibrates activation ranges with it; it needs no
// LibTorch, and a test checks it against the supernet's own forward.
#pragma once

#include <vector>

#include "search_spaces/net_graph.h"
#include "ops/layer_weights.h"

namespace tinynas {

struct FloatModel {
  NetGraph graph;
  // One per graph layer, folded by its operator (ops/): conv [cout][kh][kw][cin] (OHWI),
  // pointwise [cout][cin], depthwise [kh][kw][c], fully connected [out][in]; empty without weights.
  std::vector<FloatLayer> layers;

  // Folds batch norm into the weights and reorders them; throws std::invalid_argument naming the
  // layer when a size does not match the graph.
  static FloatModel fold(const NetGraph& graph, const std::vector<LayerWeights>& trained);

  // Runs one HWC image; returns every tensor (tensors[graph.output] holds the logits).
  std::vector<std::vector<float>> run_all(const std::vector<float>& input) const;
  std::vector<float> run(const std::vector<float>& input) const;
};

}  // namespace tinynas
