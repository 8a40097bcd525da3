/* tinynas runtime: per-layer profiler (see tn_profile.h for the clocks). */
#include "tn_profile.h"

#include <stddef.h>
#include <string.h>

#ifndef TN_PROFILE_SYSTICK_SCALE
#define TN_PROFILE_SYSTICK_SCALE 40u /* QEMU mps2: 25 MHz SysTick, 1 ns/instruction at -icount shift=0 */
#endif

static tn_profile_record_t g_records[TN_PROFILE_MAX_LAYERS];
static int g_clock; /* 0 = not initialised, 1 = dwt, 2 = systick, 3 = none */

#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define TN_REG(addr) (*(volatile uint32_t *)(addr))
#define TN_DEMCR TN_REG(0xE000EDFCu)
#define TN_DWT_CTRL TN_REG(0xE0001000u)
#define TN_DWT_CYCCNT TN_REG(0xE0001004u)
#define TN_SYST_CSR TN_REG(0xE000E010u)
#define TN_SYST_RVR TN_REG(0xE000E014u)
#define TN_SYST_CVR TN_REG(0xE000E018u)

static volatile uint32_t g_systick_wraps;

#if defined(TN_PROFILE) && !defined(TN_PROFILE_NO_SYSTICK_HANDLER)
void SysTick_Handler(void);
void SysTick_Handler(void) { ++g_systick_wraps; }
#endif

void tn_profile_init(void)
{
    if (g_clock) return;
    TN_DEMCR |= 1u << 24;      /* TRCENA: power the DWT */
    TN_DWT_CYCCNT = 0;
    TN_DWT_CTRL |= 1u;         /* CYCCNTENA */
    const uint32_t a = TN_DWT_CYCCNT;
    for (volatile int i = 0; i < 16; ++i) {
    }
    if (TN_DWT_CYCCNT != a) {
        g_clock = 1;
        return;
    }
    /* No working DWT (QEMU): SysTick on the processor clock, max reload,
     * interrupt on wrap (TICKINT) to extend it past 24 bits. */
    TN_SYST_CSR = 0;
    TN_SYST_RVR = 0x00FFFFFFu;
    TN_SYST_CVR = 0;
    TN_SYST_CSR = (1u << 2) | (1u << 1) | 1u; /* CLKSOURCE=cpu, TICKINT, ENABLE */
    /* The counter starts from 0 and reloads on the next tick (QEMU may also
     * take that reload as a wrap): wait for the reload, drop a pending SysTick
     * (ICSR.PENDSTCLR) and only then start counting wraps, so the first
     * reading is consistent with the next ones. */
    while (TN_SYST_CVR == 0) {
    }
    TN_REG(0xE000ED04u) = 1u << 25;
    g_systick_wraps = 0;
    g_clock = 2;
}

uint64_t tn_profile_now(void)
{
    if (!g_clock) tn_profile_init();
    if (g_clock == 1) return TN_DWT_CYCCNT; /* 32-bit; a layer never needs more */
    uint32_t wraps, val;
    do { /* consistent (wraps, VAL) pair */
        wraps = g_systick_wraps;
        val = TN_SYST_CVR;
    } while (wraps != g_systick_wraps);
    const uint64_t ticks = ((uint64_t)wraps << 24) + (0x00FFFFFFu - (val & 0x00FFFFFFu));
    return ticks * TN_PROFILE_SYSTICK_SCALE;
}
#else
void tn_profile_init(void) { g_clock = 3; }
uint64_t tn_profile_now(void) { return 0; }
#endif

const char *tn_profile_clock_name(void)
{
    if (!g_clock) tn_profile_init();
    return g_clock == 1 ? "dwt" : g_clock == 2 ? "systick" : "none";
}

void tn_profile_reset(void) { memset(g_records, 0, sizeof(g_records)); }

void tn_profile_begin(int32_t layer)
{
    if (layer < 0 || layer >= TN_PROFILE_MAX_LAYERS) return;
    g_records[layer].start = tn_profile_now();
}

void tn_profile_end(int32_t layer, const char *op, int32_t kh, int32_t kw, int32_t stride,
                    int32_t h_in, int32_t w_in, int32_t c_in, int32_t h_out, int32_t w_out,
                    int32_t c_out, uint32_t macs)
{
    const uint64_t now = tn_profile_now();
    if (layer < 0 || layer >= TN_PROFILE_MAX_LAYERS) return;
    tn_profile_record_t *r = &g_records[layer];
    r->op = op;
    r->kh = kh;
    r->kw = kw;
    r->stride = stride;
    r->h_in = h_in;
    r->w_in = w_in;
    r->c_in = c_in;
    r->h_out = h_out;
    r->w_out = w_out;
    r->c_out = c_out;
    r->macs = macs;
    r->cycles = now - r->start;
    r->used = 1;
}

const tn_profile_record_t *tn_profile_record(int32_t layer)
{
    if (layer < 0 || layer >= TN_PROFILE_MAX_LAYERS || !g_records[layer].used) return NULL;
    return &g_records[layer];
}

char *tn_format_u64(uint64_t v, char *buf)
{
    char tmp[21];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    for (int i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return buf;
}

char *tn_format_i32(int32_t v, char *buf)
{
    if (v < 0) {
        buf[0] = '-';
        tn_format_u64((uint64_t)(-(int64_t)v), buf + 1);
    } else {
        tn_format_u64((uint64_t)v, buf);
    }
    return buf;
}

void tn_profile_print_csv(tn_write_fn write)
{
    if (!write) return;
    write("op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles\n");
    char line[256], num[24];
    for (int32_t l = 0; l < TN_PROFILE_MAX_LAYERS; ++l) {
        const tn_profile_record_t *r = &g_records[l];
        if (!r->used) continue;
        const int32_t f[10] = {r->kh, r->kw, r->stride, r->h_in, r->w_in,
                               r->c_in, r->h_out, r->w_out, r->c_out, 0};
        size_t n = 0;
        const char *op = r->op ? r->op : "?";
        size_t len = strlen(op);
        if (len > 32) len = 32;
        memcpy(line, op, len);
        n = len;
        for (int i = 0; i < 9; ++i) {
            line[n++] = ',';
            tn_format_i32(f[i], num);
            len = strlen(num);
            memcpy(line + n, num, len);
            n += len;
        }
        line[n++] = ',';
        tn_format_u64(r->macs, num);
        len = strlen(num);
        memcpy(line + n, num, len);
        n += len;
        line[n++] = ',';
        tn_format_u64(r->cycles, num);
        len = strlen(num);
        memcpy(line + n, num, len);
        n += len;
        line[n++] = '\n';
        line[n] = '\0';
        write(line);
    }
}
