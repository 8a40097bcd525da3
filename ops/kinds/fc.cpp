// Fully connected (the classifier, an autoencoder's dense layers): runtime/tn_fully_connected_s8.c,
// weights [out][in] with one scale, int32 bias, requantisation stored per channel (equal
// multipliers). It reads its input flattened: an h x w x c map is h*w*c values in HWC order.
#include <fmt/core.h>

#include <stdexcept>

#include "ops/op.h"

namespace tinynas {
namespace {

class FullyConnected final : public OpDescriptor {
 public:
  FullyConnected() : OpDescriptor({"fc", 1, false, PatchRule::Global, true}) {}
  void infer(Layer* l, int out_channels) const override {
    l->out = {1, 1, out_channels};
    l->macs = l->in.elements() * out_channels;
    l->weights = l->macs;
    l->biases = out_channels;
  }
  // Weight bytes equal MACs: left out of the fit.
  bool latency_feature_used(int f) const override { return f != kWeightBytes; }
  int64_t weight_bytes(int, int, int c_in, int c_out) const override {
    return int64_t{c_in} * c_out;
  }
  int64_t default_code_per_layer() const override { return 96; }
  int64_t default_kernel_code() const override { return 512; }
  int tflite_builtin() const override { return 9; }  // FULLY_CONNECTED

  FloatLayer fold(const Layer& l, const LayerWeights& t) const override {
    const std::size_t expected = static_cast<std::size_t>(l.out.c * l.in.elements());
    const std::size_t channels = static_cast<std::size_t>(l.out.c);
    if (t.weight.size() != expected || (t.has_bn() && (t.bn_gamma.size() != channels ||
                                                       t.bn_beta.size() != channels ||
                                                       t.bn_mean.size() != channels ||
                                                       t.bn_var.size() != channels)) ||
        (!t.bias.empty() && t.bias.size() != channels)) {
      throw std::invalid_argument("layer " + l.name() + ": weights do not match the graph (expected " +
                                  std::to_string(expected) + " weights and " +
                                  std::to_string(l.out.c) + " channels, got " +
                                  std::to_string(t.weight.size()) + ")");
    }
    const LayerWeights folded = t.folded();
    FloatLayer f;
    f.weight = folded.weight;  // [out][in]: the runtime's layout already
    f.bias = folded.bias.empty() ? std::vector<float>(l.out.c, 0.0f) : folded.bias;
    return f;
  }

  void run_float(const Layer& l, const FloatLayer& f, const float* const in[2],
                 float* out) const override {
    for (int o = 0; o < l.out.c; ++o) {
      float acc = f.bias[o];
      const int64_t n = l.in.elements();
      for (int64_t c = 0; c < n; ++c) {
        acc += in[0][c] * f.weight[static_cast<std::size_t>(o * n + c)];
      }
      out[o] = acc;
    }
  }

  void quantize(const Layer& l, const FloatLayer& f, const QuantParams in[2], QuantParams* out,
                Int8Layer* q) const override {
    // Per-tensor weights, as TF-Lite's int8 specification has them for FULLY_CONNECTED (and
    // TF-Lite Micro and Arm NN run them): the exported .tflite is then a standard one.
    quantize_per_channel(f, l.out.c, static_cast<int>(l.in.elements()), 1, in[0], *out, q,
                         /*per_tensor=*/true);
  }

  void run_int8(const Layer& l, const Int8Layer& q, const QuantParams in[2],
                const QuantParams& out, const int8_t* const x[2], int8_t* y) const override {
    for (int o = 0; o < l.out.c; ++o) {
      int32_t acc = q.bias[o];
      const int64_t n = l.in.elements();
      const int8_t* w = q.weight.data() + static_cast<std::size_t>(o * n);
      for (int64_t c = 0; c < n; ++c) acc += (x[0][c] - in[0].zero_point) * w[c];
      y[o] = requantize(acc, q, o, out.zero_point);
    }
  }

  void emit_constants(EmitContext& c, int i, const Layer& l, const Int8Layer& q) const override {
    c.array(fmt::format("w{}", i), q.weight);
    c.array(fmt::format("b{}", i), q.bias);
    c.array(fmt::format("m{}", i), q.multiplier);
    c.array(fmt::format("s{}", i), q.shift);
    c.data() << fmt::format(
        "static const tn_fc_params_t p{} = {{{}, {}, {}, {}, {}, {}, m{}, s{}, 1}};\n", i,
        l.in.elements(),
        l.out.c, c.quant(l.inputs[0]).zero_point, c.quant(l.output).zero_point, q.act_min,
        q.act_max, i, i);
  }

  void emit_call(EmitContext& c, int i, const Layer&, const Int8Layer&, const std::string in[2],
                 const std::string& out) const override {
    c.body() << fmt::format("  rc = tn_fully_connected_s8(&p{}, {}, w{}, b{}, {});\n", i, in[0], i,
                            i, out);
  }
};

}  // namespace

const OpDescriptor& op_fc() {
  static const FullyConnected d;
  return d;
}

}  // namespace tinynas
