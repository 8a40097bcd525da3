/* Arm semihosting (bkpt 0xAB) for the QEMU firmware. */
#ifndef TN_QEMU_SEMIHOST_H
#define TN_QEMU_SEMIHOST_H
#ifdef __cplusplus
extern "C" {
#endif
/* Write a NUL-terminated string to the host's stdout. */
void tn_semihost_write0(const char *s);
/* Write len bytes to the host's stdout. */
void tn_semihost_write(const char *buf, unsigned len);
/* Terminate QEMU with exit status `code` (SYS_EXIT_EXTENDED). Never returns. */
void tn_semihost_exit(int code) __attribute__((noreturn));
#ifdef __cplusplus
}
#endif
#endif
