/*
 * tinynas runtime: patch copies for patch-based (MCUNetV2) inference.
 *
 * The first stages run on spatial patches of the input; each patch (with its
 * receptive-field halo) is cut out of the image, pushed through the per-patch
 * layers, and its output tile is written back into the full-size feature map.
 * In HWC a row of a patch is w*c contiguous bytes, so both directions are one
 * memcpy per row.
 */
#include "tn_internal.h"

void tn_copy_patch_s8(const int8_t *src, int32_t src_w, int32_t src_y0, int32_t src_x0,
                      int8_t *dst, int32_t dst_w, int32_t dst_y0, int32_t dst_x0,
                      int32_t h, int32_t w, int32_t c)
{
    if (!src || !dst || h <= 0 || w <= 0 || c <= 0) return;
    const size_t row_bytes = (size_t)w * c;
    for (int32_t y = 0; y < h; ++y) {
        memcpy(dst + ((size_t)(dst_y0 + y) * dst_w + dst_x0) * c,
               src + ((size_t)(src_y0 + y) * src_w + src_x0) * c, row_bytes);
    }
}

void tn_crop_s8(const int8_t *src, int32_t src_h, int32_t src_w, int32_t c,
                int32_t y0, int32_t x0, int32_t h, int32_t w, int8_t fill, int8_t *dst)
{
    if (!src || !dst || h <= 0 || w <= 0 || c <= 0) return;
    /* Columns of the window that exist in src: [xa, xb). */
    const int32_t xa = x0 < 0 ? 0 : (x0 > src_w ? src_w : x0);
    const int32_t xb = x0 + w > src_w ? src_w : (x0 + w < 0 ? 0 : x0 + w);
    for (int32_t y = 0; y < h; ++y) {
        int8_t *d = dst + (size_t)y * w * c;
        const int32_t sy = y0 + y;
        if (sy < 0 || sy >= src_h || xa >= xb) {
            memset(d, fill, (size_t)w * c);
            continue;
        }
        const size_t left = (size_t)(xa - x0) * c, mid = (size_t)(xb - xa) * c;
        memset(d, fill, left);
        memcpy(d + left, src + ((size_t)sy * src_w + xa) * c, mid);
        memset(d + left + mid, fill, (size_t)w * c - left - mid);
    }
}
