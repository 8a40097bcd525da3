// Pointwise (1x1) convolution: runtime/tn_pointwise_s8.c, q15 copies of two input pixels.
#include "ops/conv_family.h"
#include "tn_runtime.h"

namespace tinynas {
namespace {

class Pointwise final : public ConvFamily {
 public:
  Pointwise() : ConvFamily("pointwise") {}
  int64_t scratch_bytes(int, int, int, int, int c_in) const override {
    return static_cast<int64_t>(tn_pointwise_scratch_bytes(c_in));
  }
  bool latency_feature_used(int) const override { return true; }
  int64_t default_code_per_layer() const override { return 128; }
  int64_t default_kernel_code() const override { return 1536; }
  int tflite_builtin() const override { return 3; }  // CONV_2D

 protected:
  const char* kernel_function() const override { return "tn_pointwise_s8"; }
};

}  // namespace

const OpDescriptor& op_pointwise() {
  static const Pointwise d;
  return d;
}

}  // namespace tinynas
