// The one home of a front-end operator kind over runtime/tn_mfcc_s8.c (the keyword spotter's
// `mfcc`, anomaly detection's `logmel`): raw int16 PCM `1 x samples x 1` in, int8 features
// `frames x num_out x 1` out, with the tables of ops/mfcc_tables.h. The kinds differ only in
// their tables and their code sizes; shape rule, scratch, flash, numerics and the emitted C are
// here, once. A layer like any other so that the memory plan holds its input, scratch and
// output, flash counts its tables and code, and the latency model its cycles. Its output
// quantisation is fixed (Layer::out_scale / out_zero_point: the features the network was
// trained on are these int8 values), not calibrated.
//
// Header-only: ops/CMakeLists.txt names the non-kind sources of tinynas_ops one by one, and
// every front end includes this from its own ops/kinds/<name>.cpp.
#pragma once

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/mfcc_tables.h"
#include "ops/op.h"

namespace tinynas {

class FrontEndKind : public OpDescriptor {
 public:
  // `name`: the kind's name, also the prefix of its emitted constants (<name><layer>_params).
  // Code sizes: default_code_per_layer() and default_kernel_code().
  FrontEndKind(const char* name, FrontEndTables tables, int64_t code_per_layer, int64_t kernel_code)
      : OpDescriptor({name, 1, false, PatchRule::Global, false, 2}),
        tables_(tables),
        code_per_layer_(code_per_layer),
        kernel_code_(kernel_code) {}

  FrontEndTables tables() const { return tables_; }
  const tn_mfcc_params_t& params(float scale, int zero_point) const {
    return front_end_params(tables_, scale, zero_point);
  }

  // in: h = 1, w = samples, c = 1 (int16). out: frames x num_out x 1.
  void infer(Layer* l, int) const final {
    const tn_mfcc_params_t& p = shape_params();
    l->in_element_bytes = 2;
    l->out = {tn_mfcc_num_frames(&p, l->in.w), p.num_out, 1};
    l->macs = l->weights = l->biases = 0;
    l->const_bytes = table_bytes(p);
  }
  int64_t scratch_bytes(int, int, int, int, int) const final {
    return static_cast<int64_t>(tn_mfcc_s8_scratch_bytes(&shape_params()));
  }
  // Its cycles are per frame: output bytes (frames x num_out) and a fixed part.
  bool latency_feature_used(int f) const final { return f == kOutputBytes || f == kFixed; }
  int64_t default_code_per_layer() const final { return code_per_layer_; }
  int64_t default_kernel_code() const final { return kernel_code_; }

  // The float reference is the dequantised int8 features: what the network was trained on.
  void run_float(const Layer& l, const FloatLayer&, const float* const in[2], float* out) const final {
    std::vector<int16_t> pcm(static_cast<std::size_t>(l.in.elements()));
    for (std::size_t i = 0; i < pcm.size(); ++i) {
      pcm[i] = static_cast<int16_t>(std::clamp(std::lround(in[0][i]), -32768L, 32767L));
    }
    std::vector<int8_t> q(static_cast<std::size_t>(l.out.elements()));
    run(l, l.out_scale, l.out_zero_point, pcm.data(), q.data());
    for (std::size_t i = 0; i < q.size(); ++i) out[i] = l.out_scale * (q[i] - l.out_zero_point);
  }

  void quantize(const Layer& l, const FloatLayer&, const QuantParams[2], QuantParams* out,
                Int8Layer*) const final {
    if (!(l.out_scale > 0)) {
      throw std::invalid_argument(std::string(name()) + " " + l.name() + ": no output quantisation");
    }
    out->scale = l.out_scale;
    out->zero_point = l.out_zero_point;
  }

  void run_int8(const Layer& l, const Int8Layer&, const QuantParams[2], const QuantParams& out,
                const int8_t* const x[2], int8_t* y) const final {
    run(l, out.scale, out.zero_point, x[0], y);
  }

  // Its tables depend on the output quantisation: emitted with the call.
  void emit_call(EmitContext& c, int i, const Layer& l, const Int8Layer&, const std::string in[2],
                 const std::string& out) const final {
    const tn_mfcc_params_t& p = params(c.quant(l.output).scale, c.quant(l.output).zero_point);
    const std::string n = fmt::format("{}{}", name(), i);
    c.array(n + "_window", std::vector<int32_t>(p.window, p.window + p.frame_length));
    c.array(n + "_twiddle", std::vector<int32_t>(p.twiddle, p.twiddle + p.fft_length));
    c.array(n + "_mel_start", std::vector<int16_t>(p.mel_start, p.mel_start + p.num_mel));
    c.array(n + "_mel_count", std::vector<int16_t>(p.mel_count, p.mel_count + p.num_mel));
    c.array(n + "_mel_weight", std::vector<int16_t>(p.mel_weight, p.mel_weight + mel_weights(p)));
    if (p.dct) c.array(n + "_dct", std::vector<int16_t>(p.dct, p.dct + p.num_out * p.num_mel));
    c.data() << fmt::format(
        "static const tn_mfcc_params_t {0}_params = {{{1}, {2}, {3}, {4}, {5}, {0}_window, {0}_twiddle, "
        "{0}_mel_start, {0}_mel_count, {0}_mel_weight, {6}, {7}, {8}ull, {9}, {10}, {11}}};\n",
        n, p.frame_length, p.frame_step, p.fft_length, p.num_mel, p.num_out,
        p.dct ? n + "_dct" : std::string("0"), p.dct_shift, p.log_floor, p.out_multiplier,
        p.out_shift, p.output_zero_point);
    c.body() << fmt::format("  rc = tn_mfcc_s8(&{}_params, (const int16_t *){}, {}, {}, {});\n", n,
                            in[0], l.in.elements(), out, c.scratch(i, false));
  }

  static int64_t mel_weights(const tn_mfcc_params_t& p) {
    int64_t weights = 0;
    for (int m = 0; m < p.num_mel; ++m) weights += p.mel_count[m];
    return weights;
  }
  // The flash of its tables and parameter block.
  static int64_t table_bytes(const tn_mfcc_params_t& p) {
    return 4 * int64_t{p.frame_length} + 4 * int64_t{p.fft_length} + 2 * 2 * int64_t{p.num_mel} +
           2 * mel_weights(p) + (p.dct ? 2 * int64_t{p.num_out} * p.num_mel : 0) +
           static_cast<int64_t>(sizeof(tn_mfcc_params_t));
  }

 private:
  // The default quantisation only sizes things (shapes and byte counts do not depend on it).
  const tn_mfcc_params_t& shape_params() const { return params(1.0f, 0); }

  void run(const Layer& l, float scale, int zero_point, const void* pcm_bytes, int8_t* y) const {
    std::vector<int16_t> pcm(static_cast<std::size_t>(l.in.elements()));
    std::memcpy(pcm.data(), pcm_bytes, pcm.size() * sizeof(int16_t));
    const tn_mfcc_params_t& p = params(scale, zero_point);
    std::vector<uint64_t> scratch((tn_mfcc_s8_scratch_bytes(&p) + 7) / 8);
    const int rc = tn_mfcc_s8(&p, pcm.data(), static_cast<int32_t>(pcm.size()), y, scratch.data());
    if (rc != TN_OK) {
      throw std::invalid_argument(fmt::format("{} {}: tn_mfcc_s8 returned {}", name(), l.name(), rc));
    }
  }

  FrontEndTables tables_;
  int64_t code_per_layer_, kernel_code_;
};

}  // namespace tinynas
