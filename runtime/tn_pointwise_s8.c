/*
 * tinynas runtime: 1 x 1 (pointwise) convolution, int8.
 *
 *   out[oy][ox][oc] = requant_oc( bias[oc] + sum_ic (in[oy*s][ox*s][ic] - zp_in) * w[oc][ic] )
 *
 * No padding (a 1 x 1 kernel never needs it). Stride s >= 1: a strided
 * pointwise just samples every s-th input pixel.
 */
#include "tn_matmul_q15.h"

size_t tn_pointwise_scratch_bytes(int32_t c_in)
{
    if (c_in <= 0) return 0;
    return 2u * (size_t)c_in * sizeof(int16_t);
}

/* The q15 copies of two input pixels; the portable build uses none. */
size_t tn_pointwise_s8_scratch_bytes(const tn_conv_params_t *p) { return p ? tn_pointwise_scratch_bytes(p->c_in) : 0; }

#if TN_USE_DSP
/* Fast pointwise (tn__il_ok): the q15 copies of two pixels are INTERLEAVED in
 * the scratch, per group of four input channels
 *   [(x0,x2) (x1,x3)]_pixel0 [(x0,x2) (x1,x3)]_pixel1     (4 words)
 * followed by the k % 4 tail elements of pixel 0, then of pixel 1, so the inner
 * loop walks one pointer; every value is DOUBLED, 2 * (x + off), which two
 * SXTAB16 give for the price of the old SXTB16 + SADD16 (off4 = (2 off, 2 off)):
 * the kernel's accumulators are then 2x and its requantisation 3 instructions
 * (tn__rq2). Two output channels x two pixels per step; the four results are
 * clamped together with tn__clamp_u8 and stored as two halfwords. */
/* Both pixels of a pair at once (same layout as two tn__il_put calls). On Arm
 * the groups of four are tn__pw_put2_asm (LDR x2, SXTAB16 x8, STM: 13
 * instructions per group; GCC went through a stack copy, ~25). */
#if TN_PW_ASM
void tn__pw_put2_asm(int16_t *col, const int8_t *x0, const int8_t *x1, int32_t groups, int32_t off4);
__asm__(
    "    .text\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .p2align 2\n"
    "    .global tn__pw_put2_asm\n"
    "    .thumb_func\n"
    "    .type tn__pw_put2_asm, %function\n"
    "tn__pw_put2_asm:\n\t"          /* r0 col, r1 x0, r2 x1, r3 groups >= 1, [sp] off4 */
    "push     {r4, r5, r6, r7, r8, r9, lr}\n\t"
    "ldr      r12, [sp, #28]\n"
    ".Ltn_pw_put2:\n\t"
    "ldr      r4, [r1], #4\n\t"
    "ldr      r5, [r2], #4\n\t"
    "sxtab16  r6, r12, r4\n\t"
    "sxtab16  r6, r6, r4\n\t"
    "sxtab16  r7, r12, r4, ror #8\n\t"
    "sxtab16  r7, r7, r4, ror #8\n\t"
    "sxtab16  r8, r12, r5\n\t"
    "sxtab16  r8, r8, r5\n\t"
    "sxtab16  r9, r12, r5, ror #8\n\t"
    "sxtab16  r9, r9, r5, ror #8\n\t"
    "stm      r0!, {r6, r7, r8, r9}\n\t"
    "subs     r3, r3, #1\n\t"
    "bne      .Ltn_pw_put2\n\t"
    "pop      {r4, r5, r6, r7, r8, r9, pc}\n\t"
    ".size tn__pw_put2_asm, .-tn__pw_put2_asm\n");
#endif
TN_INLINE void pw_put2(int16_t *col, const int8_t *x0, const int8_t *x1, int32_t k, int32_t k4, int32_t off,
                       int32_t off4)
{
    int16_t *c = col;
#if TN_PW_ASM
    if (k4) tn__pw_put2_asm(c, x0, x1, k4 >> 2, off4);
#else
    for (int32_t i = 0; i < k4; i += 4, c += 8) {
        const int32_t w0 = tn__read_s8x4(x0 + i), w1 = tn__read_s8x4(x1 + i);
        int32_t v[4];
        v[0] = tn__sxtab16(tn__sxtab16(off4, w0), w0);
        v[1] = tn__sxtab16_ror8(tn__sxtab16_ror8(off4, w0), w0);
        v[2] = tn__sxtab16(tn__sxtab16(off4, w1), w1);
        v[3] = tn__sxtab16_ror8(tn__sxtab16_ror8(off4, w1), w1);
        memcpy(c, v, 16);
    }
#endif
    int16_t *t = col + 2 * k4;
    for (int32_t i = k4; i < k; ++i) {
        t[i - k4] = (int16_t)(2 * (x0[i] + off));
        t[k - k4 + i - k4] = (int16_t)(2 * (x1[i] + off));
    }
}

#endif

/* Input pixel of output pixel px, walked in raster order without divisions. */
typedef struct {
    const int8_t *row, *cur;
    int32_t ox, w_out, step, row_step;
} pw_iter_t;
TN_INLINE const int8_t *pw_next(pw_iter_t *it)
{
    const int8_t *r = it->cur;
    if (++it->ox == it->w_out) {
        it->ox = 0;
        it->row += it->row_step;
        it->cur = it->row;
    } else {
        it->cur += it->step;
    }
    return r;
}

int tn_pointwise_s8(const tn_conv_params_t *p, const int8_t *input, const int8_t *weights,
                    const int32_t *bias, int8_t *output, int16_t *scratch)
{
    int rc = tn__check_conv_params(p);
    if (rc != TN_OK) return rc;
    if (p->kh != 1 || p->kw != 1 || p->pad_top || p->pad_left || p->pad_bottom || p->pad_right)
        return TN_ERR_ARG;
    if (!input || !weights || !output || tn__scratch_misaligned(scratch)) return TN_ERR_ARG;

    const int32_t n_pix = p->h_out * p->w_out;
    const int32_t c_in = p->c_in;
#define TN_PW_PIXEL(px) \
    (input + ((size_t)((px) / p->w_out) * p->stride_h * p->w_in + (size_t)((px) % p->w_out) * p->stride_w) * c_in)

#if TN_USE_DSP
    /* q15 copies of two input pixels (offset added), then the 2x2 SMLAD kernel. */
    if (!scratch) return TN_ERR_ARG;
    {
        const int32_t off = -p->input_zero_point, k4 = c_in & ~3;
        if (tn__il_ok(p->out_multiplier, p->out_shift, bias, p->c_out, c_in)) {
            const int32_t off4 = (int32_t)(((uint32_t)(2 * off) & 0xFFFFu) | ((uint32_t)(2 * off) << 16));
            const int32_t K2 = 1 + 2 * (p->output_zero_point - p->act_min);
            const uint32_t H4 = tn__rep8(p->act_max - p->act_min), L4 = tn__rep8(p->act_min);
            pw_iter_t it;
            it.row = it.cur = input;
            it.ox = 0;
            it.w_out = p->w_out;
            it.step = p->stride_w * c_in;
            it.row_step = p->stride_h * p->w_in * c_in;
            tn__il_t L;
            tn__il_init(&L, weights, bias, p->c_out, c_in, scratch, p->out_multiplier, p->out_shift, K2, H4, L4);
            int32_t px = 0;
            for (; px + 2 <= n_pix; px += 2) {
                const int8_t *x0 = pw_next(&it), *x1 = pw_next(&it);
                pw_put2(scratch, x0, x1, c_in, k4, off, off4);
                tn__il_run(&L, 1, output + (size_t)px * p->c_out, output + (size_t)(px + 1) * p->c_out);
            }
            if (px < n_pix) {
                tn__il_put(scratch, TN_PW_PIXEL(px), c_in, off, 0);
                tn__il_run(&L, 0, output + (size_t)px * p->c_out, output + (size_t)px * p->c_out);
            }
            return TN_OK;
        }
        const int fast = tn__rq_all_fast(p->out_multiplier, p->out_shift, p->c_out);
        int16_t *col0 = scratch, *col1 = scratch + c_in;
        int32_t px = 0;
        for (; px + 2 <= n_pix; px += 2) {
            tn__im2col_put(col0, k4, 0, TN_PW_PIXEL(px), c_in, off);
            tn__im2col_put(col1, k4, 0, TN_PW_PIXEL(px + 1), c_in, off);
            tn__mat_mult_q15(weights, bias, p->c_out, c_in, col0, col1, p,
                             output + (size_t)px * p->c_out, output + (size_t)(px + 1) * p->c_out, fast);
        }
        if (px < n_pix) {
            tn__im2col_put(col0, k4, 0, TN_PW_PIXEL(px), c_in, off);
            tn__mat_mult_q15(weights, bias, p->c_out, c_in, col0, NULL, p,
                             output + (size_t)px * p->c_out, NULL, fast);
        }
    }
#else
    (void)scratch;
    {
        const int32_t off = -p->input_zero_point;
        for (int32_t px = 0; px < n_pix; ++px) {
            const int8_t *x = TN_PW_PIXEL(px);
            int8_t *out = output + (size_t)px * p->c_out;
            for (int32_t oc = 0; oc < p->c_out; ++oc) {
                const int8_t *w = weights + (size_t)oc * c_in;
                int32_t acc = bias ? bias[oc] : 0;
                for (int32_t ic = 0; ic < c_in; ++ic) acc += (x[ic] + off) * w[ic];
                out[oc] = tn__requant(acc, p->out_multiplier[oc], p->out_shift[oc],
                                      p->output_zero_point, p->act_min, p->act_max);
            }
        }
    }
#endif
#undef TN_PW_PIXEL
    return TN_OK;
}
