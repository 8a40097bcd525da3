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

/* Every output of one channel from the padded plane (row pitch wp), in two
 * passes over runs of up to TN_DW_RUN outputs (whole rows when they fit):
 * pass 1 (dw_acc_run) accumulates into a stack buffer with only weights and
 * row pointers live, so they stay in registers; pass 2 requantises the run:
 * tn__rq_fast + SIMD clamp four outputs at a time (dw_rq_run, assembly on
 * Arm) or the generic requantisation for a channel outside the fast range.
 * KH, KW, SW and PAIR are compile-time constants at the specialised call
 * sites; SW = 0 means "stride sw given at run time". PAIR (stride 1, KW in
 * {3, 5, 7}): two adjacent outputs per step. For KW = KH = 3 the middle taps of
 * the three rows are packed in two registers, (w01, w11) and (w21, 0), used
 * with SMLA<x><y> (one product each), so the pair loop needs 5 weight
 * registers. */
#define TN_DW_RUN 64
/* Pass 1: accumulators of n outputs of one row (row: top-left of the first
 * window), into pa. */
TN_INLINE void dw_acc_run(const int8_t *row, int32_t wp, int32_t n, int32_t sw, int32_t (*w)[6], const int KH,
                          const int KW, const int PAIR, int32_t base, int32_t *pa)
{
    const int G = (KW + 3) / 4;
    int32_t j = n;
    if (PAIR && KW == 3 && KH == 3) {
        const int32_t W0 = w[0][0], W1 = w[1][0], W2 = w[2][0];
        const int32_t U = dw_pk(w[0][1], w[1][1]), V = w[2][1];
        const int8_t *r1p = row + wp, *r2p = row + 2 * wp;
        for (; j >= 2; j -= 2, row += 2, r1p += 2, r2p += 2, pa += 2) {
            const int32_t r0 = tn__read_s8x4(row), r1 = tn__read_s8x4(r1p), r2 = tn__read_s8x4(r2p);
            int32_t x02 = tn__sxtb16(r0), x13 = tn__sxtb16_ror8(r0);
            int32_t a = tn__smlad(W0, x02, base), b = tn__smlad(W0, x13, base);
            a = tn__smlabb(U, x13, a);
            b = tn__smlabt(U, x02, b);
            x02 = tn__sxtb16(r1);
            x13 = tn__sxtb16_ror8(r1);
            a = tn__smlad(W1, x02, a);
            b = tn__smlad(W1, x13, b);
            a = tn__smlatb(U, x13, a);
            b = tn__smlatt(U, x02, b);
            x02 = tn__sxtb16(r2);
            x13 = tn__sxtb16_ror8(r2);
            a = tn__smlad(W2, x02, a);
            b = tn__smlad(W2, x13, b);
            a = tn__smlabb(V, x13, a);
            b = tn__smlabt(V, x02, b);
            pa[0] = a;
            pa[1] = b;
        }
    } else if (PAIR) {
        for (; j >= 2; j -= 2, row += 2, pa += 2) {
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
            pa[0] = a;
            pa[1] = b;
        }
    }
    for (; j > 0; --j, row += sw, ++pa) {
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
        *pa = a;
    }
}

/* Pass 2: nr rows of n accumulators (contiguous in acc) -> outputs of one
 * channel (stride C, row pitch out_row), tn__rq_fast + SIMD clamp, four at a
 * time, the rows forming one run when they are whole (n * C == out_row). On
 * Arm the run is tn__dw_rq_asm (same arithmetic, hand-allocated registers:
 * GCC spilled); the C loop is its reference (host DSP-emulation tests). */
#if defined(__ARM_FEATURE_DSP) && !defined(TN_EMULATE_DSP) && defined(__GNUC__)
#define TN_DW_ASM 1
typedef struct {
    int32_t C, m, kh2, sh;
    uint32_t H4, L4;
} tn__dw_rq_args_t;
void tn__dw_rq_asm(const int32_t *acc, int32_t len, int8_t *out, const tn__dw_rq_args_t *a);
/* tn__rq_fast(a, m = r4, kh = r5, sh = r6) then USAT #8, in place (r12, lr scratch). */
#define TN_DW_RQ(a)                                  \
    "and      r12, " #a ", #0x80000000\n\t"          \
    "orr      r12, r12, #0x40000000\n\t"             \
    "add      lr, r5, " #a ", asr #31\n\t"           \
    "smlal    r12, lr, " #a ", r4\n\t"               \
    "asr      lr, lr, r6\n\t"                        \
    "usat     " #a ", #8, lr\n\t"
__asm__(
    "    .text\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .p2align 2\n"
    "    .global tn__dw_rq_asm\n"
    "    .thumb_func\n"
    "    .type tn__dw_rq_asm, %function\n"
    "tn__dw_rq_asm:\n\t"              /* r0 acc, r1 len >= 1, r2 out, r3 args */
    "push     {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
    "mov      r12, r3\n\t"
    "ldm      r12, {r3, r4, r5, r6, r7, r8}\n\t"   /* C, m, kh2, sh, H4, L4 */
    "add      r9, r0, r1, lsl #2\n\t"
    "push     {r9}\n\t"                            /* [sp] = end */
    "bic      r1, r1, #3\n\t"
    "add      r1, r0, r1, lsl #2\n\t"              /* end of the groups of four */
    "cmp      r0, r1\n\t"
    "beq      .Ltn_dw_rq_tail\n"
    ".Ltn_dw_rq_quad:\n\t"
    "ldrd     r10, r11, [r0], #8\n\t"
    TN_DW_RQ(r10) TN_DW_RQ(r11)
    "orr      r9, r10, r11, lsl #8\n\t"
    "ldrd     r10, r11, [r0], #8\n\t"
    TN_DW_RQ(r10) TN_DW_RQ(r11)
    "orr      r9, r9, r10, lsl #16\n\t"
    "orr      r9, r9, r11, lsl #24\n\t"
    "uqsub8   r9, r7, r9\n\t"
    "sub      r9, r7, r9\n\t"
    "uadd8    r9, r9, r8\n\t"
    "strb     r9, [r2]\n\t"
    "lsr      r9, r9, #8\n\t"
    "strb     r9, [r2, r3]\n\t"
    "add      r2, r2, r3, lsl #1\n\t"
    "lsr      r9, r9, #8\n\t"
    "strb     r9, [r2]\n\t"
    "lsr      r9, r9, #8\n\t"
    "strb     r9, [r2, r3]\n\t"
    "add      r2, r2, r3, lsl #1\n\t"
    "cmp      r0, r1\n\t"
    "bne      .Ltn_dw_rq_quad\n"
    ".Ltn_dw_rq_tail:\n\t"
    "ldr      r1, [sp]\n\t"
    "cmp      r0, r1\n\t"
    "beq      .Ltn_dw_rq_done\n"
    ".Ltn_dw_rq_one:\n\t"
    "ldr      r10, [r0], #4\n\t"
    TN_DW_RQ(r10)
    "uqsub8   r10, r7, r10\n\t"
    "sub      r10, r7, r10\n\t"
    "uadd8    r10, r10, r8\n\t"
    "strb     r10, [r2]\n\t"
    "add      r2, r2, r3\n\t"
    "cmp      r0, r1\n\t"
    "bne      .Ltn_dw_rq_one\n"
    ".Ltn_dw_rq_done:\n\t"
    "add      sp, sp, #4\n\t"
    "pop      {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t"
    ".size tn__dw_rq_asm, .-tn__dw_rq_asm\n");
#undef TN_DW_RQ
#else
#define TN_DW_ASM 0
#endif

static void dw_rq_run(const int32_t *acc, int32_t n, int32_t nr, int32_t out_row, int8_t *out, int32_t C, int32_t m,
                      int32_t kh2, int32_t sh, uint32_t H4, uint32_t L4)
{
    const int32_t whole = nr == 1 || n * C == out_row;
    const int32_t runs = whole ? 1 : nr, len = whole ? n * nr : n;
#if TN_DW_ASM
    tn__dw_rq_args_t a;
    a.C = C;
    a.m = m;
    a.kh2 = kh2;
    a.sh = sh;
    a.H4 = H4;
    a.L4 = L4;
    for (int32_t r = 0; r < runs; ++r, out += out_row, acc += len) tn__dw_rq_asm(acc, len, out, &a);
#else
    for (int32_t r = 0; r < runs; ++r, out += out_row) {
        int8_t *o = out;
        const int32_t *const end = acc + len, *const end4 = acc + (len & ~3);
        for (; acc != end4; acc += 4, o += 4 * C) {
            const uint32_t t = tn__clamp_u8(tn__usat8(tn__rq_fast(acc[0], m, kh2, sh)) |
                                                (tn__usat8(tn__rq_fast(acc[1], m, kh2, sh)) << 8) |
                                                (tn__usat8(tn__rq_fast(acc[2], m, kh2, sh)) << 16) |
                                                (tn__usat8(tn__rq_fast(acc[3], m, kh2, sh)) << 24),
                                            H4, L4);
            o[0] = (int8_t)t;
            o[C] = (int8_t)(t >> 8);
            o[2 * C] = (int8_t)(t >> 16);
            o[3 * C] = (int8_t)(t >> 24);
        }
        for (; acc != end; ++acc, o += C) *o = (int8_t)tn__clamp_u8(tn__usat8(tn__rq_fast(*acc, m, kh2, sh)), H4, L4);
    }
#endif
}
/* Pass 2 for a channel outside the tn__rq_fast range: generic requantisation. */
static void dw_rq_generic(const int32_t *acc, int32_t n, int32_t nr, int32_t out_row, int8_t *out, int32_t C,
                          const dw_rq_t *q)
{
    for (int32_t r = 0; r < nr; ++r, out += out_row) {
        int8_t *o = out;
        for (int32_t i = 0; i < n; ++i, ++acc, o += C) *o = dw_requant(*acc, q, 0);
    }
}

TN_INLINE void dw_plane(const int8_t *plane, int32_t wp, int32_t h_out, int32_t w_out, int32_t row_step,
                        int32_t sw_rt, int32_t (*wk)[6], const int KH, const int KW, const int SW, const int PAIR,
                        int32_t base, const dw_rq_t *q, int8_t *out, int32_t C)
{
    const int32_t sw = SW ? SW : sw_rt;
    int32_t acc[TN_DW_RUN];
    /* Whole rows per run when they fit (a 4x4 or 8x8 map is a single run),
     * else runs of TN_DW_RUN outputs within a row. */
    const int32_t rows_per = w_out <= TN_DW_RUN ? TN_DW_RUN / w_out : 1;
    const int32_t run_w = w_out <= TN_DW_RUN ? w_out : TN_DW_RUN;
    for (int32_t oy = 0; oy < h_out; oy += rows_per) {
        const int32_t nr = h_out - oy < rows_per ? h_out - oy : rows_per;
        for (int32_t x0 = 0; x0 < w_out; x0 += run_w) {
            const int32_t n = w_out - x0 < run_w ? w_out - x0 : run_w;
            int32_t *pa = acc;
            for (int32_t r = 0; r < nr; ++r, pa += n)
                dw_acc_run(plane + (size_t)(oy + r) * row_step + (size_t)x0 * sw, wp, n, sw, wk, KH, KW, PAIR, base,
                           pa);
            int8_t *o = out + ((size_t)oy * w_out + x0) * C;
            if (q->fast)
                dw_rq_run(acc, n, nr, w_out * C, o, C, q->m, q->kh2, q->sh, q->H4, q->L4);
            else
                dw_rq_generic(acc, n, nr, w_out * C, o, C, q);
        }
    }
}

/* Channel plane gather: h x w bytes at stride C (HWC) -> rows of pitch wp.
 * Out of line so that its few live values stay in registers. */
static void dw_gather(const int8_t *src, int32_t C, int32_t h, int32_t w, int8_t *dst, int32_t wp)
{
    const int32_t C2 = 2 * C, C3 = 3 * C, C4 = 4 * C;
    for (int32_t y = 0; y < h; ++y, dst += wp) {
        int8_t *d = dst;
        int32_t i = w;
        for (; i >= 4; i -= 4, src += C4, d += 4) {
            const uint32_t v = (uint32_t)(uint8_t)src[0] | ((uint32_t)(uint8_t)src[C] << 8) |
                               ((uint32_t)(uint8_t)src[C2] << 16) | ((uint32_t)(uint8_t)src[C3] << 24);
            memcpy(d, &v, 4);
        }
        for (; i > 0; --i, src += C) *d++ = *src;
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
    q.kh = q.kh2 = q.sh = 0; /* set per channel when the fast path applies */
    q.zp = p->output_zero_point;
    q.lo = p->act_min;
    q.hi = p->act_max;
    q.H4 = tn__rep8(q.hi - q.lo);
    q.L4 = tn__rep8(q.lo);
    for (int32_t c = 0; c < C; ++c) {
        /* 1. Save input channel c (must precede any write of output channel c). */
        dw_gather(input + c, C, p->h_in, p->w_in, interior, wp);
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
        dw_plane(plane, wp, p->h_out, p->w_out, row_step, sw, w, K, K, S, PAIR, base, &q, out_c, C);          \
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
