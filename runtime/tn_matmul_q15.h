/* tinynas runtime: internal q15 im2col matrix kernel (DSP path). */
#ifndef TN_MATMUL_Q15_H
#define TN_MATMUL_Q15_H
#include "tn_internal.h"

#if TN_USE_DSP
/* Position of element j (j < K rounded down to 4) in a reordered im2col row:
 * swaps bits 0 and 1, i.e. groups of four are stored as (x0, x2, x1, x3). */
TN_INLINE int32_t tn__reorder_index(int32_t j)
{
    return (j & ~3) | ((j & 1) << 1) | ((j >> 1) & 1);
}

/* Write n int8 values x[i] + off as q15 at im2col positions j .. j+n-1 of a
 * row whose reordered part is [0, k4). Word-at-a-time when j is a multiple of
 * 4: SXTB16 yields exactly the (x0, x2) / (x1, x3) pairs the layout wants, and
 * SADD16 adds the offset to both halves. */
TN_INLINE void tn__im2col_put(int16_t *col, int32_t k4, int32_t j, const int8_t *x, int32_t n,
                              int32_t off)
{
    int32_t i = 0;
    if ((j & 3) == 0) {
        const int32_t off2 = (int32_t)(((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16));
        for (; i + 4 <= n && j + i + 4 <= k4; i += 4) {
            const int32_t w = tn__read_s8x4(x + i);
            const int32_t v02 = tn__sadd16(tn__sxtb16(w), off2);
            const int32_t v13 = tn__sadd16(tn__sxtb16_ror8(w), off2);
            memcpy(col + j + i, &v02, 4);
            memcpy(col + j + i + 2, &v13, 4);
        }
    }
    for (; i < n; ++i) {
        const int32_t jj = j + i;
        col[jj < k4 ? tn__reorder_index(jj) : jj] = (int16_t)(x[i] + off);
    }
}

/* Zero n positions from j (padding taps: x = zero point -> x + off = 0). */
TN_INLINE void tn__im2col_zero(int16_t *col, int32_t k4, int32_t j, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        const int32_t jj = j + i;
        col[jj < k4 ? tn__reorder_index(jj) : jj] = 0;
    }
}

/* Computes c_out outputs for pixel 0 (col0 -> out0) and, if col1 != NULL,
 * pixel 1 (col1 -> out1). k = im2col row length. fast != 0 when every channel
 * passes tn__rq_fast_ok (checked once per layer by the caller). */
void tn__mat_mult_q15(const int8_t *weights, const int32_t *bias, int32_t c_out, int32_t k,
                      const int16_t *col0, const int16_t *col1, const tn_conv_params_t *p,
                      int8_t *out0, int8_t *out1, int fast);
/* Interleaved variant: col holds two pixels' q15 rows interleaved per group
 * of four, [(x0,x2) (x1,x3)]_px0 [(x0,x2) (x1,x3)]_px1, then the k % 4 tail
 * of pixel 0, then of pixel 1 (tn__il_pos gives the slot of element j), every
 * value DOUBLED: 2 * (x + input offset) (free with two SXTAB16), so with a
 * doubled bias the accumulators are 2x and the requantisation is tn__rq2
 * (3 instructions). Only when tn__il_ok holds for the layer. two = 0: pixel 0
 * only (out1 unused). K2 = 1 + 2*(zp_out - act_min), H4/L4 as for
 * tn__clamp_u8. */
TN_INLINE int32_t tn__il_pos(int32_t j, int32_t k, int32_t which)
{
    const int32_t k4 = k & ~3;
    return j < k4 ? 8 * (j >> 2) + 4 * which + (((j & 1) << 1) | ((j >> 1) & 1)) : 2 * k4 + which * (k - k4) + (j - k4);
}
/* One pixel's k int8 values into slot `which` of the interleaved pair,
 * doubled: 2 * (x + off). Groups of four are one word: SXTAB16 twice gives
 * (2x0 + 2off, 2x2 + 2off) and, rotated, (2x1 + 2off, 2x3 + 2off), the
 * (x0, x2) (x1, x3) order the kernel wants; the k % 4 tail goes one by one.
 * The pointwise conv's odd last pixel and every gathered conv window (the RGB
 * 3x3 stem's 27 taps: six words and three halfwords). */
TN_INLINE void tn__il_put(int16_t *col, const int8_t *x, int32_t k, int32_t off, int32_t which)
{
    const int32_t k4 = k & ~3;
    const int32_t off4 = (int32_t)(((uint32_t)(2 * off) & 0xFFFFu) | ((uint32_t)(2 * off) << 16));
    int16_t *c = col + 4 * which;
    for (int32_t j = 0; j < k4; j += 4, c += 8) {
        const int32_t w = tn__read_s8x4(x + j);
        const int32_t v02 = tn__sxtab16(tn__sxtab16(off4, w), w);
        const int32_t v13 = tn__sxtab16_ror8(tn__sxtab16_ror8(off4, w), w);
        memcpy(c, &v02, 4);
        memcpy(c + 2, &v13, 4);
    }
    int16_t *t = col + 2 * k4 + which * (k - k4);
    for (int32_t j = k4; j < k; ++j) t[j - k4] = (int16_t)(2 * (x[j] + off));
}
/* 1 if tn__il_run may run: every channel in the tn__rq_fast_ok
 * range with |bias| < 2^29 (tn__dbl_ok) and k <= TN_DBL_MAX_TAPS, so that
 * 2x fits int32 and tn__rq2 is exact. */
TN_INLINE int tn__il_ok(const int32_t *mult, const int32_t *shift, const int32_t *bias, int32_t c_out, int32_t k)
{
    if (k > TN_DBL_MAX_TAPS) return 0;
    for (int32_t i = 0; i < c_out; ++i)
        if (!tn__rq_fast_ok(mult[i], shift[i]) || (bias && !tn__dbl_ok(bias[i]))) return 0;
    return 1;
}
/* The interleaved kernel's layer constants, prepared once per layer by
 * tn__il_init (the assembly's state block included, so a pixel pair costs
 * three stores and a call); tn__il_run then does one pixel pair (two = 1) or
 * a lone pixel (two = 0: pixel 0 only, out1 unused) from the scratch col. */
#if defined(__ARM_FEATURE_DSP) && !defined(TN_EMULATE_DSP) && defined(__GNUC__)
#define TN_PW_ASM 1
#else
#define TN_PW_ASM 0
#endif
typedef struct {          /* tn__pw_2x2_asm's input, field order = its frame order */
    const int16_t *col;   /*  0 */
    int32_t chunks;       /*  4 n / 8 */
    int32_t k;            /*  8 */
    uint32_t entry;       /* 12 first group to run: body end - 64 * (n % 8), Thumb bit set */
    const int32_t *mult;  /* 16 advanced */
    const int32_t *shift; /* 20 advanced */
    int32_t K2;           /* 24 */
    uint32_t H4, L4;      /* 28, 32 */
    int8_t *out0;         /* 36 advanced */
    int8_t *out1;         /* 40 advanced */
    const int32_t *bias;  /* 44 advanced */
    int8_t *out0_end;     /* 48 out0 + 2 * (number of pairs >= 1) */
    int32_t kt;           /* 52 k % 4 */
    const int8_t *w;      /* 56 row a of the first pair */
    uint32_t after;       /* 60 set by the asm: code after the unrolled passes */
} tn__pw_state_t;
typedef struct {
    const int8_t *weights;
    const int32_t *bias, *mult, *shift;
    int32_t c_out, k, K2;
    uint32_t H4, L4;
    const int16_t *col;
    tn__pw_state_t st;
} tn__il_t;
void tn__il_init(tn__il_t *L, const int8_t *weights, const int32_t *bias, int32_t c_out, int32_t k, const int16_t *col,
                 const int32_t *mult, const int32_t *shift, int32_t K2, uint32_t H4, uint32_t L4);
void tn__il_run(tn__il_t *L, int two, int8_t *out0, int8_t *out1);
#endif

#endif
