#include "estimators/estimate.h"

#include <algorithm>

namespace tinynas {

int64_t flash_bytes(const NetGraph& g, const McuSpec& mcu) {
  int64_t bytes = mcu.code.runtime;
  uint64_t used = 0;  // by operator id (the registry holds at most 64 kinds)
  for (const Layer& l : g.layers) {
    const int k = l.op->id();
    bytes += l.weights + 4 * l.biases + kRequantBytesPerChannel * l.biases + l.const_bytes +
             mcu.code.per_layer[k];
    used |= uint64_t{1} << k;
  }
  for (int k = 0; used != 0; ++k, used >>= 1) {
    if (used & 1) bytes += mcu.code.kernels[k];
  }
  if (g.patch.enabled()) bytes += patch_flash_bytes(g, mcu);
  return bytes;
}

int64_t patch_flash_bytes(const NetGraph& g, const McuSpec& mcu) {
  if (!g.patch.enabled()) return 0;
  const int64_t stage = g.patch_stage_end();
  const int64_t patches = int64_t{g.patch.patches} * g.patch.patches;
  // The generated per-patch tables (int16): 8 values per stage layer and patch, 4 + 4 for the
  // image crop and the output tile.
  const int64_t tables = patches * (16 * stage + 16);
  return mcu.code.patch + mcu.code.patch_per_layer * stage + tables;
}

Estimator::Estimator(const McuSpec& mcu, const EstimateOptions& opt) : mcu_(mcu), opt_(opt) {
  if (opt_.latency_limit_ms > 0 && !mcu_.has_latency) {
    throw ConfigError("a latency limit of " + format_double(opt_.latency_limit_ms) +
                      " ms needs a latency calibration for " + mcu_.name +
                      " (latency_calibration: in its MCU config)");
  }
}

const Estimate& Estimator::estimate(const NetGraph& g) {
  Estimate& e = est_;
  // One pass over the layers for MACs, parameters, the analytic figure, flash and (layer by
  // layer) latency.
  int64_t macs = 0, params = 0, analytic = 0;
  double cycles = 0;
  const bool latency = mcu_.has_latency;
  for (const Layer& l : g.layers) {
    macs += l.macs;
    params += l.weights + l.biases;
    analytic = std::max(analytic, analytic_layer_bytes(l));
    if (latency) {
      if (!mcu_.latency.has(*l.op)) mcu_.latency.require(*l.op);  // throws, naming the kind
      cycles += mcu_.latency.layer_cycles(l);
    }
  }
  e.macs = macs;
  e.params = params;
  e.analytic_peak_bytes = analytic;
  e.flash_bytes = flash_bytes(g, mcu_);
  e.sram_budget_bytes = mcu_.sram_budget();
  e.flash_budget_bytes = mcu_.flash_budget();
  planner_.plan(g, opt_.plan, &plan_);
  e.feasible = plan_.ok;
  e.peak_sram_bytes = plan_.ok ? plan_.arena_bytes : 0;
  e.executed_macs = plan_.ok ? plan_.patch.executed_macs : e.macs;
  e.has_latency = latency;
  if (latency && plan_.patched) cycles = plan_.ok ? mcu_.latency.graph_cycles(g, &plan_) : 0;
  e.cycles = cycles;
  e.latency_ms = latency ? mcu_.cycles_to_ms(cycles) : 0;
  e.fits_sram = plan_.ok && e.peak_sram_bytes <= e.sram_budget_bytes;
  e.fits_flash = e.flash_bytes <= e.flash_budget_bytes;
  e.fits_latency =
      opt_.latency_limit_ms <= 0 || (latency && e.latency_ms <= opt_.latency_limit_ms);
  e.fits_macs = opt_.macs_limit <= 0 || e.macs <= opt_.macs_limit;
  e.fits = e.feasible && e.fits_sram && e.fits_flash && e.fits_latency && e.fits_macs;
  return e;
}

bool Estimator::fits(const NetGraph& g) {
  if (opt_.macs_limit > 0 && g.macs() > opt_.macs_limit) return false;
  if (flash_bytes(g, mcu_) > mcu_.flash_budget()) return false;
  const bool check_latency = opt_.latency_limit_ms > 0;
  if (check_latency && !g.patch.enabled() &&
      mcu_.cycles_to_ms(mcu_.latency.graph_cycles(g)) > opt_.latency_limit_ms) {
    return false;
  }
  const int64_t budget = mcu_.sram_budget();
  const int64_t arena = planner_.plan(g, opt_.plan, &plan_, budget);
  if (!plan_.ok || arena > budget) return false;
  if (check_latency && g.patch.enabled() &&
      mcu_.cycles_to_ms(mcu_.latency.graph_cycles(g, &plan_)) > opt_.latency_limit_ms) {
    return false;
  }
  return true;
}

Estimate estimate(const NetGraph& g, const McuSpec& mcu, const EstimateOptions& opt) {
  Estimator e(mcu, opt);
  return e.estimate(g);
}

std::optional<PatchSchedule> choose_patch_schedule(const SearchSpace& space, const ArchSpec& arch,
                                                   const McuSpec& mcu, const EstimateOptions& opt,
                                                   Estimate* chosen) {
  Estimator est(mcu, opt);
  return choose_patch_schedule(est, space, arch, chosen);
}

std::optional<PatchSchedule> choose_patch_schedule(Estimator& est, const SearchSpace& space,
                                                   const ArchSpec& arch, Estimate* chosen) {
  ArchSpec a = arch;
  NetGraph g;
  std::optional<PatchSchedule> best;
  double best_cost = 0;
  auto consider = [&](PatchSchedule s) {
    a.patch = s;
    lower(space, a, &g);
    if (!est.fits(g)) return;  // early-stopping check first; the full estimate only to rank
    const Estimate& e = est.estimate(g);
    if (!e.fits) return;
    const double cost = e.has_latency ? e.cycles : static_cast<double>(e.executed_macs);
    if (!best || cost < best_cost) {
      best = s;
      best_cost = cost;
      if (chosen != nullptr) *chosen = e;
    }
  };
  consider(PatchSchedule{});
  const int max_split = std::min(space.patch.max_split, arch.num_blocks());
  std::vector<int> ps = space.patch.patches;
  std::sort(ps.begin(), ps.end());
  for (int p : ps) {
    if (p <= 1) continue;
    for (int split = 1; split <= max_split; ++split) consider(PatchSchedule{p, split});
  }
  return best;
}

}  // namespace tinynas
