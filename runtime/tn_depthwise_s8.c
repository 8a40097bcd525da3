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
 *
 * DSP path (kh, kw <= 8): sum (x + off) * w = sum x * w + off * sum w, and
 * sum x * w is done with SMLAD on plane rows read four bytes at a time; the
 * weights of a kernel row are packed in groups of four taps as (w0, w2) and
 * (w1, w3) halfword pairs matching SXTB16 / SXTB16 ROR #8 of the input word.
 * The plane is not padded (its size is the scratch contract), so the output
 * is split into
 *  - interior columns x interior rows: whole window inside the plane; with
 *    stride_w 1 and kw in {3, 5, 7} two horizontally adjacent outputs share
 *    every input word (the right window uses (x1, x3) against (w0, w2) and
 *    (x0, x2) against (w_-1, w1));
 *  - interior columns x border rows: the same runs over the kernel rows that
 *    fall inside the plane only;
 *  - border columns: each border column gets its own packed weights, shifted
 *    so the read starts inside the row and with the taps that fall in the
 *    padding set to 0; it then runs down the interior rows;
 *  - the rest (corners, and windows whose 4-byte over-read would pass the end
 *    of the plane): a clipped scalar loop.
 * Zero-weight bytes that are read (past kw, or of the neighbouring row) are
 * always inside the plane and contribute 0.
 */
#include "tn_internal.h"

size_t tn_depthwise_scratch_bytes(int32_t h_in, int32_t w_in)
{
    if (h_in <= 0 || w_in <= 0) return 0;
    return (size_t)h_in * (size_t)w_in;
}

/* Requantisation of one channel: fast path when allowed (see tn_internal.h). */
typedef struct {
    int32_t m, s, kh, sh, zp, lo, hi, fast;
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

/* Packed weights of one channel for one column class: taps j of each kernel
 * row are w[ky][kx_lo + j] for j < n_taps, 0 beyond. */
typedef struct {
    int32_t w02[TN_DW_MAX_K][2], w13[TN_DW_MAX_K][2], wb02[TN_DW_MAX_K][2];
    int32_t rowsum[TN_DW_MAX_K];
} dw_pack_t;

static void dw_pack(const tn_conv_params_t *p, const int8_t *weights, int32_t c, int32_t kx_lo, int32_t n_taps,
                    dw_pack_t *pk)
{
    const int32_t C = p->c_in, groups = (p->kw + 3) / 4;
    for (int32_t ky = 0; ky < p->kh; ++ky) {
        int32_t t[4 * 2 + 1]; /* t[j + 1] = tap j, t[0] = tap -1 = 0 */
        int32_t sum = 0;
        t[0] = 0;
        for (int32_t j = 0; j < 4 * groups; ++j) {
            const int32_t v = j < n_taps ? weights[((size_t)ky * p->kw + kx_lo + j) * C + c] : 0;
            t[j + 1] = v;
            sum += v;
        }
        for (int32_t g = 0; g < groups; ++g) {
            const int32_t *q = t + 1 + 4 * g;
            pk->w02[ky][g] = (int32_t)(((uint32_t)q[0] & 0xFFFFu) | ((uint32_t)q[2] << 16));
            pk->w13[ky][g] = (int32_t)(((uint32_t)q[1] & 0xFFFFu) | ((uint32_t)q[3] << 16));
            /* right window of a pair: (x0, x2) against taps (-1, 1) */
            pk->wb02[ky][g] = (int32_t)(((uint32_t)q[-1] & 0xFFFFu) | ((uint32_t)q[1] << 16));
        }
        pk->rowsum[ky] = sum;
    }
}

/* n outputs, window rows [0, KH) of the packed weights starting at w02/w13,
 * first read at row, next output at row + step. KH, G, KW, FAST are compile-time
 * constants at the specialised call sites (KW only skips all-zero words). */
TN_INLINE void dw_run(const int8_t *row, int32_t n, int32_t step, int32_t w_in, int32_t (*w02)[2],
                      int32_t (*w13)[2], const int KH, const int G, const int KW, int32_t base_acc,
                      const dw_rq_t *q, const int FAST, int8_t *out, int32_t out_step)
{
    for (int32_t i = 0; i < n; ++i, row += step, out += out_step) {
        int32_t acc = base_acc;
        const int8_t *r = row;
        TN_UNROLL
        for (int ky = 0; ky < KH; ++ky, r += w_in) {
            TN_UNROLL
            for (int g = 0; g < G; ++g) {
                const int32_t x = tn__read_s8x4(r + 4 * g);
                acc = tn__smlad(w02[ky][g], tn__sxtb16(x), acc);
                if (4 * g + 1 < KW) acc = tn__smlad(w13[ky][g], tn__sxtb16_ror8(x), acc);
            }
        }
        *out = dw_requant(acc, q, FAST);
    }
}

/* Stride-1 pairs: 2*npairs adjacent outputs, KW in {3, 5, 7} (4*G > KW, so
 * the right window's last tap is in the words already read). */
TN_INLINE void dw_run_pair(const int8_t *row, int32_t npairs, int32_t w_in, const dw_pack_t *pk, const int KH,
                           const int G, const int KW, int32_t base_acc, const dw_rq_t *q, const int FAST,
                           int8_t *out, int32_t C)
{
    for (int32_t i = 0; i < npairs; ++i, row += 2, out += 2 * C) {
        int32_t a = base_acc, b = base_acc;
        const int8_t *r = row;
        TN_UNROLL
        for (int ky = 0; ky < KH; ++ky, r += w_in) {
            TN_UNROLL
            for (int g = 0; g < G; ++g) {
                const int32_t x = tn__read_s8x4(r + 4 * g);
                const int32_t x02 = tn__sxtb16(x), x13 = tn__sxtb16_ror8(x);
                a = tn__smlad(pk->w02[ky][g], x02, a);
                if (4 * g + 1 < KW) a = tn__smlad(pk->w13[ky][g], x13, a);
                b = tn__smlad(pk->w02[ky][g], x13, b);
                if ((g >= 1 && 4 * g - 1 < KW) || 4 * g + 1 < KW) b = tn__smlad(pk->wb02[ky][g], x02, b);
            }
        }
        out[0] = dw_requant(a, q, FAST);
        out[C] = dw_requant(b, q, FAST);
    }
}

/* Dispatch of a run to the specialised instances. rows [ky_lo, ky_hi) of pk. */
static void dw_run_any(const int8_t *row, int32_t n, int32_t step, int32_t w_in, dw_pack_t *pk, int32_t ky_lo,
                       int32_t nrows, int32_t kw, int32_t base_acc, const dw_rq_t *q, int8_t *out,
                       int32_t out_step)
{
    const int32_t G = (kw + 3) / 4;
    int32_t(*w02)[2] = pk->w02 + ky_lo;
    int32_t(*w13)[2] = pk->w13 + ky_lo;
    if (q->fast) {
        if (nrows == 3 && kw == 3)
            dw_run(row, n, step, w_in, w02, w13, 3, 1, 3, base_acc, q, 1, out, out_step);
        else if (nrows == 5 && kw == 5)
            dw_run(row, n, step, w_in, w02, w13, 5, 2, 5, base_acc, q, 1, out, out_step);
        else if (nrows == 7 && kw == 7)
            dw_run(row, n, step, w_in, w02, w13, 7, 2, 7, base_acc, q, 1, out, out_step);
        else if (G == 1)
            dw_run(row, n, step, w_in, w02, w13, nrows, 1, 4, base_acc, q, 1, out, out_step);
        else
            dw_run(row, n, step, w_in, w02, w13, nrows, 2, 8, base_acc, q, 1, out, out_step);
    } else {
        dw_run(row, n, step, w_in, w02, w13, nrows, G, 8, base_acc, q, 0, out, out_step);
    }
}

static void dw_run_pairs(const int8_t *row, int32_t npairs, int32_t w_in, const dw_pack_t *pk, int32_t kh,
                         int32_t kw, int32_t base_acc, const dw_rq_t *q, int8_t *out, int32_t C)
{
    if (kh == 3 && kw == 3)
        dw_run_pair(row, npairs, w_in, pk, 3, 1, 3, base_acc, q, 1, out, C);
    else if (kh == 5 && kw == 5)
        dw_run_pair(row, npairs, w_in, pk, 5, 2, 5, base_acc, q, 1, out, C);
    else
        dw_run_pair(row, npairs, w_in, pk, 7, 2, 7, base_acc, q, 1, out, C);
}

/* Number of outputs among n (first read at offset first, next at +step) whose
 * reads [start, start + span) stay inside the plane of hw bytes. */
TN_INLINE int32_t dw_safe_count(int32_t first, int32_t n, int32_t step, int32_t span, int32_t hw)
{
    const int32_t room = hw - span - first;
    if (room < 0) return 0;
    if ((n - 1) * step <= room) return n; /* the common case, no division */
    const int32_t k = room / step + 1;
    return k < n ? k : n;
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

    const int32_t C = p->c_in;
    const int32_t hw_in = p->h_in * p->w_in;
    const int32_t off = -p->input_zero_point;
    dw_rq_t q;
    q.zp = p->output_zero_point;
    q.lo = p->act_min;
    q.hi = p->act_max;

#if TN_USE_DSP
    /* Geometry shared by all channels. Interior columns [ox_a, ox_b): ix0 >= 0
     * and ix0 + kw <= w_in; interior rows [oy_a, oy_b) likewise. */
    const int32_t sw = p->stride_w, sh_ = p->stride_h;
    int32_t ox_a = (p->pad_left + sw - 1) / sw;
    if (ox_a > p->w_out) ox_a = p->w_out;
    const int32_t last_ix = p->w_in - p->kw + p->pad_left; /* C division truncates: guard < 0 */
    int32_t ox_b = last_ix < 0 ? 0 : last_ix / sw + 1;
    if (ox_b > p->w_out) ox_b = p->w_out;
    if (ox_b < ox_a) ox_b = ox_a;
    int32_t oy_a = (p->pad_top + sh_ - 1) / sh_;
    if (oy_a > p->h_out) oy_a = p->h_out;
    const int32_t last_iy = p->h_in - p->kh + p->pad_top;
    int32_t oy_b = last_iy < 0 ? 0 : last_iy / sh_ + 1;
    if (oy_b > p->h_out) oy_b = p->h_out;
    if (oy_b < oy_a) oy_b = oy_a;
    const int32_t groups = (p->kw + 3) / 4;
    const int use_pack = p->kh <= TN_DW_MAX_K && p->kw <= TN_DW_MAX_K;
    const int pairs_ok = sw == 1 && p->kh == p->kw && (p->kw == 3 || p->kw == 5 || p->kw == 7);
#endif

    for (int32_t c = 0; c < C; ++c) {
        /* 1. Save input channel c (must precede any write of output channel c). */
        dw_copy_plane(input, C, c, hw_in, scratch);

        const int32_t b = bias ? bias[c] : 0;
        q.m = p->out_multiplier[c];
        q.s = p->out_shift[c];
        q.fast = tn__rq_fast_ok(q.m, q.s);
        if (q.fast) {
            q.kh = tn__rq_kh(q.s, q.zp);
            q.sh = -q.s - 1;
        }
#if TN_USE_DSP
        if (use_pack) {
            dw_pack_t pk;
            int8_t *out_c = output + c;
            /* (a) interior columns, every row. */
            if (ox_b > ox_a) {
                dw_pack(p, weights, c, 0, p->kw, &pk);
                for (int32_t oy = 0; oy < p->h_out; ++oy) {
                    const int32_t iy0 = oy * sh_ - p->pad_top;
                    const int32_t ky_lo = iy0 < 0 ? -iy0 : 0;
                    const int32_t ky_hi = p->h_in - iy0 < p->kh ? p->h_in - iy0 : p->kh;
                    int32_t wsum = 0;
                    for (int32_t ky = ky_lo; ky < ky_hi; ++ky) wsum += pk.rowsum[ky];
                    const int32_t base = b + off * wsum;
                    const int32_t nrows = ky_hi - ky_lo;
                    const int32_t first = (iy0 + ky_lo) * p->w_in + ox_a * sw - p->pad_left;
                    const int32_t span = (nrows - 1) * p->w_in + 4 * groups;
                    int32_t n = dw_safe_count(first, ox_b - ox_a, sw, span, hw_in);
                    int8_t *o = out_c + ((size_t)oy * p->w_out + ox_a) * C;
                    int32_t done = 0;
                    if (pairs_ok && q.fast && nrows == p->kh) {
                        const int32_t np = n / 2;
                        dw_run_pairs(scratch + first, np, p->w_in, &pk, p->kh, p->kw, base, &q, o, C);
                        done = 2 * np;
                    }
                    if (n > done)
                        dw_run_any(scratch + first + done * sw, n - done, sw, p->w_in, &pk, ky_lo, nrows, p->kw,
                                   base, &q, o + (size_t)done * C, C);
                    for (int32_t ox = ox_a + n; ox < ox_b; ++ox)
                        out_c[((size_t)oy * p->w_out + ox) * C] =
                            dw_requant(b + dw_pixel_clipped(p, scratch, weights, c, oy, ox), &q, 0);
                }
            }
            /* (b) border columns: own packed weights, down the interior rows. */
            for (int32_t ox = 0; ox < p->w_out; ++ox) {
                if (ox == ox_a) ox = ox_b > ox_a ? ox_b : ox_a;
                if (ox >= p->w_out) break;
                const int32_t ix0 = ox * sw - p->pad_left;
                const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
                const int32_t kx_hi = p->w_in - ix0 < p->kw ? p->w_in - ix0 : p->kw;
                int32_t oy_lo = 0, oy_hi = 0; /* rows done by the packed run */
                if (oy_b > oy_a && kx_hi > kx_lo) {
                    dw_pack(p, weights, c, kx_lo, kx_hi - kx_lo, &pk);
                    int32_t wsum = 0;
                    for (int32_t ky = 0; ky < p->kh; ++ky) wsum += pk.rowsum[ky];
                    const int32_t first = (oy_a * sh_ - p->pad_top) * p->w_in + ix0 + kx_lo;
                    const int32_t span = (p->kh - 1) * p->w_in + 4 * groups;
                    const int32_t n = dw_safe_count(first, oy_b - oy_a, sh_ * p->w_in, span, hw_in);
                    dw_run_any(scratch + first, n, sh_ * p->w_in, p->w_in, &pk, 0, p->kh, p->kw, b + off * wsum,
                               &q, out_c + ((size_t)oy_a * p->w_out + ox) * C, p->w_out * C);
                    oy_lo = oy_a;
                    oy_hi = oy_a + n;
                }
                for (int32_t oy = 0; oy < p->h_out; ++oy) {
                    if (oy == oy_lo && oy_hi > oy_lo) oy = oy_hi;
                    if (oy >= p->h_out) break;
                    out_c[((size_t)oy * p->w_out + ox) * C] =
                        dw_requant(b + dw_pixel_clipped(p, scratch, weights, c, oy, ox), &q, 0);
                }
            }
            continue;
        }
#endif
        /* 2. Portable path: every output pixel of channel c from the plane. */
        for (int32_t oy = 0; oy < p->h_out; ++oy) {
            int8_t *out = output + (size_t)oy * p->w_out * C + c;
            for (int32_t ox = 0; ox < p->w_out; ++ox, out += C)
                *out = tn__requant(b + dw_pixel_clipped(p, scratch, weights, c, oy, ox), q.m, q.s, q.zp, q.lo, q.hi);
        }
    }
    (void)off;
    return TN_OK;
}
