#include "nas/int8_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "runtime/tn_runtime.h"

namespace tinynas {

namespace {

// The runtime's TF-Lite QuantizeMultiplier (one copy of the arithmetic: runtime/tn_quant.c).
void quantize_multiplier(double real, int32_t* multiplier, int32_t* shift) {
  if (tn_quantize_multiplier(real, multiplier, shift) != TN_OK) {
    throw std::invalid_argument("cannot quantise the multiplier " + std::to_string(real));
  }
}

}  // namespace

int8_t QuantParams::quantize(float x) const {
  const long q = std::lround(x / scale) + zero_point;
  return static_cast<int8_t>(std::clamp<long>(q, -128, 127));
}

QuantParams choose_quant_params(float min, float max) {
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  QuantParams q;
  q.scale = max > min ? (max - min) / 255.0f : 1.0f;
  const long zp = std::lround(-128.0 - static_cast<double>(min) / q.scale);
  q.zero_point = static_cast<int32_t>(std::clamp<long>(zp, -128, 127));
  return q;
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
    Int8Layer& q = m.layers[i];
    const QuantParams in = m.tensor_quant[l.inputs[0]];
    if (l.kind == OpKind::AvgPool) {
      m.tensor_quant[l.output] = in;  // same scale in and out
      continue;
    }
    const QuantParams out = m.tensor_quant[l.output];
    if (l.relu6) {
      q.act_min = std::max<int32_t>(-128, out.zero_point);
      q.act_max = std::min<int32_t>(127, out.zero_point + static_cast<int32_t>(std::lround(6.0f / out.scale)));
    }
    if (l.kind == OpKind::Add) {
      const QuantParams in2 = m.tensor_quant[l.inputs[1]];
      const double twice_max = 2.0 * std::max(in.scale, in2.scale);
      quantize_multiplier(in.scale / twice_max, &q.input1_multiplier, &q.input1_shift);
      quantize_multiplier(in2.scale / twice_max, &q.input2_multiplier, &q.input2_shift);
      quantize_multiplier(twice_max / ((1 << q.left_shift) * static_cast<double>(out.scale)),
                          &q.output_multiplier, &q.output_shift);
      continue;
    }
    const FloatLayer& f = model.layers[i];
    const int cout = l.out.c;
    const std::size_t per_channel = f.weight.size() / cout;
    q.weight.resize(f.weight.size());
    q.bias.resize(cout);
    q.weight_scale.resize(cout);
    q.multiplier.resize(cout);
    q.shift.resize(cout);
    for (int o = 0; o < cout; ++o) {
      // Depthwise weights are [kh][kw][c]: channel o is strided; the others are contiguous.
      auto index = [&](std::size_t j) {
        return l.kind == OpKind::Depthwise ? j * cout + o : o * per_channel + j;
      };
      float absmax = 0;
      for (std::size_t j = 0; j < per_channel; ++j) absmax = std::max(absmax, std::abs(f.weight[index(j)]));
      const float ws = absmax > 0 ? absmax / 127.0f : 1.0f;
      q.weight_scale[o] = ws;
      for (std::size_t j = 0; j < per_channel; ++j) {
        const long v = std::lround(f.weight[index(j)] / ws);
        q.weight[index(j)] = static_cast<int8_t>(std::clamp<long>(v, -127, 127));
      }
      const double bias_scale = static_cast<double>(in.scale) * ws;
      q.bias[o] = static_cast<int32_t>(std::clamp<double>(std::round(f.bias[o] / bias_scale),
                                                          std::numeric_limits<int32_t>::min(),
                                                          std::numeric_limits<int32_t>::max()));
      quantize_multiplier(bias_scale / out.scale, &q.multiplier[o], &q.shift[o]);
    }
  }
  return m;
}

std::vector<int8_t> Int8Model::quantize_input(const std::vector<float>& image) const {
  std::vector<int8_t> q(image.size());
  const QuantParams p = tensor_quant[graph.input];
  for (std::size_t i = 0; i < image.size(); ++i) q[i] = p.quantize(image[i]);
  return q;
}

namespace {

int8_t finish(int32_t acc, const Int8Layer& q, int o, int32_t out_zp) {
  acc = tn_multiply_by_quantized_multiplier(acc, q.multiplier[o], q.shift[o]) + out_zp;
  return static_cast<int8_t>(std::clamp(acc, q.act_min, q.act_max));
}

void conv(const Layer& l, const Int8Layer& q, int32_t in_zp, int32_t out_zp, const int8_t* in,
          int8_t* out) {
  const int k = l.kernel, s = l.stride, p = l.pad, cin = l.in.c, cout = l.out.c;
  const bool dw = l.kind == OpKind::Depthwise;
  std::vector<int32_t> acc(cout);
  for (int oy = 0; oy < l.out.h; ++oy) {
    for (int ox = 0; ox < l.out.w; ++ox) {
      std::copy(q.bias.begin(), q.bias.end(), acc.begin());
      for (int ky = 0; ky < k; ++ky) {
        const int iy = oy * s - p + ky;
        if (iy < 0 || iy >= l.in.h) continue;  // padding is the zero point: contributes 0
        for (int kx = 0; kx < k; ++kx) {
          const int ix = ox * s - p + kx;
          if (ix < 0 || ix >= l.in.w) continue;
          const int8_t* x = in + (static_cast<std::size_t>(iy) * l.in.w + ix) * cin;
          if (dw) {
            const int8_t* w = q.weight.data() + (static_cast<std::size_t>(ky) * k + kx) * cout;
            for (int c = 0; c < cout; ++c) acc[c] += (x[c] - in_zp) * w[c];
          } else {
            for (int c = 0; c < cout; ++c) {
              const int8_t* w = q.weight.data() + ((static_cast<std::size_t>(c) * k + ky) * k + kx) * cin;
              int32_t a = 0;
              for (int ci = 0; ci < cin; ++ci) a += (x[ci] - in_zp) * w[ci];
              acc[c] += a;
            }
          }
        }
      }
      int8_t* o = out + (static_cast<std::size_t>(oy) * l.out.w + ox) * cout;
      for (int c = 0; c < cout; ++c) o[c] = finish(acc[c], q, c, out_zp);
    }
  }
}

}  // namespace

std::vector<std::vector<int8_t>> Int8Model::run_all(const std::vector<int8_t>& input) const {
  std::vector<std::vector<int8_t>> t(graph.tensors.size());
  if (input.size() != static_cast<std::size_t>(graph.tensors[graph.input].bytes())) {
    throw std::invalid_argument("int8 input has the wrong size");
  }
  t[graph.input] = input;
  for (std::size_t i = 0; i < graph.layers.size(); ++i) {
    const Layer& l = graph.layers[i];
    const Int8Layer& q = layers[i];
    const QuantParams qin = tensor_quant[l.inputs[0]], qout = tensor_quant[l.output];
    std::vector<int8_t>& out = t[l.output];
    out.assign(static_cast<std::size_t>(l.out.elements()), 0);
    const std::vector<int8_t>& in = t[l.inputs[0]];
    switch (l.kind) {
      case OpKind::Conv:
      case OpKind::Pointwise:
      case OpKind::Depthwise:
        conv(l, q, qin.zero_point, qout.zero_point, in.data(), out.data());
        break;
      case OpKind::Add: {
        const std::vector<int8_t>& in2 = t[l.inputs[1]];
        const int32_t zp2 = tensor_quant[l.inputs[1]].zero_point;
        for (std::size_t j = 0; j < out.size(); ++j) {
          const int32_t a = (in[j] - qin.zero_point) * (1 << q.left_shift);
          const int32_t b = (in2[j] - zp2) * (1 << q.left_shift);
          const int32_t sa = tn_multiply_by_quantized_multiplier(a, q.input1_multiplier, q.input1_shift);
          const int32_t sb = tn_multiply_by_quantized_multiplier(b, q.input2_multiplier, q.input2_shift);
          const int32_t r =
              tn_multiply_by_quantized_multiplier(sa + sb, q.output_multiplier, q.output_shift) +
              qout.zero_point;
          out[j] = static_cast<int8_t>(std::clamp(r, q.act_min, q.act_max));
        }
        break;
      }
      case OpKind::AvgPool: {
        const int32_t count = l.in.h * l.in.w;
        for (int c = 0; c < l.in.c; ++c) {
          int32_t acc = 0;
          for (int32_t p = 0; p < count; ++p) acc += in[static_cast<std::size_t>(p) * l.in.c + c];
          // TF-Lite's rounding: half away from zero.
          const int32_t avg = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          out[c] = static_cast<int8_t>(std::clamp(avg, -128, 127));
        }
        break;
      }
      case OpKind::FullyConnected: {
        for (int o = 0; o < l.out.c; ++o) {
          int32_t acc = q.bias[o];
          const int8_t* w = q.weight.data() + static_cast<std::size_t>(o) * l.in.c;
          for (int c = 0; c < l.in.c; ++c) acc += (in[c] - qin.zero_point) * w[c];
          out[o] = finish(acc, q, o, qout.zero_point);
        }
        break;
      }
    }
  }
  return t;
}

std::vector<int8_t> Int8Model::run(const std::vector<int8_t>& input) const {
  return run_all(input)[graph.output];
}

int argmax(const std::vector<int8_t>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

int argmax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace tinynas
