// Running a C program under QEMU mps2-an500 (Cortex-M7) from a test: scripts/run-on-qemu builds
// DIR's .c files with the runtime and runs them; '#' lines of their output are measurements
// (instruction counts), echoed but not compared.
#pragma once

#include <array>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace tinynas::testing_qemu {

inline bool have(const char* tool) {
  const std::string cmd = std::string("command -v ") + tool + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

inline bool have_arm_toolchain_and_qemu() {
  return have("arm-none-eabi-gcc") && have("qemu-system-arm");
}

// The output without its measurement lines.
inline std::string strip_measurements(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '#') out += line + "\n";
  }
  return out;
}

inline void echo_measurements(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '#') std::cout << line << "\n";
  }
}

// Builds and runs `dir` (relative to the source tree) on QEMU; its standard output in `out`.
// Returns the exit status, or -1 when the program did not exit normally.
inline int run_on_qemu(const std::string& dir, std::string* out) {
  const std::string cmd = std::string("TN_QEMU_TIMEOUT=120 '") + TINYNAS_SOURCE_DIR +
                          "/scripts/run-on-qemu' '" + TINYNAS_SOURCE_DIR + "/" + dir + "' 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  out->clear();
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out->append(buf.data(), n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace tinynas::testing_qemu
