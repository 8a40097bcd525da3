// Naive reference implementations of the runtime's integer arithmetic, written
// independently of runtime/ (different formulas for the rounding, explicit
// zero-point-padded tensors instead of window clipping, int64 accumulators).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace tnref {

// round(2*a*b / 2^32), ties toward +inf (gemmlowp's nudge), saturating.
inline int32_t srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  __int128 twice = (__int128)2 * a * b;
  __int128 r = (twice + ((__int128)1 << 31)) >> 32;  // floor((2ab + 2^31) / 2^32)
  return (int32_t)r;
}

// round(x / 2^e), ties away from zero, via sign and magnitude.
inline int32_t rdbpot(int32_t x, int e) {
  if (e == 0) return x;
  int64_t mag = x < 0 ? -(int64_t)x : (int64_t)x;
  int64_t q = (mag + ((int64_t)1 << (e - 1))) >> e;
  return (int32_t)(x < 0 ? -q : q);
}

inline int32_t mbqm(int32_t x, int32_t m, int shift) {
  int left = shift > 0 ? shift : 0;
  int right = shift > 0 ? 0 : -shift;
  int32_t xs = (int32_t)((uint32_t)x << left);  // TF-Lite's x * (1 << left), wrapping
  return rdbpot(srdhm(xs, m), right);
}

inline int8_t requant(int64_t acc, int32_t m, int shift, int zp, int lo, int hi) {
  int64_t y = (int64_t)mbqm((int32_t)acc, m, shift) + zp;
  return (int8_t)std::min<int64_t>(hi, std::max<int64_t>(lo, y));
}

// TF-Lite QuantizeMultiplier with libm.
inline void quantize_multiplier(double real, int32_t* m, int32_t* shift) {
  if (real == 0.0) { *m = 0; *shift = 0; return; }
  int e = 0;
  double q = std::frexp(real, &e);
  int64_t qf = (int64_t)std::llround(q * (double)(1ll << 31));
  if (qf == (1ll << 31)) { qf /= 2; ++e; }
  if (e < -31) { e = 0; qf = 0; }
  if (e > 30) { e = 30; qf = INT32_MAX; }
  *m = (int32_t)qf;
  *shift = e;
}

struct ConvShape {
  int h_in, w_in, c_in, h_out, w_out, c_out, kh, kw, sh, sw, pt, pl, pb, pr;
  int zp_in, zp_out, act_min, act_max;
  std::vector<int32_t> mult, shift;
};

// Input surrounded by explicit padding filled with the input zero point.
inline std::vector<int> padded(const ConvShape& s, const int8_t* in) {
  const int H = s.h_in + s.pt + s.pb, W = s.w_in + s.pl + s.pr;
  std::vector<int> p((size_t)H * W * s.c_in, s.zp_in);
  for (int y = 0; y < s.h_in; ++y)
    for (int x = 0; x < s.w_in; ++x)
      for (int c = 0; c < s.c_in; ++c)
        p[((size_t)(y + s.pt) * W + (x + s.pl)) * s.c_in + c] = in[((size_t)y * s.w_in + x) * s.c_in + c];
  return p;
}

// groups = 1 conv with OHWI weights (pointwise is kh = kw = 1).
inline std::vector<int8_t> conv(const ConvShape& s, const int8_t* in, const int8_t* w, const int32_t* bias) {
  const int W = s.w_in + s.pl + s.pr;
  std::vector<int> p = padded(s, in);
  std::vector<int8_t> out((size_t)s.h_out * s.w_out * s.c_out);
  for (int oy = 0; oy < s.h_out; ++oy)
    for (int ox = 0; ox < s.w_out; ++ox)
      for (int oc = 0; oc < s.c_out; ++oc) {
        int64_t acc = bias ? bias[oc] : 0;
        for (int ky = 0; ky < s.kh; ++ky)
          for (int kx = 0; kx < s.kw; ++kx)
            for (int ic = 0; ic < s.c_in; ++ic) {
              int xv = p[((size_t)(oy * s.sh + ky) * W + (ox * s.sw + kx)) * s.c_in + ic];
              int wv = w[(((size_t)oc * s.kh + ky) * s.kw + kx) * s.c_in + ic];
              acc += (int64_t)(xv - s.zp_in) * wv;
            }
        out[((size_t)oy * s.w_out + ox) * s.c_out + oc] =
            requant(acc, s.mult[oc], s.shift[oc], s.zp_out, s.act_min, s.act_max);
      }
  return out;
}

// depthwise, weights [kh][kw][c].
inline std::vector<int8_t> depthwise(const ConvShape& s, const int8_t* in, const int8_t* w, const int32_t* bias) {
  const int W = s.w_in + s.pl + s.pr, C = s.c_in;
  std::vector<int> p = padded(s, in);
  std::vector<int8_t> out((size_t)s.h_out * s.w_out * C);
  for (int oy = 0; oy < s.h_out; ++oy)
    for (int ox = 0; ox < s.w_out; ++ox)
      for (int c = 0; c < C; ++c) {
        int64_t acc = bias ? bias[c] : 0;
        for (int ky = 0; ky < s.kh; ++ky)
          for (int kx = 0; kx < s.kw; ++kx)
            acc += (int64_t)(p[((size_t)(oy * s.sh + ky) * W + (ox * s.sw + kx)) * C + c] - s.zp_in) *
                   w[((size_t)ky * s.kw + kx) * C + c];
        out[((size_t)oy * s.w_out + ox) * C + c] = requant(acc, s.mult[c], s.shift[c], s.zp_out, s.act_min, s.act_max);
      }
  return out;
}

}  // namespace tnref
