// One layer of a NetGraph as plain data: which operator it runs, on which tensors, with which
// exact shapes and costs. The operator's rules (shape, MACs, scratch, in-place, numerics) are
// its OpDescriptor's (ops/op.h); a Layer only records their results, so the search's hot loop
// reads fields instead of dispatching.
#pragma once

#include <cstdint>
#include <string>

namespace tinynas {

class OpDescriptor;

struct Shape {
  int h = 1, w = 1, c = 1;
  int64_t elements() const { return static_cast<int64_t>(h) * w * c; }
  bool operator==(const Shape& o) const { return h == o.h && w == o.w && c == o.c; }
};

// Where a layer sits in an inverted-residual network (names layers; the supernet maps roles to
// its elastic modules).
// FrontEnd: the on-device feature extraction before the stem (a keyword spotter's MFCC).
enum class LayerRole { FrontEnd, Stem, Expand, Depthwise, Project, Residual, Head, Pool, Classifier };
const char* layer_role_name(LayerRole role);

struct Layer {
  const OpDescriptor* op = nullptr;
  LayerRole role = LayerRole::Stem;
  int inputs[2] = {-1, -1};  // tensor ids; inputs[1] only for two-input operators (add)
  int output = -1;           // tensor id
  Shape in, out;             // in: shape of inputs[0]
  int kernel = 1, stride = 1;
  int pad = 0;               // symmetric zero padding (kernel / 2), as PyTorch's Conv2d(padding=k//2)
  bool relu6 = false;
  int64_t macs = 0;
  int64_t weights = 0;       // int8 weight count
  int64_t biases = 0;        // int32 bias count (batch norm folded)
  int64_t const_bytes = 0;   // other constants in flash (a front end's tables)
  int in_element_bytes = 1;  // bytes per element of inputs[0]: 1 (int8), 2 (int16 PCM)
  // A fixed output quantisation (a front end's: the network was trained on exactly these int8
  // values); scale 0 = calibrated from data.
  float out_scale = 0;
  int out_zero_point = 0;
  int stage = -1;            // index into the space's stages; -1 for stem and head
  int block = -1;            // global inverted-residual block index; -1 stem; num_blocks after

  int num_inputs() const { return inputs[1] < 0 ? 1 : 2; }
  int64_t params() const { return weights + biases; }
  // Human-readable, e.g. "s2.b1.dw"; built on demand, not stored.
  std::string name() const;
};

// Output size of a convolution with symmetric padding k/2.
inline int conv_out_size(int in, int kernel, int stride) {
  return (in + 2 * (kernel / 2) - kernel) / stride + 1;
}

}  // namespace tinynas
