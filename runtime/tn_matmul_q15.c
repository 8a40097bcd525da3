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
 *
 * Requantisation uses tn__rq_fast (5 instructions, bit-identical) when the
 * caller has checked that every channel's (multiplier, shift) allows it.
 */
#include "tn_matmul_q15.h"

#if TN_USE_DSP

/* Two consecutive words of a q15 row (the scratch is 4-byte aligned). */
TN_INLINE void ld2(const int16_t *p, int32_t *a, int32_t *b)
{
    *a = tn__read_s16x2(p);
    *b = tn__read_s16x2(p + 2);
}

void tn__mat_mult_q15(const int8_t *weights, const int32_t *bias, int32_t c_out, int32_t k,
                      const int16_t *col0, const int16_t *col1, const tn_conv_params_t *p,
                      int8_t *out0, int8_t *out1, int fast)
{
    const int32_t k4 = k & ~3;
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    const int32_t *mult = p->out_multiplier, *shift = p->out_shift;
    int32_t oc = 0;
    if (col1) {
        const int8_t *wa = weights;
        for (; oc + 2 <= c_out; oc += 2, wa += 2 * (size_t)k) {
            const int8_t *wb = wa + k;
            int32_t a00 = bias ? bias[oc] : 0, a10 = bias ? bias[oc + 1] : 0; /* [ch][px] */
            int32_t a01 = a00, a11 = a10;
            const int8_t *pa = wa, *pb = wb;
            const int16_t *c0 = col0, *c1 = col1;
            const int16_t *const c0_end = col0 + k4;
            while (c0 != c0_end) {
                const int32_t wra = tn__read_s8x4(pa), wrb = tn__read_s8x4(pb);
                int32_t x0a, x0b, x1a, x1b;
                ld2(c0, &x0a, &x0b);
                ld2(c1, &x1a, &x1b);
                pa += 4;
                pb += 4;
                c0 += 4;
                c1 += 4;
                const int32_t wa02 = tn__sxtb16(wra), wa13 = tn__sxtb16_ror8(wra);
                const int32_t wb02 = tn__sxtb16(wrb), wb13 = tn__sxtb16_ror8(wrb);
                a00 = tn__smlad(wa02, x0a, a00);
                a00 = tn__smlad(wa13, x0b, a00);
                a01 = tn__smlad(wa02, x1a, a01);
                a01 = tn__smlad(wa13, x1b, a01);
                a10 = tn__smlad(wb02, x0a, a10);
                a10 = tn__smlad(wb13, x0b, a10);
                a11 = tn__smlad(wb02, x1a, a11);
                a11 = tn__smlad(wb13, x1b, a11);
            }
            for (int32_t i = k4; i < k; ++i) {
                a00 += col0[i] * wa[i];
                a01 += col1[i] * wa[i];
                a10 += col0[i] * wb[i];
                a11 += col1[i] * wb[i];
            }
            if (fast) {
                const int32_t ma = mult[oc], mb = mult[oc + 1];
                const int32_t sa = shift[oc], sb = shift[oc + 1];
                const int32_t kha = tn__rq_kh(sa, zp), khb = tn__rq_kh(sb, zp);
                out0[oc] = tn__clamp8(tn__rq_fast(a00, ma, kha, -sa - 1), lo, hi);
                out1[oc] = tn__clamp8(tn__rq_fast(a01, ma, kha, -sa - 1), lo, hi);
                out0[oc + 1] = tn__clamp8(tn__rq_fast(a10, mb, khb, -sb - 1), lo, hi);
                out1[oc + 1] = tn__clamp8(tn__rq_fast(a11, mb, khb, -sb - 1), lo, hi);
            } else {
                out0[oc] = tn__requant(a00, mult[oc], shift[oc], zp, lo, hi);
                out1[oc] = tn__requant(a01, mult[oc], shift[oc], zp, lo, hi);
                out0[oc + 1] = tn__requant(a10, mult[oc + 1], shift[oc + 1], zp, lo, hi);
                out1[oc + 1] = tn__requant(a11, mult[oc + 1], shift[oc + 1], zp, lo, hi);
            }
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
        out0[oc] = tn__requant(a0, mult[oc], shift[oc], zp, lo, hi);
        if (col1) out1[oc] = tn__requant(a1, mult[oc], shift[oc], zp, lo, hi);
    }
}

/* Requantised (zero point zp - lo) result of one channel, before USAT. */
TN_INLINE int32_t pw_rq(int32_t acc, int32_t m, int32_t kh, int32_t sh) { return tn__rq_fast(acc, m, kh, sh); }

void tn__mat_mult_q15_il(const int8_t *weights, const int32_t *bias, int32_t c_out, int32_t k, const int16_t *col,
                     int two, const int32_t *mult, const int32_t *shift, int32_t K2, uint32_t H4, uint32_t L4,
                     int8_t *out0, int8_t *out1)
{
    const int32_t k4 = k & ~3, kt = k - k4;
    const int16_t *tail0 = col + 2 * k4, *tail1 = tail0 + kt;
    int32_t oc = 0;
    if (two) {
        for (; oc + 2 <= c_out; oc += 2) {
            const int8_t *pa = weights + (size_t)oc * k, *pb = pa + k;
            int32_t a00 = bias ? bias[oc] : 0, a10 = bias ? bias[oc + 1] : 0; /* [ch][px] */
            int32_t a01 = a00, a11 = a10;
            const int16_t *c = col;
            const int16_t *const end = col + 2 * k4;
            while (c != end) {
                const int32_t wra = tn__read_s8x4(pa), wrb = tn__read_s8x4(pb);
                const int32_t x0a = tn__read_s16x2(c), x0b = tn__read_s16x2(c + 2);
                const int32_t x1a = tn__read_s16x2(c + 4), x1b = tn__read_s16x2(c + 6);
                pa += 4;
                pb += 4;
                c += 8;
                const int32_t wa02 = tn__sxtb16(wra), wa13 = tn__sxtb16_ror8(wra);
                const int32_t wb02 = tn__sxtb16(wrb), wb13 = tn__sxtb16_ror8(wrb);
                a00 = tn__smlad(wa02, x0a, a00);
                a00 = tn__smlad(wa13, x0b, a00);
                a01 = tn__smlad(wa02, x1a, a01);
                a01 = tn__smlad(wa13, x1b, a01);
                a10 = tn__smlad(wb02, x0a, a10);
                a10 = tn__smlad(wb13, x0b, a10);
                a11 = tn__smlad(wb02, x1a, a11);
                a11 = tn__smlad(wb13, x1b, a11);
            }
            for (int32_t i = 0; i < kt; ++i) {
                a00 += tail0[i] * pa[i];
                a01 += tail1[i] * pa[i];
                a10 += tail0[i] * pb[i];
                a11 += tail1[i] * pb[i];
            }
            const int32_t ma = mult[oc], mb = mult[oc + 1];
            const int32_t sa = shift[oc], sb = shift[oc + 1];
            const int32_t kha = (int32_t)((uint32_t)K2 << (-sa - 2)), khb = (int32_t)((uint32_t)K2 << (-sb - 2));
            const uint32_t t = tn__clamp_u8(tn__usat8(pw_rq(a00, ma, kha, -sa - 1)) |
                                                (tn__usat8(pw_rq(a10, mb, khb, -sb - 1)) << 8) |
                                                (tn__usat8(pw_rq(a01, ma, kha, -sa - 1)) << 16) |
                                                (tn__usat8(pw_rq(a11, mb, khb, -sb - 1)) << 24),
                                            H4, L4);
            const uint16_t t0 = (uint16_t)t, t1 = (uint16_t)(t >> 16);
            memcpy(out0 + oc, &t0, 2);
            memcpy(out1 + oc, &t1, 2);
        }
    }
    /* The last channel of an odd c_out (two pixels), or a lone pixel. */
    for (; oc < c_out; ++oc) {
        const int8_t *pa = weights + (size_t)oc * k;
        int32_t a0 = bias ? bias[oc] : 0, a1 = a0;
        const int16_t *c = col;
        for (int32_t i = 0; i < k4; i += 4, c += 8) {
            const int32_t wr = tn__read_s8x4(pa + i);
            const int32_t w02 = tn__sxtb16(wr), w13 = tn__sxtb16_ror8(wr);
            a0 = tn__smlad(w02, tn__read_s16x2(c), a0);
            a0 = tn__smlad(w13, tn__read_s16x2(c + 2), a0);
            if (two) {
                a1 = tn__smlad(w02, tn__read_s16x2(c + 4), a1);
                a1 = tn__smlad(w13, tn__read_s16x2(c + 6), a1);
            }
        }
        for (int32_t i = 0; i < kt; ++i) {
            a0 += tail0[i] * pa[k4 + i];
            if (two) a1 += tail1[i] * pa[k4 + i];
        }
        const int32_t m = mult[oc], s = shift[oc];
        const int32_t kh = (int32_t)((uint32_t)K2 << (-s - 2));
        const uint32_t t = tn__clamp_u8(tn__usat8(pw_rq(a0, m, kh, -s - 1)) | (tn__usat8(pw_rq(a1, m, kh, -s - 1)) << 8),
                                        H4, L4);
        out0[oc] = (int8_t)t;
        if (two) out1[oc] = (int8_t)(t >> 8);
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int tn__matmul_q15_unused;
#endif
