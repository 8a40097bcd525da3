// An operator kind's one home. Everything the project knows of an operator (conv, pointwise,
// depthwise, add, avgpool, fc, ...) is its OpDescriptor, one file under ops/kinds/: its name,
// shape rule, MACs and parameters, the runtime's scratch bytes, its in-place and patch rules,
// which latency features identify it, its default code size, and its numerics (fold batch norm,
// float and int8 reference, quantise, emit the C call of its runtime/tn_<op>_s8.c kernel).
// Stages ask the descriptor instead of switching on a kind: lowering (search_spaces/), the
// memory plan, flash and latency (estimators/), the quantiser and code generator (nas/).
//
// Registration is by file: ops/CMakeLists.txt lists ops/kinds/*.cpp and generates the registry,
// so a new operator is a new file defining `const OpDescriptor& op_<name>()` (docs/extending.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ops/emit.h"
#include "ops/layer.h"
#include "ops/layer_weights.h"
#include "ops/numerics.h"

namespace tinynas {

// How a layer runs on a spatial patch (MCUNetV2 patch-based inference):
//   Spatial     - a k x k window with stride and zero padding: a patch of the output reads a
//                 patch of the input grown by the receptive field (conv, depthwise, pointwise);
//   Elementwise - output pixel (y, x) reads input pixel (y, x) of every input (add);
//   Global      - every output reads the whole input: never in a patch stage (pool, fc).
enum class PatchRule { Spatial, Elementwise, Global };

// The latency model's features (estimators/latency.h): cycles = sum of coefficient x feature.
enum LatencyFeature { kMacs, kInputBytes, kOutputBytes, kWeightBytes, kFixed, kNumLatencyFeatures };
const char* latency_feature_name(int feature);  // the calibration files' keys

// The plain facts of a kind, read in the planner's and the estimators' hot loops (so data, not
// virtual calls).
struct OpTraits {
  // The name in configs, calibration files and the runtime profiler's CSV ("conv", "fc", ...).
  const char* name = "";
  int num_inputs = 1;
  // In place: the output may overwrite an input that this layer is the last reader of (the
  // planner tries the inputs in order). An in-place pair is one buffer of max(input, output).
  bool in_place = false;
  PatchRule patch_rule = PatchRule::Spatial;
  bool has_weights = false;  // int8 weights and int32 biases (batch norm folded)
  // Bytes per element of its input: 1 (int8 activations); 2 for a front end, which takes the
  // device's raw int16 samples (1 x samples x 1) and makes the network's int8 input.
  int input_element_bytes = 1;
  // Bytes per element of its output: 1 (int8 activations); 4 for an int32 result (the anomaly
  // score of a reconstruction error layer).
  int output_element_bytes = 1;
};

class OpDescriptor {
 public:
  explicit OpDescriptor(const OpTraits& traits) : traits_(traits) {}
  virtual ~OpDescriptor() = default;

  // ---- identity
  const char* name() const { return traits_.name; }
  // Index in the registry (all_ops()): arrays per operator kind are indexed by it.
  int id() const { return id_; }

  // ---- graph
  int num_inputs() const { return traits_.num_inputs; }
  // Fills l->out, l->macs, l->weights and l->biases from l->in, the kh x kw kernel, the stride and
  // the four pads (Layer::set_window: the padding rule of ops/layer.h) for `out_channels` output
  // channels (ignored by operators that keep their input's).
  virtual void infer(Layer* l, int out_channels) const = 0;
  // The runtime kernel's scratch buffer for a kh x kw kernel on an input of h_in x w_in x c_in
  // (unaligned bytes; 0 = none): the runtime's own size function, so the planner and the kernel
  // share one formula.
  virtual int64_t scratch_bytes(int kh, int kw, int h_in, int w_in, int c_in) const;
  bool in_place() const { return traits_.in_place; }
  PatchRule patch_rule() const { return traits_.patch_rule; }

  // ---- latency and flash
  // The features identifiable for this kind (collinear ones are left out of its fit).
  virtual bool latency_feature_used(int feature) const = 0;
  // int8 weight bytes of a profiled layer (kh x kw kernel, c_in -> c_out).
  virtual int64_t weight_bytes(int kh, int kw, int c_in, int c_out) const;
  // Flash of code until an MCU's code_size: measures it: per layer (its call and parameter
  // block) and once per model using the kind (its kernel).
  virtual int64_t default_code_per_layer() const = 0;
  virtual int64_t default_kernel_code() const = 0;

  // ---- numerics
  bool has_weights() const { return traits_.has_weights; }
  bool is_front_end() const { return traits_.input_element_bytes > 1; }
  int input_element_bytes() const { return traits_.input_element_bytes; }
  int output_element_bytes() const { return traits_.output_element_bytes; }
  // Trained weights (OIHW, + batch norm) -> folded weights in the runtime's layout. Throws
  // std::invalid_argument naming the layer when the sizes do not match it.
  virtual FloatLayer fold(const Layer& l, const LayerWeights& trained) const;
  // Float reference of one layer on HWC tensors (ReLU6 is applied by the caller).
  virtual void run_float(const Layer& l, const FloatLayer& f, const float* const in[2],
                         float* out) const = 0;
  // int8 constants of the layer. `q` arrives with act_min/act_max set from the layer's
  // activation; `out` may be replaced by operators whose output keeps the input's parameters.
  virtual void quantize(const Layer& l, const FloatLayer& f, const QuantParams in[2],
                        QuantParams* out, Int8Layer* q) const = 0;
  // int8 reference: exactly the runtime kernel's arithmetic.
  virtual void run_int8(const Layer& l, const Int8Layer& q, const QuantParams in[2],
                        const QuantParams& out, const int8_t* const x[2], int8_t* y) const = 0;

  // ---- interchange
  // The TensorFlow Lite builtin operator (schema's BuiltinOperator) that computes this kind's
  // arithmetic, as nas/export/tflite_write.cpp writes it and maps it back; -1 = none (a front end: TFLite has no
  // MFCC operator). Several kinds may share one (conv and pointwise are CONV_2D).
  virtual int tflite_builtin() const { return -1; }

  // ---- C
  // File-scope constants (weights, biases, requantisation tables, parameter blocks).
  virtual void emit_constants(EmitContext& c, int i, const Layer& l, const Int8Layer& q) const;
  // The statement(s) running layer i layer by layer: "  rc = tn_..._s8(...);\n" into body(), and
  // any parameter block it needs into data(). `in` / `out`: C expressions of the tensors.
  virtual void emit_call(EmitContext& c, int i, const Layer& l, const Int8Layer& q,
                         const std::string in[2], const std::string& out) const = 0;
  // In a patch stage: its constants (after the generator's per-patch geometry array g<i>) and the
  // per-patch block that reads `g` (this patch's 8 geometry values: for Spatial operators
  // h_in, w_in, h_out, w_out, pad top/left/bottom/right; for Elementwise h, w and per input the
  // row/column offset and row width of its stored region), `slot` and `rc`.
  virtual void emit_patch_constants(EmitContext& c, int i, const Layer& l,
                                    const Int8Layer& q) const;
  virtual void emit_patch_call(EmitContext& c, int i, const Layer& l, const std::string in[2],
                               const std::string& out) const;

 private:
  friend const std::vector<const OpDescriptor*>& all_ops();
  OpTraits traits_;
  int id_ = -1;
};

// The registry: every operator kind of ops/kinds/, in file-name order.
const std::vector<const OpDescriptor*>& all_ops();
inline int num_ops() { return static_cast<int>(all_ops().size()); }
// nullptr for an unknown name.
const OpDescriptor* find_op(std::string_view name);
// Throws std::invalid_argument for an unknown name (a programming error; config readers use
// find_op and report the key).
const OpDescriptor& op(std::string_view name);
// "add, avgpool, conv, ..." for error messages.
std::string op_names();

}  // namespace tinynas
