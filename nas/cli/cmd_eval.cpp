// tinynas eval: accuracy of one subnet of the trained supernet (inherited weights, batch norms
// recalibrated on training images). Needs the LibTorch build.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "nas/cli/arch_arg.h"
#include "nas/cli/cli.h"
#include "nas/search/experiment.h"
#ifdef TINYNAS_WITH_TORCH
#include "supernet/api.h"
#endif

namespace tinynas {

namespace {

struct EvalArgs {
  std::string config;
  std::string arch;
  std::string split = "val";
  std::string checkpoint;
  int64_t max_images = 0;
  bool json = false;
};

int run_eval(const EvalArgs& args) {
  const Experiment exp = Experiment::load(args.config);
  const LoadedArch la = resolve_arch(args.arch, exp.space);
#ifdef TINYNAS_WITH_TORCH
  if (la.space.fingerprint() != exp.space.fingerprint()) {
    throw ConfigError(args.arch + ": the arch names another search space (" + la.space.origin +
                      ") than the config's supernet (" + exp.space.origin + ")");
  }
  const Split split = parse_split(args.split);
  SupernetEvaluator ev(exp.space, exp.data, exp.train, args.checkpoint);
  const double acc = ev.score(la.arch, split, args.max_images);
  const Metric& metric = ev.task().metric;
  const int64_t n = args.max_images > 0 ? std::min(args.max_images, ev.split_size(split))
                                        : ev.split_size(split);
  if (args.json) {
    nlohmann::ordered_json j;
    j["arch"] = nlohmann::json::parse(la.arch.to_json());
    j["arch_string"] = la.arch.to_string();
    j["split"] = split_name(split);
    j["images"] = n;
    j["accuracy"] = acc;  // the task's metric, named below (the key predates other metrics)
    j["metric"] = metric.name;
    j["higher_is_better"] = metric.higher_is_better;
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("arch: {}\n{} {}: {:.2f}% ({} images)\n", la.arch.to_string(), split_name(split),
               metric.label, 100 * acc, n);
  }
  return 0;
#else
  (void)la;
  fmt::print(stderr, "tinynas eval: this build has no LibTorch (TINYNAS_WITH_TORCH=OFF)\n");
  return 2;
#endif
}

}  // namespace

void add_eval_command(CLI::App& app, CommandFn* run) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* sub = app.add_subcommand("eval", "Evaluate a subnet of the trained supernet");
  sub->add_option("--config", args->config, "experiment config (YAML)")->required();
  sub->add_option("--arch", args->arch, "ArchSpec file, or largest / smallest")->required();
  sub->add_option("--split", args->split, "val (held out of the training set) or test")
      ->check(CLI::IsMember({"val", "test"}));
  sub->add_option("--checkpoint", args->checkpoint, "checkpoint path, overriding train.checkpoint");
  sub->add_option("--max-images", args->max_images, "evaluate only the first N images")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  sub->add_flag("--json", args->json, "print one JSON object (`accuracy`: the task's metric, named by `metric`)");
  sub->callback([run, args] { *run = [args] { return run_eval(*args); }; });
}

}  // namespace tinynas
