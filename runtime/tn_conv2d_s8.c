/*
 * tinynas runtime: k x k convolution, int8 (groups = 1).
 *
 *   out[oy][ox][oc] = requant_oc( bias[oc] + sum_{ky,kx,ic} (in[iy][ix][ic] - zp_in) * w[oc][ky][kx][ic] )
 *   iy = oy*stride_h - pad_top + ky,  ix = ox*stride_w - pad_left + kx
 *
 * Taps that fall in the padding hold the input zero point, so they add
 * nothing: both paths simply skip (portable) or zero (im2col) them.
 */
#include "tn_matmul_q15.h"

size_t tn_conv2d_scratch_bytes_hw(int32_t kh, int32_t kw, int32_t c_in)
{
    if (kh <= 0 || kw <= 0 || c_in <= 0) return 0;
    return 2u * (size_t)kh * (size_t)kw * (size_t)c_in * sizeof(int16_t);
}

size_t tn_conv2d_scratch_bytes(int32_t k, int32_t c_in) { return tn_conv2d_scratch_bytes_hw(k, k, c_in); }

#if TN_USE_DSP
/* q15 im2col row of output pixel (oy, ox): [ky][kx][ic] order (= OHWI weights),
 * reordered in groups of four for SMLAD (see tn_matmul_q15.c). */
static void im2col_pixel(const tn_conv_params_t *p, const int8_t *input, int32_t oy, int32_t ox,
                         int16_t *col)
{
    const int32_t k = p->kh * p->kw * p->c_in, k4 = k & ~3;
    const int32_t off = -p->input_zero_point;
    const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
    int32_t j = 0;
    for (int32_t ky = 0; ky < p->kh; ++ky) {
        const int32_t iy = iy0 + ky;
        if (iy < 0 || iy >= p->h_in) {
            tn__im2col_zero(col, k4, j, p->kw * p->c_in);
            j += p->kw * p->c_in;
            continue;
        }
        for (int32_t kx = 0; kx < p->kw; ++kx, j += p->c_in) {
            const int32_t ix = ix0 + kx;
            if (ix < 0 || ix >= p->w_in)
                tn__im2col_zero(col, k4, j, p->c_in);
            else
                tn__im2col_put(col, k4, j, input + ((size_t)iy * p->w_in + ix) * p->c_in, p->c_in, off);
        }
    }
}

#define TN_CONV_C1_MAX_K 64 /* 2*64 slots < 256: fit the uint8 tables */

/* The same row into slot `which` of an interleaved pair (tn__mat_mult_q15_il),
 * every value doubled: 2 * (x + off) (padding taps 0). */
static void im2col_pixel_il(const tn_conv_params_t *p, const int8_t *input, int32_t oy, int32_t ox, int16_t *col,
                            int32_t which, const uint8_t *pos1)
{
    if (pos1) { /* c_in == 1: slot of tap j of pixel `which` precomputed */
        const int32_t off = -p->input_zero_point;
        const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
        if (p->kh == 3 && p->kw == 3 && iy0 >= 0 && iy0 + 3 <= p->h_in && ix0 >= 0 && ix0 + 3 <= p->w_in) {
            /* 3x3 window inside the input: the tn__il_pos slots of k = 9 spelt
             * out (taps 0..7: groups (0,2,1,3) of each pixel, tap 8: the tail). */
            const int8_t *x0 = input + (size_t)iy0 * p->w_in + ix0, *x1 = x0 + p->w_in, *x2 = x1 + p->w_in;
            int16_t *c = col + 4 * which;
            c[0] = (int16_t)(2 * (x0[0] + off));
            c[2] = (int16_t)(2 * (x0[1] + off));
            c[1] = (int16_t)(2 * (x0[2] + off));
            c[3] = (int16_t)(2 * (x1[0] + off));
            c[8] = (int16_t)(2 * (x1[1] + off));
            c[10] = (int16_t)(2 * (x1[2] + off));
            c[9] = (int16_t)(2 * (x2[0] + off));
            c[11] = (int16_t)(2 * (x2[1] + off));
            col[16 + which] = (int16_t)(2 * (x2[2] + off));
            return;
        }
        for (int32_t ky = 0; ky < p->kh; ++ky, pos1 += p->kw) {
            const int32_t iy = iy0 + ky;
            if (iy < 0 || iy >= p->h_in) {
                for (int32_t kx = 0; kx < p->kw; ++kx) col[pos1[kx]] = 0;
                continue;
            }
            const int8_t *x = input + (size_t)iy * p->w_in + ix0;
            if (ix0 >= 0 && ix0 + p->kw <= p->w_in) {
                for (int32_t kx = 0; kx < p->kw; ++kx) col[pos1[kx]] = (int16_t)(2 * (x[kx] + off));
            } else {
                for (int32_t kx = 0; kx < p->kw; ++kx) {
                    const int32_t ix = ix0 + kx;
                    col[pos1[kx]] = ix >= 0 && ix < p->w_in ? (int16_t)(2 * (x[kx] + off)) : 0;
                }
            }
        }
        return;
    }
    const int32_t C = p->c_in, k = p->kh * p->kw * C, k4 = k & ~3;
    const int32_t off = -p->input_zero_point;
    const int32_t off4 = (int32_t)(((uint32_t)(2 * off) & 0xFFFFu) | ((uint32_t)(2 * off) << 16));
    const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
    int32_t j = 0;
    for (int32_t ky = 0; ky < p->kh; ++ky) {
        const int32_t iy = iy0 + ky;
        const int row_in = iy >= 0 && iy < p->h_in;
        for (int32_t kx = 0; kx < p->kw; ++kx) {
            const int32_t ix = ix0 + kx;
            const int8_t *x = row_in && ix >= 0 && ix < p->w_in ? input + ((size_t)iy * p->w_in + ix) * C : NULL;
            int32_t i = 0;
            if ((C & 3) == 0) { /* whole groups of four: two words per group */
                for (; i < C; i += 4, j += 4) {
                    int32_t v02 = 0, v13 = 0;
                    if (x) {
                        const int32_t w = tn__read_s8x4(x + i);
                        v02 = tn__sxtab16(tn__sxtab16(off4, w), w);
                        v13 = tn__sxtab16_ror8(tn__sxtab16_ror8(off4, w), w);
                    }
                    int16_t *c = col + 8 * (j >> 2) + 4 * which;
                    memcpy(c, &v02, 4);
                    memcpy(c + 2, &v13, 4);
                }
            }
            for (; i < C; ++i, ++j) col[tn__il_pos(j, k, which)] = x ? (int16_t)(2 * (x[i] + off)) : 0;
        }
    }
    (void)k4;
}
#endif

int tn_conv2d_s8(const tn_conv_params_t *p, const int8_t *input, const int8_t *weights,
                 const int32_t *bias, int8_t *output, int16_t *scratch)
{
    int rc = tn__check_conv_params(p);
    if (rc != TN_OK) return rc;
    if (!input || !weights || !output || tn__scratch_misaligned(scratch)) return TN_ERR_ARG;

#if TN_USE_DSP
    /* Two output pixels at a time share every weight load (the scratch holds
     * their two im2col rows). Pixels are taken in raster order, so a pair may
     * straddle two output rows; that is fine since each has its own row. */
    if (!scratch) return TN_ERR_ARG;
    {
        const int32_t k = p->kh * p->kw * p->c_in;
        const int32_t n_pix = p->h_out * p->w_out;
        if (tn__il_ok(p->out_multiplier, p->out_shift, bias, p->c_out, k)) {
            const int32_t K2 = 1 + 2 * (p->output_zero_point - p->act_min);
            const uint32_t H4 = tn__rep8(p->act_max - p->act_min), L4 = tn__rep8(p->act_min);
            /* c_in == 1 (a first layer): tap -> slot tables for both pixels. */
            uint8_t pos[2][TN_CONV_C1_MAX_K];
            const uint8_t *pos0 = NULL, *pos1 = NULL;
            if (p->c_in == 1 && k <= TN_CONV_C1_MAX_K) {
                for (int32_t j = 0; j < k; ++j) {
                    pos[0][j] = (uint8_t)tn__il_pos(j, k, 0);
                    pos[1][j] = (uint8_t)tn__il_pos(j, k, 1);
                }
                pos0 = pos[0];
                pos1 = pos[1];
            }
            int32_t px = 0;
            for (; px + 2 <= n_pix; px += 2) {
                im2col_pixel_il(p, input, px / p->w_out, px % p->w_out, scratch, 0, pos0);
                im2col_pixel_il(p, input, (px + 1) / p->w_out, (px + 1) % p->w_out, scratch, 1, pos1);
                tn__mat_mult_q15_il(weights, bias, p->c_out, k, scratch, 1, p->out_multiplier, p->out_shift, K2, H4,
                                    L4, output + (size_t)px * p->c_out, output + (size_t)(px + 1) * p->c_out);
            }
            if (px < n_pix) {
                im2col_pixel_il(p, input, px / p->w_out, px % p->w_out, scratch, 0, pos0);
                tn__mat_mult_q15_il(weights, bias, p->c_out, k, scratch, 0, p->out_multiplier, p->out_shift, K2, H4,
                                    L4, output + (size_t)px * p->c_out, output + (size_t)px * p->c_out);
            }
            return TN_OK;
        }
        const int fast = tn__rq_all_fast(p->out_multiplier, p->out_shift, p->c_out);
        int16_t *col0 = scratch, *col1 = scratch + k;
        int32_t px = 0;
        for (; px + 2 <= n_pix; px += 2) {
            im2col_pixel(p, input, px / p->w_out, px % p->w_out, col0);
            im2col_pixel(p, input, (px + 1) / p->w_out, (px + 1) % p->w_out, col1);
            tn__mat_mult_q15(weights, bias, p->c_out, k, col0, col1, p,
                             output + (size_t)px * p->c_out, output + (size_t)(px + 1) * p->c_out, fast);
        }
        if (px < n_pix) {
            im2col_pixel(p, input, px / p->w_out, px % p->w_out, col0);
            tn__mat_mult_q15(weights, bias, p->c_out, k, col0, NULL, p,
                             output + (size_t)px * p->c_out, NULL, fast);
        }
    }
#else
    (void)scratch;
    {
        const int32_t off = -p->input_zero_point;
        for (int32_t oy = 0; oy < p->h_out; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            /* Clip the kernel window to the input instead of testing each tap. */
            const int32_t ky_lo = iy0 < 0 ? -iy0 : 0;
            const int32_t ky_hi = p->h_in - iy0 < p->kh ? p->h_in - iy0 : p->kh;
            for (int32_t ox = 0; ox < p->w_out; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
                const int32_t kx_hi = p->w_in - ix0 < p->kw ? p->w_in - ix0 : p->kw;
                int8_t *out = output + ((size_t)oy * p->w_out + ox) * p->c_out;
                for (int32_t oc = 0; oc < p->c_out; ++oc) {
                    int32_t acc = bias ? bias[oc] : 0;
                    for (int32_t ky = ky_lo; ky < ky_hi; ++ky) {
                        for (int32_t kx = kx_lo; kx < kx_hi; ++kx) {
                            const int8_t *x = input + ((size_t)(iy0 + ky) * p->w_in + (ix0 + kx)) * p->c_in;
                            const int8_t *w = weights + (((size_t)oc * p->kh + ky) * p->kw + kx) * p->c_in;
                            for (int32_t ic = 0; ic < p->c_in; ++ic) acc += (x[ic] + off) * w[ic];
                        }
                    }
                    out[oc] = tn__requant(acc, p->out_multiplier[oc], p->out_shift[oc],
                                          p->output_zero_point, p->act_min, p->act_max);
                }
            }
        }
    }
#endif
    return TN_OK;
}
