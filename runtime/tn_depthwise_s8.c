/*
 * tinynas runtime: depthwise k x k convolution, int8, channel multiplier 1,
 * optionally IN PLACE (output == input).
 *
 *   out[oy][ox][c] = requant_c( bias[c] + sum_{ky,kx} (in[iy][ix][c] - zp_in) * w[ky][kx][c] )
 *   iy = oy*stride_h - pad_top + ky,  ix = ox*stride_w - pad_left + kx
 *
 * Channel by channel: channel c of the input (h_in*w_in bytes, strided by C in
 * HWC) is first copied into the scratch plane, then channel c of the output
 * is computed from the plane. Output element (p, c) sits at p*C + c and every
 * write goes to a channel-c slot, whose input value is already in the plane,
 * so with output == input only already-consumed bytes are overwritten
 * (MCUNet/TinyEngine's in-place depthwise: the arena needs one tensor, not two,
 * plus h_in*w_in bytes of scratch).
 */
#include "tn_internal.h"

size_t tn_depthwise_scratch_bytes(int32_t h_in, int32_t w_in)
{
    if (h_in <= 0 || w_in <= 0) return 0;
    return (size_t)h_in * (size_t)w_in;
}

/* Accumulator of one output pixel of channel c, window clipped to the input. */
TN_INLINE int32_t dw_pixel_clipped(const tn_conv_params_t *p, const int8_t *plane,
                                   const int8_t *weights, int32_t c, int32_t oy, int32_t ox)
{
    const int32_t C = p->c_in, off = -p->input_zero_point;
    const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
    const int32_t ky_lo = iy0 < 0 ? -iy0 : 0;
    const int32_t ky_hi = p->h_in - iy0 < p->kh ? p->h_in - iy0 : p->kh;
    const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
    const int32_t kx_hi = p->w_in - ix0 < p->kw ? p->w_in - ix0 : p->kw;
    int32_t acc = 0;
    for (int32_t ky = ky_lo; ky < ky_hi; ++ky) {
        const int8_t *row = plane + (size_t)(iy0 + ky) * p->w_in + ix0;
        const int8_t *w = weights + (size_t)ky * p->kw * C + c;
        for (int32_t kx = kx_lo; kx < kx_hi; ++kx) acc += (row[kx] + off) * w[(size_t)kx * C];
    }
    return acc;
}

#if TN_USE_DSP
#define TN_DW_MAX_K 8 /* packed fast path for kh, kw <= 8 (covers 3, 5, 7) */
#if defined(__GNUC__) && !defined(__clang__)
#define TN_UNROLL _Pragma("GCC unroll 8")
#else
#define TN_UNROLL
#endif

/* One run of n interior output pixels of one channel (whole window inside
 * the input, every 4-byte read inside the plane). KH and G (groups of four
 * taps per kernel row) are compile-time constants at each call site, so the
 * loops unroll and the packed weights stay in registers. */
TN_INLINE void dw_interior_run(const int8_t *row, int32_t n, int32_t step, int32_t w_in,
                               int32_t (*w02)[2], int32_t (*w13)[2], const int KH,
                               const int G, int32_t base_acc, int32_t m, int32_t s, int32_t zp,
                               int32_t lo, int32_t hi, int8_t *out, int32_t out_step)
{
    int32_t a02[TN_DW_MAX_K][2], a13[TN_DW_MAX_K][2];
    TN_UNROLL
    for (int ky = 0; ky < KH; ++ky)
        TN_UNROLL
        for (int g = 0; g < G; ++g) {
            a02[ky][g] = w02[ky][g];
            a13[ky][g] = w13[ky][g];
        }
    for (int32_t i = 0; i < n; ++i, row += step, out += out_step) {
        int32_t acc = base_acc;
        const int8_t *r = row;
        TN_UNROLL
        for (int ky = 0; ky < KH; ++ky, r += w_in) {
            TN_UNROLL
            for (int g = 0; g < G; ++g) {
                const int32_t x = tn__read_s8x4(r + 4 * g);
                acc = tn__smlad(a02[ky][g], tn__sxtb16(x), acc);
                acc = tn__smlad(a13[ky][g], tn__sxtb16_ror8(x), acc);
            }
        }
        *out = tn__requant(acc, m, s, zp, lo, hi);
    }
}
#endif

int tn_depthwise_s8(const tn_conv_params_t *p, const int8_t *input, const int8_t *weights,
                    const int32_t *bias, int8_t *output, int8_t *scratch)
{
    int rc = tn__check_conv_params(p);
    if (rc != TN_OK) return rc;
    if (p->c_out != p->c_in) return TN_ERR_SHAPE;
    if (!input || !weights || !output || !scratch) return TN_ERR_ARG;

    const int32_t C = p->c_in;
    const int32_t hw_in = p->h_in * p->w_in;
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;

    for (int32_t c = 0; c < C; ++c) {
        /* 1. Save input channel c (must precede any write of output channel c). */
        for (int32_t i = 0; i < hw_in; ++i) scratch[i] = input[(size_t)i * C + c];

        const int32_t b = bias ? bias[c] : 0;
        const int32_t m = p->out_multiplier[c], s = p->out_shift[c];
#if TN_USE_DSP
        if (p->kh <= TN_DW_MAX_K && p->kw <= TN_DW_MAX_K) {
            /* Interior pixels (whole window inside the input): sum (x + off) * w =
             * sum x * w + off * sum w, and sum x * w is done with SMLAD on rows
             * read four bytes at a time. Weights of each kernel row are packed in
             * groups of four taps as (w0, w2) and (w1, w3) halfword pairs to match
             * SXTB16 / SXTB16 ROR #8 of the input word; taps past kw are 0, so
             * the extra bytes read (still inside the plane, checked) add 0. */
            const int32_t groups = (p->kw + 3) / 4;
            int32_t w02[TN_DW_MAX_K][2], w13[TN_DW_MAX_K][2];
            int32_t wsum = 0;
            for (int32_t ky = 0; ky < p->kh; ++ky) {
                for (int32_t g = 0; g < groups; ++g) {
                    int32_t t[4];
                    for (int32_t q = 0; q < 4; ++q) {
                        const int32_t kx = 4 * g + q;
                        t[q] = kx < p->kw ? weights[((size_t)ky * p->kw + kx) * C + c] : 0;
                        wsum += t[q];
                    }
                    w02[ky][g] = (int32_t)(((uint32_t)t[0] & 0xFFFFu) | ((uint32_t)t[2] << 16));
                    w13[ky][g] = (int32_t)(((uint32_t)t[1] & 0xFFFFu) | ((uint32_t)t[3] << 16));
                }
            }
            const int32_t base_acc = b + (-p->input_zero_point) * wsum;
            /* Bytes a window reads from its top-left corner (the last row reads
             * up to 4*groups bytes, past kw but still inside the plane). */
            const int32_t read_span = (p->kh - 1) * p->w_in + 4 * groups;
            /* Output columns whose window is inside the input: ix0 >= 0 and
             * ix0 + kw <= w_in. */
            int32_t ox_a = (p->pad_left + p->stride_w - 1) / p->stride_w;
            if (ox_a > p->w_out) ox_a = p->w_out; /* narrow maps: every column is a border */
            const int32_t last_ix = p->w_in - p->kw + p->pad_left; /* C division truncates: guard < 0 */
            int32_t ox_b = last_ix < 0 ? 0 : last_ix / p->stride_w + 1;
            if (ox_b > p->w_out) ox_b = p->w_out;
            for (int32_t oy = 0; oy < p->h_out; ++oy) {
                const int32_t iy0 = oy * p->stride_h - p->pad_top;
                int8_t *out_row = output + (size_t)oy * p->w_out * C + c;
                int32_t fa = ox_a, fb = ox_b; /* fast columns [fa, fb) of this row */
                if (iy0 < 0 || iy0 + p->kh > p->h_in) {
                    fa = fb = 0;
                } else {
                    /* Keep the over-read inside the plane: ix0 + read_span <= hw_in - iy0*w_in. */
                    const int32_t max_ix0 = hw_in - iy0 * p->w_in - read_span;
                    const int32_t t = max_ix0 + p->pad_left;
                    const int32_t lim = t < 0 ? 0 : t / p->stride_w + 1;
                    if (fb > lim) fb = lim;
                    if (fb < fa) fb = fa;
                }
                for (int32_t ox = 0; ox < fa; ++ox)
                    out_row[(size_t)ox * C] =
                        tn__requant(b + dw_pixel_clipped(p, scratch, weights, c, oy, ox), m, s, zp, lo, hi);
                if (fb > fa) {
                    const int8_t *row = scratch + iy0 * p->w_in + (fa * p->stride_w - p->pad_left);
                    int8_t *o = out_row + (size_t)fa * C;
                    const int32_t n = fb - fa;
                    if (p->kh == 3 && groups == 1)
                        dw_interior_run(row, n, p->stride_w, p->w_in, w02, w13, 3, 1, base_acc, m, s, zp, lo, hi, o, C);
                    else if (p->kh == 5 && groups == 2)
                        dw_interior_run(row, n, p->stride_w, p->w_in, w02, w13, 5, 2, base_acc, m, s, zp, lo, hi, o, C);
                    else if (p->kh == 7 && groups == 2)
                        dw_interior_run(row, n, p->stride_w, p->w_in, w02, w13, 7, 2, base_acc, m, s, zp, lo, hi, o, C);
                    else
                        dw_interior_run(row, n, p->stride_w, p->w_in, w02, w13, p->kh, groups, base_acc, m, s,
                                        zp, lo, hi, o, C);
                }
                for (int32_t ox = fb; ox < p->w_out; ++ox)
                    out_row[(size_t)ox * C] =
                        tn__requant(b + dw_pixel_clipped(p, scratch, weights, c, oy, ox), m, s, zp, lo, hi);
            }
            continue;
        }
#endif
        /* 2. Portable path: every output pixel of channel c from the plane. */
        for (int32_t oy = 0; oy < p->h_out; ++oy) {
            int8_t *out = output + (size_t)oy * p->w_out * C + c;
            for (int32_t ox = 0; ox < p->w_out; ++ox, out += C)
                *out = tn__requant(b + dw_pixel_clipped(p, scratch, weights, c, oy, ox), m, s, zp, lo, hi);
        }
    }
    return TN_OK;
}
