#include "nas/search/slurm_submit.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "nas/export/process.h"
#include "search_spaces/atomic_file.h"
#include "search_spaces/config_node.h"

namespace tinynas {

namespace {

// sbatch --parsable prints "<id>" or "<id>;<cluster>".
std::string submit(const std::string& cmd) {
  const ProcessResult r = run_process(cmd);
  if (r.exit_code != 0) {
    throw std::runtime_error(fmt::format("`{}` failed (exit {}): {}{}", cmd, r.exit_code, r.out, r.err));
  }
  std::string line = r.out.substr(0, r.out.find('\n'));
  line = line.substr(0, line.find(';'));
  if (line.empty() || line.find_first_not_of("0123456789") != std::string::npos) {
    throw std::runtime_error("`" + cmd + "` printed no job id: " + r.out + r.err);
  }
  return line;
}

}  // namespace

std::optional<std::string> find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string p = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

SubmittedSweep submit_sweep_array(const Sweep& sweep, const SweepArrayRequest& req) {
  const int n = static_cast<int>(sweep.runs.size());
  const auto sbatch = find_on_path("sbatch");
  if (!sbatch) {
    throw ConfigError("--submit-slurm: sbatch not found on PATH (Slurm's client): run this on a Slurm login node, "
                      "or run the tasks yourself (--array-task I for I in 0.." +
                      std::to_string(n - 1) + ", then a plain `tinynas sweep`)");
  }
  std::filesystem::create_directories(req.dir + "/slurm");  // Slurm does not create the log directory
  const std::string extra = req.sbatch_args.empty() ? "" : " " + req.sbatch_args;
  std::string runs;
  for (int i = 0; i < n; ++i) runs += fmt::format("#   task {}: run {}\n", i, sweep.runs[static_cast<std::size_t>(i)].name);
  const std::string head = fmt::format(
      "#!/bin/bash\n"
      "# Written by `tinynas sweep --submit-slurm` for the sweep {}.\n",
      std::filesystem::absolute(sweep.path).lexically_normal().string());
  const std::string array_script = head + fmt::format(
      "# One run of the sweep per task of this job array, every task writing into the results store\n"
      "# {} at the same time. sweep-merge.sbatch, submitted after it\n"
      "# (--dependency=afterok), writes sweep.csv, sweep.json and sweep.svg from the store.\n"
      "# Submitted as: sbatch{} sweep.sbatch\n"
      "# A failed task again: sbatch{} --array=I sweep.sbatch (then sweep-merge.sbatch)\n"
      "{}"
      "#SBATCH --job-name=tinynas-sweep-{}\n"
      "#SBATCH --array=0-{}\n"
      "#SBATCH --output={}/slurm/%x-%A_%a.out\n"
      "set -euo pipefail\n"
      "cd {}\n"
      "exec {} --array-task \"$SLURM_ARRAY_TASK_ID\"\n",
      req.store, extra, extra, runs, sweep.name, n - 1, req.dir, shell_quote(req.workdir), req.command);
  const std::string merge_script = head + fmt::format(
      "# Once every task of the array has finished: finds every run done in the store and writes\n"
      "# sweep.csv, sweep.json, sweep.svg, sweep_flash.svg and accuracy_cache.csv from it.\n"
      "#SBATCH --job-name=tinynas-sweep-{}-merge\n"
      "#SBATCH --output={}/slurm/%x-%j.out\n"
      "set -euo pipefail\n"
      "cd {}\n"
      "exec {}\n",
      sweep.name, req.dir, shell_quote(req.workdir), req.command);
  write_file_atomic(req.dir + "/sweep.sbatch", array_script);
  write_file_atomic(req.dir + "/sweep-merge.sbatch", merge_script);
  SubmittedSweep s;
  s.array_job_id = submit(shell_quote(*sbatch) + " --parsable" + extra + " " + shell_quote(req.dir + "/sweep.sbatch"));
  s.merge_job_id = submit(shell_quote(*sbatch) + " --parsable --dependency=afterok:" + s.array_job_id + extra + " " +
                          shell_quote(req.dir + "/sweep-merge.sbatch"));
  return s;
}

}  // namespace tinynas
