// kh x kw convolution (the stem): runtime/tn_conv2d_s8.c, q15 im2col of two output pixels.
#include "ops/conv_family.h"
#include "tn_runtime.h"

namespace tinynas {
namespace {

class Conv final : public ConvFamily {
 public:
  Conv() : ConvFamily("conv") {}
  int64_t scratch_bytes(int kh, int kw, int, int, int c_in) const override {
    return static_cast<int64_t>(tn_conv2d_scratch_bytes_hw(kh, kw, c_in));
  }
  bool latency_feature_used(int) const override { return true; }
  int64_t default_code_per_layer() const override { return 128; }
  int64_t default_kernel_code() const override { return 2560; }
  int tflite_builtin() const override { return 3; }  // CONV_2D

 protected:
  const char* kernel_function() const override { return "tn_conv2d_s8"; }
};

}  // namespace

const OpDescriptor& op_conv() {
  static const Conv d;
  return d;
}

}  // namespace tinynas
