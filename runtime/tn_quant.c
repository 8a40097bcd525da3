/*
 * tinynas runtime: fixed-point quantisation helpers (TF-Lite semantics).
 * The rounding primitives themselves live in tn_internal.h so kernels inline
 * them; these are the out-of-line public versions plus the real -> (Q31
 * multiplier, shift) conversion used by the host-side quantiser.
 */
#include "tn_internal.h"

int32_t tn_saturating_rounding_doubling_high_mul(int32_t a, int32_t b) { return tn__srdhm(a, b); }

int32_t tn_rounding_divide_by_pot(int32_t x, int32_t exponent) { return tn__rdbpot(x, exponent); }

int32_t tn_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift)
{
    return tn__mbqm(x, multiplier, shift);
}

/* TF-Lite QuantizeMultiplier without libm: frexp by exact scaling by 2,
 * then round(q * 2^31) half away from zero (q * 2^31 is exact in a double). */
int tn_quantize_multiplier(double real, int32_t *multiplier, int32_t *shift)
{
    if (!multiplier || !shift) return TN_ERR_ARG;
    if (real != real || real - real != 0.0 || real < 0.0) return TN_ERR_ARG; /* NaN, inf, < 0 */
    if (real == 0.0) {
        *multiplier = 0;
        *shift = 0;
        return TN_OK;
    }
    int32_t e = 0;
    double q = real;
    while (q >= 1.0) { q *= 0.5; ++e; }
    while (q < 0.5) { q *= 2.0; --e; }
    /* q in [0.5, 1): q * 2^31 in [2^30, 2^31), q + 0.5 rounding is exact. */
    int64_t q_fixed = (int64_t)(q * 2147483648.0 + 0.5);
    if (q_fixed == ((int64_t)1 << 31)) {
        q_fixed /= 2;
        ++e;
    }
    if (e < -31) {
        e = 0;
        q_fixed = 0;
    }
    if (e > 30) {
        e = 30;
        q_fixed = INT32_MAX;
    }
    *multiplier = (int32_t)q_fixed;
    *shift = e;
    return TN_OK;
}

int tn_add_params_from_scales(double s1, int32_t zp1, double s2, int32_t zp2,
                              double s_out, int32_t zp_out, int32_t act_min, int32_t act_max,
                              tn_add_params_t *p)
{
    if (!p || !(s1 > 0.0) || !(s2 > 0.0) || !(s_out > 0.0)) return TN_ERR_ARG;
    p->input1_zero_point = zp1;
    p->input2_zero_point = zp2;
    p->output_zero_point = zp_out;
    p->left_shift = 20;
    const double twice_max = 2.0 * (s1 > s2 ? s1 : s2);
    int rc = tn_quantize_multiplier(s1 / twice_max, &p->input1_multiplier, &p->input1_shift);
    if (rc == TN_OK)
        rc = tn_quantize_multiplier(s2 / twice_max, &p->input2_multiplier, &p->input2_shift);
    if (rc == TN_OK)
        rc = tn_quantize_multiplier(twice_max / ((double)(1 << 20) * s_out), &p->output_multiplier,
                                    &p->output_shift);
    p->act_min = act_min;
    p->act_max = act_max;
    return rc;
}

static int out_dim_ok(int32_t in, int32_t pad0, int32_t pad1, int32_t k, int32_t stride, int32_t out)
{
    const int32_t span = in + pad0 + pad1 - k;
    return span >= 0 && out == span / stride + 1;
}

int tn__check_conv_params(const tn_conv_params_t *p)
{
    if (!p || !p->out_multiplier || !p->out_shift) return TN_ERR_ARG;
    if (p->h_in <= 0 || p->w_in <= 0 || p->c_in <= 0 || p->h_out <= 0 || p->w_out <= 0 ||
        p->c_out <= 0 || p->kh <= 0 || p->kw <= 0 || p->stride_h <= 0 || p->stride_w <= 0)
        return TN_ERR_ARG;
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0) return TN_ERR_ARG;
    /* A pad of k or more would create output pixels that see only padding. */
    if (p->pad_top >= p->kh || p->pad_bottom >= p->kh || p->pad_left >= p->kw || p->pad_right >= p->kw)
        return TN_ERR_ARG;
    if (p->act_min > p->act_max || p->act_min < -128 || p->act_max > 127) return TN_ERR_ARG;
    if (!out_dim_ok(p->h_in, p->pad_top, p->pad_bottom, p->kh, p->stride_h, p->h_out) ||
        !out_dim_ok(p->w_in, p->pad_left, p->pad_right, p->kw, p->stride_w, p->w_out))
        return TN_ERR_SHAPE;
    return TN_OK;
}
