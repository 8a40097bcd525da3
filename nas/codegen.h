// The C code generator: an int8 model and its memory plan become model.h / model.c for the
// runtime (runtime/tn_runtime.h): const weights in flash, one static arena laid out exactly as
// the estimators' MemoryPlan says (so the estimated peak SRAM is the arena, byte for byte), and
// the operator schedule, with the patch stage run patch by patch when the plan has one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "estimators/memory_plan.h"
#include "nas/int8_model.h"

namespace tinynas {

struct GeneratedC {
  std::string header;  // model.h
  std::string source;  // model.c
  int64_t arena_bytes = 0;
  int64_t const_bytes = 0;  // weight, bias, requantisation and patch-table arrays
};

// Throws std::invalid_argument if the plan does not belong to the model's graph.
GeneratedC generate_model_c(const Int8Model& model, const MemoryPlan& plan);

// A test program for host and Arm: runs the model on `inputs`, compares the outputs with
// `expected` byte for byte, prints each output as a CSV line ("out,<i>,<v0>,<v1>,...") and a
// summary line "match <k>/<n>", returns 0 only if all match. With TN_PROFILE it also prints the
// per-layer profile CSV.
struct GeneratedTest {
  std::string main_c;       // main.c
  std::string test_data_c;  // test_data.c
};
GeneratedTest generate_test_program(const Int8Model& model,
                                    const std::vector<std::vector<int8_t>>& inputs,
                                    const std::vector<std::vector<int8_t>>& expected);

}  // namespace tinynas
