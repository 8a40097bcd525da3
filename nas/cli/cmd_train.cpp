// tinynas train: train the config's weight-sharing supernet (sandwich rule, in-place
// distillation), resumable with --resume, as one process or as data-parallel ranks (--nproc N on
// this machine, or one rank per task of `srun`). Needs the LibTorch build.
#include <fmt/core.h>

#include <cstdlib>

#include "nas/cli/arch_arg.h"
#include "nas/cli/cli.h"
#include "nas/cli/launch_ranks.h"
#include "nas/search/experiment.h"
#ifdef TINYNAS_WITH_TORCH
#include "supernet/api.h"
#endif

namespace tinynas {

namespace {

struct TrainArgs {
  std::string config;
  bool resume = false;
  int epochs = 0;
  int stop_after = 0;
  std::string checkpoint;
  std::string arch;
  int nproc = 0;
  std::string device;
};

int run_train(const TrainArgs& args) {
  const Experiment exp = Experiment::load(args.config);
#ifdef TINYNAS_WITH_TORCH
  const auto dist = distributed_config_from_env();
  // The launcher: not yet a rank (or the only task of an `srun -n 1`), so start them; each one
  // runs this command again, told its rank through TINYNAS_*, which outranks Slurm's variables.
  if (args.nproc > 1 && (!dist || (dist->world_size == 1 && dist->launcher != "nproc"))) {
    return launch_ranks(args.nproc);
  }
  if (args.nproc > 1 && dist->world_size != args.nproc) {
    throw ConfigError(fmt::format("--nproc {}: this process is rank {} of {} ({}); drop --nproc "
                                  "under another launcher", args.nproc, dist->rank,
                                  dist->world_size, dist->launcher));
  }
  TrainOptions o;
  if (dist) o.distributed = *dist;
  o.resume = args.resume;
  o.epochs = args.epochs;
  o.stop_after_epochs = args.stop_after;
  o.checkpoint = args.checkpoint;
  TrainConfig train = exp.train;
  if (!args.device.empty()) train.device = args.device;
  if (!args.arch.empty()) {
    if (args.checkpoint.empty()) {
      throw ConfigError("--arch trains one subnet alone: give it its own --checkpoint (not the "
                        "supernet's train.checkpoint)");
    }
    train.only_arch = resolve_arch(args.arch, exp.space).arch;
  }
  const TrainReport r = train_supernet(exp.space, exp.data, train, o);
  if (r.rank != 0) return 0;  // the lead rank reports
  if (r.world_size > 1 && r.steps > 0) {
    fmt::print("data-parallel: {} ranks, {:.1f} images/s, communication {:.1f} s of {:.1f} s "
               "({:.1f} ms per step)\n", r.world_size, r.images_per_second,
               r.communication_seconds, r.seconds, 1000 * r.communication_seconds / r.steps);
  }
  if (!r.finished) {
    fmt::print("stopped after epoch {} ({} steps, {:.1f} images/s); continue with --resume\n",
               r.epoch, r.steps, r.images_per_second);
    return 0;
  }
  fmt::print("checkpoint: {}\nmetrics: {}\n", r.checkpoint, r.metrics);
  fmt::print("{}:\nlargest:  val {:.2f}%  test {:.2f}%\nsmallest: val {:.2f}%  test {:.2f}%\n",
             r.metric.label, 100 * r.largest.val, 100 * r.largest.test, 100 * r.smallest.val,
             100 * r.smallest.test);
  return 0;
#else
  (void)exp;
  fmt::print(stderr, "tinynas train: this build has no LibTorch (TINYNAS_WITH_TORCH=OFF)\n");
  return 2;
#endif
}

}  // namespace

void add_train_command(CLI::App& app, CommandFn* run) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* sub = app.add_subcommand("train", "Train the weight-sharing supernet");
  sub->add_option("--config", args->config, "experiment config (YAML)")->required();
  sub->add_flag("--resume", args->resume,
                "continue from the checkpoint (train.checkpoint) when it exists");
  sub->add_option("--epochs", args->epochs, "length of the schedule, overriding train.epochs")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--stop-after", args->stop_after,
                  "stop after this many epochs of this run (continue later with --resume)")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--checkpoint", args->checkpoint, "checkpoint path, overriding train.checkpoint");
  sub->add_option("--arch", args->arch,
                  "train only this subnet (ArchSpec file), from scratch, with the config's schedule "
                  "(needs --checkpoint); eval / export it with that --checkpoint");
  sub->add_option("--nproc", args->nproc,
                  "data-parallel ranks on this machine (c10d Gloo; the machine's cores are shared "
                  "out among them); train.batch_size is the global batch. Under Slurm use `srun -n "
                  "N tinynas train ...` instead: the ranks come from SLURM_PROCID / SLURM_NTASKS")
      ->check(CLI::Range(1, 256));
  sub->add_option("--device", args->device,
                  "cpu or cuda, overriding train.device (cuda needs a LibTorch built with CUDA; "
                  "Debian's is CPU-only; data-parallel ranks take GPU local_rank)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  sub->callback([run, args] { *run = [args] { return run_train(*args); }; });
}

}  // namespace tinynas
