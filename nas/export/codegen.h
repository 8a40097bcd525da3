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
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "estimators/memory_plan.h"
#include "nas/export/int8_model.h"

namespace tinynas {

struct GeneratedC {
  std::string header;  // model.h
  std::string source;  // model.c
  int64_t arena_bytes = 0;
  int64_t const_bytes = 0;  // weight, bias, requantisation and patch-table arrays
};

// Throws std::invalid_argument if the plan does not belong to the model's graph, or keeps the
// image outside the arena but runs a layer in place over it.
// `labels`: the classes' names (empty: none), emitted as `tinynas_labels[TINYNAS_NUM_LABELS]`.
GeneratedC generate_model_c(const Int8Model& model, const MemoryPlan& plan,
                            const std::vector<std::string>& labels = {});

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
GeneratedTest generate_test_program(const Int8Model& model,
                                    const std::vector<std::vector<int8_t>>& inputs,
                                    const std::vector<std::vector<int8_t>>& expected,
                                    bool print_labels = false);

}  // namespace tinynas
