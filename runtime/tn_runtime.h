/*
 * tinynas int8 runtime: public API.
 *
 * C99, freestanding: no malloc, no stdio; kernels use only <stdint.h>,
 * <stddef.h> and memcpy/memset from <string.h>. Every symbol is prefixed tn_.
 *
 * ---------------------------------------------------------------------------
 * Quantisation (the TF-Lite int8 spec, fixed for the whole project)
 * ---------------------------------------------------------------------------
 *  real = scale * (q - zero_point)
 *  - activations: int8, asymmetric, one (scale, zero_point) per tensor;
 *  - weights:     int8, symmetric per output channel, values in [-127, 127],
 *                 zero point 0;
 *  - bias:        int32, scale = input_scale * weight_scale[c], zero point 0.
 *
 * A conv / pointwise / depthwise / fully-connected output is
 *
 *     acc[c] = bias[c] + sum_i (x_i - input_zero_point) * w[c][i]          (int32)
 *     y[c]   = clamp(MBQM(acc[c], multiplier[c], shift[c]) + output_zero_point,
 *                    act_min, act_max)
 *
 * where multiplier[c] * 2^(shift[c] - 31) ~= input_scale * weight_scale[c] / output_scale
 * (multiplier a Q31 value in [2^30, 2^31), see tn_quantize_multiplier), and MBQM is
 * TF-Lite Micro's MultiplyByQuantizedMultiplier with gemmlowp rounding:
 *
 *     MBQM(x, m, s) = RoundingDivideByPOT(
 *                         SaturatingRoundingDoublingHighMul(x * 2^max(s,0), m),
 *                         max(-s, 0))
 *
 *  - SaturatingRoundingDoublingHighMul(a, b): the high 32 bits of 2*a*b,
 *    computed as (a*b + (a*b >= 0 ? 2^30 : 1 - 2^30)) / 2^31 with C truncating
 *    division, i.e. round to nearest with ties toward +infinity (like SQRDMULH:
 *    0.5 -> 1, -0.5 -> 0); the single overflowing case a == b == INT32_MIN
 *    saturates to INT32_MAX.
 *  - RoundingDivideByPOT(x, e): x / 2^e rounded to nearest, ties away from zero
 *    (arithmetic shift plus 1 when the remainder exceeds half, the threshold
 *    being one higher for negative x).
 *  - the left shift x * 2^s (s > 0, only when the real multiplier is > 1) wraps
 *    modulo 2^32 exactly like TF-Lite's `x * (1 << left_shift)`.
 *  Valid shifts: -31 <= shift <= 30.
 *
 * act_min/act_max encode the fused activation in the quantised domain:
 * none -> [-128, 127]; ReLU -> [zp_out, 127]; ReLU6 -> [zp_out, min(127, zp_out + round(6/s_out))].
 *
 * ---------------------------------------------------------------------------
 * Layout
 * ---------------------------------------------------------------------------
 *  activations: HWC int8 (NHWC, N = 1)
 *  k x k conv weights:   OHWI  [c_out][kh][kw][c_in]
 *  pointwise weights:    [c_out][c_in]
 *  depthwise weights:    [kh][kw][c]           (channel multiplier 1)
 *  fully-connected:      [out][in]
 *  Padding is explicit and may be asymmetric (patch-based inference pads only the
 *  sides of a patch that touch the image border). A padded input element equals
 *  the input zero point, i.e. it contributes 0 to the accumulator.
 *  Each pad must be smaller than the kernel size on that axis (TN_ERR_ARG otherwise).
 *  Output size must satisfy h_out = (h_in + pad_top + pad_bottom - kh) / stride_h + 1
 *  (same for w); kernels check it and return TN_ERR_SHAPE otherwise.
 *
 * ---------------------------------------------------------------------------
 * Alignment and aliasing
 * ---------------------------------------------------------------------------
 *  Activation, weight and bias pointers need only their natural alignment
 *  (1 for int8, 4 for int32): word reads of int8 data go through memcpy, which
 *  Cortex-M7 performs as unaligned LDR. The scratch of tn_conv2d_s8 and
 *  tn_pointwise_s8 MUST be 8-byte aligned (the Arm path reads it with LDRD; the
 *  memory planner places every arena buffer at an 8-byte-aligned offset of an
 *  8-byte-aligned arena): a non-NULL misaligned scratch is rejected with
 *  TN_ERR_ARG on every build, so the contract does not depend on the target.
 *  tn_depthwise_s8 accepts a scratch of any alignment (8 recommended).
 *  Unless a kernel says otherwise, outputs must not overlap inputs;
 *  tn_depthwise_s8 and tn_add_s8 may run in place.
 *
 * ---------------------------------------------------------------------------
 * Arm fast path
 * ---------------------------------------------------------------------------
 *  When compiled with __ARM_FEATURE_DSP (Cortex-M4/M7/M33...) conv, pointwise
 *  and depthwise use SMLAD inner loops; the integer sums are the same so results
 *  are bit-identical to the portable C path. Defining TN_EMULATE_DSP on a host
 *  compiles the same fast path with C emulations of the intrinsics (used by the
 *  tests to check both paths everywhere).
 */
#ifndef TN_RUNTIME_H
#define TN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes: 0 on success, negative on invalid arguments (nothing written). */
typedef enum {
    TN_OK = 0,
    TN_ERR_ARG = -1,   /* NULL pointer, non-positive size, bad stride/kernel */
    TN_ERR_SHAPE = -2  /* output shape inconsistent with input/kernel/padding/stride */
} tn_status_t;

/* Parameters shared by conv2d, pointwise and depthwise. */
typedef struct {
    int32_t h_in, w_in, c_in;
    int32_t h_out, w_out, c_out;       /* depthwise: c_out == c_in */
    int32_t kh, kw;                    /* pointwise: 1, 1 */
    int32_t stride_h, stride_w;        /* >= 1 */
    int32_t pad_top, pad_left, pad_bottom, pad_right; /* >= 0; pointwise: all 0 */
    int32_t input_zero_point;          /* [-128, 127] */
    int32_t output_zero_point;         /* [-128, 127] */
    int32_t act_min, act_max;          /* clamp range in the output domain */
    const int32_t *out_multiplier;     /* [c_out] Q31 multipliers */
    const int32_t *out_shift;          /* [c_out] shifts, > 0 = left */
} tn_conv_params_t;

/* ---- scratch sizes ------------------------------------------------------ */
/* Every kernel has a tn_<kernel>_scratch_bytes(<its arguments>): the bytes of
 * scratch that one call with exactly these parameters needs (0: no scratch).
 * They are the one formula: the memory planner (estimators/memory_plan.cpp,
 * layer_scratch_bytes) must give each layer as much, which
 * tests/estimators/scratch_bytes_test.cpp checks for every kernel and many
 * shapes, running each kernel inside guard bytes. NULL parameters -> 0. */

/* ---- k x k convolution, groups = 1 ------------------------------------- */
/* Scratch: q15 im2col of two output pixels = 2*kh*kw*c_in*sizeof(int16_t) bytes,
 * 8-byte aligned (TN_ERR_ARG otherwise, see "Alignment" above). */
size_t tn_conv2d_scratch_bytes(int32_t k, int32_t c_in);
/* Same for a non-square kernel. */
size_t tn_conv2d_scratch_bytes_hw(int32_t kh, int32_t kw, int32_t c_in);
size_t tn_conv2d_s8_scratch_bytes(const tn_conv_params_t *p); /* = _hw(kh, kw, c_in) */
/* input [h_in][w_in][c_in], weights OHWI, bias [c_out] (may be NULL = 0),
 * output [h_out][w_out][c_out]; scratch as above (may be NULL on builds
 * without the DSP path, but pass it anyway for portability). */
int tn_conv2d_s8(const tn_conv_params_t *p, const int8_t *input, const int8_t *weights,
                 const int32_t *bias, int8_t *output, int16_t *scratch);

/* ---- 1 x 1 convolution (any stride, no padding) ------------------------- */
/* Scratch: 2*c_in*sizeof(int16_t) bytes, 8-byte aligned (TN_ERR_ARG otherwise). */
size_t tn_pointwise_scratch_bytes(int32_t c_in);
size_t tn_pointwise_s8_scratch_bytes(const tn_conv_params_t *p); /* = (c_in) */
int tn_pointwise_s8(const tn_conv_params_t *p, const int8_t *input, const int8_t *weights,
                    const int32_t *bias, int8_t *output, int16_t *scratch);

/* ---- depthwise k x k, channel multiplier 1, may run in place ------------- */
/* Scratch: one input channel plane PADDED by k/2 on every side, plus 4 bytes
 * of slack for the 4-byte reads of its last row:
 *     tn_depthwise_scratch_bytes_k(h_in, w_in, kh, kw)
 *       = (h_in + 2*(kh/2)) * (w_in + 2*(kw/2)) + 4   bytes.
 * This is what tn_depthwise_s8 needs (any pads; pads > k/2 take a slower path
 * that uses only h_in*w_in of it). tn_depthwise_scratch_bytes(h_in, w_in) =
 * h_in*w_in is the unpadded minimum, kept for reference: it is NOT enough for
 * tn_depthwise_s8 any more. */
size_t tn_depthwise_scratch_bytes_k(int32_t h_in, int32_t w_in, int32_t kh, int32_t kw);
size_t tn_depthwise_scratch_bytes(int32_t h_in, int32_t w_in);
/* = tn_depthwise_scratch_bytes_k(h_in, w_in, kh, kw), whatever the pads. */
size_t tn_depthwise_s8_scratch_bytes(const tn_conv_params_t *p);
/* output may equal input (same base pointer; the planner must give the tensor
 * max(h_in*w_in, h_out*w_out)*c bytes) or be disjoint from it; a partial
 * overlap is not supported. c_out must equal c_in. */
int tn_depthwise_s8(const tn_conv_params_t *p, const int8_t *input, const int8_t *weights,
                    const int32_t *bias, int8_t *output, int8_t *scratch);

/* ---- elementwise add (TF-Lite int8 ADD arithmetic) ----------------------- */
/* Both inputs are shifted left by left_shift (20 in TF-Lite), rescaled to a
 * common scale 2*max(s1,s2) by (input*_multiplier, input*_shift), summed, and
 * rescaled to the output by (output_multiplier, output_shift):
 *   in_mult_i  ~ s_i / (2*max(s1,s2))                 (shift <= 0)
 *   out_mult   ~ 2*max(s1,s2) / (2^left_shift * s_out)
 * tn_add_params_from_scales() computes them the way TF-Lite does. */
typedef struct {
    int32_t input1_zero_point, input2_zero_point, output_zero_point;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} tn_add_params_t;
/* output may equal input1 and/or input2 (elementwise, index by index).
 * Scratch: none (a 256-byte block on the stack). */
size_t tn_add_s8_scratch_bytes(const tn_add_params_t *p, int32_t size);
int tn_add_s8(const tn_add_params_t *p, const int8_t *input1, const int8_t *input2,
              int8_t *output, int32_t size);

/* ---- global average pool HWC -> C ---------------------------------------- */
/* TF-Lite's int8 AVERAGE_POOL_2D arithmetic: the output has the SAME scale and
 * zero point as the input (as TF-Lite requires for int8 average pooling), so
 * no requantisation: y = clamp(round_half_away(sum / count), act_min, act_max)
 * with sum over the raw int8 values and round_half_away(s/n) =
 * (s > 0 ? s + n/2 : s - n/2) / n (C division). Scratch: none. */
size_t tn_avgpool_global_s8_scratch_bytes(int32_t h, int32_t w, int32_t c);
int tn_avgpool_global_s8(const int8_t *input, int32_t h, int32_t w, int32_t c,
                         int32_t act_min, int32_t act_max, int8_t *output);

/* ---- softmax --------------------------------------------------------------- */
/* TF-Lite's int8 SOFTMAX (reference_ops::Softmax, gemmlowp fixed point): per row
 * of `depth` values, d = x - max(row) rescaled to Q5.26 by (input_multiplier,
 * input_left_shift) from beta * input_scale, exp(d) in Q0.31, their sum in
 * Q12.19, its reciprocal, and y = exp(d) / sum as int8 at scale 1/256, zero
 * point -128 (the only output quantisation TF-Lite allows); d < diff_min
 * gives -128. tn_softmax_params_from_scale() computes the parameters as
 * TF-Lite's Prepare does. Scratch: none. */
typedef struct {
    int32_t input_multiplier, input_left_shift, diff_min;
} tn_softmax_params_t;
int tn_softmax_params_from_scale(double beta, double input_scale, tn_softmax_params_t *p);
size_t tn_softmax_s8_scratch_bytes(int32_t rows, int32_t depth);
int tn_softmax_s8(const tn_softmax_params_t *p, const int8_t *input, int32_t rows, int32_t depth,
                  int8_t *output);

/* ---- fully connected ------------------------------------------------------ */
typedef struct {
    int32_t in_features, out_features;
    int32_t input_zero_point, output_zero_point;
    int32_t act_min, act_max;
    const int32_t *out_multiplier;     /* [out] if per_channel, else [1] */
    const int32_t *out_shift;          /* idem */
    int32_t per_channel;               /* 0: per-tensor requantisation */
} tn_fc_params_t;
/* input [in], weights [out][in], bias [out] (may be NULL), output [out].
 * Scratch: none. */
size_t tn_fully_connected_s8_scratch_bytes(const tn_fc_params_t *p);
int tn_fully_connected_s8(const tn_fc_params_t *p, const int8_t *input, const int8_t *weights,
                          const int32_t *bias, int8_t *output);

/* ---- squared reconstruction error (an autoencoder's anomaly score) --------- */
/* Two int8 tensors of `size` values each (any shapes, HWC order): the
 * reconstruction r and the original x. The reconstruction is requantised into
 * the original's units, r' = MBQM(r - recon_zero_point, recon_multiplier,
 * recon_shift) with recon_multiplier * 2^(recon_shift - 31) ~= s_r / s_x (not
 * clamped to int8), and the output is the int32
 *     S = sum_i (r'_i - (x_i - input_zero_point))^2,
 * saturating at INT32_MAX. Its real value: mean((r - x)^2) ~= s_x^2 * S / size
 * (the output's scale s_x^2 / size, zero point 0). S cannot saturate for up to
 * 8256 values on comparable scales (|r' - x| <= 510; tn_mse_s8.c).
 * Zero points in [-128, 127], recon_multiplier >= 0, -31 <= recon_shift <= 22
 * (TN_ERR_ARG otherwise). `output`: one int32_t, 4-byte aligned (the arena's
 * 8-byte offsets are). Scratch: none. */
typedef struct {
    int32_t recon_zero_point;   /* zero point of r (input 1) */
    int32_t input_zero_point;   /* zero point of x (input 2) */
    int32_t recon_multiplier;   /* Q31, s_r / s_x */
    int32_t recon_shift;        /* > 0 = left */
} tn_mse_params_t;
size_t tn_mse_s8_scratch_bytes(const tn_mse_params_t *p, int32_t size);
int tn_mse_s8(const tn_mse_params_t *p, const int8_t *recon, const int8_t *input, int32_t size,
              int32_t *output);

/* ---- patches (MCUNetV2 patch-based inference) ------------------------------ */
/* Copy an h x w x c window between two HWC tensors with the same channel count:
 * src pixel (src_y0 + y, src_x0 + x) -> dst pixel (dst_y0 + y, dst_x0 + x),
 * src_w / dst_w being the row widths (in pixels) of the two tensors. Regions
 * must not overlap. With dst a dense h x w patch (dst_w = w, dst_y0 = dst_x0 = 0)
 * this extracts a patch; with src dense it writes a patch back. */
void tn_copy_patch_s8(const int8_t *src, int32_t src_w, int32_t src_y0, int32_t src_x0,
                      int8_t *dst, int32_t dst_w, int32_t dst_y0, int32_t dst_x0,
                      int32_t h, int32_t w, int32_t c);
/* Crop the window rows [y0, y0+h), cols [x0, x0+w) of a src_h x src_w x c
 * tensor into a dense h x w x c dst; the window may extend past the borders
 * (y0/x0 negative or beyond), where dst is filled with `fill` (the zero point). */
void tn_crop_s8(const int8_t *src, int32_t src_h, int32_t src_w, int32_t c,
                int32_t y0, int32_t x0, int32_t h, int32_t w, int8_t fill, int8_t *dst);

/* ---- camera frames: uint8 pixels -> the int8 input through a table ------- */
/* A window of a camera frame as the camera delivers it: `pixels` points at the
 * window's top-left pixel and `pitch` is the distance in bytes from one row to
 * the next (>= width * bytes per pixel: the window may be part of a larger
 * frame). Pixel formats:
 *   TN_FRAME_GRAY8   1 byte, one channel;
 *   TN_FRAME_RGB888  3 bytes R, G, B;
 *   TN_FRAME_RGB565  a little-endian 16-bit word rrrrrggg gggbbbbb, each field
 *                    widened to 8 bits by repeating its top bits
 *                    (r8 = r5 << 3 | r5 >> 2, g8 = g6 << 2 | g6 >> 4, b8 as r8).
 * `lut` [channels][256] maps byte v of channel c to the int8 input value
 * lut[c*256 + v]; the code generator fills it with the model's input
 * quantisation of the dataset's normalisation:
 *   lut[c][v] = clamp(round(((v/255 - mean_c) / std_c) / input_scale) + input_zero_point, -128, 127).
 * The kernels below read frames through it, so the int8 input tensor never
 * exists. */
typedef enum { TN_FRAME_GRAY8 = 0, TN_FRAME_RGB888 = 1, TN_FRAME_RGB565 = 2 } tn_frame_format_t;
typedef struct {
    const uint8_t *pixels; /* the window's top-left pixel */
    int32_t pitch;         /* bytes from a row to the next */
    int32_t format;        /* tn_frame_format_t */
    const int8_t *lut;     /* [channels][256] */
} tn_frame_t;
/* Channels of a format: 1 (grey), 3 (RGB); 0 for an unknown format. */
int32_t tn_frame_channels(int32_t format);
/* tn_conv2d_s8 with the frame window (h_in x w_in pixels, c_in = the
 * format's channels) as its input: the same outputs as tn_conv2d_s8 on the
 * int8 image lut[c][byte], byte for byte, with the same scratch
 * (tn_conv2d_s8_scratch_bytes) and a window of at most 8 x 8 taps on the
 * stack (TN_ERR_ARG for larger kernels, a NULL frame or table, or a format
 * whose channels are not c_in). */
int tn_conv2d_frame_s8(const tn_conv_params_t *p, const tn_frame_t *frame, const int8_t *weights,
                       const int32_t *bias, int8_t *output, int16_t *scratch);
/* tn_crop_s8 of the int8 image lut[c][byte] of a src_h x src_w frame window:
 * the patch crop of patch-based inference read straight from the camera
 * frame (no int8 copy of the whole image). */
void tn_crop_frame_s8(const tn_frame_t *frame, int32_t src_h, int32_t src_w, int32_t y0, int32_t x0,
                      int32_t h, int32_t w, int8_t fill, int8_t *dst);

/* ---- argmax ----------------------------------------------------------------- */
/* Index of the largest value (first one on ties); -1 if n <= 0. */
int32_t tn_argmax_s8(const int8_t *x, int32_t n);

/* ---- MFCC / log-mel front end (tn_mfcc_s8.c) ------------------------------- */
/* int16 PCM -> int8 features [frames][num_out] (HWC with C = 1, row = frame),
 * frames = 1 + (num_samples - frame_length) / frame_step. Per frame t:
 *   x[n]   = pcm[t*frame_step + n] / 32768, n < frame_length, zero-padded to N;
 *   P[k]   = |sum_n x[n] window[n] e^(-2 pi i k n / N)|^2, k = 0..N/2 (power);
 *   mel[m] = sum_k W[m][k] P[k];   L[m] = ln(mel[m] + log_floor);
 *   c[j]   = sum_m D[j][m] L[m]    (or c = L when dct == NULL: log-mel);
 *   y      = clamp(round(c / output_scale) + output_zero_point, -128, 127),
 * computed in fixed point (Q formats in runtime/README.md); the integer result
 * is the same on every build. The tables are constant data like weights; the
 * host builds them from a config with tn_mfcc_tables_build
 * (runtime/host/tn_mfcc_tables.h, host only). */
typedef struct {
    int32_t frame_length;       /* window length in samples, 1..fft_length */
    int32_t frame_step;         /* hop in samples, >= 1 */
    int32_t fft_length;         /* N: power of two, 8..1024 */
    int32_t num_mel;            /* filterbank channels */
    int32_t num_out;            /* coefficients per frame (<= num_mel); == num_mel without dct */
    const int32_t *window;      /* [frame_length] Q31, 0 <= w < 2^31 */
    const int32_t *twiddle;     /* [N/2][2]: cos, sin of 2 pi k / N in Q31 (1.0 -> INT32_MAX) */
    const int16_t *mel_start;   /* [num_mel] first FFT bin of each filter, in 0..N/2 */
    const int16_t *mel_count;   /* [num_mel] bins of each filter (start + count <= N/2 + 1) */
    const int16_t *mel_weight;  /* the filters' weights one after another, Q15, >= 0 */
    const int16_t *dct;         /* [num_out][num_mel]: D * ln(2) * 2^dct_shift; NULL: log-mel */
    int32_t dct_shift;          /* 0..62 */
    uint64_t log_floor;         /* floor added to mel energies, Q44 (>= 1) */
    int32_t out_multiplier;     /* c (Q16 log2 units, or DCT output) -> output: */
    int32_t out_shift;          /*   MBQM(c, out_multiplier, out_shift) + zero point */
    int32_t output_zero_point;  /* [-128, 127] */
} tn_mfcc_params_t;
/* Scratch: (N/2 + 1) * 8 + num_mel * 4 bytes, 8-byte aligned (TN_ERR_ARG otherwise). */
size_t tn_mfcc_s8_scratch_bytes(const tn_mfcc_params_t *p);
/* Frames produced from num_samples samples (0 if fewer than frame_length). */
int32_t tn_mfcc_num_frames(const tn_mfcc_params_t *p, int32_t num_samples);
/* pcm [num_samples], output [tn_mfcc_num_frames(p, num_samples)][num_out].
 * TN_ERR_ARG on bad parameters/pointers, TN_ERR_SHAPE if num_samples < frame_length. */
int tn_mfcc_s8(const tn_mfcc_params_t *p, const int16_t *pcm, int32_t num_samples, int8_t *output,
               void *scratch);

/* ---- nearest-neighbour upsampling by an integer factor ------------------- */
/* h_in x w_in x c -> (h_in * factor) x (w_in * factor) x c, HWC:
 *   out[y][x][ch] = in[y / factor][x / factor][ch]
 * (TF-Lite's RESIZE_NEAREST_NEIGHBOR, align_corners and half_pixel_centers
 * false, on an exact integer factor). A copy: the output keeps the input's
 * scale and zero point. factor >= 1, the output at most INT32_MAX bytes
 * (TN_ERR_ARG otherwise). output may equal input (in place: the buffer holds
 * the output's bytes); otherwise they must not overlap. Scratch: none. */
typedef struct {
    int32_t h_in, w_in, c;
    int32_t factor;
} tn_upsample_params_t;
size_t tn_upsample_s8_scratch_bytes(const tn_upsample_params_t *p);
int tn_upsample_s8(const tn_upsample_params_t *p, const int8_t *input, int8_t *output);

/* ---- quantisation helpers ----------------------------------------------------- */
/* TF-Lite QuantizeMultiplier: real = m * 2^(shift-31), m in [2^30, 2^31) (Q31),
 * rounded half away from zero; real == 0 -> (0, 0); real < 0 -> TN_ERR_ARG.
 * Shifts below -31 flush to (0, 0); above 30 saturate to (INT32_MAX, 30).
 * No libm. Host-side code (the quantiser) can call this to stay bit-exact. */
int tn_quantize_multiplier(double real, int32_t *multiplier, int32_t *shift);
/* Fill an ADD's multipliers from real scales, exactly as TF-Lite's Prepare. */
int tn_add_params_from_scales(double s1, int32_t zp1, double s2, int32_t zp2,
                              double s_out, int32_t zp_out, int32_t act_min, int32_t act_max,
                              tn_add_params_t *p);
/* Requantise one int32 accumulator (exposed for tests and the reference sim). */
int32_t tn_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift);
int32_t tn_saturating_rounding_doubling_high_mul(int32_t a, int32_t b);
int32_t tn_rounding_divide_by_pot(int32_t x, int32_t exponent);

#ifdef __cplusplus
}
#endif

#endif /* TN_RUNTIME_H */
