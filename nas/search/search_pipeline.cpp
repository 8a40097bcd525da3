#include "nas/search/search_pipeline.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "nas/search/accuracy_cache.h"
#include "nas/search/accuracy_predictor.h"
#include "nas/search/csv_field.h"
#include "nas/search/evolution.h"
#include "nas/search/results_store.h"
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

// PredictorQuality of a ridge penalty over `entries` (5 folds; fewer than 10 subnets: none).
PredictorQuality cross_validate(const SearchSpace& space, const std::vector<MeasuredScore>& entries,
                                const Metric& metric, double l2, int half_examples) {
  constexpr std::size_t kFolds = 5;
  PredictorQuality q;
  q.l2 = l2;
  const std::size_t n = entries.size();
  if (n < 2 * kFolds) return q;
  std::vector<double> pred(n), full(n);
  for (std::size_t i = 0; i < n; ++i) full[i] = metric.fitness(entries[i].value);
  for (std::size_t fold = 0; fold < kFolds; ++fold) {
    std::vector<ArchSpec> tr;
    std::vector<double> ytr;
    for (std::size_t i = 0; i < n; ++i) {
      if (i % kFolds != fold) tr.push_back(*entries[i].arch), ytr.push_back(full[i]);
    }
    AccuracyPredictor p(space);
    p.fit(tr, ytr, l2);
    for (std::size_t i = fold; i < n; i += kFolds) pred[i] = p.predict(*entries[i].arch);
  }
  q.subnets = static_cast<int>(n);
  q.kendall_tau = kendall_tau(pred, full);
  std::vector<double> p_h, a, b;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(entries[i].first_half) || std::isnan(entries[i].second_half)) continue;
    p_h.push_back(pred[i]);
    a.push_back(metric.fitness(entries[i].first_half));
    b.push_back(metric.fitness(entries[i].second_half));
  }
  if (a.size() >= 2 * kFolds) {
    q.half_examples = half_examples;
    q.tau_between_halves = kendall_tau(a, b);
    q.tau_vs_half = (kendall_tau(p_h, a) + kendall_tau(p_h, b)) / 2;
  }
  return q;
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
  j["int8_test_accuracy"] = int8_test_accuracy ? nlohmann::json(*int8_test_accuracy) : nlohmann::json();
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
  if (j.contains("int8_test_accuracy") && !j["int8_test_accuracy"].is_null()) {
    s.int8_test_accuracy = j["int8_test_accuracy"].get<double>();
  }
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

std::vector<double> RandomSearch::val() const {
  std::vector<double> v;
  for (const auto& r : runs) v.push_back(r.val_accuracy);
  return v;
}

std::vector<double> RandomSearch::test() const {
  std::vector<double> v;
  for (const auto& r : runs) v.push_back(r.test_accuracy);
  return v;
}

std::vector<double> RandomSearch::int8_test() const {
  std::vector<double> v;
  for (const auto& r : runs) {
    if (!r.int8_test_accuracy) return {};
    v.push_back(*r.int8_test_accuracy);
  }
  return v;
}

nlohmann::ordered_json RandomSearch::to_json() const {
  if (empty()) return nullptr;
  nlohmann::ordered_json j;
  j["evaluations_per_run"] = evaluations;
  j["runs"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < runs.size(); ++i) {
    nlohmann::ordered_json r;
    r["seed"] = seeds[i];
    r.update(runs[i].to_json());
    j["runs"].push_back(r);
  }
  j["val_mean"] = SeedRuns::mean(val());
  j["val_std"] = SeedRuns::stddev(val());
  j["test_mean"] = SeedRuns::mean(test());
  j["test_std"] = SeedRuns::stddev(test());
  const std::vector<double> int8 = int8_test();
  j["int8_test_mean"] = int8.empty() ? nlohmann::json() : nlohmann::json(SeedRuns::mean(int8));
  j["int8_test_std"] = int8.empty() ? nlohmann::json() : nlohmann::json(SeedRuns::stddev(int8));
  return j;
}

nlohmann::ordered_json PredictorQuality::to_json() const {
  if (subnets == 0) return nullptr;
  auto tau = [](double t) { return t > -2 ? nlohmann::ordered_json(t) : nlohmann::ordered_json(); };
  nlohmann::ordered_json j;
  j["l2"] = l2;
  j["l2_chosen_by_cross_validation"] = l2_chosen;
  j["cross_validated_subnets"] = subnets;
  j["kendall_tau"] = tau(kendall_tau);
  j["half_examples"] = half_examples;
  j["kendall_tau_vs_half"] = tau(tau_vs_half);
  j["kendall_tau_between_halves"] = tau(tau_between_halves);
  return j;
}

namespace {

nlohmann::json int8_test_accuracy_gain(const ScoredArch& best, const std::optional<double>& other) {
  if (!best.int8_test_accuracy || !other) return nullptr;
  return *best.int8_test_accuracy - *other;
}

}  // namespace

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
  j["predictor_kendall_tau"] = predictor.kendall_tau > -2 ? nlohmann::json(predictor.kendall_tau) : nlohmann::json();
  j["predictor_holdout"] = predictor.subnets;
  j["predictor"] = predictor.to_json();
  j["random_search"] = random_search.to_json();
  const std::vector<double> random_int8 = random_search.int8_test();
  j["int8_test_accuracy_gain_over_baseline"] =
      int8_test_accuracy_gain(best, baseline.int8_test_accuracy);
  j["int8_test_accuracy_gain_over_random_search"] = int8_test_accuracy_gain(
      best, random_int8.empty() ? std::nullopt : std::optional<double>(SeedRuns::mean(random_int8)));
  j["test_accuracy_gain_over_random_search"] =
      random_search.empty() ? nlohmann::json()
                            : nlohmann::json(best.test_accuracy - SeedRuns::mean(random_search.test()));
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
  if (!opt.resume) std::filesystem::remove(dir + "/search_state.json");
  const EstimateOptions eo = exp.estimate_options();
  Estimator estimator(exp.mcu, eo);
  NetGraph g;

  // The constraint: fits as it is, or (MCUNetV2) with the cheapest patch schedule that fits.
  // One per thread for the evolution's parallel checks (an Estimator and a graph are not shared).
  auto make_constraint = [&]() -> EvolutionarySearch::Constraint {
    auto est = std::make_shared<Estimator>(exp.mcu, eo);
    auto graph = std::make_shared<NetGraph>();
    return [est, graph, &space, &cfg](ArchSpec* a) {
      a->patch = PatchSchedule{};
      if (!cfg.search_patches) {
        lower(space, *a, graph.get());
        return est->fits(*graph);
      }
      const auto p = choose_patch_schedule(*est, space, *a);
      if (!p) return false;
      a->patch = *p;
      return true;
    };
  };
  const EvolutionarySearch::Constraint constraint = make_constraint();
  auto estimate_of = [&](const ArchSpec& a) {
    lower(space, a, &g);
    return estimator.estimate(g);
  };

  // The validation measurements of this search (measured.csv): its cache, and what the
  // predictor learns from. Random search's are kept apart (random_search.csv), so that they never
  // feed the search's predictor or its winner. Both live in the results store.
  std::unique_ptr<ResultsStore> own_store;
  ResultsStore* store = opt.store;
  if (!store) {
    own_store = std::make_unique<ResultsStore>(opt.store_path.empty() ? dir + "/results.db" : opt.store_path);
    store = own_store.get();
  }
  AccuracyCache log = AccuracyCache::validation_log(*store, dir + "/measured.csv", cfg.val_images);
  AccuracyCache random_log = AccuracyCache::validation_log(*store, dir + "/random_search.csv", cfg.val_images);
  if (!opt.resume) {
    log.clear();
    random_log.clear();
  }
  log.load(space);
  random_log.load(space);
  int measured_now = 0;
  const auto measure_start = Clock::now();
  // The distinct subnets the search itself measured (steps 1-3, saved or new): the cost the
  // random-search baseline is given.
  std::set<uint64_t> search_cost;
  bool searching = true;
  auto measure = [&](const ArchSpec& a) {
    if (searching) search_cost.insert(without_patch(a).hash());
    if (const double* v = log.find(a, EvalSplit::Val, cfg.val_images)) return *v;
    const HalvedScore v = scorer.score_halves(without_patch(a), EvalSplit::Val, cfg.val_images);
    log.add(a, EvalSplit::Val, cfg.val_images, v);
    ++measured_now;
    return v.value;
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
    const int64_t val_size = scorer.split_size(EvalSplit::Val);
    const int64_t examples = cfg.val_images > 0 && val_size > 0 ? std::min<int64_t>(cfg.val_images, val_size)
                                                                 : val_size;
    // Over the sample of step 1 (not whatever else a resumed folder holds), so that a resumed
    // search reports the same figures.
    std::vector<MeasuredScore> sampled;
    std::set<uint64_t> seen;
    for (const ArchSpec& a : sample) {
      if (seen.insert(without_patch(a).hash()).second) sampled.push_back(*log.entry(a, EvalSplit::Val, cfg.val_images));
    }
    if (cfg.predictor_l2 >= 0) {
      summary.predictor = cross_validate(space, sampled, metric, cfg.predictor_l2, static_cast<int>(examples / 2));
    } else {
      for (double l2 : {1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3}) {
        const PredictorQuality q = cross_validate(space, sampled, metric, l2, static_cast<int>(examples / 2));
        if (q.subnets == 0) break;
        if (summary.predictor.subnets == 0 || q.kendall_tau > summary.predictor.kendall_tau) summary.predictor = q;
      }
      summary.predictor.l2_chosen = summary.predictor.subnets > 0;
      if (summary.predictor.subnets == 0) summary.predictor.l2 = 1e-2;  // too few to choose: a mild penalty
    }
    const PredictorQuality& q = summary.predictor;
    if (q.subnets > 0) {
      spdlog::info("accuracy predictor (ridge penalty {:g}{}): Kendall tau {:.3f} over {} measured subnets, "
                   "each predicted by a fit without it",
                   q.l2, q.l2_chosen ? ", chosen by that tau" : "", q.kendall_tau, q.subnets);
    }
    if (q.half_examples > 0) {
      spdlog::info("  noise floor: against {}-example halves of the validation the predictor's tau is {:.3f}; "
                   "one half against the other, {:.3f}",
                   q.half_examples, q.tau_vs_half, q.tau_between_halves);
    }
    predictor.fit(measured, measured_fitness, summary.predictor.l2);
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
  EvolutionarySearch search(space, cfg, EvolutionarySearch::ConstraintFactory(make_constraint),
                            fitness);
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
  searching = false;

  // Random search at equal cost, measured into its own log.
  if (cfg.random_search_runs > 0) {
    RandomSearch& rs = summary.random_search;
    rs.evaluations = static_cast<int>(search_cost.size());
    for (int r = 0; r < cfg.random_search_runs; ++r) {
      const uint64_t seed = cfg.seed + static_cast<uint64_t>(r);
      ArchSampler draw(space, seed ^ 0x5eed);
      ScoredArch run;
      double run_best = metric.worst();
      std::set<uint64_t> seen;
      int tries = 0;
      while (static_cast<int>(seen.size()) < rs.evaluations) {
        ArchSpec a = draw.sample();
        if (!constraint(&a)) {
          if (++tries > EvolutionarySearch::kMaxTries) break;
          continue;
        }
        tries = 0;
        if (!seen.insert(without_patch(a).hash()).second) continue;
        double v;
        if (const double* saved = log.find(a, EvalSplit::Val, cfg.val_images)) {
          v = *saved;
        } else if (const double* saved_r = random_log.find(a, EvalSplit::Val, cfg.val_images)) {
          v = *saved_r;
        } else {
          const HalvedScore h = scorer.score_halves(without_patch(a), EvalSplit::Val, cfg.val_images);
          random_log.add(a, EvalSplit::Val, cfg.val_images, h);
          v = h.value;
          spdlog::info("random search {}/{}: {}/{} val {:.4f}  {}", r + 1, cfg.random_search_runs, seen.size(),
                       rs.evaluations, v, a.to_string());
        }
        if (metric.better(v, run_best)) {
          run_best = v;
          run.arch = a;
        }
      }
      if (static_cast<int>(seen.size()) < rs.evaluations) {
        spdlog::warn("random search {}/{}: only {} distinct fitting subnets found of the {} wanted", r + 1,
                     cfg.random_search_runs, seen.size(), rs.evaluations);
      }
      if (run.empty()) continue;
      run.val_accuracy = run_best;
      run.estimate = estimate_of(run.arch);
      run.test_accuracy = test_score(run.arch);
      spdlog::info("random search {}/{}: best of {}: val {:.4f} test {:.4f}  {}", r + 1, cfg.random_search_runs,
                   seen.size(), run.val_accuracy, run.test_accuracy, run.arch.to_string());
      rs.seeds.push_back(seed);
      rs.runs.push_back(run);
    }
  }

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
  sram_plot.legend_width = lat_plot.legend_width = 260;
  sram_plot.width = lat_plot.width = 790;
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
  // The winner and the baselines, where they stand among the measured subnets.
  auto mark = [&](const std::string& label, const std::vector<const ScoredArch*>& points, const char* color) {
    PlotSeries ps{label, {}, {}, false, color}, pl = ps;
    for (const ScoredArch* a : points) {
      if (a->empty()) continue;
      ps.x.push_back(a->estimate.peak_sram_bytes / 1024.0);
      pl.x.push_back(a->estimate.latency_ms);
      ps.y.push_back(a->val_accuracy);
      pl.y.push_back(a->val_accuracy);
    }
    if (ps.x.empty()) return;
    sram_plot.series.push_back(ps);
    lat_plot.series.push_back(pl);
  };
  std::vector<const ScoredArch*> random_winners;
  for (const ScoredArch& r : summary.random_search.runs) random_winners.push_back(&r);
  mark("random search (best of each seed)", random_winners, "#2ca02c");
  mark(summary.baseline_name, {&summary.baseline}, "#ff7f0e");
  mark("searched", {&summary.best}, "#000000");
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
