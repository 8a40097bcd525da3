// The anomaly-detection front end as a layer: int16 PCM at 16 kHz -> frames x 128 int8 log-mel
// (MLPerf Tiny's anomaly detection: frame 1024, step 512, 128 mel bins 0..8000 Hz; 3072 samples
// -> 5 frames, the 640 values of its autoencoder's input), runtime/tn_mfcc_s8.c with the tables of
// tn_mfcc_config_logmel_ad (runtime/host/tn_mfcc_tables.h, its log floor documented there).
// Everything but its tables is the shared front-end kind (ops/front_end_kind.h).
#include "ops/front_end_kind.h"

namespace tinynas {

const OpDescriptor& op_logmel() {
  // The same kernel as mfcc (its log-mel path, dct == NULL): the arm-none-eabi-gcc -Os
  // -mcpu=cortex-m7 text of tn_mfcc_s8.o is 2448 bytes; 96 per layer (call, parameter block).
  static const FrontEndKind d("logmel", FrontEndTables::AdLogMel, 96, 2448);
  return d;
}

}  // namespace tinynas
