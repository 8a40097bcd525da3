// tinynas search: the main job. Evolutionary search on the trained supernet under the MCU's
// limits, a scaled MobileNetV2 baseline, and the export of the winner.
#include <fmt/core.h>

#include <map>
#include <memory>
#include <optional>

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
  std::string config, out = "out/search", checkpoint, store;
  bool fresh = false, no_export = false, qemu = false;
};

#ifdef TINYNAS_WITH_TORCH
// The one-screen account of what the search found, against both baselines.
void print_summary(const Experiment& exp, const SearchSummary& s, const std::string& out) {
  auto kb = [](int64_t b) { return b / 1024.0; };
  auto num = [](const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : std::string("   -  "); };
  const std::string limit =
      exp.search.latency_limit_ms > 0 ? fmt::format(", {:g} ms latency", exp.search.latency_limit_ms) : "";
  fmt::print("\nsearched on {} ({:.0f} KB SRAM, {:.0f} KB flash for the model{}) in {:.0f} s; {}, the "
             "supernet's weights:\n",
             exp.mcu.name, kb(exp.mcu.sram_budget()), kb(exp.mcu.flash_budget()), limit, s.seconds, s.metric.label);
  fmt::print("  {:<20} {:>7} {:>7} {:>7} {:>8} {:>9} {:>8} {:>7}\n", "", "val", "test", "int8", "SRAM KB",
             "flash KB", "lat ms", "MMACs");
  auto row = [&](const std::string& what, const ScoredArch& a) {
    fmt::print("  {:<20} {:.4f}  {:.4f}  {}  {:7.1f}  {:8.1f}  {:7.1f}  {:6.2f}\n", what, a.val_accuracy,
               a.test_accuracy, num(a.int8_test_accuracy), kb(a.estimate.peak_sram_bytes),
               kb(a.estimate.flash_bytes), a.estimate.latency_ms, a.estimate.macs / 1e6);
  };
  row("searched", s.best);
  if (!s.baseline.empty()) row(s.baseline_name, s.baseline);
  const RandomSearch& r = s.random_search;
  for (std::size_t i = 0; i < r.runs.size(); ++i) row(fmt::format("random, seed {}", r.seeds[i]), r.runs[i]);
  if (!s.baseline.empty()) {
    fmt::print("  searched - the {}: {:+.4f} test", s.baseline_name, s.best.test_accuracy - s.baseline.test_accuracy);
    if (s.best.int8_test_accuracy && s.baseline.int8_test_accuracy) {
      fmt::print(", {:+.4f} int8", *s.best.int8_test_accuracy - *s.baseline.int8_test_accuracy);
    }
    fmt::print("\n");
  }
  if (!r.empty()) {
    fmt::print("  searched - random search (best of {} random fitting subnets, mean of {} seeds): {:+.4f} test "
               "(the seeds' sample std {:.4f})",
               r.evaluations, r.runs.size(), s.best.test_accuracy - SeedRuns::mean(r.test()),
               SeedRuns::stddev(r.test()));
    if (const auto int8 = r.int8_test(); s.best.int8_test_accuracy && !int8.empty()) {
      fmt::print(", {:+.4f} int8 (std {:.4f})", *s.best.int8_test_accuracy - SeedRuns::mean(int8),
                 SeedRuns::stddev(int8));
    }
    fmt::print("\n");
  }
  if (!s.retrained_best.empty()) {
    const std::size_t n = s.retrained_best.seeds.size();
    fmt::print("  trained alone from scratch ({} seed{} each, mean +- sample std):\n", n, n == 1 ? "" : "s");
    auto show_runs = [&](const std::string& what, const SeedRuns& runs) {
      std::string each;
      for (double t : runs.test) each += fmt::format(" {:.4f}", t);
      fmt::print("  {:<20} val {:.4f} +- {:.4f}  test {:.4f} +- {:.4f}  (test per seed:{})\n", what,
                 SeedRuns::mean(runs.val), SeedRuns::stddev(runs.val), SeedRuns::mean(runs.test),
                 SeedRuns::stddev(runs.test), each);
    };
    show_runs("searched", s.retrained_best);
    if (!s.retrained_baseline.empty()) {
      show_runs(s.baseline_name, s.retrained_baseline);
      fmt::print("  searched - {}: test {:+.4f}, val {:+.4f} (means)\n", s.baseline_name,
                 SeedRuns::mean(s.retrained_best.test) - SeedRuns::mean(s.retrained_baseline.test),
                 SeedRuns::mean(s.retrained_best.val) - SeedRuns::mean(s.retrained_baseline.val));
    }
  }
  const PredictorQuality& q = s.predictor;
  if (q.subnets > 0) {
    fmt::print("  accuracy predictor: Kendall tau {:.3f} over {} measured subnets, each predicted by a fit without "
               "it",
               q.kendall_tau, q.subnets);
    if (q.half_examples > 0) {
      fmt::print(";\n    noise floor: against a {}-example half of the validation it ranks {:.3f}, one half "
                 "against the other {:.3f}",
                 q.half_examples, q.tau_vs_half, q.tau_between_halves);
    }
    fmt::print("\n");
  }
  fmt::print("  searched: {}\n", s.best.arch.to_string());
  fmt::print("wrote {}/best.yaml, summary.json, search_log.csv, pareto.csv, pareto_*.svg\n", out);
}

// The baselines through the same int8 export as the winner (no C build, no QEMU): the
// comparison at int8, as deployed. Each report goes to out/baselines/<name>/.
void measure_baselines_int8(const Experiment& exp, SearchSummary& s, SupernetEvaluator& evaluator,
                            const ExportOptions& winner, const std::string& out) {
  ExportOptions o = winner;
  o.verify_host = false;
  o.run_qemu = false;
  o.profile = false;
  o.float_accuracy = false;  // the supernet's test score is the float figure
  std::map<uint64_t, std::optional<double>> done;  // by arch: random search often finds the winner
  if (s.best.int8_test_accuracy) done[s.best.arch.hash()] = s.best.int8_test_accuracy;
  auto run = [&](ScoredArch& a, const std::string& name) {
    if (const auto it = done.find(a.arch.hash()); it != done.end()) {
      a.int8_test_accuracy = it->second;
      return;
    }
    o.out_dir = out + "/baselines/" + name;
    a.int8_test_accuracy = export_subnet(exp, exp.space, a.arch, evaluator, o).int8_test_accuracy;
    done[a.arch.hash()] = a.int8_test_accuracy;
  };
  if (!s.baseline.empty()) run(s.baseline, "baseline");
  for (std::size_t i = 0; i < s.random_search.runs.size(); ++i) {
    run(s.random_search.runs[i], fmt::format("random-seed{}", s.random_search.seeds[i]));
  }
}
#endif

int run_search_command(const SearchArgs& args) {
  const Experiment exp = Experiment::load(args.config);
#ifdef TINYNAS_WITH_TORCH
  SupernetScorer scorer(exp, args.checkpoint);
  SearchOptions so;
  so.out_dir = args.out;
  so.resume = !args.fresh;
  so.store_path = args.store;
  SearchSummary s = run_search(exp, scorer, so);
  // The winner (and the baseline) trained alone from scratch, once per seed; the first seed's
  // winner is what gets exported.
  if (exp.search.retrain_winner) {
    s.retrained_best = retrain_alone(exp, s.best.arch, "searched winner", args.out, "winner", args.fresh);
    if (exp.search.retrain_baseline && !s.baseline.empty()) {
      s.retrained_baseline = retrain_alone(exp, s.baseline.arch, "baseline", args.out, "baseline", args.fresh);
    }
  }
  if (args.no_export) {
    write_file_atomic(args.out + "/summary.json", s.to_json(exp.mcu));
    print_summary(exp, s, args.out);
    return 0;
  }
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
  // With the supernet's weights, the baselines are compared at int8 too (retrained ones are
  // compared in float over their seeds).
  if (!retrained) {
    s.best.int8_test_accuracy = r.int8_test_accuracy;
    measure_baselines_int8(exp, s, scorer.evaluator(), o, args.out);
  }
  write_file_atomic(args.out + "/summary.json", s.to_json(exp.mcu));
  print_summary(exp, s, args.out);
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
  sub->add_option("--store", args->store,
                  "results store (SQLite) the measurements go to (default OUT/results.db; measured.csv is its "
                  "export); one store can hold several searches");
  sub->add_flag("--no-export", args->no_export, "stop after the search");
  sub->add_flag("--qemu", args->qemu, "verify the exported winner on QEMU's Cortex-M7 too");
  sub->callback([run, args] { *run = [args] { return run_search_command(*args); }; });
}

}  // namespace tinynas
