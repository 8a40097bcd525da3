// The front ends' tables (runtime/host/tn_mfcc_tables.h's configs) for one int8 output
// quantisation, built once and shared: MLPerf Tiny's keyword-spotting MFCC and its anomaly
// detection's log-mel, both run by runtime/tn_mfcc_s8.c. The front-end operators (their int8
// reference and the C they emit: ops/front_end_kind.h) and the audio datasets' training features
// take them from here, with the scale as the float a layer's quantisation holds: one set of
// bytes, so the network is trained on exactly what the device computes.
#pragma once

#include "tn_runtime.h"

namespace tinynas {

enum class FrontEndTables {
  KwsMfcc,    // tn_mfcc_config_kws: 480 / 320 / 512, 40 mel bins, 10 MFCC (49 x 10 per second)
  AdLogMel,   // tn_mfcc_config_logmel_ad: 1024 / 512 / 1024, 128 log-mel bins (5 x 128 per 3072)
};
const char* front_end_tables_name(FrontEndTables which);  // "kws-mfcc", "ad-logmel"

// Throws std::invalid_argument when no tables exist for the quantisation (scale <= 0, zero point
// outside [-128, 127]). Thread-safe; the reference stays valid for the program's life.
const tn_mfcc_params_t& front_end_params(FrontEndTables which, float scale, int zero_point);

// front_end_params(FrontEndTables::KwsMfcc, ...).
inline const tn_mfcc_params_t& kws_mfcc_params(float scale, int zero_point) {
  return front_end_params(FrontEndTables::KwsMfcc, scale, zero_point);
}

}  // namespace tinynas
