// One layer of a NetGraph as plain data: which operator it runs, on which tensors, with which
// exact shapes and costs. The operator's rules (shape, MACs, scratch, in-place, numerics) are
// its OpDescriptor's (ops/op.h); a Layer only records their results, so the search's hot loop
// reads fields instead of dispatching.
#pragma once

#include <algorithm>
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
// its elastic modules). A separable block (DS-CNN's depthwise + pointwise) has no Expand and its
// Project is followed by ReLU6. FrontEnd: the on-device feature extraction before the stem (a
// keyword spotter's MFCC).
// Softmax: an imported model's probabilities after the classifier (nas/export/tflite_*.cpp).
// Dense: a fully connected block (fc + BN + ReLU6) of a `block: dense` stage (an autoencoder's
// layers). Reconstruction: an autoencoder's linear output layer, as many values as its input;
// Error: the reconstruction error of the input (the network's output, the anomaly score).
// Upsample: a decoder stage's nearest-neighbour upsampling before its first block.
enum class LayerRole {
  FrontEnd, Stem, Expand, Depthwise, Project, Residual, Head, Pool, Classifier, Softmax,
  Dense, Reconstruction, Error, Upsample
};
const char* layer_role_name(LayerRole role);

// The padding rule of every window operator (conv, depthwise, pointwise), per axis:
//  - odd kernel k: symmetric k / 2 on both sides, as PyTorch's Conv2d(padding=k//2): what the
//    MobileNetV2 spaces, the shipped checkpoints and their exports were built with (with a stride
//    the last rows may then go unread: pad_bottom is nominal);
//  - even kernel k: TensorFlow's SAME (DS-CNN's 10x4 stem): out = ceil(in / stride), total pad
//    max((out - 1) * stride + k - in, 0), pad_top = total / 2 and the extra one at the bottom
//    (likewise left / right).
// Either way each pad is <= k / 2 < k, as the runtime requires (runtime/tn_runtime.h).
struct AxisPadding {
  int before = 0, after = 0;
};
// TensorFlow's SAME on one axis, whatever the kernel: out = ceil(in / stride), the total pad split
// with the extra one after (also what a .tflite's SAME means: nas/export/tflite_read.cpp).
inline AxisPadding tf_same_padding(int in, int kernel, int stride) {
  const int out = (in + stride - 1) / stride;
  const int total = std::max((out - 1) * stride + kernel - in, 0);
  return {total / 2, total - total / 2};
}
inline AxisPadding same_padding(int in, int kernel, int stride) {
  if (kernel % 2 == 1) return {kernel / 2, kernel / 2};
  return tf_same_padding(in, kernel, stride);
}

// Output size of a window of `kernel` with `stride` and the given padding.
inline int window_out_size(int in, int kernel, int stride, int pad_before, int pad_after) {
  return (in + pad_before + pad_after - kernel) / stride + 1;
}

// Output size of a convolution padded by the rule above.
inline int conv_out_size(int in, int kernel, int stride) {
  const AxisPadding p = same_padding(in, kernel, stride);
  return window_out_size(in, kernel, stride, p.before, p.after);
}

struct Layer {
  const OpDescriptor* op = nullptr;
  LayerRole role = LayerRole::Stem;
  int inputs[2] = {-1, -1};  // tensor ids; inputs[1] only for two-input operators (add)
  int output = -1;           // tensor id
  Shape in, out;             // in: shape of inputs[0]
  int kh = 1, kw = 1;        // kernel height and width (1 x 1 for non-window operators)
  int stride = 1;            // both axes
  // Explicit zero padding of the input (the rule above: set_window() fills it from `in`).
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
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
  // Sets the kernel, stride and the padding rule's pads for the input `in` (set first).
  void set_window(int kernel_h, int kernel_w, int stride_hw) {
    kh = kernel_h;
    kw = kernel_w;
    stride = stride_hw;
    const AxisPadding ph = same_padding(in.h, kh, stride), pw = same_padding(in.w, kw, stride);
    pad_top = ph.before;
    pad_bottom = ph.after;
    pad_left = pw.before;
    pad_right = pw.after;
  }
  bool square_kernel() const { return kh == kw; }
  bool symmetric_padding() const { return pad_top == pad_bottom && pad_left == pad_right; }
  int64_t params() const { return weights + biases; }
  // Human-readable, e.g. "s2.b1.dw"; built on demand, not stored.
  std::string name() const;
};

}  // namespace tinynas
