#include "ops/mfcc_tables.h"

#include <fmt/core.h>

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

extern "C" {
#include "tn_mfcc_tables.h"
}

namespace tinynas {

const tn_mfcc_params_t& kws_mfcc_params(float scale, int zero_point) {
  struct Tables {
    tn_mfcc_tables_t t{};
    ~Tables() { tn_mfcc_tables_free(&t); }
  };
  static std::mutex mutex;
  static std::map<std::pair<float, int>, std::unique_ptr<Tables>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<Tables>& slot = cache[{scale, zero_point}];
  if (!slot) {
    tn_mfcc_config_t cfg = tn_mfcc_config_kws();
    cfg.output_scale = scale;
    cfg.output_zero_point = zero_point;
    auto t = std::make_unique<Tables>();
    if (!(scale > 0) || zero_point < -128 || zero_point > 127 ||
        tn_mfcc_tables_build(&cfg, &t->t) != 0) {
      cache.erase({scale, zero_point});
      throw std::invalid_argument(fmt::format("mfcc: no tables for output scale {} zero point {}",
                                              scale, zero_point));
    }
    slot = std::move(t);
  }
  return slot->t.params;
}

}  // namespace tinynas
