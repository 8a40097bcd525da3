// Depthwise kh x kw convolution: runtime/tn_depthwise_s8.c. Its scratch is one input channel
// plane with a zero border of kh/2 rows and kw/2 columns (+ slack for word reads); it may write its output over its
// input (it reads each channel's plane into the scratch first).
#include "ops/conv_family.h"
#include "tn_runtime.h"

namespace tinynas {
namespace {

class Depthwise final : public ConvFamily {
 public:
  Depthwise() : ConvFamily("depthwise", true) {}
  int64_t scratch_bytes(int kh, int kw, int h_in, int w_in, int) const override {
    return static_cast<int64_t>(tn_depthwise_scratch_bytes_k(h_in, w_in, kh, kw));
  }
  bool latency_feature_used(int) const override { return true; }
  int64_t default_code_per_layer() const override { return 128; }
  int64_t default_kernel_code() const override { return 2560; }
  int tflite_builtin() const override { return 4; }  // DEPTHWISE_CONV_2D

 protected:
  bool depthwise() const override { return true; }
  const char* kernel_function() const override { return "tn_depthwise_s8"; }
  bool q15_scratch() const override { return false; }
};

}  // namespace

const OpDescriptor& op_depthwise() {
  static const Depthwise d;
  return d;
}

}  // namespace tinynas
