/* Host-only builder of the MFCC / log-mel front end's tables (tn_mfcc_s8 in
 * runtime/tn_mfcc_s8.c). C99 with libm and malloc: NOT part of the freestanding
 * runtime (runtime/CMakeLists.txt globs runtime/tn_*.c and scripts/run-on-qemu
 * builds the .c files directly in runtime/; this folder is in neither). It lives next to the kernel
 * because its Q formats are the kernel's contract; C so that the supernet's
 * feature extraction, the code generator (C++) and C test firmware can all
 * call it.
 *
 * Definitions (TensorFlow's tf.signal, as MLPerf Tiny's keyword spotting):
 *  - window: periodic Hann, w[n] = 0.5 - 0.5 cos(2 pi n / frame_length);
 *  - mel filters: tf.signal.linear_to_mel_weight_matrix (mel = 1127 ln(1 + f/700),
 *    num_mel + 2 edges equally spaced in mel from lower_hz to upper_hz, triangles
 *    in the mel domain over the bins k * sample_rate / N, k = 1..N/2; the DC bin
 *    gets no weight);
 *  - DCT: tf.signal.mfccs_from_log_mel_spectrograms,
 *    D[j][m] = sqrt(2 / num_mel) cos(pi j (m + 0.5) / num_mel), j < num_coeffs;
 *  - spectrum: power |X|^2 of x = pcm / 32768; L = ln(mel + log_floor).
 */
#ifndef TN_MFCC_TABLES_H
#define TN_MFCC_TABLES_H

#include <stdio.h>

#include "tn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double sample_rate;       /* Hz */
    int32_t frame_length;     /* samples */
    int32_t frame_step;       /* samples */
    int32_t fft_length;       /* power of two >= frame_length, <= 1024 */
    int32_t num_mel;
    double lower_hz, upper_hz;
    int32_t num_coeffs;       /* DCT coefficients kept; 0: log-mel output (num_mel values) */
    double log_floor;         /* added to the mel power before the log (x in [-1, 1)) */
    double output_scale;      /* int8 output: real = scale * (q - zero_point) */
    int32_t output_zero_point;
} tn_mfcc_config_t;

/* MLPerf Tiny keyword spotting: 16 kHz, 480 / 320 / 512, 40 mel bins from 20 to
 * 4000 Hz, 10 coefficients, log_floor 1e-6; output_scale 1.0, zero point 0
 * (callers set the quantisation they calibrated). */
tn_mfcc_config_t tn_mfcc_config_kws(void);

/* MLPerf Tiny anomaly detection (the DCASE 2020 Task 2 baseline's features): 16 kHz, frame
 * 1024, step 512, fft 1024, 128 mel bins from 0 to 8000 Hz, log-mel output (num_coeffs 0);
 * output_scale 1.0, zero point 0 (callers set the quantisation they calibrated).
 * Differences from the baseline's librosa features, which a fixed quantisation absorbs or which
 * do not matter to an autoencoder trained on these very bytes: no centre padding (frame t starts
 * at sample 512 t), tf.signal's HTK mel filters (as the keyword spotter) instead of librosa's
 * Slaney ones, and ln instead of 10 log10 (a factor 4.34 the int8 scale takes).
 * log_floor 1e-8 (-80 dB re full scale): the baseline adds float64's epsilon (2.2e-16), which
 * only spends int8 range on digital silence; 1e-8 is below the quantisation noise of 16-bit PCM
 * in every one of these mel bands (its power, 2^-30 / 12 per sample, gives about 2.6e-8 in the
 * narrowest band and 3e-7 in the widest), so recorded sound is never clipped by it while the
 * features span ln(1e-8) = -18.4 up to about +11 (a full-scale tone). */
tn_mfcc_config_t tn_mfcc_config_logmel_ad(void);

typedef struct {
    tn_mfcc_params_t params;  /* points into the arrays below */
    int32_t *window;          /* [frame_length] */
    int32_t *twiddle;         /* [fft_length] (N/2 pairs) */
    int16_t *mel_start, *mel_count; /* [num_mel] */
    int16_t *mel_weight;      /* [num_weights] */
    int32_t num_weights;
    int16_t *dct;             /* [num_coeffs][num_mel] or NULL */
} tn_mfcc_tables_t;

/* Fill t (allocating its arrays) for cfg; 0 on success, TN_ERR_ARG on a bad
 * config (t is then zeroed). Free with tn_mfcc_tables_free. */
int tn_mfcc_tables_build(const tn_mfcc_config_t *cfg, tn_mfcc_tables_t *t);
void tn_mfcc_tables_free(tn_mfcc_tables_t *t);

/* Write the tables as C source: `static const` arrays named <prefix>_window,
 * ... and `static const tn_mfcc_params_t <prefix>_params` (what a code
 * generator emits into model.c). Returns 0, or -1 on a write error. */
int tn_mfcc_tables_write_c(const tn_mfcc_tables_t *t, const char *prefix, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* TN_MFCC_TABLES_H */
