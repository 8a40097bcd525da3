/*
 * tinynas runtime: the squared reconstruction error of an autoencoder, as an
 * int32 score (the anomaly score of the network's last layer).
 *
 * Inputs: the reconstruction r (scale s_r, zero point zp_r) and the original
 * features x (scale s_x, zero point zp_x), `size` int8 values each (HWC,
 * whatever their shapes). Per element:
 *
 *   r' = MBQM(r - zp_r, multiplier, shift)   r in the original's units:
 *                                            multiplier * 2^(shift-31) ~= s_r / s_x
 *   e  = r' - (x - zp_x)
 *   S  = sum e^2                             int32, saturating at INT32_MAX
 *
 * so that MSE = mean((r - x)^2) ~= s_x^2 * S / size (the output tensor's scale
 * s_x^2 / size, zero point 0). r' is not clamped to int8: a reconstruction
 * outside the original's range counts in full.
 *
 * Range: |r - zp_r| <= 255 and shift <= 22 keep (r - zp_r) << shift and r'
 * within +-255 * 2^22 (int32), and |e| < 2^31. A square above INT32_MAX
 * (|e| > 46340) or a sum that would pass it gives INT32_MAX. With the two
 * inputs on comparable ranges (an autoencoder's reconstruction of its own
 * input: s_r ~ s_x), |e| <= 510 and e^2 <= 260100, so no sum of up to 8256
 * elements can saturate (DCASE's 640 inputs: at most 1.7e8 < 2^31); for a
 * reconstruction inside the original's range |e| <= 255 and 33025 elements
 * fit.
 */
#include "tn_internal.h"

size_t tn_mse_s8_scratch_bytes(const tn_mse_params_t *p, int32_t size)
{
    (void)p, (void)size;
    return 0;
}

int tn_mse_s8(const tn_mse_params_t *p, const int8_t *recon, const int8_t *input, int32_t size,
              int32_t *output)
{
    if (!p || !recon || !input || !output || size <= 0) return TN_ERR_ARG;
    if (p->recon_multiplier < 0 || p->recon_shift < -31 || p->recon_shift > 22) return TN_ERR_ARG;
    if (p->recon_zero_point < -128 || p->recon_zero_point > 127 || p->input_zero_point < -128 ||
        p->input_zero_point > 127)
        return TN_ERR_ARG;
    const int32_t zr = p->recon_zero_point, zx = p->input_zero_point;
    const int32_t m = p->recon_multiplier, s = p->recon_shift;
    uint32_t sum = 0;
    for (int32_t i = 0; i < size; ++i) {
        const int32_t e = tn__mbqm(recon[i] - zr, m, s) - (input[i] - zx);
        /* 46340^2 < 2^31 - 1 < 46341^2 */
        if (e > 46340 || e < -46340) {
            sum = (uint32_t)INT32_MAX;
            break;
        }
        /* sum <= INT32_MAX and e^2 < 2^31: no uint32 wrap. */
        sum += (uint32_t)(e * e);
        if (sum > (uint32_t)INT32_MAX) {
            sum = (uint32_t)INT32_MAX;
            break;
        }
    }
    *output = (int32_t)sum;
    return TN_OK;
}
