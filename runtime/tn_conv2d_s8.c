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

/* The q15 im2col rows of two output pixels (kh*kw*c_in halfwords each); the
 * c_in = 1 3x3 stem and the portable build use less (none). */
size_t tn_conv2d_s8_scratch_bytes(const tn_conv_params_t *p)
{
    return p ? tn_conv2d_scratch_bytes_hw(p->kh, p->kw, p->c_in) : 0;
}

/* ---- the input window of one output pixel, as dense int8 ----
 * win[ky][kx][ic] (the OHWI weight order) of output pixel (oy, ox), read from
 * the int8 input or through a camera frame's table (tn_conv2d_frame_s8);
 * padding taps hold the input zero point, i.e. contribute 0. The RGB stem and
 * every frame input gather this way, then lay the window out for the matrix
 * kernel in one pass. At most TN_WIN_MAX taps (on the stack). */
#define TN_WIN_MAX (8 * 8 * 3)
TN_INLINE void gather_window(const tn_conv_params_t *p, const int8_t *input, const tn_frame_t *f, int32_t oy,
                       int32_t ox, int8_t *win)
{
    const int32_t C = p->c_in, row = p->kw * C;
    const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
    const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
    const int32_t kx_hi = p->w_in - ix0 < p->kw ? p->w_in - ix0 : p->kw;
    const int zp = (int)(int8_t)p->input_zero_point;
    for (int32_t ky = 0; ky < p->kh; ++ky, win += row) {
        const int32_t iy = iy0 + ky;
        if (iy < 0 || iy >= p->h_in || kx_lo >= kx_hi) {
            memset(win, zp, (size_t)row);
            continue;
        }
        if (kx_lo == 0 && kx_hi == p->kw) { /* the whole row lies inside the input */
            if (f)
                tn__frame_row(f, iy, ix0, p->kw, win);
            else if (row == 9) /* 3 RGB pixels: a constant-size copy (two words and a byte) */
                memcpy(win, input + ((size_t)iy * p->w_in + ix0) * C, 9);
            else
                memcpy(win, input + ((size_t)iy * p->w_in + ix0) * C, (size_t)row);
            continue;
        }
        memset(win, zp, (size_t)(kx_lo * C));
        if (f)
            tn__frame_row(f, iy, ix0 + kx_lo, kx_hi - kx_lo, win + kx_lo * C);
        else
            memcpy(win + kx_lo * C, input + ((size_t)iy * p->w_in + ix0 + kx_lo) * C, (size_t)((kx_hi - kx_lo) * C));
        memset(win + kx_hi * C, zp, (size_t)((p->kw - kx_hi) * C));
    }
}

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

/* ---- first layer: 3x3, c_in = 1, stride 1 (the stem of a grayscale model) ----
 * A c_in = 1 conv is c_out 3x3 filters over ONE plane, so it is done like the
 * depthwise k3s1 kernel with the roles turned round: the taps of two adjacent
 * output pixels (x, x+1) are one word per input row, (x0, x2) / (x1, x3) by
 * SXTB16 / ROR #8, built once per pixel pair and used by every output
 * channel; per channel a = (w0, w2).(x0, x2) + w1 x1, b = (w0, w2).(x1, x3)
 * + w1 x2 per row: 12 multiplies for 18 MACs. The weights of up to
 * TN_STEM_CH channels are packed once per layer into a table on the stack,
 * one 9-word entry per channel, DOUBLED (accumulators 2x for tn__rq2):
 *   W0, W1, W2  (w_r0, w_r2) of row r
 *   U, V        (w01, w11), (w21, 1 on the chunk's last entry: the loop flag)
 *   base, base  2 bias + off * sum of the doubled weights (twice: one LDM
 *               loads both accumulators)
 *   a, b        pass 1 writes the pair's two accumulators here
 *   m, K, e'    the channel's tn__rq2 constants, e' = -shift - 1, K = K2 << e'
 *               (the last bit of the shift is USAT's ASR #1)
 * Pass 1 (tn__stem_pair_asm on Arm: the 6 tap registers, one LDM of 7 and
 * 12 SMLA per channel, 8 instructions per output) then pass 2
 * (tn__stem_rq_asm: per two channels two LDM of (a, b, m, K, e'), tn__rq2 x4,
 * SIMD clamp, two halfword stores, 8 instructions per output; an odd last
 * channel in C). The C functions beside them are their references.
 * Padding: each output row reads a band of three padded input rows on the
 * stack (zero point outside the input), of pitch w_in + pad_left + pad_right
 * <= TN_STEM_BAND_W, so every window is inside it. Stack: 8 * 48 + 3 * 96 + 4 B. */
#define TN_STEM_CH 8
#define TN_STEM_BAND_W 96
typedef struct {
    int32_t W0, W1, W2, U, V, base, base2, a, b, m, K, e1;
} tn__stem_ch_t;

#if defined(__ARM_FEATURE_DSP) && !defined(TN_EMULATE_DSP) && defined(__GNUC__)
/* win: band position of the pair's top-left window byte; wb: band pitch;
 * tab: the chunk's entries, the last one flagged in V's top half. */
void tn__stem_pair_asm(const int8_t *win, int32_t wb, tn__stem_ch_t *tab);
typedef char tn__stem_layout[sizeof(tn__stem_ch_t) == 48 ? 1 : -1];
__asm__(
    "    .text\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .p2align 2\n"
    "    .global tn__stem_pair_asm\n"
    "    .thumb_func\n"
    "    .type tn__stem_pair_asm, %function\n"
    "tn__stem_pair_asm:\n\t"
    "push     {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
    "ldr      r7, [r0, r1, lsl #1]\n\t"        /* row 2 */
    "ldr      r3, [r0, r1]\n\t"                /* row 1 */
    "ldr      r12, [r0]\n\t"                   /* row 0 */
    "mov      r0, r2\n\t"                      /* tab */
    "sxtb16   r5, r7\n\t"                      /* X2 = (x0, x2) of row 2 */
    "sxtb16   r6, r7, ror #8\n\t"              /* Y2 = (x1, x3) */
    "sxtb16   r4, r3, ror #8\n\t"              /* Y1 */
    "sxtb16   r3, r3\n\t"                      /* X1 */
    "sxtb16   r1, r12\n\t"                     /* X0 */
    "sxtb16   r2, r12, ror #8\n"               /* Y0 */
    ".Ltn_stem_ch:\n\t"
    "ldm      r0!, {r7, r8, r9, r10, r11, r12, lr}\n\t" /* W0 W1 W2 U V a=base b=base */
    "smlad    r12, r9, r5, r12\n\t"
    "smlad    lr, r9, r6, lr\n\t"
    "smlabb   r12, r11, r6, r12\n\t"           /* w21 x1 */
    "smlabt   lr, r11, r5, lr\n\t"             /* w21 x2 */
    "smlad    r12, r8, r3, r12\n\t"
    "smlad    lr, r8, r4, lr\n\t"
    "smlatb   r12, r10, r4, r12\n\t"           /* w11 x1 */
    "smlatt   lr, r10, r3, lr\n\t"             /* w11 x2 */
    "smlad    r12, r7, r1, r12\n\t"
    "smlad    lr, r7, r2, lr\n\t"
    "smlabb   r12, r10, r2, r12\n\t"           /* w01 x1 */
    "smlabt   lr, r10, r1, lr\n\t"             /* w01 x2 */
    "strd     r12, lr, [r0], #20\n\t"          /* a, b; past m, K, e' */
    "tst      r11, #0x10000\n\t"
    "beq      .Ltn_stem_ch\n\t"
    "pop      {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t"
    ".size tn__stem_pair_asm, .-tn__stem_pair_asm\n");
#define stem_pair tn__stem_pair_asm
/* tail: &tab[0].a; pairs >= 1 pairs of channels; out0 / out1: the two pixels'
 * first channel; hl: {H4, L4}. */
void tn__stem_rq_asm(const int32_t *tail, int32_t pairs, int8_t *out0, int8_t *out1, const uint32_t *hl);
/* tn__rq2 of a (m, K, e' registers, t scratch) then USAT #8 with ASR #1. */
#define TN_STEM_RQ(a, m, K, e1, t)                   \
    "add      " #t ", " #K ", " #a ", asr #31\n\t"  \
    "smmlar   " #a ", " #a ", " #m ", " #t "\n\t"   \
    "asr      " #a ", " #a ", " #e1 "\n\t"          \
    "usat     " #a ", #8, " #a ", asr #1\n\t"
__asm__(
    "    .text\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .p2align 2\n"
    "    .global tn__stem_rq_asm\n"
    "    .thumb_func\n"
    "    .type tn__stem_rq_asm, %function\n"
    "tn__stem_rq_asm:\n\t"
    "push     {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
    "ldr      r12, [sp, #36]\n\t"                /* hl */
    "ldrd     r4, r5, [r12]\n\t"
    "sub      sp, sp, #8\n\t"
    "strd     r4, r5, [sp]\n"                     /* H4, L4 */
    ".Ltn_stem_rq:\n\t"
    "ldm      r0!, {r4, r5, r6, r7, r8}\n\t"     /* a0 b0 m0 K0 e0' */
    "add      r0, r0, #28\n\t"                   /* next entry's a */
    TN_STEM_RQ(r4, r6, r7, r8, r9) TN_STEM_RQ(r5, r6, r7, r8, r9)
    "ldm      r0!, {r6, r7, r8, r9, r10}\n\t"    /* a1 b1 m1 K1 e1' */
    "add      r0, r0, #28\n\t"
    TN_STEM_RQ(r6, r8, r9, r10, r11) TN_STEM_RQ(r7, r8, r9, r10, r11)
    "orr      r4, r4, r6, lsl #8\n\t"            /* pixel 0: ch0, ch1 */
    "orr      r4, r4, r5, lsl #16\n\t"           /* pixel 1: ch0 */
    "orr      r4, r4, r7, lsl #24\n\t"           /* pixel 1: ch1 */
    "ldrd     r8, r9, [sp]\n\t"
    "uqsub8   r4, r8, r4\n\t"
    "sub      r4, r8, r4\n\t"
    "uadd8    r4, r4, r9\n\t"
    "strh     r4, [r2], #2\n\t"
    "lsr      r4, r4, #16\n\t"
    "strh     r4, [r3], #2\n\t"
    "subs     r1, r1, #1\n\t"
    "bne      .Ltn_stem_rq\n\t"
    "add      sp, sp, #8\n\t"
    "pop      {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t"
    ".size tn__stem_rq_asm, .-tn__stem_rq_asm\n");
#undef TN_STEM_RQ
#else
static void stem_pair(const int8_t *win, int32_t wb, tn__stem_ch_t *tab)
{
    int32_t x = tn__read_s8x4(win);
    const int32_t X0 = tn__sxtb16(x), Y0 = tn__sxtb16_ror8(x);
    x = tn__read_s8x4(win + wb);
    const int32_t X1 = tn__sxtb16(x), Y1 = tn__sxtb16_ror8(x);
    x = tn__read_s8x4(win + 2 * wb);
    const int32_t X2 = tn__sxtb16(x), Y2 = tn__sxtb16_ror8(x);
    for (;; ++tab) {
        int32_t a = tab->base, b = tab->base2;
        a = tn__smlad(tab->W0, X0, a);
        b = tn__smlad(tab->W0, Y0, b);
        a = tn__smlabb(tab->U, Y0, a);
        b = tn__smlabt(tab->U, X0, b);
        a = tn__smlad(tab->W1, X1, a);
        b = tn__smlad(tab->W1, Y1, b);
        a = tn__smlatb(tab->U, Y1, a);
        b = tn__smlatt(tab->U, X1, b);
        a = tn__smlad(tab->W2, X2, a);
        b = tn__smlad(tab->W2, Y2, b);
        a = tn__smlabb(tab->V, Y2, a);
        b = tn__smlabt(tab->V, X2, b);
        tab->a = a;
        tab->b = b;
        if (tab->V & 0x10000) break;
    }
}
#endif

TN_INLINE int32_t stem_rq1(int32_t acc2, const tn__stem_ch_t *e)
{
    return (int32_t)tn__usat8(tn__smmlar(acc2, e->m, e->K + (acc2 >> 31)) >> e->e1 >> 1);
}

/* Pass 2: the n channels of the table -> out0 (pixel x) and out1 (pixel x + 1;
 * for a lone last pixel a dummy), two channels x two pixels at a time. */
static void stem_rq(const tn__stem_ch_t *tab, int32_t n, const uint32_t *hl, int8_t *out0, int8_t *out1)
{
    int32_t i = 0;
#if defined(__ARM_FEATURE_DSP) && !defined(TN_EMULATE_DSP) && defined(__GNUC__)
    if (n >= 2) {
        i = n & ~1;
        tn__stem_rq_asm(&tab->a, n >> 1, out0, out1, hl);
    }
#else
    for (; i + 2 <= n; i += 2) {
        const uint32_t t = tn__clamp_u8((uint32_t)stem_rq1(tab[i].a, tab + i) |
                                            ((uint32_t)stem_rq1(tab[i + 1].a, tab + i + 1) << 8) |
                                            ((uint32_t)stem_rq1(tab[i].b, tab + i) << 16) |
                                            ((uint32_t)stem_rq1(tab[i + 1].b, tab + i + 1) << 24),
                                        hl[0], hl[1]);
        const uint16_t t0 = (uint16_t)t, t1 = (uint16_t)(t >> 16);
        memcpy(out0 + i, &t0, 2);
        memcpy(out1 + i, &t1, 2);
    }
#endif
    if (i < n) {
        const uint32_t t =
            tn__clamp_u8((uint32_t)stem_rq1(tab[i].a, tab + i) | ((uint32_t)stem_rq1(tab[i].b, tab + i) << 8), hl[0], hl[1]);
        out0[i] = (int8_t)t;
        out1[i] = (int8_t)(t >> 8);
    }
}

/* 1 if the stem path applies (its caller has checked tn__il_ok). */
static int stem_ok(const tn_conv_params_t *p)
{
    return p->c_in == 1 && p->kh == 3 && p->kw == 3 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top <= 1 &&
           p->pad_bottom <= 1 && p->pad_left <= 1 && p->pad_right <= 1 &&
           p->w_in + p->pad_left + p->pad_right <= TN_STEM_BAND_W;
}

static void conv_stem(const tn_conv_params_t *p, const int8_t *input, const tn_frame_t *frame, const int8_t *weights,
                      const int32_t *bias, int8_t *output)
{
    const int32_t wb = p->w_in + p->pad_left + p->pad_right, C = p->c_out, off = -p->input_zero_point;
    const int32_t K2 = 1 + 2 * (p->output_zero_point - p->act_min);
    uint32_t hl[2];
    hl[0] = tn__rep8(p->act_max - p->act_min);
    hl[1] = tn__rep8(p->act_min);
    tn__stem_ch_t tab[TN_STEM_CH];
    int8_t dummy[TN_STEM_CH]; /* pixel x + 1 of a lone last pixel */
    int8_t band[3 * TN_STEM_BAND_W + 4];
    memset(band, (int)(int8_t)p->input_zero_point, (size_t)(3 * wb + 4));
    for (int32_t c0 = 0; c0 < C; c0 += TN_STEM_CH) {
        const int32_t n = C - c0 < TN_STEM_CH ? C - c0 : TN_STEM_CH;
        for (int32_t i = 0; i < n; ++i) {
            const int8_t *w = weights + (size_t)(c0 + i) * 9;
            tn__stem_ch_t *e = tab + i;
            int32_t sum = 0;
            for (int32_t j = 0; j < 9; ++j) sum += w[j];
            e->W0 = tn__pk16(2 * w[0], 2 * w[2]);
            e->W1 = tn__pk16(2 * w[3], 2 * w[5]);
            e->W2 = tn__pk16(2 * w[6], 2 * w[8]);
            e->U = tn__pk16(2 * w[1], 2 * w[4]);
            e->V = tn__pk16(2 * w[7], i == n - 1);
            e->base = e->base2 =
                (int32_t)(((uint32_t)(bias ? bias[c0 + i] : 0) << 1) + (uint32_t)off * (uint32_t)(2 * sum));
            e->m = p->out_multiplier[c0 + i];
            e->e1 = -p->out_shift[c0 + i] - 1;
            e->K = (int32_t)((uint32_t)K2 << e->e1);
        }
        for (int32_t oy = 0; oy < p->h_out; ++oy) {
            for (int32_t r = 0; r < 3; ++r) { /* band row r = input row oy - pad_top + r */
                const int32_t iy = oy - p->pad_top + r;
                int8_t *d = band + r * wb + p->pad_left;
                if (iy >= 0 && iy < p->h_in && frame)
                    tn__frame_row(frame, iy, 0, p->w_in, d); /* a grey frame through its table */
                else if (iy >= 0 && iy < p->h_in)
                    memcpy(d, input + (size_t)iy * p->w_in, (size_t)p->w_in);
                else
                    memset(d, (int)(int8_t)p->input_zero_point, (size_t)p->w_in);
            }
            int8_t *o = output + (size_t)oy * p->w_out * C + c0;
            for (int32_t x = 0; x < p->w_out; x += 2, o += 2 * C) {
                stem_pair(band + x, wb, tab);
                stem_rq(tab, n, hl, o, x + 1 < p->w_out ? o + C : dummy);
            }
        }
    }
}

#define TN_CONV_C1_MAX_K 64 /* 2*64 slots < 256: fit the uint8 tables */

/* The same row into slot `which` of an interleaved pair (tn__il_run),
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

/* Three frame rows of 3 RGB pixels from (iy0, ix0) -> 27 int8 through the
 * table (tn__frame_row spelt out for the stem's interior windows). RGB565
 * looks its fields up in t565 (32 red, 64 green, 32 blue entries: the table
 * at the widened byte), so a pixel is one halfword load, three field
 * extractions and three lookups. */
TN_INLINE void rgb3_frame_rows(const tn_frame_t *f, const int8_t *t565, int32_t iy0, int32_t ix0, int8_t *win)
{
    if (f->format == TN_FRAME_RGB888) {
        const int8_t *const lr = f->lut, *const lg = f->lut + 256, *const lb = f->lut + 512;
        const uint8_t *s = f->pixels + (ptrdiff_t)iy0 * f->pitch + 3 * (ptrdiff_t)ix0;
        for (int32_t r = 0; r < 3; ++r, s += f->pitch, win += 9) {
            win[0] = lr[s[0]], win[1] = lg[s[1]], win[2] = lb[s[2]];
            win[3] = lr[s[3]], win[4] = lg[s[4]], win[5] = lb[s[5]];
            win[6] = lr[s[6]], win[7] = lg[s[7]], win[8] = lb[s[8]];
        }
    } else if (f->format == TN_FRAME_RGB565) {
        const uint8_t *s = f->pixels + (ptrdiff_t)iy0 * f->pitch + 2 * (ptrdiff_t)ix0;
        for (int32_t r = 0; r < 3; ++r, s += f->pitch) {
            for (int32_t x = 0; x < 3; ++x, win += 3) {
                const uint32_t v = (uint32_t)s[2 * x] | ((uint32_t)s[2 * x + 1] << 8);
                win[0] = t565[v >> 11];
                win[1] = t565[32 + ((v >> 5) & 63u)];
                win[2] = t565[96 + (v & 31u)];
            }
        }
    } else {
        for (int32_t r = 0; r < 3; ++r, win += 9) tn__frame_row(f, iy0 + r, ix0, 3, win);
    }
}

/* The interleaved kernel over every pixel pair, the rows built from dense
 * windows: the 3x3 RGB stem's (27 taps, spelt out so the layout unrolls; a
 * border window of an int8 image is gathered tap by tap) and every window of
 * a frame input (k = kh * kw * c_in <= TN_WIN_MAX). */
TN_INLINE void conv_windows_il(const tn_conv_params_t *p, const int8_t *input, const tn_frame_t *f, tn__il_t *L,
                            int16_t *col, int8_t *output)
{
    const int32_t k = p->kh * p->kw * p->c_in, off = -p->input_zero_point, C = p->c_out;
    const int32_t n_pix = p->h_out * p->w_out;
    int32_t win_words[(TN_WIN_MAX + 4) / 4]; /* word-aligned: tn__il_put reads words */
    int8_t *const win = (int8_t *)win_words;
    const int rgb3 = p->kh == 3 && p->kw == 3 && p->c_in == 3;
    int8_t t565[128];
    if (rgb3 && f && f->format == TN_FRAME_RGB565) {
        for (uint32_t v = 0; v < 32; ++v) {
            t565[v] = f->lut[(v << 3) | (v >> 2)];
            t565[96 + v] = f->lut[512 + ((v << 3) | (v >> 2))];
        }
        for (uint32_t v = 0; v < 64; ++v) t565[32 + v] = f->lut[256 + ((v << 2) | (v >> 4))];
    }
    int32_t oy = 0, ox = 0;
    for (int32_t px = 0; px < n_pix; px += 2) {
        const int two = px + 1 < n_pix;
        int8_t *out0 = output + (size_t)px * C;
        for (int32_t i = 0; i <= two; ++i) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
            const int inside = iy0 >= 0 && iy0 + 3 <= p->h_in && ix0 >= 0 && ix0 + 3 <= p->w_in;
            if (f && !(rgb3 && inside)) {
                gather_window(p, input, f, oy, ox, win);
                tn__il_put(col, win, k, off, i);
            } else {
                /* RGB 3x3: inside the image three rows of 9 bytes, no border test */
                if (f) {
                    rgb3_frame_rows(f, t565, iy0, ix0, win);
                } else if (inside) {
                    const int8_t *x = input + ((size_t)iy0 * p->w_in + ix0) * 3;
                    const size_t pitch = (size_t)p->w_in * 3;
                    memcpy(win, x, 9);
                    memcpy(win + 9, x + pitch, 9);
                    memcpy(win + 18, x + 2 * pitch, 9);
                } else { /* a border window of the int8 image: tap by tap, the zero point outside */
                    int8_t *w = win;
                    for (int32_t ky = 0; ky < 3; ++ky)
                        for (int32_t kx = 0; kx < 3; ++kx, w += 3) {
                            const int32_t iy = iy0 + ky, ix = ix0 + kx;
                            if (iy >= 0 && iy < p->h_in && ix >= 0 && ix < p->w_in)
                                memcpy(w, input + ((size_t)iy * p->w_in + ix) * 3, 3);
                            else
                                w[0] = w[1] = w[2] = (int8_t)p->input_zero_point;
                        }
                }
                tn__il_put(col, win, 27, off, i);
            }
            if (++ox == p->w_out) ox = 0, ++oy;
        }
        tn__il_run(L, two, out0, two ? out0 + C : out0);
    }
}
#endif

/* Shared by tn_conv2d_s8 (frame NULL) and tn_conv2d_frame_s8 (input NULL). */
TN_INLINE int conv2d(const tn_conv_params_t *p, const int8_t *input, const tn_frame_t *frame, const int8_t *weights,
                  const int32_t *bias, int8_t *output, int16_t *scratch)
{
#if TN_USE_DSP
    /* Two output pixels at a time share every weight load (the scratch holds
     * their two im2col rows). Pixels are taken in raster order, so a pair may
     * straddle two output rows; that is fine since each has its own row. */
    if (!scratch) return TN_ERR_ARG;
    {
        const int32_t k = p->kh * p->kw * p->c_in;
        const int32_t n_pix = p->h_out * p->w_out;
        if (tn__il_ok(p->out_multiplier, p->out_shift, bias, p->c_out, k)) {
            if (stem_ok(p)) {
                conv_stem(p, input, frame, weights, bias, output);
                return TN_OK;
            }
            const int32_t K2 = 1 + 2 * (p->output_zero_point - p->act_min);
            const uint32_t H4 = tn__rep8(p->act_max - p->act_min), L4 = tn__rep8(p->act_min);
            tn__il_t L;
            tn__il_init(&L, weights, bias, p->c_out, k, scratch, p->out_multiplier, p->out_shift, K2, H4, L4);
            if (frame || (p->c_in == 3 && p->kh == 3 && p->kw == 3)) {
                conv_windows_il(p, input, frame, &L, scratch, output);
                return TN_OK;
            }
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
                tn__il_run(&L, 1, output + (size_t)px * p->c_out, output + (size_t)(px + 1) * p->c_out);
            }
            if (px < n_pix) {
                im2col_pixel_il(p, input, px / p->w_out, px % p->w_out, scratch, 0, pos0);
                tn__il_run(&L, 0, output + (size_t)px * p->c_out, output + (size_t)px * p->c_out);
            }
            return TN_OK;
        }
        const int fast = tn__rq_all_fast(p->out_multiplier, p->out_shift, p->c_out);
        int16_t *col0 = scratch, *col1 = scratch + k;
        /* A frame: each window gathered through the table, then laid out as
         * the im2col of a kh x kw input without padding. */
        int8_t win[TN_WIN_MAX + 4];
        tn_conv_params_t wp = *p;
        wp.h_in = p->kh;
        wp.w_in = p->kw;
        wp.stride_h = wp.stride_w = 1;
        wp.pad_top = wp.pad_left = wp.pad_bottom = wp.pad_right = 0;
        for (int32_t px = 0; px < n_pix; px += 2) {
            const int two = px + 1 < n_pix;
            for (int32_t i = 0; i <= two; ++i) {
                const int32_t oy = (px + i) / p->w_out, ox = (px + i) % p->w_out;
                if (frame) {
                    gather_window(p, NULL, frame, oy, ox, win);
                    im2col_pixel(&wp, win, 0, 0, i ? col1 : col0);
                } else {
                    im2col_pixel(p, input, oy, ox, i ? col1 : col0);
                }
            }
            tn__mat_mult_q15(weights, bias, p->c_out, k, col0, two ? col1 : NULL, p, output + (size_t)px * p->c_out,
                             two ? output + (size_t)(px + 1) * p->c_out : NULL, fast);
        }
    }
#else
    (void)scratch;
    if (frame) { /* each window gathered through the table, then the same sums */
        const int32_t k = p->kh * p->kw * p->c_in, off = -p->input_zero_point;
        int8_t win[TN_WIN_MAX + 4];
        for (int32_t oy = 0; oy < p->h_out; ++oy) {
            for (int32_t ox = 0; ox < p->w_out; ++ox) {
                gather_window(p, NULL, frame, oy, ox, win);
                int8_t *out = output + ((size_t)oy * p->w_out + ox) * p->c_out;
                for (int32_t oc = 0; oc < p->c_out; ++oc) {
                    const int8_t *w = weights + (size_t)oc * k;
                    int32_t acc = bias ? bias[oc] : 0;
                    for (int32_t j = 0; j < k; ++j) acc += (win[j] + off) * w[j];
                    out[oc] = tn__requant(acc, p->out_multiplier[oc], p->out_shift[oc], p->output_zero_point,
                                          p->act_min, p->act_max);
                }
            }
        }
        return TN_OK;
    }
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

int tn_conv2d_s8(const tn_conv_params_t *p, const int8_t *input, const int8_t *weights,
                 const int32_t *bias, int8_t *output, int16_t *scratch)
{
    int rc = tn__check_conv_params(p);
    if (rc != TN_OK) return rc;
    if (!input || !weights || !output || tn__scratch_misaligned(scratch)) return TN_ERR_ARG;
    return conv2d(p, input, NULL, weights, bias, output, scratch);
}

int tn_conv2d_frame_s8(const tn_conv_params_t *p, const tn_frame_t *frame, const int8_t *weights,
                       const int32_t *bias, int8_t *output, int16_t *scratch)
{
    int rc = tn__check_conv_params(p);
    if (rc != TN_OK) return rc;
    if (!frame || !frame->pixels || !frame->lut || !weights || !output || tn__scratch_misaligned(scratch) ||
        tn_frame_channels(frame->format) != p->c_in || p->kh * p->kw * p->c_in > TN_WIN_MAX)
        return TN_ERR_ARG;
    return conv2d(p, NULL, frame, weights, bias, output, scratch);
}
