/* QEMU firmware entry of the runtime self-test (see selftest.h). */
#include "semihost.h"
#include "selftest.h"

int main(void) { return tn_selftest_run(tn_semihost_write0) == 0 ? 0 : 1; }
