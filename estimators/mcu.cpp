#include "estimators/mcu.h"

namespace tinynas {

McuSpec McuSpec::from_config(const ConfigNode& node) {
  node.check_keys({"name", "core", "clock_mhz", "sram_bytes", "flash_bytes", "reserved_sram_bytes",
                   "reserved_flash_bytes"});
  McuSpec m;
  m.name = node.at("name").as_string();
  m.core = node.at("core").as_choice({"cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m33",
                                      "cortex-m55"});
  m.clock_mhz = node.at("clock_mhz").as_double(1.0, 10000.0);
  m.sram_bytes = node.at("sram_bytes").as_int(1024, int64_t{1} << 34);
  m.flash_bytes = node.at("flash_bytes").as_int(1024, int64_t{1} << 36);
  m.reserved_sram_bytes = node.get_int("reserved_sram_bytes", 0, 0, m.sram_bytes - 1);
  m.reserved_flash_bytes = node.get_int("reserved_flash_bytes", 0, 0, m.flash_bytes - 1);
  return m;
}

McuSpec McuSpec::load(const std::string& path) {
  return from_config(ConfigNode::load_file(path));
}

}  // namespace tinynas
