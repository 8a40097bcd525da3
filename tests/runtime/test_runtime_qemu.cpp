// The runtime self-test (scripts/qemu/selftest) must print the same lines on
// the host (portable C path, linked here) and on QEMU mps2-an500 (Cortex-M7,
// SMLAD path, built by scripts/run-on-qemu). Lines starting with '#' are
// measurements (instructions per MAC under -icount) and are only echoed.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include "scripts/qemu/selftest/selftest.h"

namespace {

std::string g_host;
void host_write(const char* s) { g_host += s; }

std::string strip_measurements(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line))
    if (line.empty() || line[0] != '#') out += line + "\n";
  return out;
}

bool have(const char* tool) {
  std::string cmd = std::string("command -v ") + tool + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

TEST(RuntimeSelftest, HostRunsClean) {
  g_host.clear();
  EXPECT_EQ(tn_selftest_run(host_write), 0);
  EXPECT_NE(g_host.find("failures 0\n"), std::string::npos);
  EXPECT_NE(g_host.find("dw3_s1_inplace rc=0"), std::string::npos);
}

TEST(RuntimeSelftest, QemuCortexM7MatchesHostByteForByte) {
  if (!have("arm-none-eabi-gcc") || !have("qemu-system-arm"))
    GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm not installed";
  g_host.clear();
  ASSERT_EQ(tn_selftest_run(host_write), 0);

  const std::string cmd = std::string("TN_QEMU_TIMEOUT=120 '") + TINYNAS_SOURCE_DIR +
                          "/scripts/run-on-qemu' '" + TINYNAS_SOURCE_DIR + "/scripts/qemu/selftest' 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string qemu;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) qemu.append(buf.data(), n);
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << qemu;

  const std::string want = strip_measurements(g_host);
  ASSERT_GT(want.size(), 500u);
  EXPECT_EQ(strip_measurements(qemu), want);
  // Echo the Cortex-M7 instruction counts into the test log.
  std::istringstream in(qemu);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '#') std::cout << line << "\n";
}

// tests/runtime/qemu_check: random conv / pointwise / depthwise shapes that
// reach every branch of the Arm assembly, checked on the Cortex-M7 itself
// against a naive reference (exit status = number of mismatching cases).
TEST(RuntimeSelftest, QemuKernelsMatchNaiveReference) {
  if (!have("arm-none-eabi-gcc") || !have("qemu-system-arm"))
    GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm not installed";
  const std::string cmd = std::string("TN_QEMU_TIMEOUT=120 '") + TINYNAS_SOURCE_DIR + "/scripts/run-on-qemu' '" +
                          TINYNAS_SOURCE_DIR + "/tests/runtime/qemu_check' 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  EXPECT_NE(out.find(" failures 0\n"), std::string::npos) << out;
}

TEST(RuntimeSelftest, RunOnQemuRejectsBadInput) {
  const std::string script = std::string(TINYNAS_SOURCE_DIR) + "/scripts/run-on-qemu";
  EXPECT_EQ(WEXITSTATUS(std::system((script + " 2>/dev/null").c_str())), 2);
  EXPECT_EQ(WEXITSTATUS(std::system((script + " /nonexistent/dir 2>/dev/null").c_str())), 2);
  EXPECT_EQ(WEXITSTATUS(std::system((script + " --bogus . 2>/dev/null").c_str())), 2);
}

}  // namespace
