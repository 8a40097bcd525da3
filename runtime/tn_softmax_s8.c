/*
 * tinynas runtime: int8 softmax, TF-Lite's reference arithmetic bit for bit.
 *
 * Per row, with m = max(row) and d_c = x_c - m <= 0:
 *   e_c = exp(beta * s_in * d_c)     in Q0.31 (gemmlowp exp_on_negative_values
 *                                    on d_c rescaled to Q5.26)
 *   S   = sum_c e_c                  in Q12.19 (each e_c rounded to it)
 *   y_c = e_c / S                    as 1 / S (Newton-Raphson, Q0.31 with
 *                                    num_bits_over_unit), times e_c, rounded
 *                                    to 8 bits, minus 128
 * i.e. the output's scale is 1/256 and its zero point -128. Inputs more than
 * diff_min below the row's maximum contribute nothing and give -128.
 * The gemmlowp constants are the raw Q0.31 / Q2.29 values of exp(-2^k),
 * exp(-1/8), 1/3, 48/17 and -32/17.
 */
#include "tn_internal.h"

#define TN_SM_DIFF_BITS 5  /* integer bits of the rescaled difference (Q5.26) */
#define TN_SM_ACC_BITS 12  /* integer bits of the sum of exponentials (Q12.19) */

/* gemmlowp SaturatingRoundingMultiplyByPOT<e> for e > 0: x * 2^e, saturated. */
static int32_t sat_shift_left(int32_t x, int e)
{
    const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - e)) - 1u);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return (int32_t)((uint32_t)x << e);
}

/* Wrapping int32 add, as gemmlowp's fixed-point + on int32. */
static int32_t add_wrap(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* exp(a) for a in [-1/4, 0), a and the result in Q0.31: a Taylor series around -1/8. */
static int32_t exp_quarter(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) */
    const int32_t one_third = 715827883;
    const int32_t x = add_wrap(a, 1 << 28); /* a + 1/8 */
    const int32_t x2 = tn__srdhm(x, x);
    const int32_t x3 = tn__srdhm(x2, x);
    const int32_t x4 = tn__srdhm(x2, x2);
    const int32_t x4_over_4 = tn__rdbpot(x4, 2);
    const int32_t poly = tn__rdbpot(add_wrap(tn__srdhm(add_wrap(x4_over_4, x3), one_third), x2), 1);
    return add_wrap(exp_minus_one_eighth, tn__srdhm(exp_minus_one_eighth, add_wrap(x, poly)));
}

/* exp(a) for a <= 0 in Q5.26; the result in Q0.31 (gemmlowp exp_on_negative_values). */
static int32_t exp_negative(int32_t a)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                           39332535,   720401,     242}; /* exp(-2^k), k = -2..4 */
    const int32_t quarter = 1 << 24;
    const int32_t a_mod_quarter_minus_quarter = add_wrap(a & (quarter - 1), -quarter);
    int32_t result = exp_quarter(sat_shift_left(a_mod_quarter_minus_quarter, TN_SM_DIFF_BITS));
    const int32_t remainder = add_wrap(a_mod_quarter_minus_quarter, -a);
    int k;
    for (k = 0; k < 7; ++k) {
        if (remainder & (int32_t)((uint32_t)1 << (24 + k))) result = tn__srdhm(result, multipliers[k]);
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out (Newton-Raphson in Q2.29). */
static int32_t one_over_one_plus_x(int32_t x)
{
    const int64_t sum = (int64_t)x + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_17 = 1515870810, cneg32_17 = -1010580540, one_q2 = 1 << 29;
    int32_t r = add_wrap(c48_17, tn__srdhm(half_denominator, cneg32_17));
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = add_wrap(one_q2, -tn__srdhm(half_denominator, r));
        r = add_wrap(r, sat_shift_left(tn__srdhm(r, one_minus), 2));
    }
    return sat_shift_left(r, 1);
}

static int clz32(uint32_t x)
{
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

int tn_softmax_params_from_scale(double beta, double input_scale, tn_softmax_params_t *p)
{
    if (!p || !(beta > 0.0) || !(input_scale > 0.0)) return TN_ERR_ARG;
    double real = beta * input_scale * (double)(1 << (31 - TN_SM_DIFF_BITS));
    if (real > 2147483647.0) real = 2147483647.0;
    if (!(real > 1.0)) return TN_ERR_ARG; /* TF-Lite requires a multiplier > 1 */
    int32_t shift = 0;
    const int rc = tn_quantize_multiplier(real, &p->input_multiplier, &shift);
    if (rc != TN_OK || shift < 0) return TN_ERR_ARG;
    p->input_left_shift = shift;
    /* -floor((2^5 - 1) * 2^26 / 2^shift): the largest difference whose rescaling does not overflow */
    const double radius = (double)((1 << TN_SM_DIFF_BITS) - 1) *
                          (double)((int64_t)1 << (31 - TN_SM_DIFF_BITS)) /
                          (double)((int64_t)1 << shift);
    p->diff_min = -(int32_t)radius; /* radius >= 0: truncation is the floor */
    return TN_OK;
}

size_t tn_softmax_s8_scratch_bytes(int32_t rows, int32_t depth)
{
    (void)rows, (void)depth;
    return 0;
}

int tn_softmax_s8(const tn_softmax_params_t *p, const int8_t *input, int32_t rows, int32_t depth,
                  int8_t *output)
{
    /* depth <= 2048 keeps the Q12.19 sum below 2^31 (each term <= 2^19) */
    if (!p || !input || !output || rows <= 0 || depth <= 0 || depth > 2048 ||
        p->input_left_shift < 0 || p->input_left_shift > 31)
        return TN_ERR_ARG;
    int32_t r, c;
    for (r = 0; r < rows; ++r) {
        const int8_t *x = input + r * depth;
        int8_t *y = output + r * depth;
        int32_t max = -128;
        for (c = 0; c < depth; ++c) if (x[c] > max) max = x[c];
        int32_t sum = 0; /* Q12.19 */
        for (c = 0; c < depth; ++c) {
            const int32_t d = x[c] - max;
            if (d < p->diff_min) continue;
            const int32_t scaled = tn__srdhm((int32_t)((uint32_t)d << p->input_left_shift), p->input_multiplier);
            sum = add_wrap(sum, tn__rdbpot(exp_negative(scaled), TN_SM_ACC_BITS));
        }
        /* 1 / sum: sum = 2^bits_over_unit * (1 + f), f in [0, 1) */
        const int headroom_plus_one = clz32((uint32_t)sum);
        const int bits_over_unit = TN_SM_ACC_BITS - headroom_plus_one;
        const int32_t f = (int32_t)(((uint32_t)sum << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t reciprocal = one_over_one_plus_x(f);
        for (c = 0; c < depth; ++c) {
            const int32_t d = x[c] - max;
            if (d < p->diff_min) {
                y[c] = -128;
                continue;
            }
            const int32_t scaled = tn__srdhm((int32_t)((uint32_t)d << p->input_left_shift), p->input_multiplier);
            const int32_t e = exp_negative(scaled);
            int32_t v = tn__rdbpot(tn__srdhm(reciprocal, e), bits_over_unit + 31 - 8) - 128;
            if (v < -128) v = -128;
            if (v > 127) v = 127;
            y[c] = (int8_t)v;
        }
    }
    return TN_OK;
}
