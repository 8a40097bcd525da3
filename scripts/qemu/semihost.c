/* Arm semihosting for qemu-system-arm -semihosting-config enable=on,target=native.
 *
 * Output: SYS_OPEN(":tt", "w") gives a handle to the host console that
 * QEMU maps to its own stdout; SYS_WRITE writes to it. (SYS_WRITE0 goes to
 * QEMU's semihosting console, which QEMU sends to stderr unless a chardev is
 * configured, so we avoid it for normal output.)
 * Exit: SYS_EXIT_EXTENDED (0x20) with {ADP_Stopped_ApplicationExit, code}
 * makes QEMU exit with `code`; plain 32-bit SYS_EXIT cannot carry a status.
 *
 * The newlib syscalls _write/_exit are defined here so printf() in a
 * generated main.c works when linked with --specs=nano.specs --specs=nosys.specs.
 */
#include <stdint.h>
#include <string.h>
#include "semihost.h"

#define SYS_OPEN 0x01
#define SYS_WRITE 0x05
#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define SYS_EXIT_EXTENDED 0x20
#define ADP_Stopped_ApplicationExit 0x20026

static inline int semihost_call(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static int tt_handle = -1;

static int console(void)
{
    if (tt_handle < 0) {
        uint32_t args[3];
        args[0] = (uint32_t)(uintptr_t)":tt";
        args[1] = 4; /* mode "w" */
        args[2] = 3; /* strlen(":tt") */
        tt_handle = semihost_call(SYS_OPEN, args);
    }
    return tt_handle;
}

void tn_semihost_write(const char *buf, unsigned len)
{
    uint32_t args[3];
    args[0] = (uint32_t)console();
    args[1] = (uint32_t)(uintptr_t)buf;
    args[2] = len;
    semihost_call(SYS_WRITE, args);
}

void tn_semihost_write0(const char *s) { tn_semihost_write(s, (unsigned)strlen(s)); }

void tn_semihost_exit(int code)
{
    uint32_t args[2];
    args[0] = ADP_Stopped_ApplicationExit;
    args[1] = (uint32_t)code;
    semihost_call(SYS_EXIT_EXTENDED, args);
    /* Fallback for hosts without SYS_EXIT_EXTENDED: 0 if code==0 else 1. */
    semihost_call(SYS_EXIT, (void *)(uintptr_t)(code == 0 ? ADP_Stopped_ApplicationExit : 0x20023));
    for (;;) {
    }
}

/* ---- newlib system calls (override libnosys stubs) ---- */
int _write(int fd, const char *buf, int len)
{
    (void)fd; /* stdout and stderr both go to the host console */
    tn_semihost_write(buf, (unsigned)len);
    return len;
}

void _exit(int code) { tn_semihost_exit(code); }
