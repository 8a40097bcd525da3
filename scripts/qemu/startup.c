/* Minimal Cortex-M7 startup for qemu-system-arm -M mps2-an500.
 *
 * Vector table + reset handler: copy .data from its load image, zero .bss,
 * enable the FPU when built hard-float, run C/C++ constructors, call main()
 * and report its return value to QEMU through semihosting (tn_semihost_exit).
 * Faults print a message and exit with status 3 so a crashing firmware never
 * hangs the test run (run-on-qemu also has a timeout).
 */
#include <stdint.h>
#include <string.h>
#include "semihost.h"

extern uint32_t __data_start__, __data_end__, __data_load__;
extern uint32_t __bss_start__, __bss_end__, __StackTop;
extern int main(void);
extern void __libc_init_array(void);

void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef void (*tn_vector_t)(void);

__attribute__((section(".vectors"), used))
const tn_vector_t tn_vector_table[16 + 32] = {
    (tn_vector_t)(uintptr_t)&__StackTop,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0, 0, 0, 0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
    /* 32 external interrupts: none used, all Default_Handler. */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
};

void Reset_Handler(void)
{
    uint32_t *src = &__data_load__;
    uint32_t *dst = &__data_start__;
    while (dst < &__data_end__) *dst++ = *src++;
    for (dst = &__bss_start__; dst < &__bss_end__;) *dst++ = 0;

#if defined(__ARM_FP)
    /* CPACR (0xE000ED88): full access to CP10/CP11, i.e. the FPU. Must happen
     * before any floating-point instruction (printf of doubles, etc.). */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif

    __libc_init_array();
    tn_semihost_exit(main());
}

void HardFault_Handler(void)
{
    tn_semihost_write0("tinynas firmware: HardFault/BusFault/UsageFault\n");
    tn_semihost_exit(3);
}

void Default_Handler(void)
{
    tn_semihost_write0("tinynas firmware: unexpected exception\n");
    tn_semihost_exit(3);
}

/* newlib's __libc_init_array calls _init(); nothing to do here. */
void _init(void) {}
void _fini(void) {}
