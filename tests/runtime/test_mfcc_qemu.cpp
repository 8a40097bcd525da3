// The MFCC front end on QEMU mps2-an500 (Cortex-M7, tests/runtime/qemu_mfcc)
// must print the same lines as on the host; '#' lines are measurements
// (instructions per 1 s clip) and are only echoed.
#include <gtest/gtest.h>

#include <string>

#include "tests/runtime/qemu_mfcc/mfcc_check.h"
#include "tests/runtime/qemu_run.h"

namespace {

using namespace tinynas::testing_qemu;

std::string g_host;
void host_write(const char* s) { g_host += s; }

TEST(MfccQemu, HostRunsClean) {
  g_host.clear();
  EXPECT_EQ(tn_mfcc_check_run(host_write), 0);
  EXPECT_NE(g_host.find("failures 0\n"), std::string::npos) << g_host;
  EXPECT_NE(g_host.find("silence rc=0"), std::string::npos) << g_host;
}

TEST(MfccQemu, CortexM7MatchesHostByteForByte) {
  if (!have_arm_toolchain_and_qemu()) GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm not installed";
  g_host.clear();
  ASSERT_EQ(tn_mfcc_check_run(host_write), 0);
  std::string qemu;
  ASSERT_EQ(run_on_qemu("tests/runtime/qemu_mfcc", &qemu), 0) << qemu;
  const std::string want = strip_measurements(g_host);
  ASSERT_GT(want.size(), 300u);
  EXPECT_EQ(strip_measurements(qemu), want);
  echo_measurements(qemu);
}

}  // namespace
