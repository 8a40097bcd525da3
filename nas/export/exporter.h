// The export pipeline: a subnet's float weights -> batch norm folded -> int8 (calibrated on
// training images) -> generated C with the planned arena -> verified on the host (and on QEMU's
// Cortex-M7) -> report.json. Torch-free: the weights and images come in as plain data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "estimators/mcu.h"
#include "search_spaces/arch_spec.h"
#include "supernet/labelled_images.h"
#include "supernet/normalization.h"
#include "ops/layer_weights.h"
#include "nas/export/int8_model.h"

namespace tinynas {

struct ExportOptions {
  std::string out_dir;
  int firmware_images = 16;  // test images embedded in the generated test program
  bool verify_host = true;   // compile the generated C with the host's cc and run it
  // Also the float reference's test accuracy and its agreement with int8 (false: int8 alone, a
  // third faster, where the float figure is known already).
  bool float_accuracy = true;
  bool run_qemu = false;     // build for Cortex-M7, run under QEMU, measure the flash image
  // Also the test split as .npy (export --test-set): test_inputs.npy (the int8 inputs),
  // test_labels.npy and test_outputs.npy (the int8 reference's outputs, which the runtime's are
  // bit for bit), for other tools to run the same inputs (scripts/armnn-compare).
  bool write_test_set = false;
  bool profile = false;      // with run_qemu: time every layer, write profile.csv
  // export.input_in_arena: false plans the arena without the image and generates
  // tinynas_invoke(const int8_t *input) (nas/export/codegen.h).
  bool input_in_arena = true;
  int threads = 0;           // for the accuracy passes; 0 = one per core
  // The task's metric (TaskInfo::metric.name). The export measures float and int8 top-1 on the
  // test split itself; for another metric those fields stay null (the search reports it).
  std::string metric = "top1_accuracy";
  // The task's label names (TaskInfo::class_names): model.c gets tinynas_labels[] and the test
  // program prints each input's predicted label. Empty: none.
  std::vector<std::string> class_names;
  // The dataset's pixel normalisation (Dataset::pixel_normalization): with it, and the test
  // images' uint8 frames (LabelledImages::frames), model.c gets the camera-frame API
  // (nas/export/codegen.h), the firmware's test inputs are those frames (the int8 ones their table
  // lookups) and the test program checks the frame path against the int8 path.
  std::optional<Normalization> normalization;
};

// What was not measured (QEMU not run, no host build, no test images) is empty, and null in
// report.json, never a -1 or false that reads like a result.
struct ExportReport {
  std::string arch;
  std::string metric;  // what the *_test_accuracy fields measure: top1_accuracy
  int64_t macs = 0, executed_macs = 0, params = 0;
  int64_t arena_bytes = 0;                // the generated arena
  bool input_in_arena = true;             // false: the image is the caller's buffer, not in it
  int64_t estimated_peak_sram_bytes = 0;  // the estimators' figure (the same plan)
  int64_t estimated_flash_bytes = 0;
  std::optional<int64_t> flash_bytes;     // measured on the Arm image (run_qemu)
  int64_t const_bytes = 0;                // weights, biases, requantisation tables
  double estimated_latency_ms = 0;
  std::optional<double> float_test_accuracy;
  std::optional<double> int8_test_accuracy;
  int64_t test_images = 0;
  std::optional<double> int8_float_agreement;  // fraction of test images with the same top-1
  int firmware_images = 0;
  std::optional<int> host_matches;             // generated C on the host == C++ reference (images)
  std::optional<int> qemu_matches;             // on the Cortex-M7 (QEMU)
  std::optional<bool> qemu_equals_host;        // QEMU's outputs == the host build's, byte for byte
  // With the frame API: frame-path runs (per image and frame format) whose logits equal the int8
  // path's on the host, out of frame_runs; QEMU's are in qemu_equals_host.
  std::optional<int> frame_matches, frame_runs;
  std::optional<int64_t> frame_api_flash_bytes;  // what calling tinynas_invoke_frame adds (Arm)
  std::optional<int64_t> qemu_instructions;    // profiled: whole network, one image
  // With a front end (e.g. MFCC), the profile split: the front end's layer and the network's.
  std::string front_end;                       // its kind, "" = none
  std::optional<int64_t> qemu_front_end_instructions;
  std::optional<int64_t> qemu_network_instructions;
  std::optional<double> instructions_per_mac;
  // model.tflite (nas/export/tflite_*.cpp): its size, the PAD operators it needed (pads that are neither SAME
  // nor VALID) and whether the front end was left out (TFLite has no MFCC operator).
  std::optional<int64_t> tflite_bytes;
  std::optional<int> tflite_pads;
  std::optional<bool> tflite_front_end_skipped;
  double seconds = 0;

  std::string to_json() const;
};

// Throws ConfigError for bad input (weights that do not match the arch), std::runtime_error
// when a verification step fails to run.
// The same from a quantised model (an imported .tflite): no accuracy pass, the firmware test
// runs `inputs` (their expected outputs are the C++ int8 reference's). `name` is report.json's
// "arch".
ExportReport export_int8_model(const Int8Model& model, const std::string& name, const McuSpec& mcu,
                               const std::vector<std::vector<int8_t>>& inputs, const ExportOptions& options);

ExportReport export_model(const SearchSpace& space, const ArchSpec& arch, const McuSpec& mcu,
                          const std::vector<LayerWeights>& weights, const LabelledImages& calibration,
                          const LabelledImages& test, const ExportOptions& options);

}  // namespace tinynas
