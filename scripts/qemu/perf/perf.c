/* Instructions per MAC of every conv / depthwise / pointwise layer of the
 * default exported model (configs/archs/fmnist-mid.yaml on configs/stm32f746.yaml,
 * as listed by `tinynas estimate`), on random data, under QEMU -icount shift=0
 * (SysTick: 1 tick = 40 instructions). Prints one line per layer, a per-kernel
 * summary and the MAC-weighted total, then stems that fmnist-mid does not have
 * (an RGB 3x3 stride-2 stem on an int8 image and on a uint8 RGB888 / RGB565
 * camera frame read through its table; a grey frame through the c_in = 1 stem),
 * outside the totals:
 *     scripts/run-on-qemu scripts/qemu/perf
 * (on a host build the counts are 0: the runtime has no host clock). */
#include <stdint.h>
#include <string.h>

#include "runtime/tn_profile.h"
#include "runtime/tn_runtime.h"
#include "semihost.h"

typedef struct {
    const char *name;
    char op; /* 'c' conv, 'd' depthwise, 'p' pointwise */
    int16_t hw, cin, cout, k, s;
} layer_t;

static const layer_t g_layers[] = {
    {"stem", 'c', 32, 1, 16, 3, 1},           {"s0.b0.dw", 'd', 32, 16, 16, 3, 1},
    {"s0.b0.project", 'p', 32, 16, 8, 1, 1},  {"s1.b1.expand", 'p', 32, 8, 32, 1, 1},
    {"s1.b1.dw", 'd', 32, 32, 32, 5, 2},      {"s1.b1.project", 'p', 16, 32, 16, 1, 1},
    {"s1.b2.expand", 'p', 16, 16, 48, 1, 1},  {"s1.b2.dw", 'd', 16, 48, 48, 3, 1},
    {"s1.b2.project", 'p', 16, 48, 16, 1, 1}, {"s1.b3.expand", 'p', 16, 16, 48, 1, 1},
    {"s1.b3.dw", 'd', 16, 48, 48, 3, 1},      {"s1.b3.project", 'p', 16, 48, 16, 1, 1},
    {"s2.b4.expand", 'p', 16, 16, 96, 1, 1},  {"s2.b4.dw", 'd', 16, 96, 96, 5, 2},
    {"s2.b4.project", 'p', 8, 96, 24, 1, 1},  {"s2.b5.expand", 'p', 8, 24, 96, 1, 1},
    {"s2.b5.dw", 'd', 8, 96, 96, 5, 1},       {"s2.b5.project", 'p', 8, 96, 24, 1, 1},
    {"s2.b6.expand", 'p', 8, 24, 72, 1, 1},   {"s2.b6.dw", 'd', 8, 72, 72, 3, 1},
    {"s2.b6.project", 'p', 8, 72, 24, 1, 1},  {"s3.b7.expand", 'p', 8, 24, 144, 1, 1},
    {"s3.b7.dw", 'd', 8, 144, 144, 3, 2},     {"s3.b7.project", 'p', 4, 144, 32, 1, 1},
    {"s3.b8.expand", 'p', 4, 32, 128, 1, 1},  {"s3.b8.dw", 'd', 4, 128, 128, 5, 1},
    {"s3.b8.project", 'p', 4, 128, 32, 1, 1}, {"s3.b9.expand", 'p', 4, 32, 128, 1, 1},
    {"s3.b9.dw", 'd', 4, 128, 128, 3, 1},     {"s3.b9.project", 'p', 4, 128, 32, 1, 1},
    {"s3.b10.expand", 'p', 4, 32, 96, 1, 1},  {"s3.b10.dw", 'd', 4, 96, 96, 3, 1},
    {"s3.b10.project", 'p', 4, 96, 32, 1, 1}, {"s4.b11.expand", 'p', 4, 32, 192, 1, 1},
    {"s4.b11.dw", 'd', 4, 192, 192, 3, 1},    {"s4.b11.project", 'p', 4, 192, 48, 1, 1},
    {"s4.b12.expand", 'p', 4, 48, 192, 1, 1}, {"s4.b12.dw", 'd', 4, 192, 192, 3, 1},
    {"s4.b12.project", 'p', 4, 192, 48, 1, 1}, {"head", 'p', 4, 48, 192, 1, 1},
};
#define N_LAYERS ((int)(sizeof(g_layers) / sizeof(g_layers[0])))

static int8_t g_in[32 * 32 * 32 + 64], g_out[32 * 32 * 32 + 64], g_w[192 * 48 + 64];
static uint32_t g_scratch[1024] __attribute__((aligned(8)));
static int32_t g_bias[192], g_mult[192], g_shift[192];
static uint32_t g_seed = 7u;
static uint32_t lcg(void) { return g_seed = g_seed * 1664525u + 1013904223u; }
static void fill(int8_t *p, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) p[i] = (int8_t)(lcg() >> 24);
}

static void put(const char *s) { tn_semihost_write0(s); }
static void put_u(uint64_t v)
{
    char b[24];
    put(tn_format_u64(v, b));
}
static void put_ratio(uint64_t num, uint64_t den)
{
    const uint64_t x = den ? (num * 100u + den / 2u) / den : 0u;
    put_u(x / 100u);
    put(x % 100u < 10u ? ".0" : ".");
    put_u(x % 100u);
}
static void put_pad(const char *s, int width)
{
    put(s);
    for (int n = (int)strlen(s); n < width; ++n) put(" ");
}

int main(void)
{
    uint64_t sum_i[3] = {0, 0, 0}, sum_m[3] = {0, 0, 0};
    const char *kind[3] = {"conv", "depthwise", "pointwise"};
    int failures = 0;
    tn_profile_init();
    (void)tn_profile_now();
    put("# layer           op          k s  in -> out        macs   instr/MAC\n");
    for (int i = 0; i < N_LAYERS; ++i) {
        const layer_t *L = &g_layers[i];
#ifdef TN_PERF_ONLY /* TN_CFLAGS=-DTN_PERF_ONLY=<layer index>: run one layer (for tracing) */
        if (i != TN_PERF_ONLY) continue;
#endif
        tn_conv_params_t p;
        memset(&p, 0, sizeof(p));
        const int pad = L->k / 2;
        p.h_in = p.w_in = L->hw;
        p.c_in = L->cin;
        p.c_out = L->cout;
        p.kh = p.kw = L->k;
        p.stride_h = p.stride_w = L->s;
        p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
        p.h_out = p.w_out = (L->hw + 2 * pad - L->k) / L->s + 1;
        p.input_zero_point = -128 + (int32_t)(lcg() >> 28);
        p.output_zero_point = -128 + (int32_t)(lcg() >> 28);
        p.act_min = L->op == 'p' && strstr(L->name, "project") ? -128 : p.output_zero_point;
        p.act_max = L->op == 'p' && strstr(L->name, "project") ? 127 : p.output_zero_point + 100;
        for (int c = 0; c < L->cout; ++c) {
            g_bias[c] = (int32_t)(lcg() >> 20) - 2048;
            g_mult[c] = (int32_t)(0x40000000u + (lcg() >> 2) % 0x3FFFFFFFu);
            g_shift[c] = -7 - (int32_t)(lcg() >> 30);
        }
        p.out_multiplier = g_mult;
        p.out_shift = g_shift;
        fill(g_in, L->hw * L->hw * L->cin);
        fill(g_w, (L->op == 'd' ? 1 : L->cout) * L->k * L->k * L->cin);
        const uint64_t macs =
            (uint64_t)p.h_out * p.w_out * p.c_out * p.kh * p.kw * (L->op == 'd' ? 1 : p.c_in);
        int rc;
        const uint64_t t0 = tn_profile_now();
        if (L->op == 'd')
            rc = tn_depthwise_s8(&p, g_in, g_w, g_bias, g_in, (int8_t *)g_scratch);
        else if (L->op == 'p')
            rc = tn_pointwise_s8(&p, g_in, g_w, g_bias, g_out, (int16_t *)g_scratch);
        else
            rc = tn_conv2d_s8(&p, g_in, g_w, g_bias, g_out, (int16_t *)g_scratch);
        const uint64_t t = tn_profile_now() - t0;
        if (rc != TN_OK) ++failures;
        const int kd = L->op == 'c' ? 0 : L->op == 'd' ? 1 : 2;
        sum_i[kd] += t;
        sum_m[kd] += macs;
        put("# ");
        put_pad(L->name, 16);
        put_pad(kind[kd], 11);
        put_u((uint64_t)L->k);
        put(" ");
        put_u((uint64_t)L->s);
        put("  ");
        put_u((uint64_t)L->hw);
        put("x");
        put_u((uint64_t)L->cin);
        put("->");
        put_u((uint64_t)L->cout);
        put("  ");
        put_u(macs);
        put("  ");
        put_ratio(t, macs);
        put("\n");
    }
    uint64_t ti = 0, tm = 0;
    for (int k = 0; k < 3; ++k) {
        put("# total ");
        put_pad(kind[k], 10);
        put(" macs=");
        put_u(sum_m[k]);
        put(" instr/MAC=");
        put_ratio(sum_i[k], sum_m[k]);
        put("\n");
        ti += sum_i[k];
        tm += sum_m[k];
    }
    put("# total model      macs=");
    put_u(tm);
    put(" instr/MAC=");
    put_ratio(ti, tm);
    put("\n");
    { /* stems outside fmnist-mid: RGB 3x3 s2 (TF SAME pads on an even input), and frames */
        static const struct {
            const char *name;
            int16_t c, s, frame; /* frame: -1 int8 input, else tn_frame_format_t */
        } stems[] = {{"stem.rgb", 3, 2, -1},
                     {"stem.rgb888", 3, 2, TN_FRAME_RGB888},
                     {"stem.rgb565", 3, 2, TN_FRAME_RGB565},
                     {"stem.gray8", 1, 1, TN_FRAME_GRAY8}};
        static int8_t lut[3 * 256];
        fill(lut, 3 * 256);
        for (int i = 0; i < (int)(sizeof(stems) / sizeof(stems[0])); ++i) {
            tn_conv_params_t p;
            memset(&p, 0, sizeof(p));
            p.h_in = p.w_in = 32;
            p.c_in = stems[i].c;
            p.c_out = 16;
            p.kh = p.kw = 3;
            p.stride_h = p.stride_w = stems[i].s;
            p.pad_top = p.pad_left = stems[i].s == 1 ? 1 : 0;
            p.pad_bottom = p.pad_right = 1;
            p.h_out = p.w_out = (32 + p.pad_top + p.pad_bottom - 3) / p.stride_h + 1;
            p.input_zero_point = -128 + (int32_t)(lcg() >> 28);
            p.output_zero_point = -128 + (int32_t)(lcg() >> 28);
            p.act_min = p.output_zero_point;
            p.act_max = p.output_zero_point + 100;
            for (int c = 0; c < p.c_out; ++c) {
                g_bias[c] = (int32_t)(lcg() >> 20) - 2048;
                g_mult[c] = (int32_t)(0x40000000u + (lcg() >> 2) % 0x3FFFFFFFu);
                g_shift[c] = -7 - (int32_t)(lcg() >> 30);
            }
            p.out_multiplier = g_mult;
            p.out_shift = g_shift;
            fill(g_in, 32 * 32 * 3);
            fill(g_w, p.c_out * 9 * p.c_in);
            const uint64_t macs = (uint64_t)p.h_out * p.w_out * p.c_out * 9 * p.c_in;
            tn_frame_t f;
            f.pixels = (const uint8_t *)g_in;
            f.format = stems[i].frame;
            f.pitch = 32 * (f.format == TN_FRAME_RGB888 ? 3 : f.format == TN_FRAME_RGB565 ? 2 : 1);
            f.lut = lut;
            const uint64_t t0 = tn_profile_now();
            const int rc = stems[i].frame < 0 ? tn_conv2d_s8(&p, g_in, g_w, g_bias, g_out, (int16_t *)g_scratch)
                                              : tn_conv2d_frame_s8(&p, &f, g_w, g_bias, g_out, (int16_t *)g_scratch);
            const uint64_t t = tn_profile_now() - t0;
            if (rc != TN_OK) ++failures;
            put("# ");
            put_pad(stems[i].name, 16);
            put_pad("conv", 11);
            put("3 ");
            put_u((uint64_t)p.stride_h);
            put("  32x");
            put_u((uint64_t)p.c_in);
            put("->16  ");
            put_u(macs);
            put("  ");
            put_ratio(t, macs);
            put("\n");
        }
    }
    put(failures ? "failures\n" : "ok\n");
    return failures;
}
