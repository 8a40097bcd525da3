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
 */
#include "tn_internal.h"

int tn_add_s8(const tn_add_params_t *p, const int8_t *input1, const int8_t *input2,
              int8_t *output, int32_t size)
{
    if (!p || !input1 || !input2 || !output || size < 0) return TN_ERR_ARG;
    if (p->left_shift < 0 || p->left_shift > 23 || p->act_min > p->act_max) return TN_ERR_ARG;
    const int32_t off1 = -p->input1_zero_point, off2 = -p->input2_zero_point;
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
