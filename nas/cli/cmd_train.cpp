// tinynas train: train the config's weight-sharing supernet (sandwich rule, in-place
// distillation), resumable with --resume. Needs the LibTorch build.
#include <fmt/core.h>

#include "nas/cli/arch_arg.h"
#include "nas/cli/cli.h"
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
};

int run_train(const TrainArgs& args) {
  const Experiment exp = Experiment::load(args.config);
#ifdef TINYNAS_WITH_TORCH
  TrainOptions o;
  o.resume = args.resume;
  o.epochs = args.epochs;
  o.stop_after_epochs = args.stop_after;
  o.checkpoint = args.checkpoint;
  TrainConfig train = exp.train;
  if (!args.arch.empty()) {
    if (args.checkpoint.empty()) {
      throw ConfigError("--arch trains one subnet alone: give it its own --checkpoint (not the "
                        "supernet's train.checkpoint)");
    }
    train.only_arch = resolve_arch(args.arch, exp.space).arch;
  }
  const TrainReport r = train_supernet(exp.space, exp.data, train, o);
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
  sub->callback([run, args] { *run = [args] { return run_train(*args); }; });
}

}  // namespace tinynas
