#include "nas/export/process.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "search_spaces/atomic_file.h"

namespace tinynas {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

ProcessResult run_process(const std::string& command) {
  char err_path[] = "/tmp/tinynas_stderr_XXXXXX";
  const int fd = mkstemp(err_path);
  if (fd < 0) throw std::runtime_error("cannot create a temporary file for " + command);
  close(fd);
  ProcessResult r;
  FILE* p = popen((command + " 2>" + shell_quote(err_path)).c_str(), "r");
  if (!p) {
    std::remove(err_path);
    throw std::runtime_error("cannot run: " + command);
  }
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof(buf), p)) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  r.err = read_file(err_path);
  std::remove(err_path);
  return r;
}

}  // namespace tinynas
