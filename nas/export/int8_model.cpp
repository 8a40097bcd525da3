#include "nas/export/int8_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>


namespace tinynas {

QuantParams choose_quant_params(float min, float max) {
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  QuantParams q;
  q.scale = max > min ? (max - min) / 255.0f : 1.0f;
  const long zp = std::lround(-128.0 - static_cast<double>(min) / q.scale);
  q.zero_point = static_cast<int32_t>(std::clamp<long>(zp, -128, 127));
  return q;
}

ActivationRange activation_range(float lo, float hi, const QuantParams& out) {
  auto quant = [&](float f) { return out.zero_point + static_cast<int32_t>(std::lround(f / out.scale)); };
  ActivationRange r;
  if (std::isfinite(lo)) r.min = std::max<int32_t>(-128, quant(lo));
  if (std::isfinite(hi)) r.max = std::min<int32_t>(127, quant(hi));
  return r;
}

RangeObserver::RangeObserver(const NetGraph& graph)
    : ranges_(graph.tensors.size(), {std::numeric_limits<float>::max(),
                                     std::numeric_limits<float>::lowest()}) {}

void RangeObserver::observe(const std::vector<std::vector<float>>& tensors) {
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    for (float v : tensors[t]) {
      ranges_[t].first = std::min(ranges_[t].first, v);
      ranges_[t].second = std::max(ranges_[t].second, v);
    }
  }
}

Int8Model Int8Model::quantize(const FloatModel& model,
                              const std::vector<std::pair<float, float>>& ranges) {
  const NetGraph& g = model.graph;
  if (ranges.size() != g.tensors.size()) throw std::invalid_argument("one range per tensor needed");
  Int8Model m;
  m.graph = g;
  m.tensor_quant.resize(g.tensors.size());
  for (std::size_t t = 0; t < g.tensors.size(); ++t) {
    if (ranges[t].first > ranges[t].second) {
      throw std::invalid_argument("tensor " + std::to_string(t) + " was never observed");
    }
    m.tensor_quant[t] = choose_quant_params(ranges[t].first, ranges[t].second);
  }
  m.layers.resize(g.layers.size());
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    // The reference, the memory plan and the generated C size tensors by TensorInfo::bytes().
    if (g.tensors[l.output].element_bytes != l.op->output_element_bytes()) {
      throw std::invalid_argument("layer " + l.name() + ": its output tensor has " +
                                  std::to_string(g.tensors[l.output].element_bytes) +
                                  "-byte elements, operator " + l.op->name() + " writes " +
                                  std::to_string(l.op->output_element_bytes()));
    }
    Int8Layer& q = m.layers[i];
    const QuantParams in[2] = {m.tensor_quant[l.inputs[0]],
                               l.inputs[1] >= 0 ? m.tensor_quant[l.inputs[1]] : QuantParams{}};
    QuantParams& out = m.tensor_quant[l.output];
    if (l.relu6) {
      const ActivationRange r = activation_range(0.0f, 6.0f, out);
      q.act_min = r.min;
      q.act_max = r.max;
    }
    l.op->quantize(l, model.layers[i], in, &out, &q);
  }
  return m;
}

std::vector<int8_t> Int8Model::quantize_input(const std::vector<float>& image) const {
  if (graph.tensors[graph.input].element_bytes == 2) {
    // A front end's int16 samples (integers already): their bytes, little-endian as the
    // host and the Cortex-M store them.
    std::vector<int8_t> q(image.size() * 2);
    for (std::size_t i = 0; i < image.size(); ++i) {
      const auto v = static_cast<uint16_t>(static_cast<int16_t>(std::clamp(std::lround(image[i]), -32768L, 32767L)));
      q[2 * i] = static_cast<int8_t>(v & 0xff);
      q[2 * i + 1] = static_cast<int8_t>(v >> 8);
    }
    return q;
  }
  std::vector<int8_t> q(image.size());
  const QuantParams p = tensor_quant[graph.input];
  for (std::size_t i = 0; i < image.size(); ++i) q[i] = p.quantize(image[i]);
  return q;
}

std::vector<std::vector<int8_t>> Int8Model::run_all(const std::vector<int8_t>& input) const {
  std::vector<std::vector<int8_t>> t(graph.tensors.size());
  if (input.size() != static_cast<std::size_t>(graph.tensors[graph.input].bytes())) {
    throw std::invalid_argument("int8 input has the wrong size");
  }
  t[graph.input] = input;
  for (std::size_t i = 0; i < graph.layers.size(); ++i) {
    const Layer& l = graph.layers[i];
    const bool two = l.inputs[1] >= 0;
    const QuantParams qin[2] = {tensor_quant[l.inputs[0]],
                                two ? tensor_quant[l.inputs[1]] : QuantParams{}};
    std::vector<int8_t>& out = t[l.output];
    // Its bytes: int8 activations, or an int32 result (4 bytes, native order).
    out.assign(static_cast<std::size_t>(graph.tensors[l.output].bytes()), 0);
    const int8_t* const in[2] = {t[l.inputs[0]].data(), two ? t[l.inputs[1]].data() : nullptr};
    l.op->run_int8(l, layers[i], qin, tensor_quant[l.output], in, out.data());
  }
  return t;
}

std::vector<int8_t> Int8Model::run(const std::vector<int8_t>& input) const {
  return run_all(input)[graph.output];
}

std::vector<int32_t> Int8Model::output_values(const std::vector<int8_t>& output) const {
  const TensorInfo& t = graph.tensors[graph.output];
  if (output.size() != static_cast<std::size_t>(t.bytes())) {
    throw std::invalid_argument("output of " + std::to_string(output.size()) + " bytes, expected " +
                                std::to_string(t.bytes()));
  }
  std::vector<int32_t> v(static_cast<std::size_t>(t.shape.elements()));
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (t.element_bytes == 4) {
      std::memcpy(&v[i], output.data() + 4 * i, 4);
    } else {
      v[i] = output[i];
    }
  }
  return v;
}

std::vector<double> Int8Model::real_output(const std::vector<int8_t>& output) const {
  const QuantParams& q = tensor_quant[graph.output];
  std::vector<double> r;
  for (int32_t v : output_values(output)) r.push_back(static_cast<double>(q.scale) * (v - q.zero_point));
  return r;
}

int argmax(const std::vector<int8_t>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

int argmax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace tinynas
