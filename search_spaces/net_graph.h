// NetGraph: an ArchSpec lowered to the ordered list of layers it runs, with exact tensor
// shapes. Estimators, the exporter and the code generator all read this one lowering; no stage
// re-derives shapes. Built in the search's hot path, so it holds no strings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "search_spaces/arch_spec.h"
#include "search_spaces/search_space.h"

namespace tinynas {

enum class OpKind { Conv, Pointwise, Depthwise, Add, AvgPool, FullyConnected };
// The runtime profiler's names: conv, pointwise, depthwise, add, avgpool, fc.
const char* op_kind_name(OpKind kind);
bool parse_op_kind(const std::string& name, OpKind* kind);
constexpr int kNumOpKinds = 6;

// Where a layer sits in an inverted-residual network.
enum class LayerRole { Stem, Expand, Depthwise, Project, Residual, Head, Pool, Classifier };
const char* layer_role_name(LayerRole role);

struct Shape {
  int h = 1, w = 1, c = 1;
  int64_t elements() const { return static_cast<int64_t>(h) * w * c; }
  bool operator==(const Shape& o) const { return h == o.h && w == o.w && c == o.c; }
};

struct TensorInfo {
  Shape shape;
  int producer = -1;       // layer index; -1 for the network input
  int last_consumer = -1;  // layer index of the last reader; -1 for the network output
  int64_t bytes() const { return shape.elements(); }  // int8 activations
};

struct Layer {
  OpKind kind = OpKind::Conv;
  LayerRole role = LayerRole::Stem;
  int inputs[2] = {-1, -1};  // tensor ids; inputs[1] only for Add
  int output = -1;           // tensor id
  Shape in, out;             // in: shape of inputs[0]
  int kernel = 1, stride = 1;
  int pad = 0;               // symmetric zero padding (kernel / 2), as PyTorch's Conv2d(padding=k//2)
  bool relu6 = false;
  int64_t macs = 0;
  int64_t weights = 0;       // int8 weight count
  int64_t biases = 0;        // int32 bias count (batch norm folded)
  int stage = -1;            // index into the space's stages; -1 for stem and head
  int block = -1;            // global inverted-residual block index; -1 stem; num_blocks after

  int num_inputs() const { return inputs[1] < 0 ? 1 : 2; }
  int64_t params() const { return weights + biases; }
  // Human-readable, e.g. "s2.b1.dw"; built on demand, not stored.
  std::string name() const;
};

struct NetGraph {
  std::vector<TensorInfo> tensors;  // tensors[input] is the image
  std::vector<Layer> layers;        // execution order
  int input = 0;
  int output = -1;
  int num_blocks = 0;
  PatchSchedule patch;              // carried from the ArchSpec

  int64_t macs() const;
  int64_t params() const;
  int64_t weight_count() const;
  int64_t bias_count() const;
  // Index of the first layer after the patch stage (stem + patch.split blocks); 0 without one.
  int patch_stage_end() const;
};

// Lowers `arch` (assumed valid for `space`) to layers. Reuses `out`'s storage when given, so the
// search's hot loop allocates nothing.
void lower(const SearchSpace& space, const ArchSpec& arch, NetGraph* out);
NetGraph lower(const SearchSpace& space, const ArchSpec& arch);

// Output size of a convolution with symmetric padding k/2.
inline int conv_out_size(int in, int kernel, int stride) {
  return (in + 2 * (kernel / 2) - kernel) / stride + 1;
}

}  // namespace tinynas
