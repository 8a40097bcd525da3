// Element-wise add of two int8 tensors of one shape (the residual connection): TF-Lite's int8
// ADD, runtime/tn_add_s8.c. Both inputs are rescaled to twice the larger input scale with 20
// bits of headroom, summed, then requantised to the output.
#include <fmt/core.h>

#include <stdexcept>

#include "ops/op.h"
#include "tn_runtime.h"

namespace tinynas {
namespace {

class Add final : public OpDescriptor {
 public:
  Add() : OpDescriptor({"add", 2, true, PatchRule::Elementwise, false}) {}
  void infer(Layer* l, int) const override {
    l->out = l->in;
    l->macs = l->weights = l->biases = 0;
  }
  // Output = input bytes, no MACs or weights: input bytes and a fixed cost.
  bool latency_feature_used(int f) const override { return f == kInputBytes || f == kFixed; }
  int64_t default_code_per_layer() const override { return 96; }
  int64_t default_kernel_code() const override { return 768; }
  int tflite_builtin() const override { return 0; }  // ADD

  void run_float(const Layer& l, const FloatLayer&, const float* const in[2],
                 float* out) const override {
    const int64_t n = l.out.elements();
    for (int64_t j = 0; j < n; ++j) out[j] = in[0][j] + in[1][j];
  }

  void quantize(const Layer&, const FloatLayer&, const QuantParams in[2], QuantParams* out,
                Int8Layer* q) const override {
    tn_add_params_t p;
    if (tn_add_params_from_scales(in[0].scale, in[0].zero_point, in[1].scale, in[1].zero_point,
                                  out->scale, out->zero_point, q->act_min, q->act_max,
                                  &p) != TN_OK) {
      throw std::invalid_argument("cannot quantise the add's scales");
    }
    q->left_shift = p.left_shift;
    q->input1_multiplier = p.input1_multiplier;
    q->input1_shift = p.input1_shift;
    q->input2_multiplier = p.input2_multiplier;
    q->input2_shift = p.input2_shift;
    q->output_multiplier = p.output_multiplier;
    q->output_shift = p.output_shift;
  }

  void run_int8(const Layer& l, const Int8Layer& q, const QuantParams in[2],
                const QuantParams& out, const int8_t* const x[2], int8_t* y) const override {
    const int64_t n = l.out.elements();
    for (int64_t j = 0; j < n; ++j) {
      const int32_t a = (x[0][j] - in[0].zero_point) * (1 << q.left_shift);
      const int32_t b = (x[1][j] - in[1].zero_point) * (1 << q.left_shift);
      const int32_t sa = tn_multiply_by_quantized_multiplier(a, q.input1_multiplier, q.input1_shift);
      const int32_t sb = tn_multiply_by_quantized_multiplier(b, q.input2_multiplier, q.input2_shift);
      const int32_t r =
          tn_multiply_by_quantized_multiplier(sa + sb, q.output_multiplier, q.output_shift) +
          out.zero_point;
      y[j] = static_cast<int8_t>(std::clamp(r, q.act_min, q.act_max));
    }
  }

  void emit_constants(EmitContext& c, int i, const Layer& l, const Int8Layer& q) const override {
    c.data() << fmt::format(
        "static const tn_add_params_t add{} = {{{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}}};\n",
        i, c.quant(l.inputs[0]).zero_point, c.quant(l.inputs[1]).zero_point,
        c.quant(l.output).zero_point, q.left_shift, q.input1_multiplier, q.input1_shift,
        q.input2_multiplier, q.input2_shift, q.output_multiplier, q.output_shift, q.act_min,
        q.act_max);
  }

  void emit_call(EmitContext& c, int i, const Layer& l, const Int8Layer&, const std::string in[2],
                 const std::string& out) const override {
    c.body() << fmt::format("  rc = tn_add_s8(&add{}, {}, {}, {}, {});\n", i, in[0], in[1], out,
                            l.out.elements());
  }

  // Row by row: each input's stored region may be wider than the output tile.
  void emit_patch_call(EmitContext& c, int i, const Layer& l, const std::string in[2],
                       const std::string& out) const override {
    std::ostringstream& b = c.body();
    b << "      int32_t r;\n";
    b << "      TN_PROFILE_BEGIN(slot);\n";
    b << fmt::format(
        "      for (r = 0; r < g[0]; ++r) {{\n"
        "        rc = tn_add_s8(&add{0}, {1} + ((r + g[2]) * g[4] + g[3]) * {4}, "
        "{2} + ((r + g[5]) * g[7] + g[6]) * {4}, {3} + r * g[1] * {4}, g[1] * {4});\n"
        "        if (rc != TN_OK) return rc;\n      }}\n",
        i, in[0], in[1], out, l.out.c);
    b << "  " << c.profile_end(i, "slot++", "g[0]", "g[1]", "g[0]", "g[1]", "0");
  }
};

}  // namespace

const OpDescriptor& op_add() {
  static const Add d;
  return d;
}

}  // namespace tinynas
