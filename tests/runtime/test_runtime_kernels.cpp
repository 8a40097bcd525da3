// Bit-exact tests of the int8 runtime kernels against the naive references in
// ref_kernels.h. This file is compiled twice: against tinynas_runtime (portable
// C path) and tinynas_runtime_dspemu (the Arm SMLAD path with emulated
// intrinsics); TN_S() gives the two builds distinct suite names for ctest.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "runtime/tn_profile.h"
#include "runtime/tn_runtime.h"
#include "runtime/tn_internal.h"
#include "tests/runtime/ref_kernels.h"

#ifdef TN_TEST_DSP
#define TN_S(name) Runtime##name##DspEmu
#else
#define TN_S(name) Runtime##name
#endif

namespace {

using tnref::ConvShape;

std::vector<int8_t> rand_s8(std::mt19937& g, size_t n, int lo = -128, int hi = 127) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = (int8_t)d(g);
  return v;
}

int rnd(std::mt19937& g, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g); }

// Per-channel requantisation that keeps outputs spread over the int8 range for
// an accumulator of `taps` products; sometimes a multiplier > 1 (left shift).
void rand_requant(std::mt19937& g, ConvShape& s, int channels, int taps) {
  s.mult.resize(channels);
  s.shift.resize(channels);
  std::uniform_real_distribution<double> u(0.5, 2.0);
  for (int c = 0; c < channels; ++c) {
    double real = u(g) / (std::sqrt((double)taps) * 60.0);
    if (rnd(g, 0, 15) == 0) real = u(g) * 3.0;  // exercises shift > 0
    tnref::quantize_multiplier(real, &s.mult[c], &s.shift[c]);
  }
}

ConvShape rand_conv_shape(std::mt19937& g, int k, bool depthwise) {
  ConvShape s{};
  s.kh = s.kw = k;
  if (k > 1 && rnd(g, 0, 5) == 0) s.kw = rnd(g, 1, 7);  // non-square now and then (conv)
  if (depthwise) s.kw = k;
  s.sh = rnd(g, 1, 2);
  s.sw = rnd(g, 0, 4) == 0 ? 3 : s.sh;
  s.pt = rnd(g, 0, s.kh - 1);
  s.pb = rnd(g, 0, s.kh - 1);
  s.pl = rnd(g, 0, s.kw - 1);
  s.pr = rnd(g, 0, s.kw - 1);
  s.h_in = rnd(g, std::max(1, s.kh - s.pt - s.pb), 13);
  s.w_in = rnd(g, std::max(1, s.kw - s.pl - s.pr), 13);
  s.c_in = rnd(g, 1, depthwise ? 19 : 21);
  s.c_out = depthwise ? s.c_in : rnd(g, 1, 19);
  s.h_out = (s.h_in + s.pt + s.pb - s.kh) / s.sh + 1;
  s.w_out = (s.w_in + s.pl + s.pr - s.kw) / s.sw + 1;
  s.zp_in = rnd(g, -128, 127);
  s.zp_out = rnd(g, -128, 127);
  if (rnd(g, 0, 2) == 0) {  // ReLU6-like range
    s.act_min = s.zp_out;
    s.act_max = std::min(127, s.zp_out + rnd(g, 1, 120));
  } else {
    s.act_min = -128;
    s.act_max = 127;
  }
  rand_requant(g, s, s.c_out, depthwise ? s.kh * s.kw : s.kh * s.kw * s.c_in);
  return s;
}

tn_conv_params_t to_params(const ConvShape& s) {
  tn_conv_params_t p{};
  p.h_in = s.h_in; p.w_in = s.w_in; p.c_in = s.c_in;
  p.h_out = s.h_out; p.w_out = s.w_out; p.c_out = s.c_out;
  p.kh = s.kh; p.kw = s.kw; p.stride_h = s.sh; p.stride_w = s.sw;
  p.pad_top = s.pt; p.pad_left = s.pl; p.pad_bottom = s.pb; p.pad_right = s.pr;
  p.input_zero_point = s.zp_in; p.output_zero_point = s.zp_out;
  p.act_min = s.act_min; p.act_max = s.act_max;
  p.out_multiplier = s.mult.data(); p.out_shift = s.shift.data();
  return p;
}

std::vector<int32_t> rand_bias(std::mt19937& g, int n) {
  std::vector<int32_t> b(n);
  for (auto& x : b) x = rnd(g, -20000, 20000);
  return b;
}

constexpr uint8_t kCanary = 0xA5;

// Scratch of exactly `bytes` followed by canaries; check() asserts they survive.
// 8-byte aligned, as the runtime requires for conv / pointwise scratch (the
// memory planner's kArenaAlignment); `shift` > 0 misaligns it on purpose.
struct Scratch {
  std::vector<uint64_t> words;  // 8-byte aligned
  size_t bytes, shift;
  explicit Scratch(size_t n, size_t shift_bytes = 0) : words((n + shift_bytes + 64) / 8 + 1), bytes(n), shift(shift_bytes) {
    std::memset(words.data(), kCanary, words.size() * 8);
  }
  template <class T> T* ptr() { return reinterpret_cast<T*>(reinterpret_cast<uint8_t*>(words.data()) + shift); }
  bool intact() const {
    const uint8_t* b = reinterpret_cast<const uint8_t*>(words.data());
    for (size_t i = 0; i < shift; ++i)
      if (b[i] != kCanary) return false;
    for (size_t i = shift + bytes; i < words.size() * 8; ++i)
      if (b[i] != kCanary) return false;
    return true;
  }
};

// ---------------------------------------------------------------- rounding

TEST(TN_S(Rounding), HandPickedValues) {
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(1 << 30, 1), 1);    // +0.5 -> 1
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(-(1 << 30), 1), 0); // -0.5 -> 0 (ties up)
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(-3 * (1 << 29), 2), -1); // -1.5 -> -1
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MAX), -INT32_MAX);
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(INT32_MAX, INT32_MAX), INT32_MAX - 1);
  EXPECT_EQ(tn_rounding_divide_by_pot(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(tn_rounding_divide_by_pot(-5, 1), -3);  // -2.5 -> -3
  EXPECT_EQ(tn_rounding_divide_by_pot(-4, 1), -2);
  EXPECT_EQ(tn_rounding_divide_by_pot(7, 2), 2);    // 1.75
  EXPECT_EQ(tn_rounding_divide_by_pot(-7, 2), -2);
  EXPECT_EQ(tn_rounding_divide_by_pot(6, 2), 2);    // 1.5 -> 2
  EXPECT_EQ(tn_rounding_divide_by_pot(-6, 2), -2);  // -1.5 -> -2
  EXPECT_EQ(tn_rounding_divide_by_pot(INT32_MIN, 31), -1);
  EXPECT_EQ(tn_rounding_divide_by_pot(INT32_MAX, 31), 1);
  EXPECT_EQ(tn_rounding_divide_by_pot(1 << 29, 31), 0);
  EXPECT_EQ(tn_rounding_divide_by_pot(123, 0), 123);
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(100, 1 << 30, 1), 100);   // 0.5 * 2
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(100, 1 << 30, 0), 50);    // 0.5
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(101, 1 << 30, -1), 26);   // double rounding: 50.5 -> 51, 25.5 -> 26
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(-102, 1 << 30, -2), -13); // -12.75
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(-100, 1 << 30, -2), -13); // -12.5 -> -13
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(1000, INT32_MAX, -31), 0);
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(1, 1 << 30, 30), 1 << 29);
}

TEST(TN_S(Rounding), RandomAgainstReference) {
  std::mt19937 g(1234);
  std::uniform_int_distribution<int32_t> any(INT32_MIN, INT32_MAX);
  for (int i = 0; i < 200000; ++i) {
    int32_t a = any(g), b = any(g);
    if (i % 7 == 0) a = INT32_MIN;
    if (i % 11 == 0) b = INT32_MIN;
    ASSERT_EQ(tn_saturating_rounding_doubling_high_mul(a, b), tnref::srdhm(a, b)) << a << " " << b;
    int e = i % 32;
    ASSERT_EQ(tn_rounding_divide_by_pot(a, e), tnref::rdbpot(a, e)) << a << " " << e;
    // exact ties: a = (2k+1) * 2^(e-1)
    if (e > 0 && e < 31) {
      int32_t tie = (int32_t)(((int64_t)(a >> e) * 2 + 1) * ((int64_t)1 << (e - 1)));
      ASSERT_EQ(tn_rounding_divide_by_pot(tie, e), tnref::rdbpot(tie, e)) << tie << " " << e;
    }
    int shift = -31 + (i % 62);
    int32_t m = (int32_t)(0x40000000u + ((uint32_t)b & 0x3FFFFFFFu));
    int32_t x = (i % 3 == 0) ? (a >> rnd(g, 0, 31)) : a;
    ASSERT_EQ(tn_multiply_by_quantized_multiplier(x, m, shift), tnref::mbqm(x, m, shift))
        << x << " " << m << " " << shift;
  }
}

TEST(TN_S(Rounding), QuantizeMultiplier) {
  int32_t m = -1, s = -1;
  ASSERT_EQ(tn_quantize_multiplier(0.5, &m, &s), TN_OK);
  EXPECT_EQ(m, 1 << 30); EXPECT_EQ(s, 0);
  ASSERT_EQ(tn_quantize_multiplier(1.0, &m, &s), TN_OK);
  EXPECT_EQ(m, 1 << 30); EXPECT_EQ(s, 1);
  ASSERT_EQ(tn_quantize_multiplier(0.75, &m, &s), TN_OK);
  EXPECT_EQ(m, 3 << 29); EXPECT_EQ(s, 0);
  ASSERT_EQ(tn_quantize_multiplier(0.0, &m, &s), TN_OK);
  EXPECT_EQ(m, 0); EXPECT_EQ(s, 0);
  ASSERT_EQ(tn_quantize_multiplier(1.0 - std::ldexp(1.0, -40), &m, &s), TN_OK);  // rounds up to 2^31
  EXPECT_EQ(m, 1 << 30); EXPECT_EQ(s, 1);
  ASSERT_EQ(tn_quantize_multiplier(1e-12, &m, &s), TN_OK);  // below 2^-32: flushed
  EXPECT_EQ(m, 0); EXPECT_EQ(s, 0);
  ASSERT_EQ(tn_quantize_multiplier(1e12, &m, &s), TN_OK);   // saturated
  EXPECT_EQ(m, INT32_MAX); EXPECT_EQ(s, 30);
  EXPECT_EQ(tn_quantize_multiplier(-0.5, &m, &s), TN_ERR_ARG);
  EXPECT_EQ(tn_quantize_multiplier(INFINITY, &m, &s), TN_ERR_ARG);
  EXPECT_EQ(tn_quantize_multiplier(NAN, &m, &s), TN_ERR_ARG);
  std::mt19937 g(7);
  std::uniform_real_distribution<double> u(-30.0, 10.0);
  for (int i = 0; i < 20000; ++i) {
    double real = std::exp2(u(g));
    int32_t rm, rs;
    tnref::quantize_multiplier(real, &rm, &rs);
    ASSERT_EQ(tn_quantize_multiplier(real, &m, &s), TN_OK);
    ASSERT_EQ(m, rm) << real;
    ASSERT_EQ(s, rs) << real;
    ASSERT_GE(m, 1 << 30);
    ASSERT_NEAR(std::ldexp((double)m, s - 31), real, real * 1e-9);
  }
}

// The inline fast requantisation (SMLAL form, used by the kernels when
// m > 0 and -22 <= shift <= -2) must equal MBQM + zp exactly, ties included.
TEST(TN_S(Rounding), FastRequantMatchesReference) {
  std::mt19937 g(4321);
  std::uniform_int_distribution<int32_t> any(INT32_MIN, INT32_MAX);
  int checked = 0;
  for (int i = 0; i < 400000; ++i) {
    const int32_t shift = -rnd(g, 0, 24);
    const int32_t m = (int32_t)(0x40000000u + ((uint32_t)any(g) & 0x3FFFFFFFu));
    const int32_t zp = rnd(g, -128, 127);
    int32_t x = any(g);
    if (i % 3 == 0) x >>= rnd(g, 0, 31);
    if (i % 5 == 0) {  // exact ties of the final division: r = (2k+1) 2^(e-1)
      const int e = -shift;
      if (e >= 1) {
        const int64_t r = (int64_t)rnd(g, -100000, 100000) * 2 + 1;
        // x * m / 2^31 ~ r * 2^(e-1): pick x so SRDHM lands on r (or next to it)
        const double xr = (double)r * std::ldexp(1.0, e - 1) * 2147483648.0 / (double)m;
        if (std::fabs(xr) < 2e9) x = (int32_t)std::llround(xr) + rnd(g, -1, 1);
      }
    }
    if (i % 7 == 0) x = i % 2 ? INT32_MIN : INT32_MAX;
    const bool ok = tn__rq_fast_ok(m, shift) != 0;
    ASSERT_EQ(ok, shift <= -2 && shift >= -22);
    if (!ok) continue;
    const int32_t want = tnref::mbqm(x, m, shift) + zp;
    ASSERT_EQ(tn__rq_fast(x, m, tn__rq_kh(shift, zp), -shift - 1), want) << x << " " << m << " " << shift << " " << zp;
    ++checked;
  }
  EXPECT_GT(checked, 300000);
  EXPECT_FALSE(tn__rq_fast_ok(0, -5));
  EXPECT_FALSE(tn__rq_fast_ok(-5, -5));
  EXPECT_FALSE(tn__rq_fast_ok(1 << 30, -1));
  EXPECT_FALSE(tn__rq_fast_ok(1 << 30, -23));
}

#if TN_USE_DSP
// The doubled-accumulator requantisation (SMMLAR form, tn__rq2) must equal
// MBQM + zp exactly on the tn__rq_fast_ok range whenever 2x fits int32,
// ties and the extremes of x, m, zp (zp - act_min reaches +-255) included.
TEST(TN_S(Rounding), DoubledRequantMatchesReference) {
  std::mt19937 g(8642);
  std::uniform_int_distribution<int32_t> any(INT32_MIN, INT32_MAX);
  int checked = 0;
  for (int i = 0; i < 400000; ++i) {
    const int32_t shift = -rnd(g, 2, 22);
    int32_t m = (int32_t)(0x40000000u + ((uint32_t)any(g) & 0x3FFFFFFFu));
    if (i % 11 == 0) m = i % 2 ? INT32_MAX : rnd(g, 1, 1000);
    const int32_t zp = i % 13 == 0 ? (i % 2 ? 255 : -255) : rnd(g, -255, 255);
    int32_t x = any(g) >> 1;  // |2x| < 2^31
    if (i % 3 == 0) x >>= rnd(g, 0, 30);
    if (i % 5 == 0) {  // exact ties of the final division
      const int e = -shift;
      const int64_t r = (int64_t)rnd(g, -100000, 100000) * 2 + 1;
      const double xr = (double)r * std::ldexp(1.0, e - 1) * 2147483648.0 / (double)m;
      if (std::fabs(xr) < 1e9) x = (int32_t)std::llround(xr) + rnd(g, -1, 1);
    }
    if (i % 7 == 0) x = i % 2 ? -(1 << 30) : (1 << 30) - 1;
    const int32_t want = tnref::mbqm(x, m, shift) + zp;
    ASSERT_EQ(tn__rq2(2 * x, m, tn__rq2_k(shift, zp), -shift), want) << x << " " << m << " " << shift << " " << zp;
    ++checked;
  }
  EXPECT_EQ(checked, 400000);
  EXPECT_TRUE(tn__dbl_ok((1 << 29) - 1));
  EXPECT_FALSE(tn__dbl_ok(1 << 29));
  EXPECT_FALSE(tn__dbl_ok(-(1 << 29)));
}
#endif

// ---------------------------------------------------------------- conv2d

void run_conv_case(std::mt19937& g, const ConvShape& s, std::set<int>* seen = nullptr) {
  auto in = rand_s8(g, (size_t)s.h_in * s.w_in * s.c_in);
  auto w = rand_s8(g, (size_t)s.c_out * s.kh * s.kw * s.c_in, -127, 127);
  auto bias = rand_bias(g, s.c_out);
  auto want = tnref::conv(s, in.data(), w.data(), bias.data());
  tn_conv_params_t p = to_params(s);
  Scratch scratch(tn_conv2d_scratch_bytes_hw(s.kh, s.kw, s.c_in));
  std::vector<int8_t> out(want.size() + 8, 0x55);
  ASSERT_EQ(tn_conv2d_s8(&p, in.data(), w.data(), bias.data(), out.data(), scratch.ptr<int16_t>()), TN_OK);
  ASSERT_TRUE(scratch.intact()) << "scratch overrun";
  for (size_t i = want.size(); i < out.size(); ++i) ASSERT_EQ(out[i], 0x55) << "output overrun";
  out.resize(want.size());
  ASSERT_EQ(out, want) << "k=" << s.kh << "x" << s.kw << " s=" << s.sh << "," << s.sw << " pads=" << s.pt << s.pl
                       << s.pb << s.pr << " in=" << s.h_in << "x" << s.w_in << "x" << s.c_in << " cout=" << s.c_out;
  if (seen) seen->insert(want.begin(), want.end());
}

TEST(TN_S(Conv2d), ScratchSize) {
  EXPECT_EQ(tn_conv2d_scratch_bytes(3, 16), 2u * 3 * 3 * 16 * 2);
  EXPECT_EQ(tn_conv2d_scratch_bytes(1, 5), 20u);
  EXPECT_EQ(tn_conv2d_scratch_bytes_hw(3, 5, 2), 2u * 15 * 2 * 2);
}

TEST(TN_S(Conv2d), RandomShapesMatchReference) {
  std::mt19937 g(42);
  std::set<int> seen;
  for (int i = 0; i < 250; ++i) {
    const int ks[] = {1, 2, 3, 3, 5, 7};
    ConvShape s = rand_conv_shape(g, ks[i % 6], false);
    run_conv_case(g, s, &seen);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(seen.size(), 200u) << "outputs should cover most of the int8 range";
}

TEST(TN_S(Conv2d), FirstLayerStride2AsymmetricPadding) {
  std::mt19937 g(3);
  ConvShape s{};
  s.h_in = 17; s.w_in = 16; s.c_in = 3; s.c_out = 8; s.kh = s.kw = 3; s.sh = s.sw = 2;
  s.pt = 1; s.pl = 0; s.pb = 0; s.pr = 1;  // patch touching top and right borders
  s.h_out = (17 + 1 - 3) / 2 + 1; s.w_out = (16 + 1 - 3) / 2 + 1;
  s.zp_in = -5; s.zp_out = -128; s.act_min = -128; s.act_max = -128 + 90;
  rand_requant(g, s, 8, 27);
  run_conv_case(g, s);
}

// MLPerf Tiny DS-CNN's stem: 49 x 10 x 1 MFCC map, 10 x 4 kernel, stride 2, TF SAME pads
// (4 top, 1 left, 5 bottom, 1 right) -> 25 x 5 x 64; ReLU6-like output range.
TEST(TN_S(Conv2d), DsCnnStemTenByFourAsymmetricPadding) {
  std::mt19937 g(49);
  ConvShape s{};
  s.h_in = 49; s.w_in = 10; s.c_in = 1; s.c_out = 64; s.kh = 10; s.kw = 4; s.sh = s.sw = 2;
  s.pt = 4; s.pl = 1; s.pb = 5; s.pr = 1;
  s.h_out = (49 + 4 + 5 - 10) / 2 + 1; s.w_out = (10 + 1 + 1 - 4) / 2 + 1;
  ASSERT_EQ(s.h_out, 25);
  ASSERT_EQ(s.w_out, 5);
  s.zp_in = 7; s.zp_out = -128; s.act_min = -128; s.act_max = -128 + 100;
  rand_requant(g, s, 64, 40);
  run_conv_case(g, s);
}

TEST(TN_S(Conv2d), RejectsBadShapes) {
  std::mt19937 g(5);
  ConvShape s = rand_conv_shape(g, 3, false);
  tn_conv_params_t p = to_params(s);
  std::vector<int8_t> in(4096), w(4096), out(4096);
  std::vector<int16_t> scratch(4096);
  p.h_out += 1;
  EXPECT_EQ(tn_conv2d_s8(&p, in.data(), w.data(), nullptr, out.data(), scratch.data()), TN_ERR_SHAPE);
  p = to_params(s);
  p.stride_h = 0;
  EXPECT_EQ(tn_conv2d_s8(&p, in.data(), w.data(), nullptr, out.data(), scratch.data()), TN_ERR_ARG);
  p = to_params(s);
  p.pad_top = 3;
  EXPECT_EQ(tn_conv2d_s8(&p, in.data(), w.data(), nullptr, out.data(), scratch.data()), TN_ERR_ARG);
  p = to_params(s);
  EXPECT_EQ(tn_conv2d_s8(&p, nullptr, w.data(), nullptr, out.data(), scratch.data()), TN_ERR_ARG);
  EXPECT_EQ(tn_conv2d_s8(nullptr, in.data(), w.data(), nullptr, out.data(), scratch.data()), TN_ERR_ARG);
}

TEST(TN_S(Conv2d), NullBiasMeansZero) {
  std::mt19937 g(9);
  ConvShape s = rand_conv_shape(g, 3, false);
  auto in = rand_s8(g, (size_t)s.h_in * s.w_in * s.c_in);
  auto w = rand_s8(g, (size_t)s.c_out * 9 * s.c_in, -127, 127);
  std::vector<int32_t> zeros(s.c_out, 0);
  auto want = tnref::conv(s, in.data(), w.data(), zeros.data());
  tn_conv_params_t p = to_params(s);
  Scratch scratch(tn_conv2d_scratch_bytes(3, s.c_in));
  std::vector<int8_t> out(want.size());
  ASSERT_EQ(tn_conv2d_s8(&p, in.data(), w.data(), nullptr, out.data(), scratch.ptr<int16_t>()), TN_OK);
  EXPECT_EQ(out, want);
}

// ---------------------------------------------------------------- RGB stem, camera frames

// The int8 image that a frame window stands for (tn_runtime.h): lut[c][byte], RGB565 widened by
// repeating each field's top bits.
std::vector<int8_t> frame_image(const uint8_t* px, int h, int w, int pitch, int format,
                                const std::vector<int8_t>& lut) {
  const int c = format == TN_FRAME_GRAY8 ? 1 : 3;
  std::vector<int8_t> img((size_t)h * w * c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int8_t* d = &img[((size_t)y * w + x) * c];
      if (format == TN_FRAME_GRAY8) {
        d[0] = lut[px[y * pitch + x]];
      } else if (format == TN_FRAME_RGB888) {
        for (int k = 0; k < 3; ++k) d[k] = lut[256 * k + px[y * pitch + 3 * x + k]];
      } else {
        const int v = px[y * pitch + 2 * x] | (px[y * pitch + 2 * x + 1] << 8);
        const int r = v >> 11, gr = (v >> 5) & 63, b = v & 31;
        d[0] = lut[r * 8 + r / 4];
        d[1] = lut[256 + gr * 4 + gr / 16];
        d[2] = lut[512 + b * 8 + b / 4];
      }
    }
  return img;
}

// A first-layer shape: c_in channels, k x k, stride s, random pads below k, odd sizes, any zero
// points; now and then a requantisation outside the doubled fast path (shift > 0: the generic
// matrix kernel) or a NULL bias.
ConvShape rand_stem_shape(std::mt19937& g, int c_in, int k, int stride) {
  ConvShape s{};
  s.kh = s.kw = k;
  s.sh = s.sw = stride;
  s.pt = rnd(g, 0, k - 1), s.pb = rnd(g, 0, k - 1), s.pl = rnd(g, 0, k - 1), s.pr = rnd(g, 0, k - 1);
  if (rnd(g, 0, 2) == 0) s.pt = s.pl = s.pb = s.pr = k / 2;
  s.h_in = rnd(g, std::max(1, k - s.pt - s.pb), 21);
  s.w_in = rnd(g, std::max(1, k - s.pl - s.pr), 23);
  s.c_in = c_in;
  s.c_out = rnd(g, 0, 3) == 0 ? rnd(g, 1, 5) : rnd(g, 6, 33);
  s.h_out = (s.h_in + s.pt + s.pb - k) / stride + 1;
  s.w_out = (s.w_in + s.pl + s.pr - k) / stride + 1;
  s.zp_in = rnd(g, -128, 127);
  s.zp_out = rnd(g, -128, 127);
  s.act_min = rnd(g, 0, 1) ? s.zp_out : -128;
  s.act_max = 127;
  rand_requant(g, s, s.c_out, k * k * c_in);
  return s;
}

TEST(TN_S(Conv2d), RgbStemMatchesReference) {
  std::mt19937 g(2021);
  for (int i = 0; i < 300; ++i) {
    const int k = i % 10 == 9 ? 5 : i % 10 == 8 ? 7 : 3;
    ConvShape s = rand_stem_shape(g, 3, k, i % 3 == 2 ? 1 : 2);
    run_conv_case(g, s);
    if (HasFatalFailure()) return;
  }
}

// tn_conv2d_frame_s8 on a window of a larger frame (pitch beyond the window) == tn_conv2d_s8 on
// the int8 image the table makes of it == the reference; every format, the grey 3x3 stride-1
// stem, the RGB stem, other kernels and strides.
TEST(TN_S(Conv2d), FrameInputMatchesInt8Image) {
  std::mt19937 g(565);
  std::set<int> formats;
  for (int i = 0; i < 240; ++i) {
    const int format = i % 3 == 0 ? TN_FRAME_GRAY8 : i % 3 == 1 ? TN_FRAME_RGB888 : TN_FRAME_RGB565;
    const int bpp = format == TN_FRAME_GRAY8 ? 1 : format == TN_FRAME_RGB888 ? 3 : 2;
    const int k = i % 8 == 7 ? 5 : 3, stride = i % 4 < 2 ? 1 : 2;
    ConvShape s = rand_stem_shape(g, format == TN_FRAME_GRAY8 ? 1 : 3, k, stride);
    // The window at (y0, x0) of a bigger frame, rows `pitch` bytes apart.
    const int y0 = rnd(g, 0, 3), x0 = rnd(g, 0, 3), pitch = (s.w_in + x0 + rnd(g, 0, 5)) * bpp + rnd(g, 0, 3);
    std::vector<uint8_t> frame((size_t)(s.h_in + y0 + 1) * pitch);
    for (auto& b : frame) b = (uint8_t)rnd(g, 0, 255);
    std::vector<int8_t> lut = rand_s8(g, 3 * 256);
    const uint8_t* win = frame.data() + (size_t)y0 * pitch + (size_t)x0 * bpp;
    const std::vector<int8_t> img = frame_image(win, s.h_in, s.w_in, pitch, format, lut);
    auto w = rand_s8(g, (size_t)s.c_out * k * k * s.c_in, -127, 127);
    auto bias = rand_bias(g, s.c_out);
    const int32_t* b = i % 11 == 10 ? nullptr : bias.data();
    std::vector<int32_t> zeros(s.c_out, 0);
    const auto want = tnref::conv(s, img.data(), w.data(), b ? b : zeros.data());
    tn_conv_params_t p = to_params(s);
    Scratch scratch(tn_conv2d_s8_scratch_bytes(&p));
    std::vector<int8_t> out(want.size() + 8, 0x55), ref8(want.size());
    tn_frame_t f{win, pitch, format, lut.data()};
    ASSERT_EQ(tn_conv2d_frame_s8(&p, &f, w.data(), b, out.data(), scratch.ptr<int16_t>()), TN_OK);
    ASSERT_TRUE(scratch.intact()) << "scratch overrun";
    for (size_t j = want.size(); j < out.size(); ++j) ASSERT_EQ(out[j], 0x55) << "output overrun";
    out.resize(want.size());
    ASSERT_EQ(out, want) << "format " << format << " k=" << k << " s=" << stride << " in=" << s.h_in << "x"
                         << s.w_in << " pads=" << s.pt << s.pl << s.pb << s.pr << " cout=" << s.c_out;
    ASSERT_EQ(tn_conv2d_s8(&p, img.data(), w.data(), b, ref8.data(), scratch.ptr<int16_t>()), TN_OK);
    ASSERT_EQ(ref8, out);
    formats.insert(format);
  }
  EXPECT_EQ(formats.size(), 3u);
}

TEST(TN_S(Conv2d), FrameRejectsBadArguments) {
  std::mt19937 g(7);
  ConvShape s = rand_stem_shape(g, 3, 3, 2);
  tn_conv_params_t p = to_params(s);
  std::vector<uint8_t> px(4096);
  std::vector<int8_t> lut(768), w(4096), out(4096);
  Scratch scratch(tn_conv2d_s8_scratch_bytes(&p));
  tn_frame_t f{px.data(), s.w_in * 3, TN_FRAME_RGB888, lut.data()};
  int16_t* sc = scratch.ptr<int16_t>();
  EXPECT_EQ(tn_conv2d_frame_s8(&p, &f, w.data(), nullptr, out.data(), sc), TN_OK);
  EXPECT_EQ(tn_conv2d_frame_s8(&p, nullptr, w.data(), nullptr, out.data(), sc), TN_ERR_ARG);
  tn_frame_t bad = f;
  bad.format = TN_FRAME_GRAY8;  // one channel for a 3-channel conv
  EXPECT_EQ(tn_conv2d_frame_s8(&p, &bad, w.data(), nullptr, out.data(), sc), TN_ERR_ARG);
  bad = f;
  bad.format = 7;
  EXPECT_EQ(tn_conv2d_frame_s8(&p, &bad, w.data(), nullptr, out.data(), sc), TN_ERR_ARG);
  bad = f;
  bad.lut = nullptr;
  EXPECT_EQ(tn_conv2d_frame_s8(&p, &bad, w.data(), nullptr, out.data(), sc), TN_ERR_ARG);
  p.h_out += 1;
  EXPECT_EQ(tn_conv2d_frame_s8(&p, &f, w.data(), nullptr, out.data(), sc), TN_ERR_SHAPE);
  EXPECT_EQ(tn_frame_channels(TN_FRAME_GRAY8), 1);
  EXPECT_EQ(tn_frame_channels(TN_FRAME_RGB888), 3);
  EXPECT_EQ(tn_frame_channels(TN_FRAME_RGB565), 3);
  EXPECT_EQ(tn_frame_channels(-1), 0);
}

// The patch crop straight from a frame == tn_crop_s8 of the int8 image, borders included.
TEST(TN_S(Patch), CropFrameMatchesCropOfInt8Image) {
  std::mt19937 g(99);
  for (int i = 0; i < 90; ++i) {
    const int format = i % 3 == 0 ? TN_FRAME_GRAY8 : i % 3 == 1 ? TN_FRAME_RGB888 : TN_FRAME_RGB565;
    const int bpp = format == TN_FRAME_GRAY8 ? 1 : format == TN_FRAME_RGB888 ? 3 : 2, c = format ? 3 : 1;
    const int h = rnd(g, 1, 17), w = rnd(g, 1, 19), pitch = w * bpp + rnd(g, 0, 7);
    std::vector<uint8_t> frame((size_t)h * pitch);
    for (auto& b : frame) b = (uint8_t)rnd(g, 0, 255);
    std::vector<int8_t> lut = rand_s8(g, 3 * 256);
    const std::vector<int8_t> img = frame_image(frame.data(), h, w, pitch, format, lut);
    const int y0 = rnd(g, -3, h), x0 = rnd(g, -3, w), ch = rnd(g, 1, 9), cw = rnd(g, 1, 9);
    const int8_t fill = (int8_t)rnd(g, -128, 127);
    std::vector<int8_t> want((size_t)ch * cw * c), got(want.size() + 4, 0x55);
    tn_crop_s8(img.data(), h, w, c, y0, x0, ch, cw, fill, want.data());
    tn_frame_t f{frame.data(), pitch, format, lut.data()};
    tn_crop_frame_s8(&f, h, w, y0, x0, ch, cw, fill, got.data());
    for (size_t j = want.size(); j < got.size(); ++j) ASSERT_EQ(got[j], 0x55) << "overrun";
    got.resize(want.size());
    ASSERT_EQ(got, want) << "format " << format << " " << h << "x" << w << " at " << y0 << "," << x0;
  }
}

// ---------------------------------------------------------------- pointwise

TEST(TN_S(Pointwise), RandomShapesMatchReference) {
  std::mt19937 g(77);
  std::set<int> seen;
  for (int i = 0; i < 300; ++i) {
    ConvShape s{};
    s.kh = s.kw = 1;
    s.sh = s.sw = (i % 4 == 3) ? 2 : 1;
    s.h_in = rnd(g, 1, 12); s.w_in = rnd(g, 1, 12);
    s.c_in = rnd(g, 1, 70); s.c_out = rnd(g, 1, 40);
    s.h_out = (s.h_in - 1) / s.sh + 1; s.w_out = (s.w_in - 1) / s.sw + 1;
    s.zp_in = rnd(g, -128, 127); s.zp_out = rnd(g, -128, 127);
    s.act_min = -128; s.act_max = 127;
    if (i % 2) { s.act_min = s.zp_out; s.act_max = std::min(127, s.zp_out + 100); }
    rand_requant(g, s, s.c_out, s.c_in);
    auto in = rand_s8(g, (size_t)s.h_in * s.w_in * s.c_in);
    auto w = rand_s8(g, (size_t)s.c_out * s.c_in, -127, 127);
    auto bias = rand_bias(g, s.c_out);
    auto want = tnref::conv(s, in.data(), w.data(), bias.data());
    tn_conv_params_t p = to_params(s);
    Scratch scratch(tn_pointwise_scratch_bytes(s.c_in));
    std::vector<int8_t> out(want.size());
    ASSERT_EQ(tn_pointwise_s8(&p, in.data(), w.data(), bias.data(), out.data(), scratch.ptr<int16_t>()), TN_OK);
    ASSERT_TRUE(scratch.intact());
    ASSERT_EQ(out, want) << "case " << i << " cin=" << s.c_in << " cout=" << s.c_out << " stride=" << s.sh;
    seen.insert(want.begin(), want.end());
  }
  EXPECT_GT(seen.size(), 200u);
  EXPECT_EQ(tn_pointwise_scratch_bytes(24), 96u);
}

TEST(TN_S(Pointwise), RejectsKernelOrPadding) {
  ConvShape s{};
  s.h_in = s.w_in = 4; s.c_in = 4; s.c_out = 4; s.kh = s.kw = 1; s.sh = s.sw = 1;
  s.h_out = s.w_out = 4; s.act_min = -128; s.act_max = 127;
  s.mult.assign(4, 1 << 30); s.shift.assign(4, 0);
  tn_conv_params_t p = to_params(s);
  std::vector<int8_t> in(64), w(16), out(64);
  std::vector<int16_t> scratch(8);
  EXPECT_EQ(tn_pointwise_s8(&p, in.data(), w.data(), nullptr, out.data(), scratch.data()), TN_OK);
  p.kh = p.kw = 3; p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
  EXPECT_EQ(tn_pointwise_s8(&p, in.data(), w.data(), nullptr, out.data(), scratch.data()), TN_ERR_ARG);
}

// The Arm pointwise kernel (tn__pw_2x2_asm on QEMU, its C reference here):
// every c_in class (k / 4 groups: none, < 8, exactly 8, more than 8 in whole and
// partial passes; k % 4 tails 1..3), even and odd c_out, 1x1 maps, odd pixel
// counts, stride 2, clamp ranges, with and without bias.
TEST(TN_S(Pointwise), KernelPathShapes) {
  std::mt19937 g(4242);
  const int cins[] = {1, 2, 3, 4, 5, 7, 8, 12, 16, 20, 28, 31, 32, 33, 36, 60, 64, 68, 100, 132};
  const int couts[] = {1, 2, 3, 7, 16, 33};
  const int maps[][3] = {{1, 1, 1}, {1, 3, 1}, {3, 3, 1}, {2, 5, 1}, {5, 4, 2}};
  int n = 0;
  for (int cin : cins)
    for (int cout : couts)
      for (const auto& m : maps) {
        ConvShape s{};
        s.kh = s.kw = 1;
        s.h_in = m[0]; s.w_in = m[1]; s.sh = s.sw = m[2];
        s.c_in = cin; s.c_out = cout;
        s.h_out = (s.h_in - 1) / s.sh + 1; s.w_out = (s.w_in - 1) / s.sw + 1;
        s.zp_in = rnd(g, -128, 127); s.zp_out = rnd(g, -128, 127);
        switch (n % 3) {
          case 0: s.act_min = -128; s.act_max = 127; break;
          case 1: s.act_min = s.zp_out; s.act_max = std::min(127, s.zp_out + rnd(g, 0, 120)); break;
          default: s.act_min = rnd(g, -128, 127); s.act_max = rnd(g, s.act_min, 127); break;
        }
        rand_requant(g, s, s.c_out, s.c_in);
        if (n % 7 == 0)  // a generic-requantisation channel now and then
          s.shift[rnd(g, 0, s.c_out - 1)] = rnd(g, 0, 1) ? 1 : -23;
        auto in = rand_s8(g, (size_t)s.h_in * s.w_in * s.c_in);
        auto w = rand_s8(g, (size_t)s.c_out * s.c_in, -127, 127);
        auto bias = rand_bias(g, s.c_out);
        const bool with_bias = n % 4 != 1;
        auto want = tnref::conv(s, in.data(), w.data(), with_bias ? bias.data() : nullptr);
        tn_conv_params_t p = to_params(s);
        Scratch scratch(tn_pointwise_scratch_bytes(s.c_in));
        std::vector<int8_t> out(want.size() + 8, 0x5A);
        ASSERT_EQ(tn_pointwise_s8(&p, in.data(), w.data(), with_bias ? bias.data() : nullptr, out.data(),
                                  scratch.ptr<int16_t>()),
                  TN_OK);
        ASSERT_TRUE(scratch.intact());
        for (size_t i = want.size(); i < out.size(); ++i) ASSERT_EQ(out[i], 0x5A) << "wrote past the output";
        out.resize(want.size());
        ASSERT_EQ(out, want) << "cin=" << cin << " cout=" << cout << " map=" << m[0] << "x" << m[1] << " s=" << m[2]
                             << " bias=" << with_bias << " act=[" << s.act_min << "," << s.act_max << "]";
        ++n;
      }
}

// Scratch alignment contract (tn_runtime.h): conv / pointwise reject a
// scratch that is not 8-byte aligned on every build; depthwise accepts any.
TEST(TN_S(Runtime), ScratchAlignment) {
  std::mt19937 g(64);
  ConvShape s{};
  s.kh = s.kw = 1; s.sh = s.sw = 1;
  s.h_in = s.w_in = s.h_out = s.w_out = 3; s.c_in = 8; s.c_out = 5;
  s.zp_in = 3; s.zp_out = -4; s.act_min = -128; s.act_max = 127;
  rand_requant(g, s, s.c_out, s.c_in);
  auto in = rand_s8(g, 9 * 8);
  auto w = rand_s8(g, 5 * 8, -127, 127);
  auto bias = rand_bias(g, 5);
  auto want = tnref::conv(s, in.data(), w.data(), bias.data());
  tn_conv_params_t p = to_params(s);
  std::vector<int8_t> out(want.size());
  for (size_t shift : {2u, 4u, 6u}) {
    Scratch bad(tn_pointwise_scratch_bytes(8), shift);
    EXPECT_EQ(tn_pointwise_s8(&p, in.data(), w.data(), bias.data(), out.data(), bad.ptr<int16_t>()), TN_ERR_ARG);
    EXPECT_TRUE(bad.intact());
  }
  Scratch ok(tn_pointwise_scratch_bytes(8), 8);
  ASSERT_EQ(tn_pointwise_s8(&p, in.data(), w.data(), bias.data(), out.data(), ok.ptr<int16_t>()), TN_OK);
  EXPECT_EQ(out, want);

  ConvShape c = s;
  c.kh = c.kw = 3; c.pt = c.pl = c.pb = c.pr = 1;
  rand_requant(g, c, c.c_out, 9 * c.c_in);
  auto wc = rand_s8(g, 5 * 9 * 8, -127, 127);
  auto want_c = tnref::conv(c, in.data(), wc.data(), bias.data());
  tn_conv_params_t pc = to_params(c);
  for (size_t shift : {2u, 4u}) {
    Scratch bad(tn_conv2d_scratch_bytes(3, 8), shift);
    EXPECT_EQ(tn_conv2d_s8(&pc, in.data(), wc.data(), bias.data(), out.data(), bad.ptr<int16_t>()), TN_ERR_ARG);
  }
  Scratch okc(tn_conv2d_scratch_bytes(3, 8));
  ASSERT_EQ(tn_conv2d_s8(&pc, in.data(), wc.data(), bias.data(), out.data(), okc.ptr<int16_t>()), TN_OK);
  EXPECT_EQ(out, want_c);

  ConvShape d{};
  d.kh = d.kw = 3; d.sh = d.sw = 1; d.pt = d.pl = d.pb = d.pr = 1;
  d.h_in = d.w_in = d.h_out = d.w_out = 6; d.c_in = d.c_out = 5;
  d.zp_in = -7; d.zp_out = 9; d.act_min = 9; d.act_max = 127;
  rand_requant(g, d, 5, 9);
  auto din = rand_s8(g, 36 * 5);
  auto dw = rand_s8(g, 9 * 5, -127, 127);
  auto want_d = tnref::depthwise(d, din.data(), dw.data(), bias.data());
  tn_conv_params_t pd = to_params(d);
  for (size_t shift : {1u, 2u, 3u, 5u}) {
    Scratch sc(tn_depthwise_scratch_bytes_k(6, 6, 3, 3), shift);
    std::vector<int8_t> got(want_d.size());
    ASSERT_EQ(tn_depthwise_s8(&pd, din.data(), dw.data(), bias.data(), got.data(), sc.ptr<int8_t>()), TN_OK);
    EXPECT_TRUE(sc.intact());
    EXPECT_EQ(got, want_d) << "shift " << shift;
  }
}

// ---------------------------------------------------------------- depthwise

void run_depthwise_case(std::mt19937& g, const ConvShape& s, bool in_place, std::set<int>* seen = nullptr) {
  const int C = s.c_in;
  auto in = rand_s8(g, (size_t)s.h_in * s.w_in * C);
  auto w = rand_s8(g, (size_t)s.kh * s.kw * C, -127, 127);
  auto bias = rand_bias(g, C);
  auto want = tnref::depthwise(s, in.data(), w.data(), bias.data());
  tn_conv_params_t p = to_params(s);
  Scratch scratch(tn_depthwise_scratch_bytes_k(s.h_in, s.w_in, s.kh, s.kw));
  std::vector<int8_t> got;
  if (in_place) {
    // One arena tensor big enough for either shape, plus a guard tail.
    size_t n = std::max(in.size(), want.size());
    std::vector<int8_t> arena(n + 16, 0x33);
    std::copy(in.begin(), in.end(), arena.begin());
    ASSERT_EQ(tn_depthwise_s8(&p, arena.data(), w.data(), bias.data(), arena.data(), scratch.ptr<int8_t>()), TN_OK);
    for (size_t i = n; i < arena.size(); ++i) ASSERT_EQ(arena[i], 0x33);
    got.assign(arena.begin(), arena.begin() + want.size());
  } else {
    got.assign(want.size(), 0);
    ASSERT_EQ(tn_depthwise_s8(&p, in.data(), w.data(), bias.data(), got.data(), scratch.ptr<int8_t>()), TN_OK);
  }
  ASSERT_TRUE(scratch.intact());
  ASSERT_EQ(got, want) << (in_place ? "in place " : "") << "k=" << s.kh << " s=" << s.sh << "," << s.sw
                       << " pads=" << s.pt << s.pl << s.pb << s.pr << " in=" << s.h_in << "x" << s.w_in << "x" << C;
  if (seen) seen->insert(want.begin(), want.end());
}

TEST(TN_S(Depthwise), RandomShapesMatchReference) {
  std::mt19937 g(2024);
  std::set<int> seen;
  for (int i = 0; i < 300; ++i) {
    const int ks[] = {3, 5, 7};
    ConvShape s = rand_conv_shape(g, ks[i % 3], true);
    run_depthwise_case(g, s, false, &seen);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(seen.size(), 200u);
}

TEST(TN_S(Depthwise), InPlaceMatchesReference) {
  std::mt19937 g(99);
  for (int i = 0; i < 300; ++i) {
    const int ks[] = {3, 5, 7};
    ConvShape s = rand_conv_shape(g, ks[i % 3], true);
    run_depthwise_case(g, s, true);
    if (HasFatalFailure()) return;
  }
}

TEST(TN_S(Depthwise), InPlaceOutputLargerThanInput) {
  // pad_top + pad_bottom > k - 1: the output map is larger than the input map.
  std::mt19937 g(5);
  ConvShape s{};
  s.kh = s.kw = 3; s.sh = s.sw = 1; s.pt = 2; s.pb = 2; s.pl = 2; s.pr = 1;
  s.h_in = 5; s.w_in = 6; s.c_in = s.c_out = 7;
  s.h_out = 5 + 4 - 3 + 1; s.w_out = 6 + 3 - 3 + 1;
  s.zp_in = 17; s.zp_out = -3; s.act_min = -128; s.act_max = 127;
  rand_requant(g, s, 7, 9);
  run_depthwise_case(g, s, true);
  run_depthwise_case(g, s, false);
}

TEST(TN_S(Depthwise), WideMapStride2) {
  std::mt19937 g(8);
  ConvShape s{};
  s.kh = s.kw = 5; s.sh = s.sw = 2; s.pt = 2; s.pl = 2; s.pb = 1; s.pr = 1;
  s.h_in = 40; s.w_in = 36; s.c_in = s.c_out = 12;
  s.h_out = (40 + 3 - 5) / 2 + 1; s.w_out = (36 + 3 - 5) / 2 + 1;
  s.zp_in = -128; s.zp_out = -128; s.act_min = -128; s.act_max = -128 + 100;
  rand_requant(g, s, 12, 25);
  run_depthwise_case(g, s, true);
}

// The two-pass (accumulate, then requantise) depthwise: the whole plane in
// one run (h_out * w_out <= 64), several whole rows per run, partial last
// runs, rows wider than a run (w_out > 64, split into runs), for k 3 / 5 / 7,
// strides 1 / 2, clamps, in place and out of place.
TEST(TN_S(Depthwise), RunShapes) {
  std::mt19937 g(6464);
  const int maps[][2] = {{1, 64}, {2, 65}, {3, 70}, {9, 8}, {8, 8}, {7, 9}, {5, 64}, {2, 140}, {4, 4}, {1, 129}};
  int n = 0;
  for (const auto& m : maps)
    for (int k : {3, 5, 7})
      for (int st : {1, 2}) {
        ConvShape s{};
        s.kh = s.kw = k; s.sh = s.sw = st;
        s.pt = s.pl = s.pb = s.pr = k / 2;
        s.h_in = m[0]; s.w_in = m[1]; s.c_in = s.c_out = 1 + n % 6;
        s.h_out = (s.h_in + 2 * (k / 2) - k) / st + 1;
        s.w_out = (s.w_in + 2 * (k / 2) - k) / st + 1;
        s.zp_in = rnd(g, -128, 127); s.zp_out = rnd(g, -128, 127);
        if (n % 2) { s.act_min = s.zp_out; s.act_max = std::min(127, s.zp_out + rnd(g, 0, 100)); }
        else { s.act_min = -128; s.act_max = 127; }
        rand_requant(g, s, s.c_out, k * k);
        run_depthwise_case(g, s, n % 3 == 0);
        if (HasFatalFailure()) return;
        ++n;
      }
}

// Shapes that hit every branch of the DSP depthwise: 1x1 and 1xN maps, a
// single channel, maps narrower than the 4-byte reads, border columns on
// both sides with stride 2 and odd sizes, asymmetric pads, shifts on both
// sides of the fast requantisation range, in place and out of place.
TEST(TN_S(Depthwise), EdgeShapes) {
  std::mt19937 g(31337);
  struct Case { int k, s, h, w, c, pt, pl, pb, pr; };
  const Case cases[] = {
      {3, 1, 1, 1, 5, 1, 1, 1, 1}, {3, 1, 1, 1, 1, 0, 0, 2, 2}, {5, 2, 1, 1, 3, 2, 2, 2, 2},
      {7, 1, 1, 1, 2, 3, 3, 3, 3}, {3, 1, 1, 9, 4, 1, 1, 1, 1}, {3, 1, 9, 1, 4, 1, 1, 1, 1},
      {3, 2, 9, 9, 1, 1, 1, 1, 1}, {3, 2, 7, 11, 3, 0, 0, 1, 1}, {5, 2, 11, 13, 5, 2, 1, 2, 2},
      {7, 2, 13, 15, 3, 3, 2, 3, 3}, {5, 1, 6, 4, 6, 2, 2, 2, 2}, {7, 1, 8, 3, 2, 3, 3, 3, 3},
      {3, 1, 4, 4, 16, 1, 1, 1, 1}, {5, 1, 4, 4, 8, 2, 2, 2, 2}, {7, 1, 4, 4, 8, 3, 3, 3, 3},
      {3, 1, 24, 24, 3, 1, 1, 1, 1}, {5, 1, 24, 23, 2, 2, 2, 2, 2}, {7, 1, 22, 25, 2, 3, 3, 3, 3},
      {3, 2, 24, 24, 3, 0, 0, 1, 1}, {5, 2, 25, 25, 2, 2, 2, 2, 2}, {3, 1, 10, 10, 2, 2, 0, 0, 2},
      {5, 1, 9, 12, 2, 4, 0, 1, 3}, {7, 1, 12, 9, 2, 0, 6, 5, 1}, {3, 1, 2, 8, 3, 1, 1, 0, 1},
  };
  for (const Case& cs : cases) {
    for (int variant = 0; variant < 3; ++variant) {
      ConvShape s{};
      s.kh = s.kw = cs.k; s.sh = s.sw = cs.s;
      s.pt = cs.pt; s.pl = cs.pl; s.pb = cs.pb; s.pr = cs.pr;
      s.h_in = cs.h; s.w_in = cs.w; s.c_in = s.c_out = cs.c;
      s.h_out = (s.h_in + s.pt + s.pb - s.kh) / s.sh + 1;
      s.w_out = (s.w_in + s.pl + s.pr - s.kw) / s.sw + 1;
      s.zp_in = rnd(g, -128, 127); s.zp_out = rnd(g, -128, 127);
      s.act_min = variant == 1 ? s.zp_out : -128; s.act_max = 127;
      rand_requant(g, s, s.c_in, s.kh * s.kw);
      if (variant == 2)  // shifts around the fast-path limits, per channel
        for (int c = 0; c < s.c_in; ++c) {
          const int shifts[] = {-1, 0, -2, -22, -23, 1};
          s.shift[c] = shifts[c % 6];
        }
      run_depthwise_case(g, s, variant != 1);
      if (HasFatalFailure()) return;
      run_depthwise_case(g, s, variant == 1);
      if (HasFatalFailure()) return;
    }
  }
}

// The padded-plane DSP path: every kernel size 1..8 (3/5/7 x stride 1/2 are
// specialised, the rest take the generic packed loop), pads 0..k/2 on each
// side independently, 1x1 / 2x2 / 4x4 / odd maps, odd channel counts, fast and
// generic requantisation, ReLU-like and full ranges, in place and not. The
// Scratch canaries check that nothing is written past
// tn_depthwise_scratch_bytes_k.
TEST(TN_S(Depthwise), PaddedPlaneShapes) {
  std::mt19937 g(4242);
  const int sizes[] = {1, 2, 4, 3, 5, 7, 8, 9, 16};
  for (int i = 0; i < 400; ++i) {
    ConvShape s{};
    s.kh = s.kw = 1 + i % 8;
    if (i % 11 == 0) s.kw = rnd(g, 1, 8);  // non-square
    s.sh = rnd(g, 1, 2);
    s.sw = i % 13 == 0 ? 3 : s.sh;
    s.pt = rnd(g, 0, s.kh / 2); s.pb = rnd(g, 0, s.kh / 2);
    s.pl = rnd(g, 0, s.kw / 2); s.pr = rnd(g, 0, s.kw / 2);
    s.h_in = std::max(sizes[rnd(g, 0, 8)], s.kh - s.pt - s.pb);
    s.w_in = std::max(sizes[rnd(g, 0, 8)], s.kw - s.pl - s.pr);
    s.c_in = s.c_out = rnd(g, 1, 9);
    s.h_out = (s.h_in + s.pt + s.pb - s.kh) / s.sh + 1;
    s.w_out = (s.w_in + s.pl + s.pr - s.kw) / s.sw + 1;
    s.zp_in = rnd(g, -128, 127); s.zp_out = rnd(g, -128, 127);
    const int act = i % 3;
    s.act_min = act == 0 ? -128 : s.zp_out;
    s.act_max = act == 2 ? std::min(127, s.zp_out + rnd(g, 0, 100)) : 127;
    rand_requant(g, s, s.c_in, s.kh * s.kw);
    if (i % 5 == 0)
      for (int c = 0; c < s.c_in; ++c) {
        const int shifts[] = {-1, 0, -2, -22, -23, 1, -7};
        s.shift[c] = shifts[(c + i) % 7];
      }
    run_depthwise_case(g, s, i % 2 == 0);
    if (HasFatalFailure()) return;
  }
}

// Channels outside the doubled-accumulator requantisation (|bias| >= 2^29,
// shifts outside [-22, -2]) next to channels inside it, for every
// specialised depthwise kernel: the per-channel choice of weights (doubled or
// not) and requantisation must agree with the reference.
TEST(TN_S(Depthwise), BigBiasAndShiftMix) {
  std::mt19937 g(2929);
  for (int i = 0; i < 60; ++i) {
    ConvShape s{};
    const int ks[] = {3, 5, 7};
    s.kh = s.kw = ks[i % 3];
    s.sh = s.sw = 1 + (i / 3) % 2;
    s.pt = s.pl = s.pb = s.pr = s.kh / 2;
    s.h_in = rnd(g, 1, 10); s.w_in = rnd(g, 1, 10);
    if (i % 4 == 0) { s.h_in = 4; s.w_in = 4; }
    s.c_in = s.c_out = rnd(g, 1, 9);
    s.h_out = (s.h_in + 2 * s.pt - s.kh) / s.sh + 1;
    s.w_out = (s.w_in + 2 * s.pl - s.kw) / s.sw + 1;
    s.zp_in = rnd(g, -128, 127); s.zp_out = rnd(g, -128, 127);
    s.act_min = i % 2 ? s.zp_out : -128; s.act_max = 127;
    rand_requant(g, s, s.c_in, s.kh * s.kw);
    auto in = rand_s8(g, (size_t)s.h_in * s.w_in * s.c_in);
    auto w = rand_s8(g, (size_t)s.kh * s.kw * s.c_in, -127, 127);
    auto bias = rand_bias(g, s.c_in);
    const int32_t big[] = {1 << 29, -(1 << 29), (1 << 29) - 1, -(1 << 29) + 1, 2000000000, -2000000000};
    for (int c = 0; c < s.c_in; ++c) {
      if (c % 2 == 0) bias[c] = big[(c / 2 + i) % 6];
      if (c % 3 == 1) s.shift[c] = -rnd(g, 2, 22);
    }
    auto want = tnref::depthwise(s, in.data(), w.data(), bias.data());
    tn_conv_params_t p = to_params(s);
    Scratch scratch(tn_depthwise_scratch_bytes_k(s.h_in, s.w_in, s.kh, s.kw));
    std::vector<int8_t> got(want.size());
    ASSERT_EQ(tn_depthwise_s8(&p, in.data(), w.data(), bias.data(), got.data(), scratch.ptr<int8_t>()), TN_OK);
    ASSERT_TRUE(scratch.intact());
    ASSERT_EQ(got, want) << "case " << i << " k=" << s.kh << " s=" << s.sh;
  }
}

// Pointwise and conv layers just inside and just outside the interleaved
// kernel's doubled-accumulator range (|bias| < 2^29 on every channel): the
// kernel choice is per layer, the results must not depend on it.
TEST(TN_S(Conv2d), BiasAtTheDoubledLimit) {
  std::mt19937 g(5299);
  const int32_t limits[] = {(1 << 29) - 1, -(1 << 29) + 1, 1 << 29, -(1 << 29), 2000000000};
  for (int i = 0; i < 40; ++i) {
    ConvShape s{};
    s.kh = s.kw = i % 2 ? 1 : 3;
    s.sh = s.sw = 1;
    if (s.kh == 3) { s.pt = s.pl = s.pb = s.pr = 1; }
    s.h_in = rnd(g, 1, 6); s.w_in = rnd(g, 1, 6);
    const int cins[] = {1, 3, 4, 8, 5, 16, 9, 12};
    s.c_in = cins[i % 8];
    s.c_out = rnd(g, 1, 9);
    s.h_out = s.h_in + s.pt + s.pb - s.kh + 1;
    s.w_out = s.w_in + s.pl + s.pr - s.kw + 1;
    s.zp_in = rnd(g, -128, 127); s.zp_out = rnd(g, -128, 127);
    s.act_min = i % 3 ? s.zp_out : -128; s.act_max = 127;
    rand_requant(g, s, s.c_out, s.kh * s.kw * s.c_in);
    for (int c = 0; c < s.c_out; ++c) s.shift[c] = -rnd(g, 2, 22);
    auto in = rand_s8(g, (size_t)s.h_in * s.w_in * s.c_in);
    auto w = rand_s8(g, (size_t)s.c_out * s.kh * s.kw * s.c_in, -127, 127);
    auto bias = rand_bias(g, s.c_out);
    bias[rnd(g, 0, s.c_out - 1)] = limits[i % 5];
    auto want = tnref::conv(s, in.data(), w.data(), bias.data());
    tn_conv_params_t p = to_params(s);
    std::vector<int8_t> out(want.size());
    Scratch scratch(s.kh == 1 ? tn_pointwise_scratch_bytes(s.c_in) : tn_conv2d_scratch_bytes(3, s.c_in));
    if (s.kh == 1)
      ASSERT_EQ(tn_pointwise_s8(&p, in.data(), w.data(), bias.data(), out.data(), scratch.ptr<int16_t>()), TN_OK);
    else
      ASSERT_EQ(tn_conv2d_s8(&p, in.data(), w.data(), bias.data(), out.data(), scratch.ptr<int16_t>()), TN_OK);
    ASSERT_TRUE(scratch.intact());
    ASSERT_EQ(out, want) << "case " << i << " k=" << s.kh << " cin=" << s.c_in << " bias " << limits[i % 5];
  }
}

// Pointwise / conv through the fast interleaved kernel with every output
// range: act_min above, at and below the zero point, narrow ranges.
TEST(TN_S(Conv2d), FastClampRanges) {
  std::mt19937 g(777);
  for (int i = 0; i < 80; ++i) {
    ConvShape s{};
    s.kh = s.kw = i % 2 ? 1 : 3;
    s.sh = s.sw = 1;
    if (s.kh == 3) { s.pt = s.pl = s.pb = s.pr = 1; }
    s.h_in = rnd(g, 1, 6); s.w_in = rnd(g, 1, 6);
    const int cins[] = {1, 3, 4, 8, 5, 16};
    s.c_in = cins[i % 6];
    s.c_out = rnd(g, 1, 9);
    s.h_out = (s.h_in + s.pt + s.pb - s.kh) + 1;
    s.w_out = (s.w_in + s.pl + s.pr - s.kw) + 1;
    s.zp_in = rnd(g, -128, 127); s.zp_out = rnd(g, -128, 127);
    s.act_min = rnd(g, -128, 127);
    s.act_max = rnd(g, s.act_min, 127);
    rand_requant(g, s, s.c_out, s.kh * s.kw * s.c_in);
    for (int c = 0; c < s.c_out; ++c) s.shift[c] = -rnd(g, 2, 22);
    auto in = rand_s8(g, (size_t)s.h_in * s.w_in * s.c_in);
    auto w = rand_s8(g, (size_t)s.c_out * s.kh * s.kw * s.c_in, -127, 127);
    auto bias = rand_bias(g, s.c_out);
    auto want = tnref::conv(s, in.data(), w.data(), bias.data());
    tn_conv_params_t p = to_params(s);
    std::vector<int8_t> out(want.size());
    if (s.kh == 1) {
      Scratch scratch(tn_pointwise_scratch_bytes(s.c_in));
      ASSERT_EQ(tn_pointwise_s8(&p, in.data(), w.data(), bias.data(), out.data(), scratch.ptr<int16_t>()), TN_OK);
      ASSERT_TRUE(scratch.intact());
    } else {
      Scratch scratch(tn_conv2d_scratch_bytes(3, s.c_in));
      ASSERT_EQ(tn_conv2d_s8(&p, in.data(), w.data(), bias.data(), out.data(), scratch.ptr<int16_t>()), TN_OK);
      ASSERT_TRUE(scratch.intact());
    }
    ASSERT_EQ(out, want) << "case " << i << " k=" << s.kh << " cin=" << s.c_in;
  }
}

// Pointwise and conv with c_in = 1 / 3, odd channel counts, 1x1 maps and
// per-channel shifts on both sides of the fast requantisation range.
TEST(TN_S(Conv2d), SmallChannelsAndShiftMix) {
  std::mt19937 g(555);
  const int shifts[] = {-1, 0, -2, -22, -23, 1, -7, -9};
  for (int i = 0; i < 120; ++i) {
    ConvShape s{};
    const int ks[] = {1, 3, 3, 5};
    s.kh = s.kw = ks[i % 4];
    s.sh = s.sw = rnd(g, 1, 2);
    if (s.kh > 1) { s.pt = rnd(g, 0, s.kh - 1); s.pb = rnd(g, 0, s.kh - 1); s.pl = rnd(g, 0, s.kw - 1); s.pr = rnd(g, 0, s.kw - 1); }
    s.h_in = rnd(g, std::max(1, s.kh - s.pt - s.pb), 9);
    s.w_in = rnd(g, std::max(1, s.kw - s.pl - s.pr), 9);
    if (i % 10 == 0) { s.h_in = s.w_in = 1; s.pt = s.pb = s.pl = s.pr = s.kh / 2; s.sh = s.sw = 1; }
    const int cins[] = {1, 3, 1, 3, 5, 7};
    s.c_in = cins[i % 6];
    s.c_out = rnd(g, 1, 13);
    s.h_out = (s.h_in + s.pt + s.pb - s.kh) / s.sh + 1;
    s.w_out = (s.w_in + s.pl + s.pr - s.kw) / s.sw + 1;
    s.zp_in = rnd(g, -128, 127); s.zp_out = rnd(g, -128, 127);
    s.act_min = i % 2 ? s.zp_out : -128; s.act_max = 127;
    rand_requant(g, s, s.c_out, s.kh * s.kw * s.c_in);
    if (i % 3 == 0)
      for (int c = 0; c < s.c_out; ++c) s.shift[c] = shifts[(c + i) % 8];
    if (s.kh == 1 && s.pt + s.pb + s.pl + s.pr == 0) {
      auto in = rand_s8(g, (size_t)s.h_in * s.w_in * s.c_in);
      auto w = rand_s8(g, (size_t)s.c_out * s.c_in, -127, 127);
      auto bias = rand_bias(g, s.c_out);
      auto want = tnref::conv(s, in.data(), w.data(), bias.data());
      tn_conv_params_t p = to_params(s);
      Scratch scratch(tn_pointwise_scratch_bytes(s.c_in));
      std::vector<int8_t> out(want.size());
      ASSERT_EQ(tn_pointwise_s8(&p, in.data(), w.data(), bias.data(), out.data(), scratch.ptr<int16_t>()), TN_OK);
      ASSERT_TRUE(scratch.intact());
      ASSERT_EQ(out, want) << "pointwise case " << i;
    } else {
      run_conv_case(g, s);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(TN_S(Depthwise), ScratchSizeAndErrors) {
  EXPECT_EQ(tn_depthwise_scratch_bytes(10, 12), 120u);
  EXPECT_EQ(tn_depthwise_scratch_bytes_k(10, 12, 3, 3), 12u * 14u + 4u);
  EXPECT_EQ(tn_depthwise_scratch_bytes_k(4, 4, 5, 5), 8u * 8u + 4u);
  EXPECT_EQ(tn_depthwise_scratch_bytes_k(1, 1, 7, 3), 7u * 3u + 4u);
  EXPECT_EQ(tn_depthwise_scratch_bytes_k(6, 5, 4, 2), 10u * 7u + 4u);
  EXPECT_EQ(tn_depthwise_scratch_bytes_k(0, 5, 3, 3), 0u);
  ConvShape s{};
  s.kh = s.kw = 3; s.sh = s.sw = 1; s.pt = s.pl = s.pb = s.pr = 1;
  s.h_in = s.w_in = s.h_out = s.w_out = 4; s.c_in = 3; s.c_out = 4;
  s.act_min = -128; s.act_max = 127; s.mult.assign(4, 1 << 30); s.shift.assign(4, 0);
  tn_conv_params_t p = to_params(s);
  std::vector<int8_t> buf(64), w(36), scratch(40);
  EXPECT_EQ(tn_depthwise_s8(&p, buf.data(), w.data(), nullptr, buf.data(), scratch.data()), TN_ERR_SHAPE);
  p.c_out = 3;
  EXPECT_EQ(tn_depthwise_s8(&p, buf.data(), w.data(), nullptr, buf.data(), nullptr), TN_ERR_ARG);
  EXPECT_EQ(tn_depthwise_s8(&p, buf.data(), w.data(), nullptr, buf.data(), scratch.data()), TN_OK);
}

// ---------------------------------------------------------------- add

std::vector<int8_t> ref_add(const tn_add_params_t& p, const std::vector<int8_t>& a, const std::vector<int8_t>& b) {
  std::vector<int8_t> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    int32_t x = (int32_t)((uint32_t)(a[i] - p.input1_zero_point) << p.left_shift);
    int32_t y = (int32_t)((uint32_t)(b[i] - p.input2_zero_point) << p.left_shift);
    int32_t sum = tnref::mbqm(x, p.input1_multiplier, p.input1_shift) + tnref::mbqm(y, p.input2_multiplier, p.input2_shift);
    out[i] = tnref::requant(sum, p.output_multiplier, p.output_shift, p.output_zero_point, p.act_min, p.act_max);
  }
  return out;
}

TEST(TN_S(Add), MatchesReferenceAndRealArithmetic) {
  std::mt19937 g(11);
  std::uniform_real_distribution<double> sc(0.005, 0.2);
  for (int i = 0; i < 200; ++i) {
    const double s1 = sc(g), s2 = sc(g), so = sc(g) * 1.5;
    const int z1 = rnd(g, -128, 127), z2 = rnd(g, -128, 127), zo = rnd(g, -128, 127);
    tn_add_params_t p{};
    ASSERT_EQ(tn_add_params_from_scales(s1, z1, s2, z2, so, zo, -128, 127, &p), TN_OK);
    EXPECT_EQ(p.left_shift, 20);
    EXPECT_LE(p.input1_shift, 0);
    EXPECT_LE(p.input2_shift, 0);
    const int n = rnd(g, 1, 300);
    auto a = rand_s8(g, n), b = rand_s8(g, n);
    std::vector<int8_t> out(n);
    ASSERT_EQ(tn_add_s8(&p, a.data(), b.data(), out.data(), n), TN_OK);
    ASSERT_EQ(out, ref_add(p, a, b));
    for (int k = 0; k < n; ++k) {  // within 1 LSB of the real-valued sum
      double real = (s1 * (a[k] - z1) + s2 * (b[k] - z2)) / so + zo;
      double clamped = std::min(127.0, std::max(-128.0, std::round(real)));
      ASSERT_NEAR(out[k], clamped, 1.0) << "real " << real;
    }
  }
}

// Hand-made ADD parameters around the fast path's limits (input shifts 0 to
// -21 and positive, small multipliers, left shifts 0..23, output shifts in
// and out of the fast range), every input pair, against the reference.
TEST(TN_S(Add), FastPathLimits) {
  std::mt19937 g(13);
  std::vector<int8_t> a, b;
  for (int x = -128; x < 128; ++x)
    for (int y = -128; y < 128; y += 3) { a.push_back((int8_t)x); b.push_back((int8_t)y); }
  for (int i = 0; i < 300; ++i) {
    tn_add_params_t p{};
    p.input1_zero_point = rnd(g, -128, 127);
    p.input2_zero_point = rnd(g, -128, 127);
    p.output_zero_point = rnd(g, -128, 127);
    p.left_shift = i % 7 == 0 ? rnd(g, 0, 23) : 20;
    const int32_t ms[] = {1 << 30, (int32_t)0x7FFFFFFF, 1073741825, 1500000000, 1025, 1024, 5};
    p.input1_multiplier = i % 5 == 0 ? ms[rnd(g, 0, 6)] : rnd(g, 1 << 30, 0x7FFFFFFF);
    p.input2_multiplier = i % 6 == 0 ? ms[rnd(g, 0, 6)] : rnd(g, 1 << 30, 0x7FFFFFFF);
    p.input1_shift = i % 4 == 0 ? rnd(g, -24, 2) : -rnd(g, 0, 2);
    p.input2_shift = i % 9 == 0 ? rnd(g, -24, 2) : -rnd(g, 0, 2);
    p.output_multiplier = rnd(g, 1 << 30, 0x7FFFFFFF);
    p.output_shift = i % 8 == 0 ? rnd(g, -24, 1) : -rnd(g, 12, 21);
    p.act_min = i % 3 ? -128 : p.output_zero_point;
    p.act_max = i % 5 ? 127 : std::min(127, p.output_zero_point + 50);
    if (p.act_min > p.act_max) p.act_min = p.act_max;
    std::vector<int8_t> out(a.size());
    ASSERT_EQ(tn_add_s8(&p, a.data(), b.data(), out.data(), (int32_t)a.size()), TN_OK);
    ASSERT_EQ(out, ref_add(p, a, b)) << "case " << i << " L=" << p.left_shift << " s1=" << p.input1_shift
                                     << " m1=" << p.input1_multiplier << " s2=" << p.input2_shift;
  }
}

TEST(TN_S(Add), InPlaceOnEitherInput) {
  std::mt19937 g(12);
  tn_add_params_t p{};
  ASSERT_EQ(tn_add_params_from_scales(0.05, 3, 0.11, -20, 0.09, -7, -7, 127, &p), TN_OK);  // ReLU
  auto a = rand_s8(g, 777), b = rand_s8(g, 777);
  auto want = ref_add(p, a, b);
  auto a1 = a;
  ASSERT_EQ(tn_add_s8(&p, a1.data(), b.data(), a1.data(), 777), TN_OK);
  EXPECT_EQ(a1, want);
  auto b1 = b;
  ASSERT_EQ(tn_add_s8(&p, a.data(), b1.data(), b1.data(), 777), TN_OK);
  EXPECT_EQ(b1, want);
  for (int8_t v : want) EXPECT_GE(v, -7);
  auto c = a;  // x + x, all three aliased
  ASSERT_EQ(tn_add_s8(&p, c.data(), c.data(), c.data(), 777), TN_OK);
  EXPECT_EQ(c, ref_add(p, a, a));
}

// ---------------------------------------------------------------- mse

// The reconstruction error by the naive route: the requantised reconstruction
// (tnref's MBQM), the difference, its square and the sum in int64, saturated.
int32_t ref_mse(const tn_mse_params_t& p, const std::vector<int8_t>& r, const std::vector<int8_t>& x) {
  int64_t sum = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    const int64_t e = (int64_t)tnref::mbqm(r[i] - p.recon_zero_point, p.recon_multiplier, p.recon_shift) -
                      (x[i] - p.input_zero_point);
    sum += e * e;
    if (sum > INT32_MAX) return INT32_MAX;
  }
  return (int32_t)sum;
}

TEST(TN_S(Mse), MatchesReferenceAndRealArithmetic) {
  std::mt19937 g(16);
  std::uniform_real_distribution<double> sc(0.005, 0.2);
  for (int i = 0; i < 300; ++i) {
    const double sr = sc(g), sx = sc(g);
    tn_mse_params_t p{};
    p.recon_zero_point = rnd(g, -128, 127);
    p.input_zero_point = rnd(g, -128, 127);
    tnref::quantize_multiplier(sr / sx, &p.recon_multiplier, &p.recon_shift);
    const int n = rnd(g, 1, 700);
    auto r = rand_s8(g, n), x = rand_s8(g, n);
    int32_t out = -1;
    ASSERT_EQ(tn_mse_s8(&p, r.data(), x.data(), n, &out), TN_OK);
    ASSERT_EQ(out, ref_mse(p, r, x)) << "case " << i;
    // s_x^2 * S / n against the real mean squared error: each difference is off by at most half
    // a step of s_x (r' rounded) plus the multiplier's 2^-31.
    double real = 0, bound = 0;
    for (int k = 0; k < n; ++k) {
      const double d = sr * (r[k] - p.recon_zero_point) - sx * (x[k] - p.input_zero_point);
      real += d * d;
      bound += std::abs(d) * sx + 0.25 * sx * sx;
    }
    ASSERT_NEAR(sx * sx * out / n, real / n, 1.001 * bound / n) << "case " << i;
  }
}

// Hand-computed: s_r / s_x = 2 is (2^30, shift 2); 1.5 is (3 * 2^29, 1), whose half-way
// products round toward +infinity (4.5 -> 5, -4.5 -> -4).
TEST(TN_S(Mse), HandPickedValues) {
  tn_mse_params_t p{3, -2, 1 << 30, 2};
  const std::vector<int8_t> r = {3, 5, 1, 10}, x = {2, 0, -2, 10};
  int32_t out = 0;
  ASSERT_EQ(tn_mse_s8(&p, r.data(), x.data(), 4, &out), TN_OK);
  EXPECT_EQ(out, 16 + 4 + 16 + 4);  // r' = 0, 4, -4, 14; x - zp = 4, 2, 0, 12
  p = {0, 0, 3 << 29, 1};
  const std::vector<int8_t> r2 = {3, -3, 0}, x2 = {0, 0, 7};
  ASSERT_EQ(tn_mse_s8(&p, r2.data(), x2.data(), 3, &out), TN_OK);
  EXPECT_EQ(out, 25 + 16 + 49);
  // Equal scales (1.0 = 2^30, shift 1): the plain difference of the centred values.
  p = {10, -10, 1 << 30, 1};
  const std::vector<int8_t> r3 = {127, -128}, x3 = {-128, 127};
  ASSERT_EQ(tn_mse_s8(&p, r3.data(), x3.data(), 2, &out), TN_OK);
  EXPECT_EQ(out, (117 + 118) * (117 + 118) + (138 + 137) * (138 + 137));
}

// INT32_MAX once the sum passes it, or once one square would (a reconstruction
// 2^20 steps of s_x away), whatever follows; exactly INT32_MAX is no overflow.
TEST(TN_S(Mse), SaturatesAtInt32Max) {
  tn_mse_params_t p{0, 0, 1 << 30, 1};
  std::vector<int8_t> r(40000, 127), x(40000, -128);  // 255^2 = 65025 each
  int32_t out = 0;
  ASSERT_EQ(tn_mse_s8(&p, r.data(), x.data(), 33025, &out), TN_OK);
  EXPECT_EQ(out, 33025 * 65025);  // 2147450625: still below INT32_MAX
  ASSERT_EQ(tn_mse_s8(&p, r.data(), x.data(), 33026, &out), TN_OK);
  EXPECT_EQ(out, INT32_MAX);
  ASSERT_EQ(tn_mse_s8(&p, r.data(), x.data(), 40000, &out), TN_OK);
  EXPECT_EQ(out, INT32_MAX);
  EXPECT_EQ(ref_mse(p, r, x), INT32_MAX);
  p = {0, 0, 1 << 30, 21};  // s_r / s_x = 2^20
  const std::vector<int8_t> far = {0, 1, 0}, zero = {0, 0, 0};
  ASSERT_EQ(tn_mse_s8(&p, far.data(), zero.data(), 3, &out), TN_OK);
  EXPECT_EQ(out, INT32_MAX);
  p = {0, 0, 1 << 30, 22};  // the largest shift: 255 * 2^21 still within int32
  const std::vector<int8_t> edge = {-128};
  ASSERT_EQ(tn_mse_s8(&p, edge.data(), zero.data(), 1, &out), TN_OK);
  EXPECT_EQ(out, INT32_MAX);
  ASSERT_EQ(tn_mse_s8(&p, zero.data(), zero.data(), 3, &out), TN_OK);
  EXPECT_EQ(out, 0);
}

TEST(TN_S(Mse), RejectsBadArgumentsAndNeedsNoScratch) {
  const tn_mse_params_t ok{0, 0, 1 << 30, 1};
  const int8_t a[2] = {1, 2};
  int32_t out = 77;
  EXPECT_EQ(tn_mse_s8_scratch_bytes(&ok, 1000), 0u);
  EXPECT_EQ(tn_mse_s8_scratch_bytes(nullptr, 0), 0u);
  EXPECT_EQ(tn_mse_s8(nullptr, a, a, 2, &out), TN_ERR_ARG);
  EXPECT_EQ(tn_mse_s8(&ok, nullptr, a, 2, &out), TN_ERR_ARG);
  EXPECT_EQ(tn_mse_s8(&ok, a, nullptr, 2, &out), TN_ERR_ARG);
  EXPECT_EQ(tn_mse_s8(&ok, a, a, 2, nullptr), TN_ERR_ARG);
  EXPECT_EQ(tn_mse_s8(&ok, a, a, 0, &out), TN_ERR_ARG);
  for (const tn_mse_params_t& bad : {tn_mse_params_t{0, 0, 1 << 30, 23}, tn_mse_params_t{0, 0, 1 << 30, -32},
                                      tn_mse_params_t{0, 0, -1, 0}, tn_mse_params_t{128, 0, 1 << 30, 1},
                                      tn_mse_params_t{0, -129, 1 << 30, 1}}) {
    EXPECT_EQ(tn_mse_s8(&bad, a, a, 2, &out), TN_ERR_ARG);
  }
  EXPECT_EQ(out, 77);  // nothing written
  EXPECT_EQ(tn_mse_s8(&ok, a, a, 2, &out), TN_OK);
  EXPECT_EQ(out, 0);
}

// ---------------------------------------------------------------- upsample

// Nearest neighbour the naive way: every output pixel reads in[y / f][x / f].
std::vector<int8_t> ref_upsample(const std::vector<int8_t>& in, int h, int w, int c, int f) {
  std::vector<int8_t> out((size_t)h * f * w * f * c);
  for (int y = 0; y < h * f; ++y)
    for (int x = 0; x < w * f; ++x)
      for (int ch = 0; ch < c; ++ch)
        out[((size_t)y * w * f + x) * c + ch] = in[((size_t)(y / f) * w + x / f) * c + ch];
  return out;
}

// Random shapes and factors, out of place (guard bytes after the output stay) and in place (the
// input at the start of a buffer of the output's size).
TEST(TN_S(Upsample), MatchesReferenceOutOfPlaceAndInPlace) {
  std::mt19937 g(21);
  for (int i = 0; i < 400; ++i) {
    const int h = rnd(g, 1, 9), w = rnd(g, 1, 9), c = i % 4 == 0 ? 1 : rnd(g, 1, 40), f = rnd(g, 1, 4);
    const auto in = rand_s8(g, (size_t)h * w * c);
    const auto want = ref_upsample(in, h, w, c, f);
    const tn_upsample_params_t p{h, w, c, f};
    EXPECT_EQ(tn_upsample_s8_scratch_bytes(&p), 0u);
    std::vector<int8_t> out(want.size() + 16, 99);
    ASSERT_EQ(tn_upsample_s8(&p, in.data(), out.data()), TN_OK);
    ASSERT_EQ(std::vector<int8_t>(out.begin(), out.begin() + (long)want.size()), want)
        << h << "x" << w << "x" << c << " by " << f;
    for (size_t k = want.size(); k < out.size(); ++k) ASSERT_EQ(out[k], 99);
    std::vector<int8_t> buf(want.size(), 55);
    std::copy(in.begin(), in.end(), buf.begin());
    ASSERT_EQ(tn_upsample_s8(&p, buf.data(), buf.data()), TN_OK);
    ASSERT_EQ(buf, want) << "in place " << h << "x" << w << "x" << c << " by " << f;
  }
}

TEST(TN_S(Upsample), HandPickedAndBadArguments) {
  const int8_t in[4] = {1, -2, 3, -128};  // 2 x 2 x 1
  int8_t out[16] = {0};
  const tn_upsample_params_t p{2, 2, 1, 2};
  ASSERT_EQ(tn_upsample_s8(&p, in, out), TN_OK);
  const int8_t want[16] = {1, 1, -2, -2, 1, 1, -2, -2, 3, 3, -128, -128, 3, 3, -128, -128};
  EXPECT_EQ(std::memcmp(out, want, 16), 0);
  EXPECT_EQ(tn_upsample_s8_scratch_bytes(nullptr), 0u);
  int8_t keep[16];
  std::memcpy(keep, out, 16);
  EXPECT_EQ(tn_upsample_s8(nullptr, in, out), TN_ERR_ARG);
  EXPECT_EQ(tn_upsample_s8(&p, nullptr, out), TN_ERR_ARG);
  EXPECT_EQ(tn_upsample_s8(&p, in, nullptr), TN_ERR_ARG);
  for (const tn_upsample_params_t& bad :
       {tn_upsample_params_t{0, 2, 1, 2}, tn_upsample_params_t{2, -1, 1, 2}, tn_upsample_params_t{2, 2, 0, 2},
        tn_upsample_params_t{2, 2, 1, 0}, tn_upsample_params_t{8192, 8192, 64, 2}}) {
    EXPECT_EQ(tn_upsample_s8(&bad, in, out), TN_ERR_ARG);
  }
  EXPECT_EQ(std::memcmp(out, keep, 16), 0);  // nothing written
}

// ---------------------------------------------------------------- avgpool

TEST(TN_S(AvgPool), GlobalMatchesRoundHalfAway) {
  std::mt19937 g(13);
  for (int i = 0; i < 100; ++i) {
    int h = rnd(g, 1, 9), w = rnd(g, 1, 9), c = rnd(g, 1, 40);
    auto in = rand_s8(g, (size_t)h * w * c);
    int lo = i % 3 == 0 ? -20 : -128, hi = i % 5 == 0 ? 30 : 127;
    std::vector<int8_t> out(c);
    ASSERT_EQ(tn_avgpool_global_s8(in.data(), h, w, c, lo, hi, out.data()), TN_OK);
    for (int ch = 0; ch < c; ++ch) {
      long sum = 0;
      for (int k = 0; k < h * w; ++k) sum += in[(size_t)k * c + ch];
      double avg = std::round((double)sum / (h * w));  // std::round: ties away from zero
      avg = std::min<double>(hi, std::max<double>(lo, avg));
      ASSERT_EQ(out[ch], (int8_t)avg) << "sum " << sum << " n " << h * w;
    }
  }
  // ties: sums of +-2 over 4 pixels -> +-0.5 -> +-1
  int8_t tie[4] = {1, 1, 0, 0}, ntie[4] = {-1, -1, 0, 0}, o = 0;
  ASSERT_EQ(tn_avgpool_global_s8(tie, 2, 2, 1, -128, 127, &o), TN_OK);
  EXPECT_EQ(o, 1);
  ASSERT_EQ(tn_avgpool_global_s8(ntie, 2, 2, 1, -128, 127, &o), TN_OK);
  EXPECT_EQ(o, -1);
  EXPECT_EQ(tn_avgpool_global_s8(tie, 0, 2, 1, -128, 127, &o), TN_ERR_ARG);
}

// ---------------------------------------------------------------- fully connected

TEST(TN_S(FullyConnected), PerChannelAndPerTensor) {
  std::mt19937 g(14);
  for (int i = 0; i < 100; ++i) {
    const int in_f = rnd(g, 1, 200), out_f = rnd(g, 1, 30);
    ConvShape s{};
    rand_requant(g, s, out_f, in_f);
    const bool per_channel = i % 2 == 0;
    tn_fc_params_t p{};
    p.in_features = in_f; p.out_features = out_f;
    p.input_zero_point = rnd(g, -128, 127); p.output_zero_point = rnd(g, -128, 127);
    p.act_min = -128; p.act_max = 127;
    p.out_multiplier = s.mult.data(); p.out_shift = s.shift.data(); p.per_channel = per_channel;
    auto x = rand_s8(g, in_f), w = rand_s8(g, (size_t)in_f * out_f, -127, 127);
    auto bias = rand_bias(g, out_f);
    std::vector<int8_t> out(out_f);
    ASSERT_EQ(tn_fully_connected_s8(&p, x.data(), w.data(), bias.data(), out.data()), TN_OK);
    for (int o = 0; o < out_f; ++o) {
      int64_t acc = bias[o];
      for (int k = 0; k < in_f; ++k) acc += (int64_t)(x[k] - p.input_zero_point) * w[(size_t)o * in_f + k];
      int q = per_channel ? o : 0;
      ASSERT_EQ(out[o], tnref::requant(acc, s.mult[q], s.shift[q], p.output_zero_point, -128, 127));
    }
  }
}

// ---------------------------------------------------------------- patches, argmax

TEST(TN_S(Patch), ExtractInsertRoundTrip) {
  std::mt19937 g(15);
  const int H = 11, W = 13, C = 3;
  auto img = rand_s8(g, H * W * C);
  const int y0 = 4, x0 = 5, h = 6, w = 7;
  std::vector<int8_t> patch(h * w * C);
  tn_copy_patch_s8(img.data(), W, y0, x0, patch.data(), w, 0, 0, h, w, C);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < C; ++c)
        ASSERT_EQ(patch[(y * w + x) * C + c], img[((y0 + y) * W + x0 + x) * C + c]);
  std::vector<int8_t> canvas(H * W * C, 9);
  tn_copy_patch_s8(patch.data(), w, 0, 0, canvas.data(), W, y0, x0, h, w, C);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < C; ++c) {
        bool inside = y >= y0 && y < y0 + h && x >= x0 && x < x0 + w;
        ASSERT_EQ(canvas[(y * W + x) * C + c], inside ? img[(y * W + x) * C + c] : 9);
      }
}

TEST(TN_S(Patch), CropFillsOutsideWithZeroPoint) {
  std::mt19937 g(16);
  const int H = 6, W = 5, C = 2;
  auto img = rand_s8(g, H * W * C);
  for (int t = 0; t < 50; ++t) {
    int y0 = rnd(g, -4, 7), x0 = rnd(g, -4, 7), h = rnd(g, 1, 8), w = rnd(g, 1, 8);
    std::vector<int8_t> out(h * w * C, 0);
    tn_crop_s8(img.data(), H, W, C, y0, x0, h, w, (int8_t)-77, out.data());
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < C; ++c) {
          int sy = y0 + y, sx = x0 + x;
          int8_t want = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? img[(sy * W + sx) * C + c] : (int8_t)-77;
          ASSERT_EQ(out[(y * w + x) * C + c], want) << y0 << "," << x0 << " " << h << "x" << w;
        }
  }
}

TEST(TN_S(Argmax), FirstMaximum) {
  int8_t v[] = {-5, 3, 7, 7, -128, 2};
  EXPECT_EQ(tn_argmax_s8(v, 6), 2);
  EXPECT_EQ(tn_argmax_s8(v, 2), 1);
  int8_t all[] = {-128, -128, -128};
  EXPECT_EQ(tn_argmax_s8(all, 3), 0);
  EXPECT_EQ(tn_argmax_s8(v, 0), -1);
}

// ---------------------------------------------------------------- profiler

std::string g_csv;
void capture(const char* s) { g_csv += s; }

TEST(TN_S(Profile), CsvFormat) {
  tn_profile_reset();
  tn_profile_begin(1);
  tn_profile_end(1, "depthwise", 3, 3, 2, 16, 16, 8, 8, 8, 8, 4608);
  tn_profile_begin(0);
  tn_profile_end(0, "conv", 3, 3, 2, 32, 32, 3, 16, 16, 8, 55296);
  g_csv.clear();
  tn_profile_print_csv(capture);
  const std::string rows_0 = g_csv.substr(0, g_csv.find('\n') + 1);
  EXPECT_EQ(rows_0, "op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles\n");
  // host clock is "none": cycles 0
  EXPECT_EQ(g_csv,
            "op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles\n"
            "conv,3,3,2,32,32,3,16,16,8,55296,0\n"
            "depthwise,3,3,2,16,16,8,8,8,8,4608,0\n");
  EXPECT_STREQ(tn_profile_clock_name(), "none");
  ASSERT_NE(tn_profile_record(0), nullptr);
  EXPECT_EQ(tn_profile_record(2), nullptr);
  char buf[24];
  EXPECT_STREQ(tn_format_i32(INT32_MIN, buf), "-2147483648");
  EXPECT_STREQ(tn_format_u64(UINT64_MAX, buf), "18446744073709551615");
  tn_profile_reset();
}

}  // namespace

// ---- softmax: TF-Lite's fixed-point int8 softmax against the float softmax it approximates.
// TF-Lite's output is round(256 * p) - 128 up to its fixed-point error; within 1 LSB everywhere.
TEST(TN_S(Softmax), WithinOneLsbOfTheFloatSoftmax) {
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> byte(-128, 127);
    std::uniform_real_distribution<double> scale_dist(0.004, 0.4);
    int checked = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const int depth = 1 + static_cast<int>(rng() % 64);
        const int rows = 1 + static_cast<int>(rng() % 3);
        const double scale = scale_dist(rng), beta = trial % 3 == 0 ? 0.5 : 1.0;
        tn_softmax_params_t p;
        ASSERT_EQ(tn_softmax_params_from_scale(beta, scale, &p), TN_OK);
        std::vector<int8_t> x(static_cast<size_t>(rows) * depth), y(x.size());
        for (auto& v : x) v = static_cast<int8_t>(byte(rng));
        ASSERT_EQ(tn_softmax_s8(&p, x.data(), rows, depth, y.data()), TN_OK);
        for (int r = 0; r < rows; ++r) {
            const int8_t* xr = x.data() + r * depth;
            const int mx = *std::max_element(xr, xr + depth);
            double sum = 0;
            for (int c = 0; c < depth; ++c) sum += std::exp(beta * scale * (xr[c] - mx));
            for (int c = 0; c < depth; ++c) {
                const double prob = std::exp(beta * scale * (xr[c] - mx)) / sum;
                const long want = std::clamp(std::lround(prob * 256.0) - 128, -128L, 127L);
                EXPECT_LE(std::abs(y[r * depth + c] - want), 1) << "trial " << trial << " depth " << depth
                                                                 << " scale " << scale << " p " << prob;
                ++checked;
            }
        }
    }
    EXPECT_GT(checked, 5000);
}

TEST(TN_S(Softmax), HandPickedRowsAndInPlace) {
    tn_softmax_params_t p;
    ASSERT_EQ(tn_softmax_params_from_scale(1.0, 0.1, &p), TN_OK);
    // Four equal inputs: 1/4 each -> 64 - 128.
    int8_t x[4] = {7, 7, 7, 7}, y[4];
    ASSERT_EQ(tn_softmax_s8(&p, x, 1, 4, y), TN_OK);
    for (int8_t v : y) EXPECT_EQ(v, -64);
    // One far above the rest: probability ~1 saturates at 127, the others at -128.
    int8_t z[3] = {127, -128, -128};
    ASSERT_EQ(tn_softmax_s8(&p, z, 1, 3, z), TN_OK);  // in place
    EXPECT_EQ(z[0], 127);
    EXPECT_EQ(z[1], -128);
    EXPECT_EQ(z[2], -128);
    // Parameters TF-Lite refuses: beta * scale * 2^26 <= 1; and bad arguments.
    EXPECT_EQ(tn_softmax_params_from_scale(1.0, 1e-9, &p), TN_ERR_ARG);
    EXPECT_EQ(tn_softmax_params_from_scale(0.0, 0.1, &p), TN_ERR_ARG);
    EXPECT_EQ(tn_softmax_s8(&p, x, 1, 0, y), TN_ERR_ARG);
}
