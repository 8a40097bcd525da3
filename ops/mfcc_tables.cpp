#include "ops/mfcc_tables.h"

#include <fmt/core.h>

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <tuple>
#include <utility>

extern "C" {
#include "tn_mfcc_tables.h"
}

namespace tinynas {

const char* front_end_tables_name(FrontEndTables which) {
  switch (which) {
    case FrontEndTables::KwsMfcc: return "kws-mfcc";
    case FrontEndTables::AdLogMel: return "ad-logmel";
  }
  return "?";
}

const tn_mfcc_params_t& front_end_params(FrontEndTables which, float scale, int zero_point) {
  struct Tables {
    tn_mfcc_tables_t t{};
    ~Tables() { tn_mfcc_tables_free(&t); }
  };
  static std::mutex mutex;
  static std::map<std::tuple<FrontEndTables, float, int>, std::unique_ptr<Tables>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(which, scale, zero_point);
  std::unique_ptr<Tables>& slot = cache[key];
  if (!slot) {
    tn_mfcc_config_t cfg =
        which == FrontEndTables::KwsMfcc ? tn_mfcc_config_kws() : tn_mfcc_config_logmel_ad();
    cfg.output_scale = scale;
    cfg.output_zero_point = zero_point;
    auto t = std::make_unique<Tables>();
    if (!(scale > 0) || zero_point < -128 || zero_point > 127 ||
        tn_mfcc_tables_build(&cfg, &t->t) != 0) {
      cache.erase(key);
      throw std::invalid_argument(fmt::format("{}: no tables for output scale {} zero point {}",
                                              front_end_tables_name(which), scale, zero_point));
    }
    slot = std::move(t);
  }
  return slot->t.params;
}

}  // namespace tinynas
