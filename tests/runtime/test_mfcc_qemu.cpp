// The MFCC front end on QEMU mps2-an500 (Cortex-M7, tests/runtime/qemu_mfcc)
// must print the same lines as on the host; '#' lines are measurements
// (instructions per 1 s clip) and are only echoed.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include "tests/runtime/qemu_mfcc/mfcc_check.h"

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

TEST(MfccQemu, HostRunsClean) {
  g_host.clear();
  EXPECT_EQ(tn_mfcc_check_run(host_write), 0);
  EXPECT_NE(g_host.find("failures 0\n"), std::string::npos) << g_host;
  EXPECT_NE(g_host.find("silence rc=0"), std::string::npos) << g_host;
}

TEST(MfccQemu, CortexM7MatchesHostByteForByte) {
  if (!have("arm-none-eabi-gcc") || !have("qemu-system-arm"))
    GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm not installed";
  g_host.clear();
  ASSERT_EQ(tn_mfcc_check_run(host_write), 0);
  const std::string cmd = std::string("TN_QEMU_TIMEOUT=120 '") + TINYNAS_SOURCE_DIR + "/scripts/run-on-qemu' '" +
                          TINYNAS_SOURCE_DIR + "/tests/runtime/qemu_mfcc' 2>/dev/null";
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
  ASSERT_GT(want.size(), 300u);
  EXPECT_EQ(strip_measurements(qemu), want);
  std::istringstream in(qemu);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '#') std::cout << line << "\n";
}

}  // namespace
