// Post-training int8 quantisation to the TF-Lite int8 specification, and the C++ reference
// simulation of exactly that arithmetic (whose one copy is the runtime's C, runtime/tn_quant.c,
// called by the operators' descriptors in ops/). Per-channel symmetric weights in
// [-127, 127], asymmetric per-tensor activations from calibration ranges, int32 bias with
// scale = input scale × weight scale, Q31 multiplier + shift requantisation. Global average
// pooling keeps its input's scale and zero point (as TF-Lite Micro requires).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "nas/export/float_model.h"

namespace tinynas {

// Asymmetric int8 parameters covering [min, max] (widened to include 0).
QuantParams choose_quant_params(float min, float max);

// TF-Lite's clamp of an activation bounded to [lo, hi] on an int8 output (its
// CalculateActivationRangeQuantized): zero point + round(bound / scale), within [-128, 127]; an
// infinite bound is the int8 limit. ReLU6 is [0, 6], ReLU [0, inf), none (-inf, inf).
struct ActivationRange {
  int32_t min = -128, max = 127;
  bool operator==(const ActivationRange& o) const { return min == o.min && max == o.max; }
};
ActivationRange activation_range(float lo, float hi, const QuantParams& out);

// Running min/max of every tensor over calibration images.
class RangeObserver {
 public:
  explicit RangeObserver(const NetGraph& graph);
  void observe(const std::vector<std::vector<float>>& tensors);
  const std::vector<std::pair<float, float>>& ranges() const { return ranges_; }

 private:
  std::vector<std::pair<float, float>> ranges_;
};

struct Int8Model {
  NetGraph graph;
  std::vector<QuantParams> tensor_quant;  // per graph tensor
  std::vector<Int8Layer> layers;          // per graph layer

  static Int8Model quantize(const FloatModel& model,
                            const std::vector<std::pair<float, float>>& ranges);

  // The input tensor's bytes: int8 pixels, or a front end's int16 samples.
  std::vector<int8_t> quantize_input(const std::vector<float>& image) const;
  // Runs the int8 reference; returns every tensor's bytes (tensors[graph.output] holds the
  // logits, or an int32 result's 4 bytes per value in native order: TensorInfo::bytes()).
  std::vector<std::vector<int8_t>> run_all(const std::vector<int8_t>& input) const;
  std::vector<int8_t> run(const std::vector<int8_t>& input) const;
  // The output's values from run()'s bytes: int8 logits or int32 (an autoencoder's error score),
  // and their real values scale * (v - zero_point). Throws std::invalid_argument for a size
  // that is not the output tensor's.
  std::vector<int32_t> output_values(const std::vector<int8_t>& output) const;
  std::vector<double> real_output(const std::vector<int8_t>& output) const;
};

int argmax(const std::vector<int8_t>& v);
int argmax(const std::vector<float>& v);

}  // namespace tinynas
