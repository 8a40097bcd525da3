#include "nas/cli/launch_ranks.h"

#include <fmt/core.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "search_spaces/config_node.h"

namespace tinynas {

namespace {

// This process's own arguments, as the kernel holds them (NUL-separated).
std::vector<std::string> own_arguments() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string cur;
  for (char ch : all) {
    if (ch == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  return args;
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return fmt::format("was killed by signal {} ({})", sig, strsignal(sig));
  }
  return fmt::format("exited with status {}", WEXITSTATUS(status));
}

}  // namespace

int launch_ranks(int nproc) {
  const std::vector<std::string> args = own_arguments();
  if (args.empty()) throw std::runtime_error("--nproc: cannot read /proc/self/cmdline");
  std::string tmpl = (std::filesystem::temp_directory_path() / "tinynas-ranks-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    throw std::runtime_error(fmt::format("--nproc: cannot create {}: {}", tmpl, std::strerror(errno)));
  }
  const std::string dir = tmpl;
  const std::string store = dir + "/store";

  std::vector<pid_t> pids(static_cast<std::size_t>(nproc), -1);
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(fmt::format("--nproc: fork failed: {}", std::strerror(errno)));
    if (pid == 0) {
      // A launcher killed outright (SIGKILL) takes its ranks with it instead of leaving them
      // waiting on each other.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      setenv("TINYNAS_RANK", std::to_string(r).c_str(), 1);
      setenv("TINYNAS_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("TINYNAS_STORE", store.c_str(), 1);
      std::vector<char*> argv;
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "tinynas: rank %d: exec failed: %s\n", r, std::strerror(errno));
      _exit(127);
    }
    pids[static_cast<std::size_t>(r)] = pid;
  }

  int running = nproc, exit_code = 0;
  bool stopping = false;
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, stopping ? WNOHANG : 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;
    if (pid == 0) {  // stopping, nobody exited yet
      if (std::chrono::steady_clock::now() > deadline) {
        for (pid_t p : pids) {
          if (p > 0) kill(p, SIGKILL);
        }
        deadline = std::chrono::steady_clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    int rank = -1;
    for (int r = 0; r < nproc; ++r) {
      if (pids[static_cast<std::size_t>(r)] == pid) rank = r;
    }
    if (rank < 0) continue;
    pids[static_cast<std::size_t>(rank)] = -1;
    --running;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok && !stopping) {
      // The first failure decides the job's fate; the others would only wait on a dead peer.
      fmt::print(stderr, "tinynas: rank {} of {} (pid {}) {}; stopping the other ranks\n", rank,
                 nproc, pid, describe(status));
      exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
      stopping = true;
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      for (pid_t p : pids) {
        if (p > 0) kill(p, SIGTERM);
      }
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (exit_code != 0) {
    fmt::print(stderr, "tinynas: the job failed; the last checkpoint written is where --resume "
                       "goes on\n");
  }
  return exit_code;
}

}  // namespace tinynas
