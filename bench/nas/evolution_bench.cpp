// The evolutionary search alone (no network): the search's default settings (population 100,
// 20 parents, 50 mutations + 50 crossovers, 30 generations: about 3,000 candidates that fit and
// the ones that do not) on the default space, every candidate checked by the estimators as
// `tinynas search` checks it (the cheapest patch schedule that fits), the fitness an accuracy
// predictor fitted on 100 subnets, as in the search. The candidates' checks serially, or in
// parallel with TBB on 1 or all threads (the same result: Evolution.OneThreadAndAllThreadsGiveTheSameResult).
//   ninja -C build evolution_bench && build/bench/nas/evolution_bench
// Arguments: scenario (0: stm32f746 under the main job's 50 ms limit, 1: stm32f746 with 20 KB of
// SRAM for the model), threads (0: the serial search, else TBB's limit). Counters: proposed (the
// candidates the search drew), checks (constraint calls: in parallel also the ones after the last
// candidate kept of a batch, thrown away).
// This machine (2 cores, idle, 2026-12-01), median of 3 runs: scenario 0 serial 935 ms, TBB on
// 1 thread 948 ms, on 2 threads 498 ms (1.88x); scenario 1 696 / 734 / 407 ms (1.71x); 2.9% and
// 1.6% of the checks thrown away.
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include <atomic>
#include <memory>

#include "estimators/estimate.h"
#include "nas/search/accuracy_predictor.h"
#include "nas/search/evolution.h"
#include "search_spaces/arch_sampler.h"

namespace tinynas {
namespace {

const std::string kRoot = TINYNAS_SOURCE_DIR;

const SearchSpace& space() {
  static const SearchSpace s = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  return s;
}

struct Scenario {
  McuSpec mcu;
  EstimateOptions options;
};

Scenario scenario(int k) {
  Scenario s{McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml"), {}};
  if (k == 0) s.options.latency_limit_ms = 50;
  if (k == 1) s.mcu.sram_bytes = s.mcu.reserved_sram_bytes + 20 * 1024;
  return s;
}

std::atomic<int64_t> checks{0};  // constraint calls: the proposals, and in parallel the wasted ones

EvolutionarySearch::Constraint constraint(const Scenario& sc) {
  auto est = std::make_shared<Estimator>(sc.mcu, sc.options);
  return [est](ArchSpec* a) {
    checks.fetch_add(1, std::memory_order_relaxed);
    a->patch = PatchSchedule{};
    const auto p = choose_patch_schedule(*est, space(), *a);
    if (!p) return false;
    a->patch = *p;
    return true;
  };
}

void BM_Evolution(benchmark::State& state) {
  const Scenario sc = scenario(static_cast<int>(state.range(0)));
  const int threads = static_cast<int>(state.range(1));
  // A predictor fitted on 100 fitting subnets (MACs as the stand-in for accuracy).
  AccuracyPredictor predictor(space());
  {
    ArchSampler sampler(space(), 11);
    auto check = constraint(sc);
    std::vector<ArchSpec> archs;
    std::vector<double> target;
    while (archs.size() < 100) {
      ArchSpec a = sampler.sample();
      if (!check(&a)) continue;
      target.push_back(static_cast<double>(lower(space(), a).macs()) / 1e7);
      archs.push_back(a);
    }
    predictor.fit(archs, target);
  }
  SearchConfig cfg;  // the defaults: 100 / 20 / 50 / 50, 30 generations
  cfg.seed = 3;
  auto fitness = [&](const ArchSpec& a) { return predictor.predict(a); };
  std::unique_ptr<tbb::global_control> limit;
  if (threads > 0) {
    limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, threads);
  }
  int64_t proposed = 0;
  double best = 0;
  checks = 0;
  for (auto _ : state) {
    EvolutionState st;
    if (threads == 0) {
      st = EvolutionarySearch(space(), cfg, constraint(sc), fitness).run({});
    } else {
      st = EvolutionarySearch(space(), cfg, [&sc] { return constraint(sc); }, fitness).run({});
    }
    proposed = st.proposed;
    best = st.population.front().fitness;
  }
  state.counters["proposed"] = static_cast<double>(proposed);
  state.counters["checks"] = static_cast<double>(checks) / static_cast<double>(state.iterations());
  state.counters["best"] = best;
  state.counters["threads"] = threads == 0 ? 1 : std::min(threads, tbb::info::default_concurrency());
  state.SetItemsProcessed(state.iterations() * proposed);
}
BENCHMARK(BM_Evolution)
    ->ArgNames({"scenario", "threads"})
    ->ArgsProduct({{0, 1}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();

}  // namespace
}  // namespace tinynas

BENCHMARK_MAIN();
