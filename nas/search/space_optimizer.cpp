#include "nas/search/space_optimizer.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <sstream>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include "nas/search/svg_plot.h"
#include "search_spaces/arch_sampler.h"
#include "search_spaces/net_graph.h"

namespace tinynas {

SearchSpace restrict_space(const SearchSpace& space, double width, int resolution) {
  SearchSpace s = space;
  s.width_multipliers = {width};
  s.resolutions = {resolution};
  return s;
}

std::string restricted_space_yaml(const SearchSpace& space, double width, int resolution) {
  SearchSpace s = restrict_space(space, width, resolution);
  s.name = space.name + "-w" + format_double(width) + "-r" + std::to_string(resolution);
  return "# Chosen by `tinynas space` from " + space.origin + "\n" + s.to_yaml();
}

SpaceOptimization optimize_space(const SearchSpace& space, const McuSpec& mcu,
                                 const SpaceSearchConfig& config, bool allow_patches,
                                 const EstimateOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  SpaceOptimization out;
  // Every (width, resolution) cell on its own: its own sampler (seeded alike, as before) and, per
  // TBB worker thread, its own Estimator and graph storage; so the cells run in parallel and the
  // result is the same for any number of threads.
  std::vector<std::pair<double, int>> cells;
  for (double w : config.widths) {
    for (int r : config.resolutions) cells.emplace_back(w, r);
  }
  out.candidates.resize(cells.size());
  struct Worker {
    Estimator est;
    NetGraph g;
  };
  tbb::enumerable_thread_specific<Worker> workers([&] { return Worker{Estimator(mcu, options), NetGraph{}}; });
  tbb::parallel_for(std::size_t{0}, cells.size(), [&](std::size_t k) {
    Worker& wk = workers.local();
    Estimator& est = wk.est;
    NetGraph& g = wk.g;
    const auto [w, r] = cells[k];
    const SearchSpace cand_space = restrict_space(space, w, r);
    ArchSampler sampler(cand_space, config.seed);
    SpaceCandidate& c = out.candidates[k];
    double overhead_sum = 0;
    c.width = w;
    c.resolution = r;
    c.samples = config.samples;
    for (int i = 0; i < config.samples; ++i) {
      const ArchSpec a = sampler.sample();
      lower(cand_space, a, &g);
      bool fits = est.fits(g);
      if (!fits && allow_patches && cand_space.patch.patches.size() > 1) {
        Estimate chosen;
        fits = choose_patch_schedule(est, cand_space, a, &chosen).has_value();
        if (fits) {
          ++c.fitting_with_patches;
          overhead_sum += static_cast<double>(chosen.executed_macs) / chosen.macs - 1.0;
        }
      }
      if (fits) c.macs.push_back(g.macs());
    }
    std::sort(c.macs.begin(), c.macs.end());
    c.fitting = static_cast<int>(c.macs.size());
    c.mean_macs = c.fitting ? std::accumulate(c.macs.begin(), c.macs.end(), 0.0) / c.fitting : 0;
    c.mean_patch_overhead = c.fitting_with_patches ? overhead_sum / c.fitting_with_patches : 0;
  });
  out.subnets_estimated = static_cast<int64_t>(cells.size()) * config.samples;
  // An eligible space beats any other, and among eligible ones the most compute wins; if none
  // is eligible, the one where most fit.
  auto better = [](const SpaceCandidate& a, const SpaceCandidate& b) {
    if (a.eligible != b.eligible) return a.eligible;
    return a.eligible ? a.mean_macs > b.mean_macs : a.fitting > b.fitting;
  };
  for (std::size_t i = 0; i < out.candidates.size(); ++i) {
    SpaceCandidate& c = out.candidates[i];
    c.eligible = c.fitting > 0 && c.fitting_fraction() >= config.min_fitting_fraction;
    if (c.fitting > 0 && (out.best < 0 || better(c, out.candidates[out.best]))) {
      out.best = static_cast<int>(i);
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

std::string SpaceOptimization::to_csv() const {
  std::ostringstream o;
  o << "width,resolution,samples,fitting,fitting_fraction,fitting_with_patches,mean_mmacs,"
       "p10_mmacs,p50_mmacs,p90_mmacs,mean_patch_overhead,eligible,chosen\n";
  auto pct = [](const std::vector<int64_t>& v, double p) {
    return v.empty() ? 0.0 : v[static_cast<std::size_t>(p * (v.size() - 1))] / 1e6;
  };
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    o << format_double(c.width) << "," << c.resolution << "," << c.samples << "," << c.fitting << ","
      << c.fitting_fraction() << "," << c.fitting_with_patches << "," << c.mean_macs / 1e6 << ","
      << pct(c.macs, 0.1) << "," << pct(c.macs, 0.5) << "," << pct(c.macs, 0.9) << ","
      << c.mean_patch_overhead << "," << (c.eligible ? 1 : 0) << ","
      << (static_cast<int>(i) == best ? 1 : 0) << "\n";
  }
  return o.str();
}

std::string SpaceOptimization::cdf_csv() const {
  std::ostringstream o;
  o << "width,resolution,mmacs,cdf\n";
  for (const auto& c : candidates) {
    for (std::size_t j = 0; j < c.macs.size(); ++j) {
      o << format_double(c.width) << "," << c.resolution << "," << c.macs[j] / 1e6 << ","
        << static_cast<double>(j + 1) / c.macs.size() << "\n";
    }
  }
  return o.str();
}

std::string SpaceOptimization::to_svg(const std::string& mcu) const {
  // The best few candidates' CDFs (a curve further right = more compute at the same memory).
  std::vector<int> order;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].fitting > 0) order.push_back(static_cast<int>(i));
  }
  std::sort(order.begin(), order.end(),
            [&](int a, int b) {
              if (candidates[a].eligible != candidates[b].eligible) return candidates[a].eligible;
              return candidates[a].mean_macs > candidates[b].mean_macs;
            });
  if (order.size() > 8) order.resize(8);
  Plot p;
  p.title = "MACs CDF of subnets that fit " + mcu + " (top " + std::to_string(order.size()) + " spaces)";
  p.x_label = "MMACs";
  p.y_label = "fraction of fitting subnets";
  for (int i : order) {
    const auto& c = candidates[i];
    PlotSeries s;
    s.label = "w" + format_double(c.width) + " r" + std::to_string(c.resolution) +
              (i == best ? " (chosen)" : "");
    for (std::size_t j = 0; j < c.macs.size(); j += std::max<std::size_t>(1, c.macs.size() / 200)) {
      s.x.push_back(c.macs[j] / 1e6);
      s.y.push_back(static_cast<double>(j + 1) / c.macs.size());
    }
    s.x.push_back(c.macs.back() / 1e6);
    s.y.push_back(1.0);
    p.series.push_back(s);
  }
  return p.to_svg();
}

}  // namespace tinynas
