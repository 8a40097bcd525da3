// tinynas search: the main job. Evolutionary search on the trained supernet under the MCU's
// limits, a scaled MobileNetV2 baseline, and the export of the winner.
#include <fmt/core.h>

#include <filesystem>

#include "nas/cli/cli.h"
#include "nas/cli/export_subnet.h"
#include "nas/search/search_pipeline.h"
#ifdef TINYNAS_WITH_TORCH
#include "supernet/api.h"
#endif

namespace tinynas {

namespace {

struct SearchArgs {
  std::string config, out = "out/search", checkpoint;
  bool fresh = false, no_export = false, qemu = false;
};

#ifdef TINYNAS_WITH_TORCH
class SupernetScorer : public SubnetScorer {
 public:
  explicit SupernetScorer(SupernetEvaluator& e) : e_(e) {}
  const Metric& metric() const override { return e_.task().metric; }
  double score(const ArchSpec& arch, EvalSplit split, int val_images) override {
    return split == EvalSplit::Val ? e_.score(arch, Split::Val, val_images) : e_.score(arch, Split::Test);
  }

 private:
  SupernetEvaluator& e_;
};
#endif

int run_search_command(const SearchArgs& args) {
  const Experiment exp = Experiment::load(args.config);
#ifdef TINYNAS_WITH_TORCH
  SupernetEvaluator evaluator(exp.space, exp.data, exp.train, args.checkpoint);
  SupernetScorer scorer(evaluator);
  const SearchSummary s = run_search(exp, scorer, {args.out, !args.fresh});
  auto kb = [](int64_t b) { return b / 1024.0; };
  fmt::print("\nsearched on {} ({:.0f} KB SRAM, {:.0f} KB flash for the model) in {:.0f} s; val / test: {}\n",
             exp.mcu.name, kb(exp.mcu.sram_budget()), kb(exp.mcu.flash_budget()), s.seconds, s.metric.label);
  auto show = [&](const char* what, const ScoredArch& a) {
    fmt::print("  {:<9} val {:.4f} test {:.4f}  SRAM {:.1f} KB  flash {:.1f} KB  {:.2f} MMACs  {}\n", what,
               a.val_accuracy, a.test_accuracy, kb(a.estimate.peak_sram_bytes), kb(a.estimate.flash_bytes),
               a.estimate.macs / 1e6, a.arch.to_string());
  };
  show("searched", s.best);
  if (!s.baseline.arch.stages.empty()) {
    fmt::print("  baseline: {}\n", s.baseline_name);
    show("baseline", s.baseline);
  }
  if (s.predictor_kendall_tau > -2) {
    fmt::print("  accuracy predictor: Kendall tau {:.3f} on {} held-out subnets ({} measured)\n",
               s.predictor_kendall_tau, s.predictor_holdout, s.measured);
  }
  fmt::print("wrote {}/best.yaml, summary.json, search_log.csv, pareto.csv, pareto_*.svg\n", args.out);
  if (args.no_export) return 0;
  ExportOptions o;
  o.out_dir = args.out + "/export";
  o.run_qemu = args.qemu || exp.export_.run_on_qemu;
  o.input_in_arena = exp.export_.input_in_arena;
  if (exp.search.retrain_winner) {
    // The winner alone, from scratch, with the config's schedule (resumable); its weights are
    // what gets exported.
    TrainConfig t = exp.train;
    t.only_arch = s.best.arch;
    TrainOptions to;
    to.checkpoint = args.out + "/winner.pt";
    to.resume = true;
    const TrainReport tr = train_supernet(exp.space, exp.data, t, to);
    if (!tr.finished) return 1;
    fmt::print("  retrained alone ({} epochs): val {:.4f} test {:.4f} (with the supernet's weights: "
               "val {:.4f} test {:.4f}); {}\n",
               tr.epoch, tr.largest.val, tr.largest.test, s.best.val_accuracy, s.best.test_accuracy,
               tr.checkpoint);
    SupernetEvaluator winner(exp.space, exp.data, exp.train, to.checkpoint);
    const ExportReport r = export_subnet(exp, exp.space, s.best.arch, winner, o);
    return r.host_matches == r.firmware_images ? 0 : 1;
  }
  const ExportReport r = export_subnet(exp, exp.space, s.best.arch, evaluator, o);
  return r.host_matches == r.firmware_images ? 0 : 1;
#else
  fmt::print(stderr, "tinynas search: this build has no LibTorch (TINYNAS_WITH_TORCH=OFF)\n");
  return 2;
#endif
}

}  // namespace

void add_search_command(CLI::App& app, CommandFn* run) {
  auto args = std::make_shared<SearchArgs>();
  CLI::App* sub = app.add_subcommand("search", "Evolutionary search on the supernet under the MCU's limits");
  sub->add_option("--config", args->config, "experiment config (YAML)")->required();
  sub->add_option("--out", args->out, "output directory (resumes what is there)")->capture_default_str();
  sub->add_option("--checkpoint", args->checkpoint, "supernet checkpoint (default: train.checkpoint)");
  sub->add_flag("--fresh", args->fresh, "ignore earlier measurements and generations in --out");
  sub->add_flag("--no-export", args->no_export, "stop after the search");
  sub->add_flag("--qemu", args->qemu, "verify the exported winner on QEMU's Cortex-M7 too");
  sub->callback([run, args] { *run = [args] { return run_search_command(*args); }; });
}

}  // namespace tinynas
