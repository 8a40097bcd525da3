#include "estimators/mcu.h"

#include <algorithm>

#include "search_spaces/atomic_file.h"

namespace tinynas {

namespace {

// A per-op-kind map {conv: N, pointwise: N, ...}; kinds left out keep their defaults.
void read_per_kind(const ConfigNode& node, std::vector<int64_t>* out, int64_t max) {
  node.expect_map();
  std::vector<std::string> kinds;
  for (const OpDescriptor* d : all_ops()) kinds.push_back(d->name());
  node.check_keys(kinds);
  for (const OpDescriptor* d : all_ops()) {
    (*out)[d->id()] = node.get_int(d->name(), (*out)[d->id()], 0, max);
  }
}

}  // namespace

std::vector<int64_t> CodeSize::defaults(int64_t (OpDescriptor::*of)() const) {
  std::vector<int64_t> v;
  for (const OpDescriptor* d : all_ops()) v.push_back((d->*of)());
  return v;
}

CodeSize CodeSize::from_config(const ConfigNode& node) {
  node.expect_map();
  node.check_keys({"runtime", "per_layer", "patch", "patch_per_layer", "kernels"});
  CodeSize c;
  c.runtime = node.get_int("runtime", c.runtime, 0, int64_t{1} << 30);
  if (const auto p = node.find("per_layer")) {
    if (p->is_map()) {
      read_per_kind(*p, &c.per_layer, int64_t{1} << 20);
    } else {
      // one figure for every kind
      std::fill(c.per_layer.begin(), c.per_layer.end(), p->as_int(0, int64_t{1} << 20));
    }
  }
  c.patch = node.get_int("patch", c.patch, 0, int64_t{1} << 20);
  c.patch_per_layer = node.get_int("patch_per_layer", c.patch_per_layer, 0, int64_t{1} << 20);
  if (const auto k = node.find("kernels")) read_per_kind(*k, &c.kernels, int64_t{1} << 24);
  return c;
}

McuSpec McuSpec::from_config(const ConfigNode& node, bool require_calibration) {
  node.check_keys({"name", "core", "clock_mhz", "sram_bytes", "flash_bytes", "reserved_sram_bytes",
                   "reserved_flash_bytes", "code_size", "latency_calibration"});
  McuSpec m;
  m.name = node.at("name").as_string();
  m.core = node.at("core").as_choice({"cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m33",
                                      "cortex-m55"});
  m.clock_mhz = node.at("clock_mhz").as_double(1.0, 10000.0);
  m.sram_bytes = node.at("sram_bytes").as_int(1024, int64_t{1} << 34);
  m.flash_bytes = node.at("flash_bytes").as_int(1024, int64_t{1} << 36);
  m.reserved_sram_bytes = node.get_int("reserved_sram_bytes", 0, 0, m.sram_bytes - 1);
  m.reserved_flash_bytes = node.get_int("reserved_flash_bytes", 0, 0, m.flash_bytes - 1);
  if (const auto c = node.find("code_size")) m.code = CodeSize::from_config(*c);
  if (const auto cal = node.find("latency_calibration")) {
    m.latency_calibration = cal->as_path();
    if (require_calibration || file_exists(m.latency_calibration)) {
      m.latency = LatencyModel::load(m.latency_calibration);
      if (!m.latency.core.empty() && m.latency.core != m.core) {
        cal->fail("the calibration " + m.latency_calibration + " is for core " + m.latency.core +
                  ", but this MCU is a " + m.core);
      }
      m.has_latency = true;
    }
  }
  return m;
}

McuSpec McuSpec::load(const std::string& path, bool require_calibration) {
  return from_config(ConfigNode::load_file(path), require_calibration);
}

}  // namespace tinynas
