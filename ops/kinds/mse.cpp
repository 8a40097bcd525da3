// The reconstruction error of an autoencoder, its last layer: runtime/tn_mse_s8.c. Two inputs of
// one element count (HWC order, the shapes may differ: an fc's 1 x 1 x n reconstruction of
// h x w x c features): inputs[0] the reconstruction r, inputs[1] the original features x (the
// network's input or a front end's output). One int32 output value (1 x 1 x 1, 4 bytes):
//  - float: mean((r - x)^2), in the features' real units;
//  - int8: r requantised into x's units (Q31 multiplier + shift of s_r / s_x), the integer
//    difference with x - zp_x squared and summed in int32 (saturating): S, whose real value is
//    s_x^2 * S / n. The output's quantisation is therefore fixed, scale s_x^2 / n, zero point 0
//    (set here, not calibrated).
// infer()'s `out_channels` is the element count of inputs[1] (a Layer records only inputs[0]'s
// shape): the lowering passes it, and a mismatch is refused naming the layer.
// TFLite has no such operator: tflite_builtin() is -1 and the .tflite writer refuses the model by
// name (nas/export/tflite_write.cpp), which the exporter reports as a warning.
#include <fmt/core.h>

#include <cstring>
#include <stdexcept>

#include "ops/op.h"
#include "tn_runtime.h"

namespace tinynas {
namespace {

class Mse final : public OpDescriptor {
 public:
  Mse() : OpDescriptor({"mse", 2, false, PatchRule::Global, false, 1, 4}) {}
  void infer(Layer* l, int features) const override {
    if (features != l->in.elements()) {
      throw std::invalid_argument(fmt::format(
          "layer {}: the reconstruction has {} values ({}x{}x{}), the features it is compared with {}",
          l->name(), l->in.elements(), l->in.h, l->in.w, l->in.c, features));
    }
    l->out = {1, 1, 1};
    l->macs = l->weights = l->biases = 0;
  }
  int64_t scratch_bytes(int, int, int h_in, int w_in, int c_in) const override {
    return static_cast<int64_t>(tn_mse_s8_scratch_bytes(nullptr, h_in * w_in * c_in));
  }
  // Per element the same work, one output: input bytes and a fixed cost.
  bool latency_feature_used(int f) const override { return f == kInputBytes || f == kFixed; }
  // arm-none-eabi-gcc 12.2 -Os -mcpu=cortex-m7 -mthumb: the call and its check 28 bytes + the
  // 16-byte parameter block; tn_mse_s8 + tn_mse_s8_scratch_bytes 240 bytes.
  int64_t default_code_per_layer() const override { return 44; }
  int64_t default_kernel_code() const override { return 240; }
  // TFLite has no reconstruction-error operator.
  int tflite_builtin() const override { return -1; }

  void run_float(const Layer& l, const FloatLayer&, const float* const in[2],
                 float* out) const override {
    const int64_t n = l.in.elements();
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double d = static_cast<double>(in[0][j]) - in[1][j];
      sum += d * d;
    }
    out[0] = static_cast<float>(sum / static_cast<double>(n));
  }

  void quantize(const Layer& l, const FloatLayer&, const QuantParams in[2], QuantParams* out,
                Int8Layer* q) const override {
    if (!(in[0].scale > 0) || !(in[1].scale > 0)) {
      throw std::invalid_argument(fmt::format("layer {}: input scales {} and {} must be > 0", l.name(),
                                              in[0].scale, in[1].scale));
    }
    int32_t m = 0, s = 0;
    quantize_multiplier(static_cast<double>(in[0].scale) / in[1].scale, &m, &s);
    if (s > 22) {
      throw std::invalid_argument(fmt::format(
          "layer {}: the reconstruction's scale {} is over 2^22 times the features' {}", l.name(),
          in[0].scale, in[1].scale));
    }
    q->multiplier = {m};
    q->shift = {s};
    const double sx = in[1].scale;
    out->scale = static_cast<float>(sx * sx / static_cast<double>(l.in.elements()));
    out->zero_point = 0;
  }

  // The runtime's kernel itself; y receives the int32's 4 bytes (native byte order).
  void run_int8(const Layer& l, const Int8Layer& q, const QuantParams in[2], const QuantParams&,
                const int8_t* const x[2], int8_t* y) const override {
    const tn_mse_params_t p = params(q, in);
    int32_t s = 0;
    if (tn_mse_s8(&p, x[0], x[1], static_cast<int32_t>(l.in.elements()), &s) != TN_OK) {
      throw std::invalid_argument("layer " + l.name() + ": mse parameters out of range");
    }
    std::memcpy(y, &s, sizeof s);
  }

  void emit_constants(EmitContext& c, int i, const Layer& l, const Int8Layer& q) const override {
    const QuantParams in[2] = {c.quant(l.inputs[0]), c.quant(l.inputs[1])};
    const tn_mse_params_t p = params(q, in);
    c.data() << fmt::format("static const tn_mse_params_t mse{} = {{{}, {}, {}, {}}};\n", i,
                            p.recon_zero_point, p.input_zero_point, p.recon_multiplier,
                            p.recon_shift);
  }

  // The output is an int32 in the arena (8-byte aligned offsets).
  void emit_call(EmitContext& c, int i, const Layer& l, const Int8Layer&, const std::string in[2],
                 const std::string& out) const override {
    c.body() << fmt::format("  rc = tn_mse_s8(&mse{}, {}, {}, {}, (int32_t *){});\n", i, in[0],
                            in[1], l.in.elements(), out);
  }

 private:
  static tn_mse_params_t params(const Int8Layer& q, const QuantParams in[2]) {
    return {in[0].zero_point, in[1].zero_point, q.multiplier.at(0), q.shift.at(0)};
  }
};

}  // namespace

const OpDescriptor& op_mse() {
  static const Mse d;
  return d;
}

}  // namespace tinynas
