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
 * SXTB16 / SXTB16 ROR #8 of the input word. Per channel:
 *  1. gather the channel into the plane (tn__dw_gather_asm on Arm);
 *  2. pack its weights, DOUBLED when the channel can use the 3-instruction
 *     SMMLAR requantisation tn__rq2 (tn_internal.h: fast range and
 *     |bias| < 2^29), so the accumulators come out as 2x at no cost;
 *  3. per run of up to TN_DW_RUN outputs (whole rows when they fit; a map of
 *     <= 64 outputs is one run set up once per layer): pass 1 accumulates into
 *     a stack buffer with a kernel chosen once per layer (k3 s1: two outputs
 *     per step, assembly on Arm; k5 s1: four; k5 s2: two, with PKHBT/SMLADX
 *     for the shifted windows; k7 s1: two; others one), pass 2 requantises the
 *     run and stores it at stride C (tn__dw_rq2_asm on Arm); a channel outside
 *     the tn__rq2 range keeps undoubled weights and the generic requantisation.
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

/* The padded plane of the DSP path (pads <= k/2 fit in it); the clipped path
 * uses its first h_in*w_in bytes. Independent of the pads, so a patch-based
 * plan can size one buffer for every patch from the largest patch. */
size_t tn_depthwise_s8_scratch_bytes(const tn_conv_params_t *p)
{
    return p ? tn_depthwise_scratch_bytes_k(p->h_in, p->w_in, p->kh, p->kw) : 0;
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
#define TN_DW_MAX_K 8 /* padded-plane path for kh, kw <= 8 (covers 3, 5, 7) */
#define TN_DW_RUN 64  /* accumulators per run (a stack buffer) */
#if defined(__GNUC__)
#define TN_NOINLINE __attribute__((noinline))
#else
#define TN_NOINLINE
#endif
#if defined(__GNUC__) && !defined(__clang__)
#define TN_UNROLL _Pragma("GCC unroll 8")
#else
#define TN_UNROLL
#endif

TN_INLINE int32_t dw_pk(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

/* Packed weights of one channel, each tap shifted left by dbl (0 or 1): per
 * kernel row ky and group g of four taps, w[ky][3g] = (w0, w2),
 * w[ky][3g+1] = (w1, w3), w[ky][3g+2] = (w_-1, w1) (taps relative to 4g, 0
 * outside [0, kw)). Returns the sum of the (shifted) weights. KH, KW are
 * compile-time constants at the specialised call sites. */
TN_INLINE int32_t dw_pack(const int8_t *wc, int32_t C, const int KH, const int KW, int32_t dbl, int32_t (*w)[6])
{
    const int G = (KW + 3) / 4;
    int32_t sum = 0;
    TN_UNROLL
    for (int ky = 0; ky < KH; ++ky) {
        int32_t t[4 * 2 + 1]; /* t[j + 1] = tap j, t[0] = tap -1 = 0 */
        t[0] = 0;
        TN_UNROLL
        for (int j = 0; j < 4 * G; ++j) {
            const int32_t v = j < KW ? (int32_t)((uint32_t)wc[((size_t)ky * KW + j) * C] << dbl) : 0;
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
/* One kernel row of dw_pack (KW constant): w[3g], w[3g+1], w[3g+2] of both
 * groups; returns the row's sum. */
TN_INLINE int32_t dw_pack_row(const int8_t *p, int32_t C, const int KW, int32_t dbl, int32_t *w)
{
    const int G = (KW + 3) / 4;
    int32_t t[4 * 2 + 1], sum = 0; /* t[j + 1] = tap j, t[0] = tap -1 = 0 */
    t[0] = 0;
    TN_UNROLL
    for (int j = 0; j < 4 * G; ++j) {
        const int32_t v = j < KW ? (int32_t)((uint32_t)p[(size_t)j * C] << dbl) : 0;
        t[j + 1] = v;
        sum += v;
    }
    TN_UNROLL
    for (int g = 0; g < G; ++g) {
        const int32_t *q = t + 1 + 4 * g;
        w[3 * g] = dw_pk(q[0], q[2]);
        w[3 * g + 1] = dw_pk(q[1], q[3]);
        w[3 * g + 2] = dw_pk(q[-1], q[1]);
    }
    return sum;
}
/* k5 / k7: the row unrolled, the rows not (the fully unrolled packer cost
 * ~1.3 KB of flash for ~20 instructions per channel). */
#if defined(__GNUC__) && !defined(__clang__)
#define TN_NO_UNROLL _Pragma("GCC unroll 1")
#else
#define TN_NO_UNROLL
#endif
static TN_NOINLINE int32_t dw_pack5(const int8_t *wc, int32_t C, int32_t kh, int32_t kw, int32_t dbl, int32_t (*w)[6])
{
    int32_t sum = 0;
    (void)kh, (void)kw;
    TN_NO_UNROLL
    for (int ky = 0; ky < 5; ++ky) sum += dw_pack_row(wc + (size_t)ky * 5 * C, C, 5, dbl, w[ky]);
    return sum;
}
static TN_NOINLINE int32_t dw_pack7(const int8_t *wc, int32_t C, int32_t kh, int32_t kw, int32_t dbl, int32_t (*w)[6])
{
    int32_t sum = 0;
    (void)kh, (void)kw;
    TN_NO_UNROLL
    for (int ky = 0; ky < 7; ++ky) sum += dw_pack_row(wc + (size_t)ky * 7 * C, C, 7, dbl, w[ky]);
    return sum;
}
/* The same for any kh, kw <= 8 (the generic kernel uses w[ky][0, 1, 3, 4]). */
static TN_NOINLINE int32_t dw_pack_any(const int8_t *wc, int32_t C, int32_t kh, int32_t kw, int32_t dbl, int32_t (*w)[6])
{
    int32_t sum = 0;
    for (int32_t ky = 0; ky < kh; ++ky) {
        int32_t t[8];
        for (int32_t j = 0; j < 8; ++j) {
            t[j] = j < kw ? (int32_t)((uint32_t)wc[((size_t)ky * kw + j) * C] << dbl) : 0;
            sum += t[j];
        }
        w[ky][0] = dw_pk(t[0], t[2]);
        w[ky][1] = dw_pk(t[1], t[3]);
        w[ky][3] = dw_pk(t[4], t[6]);
        w[ky][4] = dw_pk(t[5], t[7]);
    }
    return sum;
}

/* One run of pass 1: nr rows of n outputs, accumulators into acc row after row. */
typedef struct {
    const int8_t *row;      /* plane: top-left of the first window of the first row */
    int32_t wp, row_step;   /* plane row pitch; plane bytes between two output rows */
    int32_t n, nr;          /* outputs per row, rows */
    int32_t sw, kh, kw;     /* generic kernel only */
    int32_t base;           /* bias + off * sum w, scaled like the weights */
    const int32_t (*w)[6];  /* packed weights */
    int32_t *acc;
} dw_run_t;

/* k = 3, stride 1: two adjacent outputs per step share each row's word
 * (x0..x3): a = (w0, w2).(x0, x2) + w1 x1, b = (w0, w2).(x1, x3) + w1 x2. The
 * middle taps of the three rows are packed in two registers, U = (w01, w11)
 * and V = (w21, 0), used with SMLA<x><y>: 5 weight registers, 3 loads,
 * 6 SXTB16 and 12 multiplies per pair. On Arm the whole run is
 * tn__dw_k3s1_asm (GCC spilled a row offset and missed the post-increments:
 * 27 instructions per pair against 24); this C is its reference. */
#if defined(__ARM_FEATURE_DSP) && !defined(TN_EMULATE_DSP) && defined(__GNUC__)
#define TN_DW_ASM 1
/* The assembly reads dw_run_t by offset (Arm: 4-byte pointers). */
typedef char tn__dw_run_layout[(offsetof(dw_run_t, wp) == 4 && offsetof(dw_run_t, row_step) == 8 &&
                                offsetof(dw_run_t, n) == 12 && offsetof(dw_run_t, nr) == 16 &&
                                offsetof(dw_run_t, base) == 32 && offsetof(dw_run_t, w) == 36 &&
                                offsetof(dw_run_t, acc) == 40)
                                   ? 1
                                   : -1];
void tn__dw_k3s1_asm(const dw_run_t *R);
/* One row of the window: x = [addr], then a += (W . x02) + (w1 . x1), b +=
 * (W . x13) + (w1 . x2) with w1 the half H1/H2 (b or t) of register HW. */
#define TN_K3_ROW(ld, W, HW, H1, H2)                  \
    ld                                                \
    "sxtb16   r11, r12\n\t"                           \
    "sxtb16   r12, r12, ror #8\n\t"                   \
    "smlad    r10, " W ", r11, r10\n\t"               \
    "smlad    lr, " W ", r12, lr\n\t"                 \
    "smla" H1 "b   r10, " HW ", r12, r10\n\t"         \
    "smla" H2 "t   lr, " HW ", r11, lr\n\t"
/* The pair (24 instructions) and a lone last output of a row (16). */
#define TN_K3_PAIR                                    \
    "ldr      r12, [r0, r3, lsl #1]\n\t"  /* row 2 */ \
    "sxtb16   r11, r12\n\t"                           \
    "sxtb16   r12, r12, ror #8\n\t"                   \
    "smlad    r10, r6, r11, r9\n\t"                   \
    "smlad    lr, r6, r12, r9\n\t"                    \
    "smlabb   r10, r8, r12, r10\n\t"                  \
    "smlabt   lr, r8, r11, lr\n\t"                    \
    TN_K3_ROW("ldr      r12, [r0, r3]\n\t", "r5", "r7", "t", "t") \
    TN_K3_ROW("ldr      r12, [r0], #2\n\t", "r4", "r7", "b", "b") \
    "strd     r10, lr, [r1], #8\n\t"
#define TN_K3_SINGLE                                  \
    "ldr      r12, [r0, r3, lsl #1]\n\t"              \
    "sxtb16   r11, r12\n\t"                           \
    "sxtb16   r12, r12, ror #8\n\t"                   \
    "smlad    r10, r6, r11, r9\n\t"                   \
    "smlabb   r10, r8, r12, r10\n\t"                  \
    "ldr      r12, [r0, r3]\n\t"                      \
    "sxtb16   r11, r12\n\t"                           \
    "sxtb16   r12, r12, ror #8\n\t"                   \
    "smlad    r10, r5, r11, r10\n\t"                  \
    "smlatb   r10, r7, r12, r10\n\t"                  \
    "ldr      r12, [r0]\n\t"                          \
    "sxtb16   r11, r12\n\t"                           \
    "sxtb16   r12, r12, ror #8\n\t"                   \
    "smlad    r10, r4, r11, r10\n\t"                  \
    "smlabb   r10, r7, r12, r10\n\t"                  \
    "str      r10, [r1], #4\n\t"
/* Next row: r0 += row_step - (n & ~1) (the pairs advanced it by n & ~1). */
#define TN_K3_NEXT(label)                             \
    "ldr      r12, [sp, #4]\n\t"                      \
    "add      r0, r0, r12\n\t"                        \
    "ldr      lr, [sp, #12]\n\t"                      \
    "subs     lr, lr, #1\n\t"                         \
    "str      lr, [sp, #12]\n\t"                      \
    "bne      " label "\n\t"
__asm__(
    "    .text\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .p2align 2\n"
    "    .global tn__dw_k3s1_asm\n"
    "    .thumb_func\n"
    "    .type tn__dw_k3s1_asm, %function\n"
    "tn__dw_k3s1_asm:\n\t"                      /* r0 = R */
    "push     {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
    "sub      sp, sp, #16\n\t"
    "ldr      r12, [r0, #36]\n\t"               /* w */
    "ldr      r4, [r12]\n\t"                    /* W0 = w[0][0] */
    "ldr      r5, [r12, #24]\n\t"               /* W1 = w[1][0] */
    "ldr      r6, [r12, #48]\n\t"               /* W2 = w[2][0] */
    "ldrh     r7, [r12, #4]\n\t"                /* w01 */
    "ldr      r8, [r12, #28]\n\t"               /* (w11, 0) */
    "orr      r7, r7, r8, lsl #16\n\t"          /* U = (w01, w11) */
    "ldr      r8, [r12, #52]\n\t"               /* V = (w21, 0) */
    "ldr      r9, [r0, #32]\n\t"                /* base */
    "ldr      r3, [r0, #4]\n\t"                 /* wp */
    "ldr      r1, [r0, #40]\n\t"                /* pa */
    "ldr      r11, [r0, #8]\n\t"                /* row_step */
    "ldr      r12, [r0, #12]\n\t"               /* n */
    "ldr      lr, [r0, #16]\n\t"                /* nr */
    "ldr      r0, [r0]\n\t"                     /* row */
    "bic      r10, r12, #1\n\t"
    "sub      r11, r11, r10\n\t"                /* row_step - (n & ~1) */
    "lsl      r10, r10, #2\n\t"                 /* bytes of pair accumulators */
    "and      r12, r12, #1\n\t"
    "stm      sp, {r10, r11, r12, lr}\n\t"      /* [sp] pair bytes, advance, n odd, rows left */
    "cmp      r10, #0\n\t"
    "beq      .Ltn_k3_s_row\n\t"                /* n == 1 */
    "cmp      r12, #0\n\t"
    "bne      .Ltn_k3_o_row\n"
    ".Ltn_k3_e_row:\n\t"                        /* n even */
    "ldr      r2, [sp]\n\t"
    "add      r2, r1, r2\n"
    ".Ltn_k3_e_pair:\n\t"
    TN_K3_PAIR
    "cmp      r1, r2\n\t"
    "bne      .Ltn_k3_e_pair\n\t"
    TN_K3_NEXT(".Ltn_k3_e_row")
    "b        .Ltn_k3_done\n"
    ".Ltn_k3_o_row:\n\t"                        /* n odd, >= 3 */
    "ldr      r2, [sp]\n\t"
    "add      r2, r1, r2\n"
    ".Ltn_k3_o_pair:\n\t"
    TN_K3_PAIR
    "cmp      r1, r2\n\t"
    "bne      .Ltn_k3_o_pair\n\t"
    TN_K3_SINGLE
    TN_K3_NEXT(".Ltn_k3_o_row")
    "b        .Ltn_k3_done\n"
    ".Ltn_k3_s_row:\n\t"                        /* n == 1 */
    TN_K3_SINGLE
    TN_K3_NEXT(".Ltn_k3_s_row")
    ".Ltn_k3_done:\n\t"
    "add      sp, sp, #16\n\t"
    "pop      {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t"
    ".size tn__dw_k3s1_asm, .-tn__dw_k3s1_asm\n");
#undef TN_K3_PAIR
#undef TN_K3_SINGLE
#undef TN_K3_NEXT
#undef TN_K3_ROW
#define dw_p1_k3s1 tn__dw_k3s1_asm
#else
#define TN_DW_ASM 0
static void dw_p1_k3s1(const dw_run_t *R)
{
    const int32_t W0 = R->w[0][0], W1 = R->w[1][0], W2 = R->w[2][0];
    const int32_t U = dw_pk(R->w[0][1], R->w[1][1]), V = R->w[2][1];
    const int32_t wp = R->wp, base = R->base;
    int32_t *restrict pa = R->acc;
    const int8_t *row = R->row;
    for (int32_t y = R->nr; y > 0; --y, row += R->row_step) {
        const int8_t *r = row;
        int32_t *const end = pa + (R->n & ~1);
        for (; pa != end; r += 2, pa += 2) {
            int32_t x = tn__read_s8x4(r);
            int32_t x02 = tn__sxtb16(x), x13 = tn__sxtb16_ror8(x);
            int32_t a = tn__smlad(W0, x02, base), b = tn__smlad(W0, x13, base);
            a = tn__smlabb(U, x13, a);
            b = tn__smlabt(U, x02, b);
            x = tn__read_s8x4(r + wp);
            x02 = tn__sxtb16(x);
            x13 = tn__sxtb16_ror8(x);
            a = tn__smlad(W1, x02, a);
            b = tn__smlad(W1, x13, b);
            a = tn__smlatb(U, x13, a);
            b = tn__smlatt(U, x02, b);
            x = tn__read_s8x4(r + 2 * wp);
            x02 = tn__sxtb16(x);
            x13 = tn__sxtb16_ror8(x);
            a = tn__smlad(W2, x02, a);
            b = tn__smlad(W2, x13, b);
            a = tn__smlabb(V, x13, a);
            b = tn__smlabt(V, x02, b);
            pa[0] = a;
            pa[1] = b;
        }
        if (R->n & 1) {
            int32_t x = tn__read_s8x4(r);
            int32_t a = tn__smlad(W0, tn__sxtb16(x), base);
            a = tn__smlabb(U, tn__sxtb16_ror8(x), a);
            x = tn__read_s8x4(r + wp);
            a = tn__smlad(W1, tn__sxtb16(x), a);
            a = tn__smlatb(U, tn__sxtb16_ror8(x), a);
            x = tn__read_s8x4(r + 2 * wp);
            a = tn__smlad(W2, tn__sxtb16(x), a);
            *pa++ = tn__smlabb(V, tn__sxtb16_ror8(x), a);
        }
    }
}
#endif

/* k = 5, stride 1: four adjacent outputs per step from two words per row,
 * x0..x3 and x4..x7, with S = (x0, x2), T = (x1, x3), S' = (x4, x6),
 * T' = (x5, x7), P = PKHBT(S', S) = (x4, x2), Q = PKHBT(T', T) = (x5, x3):
 *   o0 += (w0, w2).S  + (w1, w3).T  + w4 x4 (S' bottom)
 *   o1 += (w0, w2).T  + X(w1, w3).P + w4 x5 (T' bottom)     X: SMLADX
 *   o2 += X(w0, w2).P + X(w1, w3).Q + w4 x6 (S' top)
 *   o3 += X(w0, w2).Q + (w1, w3).S' + w4 x7 (T' top)
 * i.e. 12 multiplies, 2 loads, 4 SXTB16, 2 PKHBT per row for 20 MACs; the
 * three weight words of the row (w[ky][0], [1], [3]) are reloaded (LDRD +
 * LDR) as 15 do not fit in registers.
 * k = 5, stride 2: the same four outputs (windows at x0, x2, x4, x6) from
 * three words per row, x0..x3, x4..x7, x8..x11 (S, T; S', T'; S", T"):
 *   o0 += (w0, w2).S  + (w1, w3).T  + w4 x4     o1 += X(w0, w2).PKHBT(S', S) + X(w1, w3).PKHBT(T', T) + w4 x6
 *   o2 += (w0, w2).S' + (w1, w3).T' + w4 x8     o3 += X(w0, w2).PKHBT(S", S') + X(w1, w3).PKHBT(T", T') + w4 x10
 * On Arm the quads are tn__dw_k5s1_asm / tn__dw_k5s2_asm: the 15 weight words
 * are copied into the routine's frame (SP-relative loads), so the plane pitch
 * stays in a register: 23 / 28 instructions per row and quad (GCC: 30 / ~40
 * with its spills). The C below is their reference and does the last n % 4
 * outputs of each row (from j0 = n & ~3 on Arm): one output at a time for
 * stride 1, two (o0, o1 above) then one for stride 2. */
#if TN_DW_ASM
void tn__dw_k5s1_asm(const dw_run_t *R); /* quads of every row; needs n >= 4 */
void tn__dw_k5s2_asm(const dw_run_t *R);
/* Frame: [sp, 12 ky] = w[ky][0], w[ky][1], w[ky][3] (60 bytes), then
 * 60 base, 64 window of the quad, 68 first window of the row, 72 pa,
 * 76 pa at the row's last quad, 80 rows left, 84 4 * (n % 4), 88 row_step,
 * 92 16 * (n / 4). Registers in the quad: r0-r3 o0..o3, r4-r9 S/T words,
 * r10 r11 weights, r12 the window row, lr the plane pitch. */
#define TN_K5_PROLOGUE(name)                                                       \
    "    .text\n"                                                                  \
    "    .syntax unified\n"                                                        \
    "    .thumb\n"                                                                 \
    "    .p2align 2\n"                                                             \
    "    .global " name "\n"                                                       \
    "    .thumb_func\n"                                                            \
    "    .type " name ", %function\n"                                              \
    name ":\n\t"                                                                   \
    "push     {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"                          \
    "sub      sp, sp, #96\n\t"                                                     \
    "ldr      r1, [r0, #36]\n\t"                                                   \
    "ldrd     r2, r3, [r1]\n\t"                                                    \
    "ldr      r4, [r1, #12]\n\t"                                                   \
    "ldrd     r5, r6, [r1, #24]\n\t"                                               \
    "ldr      r7, [r1, #36]\n\t"                                                   \
    "stm      sp, {r2, r3, r4, r5, r6, r7}\n\t"                                    \
    "ldrd     r2, r3, [r1, #48]\n\t"                                               \
    "ldr      r4, [r1, #60]\n\t"                                                   \
    "ldrd     r5, r6, [r1, #72]\n\t"                                               \
    "ldr      r7, [r1, #84]\n\t"                                                   \
    "add      r8, sp, #24\n\t"                                                     \
    "stm      r8, {r2, r3, r4, r5, r6, r7}\n\t"                                    \
    "ldrd     r2, r3, [r1, #96]\n\t"                                               \
    "ldr      r4, [r1, #108]\n\t"                                                  \
    "ldr      r5, [r0, #32]\n\t"                                                   \
    "add      r8, sp, #48\n\t"                                                     \
    "stm      r8, {r2, r3, r4, r5}\n\t"           /* row 4, base */                \
    "ldr      r2, [r0]\n\t"                                                        \
    "str      r2, [sp, #68]\n\t"                                                   \
    "ldr      r2, [r0, #40]\n\t"                                                   \
    "str      r2, [sp, #72]\n\t"                                                   \
    "ldr      r2, [r0, #16]\n\t"                                                   \
    "str      r2, [sp, #80]\n\t"                                                   \
    "ldr      r2, [r0, #8]\n\t"                                                    \
    "str      r2, [sp, #88]\n\t"                                                   \
    "ldr      r2, [r0, #12]\n\t"                                                   \
    "and      r3, r2, #3\n\t"                                                      \
    "lsl      r3, r3, #2\n\t"                                                      \
    "str      r3, [sp, #84]\n\t"                                                   \
    "bic      r2, r2, #3\n\t"                                                      \
    "lsl      r2, r2, #2\n\t"                                                      \
    "str      r2, [sp, #92]\n\t"                                                   \
    "ldr      lr, [r0, #4]\n"                                                      \
    ".L" name "_row:\n\t"                                                          \
    "ldrd     r4, r5, [sp, #68]\n\t"              /* first window, pa */           \
    "str      r4, [sp, #64]\n\t"                                                   \
    "ldr      r6, [sp, #92]\n\t"                                                   \
    "add      r6, r5, r6\n\t"                                                      \
    "str      r6, [sp, #76]\n"                                                     \
    ".L" name "_quad:\n\t"                                                         \
    "ldr      r0, [sp, #60]\n\t"                                                   \
    "mov      r1, r0\n\t"                                                          \
    "mov      r2, r0\n\t"                                                          \
    "mov      r3, r0\n\t"                                                          \
    "ldr      r12, [sp, #64]\n\t"
#define TN_K5_EPILOGUE(name, step)                                                 \
    "ldr      r12, [sp, #64]\n\t"                                                  \
    "add      r12, r12, #" #step "\n\t"                                            \
    "str      r12, [sp, #64]\n\t"                                                  \
    "ldr      r4, [sp, #72]\n\t"                                                   \
    "stm      r4!, {r0, r1, r2, r3}\n\t"                                           \
    "str      r4, [sp, #72]\n\t"                                                   \
    "ldr      r5, [sp, #76]\n\t"                                                   \
    "cmp      r4, r5\n\t"                                                          \
    "bne      .L" name "_quad\n\t"                                                 \
    "ldr      r5, [sp, #84]\n\t"                  /* skip the row's tail slots */  \
    "add      r4, r4, r5\n\t"                                                      \
    "str      r4, [sp, #72]\n\t"                                                   \
    "ldr      r5, [sp, #68]\n\t"                                                   \
    "ldr      r6, [sp, #88]\n\t"                                                   \
    "add      r5, r5, r6\n\t"                                                      \
    "str      r5, [sp, #68]\n\t"                                                   \
    "ldr      r5, [sp, #80]\n\t"                                                   \
    "subs     r5, r5, #1\n\t"                                                      \
    "str      r5, [sp, #80]\n\t"                                                   \
    "bne      .L" name "_row\n\t"                                                  \
    "add      sp, sp, #96\n\t"                                                     \
    "pop      {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t"                          \
    ".size " name ", .-" name "\n"
/* One kernel row of the stride-1 quad (weights at [sp, #o]). */
#define TN_K5S1_ROW(o)                                \
    "ldr      r4, [r12]\n\t"                          \
    "ldr      r6, [r12, #4]\n\t"                      \
    "add      r12, r12, lr\n\t"                       \
    "sxtb16   r5, r4, ror #8\n\t"                     \
    "sxtb16   r4, r4\n\t"                             \
    "sxtb16   r7, r6, ror #8\n\t"                     \
    "sxtb16   r6, r6\n\t"                             \
    "ldrd     r10, r11, [sp, #" #o "]\n\t"            \
    "smlad    r0, r10, r4, r0\n\t"                    \
    "smlad    r0, r11, r5, r0\n\t"                    \
    "smlad    r1, r10, r5, r1\n\t"                    \
    "smlad    r3, r11, r6, r3\n\t"                    \
    "pkhbt    r4, r6, r4\n\t"                         \
    "pkhbt    r5, r7, r5\n\t"                         \
    "smladx   r1, r11, r4, r1\n\t"                    \
    "smladx   r2, r10, r4, r2\n\t"                    \
    "smladx   r2, r11, r5, r2\n\t"                    \
    "smladx   r3, r10, r5, r3\n\t"                    \
    "ldr      r10, [sp, #" #o " + 8]\n\t"             \
    "smlabb   r0, r10, r6, r0\n\t"                    \
    "smlabb   r1, r10, r7, r1\n\t"                    \
    "smlabt   r2, r10, r6, r2\n\t"                    \
    "smlabt   r3, r10, r7, r3\n\t"
/* One kernel row of the stride-2 quad. */
#define TN_K5S2_ROW(o)                                \
    "ldr      r4, [r12]\n\t"                          \
    "ldr      r6, [r12, #4]\n\t"                      \
    "ldr      r8, [r12, #8]\n\t"                      \
    "add      r12, r12, lr\n\t"                       \
    "sxtb16   r5, r4, ror #8\n\t"                     \
    "sxtb16   r4, r4\n\t"                             \
    "sxtb16   r7, r6, ror #8\n\t"                     \
    "sxtb16   r6, r6\n\t"                             \
    "sxtb16   r9, r8, ror #8\n\t"                     \
    "sxtb16   r8, r8\n\t"                             \
    "ldrd     r10, r11, [sp, #" #o "]\n\t"            \
    "smlad    r0, r10, r4, r0\n\t"                    \
    "smlad    r0, r11, r5, r0\n\t"                    \
    "smlad    r2, r10, r6, r2\n\t"                    \
    "smlad    r2, r11, r7, r2\n\t"                    \
    "pkhbt    r4, r6, r4\n\t"                         \
    "pkhbt    r5, r7, r5\n\t"                         \
    "smladx   r1, r10, r4, r1\n\t"                    \
    "smladx   r1, r11, r5, r1\n\t"                    \
    "pkhbt    r4, r8, r6\n\t"                         \
    "pkhbt    r5, r9, r7\n\t"                         \
    "smladx   r3, r10, r4, r3\n\t"                    \
    "smladx   r3, r11, r5, r3\n\t"                    \
    "ldr      r10, [sp, #" #o " + 8]\n\t"             \
    "smlabb   r0, r10, r6, r0\n\t"                    \
    "smlabt   r1, r10, r6, r1\n\t"                    \
    "smlabb   r2, r10, r8, r2\n\t"                    \
    "smlabt   r3, r10, r8, r3\n\t"
__asm__(TN_K5_PROLOGUE("tn__dw_k5s1_asm") TN_K5S1_ROW(0) TN_K5S1_ROW(12) TN_K5S1_ROW(24) TN_K5S1_ROW(36)
            TN_K5S1_ROW(48) TN_K5_EPILOGUE("tn__dw_k5s1_asm", 4));
__asm__(TN_K5_PROLOGUE("tn__dw_k5s2_asm") TN_K5S2_ROW(0) TN_K5S2_ROW(12) TN_K5S2_ROW(24) TN_K5S2_ROW(36)
            TN_K5S2_ROW(48) TN_K5_EPILOGUE("tn__dw_k5s2_asm", 8));
#undef TN_K5_PROLOGUE
#undef TN_K5_EPILOGUE
#undef TN_K5S1_ROW
#undef TN_K5S2_ROW
#endif

/* The C quads / pairs / singles of k = 5 from output j0 of every row. */
static void dw_k5s1_c(const dw_run_t *R, int32_t j0)
{
    const int32_t wp = R->wp, base = R->base;
    const int32_t(*const w)[6] = R->w;
    int32_t *restrict pa = R->acc;
    const int8_t *row = R->row;
    for (int32_t y = R->nr; y > 0; --y, row += R->row_step) {
        const int8_t *r0 = row + j0;
        int32_t j = R->n - j0;
        pa += j0;
#if !TN_DW_ASM /* on Arm tn__dw_k5s1_asm did the quads (code size) */
        for (; j >= 4; j -= 4, r0 += 4, pa += 4) {
            int32_t o0 = base, o1 = base, o2 = base, o3 = base;
            const int8_t *r = r0;
            TN_UNROLL
            for (int ky = 0; ky < 5; ++ky, r += wp) {
                const int32_t A = tn__read_s8x4(r), B = tn__read_s8x4(r + 4);
                const int32_t W02 = w[ky][0], W13 = w[ky][1], W46 = w[ky][3];
                const int32_t S = tn__sxtb16(A), T = tn__sxtb16_ror8(A);
                const int32_t S2 = tn__sxtb16(B), T2 = tn__sxtb16_ror8(B);
                o0 = tn__smlad(W02, S, o0);
                o0 = tn__smlad(W13, T, o0);
                o0 = tn__smlabb(W46, S2, o0);
                o1 = tn__smlad(W02, T, o1);
                const int32_t P = tn__pkhbt(S2, S), Q = tn__pkhbt(T2, T);
                o1 = tn__smladx(W13, P, o1);
                o1 = tn__smlabb(W46, T2, o1);
                o2 = tn__smladx(W02, P, o2);
                o2 = tn__smladx(W13, Q, o2);
                o2 = tn__smlabt(W46, S2, o2);
                o3 = tn__smladx(W02, Q, o3);
                o3 = tn__smlad(W13, S2, o3);
                o3 = tn__smlabt(W46, T2, o3);
            }
            pa[0] = o0;
            pa[1] = o1;
            pa[2] = o2;
            pa[3] = o3;
        }
#endif
        for (; j > 0; --j, ++r0, ++pa) {
            int32_t o = base;
            const int8_t *r = r0;
            TN_UNROLL
            for (int ky = 0; ky < 5; ++ky, r += wp) {
                const int32_t A = tn__read_s8x4(r), B = tn__read_s8x4(r + 4);
                o = tn__smlad(w[ky][0], tn__sxtb16(A), o);
                o = tn__smlad(w[ky][1], tn__sxtb16_ror8(A), o);
                o = tn__smlabb(w[ky][3], tn__sxtb16(B), o);
            }
            *pa = o;
        }
    }
}
static void dw_k5s2_c(const dw_run_t *R, int32_t j0)
{
    const int32_t wp = R->wp, base = R->base;
    const int32_t(*const w)[6] = R->w;
    int32_t *restrict pa = R->acc;
    const int8_t *row = R->row;
    for (int32_t y = R->nr; y > 0; --y, row += R->row_step) {
        const int8_t *r0 = row + 2 * j0;
        int32_t j = R->n - j0;
        pa += j0;
        for (; j >= 2; j -= 2, r0 += 4, pa += 2) {
            int32_t o0 = base, o1 = base;
            const int8_t *r = r0;
            TN_UNROLL
            for (int ky = 0; ky < 5; ++ky, r += wp) {
                const int32_t A = tn__read_s8x4(r), B = tn__read_s8x4(r + 4);
                const int32_t W02 = w[ky][0], W13 = w[ky][1], W46 = w[ky][3];
                const int32_t S = tn__sxtb16(A), T = tn__sxtb16_ror8(A);
                const int32_t S2 = tn__sxtb16(B), T2 = tn__sxtb16_ror8(B);
                o0 = tn__smlad(W02, S, o0);
                o0 = tn__smlad(W13, T, o0);
                o0 = tn__smlabb(W46, S2, o0);
                o1 = tn__smladx(W02, tn__pkhbt(S2, S), o1);
                o1 = tn__smladx(W13, tn__pkhbt(T2, T), o1);
                o1 = tn__smlabt(W46, S2, o1);
            }
            pa[0] = o0;
            pa[1] = o1;
        }
        if (j) {
            int32_t o = base;
            const int8_t *r = r0;
            TN_UNROLL
            for (int ky = 0; ky < 5; ++ky, r += wp) {
                const int32_t A = tn__read_s8x4(r), B = tn__read_s8x4(r + 4);
                o = tn__smlad(w[ky][0], tn__sxtb16(A), o);
                o = tn__smlad(w[ky][1], tn__sxtb16_ror8(A), o);
                o = tn__smlabb(w[ky][3], tn__sxtb16(B), o);
            }
            *pa++ = o;
        }
    }
}
static TN_NOINLINE void dw_p1_k5s1(const dw_run_t *R)
{
    int32_t j0 = 0;
#if TN_DW_ASM
    if (R->n >= 4) tn__dw_k5s1_asm(R);
    j0 = R->n & ~3;
    if (j0 == R->n) return;
#endif
    dw_k5s1_c(R, j0);
}
static TN_NOINLINE void dw_p1_k5s2(const dw_run_t *R)
{
    int32_t j0 = 0;
#if TN_DW_ASM
    if (R->n >= 4) tn__dw_k5s2_asm(R);
    j0 = R->n & ~3;
    if (j0 == R->n) return;
#endif
    dw_k5s2_c(R, j0);
}

/* Other square kernels (k = 7 stride 1; k = 3, 7 stride 2): KH, KW, SW and PAIR
 * compile-time constants. PAIR (stride 1): two adjacent outputs per step, the
 * right window using (x1, x3) against (w0, w2) and (x0, x2) against (w_-1, w1). */
TN_INLINE void dw_p1_sq(const dw_run_t *R, const int KH, const int KW, const int SW, const int PAIR)
{
    const int G = (KW + 3) / 4;
    const int32_t wp = R->wp, base = R->base;
    const int32_t(*const w)[6] = R->w;
    int32_t *restrict pa = R->acc;
    const int8_t *rowp = R->row;
    for (int32_t y = R->nr; y > 0; --y, rowp += R->row_step) {
        const int8_t *row = rowp;
        int32_t j = R->n;
        if (PAIR)
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
                        if ((g >= 1 && 4 * g - 1 < KW) || 4 * g + 1 < KW) b = tn__smlad(w[ky][3 * g + 2], x02, b);
                    }
                }
                pa[0] = a;
                pa[1] = b;
            }
        for (; j > 0; --j, row += SW, ++pa) {
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
}
static TN_NOINLINE void dw_p1_k7s1(const dw_run_t *R) { dw_p1_sq(R, 7, 7, 1, 1); }
static TN_NOINLINE void dw_p1_k7s2(const dw_run_t *R) { dw_p1_sq(R, 7, 7, 2, 0); }

/* k = 3, stride 2: one output per step, the nine weights in five registers
 * as for dw_p1_k3s1 (read into locals: GCC reloaded them through R->w). */
static TN_NOINLINE void dw_p1_k3s2(const dw_run_t *R)
{
    const int32_t W0 = R->w[0][0], W1 = R->w[1][0], W2 = R->w[2][0];
    const int32_t U = dw_pk(R->w[0][1], R->w[1][1]), V = R->w[2][1];
    const int32_t wp = R->wp, base = R->base;
    int32_t *restrict pa = R->acc;
    const int8_t *row = R->row;
    for (int32_t y = R->nr; y > 0; --y, row += R->row_step) {
        const int8_t *r = row;
        for (int32_t *const end = pa + R->n; pa != end; r += 2) {
            int32_t x = tn__read_s8x4(r);
            int32_t a = tn__smlad(W0, tn__sxtb16(x), base);
            a = tn__smlabb(U, tn__sxtb16_ror8(x), a);
            x = tn__read_s8x4(r + wp);
            a = tn__smlad(W1, tn__sxtb16(x), a);
            a = tn__smlatb(U, tn__sxtb16_ror8(x), a);
            x = tn__read_s8x4(r + 2 * wp);
            a = tn__smlad(W2, tn__sxtb16(x), a);
            *pa++ = tn__smlabb(V, tn__sxtb16_ror8(x), a);
        }
    }
}

/* Any kh, kw <= 8 and stride: taps past kw are 0 (up to 4 or 8 per row). */
static TN_NOINLINE void dw_p1_any(const dw_run_t *R)
{
    const int32_t wp = R->wp, base = R->base, sw = R->sw, kh = R->kh, g8 = R->kw > 4;
    const int32_t(*const w)[6] = R->w;
    int32_t *restrict pa = R->acc;
    const int8_t *rowp = R->row;
    for (int32_t y = R->nr; y > 0; --y, rowp += R->row_step) {
        const int8_t *row = rowp;
        for (int32_t j = R->n; j > 0; --j, row += sw, ++pa) {
            int32_t acc = base;
            const int8_t *r = row;
            for (int32_t ky = 0; ky < kh; ++ky, r += wp) {
                const int32_t x0 = tn__read_s8x4(r);
                acc = tn__smlad(w[ky][0], tn__sxtb16(x0), acc);
                acc = tn__smlad(w[ky][1], tn__sxtb16_ror8(x0), acc);
                if (g8) {
                    const int32_t x1 = tn__read_s8x4(r + 4);
                    acc = tn__smlad(w[ky][3], tn__sxtb16(x1), acc);
                    acc = tn__smlad(w[ky][4], tn__sxtb16_ror8(x1), acc);
                }
            }
            *pa = acc;
        }
    }
}

/* Pass 2: len accumulators 2x (doubled weights) -> outputs of one channel at
 * stride C: tn__rq2 + SIMD clamp (tn__clamp_u8), four at a time. On Arm this
 * is tn__dw_rq2_asm (same arithmetic, hand-allocated registers); the C loop is
 * its reference (host DSP-emulation tests). */
typedef struct {
    int32_t C, m, K, e; /* K = tn__rq2_k(shift, zp - act_min), e = -shift */
    uint32_t H4, L4;    /* tn__rep8(act_max - act_min), tn__rep8(act_min) */
} tn__dw_rq_args_t;
#if TN_DW_ASM
void tn__dw_rq2_asm(const int32_t *acc, int32_t len, int8_t *out, const tn__dw_rq_args_t *a);
/* tn__rq2(a, m = r4, K = r5, e = r6) then USAT #8, in place (r12 scratch). */
#define TN_DW_RQ(a)                                  \
    "add      r12, r5, " #a ", asr #31\n\t"          \
    "smmlar   " #a ", " #a ", r4, r12\n\t"           \
    "asr      " #a ", " #a ", r6\n\t"                \
    "usat     " #a ", #8, " #a "\n\t"
__asm__(
    "    .text\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .p2align 2\n"
    "    .global tn__dw_rq2_asm\n"
    "    .thumb_func\n"
    "    .type tn__dw_rq2_asm, %function\n"
    "tn__dw_rq2_asm:\n\t"             /* r0 acc, r1 len >= 1, r2 out, r3 args */
    "push     {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
    "ldm      r3, {r3, r4, r5, r6, r7, r8}\n\t"    /* C, m, K, e, H4, L4 */
    "add      lr, r0, r1, lsl #2\n\t"              /* end */
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
    "cmp      r0, lr\n\t"
    "beq      .Ltn_dw_rq_done\n"
    ".Ltn_dw_rq_one:\n\t"
    "ldr      r10, [r0], #4\n\t"
    TN_DW_RQ(r10)
    "uqsub8   r10, r7, r10\n\t"
    "sub      r10, r7, r10\n\t"
    "uadd8    r10, r10, r8\n\t"
    "strb     r10, [r2]\n\t"
    "add      r2, r2, r3\n\t"
    "cmp      r0, lr\n\t"
    "bne      .Ltn_dw_rq_one\n"
    ".Ltn_dw_rq_done:\n\t"
    "pop      {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t"
    ".size tn__dw_rq2_asm, .-tn__dw_rq2_asm\n");
#undef TN_DW_RQ
#else
static void tn__dw_rq2_c(const int32_t *acc, int32_t len, int8_t *o, const tn__dw_rq_args_t *q)
{
    const int32_t C = q->C, m = q->m, K = q->K, e = q->e;
    const int32_t *const end = acc + len, *const end4 = acc + (len & ~3);
    for (; acc != end4; acc += 4, o += 4 * C) {
        const uint32_t t = tn__clamp_u8(tn__usat8(tn__rq2(acc[0], m, K, e)) | (tn__usat8(tn__rq2(acc[1], m, K, e)) << 8) |
                                            (tn__usat8(tn__rq2(acc[2], m, K, e)) << 16) |
                                            (tn__usat8(tn__rq2(acc[3], m, K, e)) << 24),
                                        q->H4, q->L4);
        o[0] = (int8_t)t;
        o[C] = (int8_t)(t >> 8);
        o[2 * C] = (int8_t)(t >> 16);
        o[3 * C] = (int8_t)(t >> 24);
    }
    for (; acc != end; ++acc, o += C) *o = (int8_t)tn__clamp_u8(tn__usat8(tn__rq2(*acc, m, K, e)), q->H4, q->L4);
}
#endif

/* Channel plane gather: h x w bytes at stride C (HWC) -> rows of pitch wp,
 * four bytes per word store. On Arm tn__dw_gather_asm (11 instructions per
 * four bytes; GCC took 12 plus a spill per row); the C loop is its reference. */
#if TN_DW_ASM
void tn__dw_gather_asm(const int8_t *src, int32_t C, int32_t h, int32_t w, int8_t *dst, int32_t wp);
__asm__(
    "    .text\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .p2align 2\n"
    "    .global tn__dw_gather_asm\n"
    "    .thumb_func\n"
    "    .type tn__dw_gather_asm, %function\n"
    "tn__dw_gather_asm:\n\t"                 /* r0 src, r1 C, r2 h >= 1, r3 w >= 1, [sp] dst, [sp, 4] wp */
    "push     {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
    "ldrd     r4, r5, [sp, #36]\n\t"         /* dst, wp */
    "add      r8, r1, r1\n\t"                /* 2C */
    "add      r9, r8, r1\n\t"                /* 3C */
    "bic      r10, r3, #3\n\t"               /* bytes in whole words */
    "and      r11, r3, #3\n\t"               /* the rest */
    "sub      r5, r5, r3\n"                  /* wp - w */
    ".Ltn_dwg_row:\n\t"
    "add      lr, r4, r10\n\t"
    "cmp      r4, lr\n\t"
    "beq      .Ltn_dwg_tail\n"
    ".Ltn_dwg_word:\n\t"
    "ldrb     r6, [r0]\n\t"
    "ldrb     r7, [r0, r1]\n\t"
    "ldrb     r12, [r0, r8]\n\t"
    "orr      r6, r6, r7, lsl #8\n\t"
    "ldrb     r7, [r0, r9]\n\t"
    "add      r0, r0, r1, lsl #2\n\t"
    "orr      r6, r6, r12, lsl #16\n\t"
    "orr      r6, r6, r7, lsl #24\n\t"
    "str      r6, [r4], #4\n\t"
    "cmp      r4, lr\n\t"
    "bne      .Ltn_dwg_word\n"
    ".Ltn_dwg_tail:\n\t"
    "add      lr, r4, r11\n\t"
    "cmp      r4, lr\n\t"
    "beq      .Ltn_dwg_next\n"
    ".Ltn_dwg_byte:\n\t"
    "ldrb     r6, [r0]\n\t"
    "add      r0, r0, r1\n\t"
    "strb     r6, [r4], #1\n\t"
    "cmp      r4, lr\n\t"
    "bne      .Ltn_dwg_byte\n"
    ".Ltn_dwg_next:\n\t"
    "add      r4, r4, r5\n\t"
    "subs     r2, r2, #1\n\t"
    "bne      .Ltn_dwg_row\n\t"
    "pop      {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t"
    ".size tn__dw_gather_asm, .-tn__dw_gather_asm\n");
#define dw_gather tn__dw_gather_asm
#else
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
#endif

/* Packers and pass-1 kernels, chosen once per layer. */
typedef int32_t (*dw_pack_fn)(const int8_t *wc, int32_t C, int32_t kh, int32_t kw, int32_t dbl, int32_t (*w)[6]);
typedef void (*dw_pass1_fn)(const dw_run_t *R);
static TN_NOINLINE int32_t dw_pack3(const int8_t *wc, int32_t C, int32_t kh, int32_t kw, int32_t dbl, int32_t (*w)[6])
{
    (void)kh, (void)kw;
    return dw_pack(wc, C, 3, 3, dbl, w);
}

static int dw_padded(const tn_conv_params_t *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                     int8_t *output, int8_t *plane)
{
    const int32_t C = p->c_in, off = -p->input_zero_point;
    const int32_t wp = p->w_in + p->pad_left + p->pad_right, hp = p->h_in + p->pad_top + p->pad_bottom;
    const int32_t k = p->kh, sw = p->stride_w, w_out = p->w_out, h_out = p->h_out;
    dw_pack_fn pack = dw_pack_any;
    dw_pass1_fn pass1 = dw_p1_any;
    if (p->kh == p->kw && p->stride_h == sw && (sw == 1 || sw == 2) && (k == 3 || k == 5 || k == 7)) {
        static const dw_pack_fn packs[3] = {dw_pack3, dw_pack5, dw_pack7};
        static const dw_pass1_fn kernels[2][3] = {{dw_p1_k3s1, dw_p1_k5s1, dw_p1_k7s1},
                                                  {dw_p1_k3s2, dw_p1_k5s2, dw_p1_k7s2}};
        pack = packs[k / 2 - 1];
        pass1 = kernels[sw - 1][k / 2 - 1];
    }
    /* Padding = zero point, once; the interiors are rewritten per channel. */
    memset(plane, (int)(int8_t)p->input_zero_point, (size_t)hp * wp + TN_DW_SLACK);
    int8_t *interior = plane + (size_t)p->pad_top * wp + p->pad_left;
    /* Runs: whole rows when they fit (a 4x4 or 8x8 map is a single run), else
     * runs of TN_DW_RUN outputs within a row. */
    const int32_t rows_per = w_out <= TN_DW_RUN ? TN_DW_RUN / w_out : 1;
    const int32_t run_w = w_out <= TN_DW_RUN ? w_out : TN_DW_RUN;
    const int32_t zp2 = p->output_zero_point - p->act_min;
    tn__dw_rq_args_t q;
    q.C = C;
    q.m = q.K = q.e = 0; /* set per channel when pass 2 uses tn__rq2 */
    q.H4 = tn__rep8(p->act_max - p->act_min);
    q.L4 = tn__rep8(p->act_min);
    int32_t acc[TN_DW_RUN];
    int32_t w[TN_DW_MAX_K][6];
    dw_run_t R;
    R.wp = wp;
    R.row_step = p->stride_h * wp;
    R.sw = sw;
    R.kh = p->kh;
    R.kw = p->kw;
    R.w = (const int32_t(*)[6])w;
    R.acc = acc;
    /* A map of at most TN_DW_RUN outputs is one run: set it up once. */
    const int32_t n_out = h_out * w_out, single = n_out <= TN_DW_RUN;
    R.n = w_out;
    R.nr = h_out;
    R.row = plane;
    for (int32_t c = 0; c < C; ++c) {
        /* 1. Save input channel c (must precede any write of output channel c). */
        dw_gather(input + c, C, p->h_in, p->w_in, interior, wp);
        /* 2. Weights, doubled when pass 2 can use tn__rq2. Base modulo 2^32
         * like the accumulation (|b| < 2^29 when doubled). */
        const int32_t m = p->out_multiplier[c], s = p->out_shift[c], b = bias ? bias[c] : 0;
        const int32_t dbl = tn__rq_fast_ok(m, s) && tn__dbl_ok(b);
        const int32_t sum = pack(weights + c, C, p->kh, p->kw, dbl, w);
        R.base = (int32_t)(((uint32_t)b << dbl) + (uint32_t)off * (uint32_t)sum);
        q.m = m;
        q.K = tn__rq2_k(dbl ? s : -2, zp2);
        q.e = -s;
        /* 3. Runs: pass 1 (accumulate), pass 2 (requantise, store at stride C). */
        if (single && dbl) { /* the whole map in one run (small maps): no run loops */
            pass1(&R);
#if TN_DW_ASM
            tn__dw_rq2_asm(acc, n_out, output + c, &q);
#else
            tn__dw_rq2_c(acc, n_out, output + c, &q);
#endif
            continue;
        }
        for (int32_t oy = 0; oy < h_out; oy += rows_per) {
            R.nr = h_out - oy < rows_per ? h_out - oy : rows_per;
            for (int32_t x0 = 0; x0 < w_out; x0 += run_w) {
                R.n = w_out - x0 < run_w ? w_out - x0 : run_w;
                R.row = plane + (size_t)oy * R.row_step + (size_t)x0 * sw;
                pass1(&R);
                int8_t *o = output + ((size_t)oy * w_out + x0) * C + c;
                /* Whole rows: one stretch of n * nr outputs at stride C. */
                const int32_t whole = R.nr == 1 || R.n == w_out;
                const int32_t len = whole ? R.n * R.nr : R.n;
                const int32_t *a = acc;
                for (int32_t r = whole ? 1 : R.nr; r > 0; --r, o += (size_t)w_out * C, a += len) {
                    if (dbl) {
#if TN_DW_ASM
                        tn__dw_rq2_asm(a, len, o, &q);
#else
                        tn__dw_rq2_c(a, len, o, &q);
#endif
                    } else {
                        int8_t *oo = o;
                        for (int32_t i = 0; i < len; ++i, oo += C)
                            *oo = tn__requant(a[i], m, s, p->output_zero_point, p->act_min, p->act_max);
                    }
                }
            }
        }
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
