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
 * Requantisation: the interleaved kernel (tn__il_run) gets doubled
 * inputs and a doubled bias, so its accumulators are 2x and it uses tn__rq2
 * (3 instructions, bit-identical); tn__mat_mult_q15 (layers tn__il_ok
 * rejects) uses tn__rq_fast (5 instructions) when the caller has checked that
 * every channel's (multiplier, shift) allows it, else the generic path.
 */
#include "tn_matmul_q15.h"

#if defined(__GNUC__)
#define TN_NOINLINE_MM __attribute__((noinline))
#else
#define TN_NOINLINE_MM
#endif

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

/* Requantised (zero point zp - lo) result of one channel from a doubled
 * accumulator, before USAT: K = K2 << (e - 1), e = -shift (tn__rq2). */
TN_INLINE int32_t pw_rq(int32_t acc2, int32_t m, int32_t K, int32_t e) { return tn__rq2(acc2, m, K, e); }

/* Inner loop of the interleaved 2 channels x 2 pixels kernel over n >= 1
 * groups of four input channels: rows pa / pb (int8 weights, any alignment),
 * c the interleaved q15 block [(x0,x2) (x1,x3)]_px0 [(x0,x2) (x1,x3)]_px1 per
 * group (16 bytes, 8-byte aligned: LDRD). acc = {a00, a01, a10, a11} ([ch][px]).
 * On return *pa, *pb point past the n groups. This is the reference for the
 * unrolled loop of tn__pw_2x2_asm (same SMLADs); on Arm it only runs when
 * there is no bias. */
TN_INLINE void pw_loop(int32_t acc[4], const int8_t **pa, const int8_t **pb, const int16_t *c, int32_t n)
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const int8_t *wa = *pa, *wb = *pb;
    for (int32_t g = 0; g < n; ++g, wa += 4, wb += 4, c += 8) {
        const int32_t x0 = tn__read_s16x2(c), x1 = tn__read_s16x2(c + 2);
        const int32_t x2 = tn__read_s16x2(c + 4), x3 = tn__read_s16x2(c + 6);
        const int32_t ra = tn__read_s8x4(wa), rb = tn__read_s8x4(wb);
        const int32_t va = tn__sxtb16(ra), ua = tn__sxtb16_ror8(ra);
        const int32_t vb = tn__sxtb16(rb), ub = tn__sxtb16_ror8(rb);
        a00 = tn__smlad(va, x0, a00);
        a01 = tn__smlad(va, x2, a01);
        a00 = tn__smlad(ua, x1, a00);
        a01 = tn__smlad(ua, x3, a01);
        a10 = tn__smlad(vb, x0, a10);
        a11 = tn__smlad(vb, x2, a11);
        a10 = tn__smlad(ub, x1, a10);
        a11 = tn__smlad(ub, x3, a11);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
    *pa = wa;
    *pb = wb;
}

#if TN_PW_ASM
/* The whole two-pixel channel-pair loop of tn__il_run in assembly
 * (used when there is a bias): per pair of channels the inner loop of pw_loop
 * (the same 8x unrolled body, entered 64 * (n % 8) bytes before its end,
 * n = k / 4 groups, then n / 8 full passes), the k % 4 tail with MLAs, then
 * tn__rq2 on the four doubled accumulators (K = K2 << e', e' = -shift - 1,
 * the last bit of the shift in USAT #8's ASR #1), tn__clamp_u8 and two
 * halfword stores: the same arithmetic as the C
 * path below (which the host DSP-emulation tests run); QEMU's selftest checks
 * that the two give the same bytes. The inner loop takes all 14 usable
 * registers (r0-r3 a00 a01 a10 a11, r4/r5 weight rows a/b, r6 the interleaved
 * q15 pixels, r7 pass count, r8-r11 x, r12/lr weights), so the state is copied
 * to the stack frame (tn__pw_state_t, field order = frame order). */
void tn__pw_2x2_asm(tn__pw_state_t *s);
uint32_t tn__pw_2x2_body_end(void);

#define TN_PW_GRP                              \
    "ldr.w    r12, [r4], #4\n\t"               \
    "ldrd     r8, r9, [r6], #16\n\t"           \
    "ldrd     r10, r11, [r6, #-8]\n\t"         \
    "sxtb16   lr, r12\n\t"                     \
    "sxtb16   r12, r12, ror #8\n\t"            \
    "smlad    r0, lr, r8, r0\n\t"              \
    "smlad    r1, lr, r10, r1\n\t"             \
    "smlad    r0, r12, r9, r0\n\t"             \
    "smlad    r1, r12, r11, r1\n\t"            \
    "ldr.w    r12, [r5], #4\n\t"               \
    "sxtb16   lr, r12\n\t"                     \
    "sxtb16   r12, r12, ror #8\n\t"            \
    "smlad    r2, lr, r8, r2\n\t"              \
    "smlad    r3, lr, r10, r3\n\t"             \
    "smlad    r2, r12, r9, r2\n\t"             \
    "smlad    r3, r12, r11, r3\n\t"
/* tn__rq2(a, m, K, e' + 1) then USAT #8, in place in a (r12 scratch): the
 * shift by e = e' + 1 is split into ASR e' and the USAT's own ASR #1. */
#define TN_PW_RQ(a, m, K, e1)                        \
    "add      r12, " #K ", " #a ", asr #31\n\t"      \
    "smmlar   " #a ", " #a ", " #m ", r12\n\t"       \
    "asr      " #a ", " #a ", " #e1 "\n\t"           \
    "usat     " #a ", #8, " #a ", asr #1\n\t"
__asm__(
    "    .text\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .p2align 2\n"
    "    .global tn__pw_2x2_body_end\n"
    "    .thumb_func\n"
    "    .type tn__pw_2x2_body_end, %function\n"
    "tn__pw_2x2_body_end:\n\t"
    "adr      r0, .Ltn_pw_body_end\n\t"
    "bx       lr\n\t"
    ".size tn__pw_2x2_body_end, .-tn__pw_2x2_body_end\n"
    "    .p2align 2\n"
    "    .global tn__pw_2x2_asm\n"
    "    .thumb_func\n"
    "    .type tn__pw_2x2_asm, %function\n"
    "tn__pw_2x2_asm:\n\t"
    "push     {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
    "sub      sp, sp, #68\n\t"
    "ldm      r0!, {r1, r2, r3, r4, r5, r6, r7, r8}\n\t"
    "stm      sp, {r1, r2, r3, r4, r5, r6, r7, r8}\n\t"
    "ldm      r0, {r1, r2, r3, r4, r5, r6, r7, r8}\n\t"
    "add      r9, sp, #32\n\t"
    "adr.w    r10, .Ltn_pw_tail\n\t"
    "adr.w    r11, .Ltn_pw_rq\n\t"
    "cmp      r6, #0\n\t"       /* kt */
    "it       eq\n\t"
    "moveq    r10, r11\n\t"
    "orr      r8, r10, #1\n\t"  /* after */
    "stm      r9, {r1, r2, r3, r4, r5, r6, r7, r8}\n\t"
    "ldr      r8, [sp, #44]\n\t"
    "ldrd     r0, r2, [r8], #8\n\t"          /* bias pair, doubled */
    "lsl      r0, r0, #1\n\t"
    "lsl      r2, r2, #1\n\t"
    "mov      r1, r0\n\t"
    "mov      r3, r2\n\t"
    "str      r8, [sp, #44]\n\t"
    "ldr      r4, [sp, #56]\n\t"
    "ldm      sp, {r6, r7, r12, lr}\n\t"
    "add      r5, r4, r12\n\t"
    "bx       lr\n\t"
    ".p2align 2\n"
    ".Ltn_pw_body:\n\t"
    TN_PW_GRP TN_PW_GRP TN_PW_GRP TN_PW_GRP TN_PW_GRP TN_PW_GRP TN_PW_GRP TN_PW_GRP
    "\n.Ltn_pw_body_end:\n\t"
    ".if (.Ltn_pw_body_end - .Ltn_pw_body) != 512\n\t"
    ".error \"tn pointwise: an unrolled group is not 64 bytes\"\n\t"
    ".endif\n\t"
    "subs     r7, r7, #1\n\t"
    "bge      .Ltn_pw_body\n\t"
    "ldr      pc, [sp, #60]\n"
    /* k % 4 tail: r6 = pixel 0's tail, pixel 1's is 2 * kt bytes further */
    ".Ltn_pw_tail:\n\t"
    "ldr      r10, [sp, #52]\n\t"
    "add      r7, r10, r10\n"
    ".Ltn_pw_tail_loop:\n\t"
    "ldrsh    r9, [r6, r7]\n\t"
    "ldrsh    r8, [r6], #2\n\t"
    "ldrsb    r11, [r4], #1\n\t"
    "ldrsb    r12, [r5], #1\n\t"
    "mla      r0, r8, r11, r0\n\t"
    "mla      r1, r9, r11, r1\n\t"
    "mla      r2, r8, r12, r2\n\t"
    "mla      r3, r9, r12, r3\n\t"
    "subs     r10, r10, #1\n\t"
    "bne      .Ltn_pw_tail_loop\n"
    /* r5 (end of row b) is the next pair's row a */
    ".Ltn_pw_rq:\n\t"
    "ldrd     r4, r6, [sp, #16]\n\t"
    "ldrd     r8, r9, [r4], #8\n\t"
    "ldrd     r10, r11, [r6], #8\n\t"
    "strd     r4, r6, [sp, #16]\n\t"
    "ldr      r12, [sp, #24]\n\t"             /* K2 */
    "mvn      r10, r10\n\t"                  /* e' = -shift - 1 */
    "mvn      r11, r11\n\t"
    "lsl      r6, r12, r10\n\t"              /* K = K2 << e' */
    "lsl      r7, r12, r11\n\t"
    TN_PW_RQ(r0, r8, r6, r10) TN_PW_RQ(r1, r8, r6, r10) TN_PW_RQ(r2, r9, r7, r11) TN_PW_RQ(r3, r9, r7, r11)
    "orr      r0, r0, r2, lsl #8\n\t"
    "orr      r0, r0, r1, lsl #16\n\t"
    "orr      r0, r0, r3, lsl #24\n\t"
    "ldrd     r8, r9, [sp, #28]\n\t"
    "uqsub8   r0, r8, r0\n\t"
    "sub      r0, r8, r0\n\t"
    "uadd8    r0, r0, r9\n\t"
    "ldrd     r6, r7, [sp, #36]\n\t"
    "strh     r0, [r6], #2\n\t"
    "lsr      r0, r0, #16\n\t"
    "strh     r0, [r7], #2\n\t"
    "strd     r6, r7, [sp, #36]\n\t"
    "ldrd     r8, r9, [sp, #44]\n\t"
    "cmp      r6, r9\n\t"
    "beq      .Ltn_pw_done\n\t"
    "ldrd     r0, r2, [r8], #8\n\t"          /* bias pair, doubled */
    "lsl      r0, r0, #1\n\t"
    "lsl      r2, r2, #1\n\t"
    "mov      r1, r0\n\t"
    "mov      r3, r2\n\t"
    "str      r8, [sp, #44]\n\t"
    "mov      r4, r5\n\t"
    "ldm      sp, {r6, r7, r12, lr}\n\t"
    "add      r5, r4, r12\n\t"
    "bx       lr\n"
    ".Ltn_pw_done:\n\t"
    "add      sp, sp, #68\n\t"
    "pop      {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t"
    ".size tn__pw_2x2_asm, .-tn__pw_2x2_asm\n");
#undef TN_PW_GRP
#undef TN_PW_RQ
#endif

void tn__il_init(tn__il_t *L, const int8_t *weights, const int32_t *bias, int32_t c_out, int32_t k, const int16_t *col,
                 const int32_t *mult, const int32_t *shift, int32_t K2, uint32_t H4, uint32_t L4)
{
    L->weights = weights;
    L->bias = bias;
    L->c_out = c_out;
    L->k = k;
    L->col = col;
    L->mult = mult;
    L->shift = shift;
    L->K2 = K2;
    L->H4 = H4;
    L->L4 = L4;
    memset(&L->st, 0, sizeof(L->st));
#if TN_PW_ASM
    const int32_t n4 = k >> 2;
    L->st.col = col;
    L->st.chunks = n4 >> 3;
    L->st.k = k;
    L->st.entry = (tn__pw_2x2_body_end() - 64u * (uint32_t)(n4 & 7)) | 1u;
    L->st.mult = mult;
    L->st.shift = shift;
    L->st.K2 = K2;
    L->st.H4 = H4;
    L->st.L4 = L4;
    L->st.bias = bias;
    L->st.kt = k & 3;
    L->st.w = weights;
#endif
}

/* The C path of tn__il_run from channel oc0 (pairs of channels while two
 * pixels, then the last channel of an odd c_out or every channel of a lone
 * pixel). Out of line so that the assembly's call stays cheap. */
static TN_NOINLINE_MM void il_rest(const tn__il_t *L, int two, int32_t oc0, int8_t *out0, int8_t *out1)
{
    const int8_t *const weights = L->weights;
    const int32_t *const bias = L->bias, *const mult = L->mult, *const shift = L->shift;
    const int32_t c_out = L->c_out, k = L->k, K2 = L->K2;
    const uint32_t H4 = L->H4, L4 = L->L4;
    const int16_t *const col = L->col;
    const int32_t k4 = k & ~3, kt = k - k4, n4 = k4 >> 2;
    const int16_t *tail0 = col + 2 * k4, *tail1 = tail0 + kt;
    int32_t oc = oc0;
    if (two) {
        const int8_t *pa = weights + (size_t)oc * k;
        for (; oc + 2 <= c_out; oc += 2) {
            const int8_t *pb = pa + k;
            int32_t acc[4]; /* doubled: 2 * bias + sum of the doubled inputs */
            acc[0] = acc[1] = bias ? (int32_t)((uint32_t)bias[oc] << 1) : 0;
            acc[2] = acc[3] = bias ? (int32_t)((uint32_t)bias[oc + 1] << 1) : 0;
            if (n4) pw_loop(acc, &pa, &pb, col, n4);
            for (int32_t i = 0; i < kt; ++i) {
                acc[0] += tail0[i] * pa[i];
                acc[1] += tail1[i] * pa[i];
                acc[2] += tail0[i] * pb[i];
                acc[3] += tail1[i] * pb[i];
            }
            pa = pb + kt; /* next pair of rows */
            const int32_t ma = mult[oc], mb = mult[oc + 1];
            const int32_t ea = -shift[oc], eb = -shift[oc + 1];
            const int32_t Ka = (int32_t)((uint32_t)K2 << (ea - 1)), Kb = (int32_t)((uint32_t)K2 << (eb - 1));
            const uint32_t t = tn__clamp_u8(tn__usat8(pw_rq(acc[0], ma, Ka, ea)) |
                                                (tn__usat8(pw_rq(acc[2], mb, Kb, eb)) << 8) |
                                                (tn__usat8(pw_rq(acc[1], ma, Ka, ea)) << 16) |
                                                (tn__usat8(pw_rq(acc[3], mb, Kb, eb)) << 24),
                                            H4, L4);
            const uint16_t t0 = (uint16_t)t, t1 = (uint16_t)(t >> 16);
            memcpy(out0 + oc, &t0, 2);
            memcpy(out1 + oc, &t1, 2);
        }
    }
    /* The last channel of an odd c_out (two pixels), or a lone pixel. */
    for (; oc < c_out; ++oc) {
        const int8_t *pa = weights + (size_t)oc * k;
        int32_t a0 = bias ? (int32_t)((uint32_t)bias[oc] << 1) : 0, a1 = a0;
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
        const int32_t m = mult[oc], e = -shift[oc];
        const int32_t K = (int32_t)((uint32_t)K2 << (e - 1));
        const uint32_t t = tn__clamp_u8(tn__usat8(pw_rq(a0, m, K, e)) | (tn__usat8(pw_rq(a1, m, K, e)) << 8), H4, L4);
        out0[oc] = (int8_t)t;
        if (two) out1[oc] = (int8_t)(t >> 8);
    }
}

void tn__il_run(tn__il_t *L, int two, int8_t *out0, int8_t *out1)
{
    int32_t oc = 0;
#if TN_PW_ASM
    if (two && L->bias && L->c_out >= 2) { /* the asm only reads the state block */
        L->st.out0 = out0;
        L->st.out1 = out1;
        L->st.out0_end = out0 + (L->c_out & ~1);
        tn__pw_2x2_asm(&L->st);
        if (!(L->c_out & 1)) return;
        oc = L->c_out & ~1;
    }
#endif
    il_rest(L, two, oc, out0, out1);
}

#else
/* ISO C forbids an empty translation unit. */
typedef int tn__matmul_q15_unused;
#endif
