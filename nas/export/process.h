// Runs a shell command and captures what it prints: for the exporter's host compile, QEMU run
// and flash measurement.
#pragma once

#include <string>

namespace tinynas {

struct ProcessResult {
  int exit_code = -1;
  std::string out, err;
};

// `command` goes to /bin/sh; stdout and stderr are captured separately.
ProcessResult run_process(const std::string& command);
std::string shell_quote(const std::string& s);

}  // namespace tinynas
