/*
 * tinynas runtime: internal helpers shared by the kernels (not public API).
 * Fixed-point rounding (TF-Lite / gemmlowp) and the DSP intrinsics.
 */
#ifndef TN_INTERNAL_H
#define TN_INTERNAL_H

#include <stdint.h>
#include <string.h>
#include "tn_runtime.h"

#if defined(__ARM_FEATURE_DSP) || defined(TN_EMULATE_DSP)
#define TN_USE_DSP 1
#else
#define TN_USE_DSP 0
#endif

#if defined(__GNUC__)
#define TN_INLINE static inline __attribute__((always_inline))
#else
#define TN_INLINE static inline
#endif

/* gemmlowp SaturatingRoundingDoublingHighMul: (2*a*b) / 2^32 rounded to
 * nearest, ties toward +infinity (the nudge below); only a == b == INT32_MIN
 * overflows and saturates to INT32_MAX. */
TN_INLINE int32_t tn__srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    const int64_t ab = (int64_t)a * (int64_t)b;
    /* gemmlowp writes (ab + nudge) / 2^31 with nudge = 2^30 for ab >= 0 and
     * 1 - 2^30 for ab < 0, and C's truncating division. For ab < 0 the
     * numerator is negative, so truncation is a ceiling, and
     * ceil((ab + 1 - 2^30) / 2^31) = floor((ab + 2^30) / 2^31): both cases are
     * the single expression below (round half up), which compiles to
     * SMULL + ADDS/ADC + a 64-bit shift, with no branch. >> of a negative
     * int64 is arithmetic on every compiler we target. */
    return (int32_t)((ab + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from
 * zero. Relies on >> of a negative int32 being arithmetic (true for GCC/Clang
 * and every Arm compiler). 0 <= e <= 31. */
TN_INLINE int32_t tn__rdbpot(int32_t x, int32_t e)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << e) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

/* TFLM MultiplyByQuantizedMultiplier. The left shift is done on uint32 so it
 * wraps exactly as TF-Lite's x * (1 << s) does on two's complement targets,
 * without C undefined behaviour. */
TN_INLINE int32_t tn__mbqm(int32_t x, int32_t m, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int32_t xs = (int32_t)((uint32_t)x << left);
    return tn__rdbpot(tn__srdhm(xs, m), right);
}

/* acc -> int8 output: requantise, add output zero point, clamp. */
TN_INLINE int8_t tn__requant(int32_t acc, int32_t m, int32_t shift, int32_t zp,
                             int32_t act_min, int32_t act_max)
{
    int32_t y = tn__mbqm(acc, m, shift) + zp;
    if (y < act_min) y = act_min;
    if (y > act_max) y = act_max;
    return (int8_t)y;
}

/* ---- fast requantisation (bit-identical to tn__requant, restricted range) ----
 * For m > 0 and 2 <= e = -shift <= 22, with P = x * m (int64):
 *   SRDHM(x, m) = r = floor((P + 2^30) / 2^31)
 *   RDBPOT(r, e) = floor((r + 2^(e-1) - [r < 0]) / 2^e)      (ties away from zero)
 * and nested floors of integer divisions fold into one:
 *   MBQM + zp = floor((P + 2^30 + 2^(30+e) - [r<0] 2^31 + zp 2^(31+e)) / 2^(31+e)).
 * [r < 0] may be replaced by [x < 0] (= [P < 0] as m > 0): they differ only for
 * P in [-2^30, 0), where r = 0 and both forms give 0 + zp for e >= 1. The 64-bit
 * addend is then hi = (1 + 2 zp) 2^(e-2) + (x >> 31), lo = 2^30 | (x & 2^31)
 * (for x < 0 the 2^31 borrow is the -1 in hi), so the whole requantisation is
 * AND, ORR, ADD, SMLAL, ASR: |P| < 2^62 and |addend| < 2^61 cannot overflow.
 * kh = (1 + 2 zp) << (e - 2), sh = e - 1 (see tn__rq_kh). */
TN_INLINE int tn__rq_fast_ok(int32_t m, int32_t shift) { return m > 0 && shift <= -2 && shift >= -22; }
TN_INLINE int32_t tn__rq_kh(int32_t shift, int32_t zp)
{
    return (int32_t)((uint32_t)(1 + 2 * zp) << (-shift - 2));
}
TN_INLINE int32_t tn__rq_fast(int32_t x, int32_t m, int32_t kh, int32_t sh)
{
    const uint32_t lo = 0x40000000u | ((uint32_t)x & 0x80000000u);
    const int32_t hi = kh + (x >> 31);
    const int64_t t = (int64_t)(((uint64_t)(uint32_t)hi << 32) | lo) + (int64_t)x * m;
    return (int32_t)(t >> 32) >> sh;
}
/* Clamp to [lo, hi] (both within [-128, 127], checked by tn__check_conv_params). */
TN_INLINE int8_t tn__clamp8(int32_t y, int32_t lo, int32_t hi)
{
    if (y < lo) y = lo;
    if (y > hi) y = hi;
    return (int8_t)y;
}
/* 1 if every channel of [0, n) can use tn__rq_fast. */
TN_INLINE int tn__rq_all_fast(const int32_t *m, const int32_t *shift, int32_t n)
{
    for (int32_t i = 0; i < n; ++i)
        if (!tn__rq_fast_ok(m[i], shift[i])) return 0;
    return 1;
}

/* Two int16 halves (lo, hi) packed in one word. */
TN_INLINE int32_t tn__pk16(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

/* Read 4 bytes / 2 int16 as one word, any alignment (LDR on Cortex-M7). */
TN_INLINE int32_t tn__read_s8x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}
TN_INLINE int32_t tn__read_s16x2(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

#if TN_USE_DSP
#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
/* SMLAD: acc + lo(a)*lo(b) + hi(a)*hi(b), 16x16 signed halves. */
TN_INLINE int32_t tn__smlad(int32_t a, int32_t b, int32_t acc)
{
    return __smlad((int16x2_t)a, (int16x2_t)b, acc);
}
/* SXTB16: sign-extend bytes 0 and 2 into two halfwords. */
TN_INLINE int32_t tn__sxtb16(int32_t a) { return (int32_t)__sxtb16((int8x4_t)a); }
/* SADD16: two independent 16-bit additions (no carry between halves). */
TN_INLINE int32_t tn__sadd16(int32_t a, int32_t b)
{
    return (int32_t)__sadd16((int16x2_t)a, (int16x2_t)b);
}
/* SMLADX: acc + lo(a)*hi(b) + hi(a)*lo(b). */
TN_INLINE int32_t tn__smladx(int32_t a, int32_t b, int32_t acc)
{
    return __smladx((int16x2_t)a, (int16x2_t)b, acc);
}
/* SMLA<x><y>: acc + half x of a * half y of b (B = bottom, T = top, signed 16-bit). */
TN_INLINE int32_t tn__smlabb(int32_t a, int32_t b, int32_t acc) { return __smlabb(a, b, acc); }
TN_INLINE int32_t tn__smlatb(int32_t a, int32_t b, int32_t acc) { return __smlatb(a, b, acc); }
TN_INLINE int32_t tn__smlabt(int32_t a, int32_t b, int32_t acc) { return __smlabt(a, b, acc); }
TN_INLINE int32_t tn__smlatt(int32_t a, int32_t b, int32_t acc) { return __smlatt(a, b, acc); }
/* USAT #8: clamp to [0, 255]. */
TN_INLINE uint32_t tn__usat8(int32_t a) { return (uint32_t)__usat(a, 8); }
/* UQSUB8 / UADD8: four byte lanes, saturating to [0, 255] / wrapping mod 256. */
TN_INLINE uint32_t tn__uqsub8(uint32_t a, uint32_t b) { return (uint32_t)__uqsub8((uint8x4_t)a, (uint8x4_t)b); }
TN_INLINE uint32_t tn__uadd8(uint32_t a, uint32_t b) { return (uint32_t)__uadd8((uint8x4_t)a, (uint8x4_t)b); }
/* SXTB16 with ROR #8: bytes 1 and 3 (one instruction, hence the inline asm). */
TN_INLINE int32_t tn__sxtb16_ror8(int32_t a)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(a));
    return r;
}
/* SXTAB16: a + SXTB16(b) (or of b ROR #8), two independent 16-bit lanes. */
TN_INLINE int32_t tn__sxtab16(int32_t a, int32_t b) { return (int32_t)__sxtab16((int16x2_t)a, (int8x4_t)b); }
TN_INLINE int32_t tn__sxtab16_ror8(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
/* PKHBT (no shift): bottom half of a, top half of b. No ACLE intrinsic. */
TN_INLINE int32_t tn__pkhbt(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhbt %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
/* SMMLAR: acc + (a * b + 2^31) / 2^32 (floor), i.e. bits 63..32 of
 * (acc << 32) + a * b + 2^31. No ACLE intrinsic. */
TN_INLINE int32_t tn__smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#else
/* Host emulation (TN_EMULATE_DSP): same results as the instructions, with
 * the additions done modulo 2^32 like the hardware. */
TN_INLINE int32_t tn__smlad(int32_t a, int32_t b, int32_t acc)
{
    int32_t p0 = (int32_t)(int16_t)(a & 0xFFFF) * (int32_t)(int16_t)(b & 0xFFFF);
    int32_t p1 = (int32_t)(int16_t)((uint32_t)a >> 16) * (int32_t)(int16_t)((uint32_t)b >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)p0 + (uint32_t)p1);
}
TN_INLINE int32_t tn__sxtb16(int32_t a)
{
    uint32_t u = (uint32_t)a;
    uint32_t lo = (uint32_t)(uint16_t)(int16_t)(int8_t)(u & 0xFF);
    uint32_t hi = (uint32_t)(uint16_t)(int16_t)(int8_t)((u >> 16) & 0xFF);
    return (int32_t)(lo | (hi << 16));
}
TN_INLINE int32_t tn__sxtb16_ror8(int32_t a)
{
    uint32_t u = (uint32_t)a;
    return tn__sxtb16((int32_t)((u >> 8) | (u << 24)));
}
TN_INLINE int32_t tn__smladx(int32_t a, int32_t b, int32_t acc)
{
    return tn__smlad(a, (int32_t)(((uint32_t)b >> 16) | ((uint32_t)b << 16)), acc);
}
TN_INLINE int32_t tn__pkhbt(int32_t a, int32_t b)
{
    return (int32_t)(((uint32_t)a & 0xFFFFu) | ((uint32_t)b & 0xFFFF0000u));
}
TN_INLINE int32_t tn__smmlar(int32_t a, int32_t b, int32_t acc)
{
    const uint64_t t = ((uint64_t)(uint32_t)acc << 32) + (uint64_t)((int64_t)a * (int64_t)b) + 0x80000000u;
    return (int32_t)(uint32_t)(t >> 32);
}
TN_INLINE int32_t tn__lo16(int32_t a) { return (int32_t)(int16_t)((uint32_t)a & 0xFFFFu); }
TN_INLINE int32_t tn__hi16(int32_t a) { return (int32_t)(int16_t)((uint32_t)a >> 16); }
TN_INLINE int32_t tn__smlabb(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tn__lo16(a) * tn__lo16(b)));
}
TN_INLINE int32_t tn__smlatb(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tn__hi16(a) * tn__lo16(b)));
}
TN_INLINE int32_t tn__smlabt(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tn__lo16(a) * tn__hi16(b)));
}
TN_INLINE int32_t tn__smlatt(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tn__hi16(a) * tn__hi16(b)));
}
TN_INLINE uint32_t tn__usat8(int32_t a) { return a < 0 ? 0u : a > 255 ? 255u : (uint32_t)a; }
TN_INLINE uint32_t tn__uqsub8(uint32_t a, uint32_t b)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        const uint32_t x = (a >> i) & 0xFFu, y = (b >> i) & 0xFFu;
        r |= (x > y ? x - y : 0u) << i;
    }
    return r;
}
TN_INLINE uint32_t tn__uadd8(uint32_t a, uint32_t b)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) r |= (((a >> i) + (b >> i)) & 0xFFu) << i;
    return r;
}
TN_INLINE int32_t tn__sadd16(int32_t a, int32_t b)
{
    uint32_t lo = ((uint32_t)a + (uint32_t)b) & 0xFFFFu;
    uint32_t hi = (((uint32_t)a >> 16) + ((uint32_t)b >> 16)) & 0xFFFFu;
    return (int32_t)(lo | (hi << 16));
}
TN_INLINE int32_t tn__sxtab16(int32_t a, int32_t b) { return tn__sadd16(a, tn__sxtb16(b)); }
TN_INLINE int32_t tn__sxtab16_ror8(int32_t a, int32_t b) { return tn__sadd16(a, tn__sxtb16_ror8(b)); }
#endif

/* SIMD clamp of up to four outputs (DSP path). Requantise with tn__rq_fast
 * and the zero point zp - act_min (tn__rq_kh(shift, zp - act_min)), i.e.
 * y - act_min; then clamp(y, lo, hi) = lo + min(clamp(y - lo, 0, 255), hi - lo)
 * as [lo, hi] lies within [-128, 127]: USAT #8 per output, then per byte lane
 * min(t, H) = H - UQSUB8(H, t) (no borrow between lanes) and + lo mod 256
 * (UADD8), which is the int8 result's two's complement byte. H4 / L4 hold
 * hi - lo / lo (as a byte) in every lane (tn__rep8). */
TN_INLINE uint32_t tn__rep8(int32_t v) { return ((uint32_t)v & 0xFFu) * 0x01010101u; }
TN_INLINE uint32_t tn__clamp_u8(uint32_t t, uint32_t H4, uint32_t L4)
{
    return tn__uadd8(H4 - tn__uqsub8(H4, t), L4);
}

/* ---- requantisation of a DOUBLED accumulator (DSP path), 3 instructions ----
 * When the kernel can produce X = 2x exactly (the depthwise packs doubled
 * weights, free; pointwise doubles its q15 input copy), the tn__rq_fast result
 * comes from one SMMLAR. Multiplying the tn__rq_fast fraction by 2/2:
 *   MBQM(x, m, -e) + zp = floor((2P + 2^31 + 2^32 (2^(e-1) - [x<0] + zp 2^e)) / 2^(32+e))
 * (P = x m), and floor(floor(y / 2^32) / 2^e) = floor(y / 2^(32+e)), so
 *   MBQM + zp = (SMMLAR(X, m, K + (X >> 31))) >> e,   K = (1 + 2 zp) << (e - 1)
 * since SMMLAR(X, m, R) = R + floor((X m + 2^31) / 2^32) and X >> 31 = -[x<0].
 * No wrap: |X m| < 2^62 and |K| < 2^30 for |zp| <= 255, e <= 22, so the high
 * word stays within int32. Valid for the tn__rq_fast_ok range (m > 0,
 * 2 <= e <= 22) when X = 2x fits int32, which tn__dbl_ok guarantees for
 * |bias| < 2^29 and at most 8192 taps (|sum| <= 255 * 127 * 8192 < 2^28):
 *   ADD t, K, X, ASR #31;  SMMLAR t, X, m, t;  ASR t, t, e.
 * As with tn__rq_fast, zp may be zp_out - act_min for the SIMD clamp. */
TN_INLINE int32_t tn__rq2_k(int32_t shift, int32_t zp)
{
    return (int32_t)((uint32_t)(1 + 2 * zp) << (-shift - 1));
}
TN_INLINE int32_t tn__rq2(int32_t X, int32_t m, int32_t K, int32_t e)
{
    return tn__smmlar(X, m, K + (X >> 31)) >> e;
}
#define TN_DBL_MAX_TAPS 8192
TN_INLINE int tn__dbl_ok(int32_t bias) { return bias > -(1 << 29) && bias < (1 << 29); }
#endif /* TN_USE_DSP */

/* Scratch alignment contract (tn_runtime.h): conv / pointwise scratch must be
 * 8-byte aligned (the Arm path reads it with LDRD); NULL passes here (the
 * callers decide whether NULL is allowed). */
TN_INLINE int tn__scratch_misaligned(const void *scratch) { return ((uintptr_t)scratch & 7u) != 0; }

/* Common validation of conv-like parameters; returns TN_OK or an error. */
int tn__check_conv_params(const tn_conv_params_t *p);
/* n pixels of frame row iy from column ix -> n * channels int8 through the
 * table (tn_patch_s8.c). */
void tn__frame_row(const tn_frame_t *f, int32_t iy, int32_t ix, int32_t n, int8_t *dst);

#endif /* TN_INTERNAL_H */
