// TensorFlow Lite's model format, in and out. tinynas's int8 arithmetic is TF-Lite's int8
// specification already (nas/export/int8_model.h), so an Int8Model and an int8 .tflite say the
// same thing: per-tensor asymmetric int8 activations, per-channel symmetric int8 weights
// (quantized_dimension 0 for CONV_2D and FULLY_CONNECTED, 3 for DEPTHWISE_CONV_2D), int32 biases
// at input scale x weight scale, and the fused activation as the output's clamp.
//
// Written (write_tflite): CONV_2D (a pointwise layer too), DEPTHWISE_CONV_2D, ADD,
// AVERAGE_POOL_2D (global), FULLY_CONNECTED, SOFTMAX. TFLite pads only SAME or VALID, so a layer
// whose pads are neither (PyTorch's symmetric pad of a stride-2 convolution on an even input) is
// written as PAD + VALID, as PyTorch-to-TFLite converters do. A patch schedule is tinynas's way
// of running the graph, not a change of the graph: the plain graph is written. A front end (MFCC)
// is not a TFLite operator: the network is written from its output on, and the report says so.
//
// Read (read_tflite): int8 models of those operators (and PAD before a convolution, RESHAPE as
// the view it is), one subgraph, one input and one output. Anything else is a ConfigError naming
// the file, the operator and its index, and what is supported; float models are refused with
// what to do instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nas/export/int8_model.h"

namespace tinynas {

struct ImportedTflite {
  Int8Model model;
  std::string origin;                     // the file (for messages)
  std::string description;                // Model.description
  std::vector<std::string> tensor_names;  // per graph tensor: the TFLite tensor's name
  std::vector<int> layer_operator;        // per graph layer: the TFLite operator's index
  int operators = 0;                      // in the file, PAD and RESHAPE included
  int folded_pads = 0;                    // PAD operators folded into the convolution after them
  int reshapes = 0;                       // RESHAPE operators read as views
  // TF-Lite's builtin operators of the file, one entry per kind used: "CONV_2D", ...
  std::vector<std::string> operator_kinds;
  // The file's activation tensors as TF-Lite Micro plans them: every tensor without data, PAD
  // and RESHAPE outputs included, live from the operator that writes it (0 for the input) to
  // the last that reads it (the last operator for the output).
  struct Lifetime {
    int64_t bytes = 0;
    int first = 0, last = 0;
  };
  std::vector<Lifetime> tflm_tensors;
};

// TF-Lite Micro's GreedyMemoryPlanner on those lifetimes: sizes rounded up to its 16-byte
// alignment, placed largest first, each at the lowest offset clear of the already placed buffers
// live at the same time. Its arena of activations (TFLM's persistent allocations - tensor
// structs, operator data - come on top and are not counted).
int64_t tflm_greedy_arena_bytes(const std::vector<ImportedTflite::Lifetime>& tensors);

// Throws ConfigError (bad or unsupported input) naming `origin`.
ImportedTflite parse_tflite(const std::vector<uint8_t>& bytes, const std::string& origin);
ImportedTflite read_tflite(const std::string& path);

struct TfliteWriteOptions {
  std::string description = "tinynas";
};

struct TfliteWritten {
  std::vector<uint8_t> bytes;
  int pads = 0;             // PAD operators written before convolutions
  bool front_end_skipped = false;  // the model's front end was left out (its output is the input)
};

// Throws std::invalid_argument for a layer TFLite cannot express (with its name).
TfliteWritten tflite_bytes(const Int8Model& model, const TfliteWriteOptions& opt = {});
// Atomically (temporary file + rename).
TfliteWritten write_tflite(const Int8Model& model, const std::string& path,
                           const TfliteWriteOptions& opt = {});

// The clamp TF-Lite derives from a fused activation ("NONE", "RELU", "RELU6", "RELU_N1_TO_1") and
// the output's quantisation; nullopt for another name.
std::optional<ActivationRange> fused_activation_range(const std::string& name, const QuantParams& out);
// The fused activation whose clamp is [act_min, act_max] (NONE first, then RELU6, RELU,
// RELU_N1_TO_1), or "" if none gives it.
std::string fused_activation_for(int32_t act_min, int32_t act_max, const QuantParams& out);

}  // namespace tinynas
