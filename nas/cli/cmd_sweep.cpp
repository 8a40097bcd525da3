// tinynas sweep: the same search over several MCUs, budgets or settings (nas/search/sweep.h), on
// one supernet loaded once, with the accuracies measured by one run reused by the others; or one
// run of it as a task of a job array (--array-task), or the whole as a Slurm job array
// (--submit-slurm).
#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>

#include "nas/cli/cli.h"
#include "nas/cli/export_subnet.h"
#include "nas/export/process.h"
#include "nas/search/slurm_submit.h"
#include "nas/search/sweep.h"
#include "search_spaces/atomic_file.h"
#include "search_spaces/hash.h"
#ifdef TINYNAS_WITH_TORCH
#include "nas/cli/supernet_scorer.h"
#include "supernet/api.h"
#endif

namespace tinynas {

namespace {

struct SweepArgs {
  std::string config, out, checkpoint, store, sbatch_args;
  bool fresh = false, no_export = false, qemu = false, submit_slurm = false;
  int array_task = -1;
};

const char* kFormat = R"(
The sweep file (YAML; paths relative to it):
  base: ../stm32f746.yaml        experiment config every run starts from (space, data, supernet)
  search: {generations: 20}      optional, over the base's search: settings, for every run
  export: {calibration_images: 256}   optional, likewise over the base's export:
  runs:                          one search per entry, in this order
    - name: f412                 required, unique: the run's directory OUT/<name>
      mcu: ../mcus/stm32f412.yaml    optional: another MCU file
      sram_budget_kb: 128        optional: SRAM the model may use (MCU's sram_bytes :=
      flash_budget_kb: 512         reserved_sram_bytes + this); likewise flash
      search: {seed: 1, search_patches: false}   optional, over the sweep's search:
      export: {run_on_qemu: true}                optional, over the sweep's export:
Writes OUT/<name>/ (the output of `tinynas search`), OUT/sweep.csv, sweep.json, sweep.svg
(test accuracy against the SRAM limit), sweep_flash.svg and accuracy_cache.csv (every measured
accuracy, shared by the runs): exports of the results store OUT/results.db (SQLite; --store to put
it elsewhere), which holds every measurement and each run's result. Run it again to resume:
finished runs are skipped. Default OUT: out/sweeps/<sweep file name>. Example:
configs/sweeps/fmnist-mcus.yaml.

On a Slurm cluster, one run per task of a job array, writing into one store at the same time:
  tinynas sweep --config S --out DIR --submit-slurm --sbatch-args "--partition=gpu --gres=gpu:1"
writes DIR/sweep.sbatch (#SBATCH --array=0-(runs-1), each task `tinynas sweep ... --array-task
$SLURM_ARRAY_TASK_ID`) and DIR/sweep-merge.sbatch (the plain `tinynas sweep ...`, which finds every
run finished and writes the exports), submits both (the merge with --dependency=afterok on the
array) and prints the job ids; task logs go to DIR/slurm/. --sbatch-args is split as the shell
splits it and given to both sbatch calls. DIR and the store must be on a filesystem every node sees
(on NFS and the like the store uses SQLite's rollback journal, not WAL). On GPUs the measurements
need a LibTorch with CUDA (Debian's is CPU-only) and `train: {device: cuda}` in the base config.
Without Slurm, the same by hand: `tinynas sweep --config S --out DIR --array-task I` for each I in
0..runs-1 (at once, anywhere that sees DIR), then `tinynas sweep --config S --out DIR`.)";

std::string absolute(const std::string& p) { return std::filesystem::absolute(p).lexically_normal().string(); }

// The program's own path, so the jobs run this build.
std::string self_path() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("tinynas") : p.string();
}

// --submit-slurm: the runs as a job array, and the merge after it (nas/search/slurm_submit.h).
int submit_slurm(const Sweep& sweep, const SweepArgs& args, const std::string& out, const std::string& checkpoint) {
  SweepArrayRequest req;
  req.dir = absolute(out);
  req.store = absolute(args.store.empty() ? out + "/results.db" : args.store);
  req.command = shell_quote(self_path()) + " sweep --config " + shell_quote(absolute(args.config)) + " --out " +
                shell_quote(req.dir) + " --store " + shell_quote(req.store) + " --checkpoint " +
                shell_quote(absolute(checkpoint));
  if (args.no_export) req.command += " --no-export";
  if (args.qemu) req.command += " --qemu";
  req.workdir = std::filesystem::current_path().string();
  req.sbatch_args = args.sbatch_args;
  const SubmittedSweep s = submit_sweep_array(sweep, req);
  fmt::print("submitted sweep {}: array job {} ({} tasks, {}/sweep.sbatch), merge job {} after it "
             "({}/sweep-merge.sbatch); logs in {}/slurm/, results in {}\n",
             sweep.name, s.array_job_id, sweep.runs.size(), req.dir, s.merge_job_id, req.dir, req.dir, req.store);
  fmt::print("array_job_id={}\nmerge_job_id={}\n", s.array_job_id, s.merge_job_id);
  return 0;
}

#ifdef TINYNAS_WITH_TORCH
// What the cached accuracies depend on besides the subnet: the checkpoint's bytes, the data
// split and the batch-norm recalibration batches.
std::string scorer_id(const Experiment& base, const std::string& checkpoint) {
  const DataConfig& d = base.data;
  const TrainConfig& t = base.train;
  return fmt::format("{} (fnv {:016x}); {} val_size {} split_seed {} train_images {}; bn {} x {} seed {}",
                     std::filesystem::path(checkpoint).filename().string(),
                     Fnv1a().add(read_file(checkpoint)).value(), d.dataset, d.val_size, d.split_seed,
                     d.train_images, t.bn_calibration_batches, t.batch_size, t.seed);
}
#endif

int run_sweep_command(const SweepArgs& args) {
  // The whole file is validated before the supernet loads.
  const Sweep sweep = Sweep::load(args.config);
  const std::string out = args.out.empty() ? "out/sweeps/" + sweep.name : args.out;
  const int runs = static_cast<int>(sweep.runs.size());
  if (args.array_task >= runs) {
    throw ConfigError(fmt::format("--array-task {}: {} has {} runs: expected 0 to {}", args.array_task, args.config,
                                  runs, runs - 1));
  }
  if ((args.array_task >= 0 || args.submit_slurm) && args.fresh) {
    throw ConfigError(std::string("--fresh with ") + (args.submit_slurm ? "--submit-slurm" : "--array-task") +
                      " would clear the other tasks' results: run `tinynas sweep --fresh` (or use another --out "
                      "or --store) first");
  }
  if (args.submit_slurm && args.array_task >= 0) {
    throw ConfigError("--submit-slurm submits every run as an array task: without --array-task");
  }
  if (!args.sbatch_args.empty() && !args.submit_slurm) {
    throw ConfigError("--sbatch-args is for --submit-slurm");
  }
  const std::string checkpoint = args.checkpoint.empty() ? sweep.base.train.checkpoint : args.checkpoint;
  if (!file_exists(checkpoint)) {
    throw ConfigError(checkpoint + ": file not found (the supernet of " + sweep.base_path +
                      "; train it with `tinynas train --config " + sweep.base_path + "`)");
  }
  if (args.submit_slurm) return submit_slurm(sweep, args, out, checkpoint);
#ifdef TINYNAS_WITH_TORCH
  SupernetScorer scorer(sweep.base, checkpoint);
  SweepOptions o;
  o.out_dir = out;
  o.resume = !args.fresh;
  o.store_path = args.store;
  o.array_task = args.array_task;
  o.scorer_id = scorer_id(sweep.base, checkpoint);
  o.qemu = args.qemu;
  if (!args.no_export) {
    o.export_run = [&](const SweepRun& run, const SearchSummary& s, const std::string& dir, bool qemu) {
      ExportOptions eo;
      eo.out_dir = dir;
      eo.run_qemu = qemu;
      eo.input_in_arena = run.exp.export_.input_in_arena;
      const ExportReport r = export_subnet(run.exp, run.exp.space, s.best.arch, scorer.evaluator(), eo);
      RunExport e;
      e.int8_test_accuracy = r.int8_test_accuracy.value_or(-1);
      e.verified = r.host_matches == r.firmware_images && (!qemu || r.qemu_matches == r.firmware_images);
      return e;
    };
  }
  const SweepResult res = run_sweep(sweep, scorer, o);
  if (args.array_task >= 0) {
    const SweepRow& r = res.rows.front();
    if (!r.error.empty()) {
      fmt::print("\nsweep {} run {} ({}) failed: {}\n", sweep.name, args.array_task, r.name, r.error);
      return 1;
    }
    fmt::print("\nsweep {} run {} ({}): test {:.2f}% in {:.0f} s{}; the merged sweep.csv is written by a plain "
               "`tinynas sweep` once every run is done\n",
               sweep.name, args.array_task, r.name, 100 * r.best.test_accuracy, r.seconds,
               r.skipped ? " (finished earlier)" : "");
    return r.export_verified ? 0 : 1;
  }

  auto kb = [](int64_t b) { return fmt::format("{:.0f}", b / 1024.0); };
  auto pct = [](double a) { return a >= 0 ? fmt::format("{:.2f}", 100 * a) : std::string("-"); };
  fmt::print("\nsweep {} ({} runs) in {:.0f} s: {} skipped as finished, {} failed; {} supernet evaluations, {} reused\n",
             sweep.name, sweep.runs.size(), res.seconds, res.skipped, res.failed, res.supernet_evaluations,
             res.cache_hits);
  std::size_t w = 3;
  for (const SweepRow& r : res.rows) w = std::max(w, r.name.size());
  fmt::print("  {:<{}} {:<10} {:>7} {:>8} {:>8} {:>8} {:>6} {:>9} {:>9} {:>8} {:>7}\n", "run", w, "mcu", "SRAM KB",
             "flash KB", "test %", "MbV2 %", "int8 %", "peak KB", "flash KB", "MMACs", "s");
  bool all_ok = res.failed == 0;
  for (const SweepRow& r : res.rows) {
    if (!r.error.empty()) {
      fmt::print("  {:<{}} {:<10} failed: {}\n", r.name, w, r.mcu, r.error);
      continue;
    }
    all_ok = all_ok && r.export_verified;
    fmt::print("  {:<{}} {:<10} {:>7} {:>8} {:>8} {:>8} {:>6} {:>9} {:>9} {:>8.2f} {:>7.0f}{}\n", r.name, w, r.mcu,
               kb(r.sram_limit_bytes), kb(r.flash_limit_bytes), pct(r.best.test_accuracy),
               r.baseline.arch.stages.empty() ? "-" : pct(r.baseline.test_accuracy), pct(r.int8_test_accuracy),
               fmt::format("{:.1f}", r.best.estimate.peak_sram_bytes / 1024.0),
               fmt::format("{:.1f}", r.best.estimate.flash_bytes / 1024.0), r.best.estimate.macs / 1e6, r.seconds,
               r.export_verified ? "" : "  (export NOT verified)");
  }
  fmt::print("wrote {}/sweep.csv, sweep.json, sweep.svg, sweep_flash.svg; each run in {}/<run>/\n", out, out);
  return all_ok ? 0 : 1;
#else
  (void)out;
  fmt::print(stderr, "tinynas sweep: this build has no LibTorch (TINYNAS_WITH_TORCH=OFF)\n");
  return 2;
#endif
}

}  // namespace

void add_sweep_command(CLI::App& app, CommandFn* run) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* sub =
      app.add_subcommand("sweep", "The same search over several MCUs, memory budgets or settings; a table and plots");
  sub->add_option("--config", args->config, "sweep file (YAML, see below)")->required();
  sub->add_option("--out", args->out, "output directory (resumes what is there; default out/sweeps/<name>)");
  sub->add_option("--checkpoint", args->checkpoint, "supernet checkpoint (default: the base's train.checkpoint)");
  sub->add_flag("--fresh", args->fresh, "ignore the runs and measurements already in --out");
  sub->add_flag("--no-export", args->no_export, "stop each run after its search");
  sub->add_flag("--qemu", args->qemu, "verify each exported winner on QEMU's Cortex-M7 too");
  sub->add_option("--store", args->store,
                  "results store (SQLite) for every measurement and run (default OUT/results.db); array tasks on "
                  "several nodes name one path they all see");
  sub->add_option("--array-task", args->array_task,
                  "run only run I of the sweep (0-based, in the file's order) into the shared store, as one task "
                  "of a job array; no merged exports")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--submit-slurm", args->submit_slurm,
                "write OUT/sweep.sbatch (a job array, one run per task) and OUT/sweep-merge.sbatch, submit both "
                "with sbatch, print the job ids");
  sub->add_option("--sbatch-args", args->sbatch_args,
                  "with --submit-slurm: more sbatch options, e.g. \"--partition=gpu --gres=gpu:1\"");
  sub->footer(kFormat);
  sub->callback([run, args] { *run = [args] { return run_sweep_command(*args); }; });
}

}  // namespace tinynas
