// The convolutions that share tn_conv_params_t and the runtime's conv arithmetic: kh x kw conv,
// pointwise (1x1) and depthwise, each with the layer's four explicit pads (ops/layer.h's rule). One implementation of their shape rule, folding, references,
// quantisation and C emission; ops/kinds/{conv,pointwise,depthwise}.cpp state what differs
// (name, kernel function, scratch, latency features, code size).
#pragma once

#include "ops/op.h"

namespace tinynas {

class ConvFamily : public OpDescriptor {
 public:
  // Spatial, with weights; `in_place` for depthwise (it reads each input plane into its scratch
  // before writing that channel).
  ConvFamily(const char* name, bool in_place = false)
      : OpDescriptor({name, 1, in_place, PatchRule::Spatial, true}) {}
  void infer(Layer* l, int out_channels) const override;
  int64_t weight_bytes(int kh, int kw, int c_in, int c_out) const override;
  FloatLayer fold(const Layer& l, const LayerWeights& trained) const override;
  void run_float(const Layer& l, const FloatLayer& f, const float* const in[2],
                 float* out) const override;
  void quantize(const Layer& l, const FloatLayer& f, const QuantParams in[2], QuantParams* out,
                Int8Layer* q) const override;
  void run_int8(const Layer& l, const Int8Layer& q, const QuantParams in[2],
                const QuantParams& out, const int8_t* const x[2], int8_t* y) const override;
  void emit_constants(EmitContext& c, int i, const Layer& l, const Int8Layer& q) const override;
  void emit_call(EmitContext& c, int i, const Layer& l, const Int8Layer& q,
                 const std::string in[2], const std::string& out) const override;
  void emit_patch_constants(EmitContext& c, int i, const Layer& l,
                            const Int8Layer& q) const override;
  void emit_patch_call(EmitContext& c, int i, const Layer& l, const std::string in[2],
                       const std::string& out) const override;

 protected:
  // Depthwise: one filter per channel, weights [kh][kw][c]; otherwise [cout][kh][kw][cin].
  virtual bool depthwise() const { return false; }
  // The runtime kernel: "tn_conv2d_s8", ...
  virtual const char* kernel_function() const = 0;
  // Its scratch is the q15 im2col buffer (int16_t *), not an int8 plane.
  virtual bool q15_scratch() const { return true; }

 private:
  std::string params(EmitContext& c, int i, const Layer& l, const Int8Layer& q, int h_in,
                     int w_in, int h_out, int w_out, const int pad[4]) const;
};

}  // namespace tinynas
