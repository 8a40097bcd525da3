#include "nas/search/search_pipeline.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nas/search/accuracy_cache.h"
#include "nas/search/accuracy_predictor.h"
#include "nas/search/csv_field.h"
#include "nas/search/evolution.h"
#include "nas/search/svg_plot.h"
#include "search_spaces/arch_sampler.h"
#include "search_spaces/atomic_file.h"
#include "search_spaces/net_graph.h"

namespace tinynas {

namespace {

using Clock = std::chrono::steady_clock;

std::string fmt_eta(double s) {
  if (s < 0) return "?";
  const int t = static_cast<int>(s + 0.5);
  return fmt::format("{}:{:02d}", t / 60, t % 60);
}

}  // namespace

std::optional<ArchSpec> scaled_mobilenet_v2(const SearchSpace& space, Estimator& estimator) {
  static const int kDepths[] = {2, 3, 4, 3, 3, 1};
  ArchSpec base;
  int mb_stage = 0;
  for (std::size_t s = 0; s < space.stages.size(); ++s) {
    const StageSpec& st = space.stages[s];
    int want = st.max_depth() == 1 ? 1 : kDepths[std::min(mb_stage++, 5)];
    // Nearest depth the stage offers.
    int depth = st.depths.front();
    for (int d : st.depths) {
      if (std::abs(d - want) < std::abs(depth - want)) depth = d;
    }
    const int k = std::find(st.kernel_sizes.begin(), st.kernel_sizes.end(), 3) != st.kernel_sizes.end()
                      ? 3
                      : st.kernel_sizes.front();
    base.stages.emplace_back(depth, BlockChoice{k, st.expand_ratios.back()});
  }
  std::optional<ArchSpec> best;
  int64_t best_macs = -1;
  NetGraph g;
  for (double w : space.width_multipliers) {
    for (int r : space.resolutions) {
      ArchSpec a = base;
      a.width = w;
      a.resolution = r;
      lower(space, a, &g);
      if (g.macs() > best_macs && estimator.fits(g)) {
        best = a;
        best_macs = g.macs();
      }
    }
  }
  return best;
}

nlohmann::ordered_json ScoredArch::to_json() const {
  if (empty()) return nullptr;
  nlohmann::ordered_json j;
  j["arch"] = arch.to_string();
  j["arch_spec"] = nlohmann::json::parse(arch.to_json());
  j["val_accuracy"] = val_accuracy;
  j["test_accuracy"] = test_accuracy;
  j["peak_sram_bytes"] = estimate.peak_sram_bytes;
  j["flash_bytes"] = estimate.flash_bytes;
  j["latency_ms"] = estimate.has_latency ? nlohmann::json(estimate.latency_ms) : nlohmann::json();
  j["macs"] = estimate.macs;
  j["executed_macs"] = estimate.executed_macs;
  j["params"] = estimate.params;
  return j;
}

ScoredArch ScoredArch::from_json(const nlohmann::ordered_json& j, const SearchSpace& space) {
  ScoredArch s;
  if (j.is_null()) return s;
  s.arch = ArchSpec::from_json(j.at("arch_spec").dump(), space);
  s.val_accuracy = j.at("val_accuracy").get<double>();
  s.test_accuracy = j.at("test_accuracy").get<double>();
  s.estimate.peak_sram_bytes = j.at("peak_sram_bytes").get<int64_t>();
  s.estimate.flash_bytes = j.at("flash_bytes").get<int64_t>();
  s.estimate.has_latency = !j.at("latency_ms").is_null();
  if (s.estimate.has_latency) s.estimate.latency_ms = j.at("latency_ms").get<double>();
  s.estimate.macs = j.at("macs").get<int64_t>();
  // Rows written before these two were kept.
  s.estimate.executed_macs = j.value("executed_macs", s.estimate.macs);
  s.estimate.params = j.value("params", int64_t{0});
  return s;
}

void SeedRuns::add(uint64_t seed, double val_score, double test_score, const std::string& checkpoint) {
  seeds.push_back(seed);
  val.push_back(val_score);
  test.push_back(test_score);
  checkpoints.push_back(checkpoint);
}

double SeedRuns::mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double SeedRuns::stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

nlohmann::ordered_json SeedRuns::to_json() const {
  if (empty()) return nullptr;
  nlohmann::ordered_json j;
  j["seeds"] = seeds;
  j["val"] = val;
  j["test"] = test;
  j["checkpoints"] = checkpoints;
  j["val_mean"] = mean(val);
  j["val_std"] = stddev(val);
  j["test_mean"] = mean(test);
  j["test_std"] = stddev(test);
  return j;
}

std::string SearchSummary::to_json(const McuSpec& mcu) const {
  nlohmann::ordered_json j = best.to_json();
  j["metric"] = metric.name;
  j["higher_is_better"] = metric.higher_is_better;
  j["mcu"] = mcu.name;
  j["sram_budget_bytes"] = mcu.sram_budget();
  j["flash_budget_bytes"] = mcu.flash_budget();
  j["baseline"] = baseline.to_json();
  j["baseline_name"] = baseline_name;
  j["test_accuracy_gain_over_baseline"] =
      baseline.test_accuracy >= 0 ? nlohmann::json(best.test_accuracy - baseline.test_accuracy) : nlohmann::json();
  j["measured_subnets"] = measured;
  j["predictor_kendall_tau"] = predictor_kendall_tau > -2 ? nlohmann::json(predictor_kendall_tau) : nlohmann::json();
  j["predictor_holdout"] = predictor_holdout;
  j["generations"] = generations;
  j["seconds"] = seconds;
  if (!retrained_best.empty()) {
    nlohmann::ordered_json r;
    r["searched"] = retrained_best.to_json();
    r["baseline"] = retrained_baseline.to_json();
    r["test_gain_over_baseline"] =
        retrained_baseline.empty()
            ? nlohmann::json()
            : nlohmann::json(SeedRuns::mean(retrained_best.test) - SeedRuns::mean(retrained_baseline.test));
    j["retrained"] = r;
  }
  return j.dump(2) + "\n";
}

SearchSummary run_search(const Experiment& exp, SubnetScorer& scorer, const SearchOptions& opt) {
  const auto start = Clock::now();
  const SearchSpace& space = exp.space;
  const SearchConfig& cfg = exp.search;
  const Metric& metric = scorer.metric();
  std::filesystem::create_directories(opt.out_dir);
  const std::string dir = opt.out_dir;
  if (!opt.resume) {
    for (const char* f : {"measured.csv", "search_state.json"}) std::filesystem::remove(dir + "/" + f);
  }
  const EstimateOptions eo = exp.estimate_options();
  Estimator estimator(exp.mcu, eo);
  NetGraph g;

  // The constraint: fits as it is, or (MCUNetV2) with the cheapest patch schedule that fits.
  auto constraint = [&](ArchSpec* a) {
    a->patch = PatchSchedule{};
    if (!cfg.search_patches) {
      lower(space, *a, &g);
      return estimator.fits(g);
    }
    const auto p = choose_patch_schedule(estimator, space, *a);
    if (!p) return false;
    a->patch = *p;
    return true;
  };
  auto estimate_of = [&](const ArchSpec& a) {
    lower(space, a, &g);
    return estimator.estimate(g);
  };

  // The validation measurements of this search (measured.csv): its cache, and what the
  // predictor learns from.
  AccuracyCache log = AccuracyCache::validation_log(dir + "/measured.csv", cfg.val_images);
  if (opt.resume) log.load(space);
  int measured_now = 0;
  const auto measure_start = Clock::now();
  auto measure = [&](const ArchSpec& a) {
    if (const double* v = log.find(a, EvalSplit::Val, cfg.val_images)) return *v;
    const double v = scorer.score(without_patch(a), EvalSplit::Val, cfg.val_images);
    log.add(a, EvalSplit::Val, cfg.val_images, v);
    ++measured_now;
    return v;
  };
  auto test_score = [&](const ArchSpec& a) { return scorer.score(without_patch(a), EvalSplit::Test, 0); };

  // 1. Measure a sample of fitting subnets.
  ArchSampler sampler(space, cfg.seed ^ 0x5eed);
  std::vector<ArchSpec> sample;
  const int n_measure = cfg.use_predictor ? cfg.measure_subnets : 0;
  while (static_cast<int>(sample.size()) < n_measure) {
    ArchSpec a = sampler.sample();
    int tries = 0;
    while (!constraint(&a)) {
      if (++tries > EvolutionarySearch::kMaxTries) {
        throw std::runtime_error("no subnet of " + space.name + " fits " + exp.mcu.name +
                                 ": relax the limits or choose a smaller space");
      }
      a = sampler.sample();
    }
    sample.push_back(a);
  }
  // The space's extremes anchor the predictor when they fit.
  for (ArchSpec a : {ArchSpec::largest(space), ArchSpec::smallest(space)}) {
    if (n_measure > 0 && constraint(&a)) sample.push_back(a);
  }
  for (std::size_t i = 0; i < sample.size(); ++i) {
    const bool cached = log.find(sample[i], EvalSplit::Val, cfg.val_images) != nullptr;
    const double acc = measure(sample[i]);
    const double el = std::chrono::duration<double>(Clock::now() - measure_start).count();
    const double rate = measured_now > 0 ? measured_now / el : 0;
    spdlog::info("measure {}/{}: val {:.4f}{}  {}  ({:.2f} subnets/s, ETA {})", i + 1, sample.size(), acc,
                 cached ? " (saved)" : "", sample[i].to_string(), rate,
                 rate > 0 ? fmt_eta((sample.size() - i - 1) / rate) : "?");
  }

  SearchSummary summary;
  summary.metric = metric;
  // Everything measured, in measurement order; the predictor and the evolution rank by
  // metric.fitness() (the metric, negated when lower is better).
  std::vector<ArchSpec> measured;
  std::vector<double> measured_values, measured_fitness;
  auto collect_measured = [&] {
    measured.clear();
    measured_values.clear();
    measured_fitness.clear();
    for (const MeasuredScore& m : log.entries()) {
      measured.push_back(*m.arch);
      measured_values.push_back(m.value);
      measured_fitness.push_back(metric.fitness(m.value));
    }
  };
  collect_measured();
  AccuracyPredictor predictor(space);
  if (cfg.use_predictor) {
    // Held-out rank correlation first, then the final fit on everything measured.
    std::vector<ArchSpec> tr, te;
    std::vector<double> ytr, yte;
    for (std::size_t i = 0; i < measured.size(); ++i) {
      (i % 5 == 4 ? te : tr).push_back(measured[i]);
      (i % 5 == 4 ? yte : ytr).push_back(measured_fitness[i]);
    }
    if (tr.size() >= 2 && te.size() >= 2) {
      predictor.fit(tr, ytr, cfg.predictor_l2);
      std::vector<double> pred;
      for (const auto& a : te) pred.push_back(predictor.predict(a));
      summary.predictor_kendall_tau = kendall_tau(pred, yte);
      summary.predictor_holdout = static_cast<int>(te.size());
      spdlog::info("accuracy predictor: Kendall tau {:.3f} on {} held-out measured subnets",
                   summary.predictor_kendall_tau, te.size());
    }
    predictor.fit(measured, measured_fitness, cfg.predictor_l2);
  }

  // 2. Evolution.
  const std::string state_path = dir + "/search_state.json";
  EvolutionState state;
  if (opt.resume && file_exists(state_path) && cfg.use_predictor && measured_now > 0) {
    // The predictor changed with the new measurements: the saved generations are stale.
    spdlog::info("new measurements since the saved evolution: starting it over");
  } else if (opt.resume && file_exists(state_path)) {
    state = EvolutionState::from_json(read_file(state_path), space, state_path);
    spdlog::info("resuming the evolution at generation {}", state.next_generation);
  }
  EvolutionarySearch::Fitness fitness;
  if (cfg.use_predictor) {
    fitness = [&](const ArchSpec& a) { return predictor.predict(a); };
  } else {
    fitness = [&](const ArchSpec& a) { return metric.fitness(measure(a)); };
  }
  EvolutionarySearch search(space, cfg, constraint, fitness);
  state = search.run(state, [&](const GenerationStats& s, const EvolutionState& st) {
    write_file_atomic(state_path, st.to_json());
    std::ostringstream csv;
    csv << "generation,best,mean,feasible_fraction,evaluations,evals_per_second,seconds,best_arch\n";
    for (const auto& h : st.history) {
      csv << h.generation << "," << h.best << "," << h.mean << "," << h.feasible_fraction << ","
          << h.evaluations << "," << h.evals_per_second << "," << h.seconds << ",\"" << h.best_arch << "\"\n";
    }
    write_file_atomic(dir + "/search_log.csv", csv.str());
    spdlog::info("generation {}/{}: best {:.4f} mean {:.4f} feasible {:.0f}% {:.0f} evals/s ETA {}  {}",
                 s.generation + 1, cfg.generations, s.best, s.mean, 100 * s.feasible_fraction,
                 s.evals_per_second, fmt_eta(s.eta_seconds), s.best_arch);
  });
  summary.generations = static_cast<int>(state.history.size());

  // 3. Finalists re-measured: the best measured one wins.
  std::vector<ArchSpec> finalists;
  for (const auto& c : state.population) {
    if (static_cast<int>(finalists.size()) >= (cfg.use_predictor ? cfg.finalists : 1)) break;
    finalists.push_back(c.arch);
  }
  double best_acc = metric.worst();
  for (std::size_t i = 0; i < finalists.size(); ++i) {
    const double acc = measure(finalists[i]);
    spdlog::info("finalist {}/{}: val {:.4f}  {}", i + 1, finalists.size(), acc, finalists[i].to_string());
    if (metric.better(acc, best_acc)) {
      best_acc = acc;
      summary.best.arch = finalists[i];
    }
  }
  // Every fitting subnet measured along the way competes too: the predictor only proposes.
  collect_measured();
  for (std::size_t i = 0; i < measured.size(); ++i) {
    ArchSpec a = measured[i];
    if (metric.better(measured_values[i], best_acc) && constraint(&a)) {
      best_acc = measured_values[i];
      summary.best.arch = a;
    }
  }
  summary.best.val_accuracy = best_acc;
  summary.best.estimate = estimate_of(summary.best.arch);
  summary.best.test_accuracy = test_score(summary.best.arch);

  // 4. The baseline through the same pipeline: the config's (search.baseline, measured whether
  // or not it fits: its estimate says), else the scaled MobileNetV2 of the same constraints.
  std::optional<ArchSpec> b;
  if (!exp.search.baseline.empty()) {
    const LoadedArch la = load_arch_file(exp.search.baseline, space);
    if (la.space.fingerprint() != space.fingerprint()) {
      throw ConfigError(exp.search.baseline + ": search.baseline is an architecture of the space '" +
                        la.space.name + "', not of '" + space.name + "'");
    }
    b = la.arch;
    summary.baseline_name = std::filesystem::path(exp.search.baseline).stem().string();
  } else {
    b = scaled_mobilenet_v2(space, estimator);
    summary.baseline_name = "scaled MobileNetV2";
    if (!b) spdlog::warn("no scaled MobileNetV2 of the space fits {}: no baseline", exp.mcu.name);
  }
  if (b) {
    summary.baseline.arch = *b;
    summary.baseline.val_accuracy = measure(*b);
    summary.baseline.test_accuracy = test_score(*b);
    summary.baseline.estimate = estimate_of(*b);
  }
  collect_measured();
  summary.measured = static_cast<int>(measured.size());

  // Pareto fronts over everything measured: the metric against peak SRAM and against latency.
  std::ostringstream pareto;
  pareto << "arch,hash,val_accuracy,peak_sram_bytes,flash_bytes,latency_ms,macs,pareto_sram,pareto_latency\n";
  struct Point { double acc, sram, lat; };
  std::vector<Point> pts;
  std::vector<std::string> rows;
  for (std::size_t i = 0; i < measured.size(); ++i) {
    ArchSpec a = measured[i];
    if (!constraint(&a)) continue;  // measured earlier under other limits
    const Estimate e = estimate_of(a);
    pts.push_back({measured_values[i], static_cast<double>(e.peak_sram_bytes), e.latency_ms});
    rows.push_back(fmt::format("\"{}\",{},{:.6f},{},{},{:.3f},{}", a.to_string(), a.hash_hex(),
                               measured_values[i], e.peak_sram_bytes, e.flash_bytes, e.latency_ms, e.macs));
  }
  auto on_front = [&](std::size_t i, bool sram) {
    const double fi = metric.fitness(pts[i].acc);
    for (std::size_t j = 0; j < pts.size(); ++j) {
      const double ci = sram ? pts[i].sram : pts[i].lat, cj = sram ? pts[j].sram : pts[j].lat;
      const double fj = metric.fitness(pts[j].acc);
      if (j != i && fj >= fi && cj <= ci && (fj > fi || cj < ci)) return false;
    }
    return true;
  };
  Plot sram_plot, lat_plot;
  sram_plot.title = "Measured subnets on " + exp.mcu.name + ": " + metric.label + " vs peak SRAM";
  sram_plot.x_label = "peak SRAM (KB)";
  lat_plot.title = "Measured subnets on " + exp.mcu.name + ": " + metric.label + " vs latency";
  lat_plot.x_label = "latency (ms)";
  sram_plot.y_label = lat_plot.y_label = "validation " + metric.label;
  PlotSeries all_s{"measured", {}, {}, false, "#9ecae1"}, front_s{"Pareto front", {}, {}, true, "#d62728"};
  PlotSeries all_l = all_s, front_l = front_s;
  std::vector<std::pair<double, double>> fs, fl;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const bool ps = on_front(i, true), pl = on_front(i, false);
    pareto << rows[i] << "," << ps << "," << pl << "\n";
    all_s.x.push_back(pts[i].sram / 1024);
    all_s.y.push_back(pts[i].acc);
    all_l.x.push_back(pts[i].lat);
    all_l.y.push_back(pts[i].acc);
    if (ps) fs.push_back({pts[i].sram / 1024, pts[i].acc});
    if (pl) fl.push_back({pts[i].lat, pts[i].acc});
  }
  std::sort(fs.begin(), fs.end());
  std::sort(fl.begin(), fl.end());
  for (auto [x, y] : fs) front_s.x.push_back(x), front_s.y.push_back(y);
  for (auto [x, y] : fl) front_l.x.push_back(x), front_l.y.push_back(y);
  sram_plot.series = {all_s, front_s};
  lat_plot.series = {all_l, front_l};
  sram_plot.x_marks = {{exp.mcu.sram_budget() / 1024.0, "SRAM budget"}};
  if (cfg.latency_limit_ms > 0) lat_plot.x_marks = {{cfg.latency_limit_ms, "latency limit"}};
  write_file_atomic(dir + "/pareto.csv", pareto.str());
  write_file_atomic(dir + "/pareto_sram.svg", sram_plot.to_svg());
  write_file_atomic(dir + "/pareto_latency.svg", lat_plot.to_svg());

  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  write_file_atomic(dir + "/best.yaml",
                    fmt::format("# tinynas search on {}: val {:.4f}, test {:.4f}\n", exp.mcu.name,
                                summary.best.val_accuracy, summary.best.test_accuracy) +
                        summary.best.arch.to_yaml());
  write_file_atomic(dir + "/summary.json", summary.to_json(exp.mcu));
  return summary;
}

}  // namespace tinynas
