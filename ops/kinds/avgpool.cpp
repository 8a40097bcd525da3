// Global average pooling HWC -> C: runtime/tn_avgpool_s8.c. As TF-Lite Micro requires for int8
// average pooling, the output keeps the input's scale and zero point: no requantisation.
#include <fmt/core.h>

#include "ops/op.h"

namespace tinynas {
namespace {

class AvgPool final : public OpDescriptor {
 public:
  AvgPool() : OpDescriptor({"avgpool", 1, false, PatchRule::Global, false}) {}
  void infer(Layer* l, int) const override {
    l->out = {1, 1, l->in.c};
    l->macs = l->weights = l->biases = 0;
  }
  bool latency_feature_used(int f) const override {
    return f == kInputBytes || f == kOutputBytes || f == kFixed;
  }
  int64_t default_code_per_layer() const override { return 48; }
  int64_t default_kernel_code() const override { return 256; }
  int tflite_builtin() const override { return 1; }  // AVERAGE_POOL_2D

  void run_float(const Layer& l, const FloatLayer&, const float* const in[2],
                 float* out) const override {
    const int64_t pix = static_cast<int64_t>(l.in.h) * l.in.w;
    for (int c = 0; c < l.in.c; ++c) out[c] = 0.0f;
    for (int64_t p = 0; p < pix; ++p) {
      for (int c = 0; c < l.in.c; ++c) out[c] += in[0][p * l.in.c + c];
    }
    for (int c = 0; c < l.in.c; ++c) out[c] /= static_cast<float>(pix);
  }

  void quantize(const Layer&, const FloatLayer&, const QuantParams in[2], QuantParams* out,
                Int8Layer*) const override {
    *out = in[0];  // same scale in and out
  }

  void run_int8(const Layer& l, const Int8Layer& q, const QuantParams[2], const QuantParams&,
                const int8_t* const x[2], int8_t* y) const override {
    const int32_t count = l.in.h * l.in.w;
    for (int c = 0; c < l.in.c; ++c) {
      int32_t acc = 0;
      for (int32_t p = 0; p < count; ++p) acc += x[0][static_cast<std::size_t>(p) * l.in.c + c];
      // TF-Lite's rounding: half away from zero.
      const int32_t avg = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
      y[c] = static_cast<int8_t>(std::clamp(avg, q.act_min, q.act_max));
    }
  }

  // The clamp is -128..127 in tinynas's own networks; an imported pool may fuse an activation.
  void emit_call(EmitContext& c, int, const Layer& l, const Int8Layer& q, const std::string in[2],
                 const std::string& out) const override {
    c.body() << fmt::format("  rc = tn_avgpool_global_s8({}, {}, {}, {}, {}, {}, {});\n", in[0],
                            l.in.h, l.in.w, l.in.c, q.act_min, q.act_max, out);
  }
};

}  // namespace

const OpDescriptor& op_avgpool() {
  static const AvgPool d;
  return d;
}

}  // namespace tinynas
