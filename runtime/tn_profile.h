/*
 * tinynas runtime: per-layer profiler.
 *
 * Generated model code brackets every layer with
 *     TN_PROFILE_BEGIN(i);
 *     ...kernel call...
 *     TN_PROFILE_END(i, "conv", kh, kw, stride, h_in, w_in, c_in, h_out, w_out, c_out, macs);
 * Both macros are no-ops unless TN_PROFILE is defined (for every translation
 * unit, runtime included). tn_profile_print_csv() then prints
 *     op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles
 * one row per recorded layer in layer-index order, op one of
 * conv, pointwise, depthwise, add, avgpool, fc.
 *
 * Clock (tn_profile_clock_name()):
 *  - "dwt": Cortex-M DWT->CYCCNT (0xE0001004), enabled through DEMCR.TRCENA
 *    (0xE000EDFC bit 24) and DWT_CTRL.CYCCNTENA (0xE0001000 bit 0). Real cycles.
 *  - "systick": QEMU does not emulate the DWT (CYCCNT reads as 0), so when
 *    CYCCNT does not move we fall back to SysTick (0xE000E010) on the processor
 *    clock, 24-bit, wraps counted by SysTick_Handler. QEMU's mps2-an500 clocks
 *    SysTick at 25 MHz of *virtual* time, and with `-icount shift=0` each guest
 *    instruction advances virtual time by exactly 1 ns, so one tick = 40
 *    instructions: "cycles" are then guest INSTRUCTIONS (40-instruction
 *    resolution), deterministic run to run. TN_PROFILE_SYSTICK_SCALE (default 40)
 *    sets the multiplier. (Measured: a 100001-instruction loop = 2499-2500 ticks.)
 *  - "none": host builds (the runtime is freestanding; no OS clock) record 0.
 * Defining TN_PROFILE makes tn_profile.c define SysTick_Handler on Arm; define
 * TN_PROFILE_NO_SYSTICK_HANDLER too if the application owns SysTick (then a
 * layer longer than 2^24 ticks is mis-measured).
 */
#ifndef TN_PROFILE_H
#define TN_PROFILE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef TN_PROFILE_MAX_LAYERS
#define TN_PROFILE_MAX_LAYERS 128
#endif

typedef struct {
    const char *op;
    int32_t kh, kw, stride, h_in, w_in, c_in, h_out, w_out, c_out;
    uint32_t macs;
    uint64_t cycles;
    uint64_t start;
    int32_t used;
} tn_profile_record_t;

/* Starts the clock (called lazily by the first tn_profile_begin). */
void tn_profile_init(void);
/* Current counter value in cycles (or instructions under QEMU, see above). */
uint64_t tn_profile_now(void);
/* "dwt", "systick" or "none". */
const char *tn_profile_clock_name(void);
void tn_profile_begin(int32_t layer);
void tn_profile_end(int32_t layer, const char *op, int32_t kh, int32_t kw, int32_t stride,
                    int32_t h_in, int32_t w_in, int32_t c_in, int32_t h_out, int32_t w_out,
                    int32_t c_out, uint32_t macs);
void tn_profile_reset(void);
const tn_profile_record_t *tn_profile_record(int32_t layer); /* NULL if unused */
/* Print the CSV (header + rows) through `write` (e.g. a semihosting puts). */
typedef void (*tn_write_fn)(const char *text);
void tn_profile_print_csv(tn_write_fn write);
/* Formatting helper (no stdio): decimal of v into buf (>= 21 bytes), returns buf. */
char *tn_format_u64(uint64_t v, char *buf);
char *tn_format_i32(int32_t v, char *buf);

#ifdef TN_PROFILE
#define TN_PROFILE_BEGIN(layer) tn_profile_begin(layer)
#define TN_PROFILE_END(layer, op, kh, kw, stride, h_in, w_in, c_in, h_out, w_out, c_out, macs) \
    tn_profile_end((layer), (op), (kh), (kw), (stride), (h_in), (w_in), (c_in), (h_out), (w_out), \
                   (c_out), (uint32_t)(macs))
#else
#define TN_PROFILE_BEGIN(layer) ((void)0)
#define TN_PROFILE_END(layer, op, kh, kw, stride, h_in, w_in, c_in, h_out, w_out, c_out, macs) ((void)0)
#endif

#ifdef __cplusplus
}
#endif

#endif /* TN_PROFILE_H */
