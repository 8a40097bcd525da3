/* tinynas runtime self-test (host + QEMU), see selftest.h. C99, no stdio. */
#include "selftest.h"

#include <stdint.h>
#include <string.h>

#include "runtime/tn_runtime.h"

static tn_write_fn g_write;
static int g_failures;

/* ---- deterministic data: 32-bit LCG (Numerical Recipes constants) ---- */
static uint32_t g_seed;
static uint32_t lcg(void)
{
    g_seed = g_seed * 1664525u + 1013904223u;
    return g_seed;
}
static void fill_s8(int8_t *p, int32_t n, int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; ++i) p[i] = (int8_t)(lo + (int32_t)((lcg() >> 8) % (uint32_t)(hi - lo + 1)));
}
static void fill_bias(int32_t *p, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) p[i] = (int32_t)((lcg() >> 8) % 40001u) - 20000;
}
/* Multipliers for ~1/(sqrt(taps)*60) scaled accumulators: m in [2^30, 2^31). */
static void fill_requant(int32_t *m, int32_t *s, int32_t n, int32_t shift)
{
    for (int32_t i = 0; i < n; ++i) {
        m[i] = (int32_t)(0x40000000u + (lcg() >> 2) % 0x3FFFFFFFu);
        s[i] = shift - (int32_t)(lcg() >> 31);
    }
}

/* ---- output ---- */
static void put(const char *s) { g_write(s); }
static void put_i(int32_t v)
{
    char b[24];
    put(tn_format_i32(v, b));
}
static void put_u(uint64_t v)
{
    char b[24];
    put(tn_format_u64(v, b));
}
static uint32_t fnv1a(const int8_t *p, int32_t n)
{
    uint32_t h = 2166136261u;
    for (int32_t i = 0; i < n; ++i) h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}
static void report(const char *name, int rc, const int8_t *out, int32_t n)
{
    if (rc != TN_OK) ++g_failures;
    put(name);
    put(" rc=");
    put_i(rc);
    put(" n=");
    put_i(n);
    put(" fnv=");
    put_u(fnv1a(out, n));
    put(" head=");
    for (int32_t i = 0; i < n && i < 8; ++i) {
        if (i) put(",");
        put_i(out[i]);
    }
    put("\n");
}

/* ---- buffers (static: no malloc) ---- */
#define BIG (48 * 48 * 64)
static int8_t g_in[BIG], g_out[BIG], g_w[64 * 7 * 7 * 64 > 96 * 96 ? 64 * 7 * 7 * 64 : 96 * 96];
static int16_t g_scratch[2 * 7 * 7 * 64] __attribute__((aligned(8)));
static int32_t g_bias[128], g_mult[128], g_shift[128];

static tn_conv_params_t conv_params(int32_t h, int32_t w, int32_t cin, int32_t cout, int32_t k, int32_t stride,
                                    int32_t pt, int32_t pl, int32_t pb, int32_t pr)
{
    tn_conv_params_t p;
    memset(&p, 0, sizeof(p));
    p.h_in = h;
    p.w_in = w;
    p.c_in = cin;
    p.c_out = cout;
    p.kh = p.kw = k;
    p.stride_h = p.stride_w = stride;
    p.pad_top = pt;
    p.pad_left = pl;
    p.pad_bottom = pb;
    p.pad_right = pr;
    p.h_out = (h + pt + pb - k) / stride + 1;
    p.w_out = (w + pl + pr - k) / stride + 1;
    p.input_zero_point = (int32_t)(lcg() >> 24) - 128;
    p.output_zero_point = (int32_t)(lcg() >> 24) - 128;
    p.act_min = -128;
    p.act_max = 127;
    p.out_multiplier = g_mult;
    p.out_shift = g_shift;
    return p;
}

static int32_t out_size(const tn_conv_params_t *p) { return p->h_out * p->w_out * p->c_out; }

static void check_conv(const char *name, int32_t h, int32_t w, int32_t cin, int32_t cout, int32_t k,
                       int32_t stride, int32_t pt, int32_t pl, int32_t pb, int32_t pr, int32_t shift)
{
    tn_conv_params_t p = conv_params(h, w, cin, cout, k, stride, pt, pl, pb, pr);
    fill_s8(g_in, h * w * cin, -128, 127);
    fill_s8(g_w, cout * k * k * cin, -127, 127);
    fill_bias(g_bias, cout);
    fill_requant(g_mult, g_shift, cout, shift);
    int rc = k == 1 && !pt && !pl && !pb && !pr
                 ? tn_pointwise_s8(&p, g_in, g_w, g_bias, g_out, g_scratch)
                 : tn_conv2d_s8(&p, g_in, g_w, g_bias, g_out, g_scratch);
    report(name, rc, g_out, out_size(&p));
}

static void check_dw(const char *name, int32_t h, int32_t w, int32_t c, int32_t k, int32_t stride, int32_t pt,
                     int32_t pl, int32_t pb, int32_t pr, int in_place)
{
    tn_conv_params_t p = conv_params(h, w, c, c, k, stride, pt, pl, pb, pr);
    p.act_min = p.output_zero_point; /* ReLU */
    fill_s8(g_in, h * w * c, -128, 127);
    fill_s8(g_w, k * k * c, -127, 127);
    fill_bias(g_bias, c);
    fill_requant(g_mult, g_shift, c, -5);
    int8_t *out = in_place ? g_in : g_out;
    int rc = tn_depthwise_s8(&p, g_in, g_w, g_bias, out, (int8_t *)g_scratch);
    report(name, rc, out, out_size(&p));
}

/* Pointwise / conv with a chosen clamp range (mode 0: none, 1: ReLU-like
 * [zp, zp + 90], 2: a narrow range around zp) and optional bias: exercises the
 * Arm assembly kernel (tn__pw_2x2_asm) against the host's C path. */
static void check_conv_ex(const char *name, int32_t h, int32_t w, int32_t cin, int32_t cout, int32_t k,
                          int32_t stride, int32_t pad, int act_mode, int with_bias)
{
    tn_conv_params_t p = conv_params(h, w, cin, cout, k, stride, pad, pad, pad, pad);
    if (act_mode == 1) {
        p.act_min = p.output_zero_point;
        p.act_max = p.output_zero_point + 90 > 127 ? 127 : p.output_zero_point + 90;
    } else if (act_mode == 2) {
        p.act_min = p.output_zero_point - 20 < -128 ? -128 : p.output_zero_point - 20;
        p.act_max = p.output_zero_point + 20 > 127 ? 127 : p.output_zero_point + 20;
    }
    fill_s8(g_in, h * w * cin, -128, 127);
    fill_s8(g_w, cout * k * k * cin, -127, 127);
    fill_bias(g_bias, cout);
    { /* ~2^-7 / sqrt(taps): outputs spread over the int8 range */
        int32_t sh = -7;
        for (int32_t t = cin * k * k; t >= 4; t >>= 2) --sh;
        fill_requant(g_mult, g_shift, cout, sh);
    }
    const int32_t *b = with_bias ? g_bias : NULL;
    int rc = k == 1 && !pad ? tn_pointwise_s8(&p, g_in, g_w, b, g_out, g_scratch)
                            : tn_conv2d_s8(&p, g_in, g_w, b, g_out, g_scratch);
    report(name, rc, g_out, out_size(&p));
}

/* A conv reading a camera frame window (pitch beyond it) through a random
 * table (tn_conv2d_frame_s8): host C path vs the Cortex-M7's. */
static void check_frame(const char *name, int32_t h, int32_t w, int format, int32_t cout, int32_t k, int32_t stride,
                        int32_t pt, int32_t pl, int32_t pb, int32_t pr, int with_bias)
{
    static uint8_t frame[40 * 40 * 3 + 64];
    static int8_t lut[3 * 256];
    const int32_t cin = tn_frame_channels(format), bpp = format == TN_FRAME_RGB565 ? 2 : cin;
    tn_conv_params_t p = conv_params(h, w, cin, cout, k, stride, pt, pl, pb, pr);
    p.act_min = p.output_zero_point;
    const int32_t pitch = w * bpp + 5;
    fill_s8((int8_t *)frame, h * pitch, -128, 127);
    fill_s8(lut, 3 * 256, -128, 127);
    fill_s8(g_w, cout * k * k * cin, -127, 127);
    fill_bias(g_bias, cout);
    {
        int32_t sh = -7;
        for (int32_t t = cin * k * k; t >= 4; t >>= 2) --sh;
        fill_requant(g_mult, g_shift, cout, sh);
    }
    tn_frame_t f;
    f.pixels = frame;
    f.pitch = pitch;
    f.format = format;
    f.lut = lut;
    int rc = tn_conv2d_frame_s8(&p, &f, g_w, with_bias ? g_bias : NULL, g_out, g_scratch);
    report(name, rc, g_out, out_size(&p));
}

static void check_dw_ex(const char *name, int32_t h, int32_t w, int32_t c, int32_t k, int32_t stride, int relu)
{
    const int32_t pad = k / 2;
    tn_conv_params_t p = conv_params(h, w, c, c, k, stride, pad, pad, pad, pad);
    if (relu) p.act_min = p.output_zero_point;
    fill_s8(g_in, h * w * c, -128, 127);
    fill_s8(g_w, k * k * c, -127, 127);
    fill_bias(g_bias, c);
    fill_requant(g_mult, g_shift, c, -6);
    int rc = tn_depthwise_s8(&p, g_in, g_w, g_bias, g_in, (int8_t *)g_scratch);
    report(name, rc, g_in, out_size(&p));
}

/* ---- instructions per MAC (meaningful under QEMU -icount shift=0) ---- */
static void put_ratio(uint64_t num, uint64_t den)
{
    /* num/den with two decimals, integer only */
    uint64_t x100 = den ? (num * 100u + den / 2u) / den : 0u;
    put_u(x100 / 100u);
    put(".");
    put(x100 % 100u < 10u ? "0" : "");
    put_u(x100 % 100u);
}

static void prefixed(const char *s)
{
    put("# ");
    put(s);
}

static void perf(int layer, const char *op, tn_conv_params_t *p, int dw)
{
    const uint64_t macs = (uint64_t)p->h_out * p->w_out * p->c_out * p->kh * p->kw * (dw ? 1 : p->c_in);
    fill_s8(g_in, p->h_in * p->w_in * p->c_in, -128, 127);
    fill_s8(g_w, (dw ? 1 : p->c_out) * p->kh * p->kw * p->c_in, -127, 127);
    fill_bias(g_bias, p->c_out);
    fill_requant(g_mult, g_shift, p->c_out, -6);
    int rc;
    tn_profile_begin(layer);
    const uint64_t t0 = tn_profile_now();
    if (dw)
        rc = tn_depthwise_s8(p, g_in, g_w, g_bias, g_in, (int8_t *)g_scratch);
    else if (p->kh == 1)
        rc = tn_pointwise_s8(p, g_in, g_w, g_bias, g_out, g_scratch);
    else
        rc = tn_conv2d_s8(p, g_in, g_w, g_bias, g_out, g_scratch);
    const uint64_t t1 = tn_profile_now();
    tn_profile_end(layer, op, p->kh, p->kw, p->stride_h, p->h_in, p->w_in, p->c_in, p->h_out, p->w_out, p->c_out,
                   (uint32_t)macs);
    if (rc != TN_OK) ++g_failures;
    put("# perf ");
    put(op);
    put(" k=");
    put_i(p->kh);
    put(" s=");
    put_i(p->stride_h);
    put(" ");
    put_i(p->h_in);
    put("x");
    put_i(p->w_in);
    put("x");
    put_i(p->c_in);
    put("->");
    put_i(p->c_out);
    put(" macs=");
    put_u(macs);
    put(" count=");
    put_u(t1 - t0);
    put(" per_mac=");
    put_ratio(t1 - t0, macs);
    put("\n");
}

int tn_selftest_run(tn_write_fn write)
{
    g_write = write;
    g_failures = 0;
    g_seed = 12345u;
    put("tinynas runtime selftest v1\n");

    /* conv k x k: first layer (3 channels, stride 2, patch-style asymmetric pads), 5x5, 2x2, 7x7 */
    check_conv("conv3x3_s2_first", 33, 32, 3, 16, 3, 2, 1, 0, 0, 1, -8);
    check_conv("conv3x3_s1", 12, 11, 8, 12, 3, 1, 1, 1, 1, 1, -8);
    check_conv("conv5x5_s2_odd", 13, 15, 5, 7, 5, 2, 2, 1, 2, 0, -8);
    check_conv("conv2x2_s2", 10, 10, 4, 9, 2, 2, 0, 0, 0, 0, -7);
    check_conv("conv7x7_s1_big_shift", 9, 9, 3, 5, 7, 1, 3, 3, 3, 3, 1);
    /* pointwise */
    check_conv("pw_16_24", 16, 16, 16, 24, 1, 1, 0, 0, 0, 0, -8);
    check_conv("pw_odd_13_7", 7, 9, 13, 7, 1, 1, 0, 0, 0, 0, -7);
    check_conv("pw_s2_32_16", 10, 9, 32, 16, 1, 2, 0, 0, 0, 0, -8);
    /* depthwise: in place and out of place, k 3/5/7, stride 1/2, asymmetric pads */
    check_dw("dw3_s1_inplace", 20, 20, 16, 3, 1, 1, 1, 1, 1, 1);
    check_dw("dw3_s2_inplace", 21, 20, 8, 3, 2, 1, 0, 1, 1, 1);
    check_dw("dw5_s1", 14, 13, 10, 5, 1, 2, 2, 2, 2, 0);
    check_dw("dw5_s2_patch", 15, 15, 6, 5, 2, 2, 0, 1, 2, 1);
    check_dw("dw7_s1_inplace", 11, 12, 5, 7, 1, 3, 3, 3, 3, 1);
    check_dw("dw7_s2_asym", 17, 16, 4, 7, 2, 0, 3, 3, 0, 0);
    check_dw("dw3_grow_inplace", 6, 5, 7, 3, 1, 2, 2, 2, 2, 1);

    /* pointwise kernel paths: k/4 groups none / < 8 / 8 / > 8, k%4 tails,
     * odd c_out, 1x1 maps, odd pixel counts, stride 2, clamps, NULL bias */
    {
        static const int16_t cins[] = {1, 3, 4, 8, 12, 16, 33, 36, 64, 68, 132};
        static const int16_t couts[] = {1, 2, 7, 16, 33};
        char name[32];
        int n = 0;
        for (int i = 0; i < (int)(sizeof(cins) / sizeof(cins[0])); ++i)
            for (int j = 0; j < (int)(sizeof(couts) / sizeof(couts[0])); ++j, ++n) {
                const int32_t hw = n % 3 == 0 ? 1 : n % 3 == 1 ? 3 : 5;
                const int32_t st = n % 4 == 3 ? 2 : 1;
                /* name "pwx_<cin>_<cout>" */
                char num[24];
                size_t len = 0;
                memcpy(name, "pwx_", 4);
                len = 4;
                tn_format_i32(cins[i], num);
                memcpy(name + len, num, strlen(num));
                len += strlen(num);
                name[len++] = '_';
                tn_format_i32(couts[j], num);
                memcpy(name + len, num, strlen(num) + 1);
                check_conv_ex(name, hw, hw + (n & 1), cins[i], couts[j], 1, st, 0, n % 3, n % 5 != 4);
            }
    }
    /* first-layer conv (c_in 1): interior windows and borders, stride 1 / 2 */
    check_conv_ex("stem3x3_c1_s1", 9, 11, 1, 16, 3, 1, 1, 1, 1);
    check_conv_ex("stem3x3_c1_s2", 12, 9, 1, 7, 3, 2, 1, 0, 1);
    check_conv_ex("stem5x5_c1_s1", 8, 7, 1, 5, 5, 1, 2, 2, 1);
    check_conv_ex("conv3x3_c3_nobias", 7, 6, 3, 9, 3, 1, 1, 1, 0);
    /* the RGB stem (c_in 3, gathered windows): stride 2 / 1, odd sizes, clamps */
    check_conv_ex("stem3x3_c3_s2_odd", 15, 13, 3, 16, 3, 2, 1, 1, 1);
    check_conv_ex("stem3x3_c3_s1", 9, 10, 3, 7, 3, 1, 1, 2, 1);
    check_conv_ex("stem3x3_c3_s2_nopad", 12, 11, 3, 12, 3, 2, 0, 0, 1);
    /* camera frames through a table: grey (the c_in 1 stem), RGB888, RGB565 */
    check_frame("frame_gray8_3x3_s1", 9, 11, TN_FRAME_GRAY8, 16, 3, 1, 1, 1, 1, 1, 1);
    check_frame("frame_gray8_3x3_s2", 10, 9, TN_FRAME_GRAY8, 5, 3, 2, 0, 1, 1, 0, 0);
    check_frame("frame_rgb888_3x3_s2", 13, 14, TN_FRAME_RGB888, 16, 3, 2, 0, 0, 1, 1, 1);
    check_frame("frame_rgb888_5x5_s1", 8, 9, TN_FRAME_RGB888, 9, 5, 1, 2, 1, 2, 2, 1);
    check_frame("frame_rgb565_3x3_s2", 11, 12, TN_FRAME_RGB565, 8, 3, 2, 1, 1, 1, 1, 1);
    check_frame("frame_rgb565_3x3_s1", 7, 5, TN_FRAME_RGB565, 3, 3, 1, 1, 1, 1, 1, 0);
    { /* a patch crop straight from an RGB888 frame, past its borders */
        static uint8_t frame[20 * 18 * 3 + 8];
        static int8_t lut[3 * 256];
        fill_s8((int8_t *)frame, 20 * 18 * 3 + 8, -128, 127);
        fill_s8(lut, 3 * 256, -128, 127);
        tn_frame_t f;
        f.pixels = frame;
        f.pitch = 18 * 3 + 2;
        f.format = TN_FRAME_RGB888;
        f.lut = lut;
        tn_crop_frame_s8(&f, 19, 18, -2, 13, 9, 8, -3, g_out);
        report("crop_frame_border", TN_OK, g_out, 9 * 8 * 3);
    }
    /* depthwise two-pass runs: whole plane, rows per run, wide rows */
    check_dw_ex("dwr3_s1_2x65", 2, 65, 5, 3, 1, 1);
    check_dw_ex("dwr5_s2_3x70", 3, 70, 3, 5, 2, 0);
    check_dw_ex("dwr3_s1_9x8", 9, 8, 6, 3, 1, 1);
    check_dw_ex("dwr7_s1_1x129", 1, 129, 2, 7, 1, 0);
    check_dw_ex("dwr3_s1_4x4", 4, 4, 19, 3, 1, 1);
    check_dw_ex("dwr3_s2_8x8", 8, 8, 11, 3, 2, 0);
    check_dw_ex("dwr5_s1_4x4", 4, 4, 9, 5, 1, 1);

    { /* add, in place on input 1 */
        tn_add_params_t ap;
        int rc = tn_add_params_from_scales(0.05, 3, 0.11, -20, 0.09, -7, -7, 127, &ap);
        fill_s8(g_in, 1000, -128, 127);
        fill_s8(g_out, 1000, -128, 127);
        if (rc == TN_OK) rc = tn_add_s8(&ap, g_in, g_out, g_in, 1000);
        report("add_inplace", rc, g_in, 1000);
        put("add_params ");
        put_i(ap.input1_multiplier);
        put(" ");
        put_i(ap.input1_shift);
        put(" ");
        put_i(ap.input2_multiplier);
        put(" ");
        put_i(ap.input2_shift);
        put(" ");
        put_i(ap.output_multiplier);
        put(" ");
        put_i(ap.output_shift);
        put("\n");
    }
    { /* global average pool */
        fill_s8(g_in, 7 * 7 * 40, -128, 127);
        int rc = tn_avgpool_global_s8(g_in, 7, 7, 40, -128, 127, g_out);
        report("avgpool_7x7x40", rc, g_out, 40);
    }
    { /* fully connected, per-tensor and per-channel */
        tn_fc_params_t fp;
        memset(&fp, 0, sizeof(fp));
        fp.in_features = 96;
        fp.out_features = 10;
        fp.input_zero_point = -128;
        fp.output_zero_point = 5;
        fp.act_min = -128;
        fp.act_max = 127;
        fp.out_multiplier = g_mult;
        fp.out_shift = g_shift;
        fill_s8(g_in, 96, -128, 127);
        fill_s8(g_w, 960, -127, 127);
        fill_bias(g_bias, 10);
        fill_requant(g_mult, g_shift, 10, -9);
        int rc = tn_fully_connected_s8(&fp, g_in, g_w, g_bias, g_out);
        report("fc_per_tensor", rc, g_out, 10);
        fp.per_channel = 1;
        rc = tn_fully_connected_s8(&fp, g_in, g_w, g_bias, g_out);
        report("fc_per_channel", rc, g_out, 10);
        put("argmax ");
        put_i(tn_argmax_s8(g_out, 10));
        put("\n");
    }
    { /* patches */
        fill_s8(g_in, 20 * 18 * 3, -128, 127);
        tn_crop_s8(g_in, 20, 18, 3, -2, 13, 9, 8, -128, g_out);
        report("crop_border", TN_OK, g_out, 9 * 8 * 3);
        memset(g_out + 1000, 0, 20 * 18 * 3);
        tn_copy_patch_s8(g_out, 8, 0, 0, g_out + 1000, 18, 5, 4, 9, 8, 3);
        report("patch_insert", TN_OK, g_out + 1000, 20 * 18 * 3);
    }
    { /* rounding primitives at the extremes */
        put("rounding ");
        put_i(tn_saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN));
        put(" ");
        put_i(tn_rounding_divide_by_pot(-5, 1));
        put(" ");
        put_i(tn_multiply_by_quantized_multiplier(INT32_MIN, INT32_MAX, -31));
        put(" ");
        put_i(tn_multiply_by_quantized_multiplier(12345, 1518500250, 30));
        put("\n");
    }

    /* Instruction counts on MCUNet-like layers. */
    put("# clock ");
    put(tn_profile_clock_name());
    put("\n");
    tn_profile_reset();
    {
        tn_conv_params_t p = conv_params(48, 48, 3, 16, 3, 2, 0, 0, 1, 1);
        perf(0, "conv", &p, 0);
        p = conv_params(24, 24, 16, 16, 3, 1, 1, 1, 1, 1);
        perf(1, "conv", &p, 0);
        p = conv_params(24, 24, 16, 48, 1, 1, 0, 0, 0, 0);
        perf(2, "pointwise", &p, 0);
        p = conv_params(24, 24, 48, 48, 3, 1, 1, 1, 1, 1);
        perf(3, "depthwise", &p, 1);
        p = conv_params(24, 24, 48, 48, 5, 1, 2, 2, 2, 2);
        perf(4, "depthwise", &p, 1);
        p = conv_params(24, 24, 48, 48, 7, 1, 3, 3, 3, 3);
        perf(5, "depthwise", &p, 1);
        p = conv_params(24, 24, 48, 48, 3, 2, 0, 0, 1, 1);
        perf(6, "depthwise", &p, 1);
        p = conv_params(12, 12, 48, 64, 1, 1, 0, 0, 0, 0);
        perf(7, "pointwise", &p, 0);
    }
    tn_profile_print_csv(prefixed);
    put("failures ");
    put_i(g_failures);
    put("\n");
    return g_failures;
}
