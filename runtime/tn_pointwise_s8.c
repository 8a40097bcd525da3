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

int tn_pointwise_s8(const tn_conv_params_t *p, const int8_t *input, const int8_t *weights,
                    const int32_t *bias, int8_t *output, int16_t *scratch)
{
    int rc = tn__check_conv_params(p);
    if (rc != TN_OK) return rc;
    if (p->kh != 1 || p->kw != 1 || p->pad_top || p->pad_left || p->pad_bottom || p->pad_right)
        return TN_ERR_ARG;
    if (!input || !weights || !output) return TN_ERR_ARG;

    const int32_t n_pix = p->h_out * p->w_out;
    const int32_t c_in = p->c_in;
#define TN_PW_PIXEL(px) \
    (input + ((size_t)((px) / p->w_out) * p->stride_h * p->w_in + (size_t)((px) % p->w_out) * p->stride_w) * c_in)

#if TN_USE_DSP
    /* q15 copies of two input pixels (offset added), then the 2x2 SMLAD kernel. */
    if (!scratch) return TN_ERR_ARG;
    {
        const int32_t off = -p->input_zero_point, k4 = c_in & ~3;
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
