// The keyword-spotting front end as a layer: 1 s of 16 kHz int16 PCM -> 49 x 10 int8 MFCC
// (MLPerf Tiny's parameters), runtime/tn_mfcc_s8.c with the KWS tables. Everything but its
// tables and code sizes is the shared front-end kind (ops/front_end_kind.h).
#include "ops/front_end_kind.h"

namespace tinynas {

const OpDescriptor& op_mfcc() {
  // Code: 96 bytes per layer (its call and parameter block); the kernel is the
  // arm-none-eabi-gcc -Os -mcpu=cortex-m7 text of tn_mfcc_s8.o (2448 bytes).
  static const FrontEndKind d("mfcc", FrontEndTables::KwsMfcc, 96, 2448);
  return d;
}

}  // namespace tinynas
