/*
 * tinynas runtime: global average pool HWC -> C, int8.
 *
 * TF-Lite int8 AVERAGE_POOL_2D arithmetic with the window = whole map:
 *   sum = sum_{y,x} in[y][x][c]                (raw int8 values)
 *   avg = sum > 0 ? (sum + n/2) / n : (sum - n/2) / n     (n = h*w; C division,
 *                                                          i.e. ties away from 0)
 *   out[c] = clamp(avg, act_min, act_max)
 * Averaging commutes with the affine dequantisation, so in TF-Lite's scheme
 * the output keeps the input's scale and zero point and no requantisation is
 * needed (design choice: the quantiser gives the pool output the same
 * (scale, zp) as its input, as TF-Lite does).
 */
#include "tn_internal.h"

/* One int32 sum per channel at a time: no scratch. */
size_t tn_avgpool_global_s8_scratch_bytes(int32_t h, int32_t w, int32_t c)
{
    (void)h, (void)w, (void)c;
    return 0;
}

int tn_avgpool_global_s8(const int8_t *input, int32_t h, int32_t w, int32_t c,
                         int32_t act_min, int32_t act_max, int8_t *output)
{
    if (!input || !output || h <= 0 || w <= 0 || c <= 0 || act_min > act_max) return TN_ERR_ARG;
    const int32_t n = h * w; /* |sum| <= 128 * n: fits int32 for n < 2^24 */
    if (n >= (1 << 24)) return TN_ERR_ARG;
    for (int32_t ch = 0; ch < c; ++ch) {
        int32_t sum = 0;
        const int8_t *x = input + ch;
        for (int32_t i = 0; i < n; ++i, x += c) sum += *x;
        int32_t avg = sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
        if (avg < act_min) avg = act_min;
        if (avg > act_max) avg = act_max;
        output[ch] = (int8_t)avg;
    }
    return TN_OK;
}
