// Softmax over the channels (a classifier's probabilities): TF-Lite's int8 SOFTMAX,
// runtime/tn_softmax_s8.c. The output is quantised as TF-Lite requires (scale 1/256, zero point
// -128). tinynas's own networks end in logits; this operator comes with imported .tflite models
// (nas/export/tflite_*.cpp), where beta is the model's.
#include <fmt/core.h>

#include <cmath>
#include <stdexcept>

#include "ops/op.h"
#include "tn_runtime.h"

namespace tinynas {
namespace {

class Softmax final : public OpDescriptor {
 public:
  Softmax() : OpDescriptor({"softmax", 1, true, PatchRule::Global, false}) {}
  void infer(Layer* l, int) const override {
    l->out = l->in;
    l->macs = l->weights = l->biases = 0;
  }
  bool latency_feature_used(int f) const override { return f == kInputBytes || f == kFixed; }
  int64_t default_code_per_layer() const override { return 64; }
  int64_t default_kernel_code() const override { return 1024; }
  int tflite_builtin() const override { return 25; }  // SOFTMAX

  // Rows are the pixels, the channels are softmaxed; beta is f.weight[0] when given (else 1).
  void run_float(const Layer& l, const FloatLayer& f, const float* const in[2],
                 float* out) const override {
    const double beta = f.weight.empty() ? 1.0 : f.weight[0];
    const int64_t rows = static_cast<int64_t>(l.in.h) * l.in.w;
    const int depth = l.in.c;
    for (int64_t r = 0; r < rows; ++r) {
      const float* x = in[0] + r * depth;
      float* y = out + r * depth;
      float max = x[0];
      for (int c = 1; c < depth; ++c) max = std::max(max, x[c]);
      double sum = 0;
      for (int c = 0; c < depth; ++c) sum += std::exp(beta * (x[c] - max));
      for (int c = 0; c < depth; ++c) y[c] = static_cast<float>(std::exp(beta * (x[c] - max)) / sum);
    }
  }

  void quantize(const Layer& l, const FloatLayer&, const QuantParams in[2], QuantParams* out,
                Int8Layer* q) const override {
    tn_softmax_params_t p;
    if (tn_softmax_params_from_scale(q->beta, in[0].scale, &p) != TN_OK) {
      throw std::invalid_argument(fmt::format("layer {}: cannot quantise a softmax with beta {} on "
                                              "an input of scale {}", l.name(), q->beta, in[0].scale));
    }
    q->multiplier = {p.input_multiplier};
    q->shift = {p.input_left_shift};
    q->diff_min = p.diff_min;
    out->scale = 1.0f / 256.0f;
    out->zero_point = -128;
  }

  void run_int8(const Layer& l, const Int8Layer& q, const QuantParams[2], const QuantParams&,
                const int8_t* const x[2], int8_t* y) const override {
    const tn_softmax_params_t p = {q.multiplier.at(0), q.shift.at(0), q.diff_min};
    if (tn_softmax_s8(&p, x[0], l.in.h * l.in.w, l.in.c, y) != TN_OK) {
      throw std::invalid_argument("layer " + l.name() + ": softmax parameters out of range");
    }
  }

  void emit_constants(EmitContext& c, int i, const Layer&, const Int8Layer& q) const override {
    c.data() << fmt::format("static const tn_softmax_params_t sm{} = {{{}, {}, {}}};\n", i,
                            q.multiplier.at(0), q.shift.at(0), q.diff_min);
  }

  void emit_call(EmitContext& c, int i, const Layer& l, const Int8Layer&, const std::string in[2],
                 const std::string& out) const override {
    c.body() << fmt::format("  rc = tn_softmax_s8(&sm{}, {}, {}, {}, {});\n", i, in[0],
                            l.in.h * l.in.w, l.in.c, out);
  }
};

}  // namespace

const OpDescriptor& op_softmax() {
  static const Softmax d;
  return d;
}

}  // namespace tinynas
