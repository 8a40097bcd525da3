// One entry point for what a subnet costs on an MCU: MACs, parameters, peak SRAM (the planned
// arena, exactly what the generated code allocates), the MCUNet analytic figure, flash, latency,
// and whether it fits. Estimator keeps its storage between calls for the search's hot loop.
#pragma once

#include <cstdint>
#include <optional>

#include "estimators/latency.h"
#include "estimators/mcu.h"
#include "estimators/memory_plan.h"
#include "search_spaces/arch_spec.h"
#include "search_spaces/net_graph.h"
#include "search_spaces/search_space.h"

namespace tinynas {

struct EstimateOptions {
  double latency_limit_ms = 0;  // 0 = no latency constraint
  int64_t macs_limit = 0;       // 0 = no compute constraint (layer-by-layer MACs)
  PlanOptions plan;
};

struct Estimate {
  int64_t macs = 0;           // layer by layer
  int64_t executed_macs = 0;  // with patch-based inference's overlap (= macs without patches)
  int64_t params = 0;
  int64_t peak_sram_bytes = 0;      // the planned arena, incl. scratch and alignment
  int64_t analytic_peak_bytes = 0;  // MCUNet's max over layers of input + output bytes
  int64_t flash_bytes = 0;
  int64_t sram_budget_bytes = 0, flash_budget_bytes = 0;
  bool has_latency = false;  // the MCU has a latency calibration
  double cycles = 0;
  double latency_ms = 0;
  bool feasible = true;  // false: the patch schedule cannot be cut (fewer rows than patches)
  bool fits_sram = false, fits_flash = false, fits_latency = true, fits_macs = true;
  bool fits = false;
};

// Flash: int8 weights + int32 biases + per-output-channel requantisation (int32 multiplier +
// int32 shift) + the kernels' code (once per op kind used) + a per-layer term + the runtime
// (+ the patch loops with patches). The MCU's code-size terms are provisional.
int64_t flash_bytes(const NetGraph& g, const McuSpec& mcu);
// The part of it that patch-based inference adds: the patch loop, a per-patch call per stage
// layer, and the per-patch geometry tables the code generator emits.
int64_t patch_flash_bytes(const NetGraph& g, const McuSpec& mcu);
constexpr int64_t kRequantBytesPerChannel = 8;

class Estimator {
 public:
  // Throws ConfigError if a latency limit is set but the MCU has no latency calibration.
  explicit Estimator(const McuSpec& mcu, const EstimateOptions& opt = {});

  // Everything, with the full memory plan (plan()).
  const Estimate& estimate(const NetGraph& g);
  // The search's hot path: flash, then latency, then the memory plan stopping as soon as the
  // arena is known to fit or not. Leaves plan() in an unspecified state.
  bool fits(const NetGraph& g);

  const MemoryPlan& plan() const { return plan_; }
  const McuSpec& mcu() const { return mcu_; }
  const EstimateOptions& options() const { return opt_; }

 private:
  McuSpec mcu_;
  EstimateOptions opt_;
  MemoryPlanner planner_;
  MemoryPlan plan_;
  Estimate est_;
};

Estimate estimate(const NetGraph& g, const McuSpec& mcu, const EstimateOptions& opt = {});

// For an ArchSpec (its own patch schedule ignored): every schedule the space allows
// (layer by layer, and p x p for p in space.patch.patches, split 1..min(max_split, blocks)),
// estimated; returns the one that fits with the least latency (executed MACs without a latency
// model), preferring fewer patches and an earlier split on ties; nullopt if none fits.
std::optional<PatchSchedule> choose_patch_schedule(const SearchSpace& space, const ArchSpec& arch,
                                                   const McuSpec& mcu,
                                                   const EstimateOptions& opt = {},
                                                   Estimate* chosen = nullptr);
// The same with the caller's Estimator (its MCU and options), reused across calls: the search
// asks this for every candidate, and a fresh Estimator's planner storage would regrow each time.
std::optional<PatchSchedule> choose_patch_schedule(Estimator& est, const SearchSpace& space,
                                                   const ArchSpec& arch, Estimate* chosen = nullptr);

}  // namespace tinynas
