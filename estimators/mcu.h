// A microcontroller target (configs/mcus/*.yaml): what the model may use of its SRAM and flash,
// and the core the latency model is calibrated for.
#pragma once

#include <cstdint>
#include <string>

#include "search_spaces/config_node.h"

namespace tinynas {

struct McuSpec {
  std::string name;
  std::string core;  // cortex-m4 | cortex-m7
  double clock_mhz = 0;
  int64_t sram_bytes = 0;
  int64_t flash_bytes = 0;
  int64_t reserved_sram_bytes = 0;
  int64_t reserved_flash_bytes = 0;

  // What the model's arena and its weights and code may use.
  int64_t sram_budget() const { return sram_bytes - reserved_sram_bytes; }
  int64_t flash_budget() const { return flash_bytes - reserved_flash_bytes; }

  static McuSpec from_config(const ConfigNode& node);
  static McuSpec load(const std::string& path);
};

}  // namespace tinynas
