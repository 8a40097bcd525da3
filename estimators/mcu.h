// A microcontroller target (configs/mcus/*.yaml): what the model may use of its SRAM and flash,
// the code-size terms of the flash estimate, and the latency model calibrated for its core.
#pragma once

#include <vector>
#include <cstdint>
#include <string>

#include "estimators/latency.h"
#include "search_spaces/config_node.h"
#include "search_spaces/net_graph.h"

namespace tinynas {

// Flash taken by code, per MCU/core (`code_size:` in the MCU config). Provisional starting
// numbers until the export work measures the Arm build (arm-none-eabi-size).
struct CodeSize {
  int64_t runtime = 6144;  // fixed: runtime core, requantisation helpers, glue, invoke()
  // Per layer of each op kind (by operator id): its generated call and parameter block. Defaults
  // are the descriptors' (ops/kinds/).
  std::vector<int64_t> per_layer = defaults(&OpDescriptor::default_code_per_layer);
  int64_t patch = 512;           // once with patch-based inference: the patch loop, crop, tile copy
  int64_t patch_per_layer = 96;  // per patch-stage layer: its per-patch call
  // per op kind used at least once (by operator id): its kernel
  std::vector<int64_t> kernels = defaults(&OpDescriptor::default_kernel_code);

  static CodeSize from_config(const ConfigNode& node);

 private:
  static std::vector<int64_t> defaults(int64_t (OpDescriptor::*of)() const);
};

struct McuSpec {
  std::string name;
  std::string core;  // cortex-m4 | cortex-m7 | ...
  double clock_mhz = 0;
  int64_t sram_bytes = 0;
  int64_t flash_bytes = 0;
  int64_t reserved_sram_bytes = 0;
  int64_t reserved_flash_bytes = 0;
  CodeSize code;
  std::string latency_calibration;  // path of the calibration file ("" = none)
  bool has_latency = false;         // the calibration was loaded into `latency`
  LatencyModel latency;

  // What the model's arena and its weights and code may use.
  int64_t sram_budget() const { return sram_bytes - reserved_sram_bytes; }
  int64_t flash_budget() const { return flash_bytes - reserved_flash_bytes; }
  double cycles_to_ms(double cycles) const { return cycles / (clock_mhz * 1000.0); }

  // Loads the calibration file named by `latency_calibration` (relative to the MCU file). With
  // require_calibration = false a missing calibration file is tolerated (tinynas calibrate).
  static McuSpec from_config(const ConfigNode& node, bool require_calibration = true);
  static McuSpec load(const std::string& path, bool require_calibration = true);
};

}  // namespace tinynas
