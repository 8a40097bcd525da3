/* On-target check of the runtime's conv / pointwise / depthwise kernels
 * against a naive reference, on random shapes that reach every branch of the
 * Arm assembly (scripts/run-on-qemu tests/runtime/qemu_check, ctest
 * RuntimeQemuCheck.*). The reference is written independently of runtime/:
 * int64 accumulators over explicitly bounds-checked windows, gemmlowp rounding
 * by sign and magnitude. Prints one line per failing case and a summary;
 * exits with the number of failures (0: all equal). Also builds on a host. */
#include <stdint.h>
#include <string.h>

#include "runtime/tn_runtime.h"

#ifdef TN_CHECK_HOST
#include <stdio.h>
static void put(const char *s) { fputs(s, stdout); }
#else
#include "semihost.h"
static void put(const char *s) { tn_semihost_write0(s); }
#endif

static void put_i(int64_t v)
{
    char b[24];
    int n = 0, neg = v < 0;
    uint64_t u = neg ? (uint64_t)(-(v + 1)) + 1u : (uint64_t)v;
    do {
        b[n++] = (char)('0' + (int)(u % 10u));
        u /= 10u;
    } while (u);
    char o[26];
    int k = 0;
    if (neg) o[k++] = '-';
    while (n) o[k++] = b[--n];
    o[k] = 0;
    put(o);
}

static uint32_t g_seed = 20250101u;
static uint32_t lcg(void) { return g_seed = g_seed * 1664525u + 1013904223u; }
static int32_t rnd(int32_t lo, int32_t hi) { return lo + (int32_t)((lcg() >> 8) % (uint32_t)(hi - lo + 1)); }

/* ---- reference arithmetic ---- */
static int32_t ref_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    const int64_t ab = (int64_t)a * b;
    const uint64_t mag = ab < 0 ? (uint64_t)(-(ab + 1)) + 1u : (uint64_t)ab;
    /* round(ab / 2^31), ties up: for ab >= 0 floor((|ab| + 2^30) / 2^31); for ab < 0 -floor((|ab| + 2^30 - 1) / 2^31) */
    if (ab >= 0) return (int32_t)((mag + (1ull << 30)) >> 31);
    return -(int32_t)((mag + (1ull << 30) - 1u) >> 31);
}
static int32_t ref_rdbpot(int32_t x, int e)
{
    if (e == 0) return x;
    const int64_t mag = x < 0 ? -(int64_t)x : (int64_t)x;
    const int64_t q = (mag + ((int64_t)1 << (e - 1))) >> e;
    return (int32_t)(x < 0 ? -q : q);
}
static int8_t ref_requant(int64_t acc, int32_t m, int32_t shift, int32_t zp, int32_t lo, int32_t hi)
{
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const int32_t xs = (int32_t)((uint32_t)(int32_t)acc << left);
    int64_t y = (int64_t)ref_rdbpot(ref_srdhm(xs, m), right) + zp;
    if (y < lo) y = lo;
    if (y > hi) y = hi;
    return (int8_t)y;
}

/* ---- buffers ---- */
#define MAXT (40 * 40 * 48)
static int8_t g_in[MAXT], g_out[MAXT + 64], g_ref[MAXT], g_w[48 * 7 * 7 * 20 + 4096];
static int32_t g_bias[256], g_mult[256], g_shift[256];
static uint64_t g_scratch_words[(2 * 7 * 7 * 48 * 2 + 64 * 64 + 64) / 8 + 8];
static int g_failures, g_cases;

static void rand_requant(int32_t n, int32_t taps, int mix)
{
    int32_t sh = -7;
    for (int32_t t = taps; t >= 4; t >>= 2) --sh;
    for (int32_t i = 0; i < n; ++i) {
        g_mult[i] = (int32_t)(0x40000000u + (lcg() >> 2) % 0x3FFFFFFFu);
        g_shift[i] = sh - rnd(0, 1);
        g_bias[i] = rnd(-30000, 30000);
        if (mix && rnd(0, 5) == 0) {
            static const int32_t shifts[] = {-1, 0, 1, -23, -2, -22};
            g_shift[i] = shifts[rnd(0, 5)];
        }
        if (mix && rnd(0, 6) == 0) {
            static const int32_t big[] = {1 << 29, -(1 << 29), (1 << 29) - 1, -(1 << 29) + 1, 2000000000};
            g_bias[i] = big[rnd(0, 4)];
        }
    }
}

static void fail(const char *what, const tn_conv_params_t *p, int32_t i)
{
    ++g_failures;
    put("FAIL ");
    put(what);
    put(" k=");
    put_i(p->kh);
    put("x");
    put_i(p->kw);
    put(" s=");
    put_i(p->stride_h);
    put(",");
    put_i(p->stride_w);
    put(" in=");
    put_i(p->h_in);
    put("x");
    put_i(p->w_in);
    put("x");
    put_i(p->c_in);
    put(" cout=");
    put_i(p->c_out);
    put(" pads=");
    put_i(p->pad_top);
    put_i(p->pad_left);
    put_i(p->pad_bottom);
    put_i(p->pad_right);
    put(" at ");
    put_i(i);
    put("\n");
}

static tn_conv_params_t shape(int32_t h, int32_t w, int32_t cin, int32_t cout, int32_t kh, int32_t kw, int32_t sh,
                              int32_t sw, int32_t pt, int32_t pl, int32_t pb, int32_t pr)
{
    tn_conv_params_t p;
    memset(&p, 0, sizeof(p));
    p.h_in = h;
    p.w_in = w;
    p.c_in = cin;
    p.c_out = cout;
    p.kh = kh;
    p.kw = kw;
    p.stride_h = sh;
    p.stride_w = sw;
    p.pad_top = pt;
    p.pad_left = pl;
    p.pad_bottom = pb;
    p.pad_right = pr;
    p.h_out = (h + pt + pb - kh) / sh + 1;
    p.w_out = (w + pl + pr - kw) / sw + 1;
    p.input_zero_point = rnd(-128, 127);
    p.output_zero_point = rnd(-128, 127);
    const int act = rnd(0, 2);
    p.act_min = act == 0 ? -128 : p.output_zero_point;
    p.act_max = act == 2 ? (p.output_zero_point + 60 > 127 ? 127 : p.output_zero_point + 60) : 127;
    p.out_multiplier = g_mult;
    p.out_shift = g_shift;
    return p;
}

static void fill(int8_t *x, int32_t n, int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; ++i) x[i] = (int8_t)rnd(lo, hi);
}

/* conv (groups 1, OHWI) or depthwise ([kh][kw][c]) reference into g_ref. */
static void ref_conv(const tn_conv_params_t *p, const int32_t *bias, int dw)
{
    for (int32_t oy = 0; oy < p->h_out; ++oy)
        for (int32_t ox = 0; ox < p->w_out; ++ox)
            for (int32_t oc = 0; oc < p->c_out; ++oc) {
                int64_t acc = bias ? bias[oc] : 0;
                for (int32_t ky = 0; ky < p->kh; ++ky)
                    for (int32_t kx = 0; kx < p->kw; ++kx) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky, ix = ox * p->stride_w - p->pad_left + kx;
                        if (iy < 0 || iy >= p->h_in || ix < 0 || ix >= p->w_in) continue;
                        const int8_t *x = g_in + ((int64_t)iy * p->w_in + ix) * p->c_in;
                        if (dw) {
                            acc += (int64_t)(x[oc] - p->input_zero_point) * g_w[(ky * p->kw + kx) * p->c_in + oc];
                        } else {
                            const int8_t *w = g_w + (((int64_t)oc * p->kh + ky) * p->kw + kx) * p->c_in;
                            for (int32_t ic = 0; ic < p->c_in; ++ic) acc += (int64_t)(x[ic] - p->input_zero_point) * w[ic];
                        }
                    }
                g_ref[((int64_t)oy * p->w_out + ox) * p->c_out + oc] = ref_requant(
                    acc, g_mult[oc], g_shift[oc], p->output_zero_point, p->act_min, p->act_max);
            }
}

static void compare(const char *what, const tn_conv_params_t *p, int rc, const int8_t *got)
{
    ++g_cases;
    const int32_t n = p->h_out * p->w_out * p->c_out;
    if (rc != TN_OK) {
        fail(what, p, -1);
        return;
    }
    for (int32_t i = 0; i < n; ++i)
        if (got[i] != g_ref[i]) {
            fail(what, p, i);
            return;
        }
}

static int8_t *scratch8(size_t bytes)
{
    uint8_t *s = (uint8_t *)g_scratch_words;
    memset(s + bytes, 0xA5, 16);
    return (int8_t *)s;
}
static void check_canary(const char *what, const tn_conv_params_t *p, size_t bytes)
{
    const uint8_t *s = (const uint8_t *)g_scratch_words + bytes;
    for (int i = 0; i < 16; ++i)
        if (s[i] != 0xA5) {
            fail(what, p, -2);
            return;
        }
}

static void case_conv(tn_conv_params_t p, int mix, int null_bias)
{
    fill(g_in, p.h_in * p.w_in * p.c_in, -128, 127);
    fill(g_w, p.c_out * p.kh * p.kw * p.c_in, -127, 127);
    rand_requant(p.c_out, p.kh * p.kw * p.c_in, mix);
    const int32_t *b = null_bias ? NULL : g_bias;
    ref_conv(&p, b, 0);
    const int pw = p.kh == 1 && p.kw == 1 && !p.pad_top && !p.pad_left && !p.pad_bottom && !p.pad_right;
    const size_t bytes = pw ? tn_pointwise_scratch_bytes(p.c_in) : tn_conv2d_scratch_bytes_hw(p.kh, p.kw, p.c_in);
    int16_t *sc = (int16_t *)(void *)scratch8(bytes);
    const int rc = pw ? tn_pointwise_s8(&p, g_in, g_w, b, g_out, sc) : tn_conv2d_s8(&p, g_in, g_w, b, g_out, sc);
    compare(pw ? "pointwise" : "conv", &p, rc, g_out);
    check_canary("scratch", &p, bytes);
}

static void case_dw(tn_conv_params_t p, int mix, int in_place)
{
    p.c_out = p.c_in;
    fill(g_in, p.h_in * p.w_in * p.c_in, -128, 127);
    fill(g_w, p.kh * p.kw * p.c_in, -127, 127);
    rand_requant(p.c_in, p.kh * p.kw, mix);
    ref_conv(&p, g_bias, 1);
    const size_t bytes = tn_depthwise_scratch_bytes_k(p.h_in, p.w_in, p.kh, p.kw);
    int8_t *sc = scratch8(bytes);
    int8_t *out = in_place ? g_in : g_out;
    const int rc = tn_depthwise_s8(&p, g_in, g_w, g_bias, out, sc);
    compare(in_place ? "depthwise in place" : "depthwise", &p, rc, out);
    check_canary("scratch", &p, bytes);
}

/* A camera frame (uint8, rows `pitch` bytes apart) read through a random
 * table: the reference runs on the int8 image it stands for, built here with
 * the formats' definitions (tn_runtime.h); the kernel reads the frame. */
static uint8_t g_frame[40 * 40 * 3 + 64];
static int8_t g_lut[3 * 256];
static void case_frame(tn_conv_params_t p, int format, int mix)
{
    const int32_t bpp = format == TN_FRAME_GRAY8 ? 1 : format == TN_FRAME_RGB888 ? 3 : 2;
    const int32_t pitch = p.w_in * bpp + rnd(0, 5);
    for (int32_t i = 0; i < p.h_in * pitch; ++i) g_frame[i] = (uint8_t)rnd(0, 255);
    fill(g_lut, 3 * 256, -128, 127);
    for (int32_t y = 0; y < p.h_in; ++y)
        for (int32_t x = 0; x < p.w_in; ++x) {
            const uint8_t *s = g_frame + y * pitch + x * bpp;
            int8_t *d = g_in + (y * p.w_in + x) * p.c_in;
            if (format == TN_FRAME_GRAY8) {
                d[0] = g_lut[s[0]];
            } else if (format == TN_FRAME_RGB888) {
                d[0] = g_lut[s[0]], d[1] = g_lut[256 + s[1]], d[2] = g_lut[512 + s[2]];
            } else {
                const int32_t v = s[0] | (s[1] << 8), r = v >> 11, gg = (v >> 5) & 63, b = v & 31;
                d[0] = g_lut[r * 8 + r / 4], d[1] = g_lut[256 + gg * 4 + gg / 16], d[2] = g_lut[512 + b * 8 + b / 4];
            }
        }
    fill(g_w, p.c_out * p.kh * p.kw * p.c_in, -127, 127);
    rand_requant(p.c_out, p.kh * p.kw * p.c_in, mix);
    ref_conv(&p, g_bias, 0);
    const size_t bytes = tn_conv2d_s8_scratch_bytes(&p);
    int16_t *sc = (int16_t *)(void *)scratch8(bytes);
    tn_frame_t f;
    f.pixels = g_frame;
    f.pitch = pitch;
    f.format = format;
    f.lut = g_lut;
    const int rc = tn_conv2d_frame_s8(&p, &f, g_w, g_bias, g_out, sc);
    compare(format == TN_FRAME_GRAY8 ? "frame gray8" : format == TN_FRAME_RGB888 ? "frame rgb888" : "frame rgb565", &p,
            rc, g_out);
    check_canary("scratch", &p, bytes);
}

static int32_t ref_mbqm(int32_t x, int32_t m, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    return ref_rdbpot(ref_srdhm((int32_t)((uint32_t)x << left), m), right);
}

/* ADD with parameters from random scales (the fast path) and, now and then,
 * input shifts outside it (the generic loop); in place on input 1. */
static void case_add(int i)
{
    tn_add_params_t p;
    const double s1 = 0.005 + (double)rnd(0, 1000) / 5000.0, s2 = 0.005 + (double)rnd(0, 1000) / 5000.0;
    const double so = 0.005 + (double)rnd(0, 1000) / 3000.0;
    tn_add_params_from_scales(s1, rnd(-128, 127), s2, rnd(-128, 127), so, rnd(-128, 127), i % 2 ? -128 : rnd(-128, 0), 127,
                              &p);
    if (i % 5 == 4) p.input2_shift = -rnd(3, 24);
    const int32_t n = rnd(1, 700);
    fill(g_in, n, -128, 127);
    fill(g_w, n, -128, 127);
    for (int32_t k = 0; k < n; ++k) {
        const int32_t a = (int32_t)((uint32_t)(g_in[k] - p.input1_zero_point) << p.left_shift);
        const int32_t b = (int32_t)((uint32_t)(g_w[k] - p.input2_zero_point) << p.left_shift);
        const int32_t sum = ref_mbqm(a, p.input1_multiplier, p.input1_shift) + ref_mbqm(b, p.input2_multiplier, p.input2_shift);
        g_ref[k] = ref_requant(sum, p.output_multiplier, p.output_shift, p.output_zero_point, p.act_min, p.act_max);
    }
    const int rc = tn_add_s8(&p, g_in, g_w, g_in, n);
    tn_conv_params_t d = shape(1, n, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0);
    compare("add", &d, rc, g_in);
}

/* The reconstruction error: random zero points and scale ratios (s_r / s_x in
 * [1/64, 64), now and then far larger: saturation), sizes to 700, against an
 * int64 sum of the naive MBQM's squared differences; the int32 compared as its
 * 4 bytes. */
static void case_mse(int i)
{
    tn_mse_params_t p;
    p.recon_zero_point = rnd(-128, 127);
    p.input_zero_point = rnd(-128, 127);
    p.recon_multiplier = rnd(1 << 30, 0x7FFFFFFF);
    p.recon_shift = i % 7 == 6 ? rnd(8, 22) : rnd(-5, 6);
    const int32_t n = rnd(1, 700);
    fill(g_in, n, -128, 127);
    fill(g_w, n, -128, 127);
    int64_t sum = 0;
    for (int32_t k = 0; k < n && sum <= INT32_MAX; ++k) {
        const int64_t e = (int64_t)ref_mbqm(g_in[k] - p.recon_zero_point, p.recon_multiplier, p.recon_shift) -
                          (g_w[k] - p.input_zero_point);
        sum += e * e;
    }
    const int32_t want = sum > INT32_MAX ? INT32_MAX : (int32_t)sum;
    int32_t got = 0;
    const int rc = tn_mse_s8(&p, g_in, g_w, n, &got);
    memcpy(g_ref, &want, 4);
    tn_conv_params_t d = shape(1, 4, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0);
    compare("mse", &d, rc, (const int8_t *)&got);
}

int main(void)
{
    /* first layers: c_in 1 (the 3x3 stride-1 stem path and the others), 3 */
    for (int i = 0; i < 60; ++i) {
        const int32_t k = i % 4 == 3 ? 5 : 3, s = i % 5 == 4 ? 2 : 1;
        const int32_t h = rnd(1, 14), w = rnd(1, 20), cout = i % 3 == 0 ? rnd(1, 9) : rnd(9, 40);
        const int32_t pt = rnd(0, k / 2), pl = rnd(0, k / 2), pb = rnd(0, k / 2), pr = rnd(0, k / 2);
        if (h + pt + pb < k || w + pl + pr < k) continue;
        case_conv(shape(h, w, i % 7 == 6 ? 3 : 1, cout, k, k, s, s, pt, pl, pb, pr), i % 4 == 1, i % 9 == 8);
    }
    /* the RGB stem (c_in 3: the gathered-window path): 3x3 stride 1 / 2,
     * odd sizes, random pads, now and then 5x5 or a generic requantisation */
    for (int i = 0; i < 60; ++i) {
        const int32_t k = i % 9 == 8 ? 5 : 3, s = i % 3 == 2 ? 1 : 2;
        const int32_t pt = rnd(0, k - 1), pl = rnd(0, k - 1), pb = rnd(0, k - 1), pr = rnd(0, k - 1);
        int32_t h = rnd(1, 21), w = rnd(1, 23);
        if (h + pt + pb < k) h = k - pt - pb;
        if (w + pl + pr < k) w = k - pl - pr;
        case_conv(shape(h, w, 3, i % 4 == 0 ? rnd(1, 5) : rnd(6, 33), k, k, s, s, pt, pl, pb, pr), i % 5 == 1,
                  i % 11 == 10);
    }
    /* camera frames through a table: grey (the c_in = 1 stem and others),
     * RGB888 and RGB565 (the RGB stem) */
    for (int i = 0; i < 45; ++i) {
        const int format = i % 3 == 0 ? TN_FRAME_GRAY8 : i % 3 == 1 ? TN_FRAME_RGB888 : TN_FRAME_RGB565;
        const int32_t k = i % 7 == 6 ? 5 : 3, s = i % 4 < 2 ? 1 : 2;
        const int32_t pt = rnd(0, k / 2), pl = rnd(0, k / 2), pb = rnd(0, k / 2), pr = rnd(0, k / 2);
        int32_t h = rnd(1, 17), w = rnd(1, 19);
        if (h + pt + pb < k) h = k - pt - pb;
        if (w + pl + pr < k) w = k - pl - pr;
        case_frame(shape(h, w, format == TN_FRAME_GRAY8 ? 1 : 3, rnd(1, 24), k, k, s, s, pt, pl, pb, pr), format,
                   i % 5 == 3);
    }
    /* pointwise: k/4 groups 0 / < 8 / 8 / > 8, k % 4 tails, odd c_out, strides, clamps, NULL bias */
    for (int i = 0; i < 80; ++i) {
        static const int16_t cins[] = {1, 2, 3, 4, 5, 8, 12, 16, 24, 31, 32, 33, 36, 48, 64, 67, 96, 132};
        const int32_t cin = cins[i % 18], cout = rnd(1, 40), s = i % 6 == 5 ? 2 : 1;
        case_conv(shape(rnd(1, 6), rnd(1, 7), cin, cout, 1, 1, s, s, 0, 0, 0, 0), i % 5 == 2, i % 11 == 10);
    }
    /* k x k conv, c_in > 1 */
    for (int i = 0; i < 30; ++i) {
        const int32_t k = 1 + 2 * rnd(0, 2), s = rnd(1, 2);
        const int32_t pt = rnd(0, k - 1), pl = rnd(0, k - 1), pb = rnd(0, k - 1), pr = rnd(0, k - 1);
        const int32_t h = rnd(k, 10), w = rnd(k, 10);
        case_conv(shape(h, w, rnd(2, 12), rnd(1, 20), k, k, s, s, pt, pl, pb, pr), i % 3 == 0, 0);
    }
    /* depthwise: every specialised kernel (k 3 / 5 / 7 x stride 1 / 2), the
     * generic one (other k, non-square, stride 3), pads > k/2 (clipped path),
     * small maps (one run), wide rows (several runs), odd widths */
    for (int i = 0; i < 240; ++i) {
        int32_t kh = 3 + 2 * (i % 3), kw = kh, sh = 1 + (i / 3) % 2, sw = sh;
        if (i % 17 == 16) {
            kh = rnd(1, 8);
            kw = rnd(1, 8);
        }
        if (i % 19 == 18) sw = 3;
        int32_t pt = rnd(0, kh / 2), pl = rnd(0, kw / 2), pb = rnd(0, kh / 2), pr = rnd(0, kw / 2);
        if (i % 23 == 22) pt = kh - 1;
        int32_t h, w;
        switch (i % 6) {
        case 0: h = w = 4; break;
        case 1: h = w = 8; break;
        case 2: h = rnd(1, 3); w = rnd(60, 140); break;
        default: h = rnd(1, 13); w = rnd(1, 17); break;
        }
        if (h + pt + pb < kh) h = kh - pt - pb;
        if (w + pl + pr < kw) w = kw - pl - pr;
        const int32_t c = i % 6 == 2 ? rnd(1, 4) : rnd(1, 20);
        case_dw(shape(h, w, c, c, kh, kw, sh, sw, pt, pl, pb, pr), i % 4 == 3, i % 2);
    }
    for (int i = 0; i < 40; ++i) case_add(i);
    for (int i = 0; i < 40; ++i) case_mse(i);
    put("qemu_check cases ");
    put_i(g_cases);
    put(" failures ");
    put_i(g_failures);
    put("\n");
    return g_failures;
}
