// The runtime self-test (scripts/qemu/selftest) must print the same lines on
// the host (portable C path, linked here) and on QEMU mps2-an500 (Cortex-M7,
// SMLAD path, built by scripts/run-on-qemu). Lines starting with '#' are
// measurements (instructions per MAC under -icount) and are only echoed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "scripts/qemu/selftest/selftest.h"
#include "tests/runtime/qemu_run.h"

namespace {

using namespace tinynas::testing_qemu;

std::string g_host;
void host_write(const char* s) { g_host += s; }

TEST(RuntimeSelftest, HostRunsClean) {
  g_host.clear();
  EXPECT_EQ(tn_selftest_run(host_write), 0);
  EXPECT_NE(g_host.find("failures 0\n"), std::string::npos);
  EXPECT_NE(g_host.find("dw3_s1_inplace rc=0"), std::string::npos);
}

TEST(RuntimeSelftest, QemuCortexM7MatchesHostByteForByte) {
  if (!have_arm_toolchain_and_qemu()) GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm not installed";
  g_host.clear();
  ASSERT_EQ(tn_selftest_run(host_write), 0);
  std::string qemu;
  ASSERT_EQ(run_on_qemu("scripts/qemu/selftest", &qemu), 0) << qemu;
  const std::string want = strip_measurements(g_host);
  ASSERT_GT(want.size(), 500u);
  EXPECT_EQ(strip_measurements(qemu), want);
  echo_measurements(qemu);  // the Cortex-M7 instruction counts, into the test log
}

// tests/runtime/qemu_check: random conv / pointwise / depthwise shapes that
// reach every branch of the Arm assembly, checked on the Cortex-M7 itself
// against a naive reference (exit status = number of mismatching cases).
TEST(RuntimeSelftest, QemuKernelsMatchNaiveReference) {
  if (!have_arm_toolchain_and_qemu()) GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm not installed";
  std::string out;
  EXPECT_EQ(run_on_qemu("tests/runtime/qemu_check", &out), 0) << out;
  EXPECT_NE(out.find(" failures 0\n"), std::string::npos) << out;
}

TEST(RuntimeSelftest, RunOnQemuRejectsBadInput) {
  const std::string script = std::string(TINYNAS_SOURCE_DIR) + "/scripts/run-on-qemu";
  EXPECT_EQ(WEXITSTATUS(std::system((script + " 2>/dev/null").c_str())), 2);
  EXPECT_EQ(WEXITSTATUS(std::system((script + " /nonexistent/dir 2>/dev/null").c_str())), 2);
  EXPECT_EQ(WEXITSTATUS(std::system((script + " --bogus . 2>/dev/null").c_str())), 2);
}

}  // namespace
