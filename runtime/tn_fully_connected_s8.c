/*
 * tinynas runtime: fully connected layer, int8 (logits).
 *
 *   out[o] = clamp(MBQM(bias[o] + sum_i (x[i] - zp_in) * w[o][i], m, s) + zp_out, act_min, act_max)
 * with (m, s) = (multiplier[o], shift[o]) per output channel, or
 * (multiplier[0], shift[0]) per tensor. Weight zero point is 0 (symmetric).
 */
#include "tn_internal.h"

/* One accumulator per output at a time: no scratch. */
size_t tn_fully_connected_s8_scratch_bytes(const tn_fc_params_t *p)
{
    (void)p;
    return 0;
}

int tn_fully_connected_s8(const tn_fc_params_t *p, const int8_t *input, const int8_t *weights,
                          const int32_t *bias, int8_t *output)
{
    if (!p || !input || !weights || !output || !p->out_multiplier || !p->out_shift) return TN_ERR_ARG;
    if (p->in_features <= 0 || p->out_features <= 0 || p->act_min > p->act_max) return TN_ERR_ARG;
    const int32_t off = -p->input_zero_point;
    for (int32_t o = 0; o < p->out_features; ++o) {
        const int8_t *w = weights + (size_t)o * p->in_features;
        int32_t acc = bias ? bias[o] : 0;
        for (int32_t i = 0; i < p->in_features; ++i) acc += (input[i] + off) * w[i];
        const int32_t q = p->per_channel ? o : 0;
        output[o] = tn__requant(acc, p->out_multiplier[q], p->out_shift[q], p->output_zero_point,
                                p->act_min, p->act_max);
    }
    return TN_OK;
}
