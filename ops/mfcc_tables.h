// MLPerf Tiny's keyword-spotting MFCC tables (runtime/host/tn_mfcc_tables.h's kws config) for one
// int8 output quantisation, built once and shared. The mfcc operator (its int8 reference and the
// C it emits) and the speech dataset's training features both take them from here, with the
// scale as the float a layer's quantisation holds: one set of bytes, so the network is trained
// on exactly what the device computes.
#pragma once

#include "tn_runtime.h"

namespace tinynas {

// Throws std::invalid_argument when no tables exist for the quantisation (scale <= 0, zero point
// outside [-128, 127]). Thread-safe; the reference stays valid for the program's life.
const tn_mfcc_params_t& kws_mfcc_params(float scale, int zero_point);

}  // namespace tinynas
