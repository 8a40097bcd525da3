// Writing an Int8Model as an int8 .tflite (tflite_model.h): one TFLite tensor per graph tensor,
// the weights, biases and scales as the model holds them, and the fused activation whose clamp
// TF-Lite derives from the output's quantisation equal to the layer's.
#include <flatbuffers/flatbuffers.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <map>
#include <stdexcept>

#include "nas/export/tflite_model.h"
#include "search_spaces/atomic_file.h"
#include "tflite_generated.h"

namespace tinynas {

namespace {

namespace tfl = tflite;
namespace fb = flatbuffers;

// TF-Lite's op versions for these int8 kernels, as its converter writes them.
int op_version(tfl::BuiltinOperator code) {
  switch (code) {
    case tfl::BuiltinOperator::CONV_2D: return 3;            // int8, per-channel
    case tfl::BuiltinOperator::DEPTHWISE_CONV_2D: return 3;  // int8, per-channel
    case tfl::BuiltinOperator::FULLY_CONNECTED: return 4;    // int8
    case tfl::BuiltinOperator::RESHAPE: return 1;
    default: return 2;  // int8 ADD, AVERAGE_POOL_2D, SOFTMAX, PAD, RESIZE_NEAREST_NEIGHBOR
  }
}

tfl::ActivationFunctionType activation_enum(const std::string& name) {
  if (name == "RELU") return tfl::ActivationFunctionType::RELU;
  if (name == "RELU6") return tfl::ActivationFunctionType::RELU6;
  if (name == "RELU_N1_TO_1") return tfl::ActivationFunctionType::RELU_N1_TO_1;
  return tfl::ActivationFunctionType::NONE;
}

class Writer {
 public:
  Writer(const Int8Model& m, const TfliteWriteOptions& opt) : m_(m), g_(m.graph), opt_(opt) {}

  TfliteWritten write() {
    buffers_.push_back(tfl::CreateBuffer(b_));  // the empty sentinel, buffer 0
    first_ = !g_.layers.empty() && g_.layers[0].op->is_front_end() ? 1 : 0;
    r_.front_end_skipped = first_ == 1;
    const int input = first_ ? g_.layers[0].output : g_.input;
    tensor_index_.assign(g_.tensors.size(), -1);
    tensor_index_[input] = activation_tensor(input, "input");
    for (int i = first_; i < static_cast<int>(g_.layers.size()); ++i) write_layer(i);

    const std::vector<int32_t> outputs = {tensor_index_[g_.output]};
    std::vector<int32_t> inputs = {tensor_index_[input]};
    const auto sg = tfl::CreateSubGraph(b_, b_.CreateVector(tensors_), b_.CreateVector(inputs),
                                        b_.CreateVector(outputs), b_.CreateVector(operators_),
                                        b_.CreateString("main"));
    std::vector<fb::Offset<tfl::OperatorCode>> codes;
    for (tfl::BuiltinOperator c : codes_) {
      const int v = static_cast<int>(c);
      codes.push_back(tfl::CreateOperatorCode(b_, static_cast<int8_t>(std::min(v, 127)), 0, op_version(c), c));
    }
    const std::vector<fb::Offset<tfl::SubGraph>> sgs = {sg};
    const auto model = tfl::CreateModel(b_, 3, b_.CreateVector(codes), b_.CreateVector(sgs),
                                        b_.CreateString(opt_.description), b_.CreateVector(buffers_));
    tfl::FinishModelBuffer(b_, model);
    r_.bytes.assign(b_.GetBufferPointer(), b_.GetBufferPointer() + b_.GetSize());
    return std::move(r_);
  }

 private:
  int opcode(tfl::BuiltinOperator c) {
    for (std::size_t k = 0; k < codes_.size(); ++k) {
      if (codes_[k] == c) return static_cast<int>(k);
    }
    codes_.push_back(c);
    return static_cast<int>(codes_.size()) - 1;
  }

  uint32_t buffer(const void* data, std::size_t bytes) {
    b_.ForceVectorAlignment(bytes, 1, 16);
    const auto v = b_.CreateVector(static_cast<const uint8_t*>(data), bytes);
    buffers_.push_back(tfl::CreateBuffer(b_, v));
    return static_cast<uint32_t>(buffers_.size()) - 1;
  }

  int add_tensor(const std::vector<int32_t>& shape, tfl::TensorType type, uint32_t buf, const std::string& name,
                 const std::vector<float>& scales, int quantized_dimension) {
    fb::Offset<tfl::QuantizationParameters> q = 0;
    if (!scales.empty()) {
      const std::vector<int64_t> zps(scales.size(), 0);
      q = tfl::CreateQuantizationParameters(b_, 0, 0, b_.CreateVector(scales), b_.CreateVector(zps),
                                            tfl::QuantizationDetails::NONE, 0, quantized_dimension);
    }
    tensors_.push_back(tfl::CreateTensor(b_, b_.CreateVector(shape), type, buf, b_.CreateString(name), q));
    return static_cast<int>(tensors_.size()) - 1;
  }

  // An int8 activation tensor quantised per tensor.
  int int8_tensor(const std::vector<int32_t>& shape, const std::string& name, const QuantParams& qp) {
    const std::vector<int64_t> zp = {qp.zero_point};
    const std::vector<float> scale = {qp.scale};
    const auto q = tfl::CreateQuantizationParameters(b_, 0, 0, b_.CreateVector(scale), b_.CreateVector(zp));
    tensors_.push_back(tfl::CreateTensor(b_, b_.CreateVector(shape), tfl::TensorType::INT8, 0, b_.CreateString(name), q));
    return static_cast<int>(tensors_.size()) - 1;
  }

  // A graph tensor's activation tensor: [1, h, w, c], or [1, c] out of a fully connected layer.
  int activation_tensor(int t, const std::string& name) {
    const Shape s = g_.tensors[t].shape;
    const int producer = g_.tensors[t].producer;
    const bool flat = producer >= 0 && s.h == 1 && s.w == 1 &&
                      (std::string(g_.layers[producer].op->name()) == "fc" ||
                       (std::string(g_.layers[producer].op->name()) == "softmax" && flat_[g_.layers[producer].inputs[0]]));
    if (static_cast<int>(flat_.size()) <= t) flat_.resize(g_.tensors.size(), false);
    flat_[t] = flat;
    const std::vector<int32_t> shape = flat ? std::vector<int32_t>{1, s.c} : std::vector<int32_t>{1, s.h, s.w, s.c};
    return int8_tensor(shape, name, m_.tensor_quant[t]);
  }

  void add_operator(tfl::BuiltinOperator code, const std::vector<int32_t>& ins, int out,
                    tfl::BuiltinOptions type, fb::Offset<void> options) {
    const std::vector<int32_t> outs = {out};
    operators_.push_back(tfl::CreateOperator(b_, opcode(code), b_.CreateVector(ins), b_.CreateVector(outs), type, options));
  }

  tfl::ActivationFunctionType act(int i, const Layer& l, const Int8Layer& q) const {
    const std::string a = fused_activation_for(q.act_min, q.act_max, m_.tensor_quant[l.output]);
    if (a.empty()) {
      throw std::invalid_argument(fmt::format("layer {} ({}): its clamp [{}, {}] is no TFLite fused activation",
                                              i, l.name(), q.act_min, q.act_max));
    }
    return activation_enum(a);
  }

  // Weights and biases of a convolution or fully connected layer.
  std::pair<int, int> weights(const std::string& name, const Layer& l, const Int8Layer& q,
                              const std::vector<int32_t>& shape, int quantized_dimension) {
    const uint32_t wb = buffer(q.weight.data(), q.weight.size());
    // One scale when every channel has the same (TF-Lite's per-tensor form: its int8 spec's for
    // FULLY_CONNECTED), else one per output channel.
    const bool per_tensor = std::all_of(q.weight_scale.begin(), q.weight_scale.end(),
                                        [&](float v) { return v == q.weight_scale[0]; });
    const std::vector<float> scales = per_tensor ? std::vector<float>{q.weight_scale[0]} : q.weight_scale;
    const int w = add_tensor(shape, tfl::TensorType::INT8, wb, name + "/weights", scales, quantized_dimension);
    std::vector<float> bias_scale(q.weight_scale.size());
    const double in_scale = m_.tensor_quant[l.inputs[0]].scale;
    for (std::size_t o = 0; o < bias_scale.size(); ++o) bias_scale[o] = static_cast<float>(in_scale * q.weight_scale[o]);
    const uint32_t bb = buffer(q.bias.data(), q.bias.size() * sizeof(int32_t));
    if (per_tensor) bias_scale.resize(1);
    const int b = add_tensor({static_cast<int32_t>(q.bias.size())}, tfl::TensorType::INT32, bb, name + "/bias", bias_scale, 0);
    return {w, b};
  }

  void write_layer(int i) {
    const Layer& l = g_.layers[i];
    const Int8Layer& q = m_.layers[i];
    // The descriptor names the TFLite operator of its arithmetic (OpDescriptor::tflite_builtin).
    const auto code = static_cast<tfl::BuiltinOperator>(l.op->tflite_builtin());
    const std::string name = fmt::format("{}_{}", i, l.name());
    int in0 = tensor_index_[l.inputs[0]];
    const int in1 = l.inputs[1] >= 0 ? tensor_index_[l.inputs[1]] : -1;
    if (code == tfl::BuiltinOperator::CONV_2D || code == tfl::BuiltinOperator::DEPTHWISE_CONV_2D) {
      const bool dw = code == tfl::BuiltinOperator::DEPTHWISE_CONV_2D;
      // SAME when the pads are TF-Lite's SAME pads, VALID when none, else an explicit PAD first.
      const AxisPadding sh = tf_same_padding(l.in.h, l.kh, l.stride), sw = tf_same_padding(l.in.w, l.kw, l.stride);
      const bool none = l.pad_top == 0 && l.pad_left == 0 && l.pad_bottom == 0 && l.pad_right == 0;
      const bool same = l.pad_top == sh.before && l.pad_bottom == sh.after && l.pad_left == sw.before &&
                        l.pad_right == sw.after;
      tfl::Padding padding = none ? tfl::Padding::VALID : tfl::Padding::SAME;
      if (!none && !same) {
        const int32_t pads[8] = {0, 0, l.pad_top, l.pad_bottom, l.pad_left, l.pad_right, 0, 0};
        const uint32_t pb = buffer(pads, sizeof(pads));
        const int pt = add_tensor({4, 2}, tfl::TensorType::INT32, pb, name + "/paddings", {}, 0);
        const int padded = int8_tensor({1, l.in.h + l.pad_top + l.pad_bottom, l.in.w + l.pad_left + l.pad_right, l.in.c},
                                       name + "/padded", m_.tensor_quant[l.inputs[0]]);
        add_operator(tfl::BuiltinOperator::PAD, {in0, pt}, padded, tfl::BuiltinOptions::PadOptions,
                     tfl::CreatePadOptions(b_).Union());
        in0 = padded;
        padding = tfl::Padding::VALID;
        ++r_.pads;
      }
      const auto [w, b] = weights(name, l, q, dw ? std::vector<int32_t>{1, l.kh, l.kw, l.out.c}
                                                 : std::vector<int32_t>{l.out.c, l.kh, l.kw, l.in.c},
                                  dw ? 3 : 0);
      const int out = tensor_index_[l.output] = activation_tensor(l.output, name);
      if (dw) {
        add_operator(tfl::BuiltinOperator::DEPTHWISE_CONV_2D, {in0, w, b}, out, tfl::BuiltinOptions::DepthwiseConv2DOptions,
                     tfl::CreateDepthwiseConv2DOptions(b_, padding, l.stride, l.stride, 1, act(i, l, q)).Union());
      } else {
        add_operator(tfl::BuiltinOperator::CONV_2D, {in0, w, b}, out, tfl::BuiltinOptions::Conv2DOptions,
                     tfl::CreateConv2DOptions(b_, padding, l.stride, l.stride, act(i, l, q)).Union());
      }
    } else if (code == tfl::BuiltinOperator::FULLY_CONNECTED) {
      const auto [w, b] = weights(name, l, q, {l.out.c, l.in.c}, 0);
      const int out = tensor_index_[l.output] = activation_tensor(l.output, name);
      add_operator(tfl::BuiltinOperator::FULLY_CONNECTED, {in0, w, b}, out, tfl::BuiltinOptions::FullyConnectedOptions,
                   tfl::CreateFullyConnectedOptions(b_, act(i, l, q)).Union());
    } else if (code == tfl::BuiltinOperator::ADD) {
      const int out = tensor_index_[l.output] = activation_tensor(l.output, name);
      add_operator(tfl::BuiltinOperator::ADD, {in0, in1}, out, tfl::BuiltinOptions::AddOptions,
                   tfl::CreateAddOptions(b_, act(i, l, q)).Union());
    } else if (code == tfl::BuiltinOperator::AVERAGE_POOL_2D) {
      const int out = tensor_index_[l.output] = activation_tensor(l.output, name);
      add_operator(tfl::BuiltinOperator::AVERAGE_POOL_2D, {in0}, out, tfl::BuiltinOptions::Pool2DOptions,
                   tfl::CreatePool2DOptions(b_, tfl::Padding::VALID, 1, 1, l.in.w, l.in.h, act(i, l, q)).Union());
    } else if (code == tfl::BuiltinOperator::RESIZE_NEAREST_NEIGHBOR) {
      // Upsampling by the integer factor l.stride (ops/kinds/upsample.cpp): TF-Lite's nearest
      // neighbour without align_corners / half_pixel_centers reads in[y * h / (h * f)] = in[y / f].
      // Its input is 4-D: a [1, c] input (a fully connected layer's) is reshaped to [1, 1, 1, c].
      if (flat_[l.inputs[0]]) {
        const int32_t shape[4] = {1, 1, 1, l.in.c};
        const int st = add_tensor({4}, tfl::TensorType::INT32, buffer(shape, sizeof(shape)), name + "/shape", {}, 0);
        const int map = int8_tensor({1, 1, 1, l.in.c}, name + "/map", m_.tensor_quant[l.inputs[0]]);
        add_operator(tfl::BuiltinOperator::RESHAPE, {in0, st}, map, tfl::BuiltinOptions::ReshapeOptions,
                     tfl::CreateReshapeOptions(b_, b_.CreateVector(std::vector<int32_t>(shape, shape + 4))).Union());
        in0 = map;
      }
      const int32_t size[2] = {l.out.h, l.out.w};
      const int st = add_tensor({2}, tfl::TensorType::INT32, buffer(size, sizeof(size)), name + "/size", {}, 0);
      const int out = tensor_index_[l.output] = activation_tensor(l.output, name);
      add_operator(tfl::BuiltinOperator::RESIZE_NEAREST_NEIGHBOR, {in0, st}, out,
                   tfl::BuiltinOptions::ResizeNearestNeighborOptions,
                   tfl::CreateResizeNearestNeighborOptions(b_, false, false).Union());
    } else if (code == tfl::BuiltinOperator::SOFTMAX) {
      const int out = tensor_index_[l.output] = activation_tensor(l.output, name);
      add_operator(tfl::BuiltinOperator::SOFTMAX, {in0}, out, tfl::BuiltinOptions::SoftmaxOptions,
                   tfl::CreateSoftmaxOptions(b_, q.beta).Union());
    } else {
      throw std::invalid_argument(fmt::format("layer {} ({}): the operator {} has no TFLite form", i, l.name(),
                                              l.op->name()));
    }
  }

  const Int8Model& m_;
  const NetGraph& g_;
  TfliteWriteOptions opt_;
  fb::FlatBufferBuilder b_{1 << 16};
  std::vector<fb::Offset<tfl::Buffer>> buffers_;
  std::vector<fb::Offset<tfl::Tensor>> tensors_;
  std::vector<fb::Offset<tfl::Operator>> operators_;
  std::vector<tfl::BuiltinOperator> codes_;
  std::vector<int> tensor_index_;  // graph tensor -> TFLite tensor
  std::vector<bool> flat_;         // graph tensor written as [1, c]
  int first_ = 0;                  // 1: layer 0 (a front end) left out
  TfliteWritten r_;
};

}  // namespace

std::optional<ActivationRange> fused_activation_range(const std::string& name, const QuantParams& out) {
  const float inf = std::numeric_limits<float>::infinity();
  if (name == "NONE") return activation_range(-inf, inf, out);
  if (name == "RELU") return activation_range(0.0f, inf, out);
  if (name == "RELU6") return activation_range(0.0f, 6.0f, out);
  if (name == "RELU_N1_TO_1") return activation_range(-1.0f, 1.0f, out);
  return std::nullopt;
}

std::string fused_activation_for(int32_t act_min, int32_t act_max, const QuantParams& out) {
  for (const char* name : {"NONE", "RELU6", "RELU", "RELU_N1_TO_1"}) {
    if (*fused_activation_range(name, out) == ActivationRange{act_min, act_max}) return name;
  }
  return "";
}

TfliteWritten tflite_bytes(const Int8Model& model, const TfliteWriteOptions& opt) {
  return Writer(model, opt).write();
}

TfliteWritten write_tflite(const Int8Model& model, const std::string& path, const TfliteWriteOptions& opt) {
  TfliteWritten w = tflite_bytes(model, opt);
  write_file_atomic(path, std::string(w.bytes.begin(), w.bytes.end()));
  return w;
}

}  // namespace tinynas
