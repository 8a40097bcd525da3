// Nearest-neighbour upsampling by an integer factor f (a convolutional autoencoder's decoder):
// h x w x c -> (h*f) x (w*f) x c, out[y][x] = in[y / f][x / f]; runtime/tn_upsample_s8.c.
//  - The factor travels in the Layer's `stride`: the lowering calls set_window(1, 1, f), so
//    kh = kw = 1 and the padding rule gives four pads of 0 (an odd 1 x 1 "kernel" pads 1 / 2 = 0).
//    infer() refuses any other window.
//  - No weights, no MACs. A copy: the output keeps the input's scale and zero point (quantize()
//    sets *out = in[0], as avgpool does), so int8 needs no requantisation and has no clamp; a
//    fused ReLU6 is refused by name (the layer before clamps).
//  - Patch rule Global: a Spatial operator's patch reads an input region grown by a k x k window
//    with a stride ((out - 1) * stride + k rows), and an Elementwise one reads the same pixels;
//    an upsample's output tile reads an input tile f times smaller, which neither geometry says.
//    Autoencoders run without patches, so it never sits in a patch stage.
//  - Not in place for the planner, although the kernel may run in place (it writes from the end:
//    tn_runtime.h): in place, the pair would be one buffer of the output's size, f^2 times the
//    input's; saying so is a one-word change here once the planner's tests know the kind.
//  - Latency: per output byte and a fixed cost (the input bytes are the output's / f^2).
//  - TFLite: RESIZE_NEAREST_NEIGHBOR (97), written with align_corners and half_pixel_centers
//    false (nas/export/tflite_write.cpp): its source index min(floor(y * h / (h * f)), h - 1) is
//    y / f on an exact integer factor. The reader also takes half_pixel_centers (Keras's
//    UpSampling2D), whose floor((y + 0.5) / f) is y / f too.
#include <fmt/core.h>

#include <stdexcept>

#include "ops/op.h"
#include "tn_runtime.h"

namespace tinynas {
namespace {

class Upsample final : public OpDescriptor {
 public:
  Upsample() : OpDescriptor({"upsample", 1, false, PatchRule::Global, false}) {}
  void infer(Layer* l, int) const override {
    if (l->kh != 1 || l->kw != 1 || l->stride < 1 || l->pad_top != 0 || l->pad_left != 0 ||
        l->pad_bottom != 0 || l->pad_right != 0) {
      throw std::invalid_argument(fmt::format(
          "layer {}: upsample takes its factor as the stride of a 1 x 1 window without padding "
          "(set_window(1, 1, factor)), not a {}x{} window, stride {}, pads {},{},{},{}",
          l->name(), l->kh, l->kw, l->stride, l->pad_top, l->pad_left, l->pad_bottom,
          l->pad_right));
    }
    l->out = {l->in.h * l->stride, l->in.w * l->stride, l->in.c};
    l->macs = l->weights = l->biases = 0;
  }
  int64_t scratch_bytes(int, int, int h_in, int w_in, int c_in) const override {
    const tn_upsample_params_t p{h_in, w_in, c_in, 1};
    return static_cast<int64_t>(tn_upsample_s8_scratch_bytes(&p));
  }
  bool latency_feature_used(int f) const override { return f == kOutputBytes || f == kFixed; }
  // arm-none-eabi-gcc 12.2 -Os -mcpu=cortex-m7 -mthumb: the call and its check 20 bytes + the
  // 16-byte parameter block; tn_upsample_s8 + tn_upsample_s8_scratch_bytes 374 bytes.
  int64_t default_code_per_layer() const override { return 36; }
  int64_t default_kernel_code() const override { return 374; }
  int tflite_builtin() const override { return 97; }  // RESIZE_NEAREST_NEIGHBOR

  void run_float(const Layer& l, const FloatLayer&, const float* const in[2],
                 float* out) const override {
    const int f = l.stride, c = l.in.c;
    for (int y = 0; y < l.out.h; ++y) {
      for (int x = 0; x < l.out.w; ++x) {
        const float* src = in[0] + (static_cast<int64_t>(y / f) * l.in.w + x / f) * c;
        float* dst = out + (static_cast<int64_t>(y) * l.out.w + x) * c;
        for (int ch = 0; ch < c; ++ch) dst[ch] = src[ch];
      }
    }
  }

  void quantize(const Layer& l, const FloatLayer&, const QuantParams in[2], QuantParams* out,
                Int8Layer*) const override {
    if (l.relu6) {
      throw std::invalid_argument("layer " + l.name() +
                                  ": upsample has no fused activation (it copies its input)");
    }
    *out = in[0];  // a copy: same scale and zero point in and out
  }

  // The runtime's kernel itself.
  void run_int8(const Layer& l, const Int8Layer&, const QuantParams[2], const QuantParams&,
                const int8_t* const x[2], int8_t* y) const override {
    const tn_upsample_params_t p = params(l);
    if (tn_upsample_s8(&p, x[0], y) != TN_OK) {
      throw std::invalid_argument(fmt::format("layer {}: cannot upsample {}x{}x{} by {}", l.name(),
                                              l.in.h, l.in.w, l.in.c, l.stride));
    }
  }

  void emit_constants(EmitContext& c, int i, const Layer& l, const Int8Layer&) const override {
    const tn_upsample_params_t p = params(l);
    c.data() << fmt::format("static const tn_upsample_params_t up{} = {{{}, {}, {}, {}}};\n", i,
                            p.h_in, p.w_in, p.c, p.factor);
  }

  void emit_call(EmitContext& c, int i, const Layer&, const Int8Layer&, const std::string in[2],
                 const std::string& out) const override {
    c.body() << fmt::format("  rc = tn_upsample_s8(&up{}, {}, {});\n", i, in[0], out);
  }

 private:
  static tn_upsample_params_t params(const Layer& l) {
    return {l.in.h, l.in.w, l.in.c, l.stride};
  }
};

}  // namespace

const OpDescriptor& op_upsample() {
  static const Upsample d;
  return d;
}

}  // namespace tinynas
