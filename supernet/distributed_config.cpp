#include "supernet/distributed_config.h"

#include <cerrno>
#include <algorithm>
#include <cstdlib>

#include "search_spaces/config_node.h"

namespace tinynas {

namespace {

int env_int(const EnvLookup& getenv, const char* name, int lo, int hi) {
  const char* v = getenv(name);
  char* end = nullptr;
  errno = 0;
  const long x = v ? std::strtol(v, &end, 10) : 0;
  if (!v || !*v || *end || errno || x < lo || x > hi) {
    throw ConfigError(std::string("environment variable ") + name + "='" + (v ? v : "") +
                      "': expected an integer in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "]");
  }
  return static_cast<int>(x);
}

bool has(const EnvLookup& getenv, const char* name) {
  const char* v = getenv(name);
  return v && *v;
}

void check_rank(const DistributedConfig& c, const char* rank_var) {
  if (c.rank >= c.world_size) {
    throw ConfigError(std::string("environment variable ") + rank_var + "=" +
                      std::to_string(c.rank) + ": expected a rank below the world size " +
                      std::to_string(c.world_size));
  }
}

// MASTER_ADDR / MASTER_PORT when set, over whatever the launcher implies.
void read_master(const EnvLookup& getenv, DistributedConfig& c) {
  if (has(getenv, "MASTER_ADDR")) c.master_addr = getenv("MASTER_ADDR");
  if (has(getenv, "MASTER_PORT")) c.master_port = env_int(getenv, "MASTER_PORT", 1, 65535);
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // Hosts are separated by commas outside brackets; a bracket holds ranges of suffixes.
  std::string host;
  std::size_t i = 0;
  for (; i < nodelist.size() && nodelist[i] != ',' && nodelist[i] != '['; ++i) host += nodelist[i];
  if (i < nodelist.size() && nodelist[i] == '[') {
    std::size_t j = i + 1;
    while (j < nodelist.size() && nodelist[j] != ',' && nodelist[j] != '-' && nodelist[j] != ']') {
      host += nodelist[j++];
    }
  }
  return host;
}

int first_tasks_per_node(const std::string& tasks_per_node) {
  int n = 0;
  for (char ch : tasks_per_node) {
    if (ch < '0' || ch > '9') break;
    n = n * 10 + (ch - '0');
  }
  return n;
}

std::optional<DistributedConfig> distributed_config_from_env(const EnvLookup& getenv) {
  DistributedConfig c;
  if (has(getenv, "TINYNAS_WORLD_SIZE")) {
    // Our own launcher (`--nproc`): one machine, a FileStore or an explicit master.
    c.launcher = "nproc";
    c.world_size = env_int(getenv, "TINYNAS_WORLD_SIZE", 1, 1 << 16);
    c.rank = env_int(getenv, "TINYNAS_RANK", 0, 1 << 16);
    check_rank(c, "TINYNAS_RANK");
    c.local_rank = c.rank;
    c.local_world_size = c.world_size;
    if (has(getenv, "TINYNAS_STORE")) c.store_file = getenv("TINYNAS_STORE");
    read_master(getenv, c);
    if (c.store_file.empty() && c.master_addr.empty() && c.world_size > 1) {
      throw ConfigError("environment variable TINYNAS_STORE: expected a rendezvous file shared "
                        "by the ranks (or set MASTER_ADDR and MASTER_PORT)");
    }
  } else if (has(getenv, "SLURM_STEP_NUM_TASKS") && has(getenv, "SLURM_PROCID")) {
    // A task of an srun job step (a batch script itself has no SLURM_STEP_NUM_TASKS: it is one
    // process, whatever --ntasks says).
    c.launcher = "slurm";
    c.world_size = env_int(getenv, "SLURM_STEP_NUM_TASKS", 1, 1 << 20);
    c.rank = env_int(getenv, "SLURM_PROCID", 0, 1 << 20);
    check_rank(c, "SLURM_PROCID");
    if (has(getenv, "SLURM_LOCALID")) c.local_rank = env_int(getenv, "SLURM_LOCALID", 0, 1 << 20);
    const char* tpn = has(getenv, "SLURM_STEP_TASKS_PER_NODE") ? getenv("SLURM_STEP_TASKS_PER_NODE")
                                                               : getenv("SLURM_TASKS_PER_NODE");
    c.local_world_size = tpn ? std::max(1, first_tasks_per_node(tpn)) : 1;
    const char* nodes = has(getenv, "SLURM_STEP_NODELIST") ? getenv("SLURM_STEP_NODELIST")
                                                           : getenv("SLURM_JOB_NODELIST");
    if (nodes) c.master_addr = first_slurm_host(nodes);
    // A port per job step, so two jobs whose first node is the same machine do not collide.
    if (has(getenv, "SLURM_JOB_ID")) {
      const long job = std::strtol(getenv("SLURM_JOB_ID"), nullptr, 10);
      const long step = has(getenv, "SLURM_STEP_ID") ? std::strtol(getenv("SLURM_STEP_ID"), nullptr, 10) : 0;
      c.master_port = 15000 + static_cast<int>((job * 8 + step) % 40000);
    }
    read_master(getenv, c);
    if (c.master_addr.empty()) {
      throw ConfigError("Slurm job step without SLURM_STEP_NODELIST or SLURM_JOB_NODELIST: set "
                        "MASTER_ADDR (and MASTER_PORT) to rank 0's host");
    }
  } else if (has(getenv, "WORLD_SIZE")) {
    c.launcher = "env";
    c.world_size = env_int(getenv, "WORLD_SIZE", 1, 1 << 20);
    c.rank = env_int(getenv, "RANK", 0, 1 << 20);
    check_rank(c, "RANK");
    if (has(getenv, "LOCAL_RANK")) c.local_rank = env_int(getenv, "LOCAL_RANK", 0, 1 << 20);
    if (has(getenv, "LOCAL_WORLD_SIZE")) {
      c.local_world_size = env_int(getenv, "LOCAL_WORLD_SIZE", 1, 1 << 20);
    }
    read_master(getenv, c);
    if (c.master_addr.empty() && c.world_size > 1) {
      throw ConfigError("environment variable MASTER_ADDR: expected rank 0's host (WORLD_SIZE is "
                        "set)");
    }
  } else {
    return std::nullopt;
  }
  if (has(getenv, "TINYNAS_DIST_TIMEOUT")) {
    c.timeout_seconds = env_int(getenv, "TINYNAS_DIST_TIMEOUT", 1, 7 * 24 * 3600);
  }
  return c;
}

std::optional<DistributedConfig> distributed_config_from_env() {
  return distributed_config_from_env([](const char* name) { return std::getenv(name); });
}

}  // namespace tinynas
