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

/* ---- camera frames ----
 * A frame pixel becomes its int8 input values by one table lookup per channel
 * (lut[c][v] = quantised (v/255 - mean_c) / std_c, see tn_runtime.h), so a
 * crop reads the frame directly: the image is never held as int8. */
int32_t tn_frame_channels(int32_t format)
{
    return format == TN_FRAME_GRAY8 ? 1 : format == TN_FRAME_RGB888 || format == TN_FRAME_RGB565 ? 3 : 0;
}

void tn__frame_row(const tn_frame_t *f, int32_t iy, int32_t ix, int32_t n, int8_t *dst)
{
    const int8_t *const lut = f->lut;
    if (f->format == TN_FRAME_GRAY8) {
        const uint8_t *s = f->pixels + (ptrdiff_t)iy * f->pitch + ix;
        for (int32_t i = 0; i < n; ++i) dst[i] = lut[s[i]];
    } else if (f->format == TN_FRAME_RGB888) {
        const uint8_t *s = f->pixels + (ptrdiff_t)iy * f->pitch + 3 * (ptrdiff_t)ix;
        for (int32_t i = 0; i < n; ++i, s += 3, dst += 3) {
            dst[0] = lut[s[0]];
            dst[1] = lut[256 + s[1]];
            dst[2] = lut[512 + s[2]];
        }
    } else { /* RGB565, little-endian: byte 0 = gggbbbbb, byte 1 = rrrrrggg */
        const uint8_t *s = f->pixels + (ptrdiff_t)iy * f->pitch + 2 * (ptrdiff_t)ix;
        for (int32_t i = 0; i < n; ++i, s += 2, dst += 3) {
            const uint32_t v = (uint32_t)s[0] | ((uint32_t)s[1] << 8);
            const uint32_t r = v >> 11, g = (v >> 5) & 63u, b = v & 31u;
            dst[0] = lut[(r << 3) | (r >> 2)];
            dst[1] = lut[256 + ((g << 2) | (g >> 4))];
            dst[2] = lut[512 + ((b << 3) | (b >> 2))];
        }
    }
}

/* The crop of tn_crop_s8 from an int8 image (src) or a camera frame (f, through
 * its table): rows and columns outside the source take `fill`. */
static void crop_rows(const int8_t *src, const tn_frame_t *f, int32_t src_h, int32_t src_w, int32_t c,
                      int32_t y0, int32_t x0, int32_t h, int32_t w, int8_t fill, int8_t *dst)
{
    /* Columns of the window that exist in the source: [xa, xb). */
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
        if (f)
            tn__frame_row(f, sy, xa, xb - xa, d + left);
        else
            memcpy(d + left, src + ((size_t)sy * src_w + xa) * c, mid);
        memset(d + left + mid, fill, (size_t)w * c - left - mid);
    }
}

void tn_crop_s8(const int8_t *src, int32_t src_h, int32_t src_w, int32_t c,
                int32_t y0, int32_t x0, int32_t h, int32_t w, int8_t fill, int8_t *dst)
{
    if (!src || !dst || h <= 0 || w <= 0 || c <= 0) return;
    crop_rows(src, NULL, src_h, src_w, c, y0, x0, h, w, fill, dst);
}

void tn_crop_frame_s8(const tn_frame_t *f, int32_t src_h, int32_t src_w, int32_t y0, int32_t x0,
                      int32_t h, int32_t w, int8_t fill, int8_t *dst)
{
    const int32_t c = f ? tn_frame_channels(f->format) : 0;
    if (!f || !f->pixels || !f->lut || !dst || c == 0 || h <= 0 || w <= 0) return;
    crop_rows(NULL, f, src_h, src_w, c, y0, x0, h, w, fill, dst);
}
