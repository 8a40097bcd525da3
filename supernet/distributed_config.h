// Where this process stands in a data-parallel training job: its rank, the world size and how
// the ranks meet (c10d's rendezvous store). Plain C++, read from the environment the launcher
// left: `tinynas train --nproc N` (TINYNAS_RANK, TINYNAS_WORLD_SIZE, TINYNAS_STORE: a FileStore
// path), `srun` (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID; the master is the first host of
// SLURM_STEP_NODELIST / SLURM_JOB_NODELIST unless MASTER_ADDR is set), or torchrun-style
// launchers (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT).
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace tinynas {

struct DistributedConfig {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        // among the ranks on this machine
  int local_world_size = 1;  // ranks on this machine (intra-op threads are shared out among them)
  // The rendezvous: a FileStore path (one machine), or rank 0's TCPStore at master_addr:port.
  std::string store_file;
  std::string master_addr;
  int master_port = 29500;
  int timeout_seconds = 1800;  // a collective waiting longer than this fails the job
  std::string launcher;        // "nproc", "slurm", "env" or "" (one process)

  bool distributed() const { return world_size > 1; }
};

// Reads the variables above through `getenv` (a parameter, so tests pass their own). Returns
// nullopt when no launcher set any. Throws ConfigError naming the variable for values that make
// no sense (a rank outside the world, a world size below 1, no master to meet at).
using EnvLookup = std::function<const char*(const char*)>;
std::optional<DistributedConfig> distributed_config_from_env(const EnvLookup& getenv);
std::optional<DistributedConfig> distributed_config_from_env();  // the process's environment

// The first host of a Slurm node list: "node[03-05,9],gpu1" -> "node03", "a,b" -> "a".
std::string first_slurm_host(const std::string& nodelist);
// The tasks on the first node of SLURM_STEP_TASKS_PER_NODE / SLURM_TASKS_PER_NODE:
// "2(x3),1" -> 2.
int first_tasks_per_node(const std::string& tasks_per_node);

}  // namespace tinynas
