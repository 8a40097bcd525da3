/*
 * tinynas runtime: elementwise add of two int8 tensors with different
 * quantisation (TF-Lite int8 ADD, reference kernel arithmetic):
 *
 *   a_i  = (x1 - zp1) << left_shift           (left_shift = 20: headroom so the
 *   b_i  = (x2 - zp2) << left_shift            rescaling below keeps precision)
 *   a_i' = MBQM(a_i, m1, s1),  b_i' = MBQM(b_i, m2, s2)   (both now in units of 2*max(s1,s2)/2^20)
 *   y    = clamp(MBQM(a_i' + b_i', m_out, s_out) + zp_out, act_min, act_max)
 *
 * Each output element depends only on the same index of both inputs, so the
 * output may alias input1 and/or input2.
 *
 * Fast path (bit-identical, every build): with d = x - zp (|d| <= 255),
 * L = left_shift and e = -s >= 0, the input rescale MBQM(d << L, m, -e) is
 *   SRDHM = floor((d m 2^L + 2^30) / 2^31),   RDBPOT(r, e) = floor((r + 2^(e-1) - [r<0]) / 2^e)
 * and [r < 0] = [d < 0] when m > 2^(30-L) (|d m 2^L| >= 2^30 for d != 0), so
 * the nested floors fold into one division; scaling it by 2^(1+L-e) makes
 * the divisor 2^32:
 *   a' = high word of (d << (1+L-e)) * m + C,  C = 2^31 + 2^(31-e) - [d<0] 2^(32-e)
 * (e = 0, no RDBPOT: C = 2^31), one SMULL-and-add per input instead of the
 * generic SRDHM + RDBPOT. Needs e <= 1 + L and (d << (1+L-e)) within int32
 * (L - e <= 22). The other input, of the larger scale, has TF-Lite's
 * multiplier 0.5 = (2^30, shift 0): its rescale is exactly d << (L - 1). The
 * output requantisation is tn__rq_fast. Other parameters (no input at 0.5,
 * the output outside tn__rq_fast_ok) take the generic loop.
 */
#include "tn_internal.h"

/* One input's fast rescale constants: sh = 1 + L - e, c = 2^31 + 2^(31-e),
 * kn = 2^(32-e) (0 when e = 0). */
typedef struct {
    int32_t off, sh, m;
    uint32_t c, kn;
} add_in_t;

static int add_in_fast(int32_t zp, int32_t L, int32_t m, int32_t shift, add_in_t *q)
{
    const int32_t e = -shift;
    if (e < 0 || e > 1 + L || L - e > 22) return 0;
    if (e > 0 && (int64_t)m <= ((int64_t)1 << (30 - L))) return 0;
    if (m <= 0) return 0;
    q->off = -zp;
    q->sh = 1 + L - e;
    q->m = m;
    q->c = 0x80000000u + (e > 0 ? 0x80000000u >> e : 0u);
    q->kn = e > 0 ? (uint32_t)(0x100000000ull >> e) : 0u;
    return 1;
}

TN_INLINE int32_t add_in(int32_t x, int32_t off, int32_t sh, int32_t m, uint32_t c, uint32_t kn)
{
    const int32_t d = (int32_t)((uint32_t)(x + off) << sh);
    return (int32_t)(((int64_t)d * m + (int64_t)(c - (kn & (uint32_t)(d >> 31)))) >> 32);
}

/* Elementwise, blocks of rescaled inputs on the stack: no arena scratch. */
size_t tn_add_s8_scratch_bytes(const tn_add_params_t *p, int32_t size)
{
    (void)p, (void)size;
    return 0;
}

int tn_add_s8(const tn_add_params_t *p, const int8_t *input1, const int8_t *input2,
              int8_t *output, int32_t size)
{
    if (!p || !input1 || !input2 || !output || size < 0) return TN_ERR_ARG;
    if (p->left_shift < 0 || p->left_shift > 23 || p->act_min > p->act_max) return TN_ERR_ARG;
    const int32_t off1 = -p->input1_zero_point, off2 = -p->input2_zero_point;
    add_in_t q1, q2;
    if (add_in_fast(p->input1_zero_point, p->left_shift, p->input1_multiplier, p->input1_shift, &q1) &&
        add_in_fast(p->input2_zero_point, p->left_shift, p->input2_multiplier, p->input2_shift, &q2) &&
        tn__rq_fast_ok(p->output_multiplier, p->output_shift)) {
        /* Blocks of 64: the input with the smaller scale rescaled into a stack
         * buffer, then the other one, the sum and the output requantisation
         * (fewer live constants per loop, so they stay in registers; aliasing
         * is safe as a block of both inputs is read before the same block of
         * the output is written). TF-Lite gives the input of the larger scale
         * the multiplier 0.5 exactly, (2^30, shift 0), whose rescale is
         * SRDHM(d << L, 2^30) = floor(d 2^(L-1) + 1/2) = d << (L - 1). */
        const int32_t mo = p->output_multiplier, sho = -p->output_shift - 1;
        const int32_t kho = tn__rq_kh(p->output_shift, p->output_zero_point);
        const int32_t lo = p->act_min, hi = p->act_max;
        const int32_t L = p->left_shift;
        const int half1 = L >= 1 && q1.m == 0x40000000 && q1.sh == 1 + L, half2 = L >= 1 && q2.m == 0x40000000 && q2.sh == 1 + L;
        if (half1 || half2) {
            const int swap = !half1; /* B: the input rescaled first */
            const int8_t *const inA = swap ? input2 : input1, *const inB = swap ? input1 : input2;
            const add_in_t qB = swap ? q1 : q2;
            const int32_t offA = swap ? q2.off : q1.off, shA = L - 1;
            int32_t sb[64];
            for (int32_t i0 = 0; i0 < size; i0 += 64) {
                const int32_t n = size - i0 < 64 ? size - i0 : 64;
                const int8_t *xa = inA + i0, *xb = inB + i0;
                int8_t *o = output + i0;
                {
                    const int32_t off = qB.off, sh = qB.sh, m = qB.m;
                    const uint32_t c = qB.c, kn = qB.kn;
                    for (int32_t j = 0; j < n; ++j) sb[j] = add_in(xb[j], off, sh, m, c, kn);
                }
                for (int32_t j = 0; j < n; ++j)
                    o[j] = tn__clamp8(tn__rq_fast(sb[j] + (int32_t)((uint32_t)(xa[j] + offA) << shA), mo, kho, sho),
                                      lo, hi);
            }
            return TN_OK;
        }
    }
    for (int32_t i = 0; i < size; ++i) {
        /* |x - zp| <= 255, so << 20 (up to 23) cannot overflow int32. */
        const int32_t a = (int32_t)((uint32_t)(input1[i] + off1) << p->left_shift);
        const int32_t b = (int32_t)((uint32_t)(input2[i] + off2) << p->left_shift);
        const int32_t sa = tn__mbqm(a, p->input1_multiplier, p->input1_shift);
        const int32_t sb = tn__mbqm(b, p->input2_multiplier, p->input2_shift);
        output[i] = tn__requant(sa + sb, p->output_multiplier, p->output_shift, p->output_zero_point,
                                p->act_min, p->act_max);
    }
    return TN_OK;
}
