// Reading an int8 .tflite into an Int8Model (tflite_model.h): each TFLite operator becomes the
// layer of the operator kind (ops/) that runs the same arithmetic, with the file's own weights,
// biases and scales; the requantisation multipliers are derived from the scales as TF-Lite's
// kernels derive them, so the runtime computes what TF-Lite's reference kernels compute.
#include <flatbuffers/flatbuffers.h>
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "nas/export/tflite_model.h"
#include "search_spaces/atomic_file.h"
#include "search_spaces/config_node.h"
#include "tflite_generated.h"

namespace tinynas {

namespace {

namespace tfl = tflite;

constexpr const char* kSupported =
    "tinynas imports CONV_2D, DEPTHWISE_CONV_2D, ADD, AVERAGE_POOL_2D (over the whole map), "
    "FULLY_CONNECTED, SOFTMAX, PAD (before a convolution), RESHAPE and RESIZE_NEAREST_NEIGHBOR (by "
    "an integer factor)";

std::string builtin_name(int code) {
  const char* n = tfl::EnumNameBuiltinOperator(static_cast<tfl::BuiltinOperator>(code));
  if (n != nullptr && *n != '\0') return n;
  // Codes outside the schema subset: the ones a converter commonly writes.
  static const std::map<int, const char*> more = {
      {2, "CONCATENATION"}, {6, "DEQUANTIZE"}, {14, "LOGISTIC"}, {17, "MAX_POOL_2D"}, {18, "MUL"},
      {19, "RELU"}, {21, "RELU6"}, {28, "TANH"}, {32, "CUSTOM"}, {39, "TRANSPOSE"}, {41, "SUB"},
      {43, "SQUEEZE"}, {45, "STRIDED_SLICE"}, {60, "PADV2"}, {67, "TRANSPOSE_CONV"},
      {74, "SUM"}, {98, "LEAKY_RELU"}, {114, "QUANTIZE"},
      {117, "HARD_SWISH"}};
  const auto it = more.find(code);
  return it != more.end() ? it->second : fmt::format("builtin operator {}", code);
}

// The operator code as TF-Lite reads it: the larger of the old byte field and the new one.
int builtin_code(const tfl::OperatorCode* c) {
  return std::max(static_cast<int>(c->deprecated_builtin_code()), static_cast<int>(c->builtin_code()));
}

struct Pending {
  int source = -1;  // our tensor the PAD reads
  int top = 0, bottom = 0, left = 0, right = 0;
};

class Reader {
 public:
  Reader(const std::vector<uint8_t>& bytes, std::string origin) : bytes_(bytes), origin_(std::move(origin)) {}

  ImportedTflite read() {
    flatbuffers::Verifier v(bytes_.data(), bytes_.size());
    if (bytes_.size() < 8 || !tfl::ModelBufferHasIdentifier(bytes_.data())) {
      fail("not a TensorFlow Lite model (expected a flatbuffer with the file identifier TFL3)");
    }
    if (!tfl::VerifyModelBuffer(v)) fail("a damaged TFLite flatbuffer (the flatbuffers verifier rejects it)");
    model_ = tfl::GetModel(bytes_.data());
    if (model_->version() != 3) fail(fmt::format("schema version {}, expected 3", model_->version()));
    if (!model_->subgraphs() || model_->subgraphs()->size() != 1) {
      fail(fmt::format("{} subgraphs; tinynas imports models of exactly one",
                       model_->subgraphs() ? model_->subgraphs()->size() : 0));
    }
    sg_ = model_->subgraphs()->Get(0);
    if (!sg_->tensors() || !sg_->operators() || !sg_->inputs() || !sg_->outputs()) fail("an empty subgraph");
    if (sg_->inputs()->size() != 1 || sg_->outputs()->size() != 1) {
      fail(fmt::format("{} inputs and {} outputs; tinynas imports models of one input and one output",
                       sg_->inputs()->size(), sg_->outputs()->size()));
    }
    r_.origin = origin_;
    if (model_->description()) r_.description = model_->description()->str();
    r_.operators = static_cast<int>(sg_->operators()->size());
    ours_.assign(sg_->tensors()->size(), -1);
    count_readers();

    const int in = sg_->inputs()->Get(0);
    const tfl::Tensor* t = tensor(in, -1);
    if (t->type() == tfl::TensorType::FLOAT32) {
      fail(fmt::format("{} is float32: this is a float model. tinynas imports int8 models: convert it "
                       "with full-integer quantisation (TFLiteConverter with optimizations = "
                       "[tf.lite.Optimize.DEFAULT], a representative_dataset, "
                       "target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8] and "
                       "inference_input_type = inference_output_type = tf.int8)",
                       label(in)));
    }
    if (t->type() != tfl::TensorType::INT8) {
      fail(fmt::format("{} is {}, expected int8 (tinynas imports int8 models)", label(in),
                       tfl::EnumNameTensorType(t->type())));
    }
    NetGraph& g = r_.model.graph;
    g.input = add_tensor(hwc(in, -1), -1, in);
    r_.model.tensor_quant[g.input] = act_quant(in, -1);
    ours_[in] = g.input;

    for (int i = 0; i < r_.operators; ++i) read_operator(i);

    for (const auto& [t2, p] : pending_) {
      (void)p;
      fail(fmt::format("{} is the output of a PAD that no convolution reads", label(t2)));
    }
    const int out = sg_->outputs()->Get(0);
    if (ours_[out] < 0) fail(fmt::format("the model's output {} is not computed by a supported operator", label(out)));
    if (g.layers.empty() || ours_[out] != g.layers.back().output) {
      fail(fmt::format("the model's output {} is not the last operator's", label(out)));
    }
    g.output = ours_[out];
    if (tensor(out, -1)->type() != tfl::TensorType::INT8) fail(fmt::format("{} is not int8", label(out)));
    assign_blocks();
    lifetimes();
    std::sort(r_.operator_kinds.begin(), r_.operator_kinds.end());
    return std::move(r_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw ConfigError(origin_ + ": " + what); }
  [[noreturn]] void fail_op(int i, const std::string& what) const {
    fail(fmt::format("operator {} ({}): {}", i, op_name(i), what));
  }

  // fail_op for an operator's tensor, fail for the model's input (op < 0).
  [[noreturn]] void fail_at(int op, const std::string& what) const {
    if (op >= 0) fail_op(op, what);
    fail(what);
  }

  std::string op_name(int i) const {
    const tfl::Operator* op = sg_->operators()->Get(i);
    if (!model_->operator_codes() || op->opcode_index() >= model_->operator_codes()->size()) return "?";
    const tfl::OperatorCode* c = model_->operator_codes()->Get(op->opcode_index());
    const int code = builtin_code(c);
    if (code == 32 && c->custom_code()) return "CUSTOM " + c->custom_code()->str();
    return builtin_name(code);
  }

  const tfl::Tensor* tensor(int t, int op) const {
    if (t < 0 || t >= static_cast<int>(sg_->tensors()->size())) {
      if (op >= 0) fail_op(op, fmt::format("refers to tensor {}, which does not exist", t));
      fail(fmt::format("refers to tensor {}, which does not exist", t));
    }
    return sg_->tensors()->Get(t);
  }

  std::string label(int t) const {
    const tfl::Tensor* x = sg_->tensors()->Get(t);
    return fmt::format("tensor {} '{}'", t, x->name() ? x->name()->str() : std::string());
  }

  std::vector<int> dims(int t, int op) const {
    const tfl::Tensor* x = tensor(t, op);
    std::vector<int> d;
    if (x->shape()) d.assign(x->shape()->begin(), x->shape()->end());
    return d;
  }

  // An activation's shape as HWC: [1, h, w, c], [1, w, c] (h = 1), [1, c] or [c].
  Shape hwc(int t, int op) const {
    const std::vector<int> d = dims(t, op);
    auto bad = [&] {
      const std::string what = fmt::format("{} has the shape [{}]; expected [1, h, w, c] or [1, c] (batch 1)",
                                           label(t), fmt::join(d, ", "));
      if (op >= 0) fail_op(op, what);
      fail(what);
    };
    for (int v : d) if (v <= 0) bad();
    if (d.size() == 4 && d[0] == 1) return {d[1], d[2], d[3]};
    if (d.size() == 3 && d[0] == 1) return {1, d[1], d[2]};
    if (d.size() == 2 && d[0] == 1) return {1, 1, d[1]};
    if (d.size() != 1) bad();
    return {1, 1, d[0]};
  }

  // Per-tensor int8 activation parameters.
  QuantParams act_quant(int t, int op) const {
    const tfl::Tensor* x = tensor(t, op);
    if (x->type() != tfl::TensorType::INT8) {
      fail_at(op, fmt::format("{} is {}, expected int8", label(t), tfl::EnumNameTensorType(x->type())));
    }
    const tfl::QuantizationParameters* q = x->quantization();
    if (!q || !q->scale() || q->scale()->size() != 1 || !q->zero_point() || q->zero_point()->size() != 1) {
      fail_at(op, fmt::format("{} has no per-tensor quantisation (one scale and one zero point)", label(t)));
    }
    QuantParams p;
    p.scale = q->scale()->Get(0);
    const int64_t zp = q->zero_point()->Get(0);
    if (!(p.scale > 0) || !std::isfinite(p.scale) || zp < -128 || zp > 127) {
      fail_at(op, fmt::format("{}: scale {} and zero point {}, expected a scale > 0 and a zero point in "
                              "[-128, 127]", label(t), p.scale, zp));
    }
    p.zero_point = static_cast<int32_t>(zp);
    return p;
  }

  const flatbuffers::Vector<uint8_t>* data(int t, int op, std::size_t bytes) const {
    const tfl::Tensor* x = tensor(t, op);
    const auto* buffers = model_->buffers();
    if (!buffers || x->buffer() >= buffers->size() || !buffers->Get(x->buffer())->data() ||
        buffers->Get(x->buffer())->data()->size() != bytes) {
      fail_op(op, fmt::format("{} should be a constant of {} bytes", label(t), bytes));
    }
    return buffers->Get(x->buffer())->data();
  }

  // Per-channel (or per-tensor, repeated) symmetric int8 weights along `channel_dim`.
  std::vector<float> weight_scales(int t, int op, int channels, int channel_dim) const {
    const tfl::Tensor* x = tensor(t, op);
    if (x->type() != tfl::TensorType::INT8) {
      fail_op(op, fmt::format("{} (weights) is {}, expected int8", label(t), tfl::EnumNameTensorType(x->type())));
    }
    if (x->sparsity()) fail_op(op, fmt::format("{} is sparse; tinynas reads dense weights", label(t)));
    const tfl::QuantizationParameters* q = x->quantization();
    const int n = q && q->scale() ? static_cast<int>(q->scale()->size()) : 0;
    if (n != 1 && n != channels) {
      fail_op(op, fmt::format("{} has {} scales, expected 1 or {} (one per output channel)", label(t), n, channels));
    }
    if (n == channels && n > 1 && q->quantized_dimension() != channel_dim) {
      fail_op(op, fmt::format("{} is quantised along dimension {}, expected {}", label(t),
                              q->quantized_dimension(), channel_dim));
    }
    std::vector<float> s(channels);
    for (int o = 0; o < channels; ++o) {
      s[o] = q->scale()->Get(n == 1 ? 0 : o);
      const int64_t zp = q->zero_point() && q->zero_point()->size() > 0
                             ? q->zero_point()->Get(std::min<int>(q->zero_point()->size() - 1, n == 1 ? 0 : o))
                             : 0;
      if (zp != 0) fail_op(op, fmt::format("{}: weight zero point {}, expected 0 (symmetric)", label(t), zp));
      if (!(s[o] > 0) || !std::isfinite(s[o])) fail_op(op, fmt::format("{}: weight scale {}", label(t), s[o]));
    }
    return s;
  }

  std::vector<int32_t> bias(int t, int op, int channels) const {
    if (t < 0) return std::vector<int32_t>(channels, 0);
    const tfl::Tensor* x = tensor(t, op);
    if (x->type() != tfl::TensorType::INT32) {
      fail_op(op, fmt::format("{} (bias) is {}, expected int32", label(t), tfl::EnumNameTensorType(x->type())));
    }
    const auto* d = data(t, op, static_cast<std::size_t>(channels) * 4);
    std::vector<int32_t> b(channels);
    std::memcpy(b.data(), d->data(), d->size());  // little-endian, as the host
    return b;
  }

  // The clamp TF-Lite derives from a fused activation and the output's quantisation.
  void activation(int op, tfl::ActivationFunctionType a, const QuantParams& out, Layer* l, Int8Layer* q) const {
    const char* name = tfl::EnumNameActivationFunctionType(a);
    const auto range = fused_activation_range(name, out);
    if (!range) {
      fail_op(op, fmt::format("fused activation {} is not supported (NONE, RELU, RELU6, RELU_N1_TO_1 are)", name));
    }
    q->act_min = range->min;
    q->act_max = range->max;
    l->relu6 = a != tfl::ActivationFunctionType::NONE;
  }

  void count_readers() {
    readers_.assign(sg_->tensors()->size(), 0);
    for (const tfl::Operator* op : *sg_->operators()) {
      if (!op->inputs()) continue;
      for (int t : *op->inputs()) {
        if (t >= 0 && t < static_cast<int>(readers_.size())) ++readers_[t];
      }
    }
  }

  int add_tensor(Shape s, int producer, int tfl_tensor) {
    TensorInfo t;
    t.shape = s;
    t.producer = producer;
    r_.model.graph.tensors.push_back(t);
    r_.model.tensor_quant.push_back(QuantParams{});
    const tfl::Tensor* x = sg_->tensors()->Get(tfl_tensor);
    r_.tensor_names.push_back(x->name() ? x->name()->str() : std::string());
    return static_cast<int>(r_.model.graph.tensors.size()) - 1;
  }

  // The graph tensor an operator reads.
  int input(int op, int t) const {
    tensor(t, op);
    if (pending_.count(t)) fail_op(op, fmt::format("reads {}, the output of a PAD: only a convolution may", label(t)));
    if (ours_[t] < 0) {
      fail_op(op, fmt::format("reads {}, which no supported operator computes before it", label(t)));
    }
    return ours_[t];
  }

  // Appends layer `l` (op, inputs, window and pads set), checks its shape against the file's
  // output tensor and records it.
  void add_layer(int i, const OpDescriptor& d, Layer l, Int8Layer q, int out_t, int out_channels,
                 const QuantParams& out_q, bool check_shape = true) {
    NetGraph& g = r_.model.graph;
    l.op = &d;
    d.infer(&l, out_channels);
    const Shape want = hwc(out_t, i);
    if (check_shape && !(l.out == want)) {
      fail_op(i, fmt::format("the output {} is {}x{}x{}, but the operator computes {}x{}x{}", label(out_t),
                             want.h, want.w, want.c, l.out.h, l.out.w, l.out.c));
    }
    const int layer = static_cast<int>(g.layers.size());
    l.output = add_tensor(l.out, layer, out_t);
    r_.model.tensor_quant[l.output] = out_q;
    for (int k = 0; k < l.num_inputs(); ++k) g.tensors[l.inputs[k]].last_consumer = layer;
    g.layers.push_back(l);
    r_.model.layers.push_back(std::move(q));
    r_.layer_operator.push_back(i);
    ours_[out_t] = l.output;
  }

  void read_operator(int i) {
    const tfl::Operator* op = sg_->operators()->Get(i);
    if (!model_->operator_codes() || op->opcode_index() >= model_->operator_codes()->size()) {
      fail(fmt::format("operator {} has the operator code {}, which does not exist", i, op->opcode_index()));
    }
    const int code = builtin_code(model_->operator_codes()->Get(op->opcode_index()));
    const std::string kind = op_name(i);
    if (std::find(r_.operator_kinds.begin(), r_.operator_kinds.end(), kind) == r_.operator_kinds.end()) {
      r_.operator_kinds.push_back(kind);
    }
    std::vector<int> ins, outs;
    if (op->inputs()) ins.assign(op->inputs()->begin(), op->inputs()->end());
    if (op->outputs()) outs.assign(op->outputs()->begin(), op->outputs()->end());
    if (outs.size() != 1) fail_op(i, fmt::format("{} outputs, expected 1", outs.size()));
    const int out = outs[0];
    tensor(out, i);
    auto need_inputs = [&](std::size_t lo, std::size_t hi) {
      if (ins.size() < lo || ins.size() > hi) {
        fail_op(i, fmt::format("{} inputs, expected {}", ins.size(), lo == hi ? std::to_string(lo) : fmt::format("{} to {}", lo, hi)));
      }
    };
    switch (static_cast<tfl::BuiltinOperator>(code)) {
      case tfl::BuiltinOperator::CONV_2D:
      case tfl::BuiltinOperator::DEPTHWISE_CONV_2D:
        need_inputs(2, 3);
        return read_conv(i, op, code == static_cast<int>(tfl::BuiltinOperator::DEPTHWISE_CONV_2D), ins, out);
      case tfl::BuiltinOperator::FULLY_CONNECTED:
        need_inputs(2, 3);
        return read_fc(i, op, ins, out);
      case tfl::BuiltinOperator::ADD:
        need_inputs(2, 2);
        return read_add(i, op, ins, out);
      case tfl::BuiltinOperator::AVERAGE_POOL_2D:
        need_inputs(1, 1);
        return read_avgpool(i, op, ins[0], out);
      case tfl::BuiltinOperator::SOFTMAX:
        need_inputs(1, 1);
        return read_softmax(i, op, ins[0], out);
      case tfl::BuiltinOperator::RESHAPE:
        need_inputs(1, 2);
        return read_reshape(i, ins[0], out);
      case tfl::BuiltinOperator::PAD:
        need_inputs(2, 2);
        return read_pad(i, ins, out);
      case tfl::BuiltinOperator::RESIZE_NEAREST_NEIGHBOR:
        need_inputs(2, 2);
        return read_upsample(i, op, ins, out);
      default:
        fail_op(i, std::string("not supported: ") + kSupported);
    }
  }

  void read_conv(int i, const tfl::Operator* op, bool dw, const std::vector<int>& ins, int out) {
    int stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
    tfl::Padding padding = tfl::Padding::VALID;
    tfl::ActivationFunctionType act = tfl::ActivationFunctionType::NONE;
    if (dw) {
      const auto* o = op->builtin_options_as_DepthwiseConv2DOptions();
      if (!o) fail_op(i, "no DepthwiseConv2DOptions");
      stride_h = o->stride_h(), stride_w = o->stride_w(), dil_h = o->dilation_h_factor(),
      dil_w = o->dilation_w_factor(), padding = o->padding(), act = o->fused_activation_function();
    } else {
      const auto* o = op->builtin_options_as_Conv2DOptions();
      if (!o) fail_op(i, "no Conv2DOptions");
      stride_h = o->stride_h(), stride_w = o->stride_w(), dil_h = o->dilation_h_factor(),
      dil_w = o->dilation_w_factor(), padding = o->padding(), act = o->fused_activation_function();
    }
    if (dil_h != 1 || dil_w != 1) fail_op(i, fmt::format("dilation {}x{}: tinynas runs undilated kernels", dil_h, dil_w));
    if (stride_h != stride_w || stride_h < 1) {
      fail_op(i, fmt::format("strides {} (rows) and {} (columns): the runtime takes one stride >= 1 for both",
                             stride_h, stride_w));
    }
    // A PAD right before: its pads become this layer's explicit pads.
    Pending pad;
    const auto pit = pending_.find(ins[0]);
    int x;
    if (pit != pending_.end()) {
      pad = pit->second;
      x = pad.source;
      pending_.erase(pit);
      ++r_.folded_pads;
    } else {
      x = input(i, ins[0]);
    }
    const Shape in = r_.model.graph.tensors[x].shape;
    const QuantParams in_q = r_.model.tensor_quant[x];
    const std::vector<int> wd = dims(ins[1], i);
    if (wd.size() != 4) fail_op(i, fmt::format("{} (weights) has {} dimensions, expected 4", label(ins[1]), wd.size()));
    const int cout = dw ? wd[3] : wd[0], kh = wd[1], kw = wd[2];
    if (dw ? (wd[0] != 1 || cout != in.c) : (wd[3] != in.c)) {
      fail_op(i, dw ? fmt::format("weights [{}], expected [1, kh, kw, {}] (depth multiplier 1)", fmt::join(wd, ", "), in.c)
                    : fmt::format("weights [{}] on an input of {} channels (grouped convolutions are not supported)",
                                  fmt::join(wd, ", "), in.c));
    }
    Layer l;
    l.role = dw ? LayerRole::Depthwise : r_.model.graph.layers.empty() ? LayerRole::Stem : LayerRole::Project;
    l.inputs[0] = x;
    l.in = in;
    l.kh = kh, l.kw = kw, l.stride = stride_h;
    // SAME is computed on the (PAD-)padded input.
    const int ph = in.h + pad.top + pad.bottom, pw = in.w + pad.left + pad.right;
    const AxisPadding sh = padding == tfl::Padding::SAME ? tf_same_padding(ph, kh, stride_h) : AxisPadding{};
    const AxisPadding sw = padding == tfl::Padding::SAME ? tf_same_padding(pw, kw, stride_w) : AxisPadding{};
    l.pad_top = pad.top + sh.before, l.pad_bottom = pad.bottom + sh.after;
    l.pad_left = pad.left + sw.before, l.pad_right = pad.right + sw.after;
    if (l.pad_top >= kh || l.pad_bottom >= kh || l.pad_left >= kw || l.pad_right >= kw) {
      fail_op(i, fmt::format("pads {} {} {} {} (top, left, bottom, right) for a {}x{} kernel: the runtime "
                             "needs each pad smaller than the kernel", l.pad_top, l.pad_left, l.pad_bottom,
                             l.pad_right, kh, kw));
    }
    const QuantParams out_q = act_quant(out, i);
    Int8Layer q;
    const std::vector<float> ws = weight_scales(ins[1], i, cout, dw ? 3 : 0);
    const auto* w = data(ins[1], i, static_cast<std::size_t>(cout) * kh * kw * (dw ? 1 : in.c));
    q.weight.assign(reinterpret_cast<const int8_t*>(w->data()), reinterpret_cast<const int8_t*>(w->data()) + w->size());
    q.bias = bias(ins.size() > 2 ? ins[2] : -1, i, cout);
    q.weight_scale = ws;
    requant(i, in_q, out_q, &q);
    activation(i, act, out_q, &l, &q);
    const bool pointwise = !dw && kh == 1 && kw == 1 && stride_h == 1 && l.pad_top == 0 && l.pad_left == 0 &&
                           l.pad_bottom == 0 && l.pad_right == 0;
    add_layer(i, tinynas::op(dw ? "depthwise" : pointwise ? "pointwise" : "conv"), l, std::move(q), out, cout, out_q);
  }

  // Per channel: acc -> output as TF-Lite's kernels compute it, real = s_in * s_w / s_out in double.
  void requant(int i, const QuantParams& in, const QuantParams& out, Int8Layer* q) const {
    const std::size_t n = q->weight_scale.size();
    q->multiplier.resize(n);
    q->shift.resize(n);
    for (std::size_t o = 0; o < n; ++o) {
      const double real = static_cast<double>(in.scale) * static_cast<double>(q->weight_scale[o]) /
                          static_cast<double>(out.scale);
      try {
        quantize_multiplier(real, &q->multiplier[o], &q->shift[o]);
      } catch (const std::invalid_argument& e) {
        fail_op(i, e.what());
      }
    }
  }

  void read_fc(int i, const tfl::Operator* op, const std::vector<int>& ins, int out) {
    const auto* o = op->builtin_options_as_FullyConnectedOptions();
    const tfl::ActivationFunctionType act = o ? o->fused_activation_function() : tfl::ActivationFunctionType::NONE;
    if (o && o->weights_format() != tfl::FullyConnectedOptionsWeightsFormat::DEFAULT) {
      fail_op(i, "shuffled weights are not supported");
    }
    const int x = input(i, ins[0]);
    const std::vector<int> wd = dims(ins[1], i);
    if (wd.size() != 2) fail_op(i, fmt::format("{} (weights) has {} dimensions, expected 2", label(ins[1]), wd.size()));
    const int units = wd[0], depth = wd[1];
    const int64_t elements = r_.model.graph.tensors[x].shape.elements();
    if (elements != depth) {
      fail_op(i, fmt::format("an input of {} values for weights [{}, {}] (batch 1 only)", elements, units, depth));
    }
    Layer l;
    l.role = LayerRole::Classifier;
    l.inputs[0] = x;
    l.in = {1, 1, depth};  // the input's bytes, flattened as TF-Lite does
    const QuantParams in_q = r_.model.tensor_quant[x], out_q = act_quant(out, i);
    Int8Layer q;
    q.weight_scale = weight_scales(ins[1], i, units, 0);
    const auto* w = data(ins[1], i, static_cast<std::size_t>(units) * depth);
    q.weight.assign(reinterpret_cast<const int8_t*>(w->data()), reinterpret_cast<const int8_t*>(w->data()) + w->size());
    q.bias = bias(ins.size() > 2 ? ins[2] : -1, i, units);
    requant(i, in_q, out_q, &q);
    activation(i, act, out_q, &l, &q);
    if (hwc(out, i).elements() != units) fail_op(i, fmt::format("the output {} does not have {} values", label(out), units));
    add_layer(i, tinynas::op("fc"), l, std::move(q), out, units, out_q, false);
  }

  void read_add(int i, const tfl::Operator* op, const std::vector<int>& ins, int out) {
    const auto* o = op->builtin_options_as_AddOptions();
    const int a = input(i, ins[0]), b = input(i, ins[1]);
    const NetGraph& g = r_.model.graph;
    if (!(g.tensors[a].shape == g.tensors[b].shape)) fail_op(i, "inputs of different shapes (broadcasting is not supported)");
    Layer l;
    l.role = LayerRole::Residual;
    l.inputs[0] = a, l.inputs[1] = b;
    l.in = g.tensors[a].shape;
    const QuantParams in_q[2] = {r_.model.tensor_quant[a], r_.model.tensor_quant[b]};
    QuantParams out_q = act_quant(out, i);
    Int8Layer q;
    activation(i, o ? o->fused_activation_function() : tfl::ActivationFunctionType::NONE, out_q, &l, &q);
    const OpDescriptor& d = tinynas::op("add");
    try {
      d.quantize(l, FloatLayer{}, in_q, &out_q, &q);
    } catch (const std::invalid_argument& e) {
      fail_op(i, e.what());
    }
    add_layer(i, d, l, std::move(q), out, l.in.c, out_q);
  }

  void read_avgpool(int i, const tfl::Operator* op, int in_t, int out) {
    const auto* o = op->builtin_options_as_Pool2DOptions();
    if (!o) fail_op(i, "no Pool2DOptions");
    const int x = input(i, in_t);
    const Shape in = r_.model.graph.tensors[x].shape;
    const Shape want = hwc(out, i);
    if (want.h != 1 || want.w != 1 || o->filter_height() != in.h || o->filter_width() != in.w) {
      fail_op(i, fmt::format("a {}x{} window on a {}x{} map: tinynas runs average pooling over the whole map",
                             o->filter_height(), o->filter_width(), in.h, in.w));
    }
    const QuantParams in_q = r_.model.tensor_quant[x], out_q = act_quant(out, i);
    if (in_q.scale != out_q.scale || in_q.zero_point != out_q.zero_point) {
      fail_op(i, "input and output quantised differently (TF-Lite's int8 average pool keeps the input's)");
    }
    Layer l;
    l.role = LayerRole::Pool;
    l.inputs[0] = x;
    l.in = in;
    Int8Layer q;
    activation(i, o->fused_activation_function(), out_q, &l, &q);
    add_layer(i, tinynas::op("avgpool"), l, std::move(q), out, in.c, out_q);
  }

  void read_softmax(int i, const tfl::Operator* op, int in_t, int out) {
    const auto* o = op->builtin_options_as_SoftmaxOptions();
    const int x = input(i, in_t);
    Layer l;
    l.role = LayerRole::Softmax;
    l.inputs[0] = x;
    l.in = hwc(in_t, i);  // rows x the last dimension, as TF-Lite reads it
    if (l.in.elements() != r_.model.graph.tensors[x].shape.elements()) fail_op(i, "the input's size changed");
    const QuantParams in_q[2] = {r_.model.tensor_quant[x], QuantParams{}};
    const QuantParams file_q = act_quant(out, i);
    QuantParams out_q;
    Int8Layer q;
    q.beta = o ? o->beta() : 1.0f;
    const OpDescriptor& d = tinynas::op("softmax");
    try {
      d.quantize(l, FloatLayer{}, in_q, &out_q, &q);
    } catch (const std::invalid_argument& e) {
      fail_op(i, e.what());
    }
    // TF-Lite's own check: the scale within 0.1% of 1/256 (the kernel then uses exactly 1/256).
    if (std::abs(file_q.scale - out_q.scale) > 0.001f * out_q.scale || file_q.zero_point != out_q.zero_point) {
      fail_op(i, fmt::format("output scale {} and zero point {}; TF-Lite's int8 softmax writes 1/256 and -128",
                             file_q.scale, file_q.zero_point));
    }
    add_layer(i, d, l, std::move(q), out, l.in.c, out_q, false);
  }

  // Nearest-neighbour resizing by one integer factor f on both axes: the upsample kind, whose
  // out[y][x] = in[y / f][x / f] is TF-Lite's index min(floor((y + o) * h / (h * f)), h - 1) for
  // o = 0 and, half_pixel_centers, o = 0.5 (its fraction stays below 1). align_corners scales by
  // (h - 1) / (h * f - 1) instead: refused.
  void read_upsample(int i, const tfl::Operator* op, const std::vector<int>& ins, int out) {
    const auto* o = op->builtin_options_as_ResizeNearestNeighborOptions();
    if (o && o->align_corners()) fail_op(i, "align_corners: tinynas upsamples by an integer factor without it");
    const int x = input(i, ins[0]);
    const Shape in = r_.model.graph.tensors[x].shape, want = hwc(out, i);
    const tfl::Tensor* st = tensor(ins[1], i);
    if (st->type() != tfl::TensorType::INT32 || dims(ins[1], i) != std::vector<int>{2}) {
      fail_op(i, fmt::format("{} (size) should be int32 [2]", label(ins[1])));
    }
    const auto* d = data(ins[1], i, 8);
    int32_t size[2];
    std::memcpy(size, d->data(), 8);
    const int f = in.h > 0 ? size[0] / in.h : 0;
    if (f < 1 || size[0] != in.h * f || size[1] != in.w * f || want.h != size[0] || want.w != size[1] ||
        want.c != in.c) {
      fail_op(i, fmt::format("resizes {}x{}x{} to {}x{} (output {}x{}x{}): tinynas upsamples by one integer "
                             "factor on both axes", in.h, in.w, in.c, size[0], size[1], want.h, want.w, want.c));
    }
    const QuantParams in_q = r_.model.tensor_quant[x], out_q = act_quant(out, i);
    if (in_q.scale != out_q.scale || in_q.zero_point != out_q.zero_point) {
      fail_op(i, "input and output quantised differently (TF-Lite's int8 resize keeps the input's)");
    }
    Layer l;
    l.role = LayerRole::Upsample;
    l.inputs[0] = x;
    l.in = in;
    l.set_window(1, 1, f);
    add_layer(i, tinynas::op("upsample"), l, Int8Layer{}, out, in.c, out_q);
  }

  // A view of the same bytes: the output is the input's graph tensor (the readers take the
  // shape they need: FULLY_CONNECTED and SOFTMAX read the file's shapes, the rest the graph's).
  void read_reshape(int i, int in_t, int out) {
    const int x = input(i, in_t);
    if (hwc(out, i).elements() != r_.model.graph.tensors[x].shape.elements()) fail_op(i, "changes the number of values");
    const QuantParams in_q = r_.model.tensor_quant[x], out_q = act_quant(out, i);
    if (in_q.scale != out_q.scale || in_q.zero_point != out_q.zero_point) {
      fail_op(i, "input and output quantised differently");
    }
    ours_[out] = x;
    ++r_.reshapes;
  }

  void read_pad(int i, const std::vector<int>& ins, int out) {
    const int x = input(i, ins[0]);
    const tfl::Tensor* pt = tensor(ins[1], i);
    if (pt->type() != tfl::TensorType::INT32 || dims(ins[1], i) != std::vector<int>{4, 2}) {
      fail_op(i, fmt::format("{} (paddings) should be int32 [4, 2]", label(ins[1])));
    }
    const auto* d = data(ins[1], i, 32);
    int32_t p[8];
    std::memcpy(p, d->data(), 32);
    if (p[0] || p[1] || p[6] || p[7]) fail_op(i, "pads the batch or the channels; tinynas pads rows and columns");
    for (int k = 0; k < 8; ++k) if (p[k] < 0) fail_op(i, "a negative pad");
    const QuantParams in_q = r_.model.tensor_quant[x], out_q = act_quant(out, i);
    if (in_q.scale != out_q.scale || in_q.zero_point != out_q.zero_point) fail_op(i, "input and output quantised differently");
    if (readers_[out] != 1) fail_op(i, fmt::format("its output is read by {} operators; tinynas folds a PAD into the one convolution after it", readers_[out]));
    pending_[out] = Pending{x, p[2], p[3], p[4], p[5]};
  }

  // Blocks for patch-based schedules: a patch stage may end after a layer whose output is the
  // only tensor alive across the cut (no residual crosses it), before any global operator. As in
  // lowered graphs, the layers before the first cut are block -1, then 0, 1, ...
  void assign_blocks() {
    NetGraph& g = r_.model.graph;
    const int n = static_cast<int>(g.layers.size());
    int block = -1;
    bool global_seen = false;
    for (int i = 0; i < n; ++i) {
      Layer& l = g.layers[i];
      l.stage = -1;
      l.block = block;
      global_seen = global_seen || l.op->patch_rule() == PatchRule::Global;
      if (global_seen || i + 1 >= n) continue;
      bool cut = true;
      for (std::size_t t = 0; t < g.tensors.size() && cut; ++t) {
        const TensorInfo& ti = g.tensors[t];
        const bool alive = ti.producer <= i && ti.last_consumer > i;
        if (alive && static_cast<int>(t) != l.output) cut = false;
      }
      if (cut) ++block;
    }
    g.num_blocks = std::max(block, 0);
  }

  void lifetimes() {
    const int n = static_cast<int>(sg_->tensors()->size());
    std::vector<int> first(n, -1), last(n, -1);
    const int in = sg_->inputs()->Get(0), out = sg_->outputs()->Get(0);
    first[in] = 0;
    for (int i = 0; i < r_.operators; ++i) {
      const tfl::Operator* op = sg_->operators()->Get(i);
      for (int t : *op->outputs()) if (first[t] < 0) first[t] = i;
      if (op->inputs()) {
        for (int t : *op->inputs()) if (t >= 0) last[t] = i;
      }
    }
    last[out] = r_.operators - 1;
    for (int t = 0; t < n; ++t) {
      const tfl::Tensor* x = sg_->tensors()->Get(t);
      const auto* b = model_->buffers();
      const bool constant = x->buffer() > 0 && b && x->buffer() < b->size() && b->Get(x->buffer())->data() &&
                            b->Get(x->buffer())->data()->size() > 0;
      if (constant || first[t] < 0) continue;
      int64_t bytes = x->type() == tfl::TensorType::INT32 ? 4 : 1;
      if (x->shape()) for (int d : *x->shape()) bytes *= d;
      r_.tflm_tensors.push_back({bytes, first[t], std::max(last[t], first[t])});
    }
  }

  const std::vector<uint8_t>& bytes_;
  std::string origin_;
  const tfl::Model* model_ = nullptr;
  const tfl::SubGraph* sg_ = nullptr;
  ImportedTflite r_;
  std::vector<int> ours_;     // TFLite tensor -> graph tensor (-1: none yet)
  std::vector<int> readers_;  // TFLite tensor -> operators reading it
  std::map<int, Pending> pending_;  // PAD outputs waiting for their convolution
};

}  // namespace

ImportedTflite parse_tflite(const std::vector<uint8_t>& bytes, const std::string& origin) {
  return Reader(bytes, origin).read();
}

int64_t tflm_greedy_arena_bytes(const std::vector<ImportedTflite::Lifetime>& tensors) {
  struct Placed {
    int64_t offset, bytes;
    int first, last;
  };
  std::vector<std::size_t> order(tensors.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  auto aligned = [](int64_t b) { return (b + 15) / 16 * 16; };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return aligned(tensors[a].bytes) > aligned(tensors[b].bytes); });
  std::vector<Placed> placed;
  int64_t arena = 0;
  for (std::size_t k : order) {
    const auto& t = tensors[k];
    const int64_t bytes = aligned(t.bytes);
    std::vector<Placed> live;
    for (const Placed& p : placed) {
      if (p.first <= t.last && t.first <= p.last) live.push_back(p);
    }
    std::sort(live.begin(), live.end(), [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    int64_t offset = 0;
    for (const Placed& p : live) {
      if (p.offset >= offset + bytes) break;  // the gap before p fits
      offset = std::max(offset, p.offset + p.bytes);
    }
    placed.push_back({offset, bytes, t.first, t.last});
    arena = std::max(arena, offset + bytes);
  }
  return arena;
}

ImportedTflite read_tflite(const std::string& path) {
  const std::string s = read_file(path);
  return parse_tflite(std::vector<uint8_t>(s.begin(), s.end()), path);
}

}  // namespace tinynas
