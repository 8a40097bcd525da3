// The C code generator: an int8 model and its memory plan become model.h / model.c for the
// runtime (runtime/tn_runtime.h): const weights in flash, one static arena laid out exactly as
// the estimators' MemoryPlan says (so the estimated peak SRAM is the arena, byte for byte), and
// the operator schedule, with the patch stage run patch by patch when the plan has one.
//
// Where the input image lives follows the plan (PlanOptions::input_in_arena, from the config's
// export.input_in_arena):
//  - in the arena (the default): `int8_t *tinynas_input(void)` is where the caller writes the
//    image, then `int tinynas_invoke(void)`; the network may overwrite it.
//  - outside: `int tinynas_invoke(const int8_t *input)` reads the caller's buffer (camera / DMA
//    frame, flash; any alignment) and never writes it: layers read `input` directly, the patch
//    stage crops its patches straight out of it, and the plan runs nothing in place over it.
//    The arena is the plan's size, without the image (MobileNetV2 1.0@224 with 4x4 patches:
//    196.8 KB instead of 305.5 KB).
// model.h says which with TINYNAS_INPUT_IN_ARENA (1 / 0).
//
// Camera frames: given the dataset's pixel normalisation, model.h also declares
// `int tinynas_invoke_frame(const uint8_t *pixels, int32_t pitch, int32_t format)` for a uint8
// frame window as a camera delivers it (grey for a 1-channel model; RGB888 or little-endian
// RGB565 for an RGB one; any row pitch, so a window of a larger frame), quantised on the fly
// through `tinynas_frame_lut` (channels x 256 int8 in flash): the stem convolution reads the
// pixels through it as it gathers its windows (tn_conv2d_frame_s8), the patch stage crops its
// patches through it (tn_crop_frame_s8), so no int8 copy of the image is made; only a model whose
// first layer can do neither (a non-conv reader of the image) converts the frame into its input
// buffer in the arena, and without an arena image and such a layer there is no frame API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "estimators/memory_plan.h"
#include "nas/export/int8_model.h"
#include "supernet/normalization.h"

namespace tinynas {

struct GeneratedC {
  std::string header;  // model.h
  std::string source;  // model.c
  int64_t arena_bytes = 0;
  int64_t const_bytes = 0;  // weight, bias, requantisation, patch-table and frame-table arrays
  bool frame_api = false;   // tinynas_invoke_frame() was generated
};

// The frame table of a model's int8 input: lut[c * 256 + v] = input.quantize((v / 255 - mean_c) /
// std_c), the float computed in double and rounded to float as the stored-image datasets'
// augmentation table does.
std::vector<int8_t> frame_lut(const QuantParams& input, const Normalization& norm, int channels);

// Whether generate_model_c gives this model a frame API (see above): an int8 image of 1 or 3
// channels read by a patch stage, by one conv of at most 8 x 8 taps only, or kept in the arena.
bool frame_api_possible(const Int8Model& model, const MemoryPlan& plan);

// Throws std::invalid_argument if the plan does not belong to the model's graph, or keeps the
// image outside the arena but runs a layer in place over it.
// `labels`: the classes' names (empty: none), emitted as `tinynas_labels[TINYNAS_NUM_LABELS]`.
// `frame_normalization`: the dataset's pixel normalisation; non-null generates the frame API when
// frame_api_possible.
GeneratedC generate_model_c(const Int8Model& model, const MemoryPlan& plan,
                            const std::vector<std::string>& labels = {},
                            const Normalization* frame_normalization = nullptr);

// A test program for host and Arm: runs the model on `inputs`, compares the outputs with
// `expected` byte for byte, prints each output as a CSV line ("out,<i>,<v0>,<v1>,...") and a
// summary line "match <k>/<n>", returns 0 only if all match. With the image outside the arena it
// passes a writable frame buffer and fails at once if the model changed it. With TN_PROFILE it
// also prints the per-layer profile CSV.
struct GeneratedTest {
  std::string main_c;       // main.c
  std::string test_data_c;  // test_data.c
};
// With `print_labels` (a model generated with labels) it also prints "label,<i>,<name>", the
// predicted class of each input: a keyword spotter's output on the device.
// With `frames` (for a model with the frame API: each input's uint8 HWC pixels, inputs[i] being
// their table lookups) it also runs every frame through tinynas_invoke_frame from a window of a
// larger camera frame, in each format the model takes (an RGB model: RGB888 as given and RGB565
// packed from it), checks the logits against the int8 path on the image the table makes of that
// frame (and, for RGB888 / grey, against inputs[i]'s), that the frame is left unchanged, prints
// "frame,<i>,<format>,<v0>,..." and "frames_equal <k>/<n>", and fails unless all are equal.
GeneratedTest generate_test_program(const Int8Model& model,
                                    const std::vector<std::vector<int8_t>>& inputs,
                                    const std::vector<std::vector<int8_t>>& expected,
                                    bool print_labels = false,
                                    const std::vector<std::vector<uint8_t>>& frames = {});

}  // namespace tinynas
