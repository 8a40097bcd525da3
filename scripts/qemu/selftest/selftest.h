/* tinynas runtime self-test: runs every kernel on deterministic LCG data and
 * prints checksums. The same C runs on the host and on QEMU (Cortex-M7, SMLAD
 * path); lines not starting with '#' must match byte for byte. Lines starting
 * with '#' are measurements (instructions per MAC) that differ by design. */
#ifndef TN_SELFTEST_H
#define TN_SELFTEST_H
#include "runtime/tn_profile.h"
#ifdef __cplusplus
extern "C" {
#endif
/* Returns the number of kernel calls that did not return TN_OK (0 = pass). */
int tn_selftest_run(tn_write_fn write);
#ifdef __cplusplus
}
#endif
#endif
