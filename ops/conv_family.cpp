#include "ops/conv_family.h"

#include <fmt/core.h>

#include <algorithm>
#include <stdexcept>

namespace tinynas {

void ConvFamily::infer(Layer* l, int out_channels) const {
  l->out = {window_out_size(l->in.h, l->kh, l->stride, l->pad_top, l->pad_bottom),
            window_out_size(l->in.w, l->kw, l->stride, l->pad_left, l->pad_right), out_channels};
  const int64_t pix = static_cast<int64_t>(l->out.h) * l->out.w;
  const int64_t taps = static_cast<int64_t>(l->kh) * l->kw;
  const int64_t per_output = depthwise() ? taps : taps * l->in.c;
  l->macs = pix * out_channels * per_output;
  l->weights = out_channels * per_output;
  l->biases = out_channels;
}

int64_t ConvFamily::weight_bytes(int kh, int kw, int c_in, int c_out) const {
  return int64_t{kh} * kw * c_out * (depthwise() ? 1 : c_in);
}

FloatLayer ConvFamily::fold(const Layer& l, const LayerWeights& t) const {
  const int cout = l.out.c;
  const int cin = depthwise() ? 1 : l.in.c;
  const int kh = l.kh, kw = l.kw;
  const std::size_t expected = static_cast<std::size_t>(cout) * cin * kh * kw;
  const std::size_t channels = static_cast<std::size_t>(cout);
  if (t.weight.size() != expected || (t.has_bn() && t.bn_gamma.size() != channels) ||
      (t.has_bn() && (t.bn_beta.size() != channels || t.bn_mean.size() != channels ||
                      t.bn_var.size() != channels)) ||
      (!t.bias.empty() && t.bias.size() != channels)) {
    throw std::invalid_argument("layer " + l.name() + ": weights do not match the graph (expected " +
                                std::to_string(expected) + " weights and " + std::to_string(cout) +
                                " channels, got " + std::to_string(t.weight.size()) + ")");
  }
  const LayerWeights folded = t.folded();
  FloatLayer f;
  f.bias = folded.bias.empty() ? std::vector<float>(cout, 0.0f) : folded.bias;
  f.weight.resize(expected);
  // OIHW -> the runtime's layout.
  for (int o = 0; o < cout; ++o) {
    for (int ci = 0; ci < cin; ++ci) {
      for (int y = 0; y < kh; ++y) {
        for (int x = 0; x < kw; ++x) {
          const float w = folded.weight[((static_cast<std::size_t>(o) * cin + ci) * kh + y) * kw + x];
          const std::size_t dst = depthwise()
                                      ? (static_cast<std::size_t>(y) * kw + x) * cout + o
                                      : ((static_cast<std::size_t>(o) * kh + y) * kw + x) * cin + ci;
          f.weight[dst] = w;
        }
      }
    }
  }
  return f;
}

void ConvFamily::run_float(const Layer& l, const FloatLayer& f, const float* const x_in[2],
                           float* out) const {
  const float* in = x_in[0];
  const int kh = l.kh, kw = l.kw, s = l.stride, pt = l.pad_top, pl = l.pad_left;
  const bool dw = depthwise();
  const int cin = l.in.c, cout = l.out.c;
  for (int oy = 0; oy < l.out.h; ++oy) {
    for (int ox = 0; ox < l.out.w; ++ox) {
      float* o = out + (static_cast<std::size_t>(oy) * l.out.w + ox) * cout;
      for (int c = 0; c < cout; ++c) o[c] = f.bias[c];
      for (int ky = 0; ky < kh; ++ky) {
        const int iy = oy * s - pt + ky;
        if (iy < 0 || iy >= l.in.h) continue;
        for (int kx = 0; kx < kw; ++kx) {
          const int ix = ox * s - pl + kx;
          if (ix < 0 || ix >= l.in.w) continue;
          const float* x = in + (static_cast<std::size_t>(iy) * l.in.w + ix) * cin;
          if (dw) {
            const float* w = f.weight.data() + (static_cast<std::size_t>(ky) * kw + kx) * cout;
            for (int c = 0; c < cout; ++c) o[c] += x[c] * w[c];
          } else {
            for (int c = 0; c < cout; ++c) {
              const float* w = f.weight.data() + ((static_cast<std::size_t>(c) * kh + ky) * kw + kx) * cin;
              float acc = 0;
              for (int ci = 0; ci < cin; ++ci) acc += x[ci] * w[ci];
              o[c] += acc;
            }
          }
        }
      }
    }
  }
}

void ConvFamily::quantize(const Layer& l, const FloatLayer& f, const QuantParams in[2],
                          QuantParams* out, Int8Layer* q) const {
  const int cout = l.out.c;
  // Depthwise weights are [kh][kw][c]: channel o is strided; the others are contiguous.
  const int64_t per_channel = static_cast<int64_t>(f.weight.size()) / cout;
  quantize_per_channel(f, cout, depthwise() ? 1 : per_channel, depthwise() ? cout : 1, in[0], *out, q);
}

namespace {

// The int8 convolution's accumulation, cloned for AVX2 where the CPU has it (GCC picks the clone
// at load time): the int8 x int8 -> int32 dot products vectorise there and not on baseline
// x86-64, and integer sums are exact in any order, so both clones give the same results. The
// export's int8 accuracy pass over 10,000 test images spends most of its time here.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
void conv_int8(const Layer& l, const Int8Layer& q, bool dw, int32_t in_zp, int32_t out_zp, const int8_t* in,
               int8_t* out) {
  const int kh = l.kh, kw = l.kw, s = l.stride, pt = l.pad_top, pl = l.pad_left;
  const int cin = l.in.c, cout = l.out.c;
  std::vector<int32_t> acc(cout);
  for (int oy = 0; oy < l.out.h; ++oy) {
    for (int ox = 0; ox < l.out.w; ++ox) {
      std::copy(q.bias.begin(), q.bias.end(), acc.begin());
      for (int ky = 0; ky < kh; ++ky) {
        const int iy = oy * s - pt + ky;
        if (iy < 0 || iy >= l.in.h) continue;  // padding is the zero point: contributes 0
        for (int kx = 0; kx < kw; ++kx) {
          const int ix = ox * s - pl + kx;
          if (ix < 0 || ix >= l.in.w) continue;
          const int8_t* x = in + (static_cast<std::size_t>(iy) * l.in.w + ix) * cin;
          if (dw) {
            const int8_t* w = q.weight.data() + (static_cast<std::size_t>(ky) * kw + kx) * cout;
            for (int c = 0; c < cout; ++c) acc[c] += (x[c] - in_zp) * w[c];
          } else {
            for (int c = 0; c < cout; ++c) {
              const int8_t* w = q.weight.data() + ((static_cast<std::size_t>(c) * kh + ky) * kw + kx) * cin;
              int32_t a = 0;
              for (int ci = 0; ci < cin; ++ci) a += (x[ci] - in_zp) * w[ci];
              acc[c] += a;
            }
          }
        }
      }
      int8_t* o = out + (static_cast<std::size_t>(oy) * l.out.w + ox) * cout;
      for (int c = 0; c < cout; ++c) o[c] = requantize(acc[c], q, c, out_zp);
    }
  }
}

}  // namespace

void ConvFamily::run_int8(const Layer& l, const Int8Layer& q, const QuantParams qin[2],
                          const QuantParams& qout, const int8_t* const x_in[2], int8_t* out) const {
  conv_int8(l, q, depthwise(), qin[0].zero_point, qout.zero_point, x_in[0], out);
}

void ConvFamily::emit_constants(EmitContext& c, int i, const Layer&, const Int8Layer& q) const {
  c.array(fmt::format("w{}", i), q.weight);
  c.array(fmt::format("b{}", i), q.bias);
  c.array(fmt::format("m{}", i), q.multiplier);
  c.array(fmt::format("s{}", i), q.shift);
}

// tn_conv_params_t (runtime/tn_runtime.h) for one geometry; pads top, left, bottom, right.
std::string ConvFamily::params(EmitContext& c, int i, const Layer& l, const Int8Layer& q, int h_in,
                               int w_in, int h_out, int w_out, const int pad[4]) const {
  return fmt::format("{{{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, m{}, s{}}}",
                     h_in, w_in, l.in.c, h_out, w_out, l.out.c, l.kh, l.kw, l.stride,
                     l.stride, pad[0], pad[1], pad[2], pad[3], c.quant(l.inputs[0]).zero_point,
                     c.quant(l.output).zero_point, q.act_min, q.act_max, i, i);
}

void ConvFamily::emit_call(EmitContext& c, int i, const Layer& l, const Int8Layer& q,
                           const std::string in[2], const std::string& out) const {
  const int pad[4] = {l.pad_top, l.pad_left, l.pad_bottom, l.pad_right};
  c.data() << fmt::format("static const tn_conv_params_t p{} = {};\n", i,
                          params(c, i, l, q, l.in.h, l.in.w, l.out.h, l.out.w, pad));
  c.body() << fmt::format("  rc = {}(&p{}, {}, w{}, b{}, {}, {});\n", kernel_function(), i, in[0],
                          i, i, out, c.scratch(i, q15_scratch()));
}

void ConvFamily::emit_patch_constants(EmitContext& c, int i, const Layer& l,
                                      const Int8Layer& q) const {
  // The geometry is filled per patch from g<i>.
  const int pad[4] = {0, 0, 0, 0};
  c.data() << fmt::format("static const tn_conv_params_t p{} = {};\n", i,
                          params(c, i, l, q, 0, 0, 0, 0, pad));
}

void ConvFamily::emit_patch_call(EmitContext& c, int i, const Layer& l, const std::string in[2],
                                 const std::string& out) const {
  std::ostringstream& b = c.body();
  b << fmt::format("      tn_conv_params_t p = p{};\n", i);
  b << "      p.h_in = g[0]; p.w_in = g[1]; p.h_out = g[2]; p.w_out = g[3];\n";
  b << "      p.pad_top = g[4]; p.pad_left = g[5]; p.pad_bottom = g[6]; p.pad_right = g[7];\n";
  b << "      TN_PROFILE_BEGIN(slot);\n";
  b << fmt::format("      rc = {}(&p, {}, w{}, b{}, {}, {});\n", kernel_function(), in[0], i, i,
                   out, c.scratch(i, q15_scratch()));
  const int64_t per_pixel = l.macs / (static_cast<int64_t>(l.out.h) * l.out.w);
  b << "  " << c.profile_end(i, "slot++", "g[0]", "g[1]", "g[2]", "g[3]",
                             fmt::format("(int32_t)g[2] * g[3] * {}", per_pixel));
  b << "      if (rc != TN_OK) return rc;\n";
}

}  // namespace tinynas
