// The plain data an operator's numerics work on: folded float weights in the runtime's layouts,
// int8 quantisation parameters (TF-Lite int8 specification) and a layer's int8 constants. No
// LibTorch; the exporter (nas/export) fills and reads these through the operators' descriptors.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace tinynas {

// A layer's float weights with batch norm folded, in the runtime's layout (the operator's
// descriptor says which); bias per output channel. Empty for operators without weights.
struct FloatLayer {
  std::vector<float> weight;
  std::vector<float> bias;
};

// Asymmetric per-tensor int8 activation parameters.
struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
  int8_t quantize(float x) const {
    const long q = std::lround(x / scale) + zero_point;
    return static_cast<int8_t>(std::clamp<long>(q, -128, 127));
  }
  float dequantize(int8_t q) const { return scale * (static_cast<int32_t>(q) - zero_point); }
};

// A layer's int8 constants. Weighted operators use the weight / bias / per-channel
// requantisation fields; an element-wise add uses TF-Lite's ADD fields.
struct Int8Layer {
  std::vector<int8_t> weight;       // the runtime's layout (see FloatLayer)
  std::vector<int32_t> bias;
  std::vector<float> weight_scale;  // per output channel
  std::vector<int32_t> multiplier;  // per output channel, Q31
  std::vector<int32_t> shift;       // per output channel
  int32_t act_min = -128, act_max = 127;
  // add (TF-Lite's int8 ADD)
  int left_shift = 20;
  int32_t input1_multiplier = 0, input2_multiplier = 0, output_multiplier = 0;
  int32_t input1_shift = 0, input2_shift = 0, output_shift = 0;
  // softmax (TF-Lite's int8 SOFTMAX): beta, and the input rescaling made of it (multiplier[0],
  // shift[0] = its left shift) with the smallest difference from the row's maximum that counts
  float beta = 1.0f;
  int32_t diff_min = 0;
};

// Per-channel symmetric int8 weights in [-127, 127], int32 bias at input scale x weight scale,
// and the Q31 multiplier + shift from accumulator to output scale (through the runtime's
// tn_quantize_multiplier). `channel_stride` / `element_stride` address weight j of channel o as
// o * channel_stride + j * element_stride (depthwise weights are [kh][kw][c]: strided).
// With `per_tensor`, one weight scale for all channels (TF-Lite's int8 specification for
// FULLY_CONNECTED), still stored per channel.
void quantize_per_channel(const FloatLayer& f, int channels, int64_t channel_stride,
                          int64_t element_stride, const QuantParams& in, const QuantParams& out,
                          Int8Layer* q, bool per_tensor = false);

// The runtime's TF-Lite QuantizeMultiplier (runtime/tn_quant.c): real = multiplier * 2^(shift-31).
// Throws std::invalid_argument for a NaN, infinite or negative scale.
void quantize_multiplier(double real, int32_t* multiplier, int32_t* shift);

// acc -> int8 output of channel o: the runtime's requantisation, output zero point, clamp.
int8_t requantize(int32_t acc, const Int8Layer& q, int o, int32_t out_zero_point);

}  // namespace tinynas
