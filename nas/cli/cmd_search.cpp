// tinynas search: the main job. Evolutionary search on the trained supernet under the MCU's
// limits, a scaled MobileNetV2 baseline, and the export of the winner.
#include <fmt/core.h>

#include <memory>

#include "nas/cli/cli.h"
#include "nas/cli/export_subnet.h"
#include "nas/search/search_pipeline.h"
#ifdef TINYNAS_WITH_TORCH
#include "nas/cli/retrain.h"
#include "nas/cli/supernet_scorer.h"
#include "search_spaces/atomic_file.h"
#include "supernet/api.h"
#endif

namespace tinynas {

namespace {

struct SearchArgs {
  std::string config, out = "out/search", checkpoint;
  bool fresh = false, no_export = false, qemu = false;
};

#ifdef TINYNAS_WITH_TORCH
// The one-screen account of what the search found, against the baseline.
void print_summary(const Experiment& exp, const SearchSummary& s, const std::string& out) {
  auto kb = [](int64_t b) { return b / 1024.0; };
  fmt::print("\nsearched on {} ({:.0f} KB SRAM, {:.0f} KB flash for the model) in {:.0f} s; val / test: {}\n",
             exp.mcu.name, kb(exp.mcu.sram_budget()), kb(exp.mcu.flash_budget()), s.seconds, s.metric.label);
  fmt::print("  with the supernet's weights:\n");
  auto show = [&](const char* what, const ScoredArch& a) {
    fmt::print("  {:<9} val {:.4f} test {:.4f}  SRAM {:.1f} KB  flash {:.1f} KB  {:.2f} MMACs  {}\n", what,
               a.val_accuracy, a.test_accuracy, kb(a.estimate.peak_sram_bytes), kb(a.estimate.flash_bytes),
               a.estimate.macs / 1e6, a.arch.to_string());
  };
  show("searched", s.best);
  if (!s.baseline.empty()) show("baseline", s.baseline);
  if (!s.retrained_best.empty()) {
    const std::size_t n = s.retrained_best.seeds.size();
    fmt::print("  trained alone from scratch ({} seed{} each, mean +- sample std):\n", n, n == 1 ? "" : "s");
    auto show_runs = [&](const char* what, const SeedRuns& r) {
      std::string each;
      for (double t : r.test) each += fmt::format(" {:.4f}", t);
      fmt::print("  {:<9} val {:.4f} +- {:.4f}  test {:.4f} +- {:.4f}  (test per seed:{})\n", what,
                 SeedRuns::mean(r.val), SeedRuns::stddev(r.val), SeedRuns::mean(r.test),
                 SeedRuns::stddev(r.test), each);
    };
    show_runs("searched", s.retrained_best);
    if (!s.retrained_baseline.empty()) {
      show_runs("baseline", s.retrained_baseline);
      fmt::print("  searched - baseline: test {:+.4f}, val {:+.4f} (means)\n",
                 SeedRuns::mean(s.retrained_best.test) - SeedRuns::mean(s.retrained_baseline.test),
                 SeedRuns::mean(s.retrained_best.val) - SeedRuns::mean(s.retrained_baseline.val));
    }
  }
  if (!s.random_search.empty()) {
    const RandomSearch& r = s.random_search;
    std::string each;
    for (double t : r.test()) each += fmt::format(" {:.4f}", t);
    fmt::print("  random    val {:.4f} +- {:.4f}  test {:.4f} +- {:.4f}  (best of {} random fitting subnets, {} "
               "runs; test per run:{})\n",
               SeedRuns::mean(r.val()), SeedRuns::stddev(r.val()), SeedRuns::mean(r.test()),
               SeedRuns::stddev(r.test()), r.evaluations, r.runs.size(), each);
  }
  if (!s.baseline.empty() || !s.random_search.empty()) {
    std::string gains;
    if (!s.baseline.empty()) {
      gains += fmt::format("{:+.4f} over the {}", s.best.test_accuracy - s.baseline.test_accuracy, s.baseline_name);
    }
    if (!s.random_search.empty()) {
      gains += fmt::format("{}{:+.4f} over random search's mean", gains.empty() ? "" : ", ",
                           s.best.test_accuracy - SeedRuns::mean(s.random_search.test()));
    }
    fmt::print("  searched test: {}\n", gains);
  }
  const PredictorQuality& q = s.predictor;
  if (q.subnets > 0) {
    fmt::print("  accuracy predictor: Kendall tau {:.3f} over {} measured subnets (each predicted without it)\n",
               q.kendall_tau, q.subnets);
  }
  if (q.half_examples > 0) {
    fmt::print("    noise floor: vs a {}-example half of the validation {:.3f}; half vs half {:.3f}\n",
               q.half_examples, q.tau_vs_half, q.tau_between_halves);
  }
  fmt::print("wrote {}/best.yaml, summary.json, search_log.csv, pareto.csv, pareto_*.svg\n", out);
}
#endif

int run_search_command(const SearchArgs& args) {
  const Experiment exp = Experiment::load(args.config);
#ifdef TINYNAS_WITH_TORCH
  SupernetScorer scorer(exp, args.checkpoint);
  SearchSummary s = run_search(exp, scorer, {args.out, !args.fresh});
  // The winner (and the baseline) trained alone from scratch, once per seed; the first seed's
  // winner is what gets exported.
  if (exp.search.retrain_winner) {
    s.retrained_best = retrain_alone(exp, s.best.arch, "searched winner", args.out, "winner", args.fresh);
    if (exp.search.retrain_baseline && !s.baseline.empty()) {
      s.retrained_baseline = retrain_alone(exp, s.baseline.arch, "baseline", args.out, "baseline", args.fresh);
    }
    write_file_atomic(args.out + "/summary.json", s.to_json(exp.mcu));
  }
  print_summary(exp, s, args.out);
  if (args.no_export) return 0;
  ExportOptions o;
  o.out_dir = args.out + "/export";
  o.run_qemu = args.qemu || exp.export_.run_on_qemu;
  o.input_in_arena = exp.export_.input_in_arena;
  std::unique_ptr<SupernetEvaluator> retrained;
  if (exp.search.retrain_winner) {
    retrained = std::make_unique<SupernetEvaluator>(exp.space, exp.data, exp.train,
                                                    s.retrained_best.checkpoints.front());
  }
  const ExportReport r = export_subnet(exp, exp.space, s.best.arch, retrained ? *retrained : scorer.evaluator(), o);
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
