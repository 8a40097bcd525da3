/*
 * tinynas runtime: the shared SMLAD matrix kernel of conv2d and pointwise
 * (DSP fast path only).
 *
 * out[pixel][oc] = requant(bias[oc] + sum_k col_pixel[k] * w[oc][k])
 * for one or two pixels whose q15 im2col rows (input + input offset, padded
 * taps = 0) are col0/col1. Two output channels x two pixels per inner loop:
 * each weight word is loaded and sign-extended once and used for two pixels,
 * each im2col word is loaded once and used for two channels.
 *
 * The im2col rows are stored "reordered" in groups of four (x0, x2, x1, x3) so
 * a word of four int8 weights needs just SXTB16 (w0, w2) and SXTB16 ROR #8
 * (w1, w3) to line up with two q15 words: no PKHBT in the inner loop. The last
 * K % 4 elements stay in natural order and are done with plain MLAs.
 */
#include "tn_matmul_q15.h"

#if TN_USE_DSP

void tn__mat_mult_q15(const int8_t *weights, const int32_t *bias, int32_t c_out, int32_t k,
                      const int16_t *col0, const int16_t *col1, const tn_conv_params_t *p,
                      int8_t *out0, int8_t *out1)
{
    const int32_t k4 = k & ~3;
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    int32_t oc = 0;
    if (col1) {
        for (; oc + 2 <= c_out; oc += 2) {
            const int8_t *wa = weights + (size_t)oc * k;
            const int8_t *wb = wa + k;
            int32_t a00 = bias ? bias[oc] : 0, a10 = bias ? bias[oc + 1] : 0; /* [ch][px] */
            int32_t a01 = a00, a11 = a10;
            int32_t i = 0;
            for (; i < k4; i += 4) {
                const int32_t wra = tn__read_s8x4(wa + i), wrb = tn__read_s8x4(wb + i);
                const int32_t wa02 = tn__sxtb16(wra), wa13 = tn__sxtb16_ror8(wra);
                const int32_t wb02 = tn__sxtb16(wrb), wb13 = tn__sxtb16_ror8(wrb);
                const int32_t x0a = tn__read_s16x2(col0 + i), x0b = tn__read_s16x2(col0 + i + 2);
                const int32_t x1a = tn__read_s16x2(col1 + i), x1b = tn__read_s16x2(col1 + i + 2);
                a00 = tn__smlad(wa02, x0a, a00);
                a00 = tn__smlad(wa13, x0b, a00);
                a01 = tn__smlad(wa02, x1a, a01);
                a01 = tn__smlad(wa13, x1b, a01);
                a10 = tn__smlad(wb02, x0a, a10);
                a10 = tn__smlad(wb13, x0b, a10);
                a11 = tn__smlad(wb02, x1a, a11);
                a11 = tn__smlad(wb13, x1b, a11);
            }
            for (; i < k; ++i) {
                a00 += col0[i] * wa[i];
                a01 += col1[i] * wa[i];
                a10 += col0[i] * wb[i];
                a11 += col1[i] * wb[i];
            }
            out0[oc] = tn__requant(a00, p->out_multiplier[oc], p->out_shift[oc], zp, lo, hi);
            out1[oc] = tn__requant(a01, p->out_multiplier[oc], p->out_shift[oc], zp, lo, hi);
            out0[oc + 1] = tn__requant(a10, p->out_multiplier[oc + 1], p->out_shift[oc + 1], zp, lo, hi);
            out1[oc + 1] = tn__requant(a11, p->out_multiplier[oc + 1], p->out_shift[oc + 1], zp, lo, hi);
        }
    }
    /* Remaining channel of an odd c_out (two pixels), or a single pixel. */
    for (; oc < c_out; ++oc) {
        const int8_t *wa = weights + (size_t)oc * k;
        int32_t a0 = bias ? bias[oc] : 0, a1 = a0;
        int32_t i = 0;
        for (; i < k4; i += 4) {
            const int32_t wr = tn__read_s8x4(wa + i);
            const int32_t w02 = tn__sxtb16(wr), w13 = tn__sxtb16_ror8(wr);
            a0 = tn__smlad(w02, tn__read_s16x2(col0 + i), a0);
            a0 = tn__smlad(w13, tn__read_s16x2(col0 + i + 2), a0);
            if (col1) {
                a1 = tn__smlad(w02, tn__read_s16x2(col1 + i), a1);
                a1 = tn__smlad(w13, tn__read_s16x2(col1 + i + 2), a1);
            }
        }
        for (; i < k; ++i) {
            a0 += col0[i] * wa[i];
            if (col1) a1 += col1[i] * wa[i];
        }
        out0[oc] = tn__requant(a0, p->out_multiplier[oc], p->out_shift[oc], zp, lo, hi);
        if (col1) out1[oc] = tn__requant(a1, p->out_multiplier[oc], p->out_shift[oc], zp, lo, hi);
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int tn__matmul_q15_unused;
#endif
