// Subnets fully estimated per second (sample + lower + memory plan + flash + latency) on one
// core for the default space, and MCUNet's search-space optimisation workload (108 width x
// resolution configurations x 1000 sampled subnets).
//   ninja -C build estimators_bench && build/bench/estimators/estimators_bench
#include <benchmark/benchmark.h>

#include "estimators/estimate.h"
#include "search_spaces/arch_sampler.h"

namespace tinynas {
namespace {

const std::string kRoot = TINYNAS_SOURCE_DIR;

const SearchSpace& space() {
  static const SearchSpace s = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  return s;
}

const McuSpec& mcu() {
  static const McuSpec m = McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml");
  return m;
}

// sample + lower + full plan + flash + latency, layer by layer or with a random patch schedule.
void BM_FullEstimate(benchmark::State& state) {
  const bool patches = state.range(0) != 0;
  ArchSampler sampler(space(), 1);
  Estimator est(mcu());
  NetGraph g;
  int64_t fits = 0;
  for (auto _ : state) {
    ArchSpec a = sampler.sample();
    if (patches) a.patch = sampler.sample_patch(a);
    lower(space(), a, &g);
    const Estimate& e = est.estimate(g);
    fits += e.fits;
    benchmark::DoNotOptimize(e.peak_sram_bytes);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["fit_fraction"] = static_cast<double>(fits) / state.iterations();
}
BENCHMARK(BM_FullEstimate)->Arg(0)->Arg(1)->ArgName("patches");

// The estimators alone on pre-lowered graphs (no sampling or lowering).
void BM_EstimateOnly(benchmark::State& state) {
  ArchSampler sampler(space(), 2);
  std::vector<NetGraph> graphs(256);
  for (auto& g : graphs) lower(space(), sampler.sample(), &g);
  Estimator est(mcu());
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(est.estimate(graphs[i++ & 255]).peak_sram_bytes);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EstimateOnly);

// The search's hot path: sample + lower + fits() (early exits).
void BM_Fits(benchmark::State& state) {
  ArchSampler sampler(space(), 3);
  Estimator est(mcu());
  NetGraph g;
  for (auto _ : state) {
    lower(space(), sampler.sample(), &g);
    benchmark::DoNotOptimize(est.fits(g));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Fits);

// MCUNet's search-space optimisation: for each of 108 (width, resolution) configurations,
// 1000 sampled subnets fully estimated; the statistic is the mean MACs of those that fit.
void BM_SearchSpaceOptimisation(benchmark::State& state) {
  std::vector<double> widths;
  for (int i = 2; i <= 10; ++i) widths.push_back(i / 10.0);        // 9 widths
  std::vector<int> resolutions;
  for (int r = 28; r <= 72; r += 4) resolutions.push_back(r);     // 12 resolutions
  Estimator est(mcu());
  NetGraph g;
  double best_mean = 0;
  for (auto _ : state) {
    for (double w : widths) {
      for (int r : resolutions) {
        SearchSpace s = space();
        s.width_multipliers = {w};
        s.resolutions = {r};
        ArchSampler sampler(s, 7);
        double macs = 0;
        int fit = 0;
        for (int n = 0; n < 1000; ++n) {
          lower(s, sampler.sample(), &g);
          const Estimate& e = est.estimate(g);
          if (e.fits) {
            macs += static_cast<double>(e.macs);
            ++fit;
          }
        }
        best_mean = std::max(best_mean, fit ? macs / fit : 0.0);
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * 108 * 1000);
  state.counters["configs"] = 108;
  state.counters["best_mean_fitting_MMACs"] = best_mean / 1e6;
}
BENCHMARK(BM_SearchSpaceOptimisation)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace tinynas

BENCHMARK_MAIN();
