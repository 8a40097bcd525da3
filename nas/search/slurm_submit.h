// A sweep as a Slurm job array (`tinynas sweep --submit-slurm`): one run per array task, every
// task writing into the shared results store, and a merge job after the array
// (--dependency=afterok) that writes sweep.csv, sweep.json and sweep.svg from the store. The
// batch scripts are written to the sweep's directory first, so what was submitted can be read
// and resubmitted by hand.
#pragma once

#include <optional>
#include <string>

#include "nas/search/sweep.h"

namespace tinynas {

struct SweepArrayRequest {
  std::string dir;          // the sweep's output directory (absolute; every node must see it)
  std::string store;        // the results store (absolute)
  std::string command;      // what each task runs, without --array-task (and the merge job as is)
  std::string workdir;      // where the jobs start (relative paths in the sweep file resolve there)
  std::string sbatch_args;  // extra sbatch arguments, split as the shell splits them, for both jobs
};

struct SubmittedSweep {
  std::string array_job_id, merge_job_id;
};

// Writes DIR/sweep.sbatch and DIR/sweep-merge.sbatch and submits both. ConfigError when sbatch is
// not on PATH (naming the by-hand alternative); runtime_error with what sbatch printed when a
// submission fails.
SubmittedSweep submit_sweep_array(const Sweep& sweep, const SweepArrayRequest& request);

// The first executable `name` on PATH.
std::optional<std::string> find_on_path(const std::string& name);

}  // namespace tinynas
