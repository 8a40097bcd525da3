/*
 * tinynas runtime: nearest-neighbour upsampling by an integer factor, int8.
 *
 *   out[y][x][c] = in[y / f][x / f][c]     (h*f x w*f x c, HWC; C division)
 *
 * TF-Lite's RESIZE_NEAREST_NEIGHBOR with align_corners = false and
 * half_pixel_centers = false on an exact integer factor (its source index
 * min(floor(y * h / (h*f)), h - 1) = y / f). A copy: the output keeps the
 * input's scale and zero point, so there is no arithmetic and no clamp.
 *
 * Order: input rows from the last to the first; each builds the last output
 * row of its group of f (pixels from the right, each copied f times) and
 * copies that row to the f - 1 rows above it. Output row r starts at byte
 * r * f * w * c and input row i at i * w * c, so (f >= 2) a row written never
 * covers an input row not read yet: the kernel may run in place (output ==
 * input, the buffer holding the output's h*f*w*f*c bytes); f == 1 is a copy,
 * skipped in place. Otherwise input and output must not overlap.
 */
#include "tn_internal.h"

size_t tn_upsample_s8_scratch_bytes(const tn_upsample_params_t *p)
{
    (void)p;
    return 0;
}

int tn_upsample_s8(const tn_upsample_params_t *p, const int8_t *input, int8_t *output)
{
    if (!p || !input || !output) return TN_ERR_ARG;
    const int32_t h = p->h_in, w = p->w_in, c = p->c, f = p->factor;
    if (h <= 0 || w <= 0 || c <= 0 || f < 1) return TN_ERR_ARG;
    if ((int64_t)h * f * w * f * c > INT32_MAX) return TN_ERR_ARG;
    const int32_t in_row = w * c;      /* bytes of an input row */
    const int32_t out_row = in_row * f; /* bytes of an output row */
    if (f == 1) {
        if (output != input) memcpy(output, input, (size_t)h * (size_t)in_row);
        return TN_OK;
    }
    for (int32_t iy = h - 1; iy >= 0; --iy) {
        const int8_t *src = input + (size_t)iy * (size_t)in_row;
        int8_t *first = output + (size_t)iy * (size_t)f * (size_t)out_row;
        int8_t *last = first + (size_t)(f - 1) * (size_t)out_row;
        for (int32_t ix = w - 1; ix >= 0; --ix) {
            const int8_t *px = src + (size_t)ix * (size_t)c;
            int8_t *dst = last + (size_t)ix * (size_t)f * (size_t)c;
            if (c == 1) {
                const int8_t v = *px;
                for (int32_t k = 0; k < f; ++k) dst[k] = v;
            } else {
                for (int32_t k = 0; k < f; ++k) memcpy(dst + (size_t)k * (size_t)c, px, (size_t)c);
            }
        }
        for (int32_t k = 0; k < f - 1; ++k) memcpy(first + (size_t)k * (size_t)out_row, last, (size_t)out_row);
    }
    return TN_OK;
}
