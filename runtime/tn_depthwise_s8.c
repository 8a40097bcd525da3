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
 * plus one plane of scratch).
 *
 * Scratch (tn_depthwise_scratch_bytes_k): a PADDED plane,
 *     (h_in + 2*(kh/2)) * (w_in + 2*(kw/2)) + TN_DW_SLACK bytes  (TN_DW_SLACK = 4).
 * The DSP path lays the plane out as (h_in + pad_top + pad_bottom) rows of
 * (w_in + pad_left + pad_right) bytes, fills it once with the input zero point
 * and copies each channel into its interior, so every output window lies
 * inside the plane: no border cases. The 4 slack bytes absorb the 4-byte reads
 * of the last row (bytes read past a window always meet zero weights).
 *
 * DSP path (kh, kw <= 8, every pad <= k/2 on its axis): sum (x + off) * w =
 * sum x * w + off * sum w (the padding holds x = zp, i.e. x + off = 0, so the
 * correction is one constant per channel); sum x * w is done with SMLAD on
 * plane rows read four bytes at a time; the weights of a kernel row are packed
 * in groups of four taps as (w0, w2) and (w1, w3) halfword pairs matching
 * SXTB16 / SXTB16 ROR #8 of the input word. With stride_w 1 and kw in
 * {3, 5, 7} two horizontally adjacent outputs share every input word (the
 * right window uses (x1, x3) against (w0, w2) and (x0, x2) against (w_-1, w1)).
 * Other shapes (a pad > k/2, k > 8) and the portable build use a clipped
 * scalar loop on an unpadded h_in*w_in plane (which the scratch also covers).
 */
#include "tn_internal.h"

#define TN_DW_SLACK 4

size_t tn_depthwise_scratch_bytes(int32_t h_in, int32_t w_in)
{
    if (h_in <= 0 || w_in <= 0) return 0;
    return (size_t)h_in * (size_t)w_in;
}

size_t tn_depthwise_scratch_bytes_k(int32_t h_in, int32_t w_in, int32_t kh, int32_t kw)
{
    if (h_in <= 0 || w_in <= 0 || kh <= 0 || kw <= 0) return 0;
    return (size_t)(h_in + 2 * (kh / 2)) * (size_t)(w_in + 2 * (kw / 2)) + TN_DW_SLACK;
}

/* Requantisation of one channel: fast path when allowed (see tn_internal.h). */
typedef struct {
    int32_t m, s, kh, sh, zp, lo, hi, fast;
    int32_t kh2;      /* DSP fast path: tn__rq_kh(s, zp - lo) */
    uint32_t H4, L4;  /* tn__rep8(hi - lo), tn__rep8(lo) */
} dw_rq_t;

TN_INLINE int8_t dw_requant(int32_t acc, const dw_rq_t *q, const int FAST)
{
    if (FAST) return tn__clamp8(tn__rq_fast(acc, q->m, q->kh, q->sh), q->lo, q->hi);
    return tn__requant(acc, q->m, q->s, q->zp, q->lo, q->hi);
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

TN_INLINE int32_t dw_pk(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

/* Packed weights of one channel: per kernel row ky and group g of four taps,
 * w[ky][3g] = (w0, w2), w[ky][3g+1] = (w1, w3), w[ky][3g+2] = (w_-1, w1)
 * (taps relative to 4g, 0 outside [0, KW)). Returns the sum of all weights. */
TN_INLINE int32_t dw_pack(const int8_t *wc, int32_t C, const int KH, const int KW, int32_t (*w)[6])
{
    const int G = (KW + 3) / 4;
    int32_t sum = 0;
    TN_UNROLL
    for (int ky = 0; ky < KH; ++ky) {
        int32_t t[4 * 2 + 1]; /* t[j + 1] = tap j, t[0] = tap -1 = 0 */
        t[0] = 0;
        TN_UNROLL
        for (int j = 0; j < 4 * G; ++j) {
            const int32_t v = j < KW ? wc[((size_t)ky * KW + j) * C] : 0;
            t[j + 1] = v;
            sum += v;
        }
        TN_UNROLL
        for (int g = 0; g < G; ++g) {
            const int32_t *q = t + 1 + 4 * g;
            w[ky][3 * g] = dw_pk(q[0], q[2]);
            w[ky][3 * g + 1] = dw_pk(q[1], q[3]);
            w[ky][3 * g + 2] = dw_pk(q[-1], q[1]);
        }
    }
    return sum;
}

/* Every output of one channel from the padded plane (row pitch wp). KH, KW,
 * SW and PAIR are compile-time constants at the specialised call sites; SW = 0
 * means "stride sw given at run time". PAIR (stride 1, KW in {3, 5, 7}): two
 * adjacent outputs per step. FAST: tn__rq_fast + SIMD clamp (q->kh2 holds
 * the constant for the zero point zp - lo, see tn__clamp_u8). */
TN_INLINE void dw_plane(const int8_t *plane, int32_t wp, int32_t h_out, int32_t w_out, int32_t row_step,
                        int32_t sw_rt, int32_t (*wk)[6], const int KH, const int KW, const int SW, const int PAIR,
                        int32_t base, const dw_rq_t *q, const int FAST, int8_t *out, int32_t C)
{
    const int G = (KW + 3) / 4;
    const int32_t sw = SW ? SW : sw_rt;
    const int32_t out_row = w_out * C;
    /* Locals: int8 stores cannot alias them, so they stay in registers/spills. */
    int32_t w[TN_DW_MAX_K][6];
    for (int ky = 0; ky < KH; ++ky)
        for (int i = 0; i < 6; ++i) w[ky][i] = wk[ky][i];
    const int32_t m = q->m, kh2 = q->kh2, sh = q->sh;
    const uint32_t H4 = q->H4, L4 = q->L4;
    const dw_rq_t qq = *q;
    for (int32_t oy = 0; oy < h_out; ++oy, plane += row_step, out += out_row) {
        const int8_t *row = plane;
        int8_t *o = out;
        int32_t n = w_out;
        if (PAIR) {
            for (; n >= 2; n -= 2, row += 2, o += 2 * C) {
                int32_t a = base, b = base;
                const int8_t *r = row;
                TN_UNROLL
                for (int ky = 0; ky < KH; ++ky, r += wp) {
                    TN_UNROLL
                    for (int g = 0; g < G; ++g) {
                        const int32_t x = tn__read_s8x4(r + 4 * g);
                        const int32_t x02 = tn__sxtb16(x), x13 = tn__sxtb16_ror8(x);
                        a = tn__smlad(w[ky][3 * g], x02, a);
                        if (4 * g + 1 < KW) a = tn__smlad(w[ky][3 * g + 1], x13, a);
                        b = tn__smlad(w[ky][3 * g], x13, b);
                        if (KW == 3) /* (w_-1, w1) = swapped (w1, w3 = 0) */
                            b = tn__smladx(x02, w[ky][1], b);
                        else if ((g >= 1 && 4 * g - 1 < KW) || 4 * g + 1 < KW)
                            b = tn__smlad(w[ky][3 * g + 2], x02, b);
                    }
                }
                if (FAST) {
                    const uint32_t t = tn__clamp_u8(
                        tn__usat8(tn__rq_fast(a, m, kh2, sh)) | (tn__usat8(tn__rq_fast(b, m, kh2, sh)) << 8), H4, L4);
                    o[0] = (int8_t)t;
                    o[C] = (int8_t)(t >> 8);
                } else {
                    o[0] = dw_requant(a, &qq, 0);
                    o[C] = dw_requant(b, &qq, 0);
                }
            }
        }
        for (; n > 0; --n, row += sw, o += C) {
            int32_t a = base;
            const int8_t *r = row;
            TN_UNROLL
            for (int ky = 0; ky < KH; ++ky, r += wp) {
                TN_UNROLL
                for (int g = 0; g < G; ++g) {
                    const int32_t x = tn__read_s8x4(r + 4 * g);
                    a = tn__smlad(w[ky][3 * g], tn__sxtb16(x), a);
                    if (4 * g + 1 < KW) a = tn__smlad(w[ky][3 * g + 1], tn__sxtb16_ror8(x), a);
                }
            }
            if (FAST)
                *o = (int8_t)tn__clamp_u8(tn__usat8(tn__rq_fast(a, m, kh2, sh)), H4, L4);
            else
                *o = dw_requant(a, &qq, 0);
        }
    }
}

/* Kernel classes with a specialised instance. */
enum { DW_K3S1, DW_K5S1, DW_K7S1, DW_K3S2, DW_K5S2, DW_K7S2, DW_G4, DW_G8 };

static int dw_padded(const tn_conv_params_t *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                     int8_t *output, int8_t *plane)
{
    const int32_t C = p->c_in, off = -p->input_zero_point;
    const int32_t wp = p->w_in + p->pad_left + p->pad_right, hp = p->h_in + p->pad_top + p->pad_bottom;
    const int32_t row_step = p->stride_h * wp;
    const int32_t k = p->kh, sw = p->stride_w;
    int kind = p->kw <= 4 ? DW_G4 : DW_G8;
    if (p->kh == p->kw && (sw == 1 || sw == 2) && (k == 3 || k == 5 || k == 7))
        kind = (k == 3 ? DW_K3S1 : k == 5 ? DW_K5S1 : DW_K7S1) + (sw == 2 ? 3 : 0);
    /* Padding = zero point, once; the interiors are rewritten per channel. */
    memset(plane, (int)(int8_t)p->input_zero_point, (size_t)hp * wp + TN_DW_SLACK);
    int8_t *interior = plane + (size_t)p->pad_top * wp + p->pad_left;
    dw_rq_t q;
    q.zp = p->output_zero_point;
    q.lo = p->act_min;
    q.hi = p->act_max;
    q.H4 = tn__rep8(q.hi - q.lo);
    q.L4 = tn__rep8(q.lo);
    for (int32_t c = 0; c < C; ++c) {
        /* 1. Save input channel c (must precede any write of output channel c). */
        {
            const int8_t *src = input + c;
            int8_t *dst = interior;
            for (int32_t y = 0; y < p->h_in; ++y, dst += wp) {
                int32_t i = 0;
                for (; i + 4 <= p->w_in; i += 4, src += 4 * (size_t)C) {
                    const uint32_t v = (uint32_t)(uint8_t)src[0] | ((uint32_t)(uint8_t)src[C] << 8) |
                                       ((uint32_t)(uint8_t)src[2 * C] << 16) |
                                       ((uint32_t)(uint8_t)src[3 * C] << 24);
                    memcpy(dst + i, &v, 4);
                }
                for (; i < p->w_in; ++i, src += C) dst[i] = *src;
            }
        }
        q.m = p->out_multiplier[c];
        q.s = p->out_shift[c];
        q.fast = tn__rq_fast_ok(q.m, q.s);
        if (q.fast) {
            q.kh = tn__rq_kh(q.s, q.zp);
            q.kh2 = tn__rq_kh(q.s, q.zp - q.lo);
            q.sh = -q.s - 1;
        }
        int32_t w[TN_DW_MAX_K][6];
        const int8_t *wc = weights + c;
        const int32_t b = bias ? bias[c] : 0;
        int8_t *out_c = output + c;
#define TN_DW_CASE(KIND, K, S, PAIR)                                                                          \
    case KIND: {                                                                                              \
        const int32_t base = b + off * dw_pack(wc, C, K, K, w);                                               \
        if (q.fast)                                                                                           \
            dw_plane(plane, wp, p->h_out, p->w_out, row_step, sw, w, K, K, S, PAIR, base, &q, 1, out_c, C);   \
        else                                                                                                  \
            dw_plane(plane, wp, p->h_out, p->w_out, row_step, sw, w, K, K, S, PAIR, base, &q, 0, out_c, C);   \
        break;                                                                                                \
    }
        switch (kind) {
            TN_DW_CASE(DW_K3S1, 3, 1, 1)
            TN_DW_CASE(DW_K5S1, 5, 1, 1)
            TN_DW_CASE(DW_K7S1, 7, 1, 1)
            TN_DW_CASE(DW_K3S2, 3, 2, 0)
            TN_DW_CASE(DW_K5S2, 5, 2, 0)
            TN_DW_CASE(DW_K7S2, 7, 2, 0)
        default: {
            /* Any kh, kw <= 8: taps past kw are 0 (up to 8), kh rows. */
            int32_t sum = 0;
            for (int32_t ky = 0; ky < p->kh; ++ky) {
                int32_t t[8];
                for (int32_t j = 0; j < 8; ++j) {
                    t[j] = j < p->kw ? wc[((size_t)ky * p->kw + j) * C] : 0;
                    sum += t[j];
                }
                w[ky][0] = dw_pk(t[0], t[2]);
                w[ky][1] = dw_pk(t[1], t[3]);
                w[ky][3] = dw_pk(t[4], t[6]);
                w[ky][4] = dw_pk(t[5], t[7]);
            }
            const int32_t base = b + off * sum;
            for (int32_t oy = 0; oy < p->h_out; ++oy) {
                const int8_t *row = plane + (size_t)oy * row_step;
                int8_t *o = out_c + (size_t)oy * p->w_out * C;
                for (int32_t ox = 0; ox < p->w_out; ++ox, row += sw, o += C) {
                    int32_t acc = base;
                    const int8_t *r = row;
                    for (int32_t ky = 0; ky < p->kh; ++ky, r += wp) {
                        const int32_t x0 = tn__read_s8x4(r);
                        acc = tn__smlad(w[ky][0], tn__sxtb16(x0), acc);
                        acc = tn__smlad(w[ky][1], tn__sxtb16_ror8(x0), acc);
                        if (kind == DW_G8) {
                            const int32_t x1 = tn__read_s8x4(r + 4);
                            acc = tn__smlad(w[ky][3], tn__sxtb16(x1), acc);
                            acc = tn__smlad(w[ky][4], tn__sxtb16_ror8(x1), acc);
                        }
                    }
                    *o = dw_requant(acc, &q, 0);
                }
            }
            break;
        }
        }
#undef TN_DW_CASE
    }
    return TN_OK;
}
#endif

TN_INLINE void dw_copy_plane(const int8_t *input, int32_t C, int32_t c, int32_t hw, int8_t *plane)
{
    const int8_t *src = input + c;
    int32_t i = 0;
    for (; i + 4 <= hw; i += 4, src += 4 * (size_t)C) {
        const uint32_t v = (uint32_t)(uint8_t)src[0] | ((uint32_t)(uint8_t)src[C] << 8) |
                           ((uint32_t)(uint8_t)src[2 * C] << 16) | ((uint32_t)(uint8_t)src[3 * C] << 24);
        memcpy(plane + i, &v, 4);
    }
    for (; i < hw; ++i, src += C) plane[i] = *src;
}

int tn_depthwise_s8(const tn_conv_params_t *p, const int8_t *input, const int8_t *weights,
                    const int32_t *bias, int8_t *output, int8_t *scratch)
{
    int rc = tn__check_conv_params(p);
    if (rc != TN_OK) return rc;
    if (p->c_out != p->c_in) return TN_ERR_SHAPE;
    if (!input || !weights || !output || !scratch) return TN_ERR_ARG;

#if TN_USE_DSP
    if (p->kh <= TN_DW_MAX_K && p->kw <= TN_DW_MAX_K && p->pad_top <= p->kh / 2 && p->pad_bottom <= p->kh / 2 &&
        p->pad_left <= p->kw / 2 && p->pad_right <= p->kw / 2)
        return dw_padded(p, input, weights, bias, output, scratch);
#endif

    /* Portable path (and pads > k/2 / k > 8 on the DSP build): an unpadded
     * plane per channel, every output pixel with its window clipped. */
    const int32_t C = p->c_in;
    const int32_t hw_in = p->h_in * p->w_in;
    for (int32_t c = 0; c < C; ++c) {
        dw_copy_plane(input, C, c, hw_in, scratch);
        const int32_t b = bias ? bias[c] : 0;
        const int32_t m = p->out_multiplier[c], s = p->out_shift[c];
        for (int32_t oy = 0; oy < p->h_out; ++oy) {
            int8_t *out = output + (size_t)oy * p->w_out * C + c;
            for (int32_t ox = 0; ox < p->w_out; ++ox, out += C)
                *out = tn__requant(b + dw_pixel_clipped(p, scratch, weights, c, oy, ox), m, s, p->output_zero_point,
                                   p->act_min, p->act_max);
        }
    }
    return TN_OK;
}
