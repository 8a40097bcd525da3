// The latency model: per operator kind,
//     cycles = a*MACs + b*input bytes + c*output bytes + d*weight bytes + e
// fitted by non-negative least squares (Lawson-Hanson on Eigen) from a measured profile, the CSV
// the runtime's on-device profiler prints (runtime/tn_profile.h):
//     op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles
// one row per layer run (per patch in a patch stage). latency_ms = cycles / (clock_mhz * 1000).
//
// Input bytes are h_in*w_in*c_in (one input; an add's second input has the same shape), output
// bytes h_out*w_out*c_out, weight bytes the int8 weights (the descriptor's weight_bytes). Some
// features are collinear for some kinds, so each kind fits only the identifiable ones, as its
// descriptor (ops/kinds/) says (the rest are 0): conv, pointwise, depthwise: all five; add: input
// bytes, fixed; avgpool: input bytes, output bytes, fixed; fc: all but weight bytes (= MACs).
// The fit minimises the squared *relative* error of each row (rows weighted by 1/cycles), so
// small layers count as much as large ones.
#pragma once

#include <Eigen/Dense>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "search_spaces/config_node.h"
#include "search_spaces/net_graph.h"

namespace tinynas {

struct MemoryPlan;

// The features an operator kind fits (its descriptor's latency_feature_used), counted.
int latency_features_used(const OpDescriptor& op);

using LatencyFeatures = std::array<double, kNumLatencyFeatures>;
inline LatencyFeatures latency_features(int64_t macs, int64_t in_bytes, int64_t out_bytes,
                                        int64_t weight_bytes) {
  return {static_cast<double>(macs), static_cast<double>(in_bytes),
          static_cast<double>(out_bytes), static_cast<double>(weight_bytes), 1.0};
}
struct LatencyModel {
  // [operator id][feature], cycles per unit; calibrated[id] = 0 for kinds the file omits (a
  // calibration need only list the kinds its models use).
  std::vector<LatencyFeatures> coef = std::vector<LatencyFeatures>(num_ops(), LatencyFeatures{});
  std::vector<uint8_t> calibrated = std::vector<uint8_t>(num_ops(), 0);
  std::string origin;  // the file it was loaded from ("" = built in memory)
  std::string mcu, core;
  double clock_mhz = 0;
  std::string source;      // provenance: how the numbers were obtained
  int64_t fitted_rows = 0; // profile rows fitted (0: not from a profile)
  double fit_row_error_pct = -1;      // mean |relative error| per row, % (-1: unknown)
  double fit_network_error_pct = -1;  // |sum predicted - sum measured| / sum measured, %

  bool has(const OpDescriptor& op) const { return calibrated[op.id()] != 0; }
  double cycles(const OpDescriptor& op, const LatencyFeatures& f) const {
    const LatencyFeatures& c = coef[op.id()];
    return c[0] * f[0] + c[1] * f[1] + c[2] * f[2] + c[3] * f[3] + c[4] * f[4];
  }
  double layer_cycles(const Layer& l) const {
    return cycles(*l.op, latency_features(l.macs, l.in.elements() * l.in_element_bytes,
                                          l.out.elements() * l.op->output_element_bytes(),
                                          l.weights));
  }
  // Whole network; with a patch plan (plan->patched) the patch stage is summed over its patches'
  // shapes. Throws ConfigError naming the calibration when a layer's kind is not calibrated.
  double graph_cycles(const NetGraph& g, const MemoryPlan* plan = nullptr) const;
  // Throws ConfigError naming the calibration file and the kind unless `op` is calibrated.
  void require(const OpDescriptor& op) const;
  // The first kind of g's layers that has no coefficients here; nullptr if all have (an imported
  // model may use a kind the MCU's calibration never measured: its latency is then unknown).
  const OpDescriptor* uncalibrated_kind(const NetGraph& g) const;
  double cycles_to_ms(double cycles) const { return cycles / (clock_mhz * 1000.0); }

  static LatencyModel from_config(const ConfigNode& node);
  static LatencyModel load(const std::string& path);
  std::string to_yaml() const;
};

// One row of a measured profile.
struct ProfileRow {
  const OpDescriptor* op = nullptr;
  int kh = 1, kw = 1, stride = 1;
  int h_in = 1, w_in = 1, c_in = 1, h_out = 1, w_out = 1, c_out = 1;
  int64_t macs = 0;
  double cycles = 0;
  int line = 0;  // in the CSV, for messages

  LatencyFeatures features() const {
    return latency_features(macs, int64_t{h_in} * w_in * c_in * op->input_element_bytes(),
                            int64_t{h_out} * w_out * c_out * op->output_element_bytes(),
                            op->weight_bytes(kh, kw, c_in, c_out));
  }
};

extern const char* const kProfileHeader;  // "op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles"

// Throws ConfigError naming the origin, the line and what was expected.
std::vector<ProfileRow> parse_profile_csv(const std::string& text, const std::string& origin);
std::vector<ProfileRow> read_profile_csv(const std::string& path);
std::string profile_csv(const std::vector<ProfileRow>& rows);  // header + rows

// min ||A x - b|| subject to x >= 0 (Lawson & Hanson 1974).
Eigen::VectorXd nnls(const Eigen::MatrixXd& a, const Eigen::VectorXd& b);

struct OpFit {
  int rows = 0;
  bool fitted = false;     // false: no rows; coefficients carried over from `previous`
  double row_error_pct = 0;  // mean |predicted - measured| / measured over its rows, %
  double measured_cycles = 0, predicted_cycles = 0;
};

struct Calibration {
  LatencyModel model;
  std::vector<OpFit> ops = std::vector<OpFit>(num_ops());  // by operator id
  int rows = 0;
  double row_error_pct = 0;      // mean over all rows
  double network_error_pct = 0;  // |sum predicted - sum measured| / sum measured
};

// Fits every kind that has rows. A kind with rows but fewer than its coefficients throws
// ConfigError; a kind without rows keeps `previous`'s coefficients, or stays uncalibrated.
// `origin` names the profile in messages.
Calibration fit_latency_model(const std::vector<ProfileRow>& rows, const std::string& origin,
                              const LatencyModel* previous);

}  // namespace tinynas
