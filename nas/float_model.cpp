#include "nas/float_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tinynas {

FloatModel FloatModel::fold(const NetGraph& graph, const std::vector<LayerWeights>& trained) {
  if (trained.size() != graph.layers.size()) {
    throw std::invalid_argument("weights for " + std::to_string(trained.size()) +
                                " layers, graph has " + std::to_string(graph.layers.size()));
  }
  FloatModel m;
  m.graph = graph;
  m.layers.resize(graph.layers.size());
  for (std::size_t i = 0; i < graph.layers.size(); ++i) {
    const Layer& l = graph.layers[i];
    if (l.kind == OpKind::Add || l.kind == OpKind::AvgPool) continue;
    const int cout = l.out.c;
    const int cin = l.kind == OpKind::Depthwise ? 1 : l.in.c;
    const int k = l.kernel;
    const std::size_t expected = static_cast<std::size_t>(cout) * cin * k * k;
    const LayerWeights& t = trained[i];
    if (t.weight.size() != expected || (t.has_bn() && t.bn_gamma.size() != static_cast<std::size_t>(cout)) ||
        (t.has_bn() && (t.bn_beta.size() != t.bn_gamma.size() || t.bn_mean.size() != t.bn_gamma.size() ||
                        t.bn_var.size() != t.bn_gamma.size())) ||
        (!t.bias.empty() && t.bias.size() != static_cast<std::size_t>(cout))) {
      throw std::invalid_argument("layer " + l.name() + ": weights do not match the graph (expected " +
                                  std::to_string(expected) + " weights and " + std::to_string(cout) +
                                  " channels, got " + std::to_string(t.weight.size()) + ")");
    }
    const LayerWeights folded = t.folded();
    FloatLayer& f = m.layers[i];
    f.bias = folded.bias.empty() ? std::vector<float>(cout, 0.0f) : folded.bias;
    f.weight.resize(expected);
    // OIHW -> the runtime's layout.
    for (int o = 0; o < cout; ++o) {
      for (int ci = 0; ci < cin; ++ci) {
        for (int y = 0; y < k; ++y) {
          for (int x = 0; x < k; ++x) {
            const float w = folded.weight[((static_cast<std::size_t>(o) * cin + ci) * k + y) * k + x];
            const std::size_t dst = l.kind == OpKind::Depthwise
                                        ? (static_cast<std::size_t>(y) * k + x) * cout + o
                                        : ((static_cast<std::size_t>(o) * k + y) * k + x) * cin + ci;
            f.weight[dst] = w;
          }
        }
      }
    }
  }
  return m;
}

namespace {

void conv(const Layer& l, const FloatLayer& f, const float* in, float* out) {
  const int k = l.kernel, s = l.stride, p = l.pad;
  const bool dw = l.kind == OpKind::Depthwise;
  const int cin = l.in.c, cout = l.out.c;
  for (int oy = 0; oy < l.out.h; ++oy) {
    for (int ox = 0; ox < l.out.w; ++ox) {
      float* o = out + (static_cast<std::size_t>(oy) * l.out.w + ox) * cout;
      for (int c = 0; c < cout; ++c) o[c] = f.bias[c];
      for (int ky = 0; ky < k; ++ky) {
        const int iy = oy * s - p + ky;
        if (iy < 0 || iy >= l.in.h) continue;
        for (int kx = 0; kx < k; ++kx) {
          const int ix = ox * s - p + kx;
          if (ix < 0 || ix >= l.in.w) continue;
          const float* x = in + (static_cast<std::size_t>(iy) * l.in.w + ix) * cin;
          if (dw) {
            const float* w = f.weight.data() + (static_cast<std::size_t>(ky) * k + kx) * cout;
            for (int c = 0; c < cout; ++c) o[c] += x[c] * w[c];
          } else {
            for (int c = 0; c < cout; ++c) {
              const float* w = f.weight.data() + ((static_cast<std::size_t>(c) * k + ky) * k + kx) * cin;
              float acc = 0;
              for (int ci = 0; ci < cin; ++ci) acc += x[ci] * w[ci];
              o[c] += acc;
            }
          }
        }
      }
      if (l.relu6) {
        for (int c = 0; c < cout; ++c) o[c] = std::min(6.0f, std::max(0.0f, o[c]));
      }
    }
  }
}

}  // namespace

std::vector<std::vector<float>> FloatModel::run_all(const std::vector<float>& input) const {
  std::vector<std::vector<float>> t(graph.tensors.size());
  if (input.size() != static_cast<std::size_t>(graph.tensors[graph.input].bytes())) {
    throw std::invalid_argument("input has " + std::to_string(input.size()) + " values, expected " +
                                std::to_string(graph.tensors[graph.input].bytes()));
  }
  t[graph.input] = input;
  for (std::size_t i = 0; i < graph.layers.size(); ++i) {
    const Layer& l = graph.layers[i];
    std::vector<float>& out = t[l.output];
    out.assign(static_cast<std::size_t>(l.out.elements()), 0.0f);
    const std::vector<float>& in = t[l.inputs[0]];
    switch (l.kind) {
      case OpKind::Conv:
      case OpKind::Pointwise:
      case OpKind::Depthwise:
        conv(l, layers[i], in.data(), out.data());
        break;
      case OpKind::Add: {
        const std::vector<float>& b = t[l.inputs[1]];
        for (std::size_t j = 0; j < out.size(); ++j) out[j] = in[j] + b[j];
        break;
      }
      case OpKind::AvgPool: {
        const int64_t pix = static_cast<int64_t>(l.in.h) * l.in.w;
        for (int64_t p = 0; p < pix; ++p) {
          for (int c = 0; c < l.in.c; ++c) out[c] += in[p * l.in.c + c];
        }
        for (float& v : out) v /= static_cast<float>(pix);
        break;
      }
      case OpKind::FullyConnected: {
        const FloatLayer& f = layers[i];
        for (int o = 0; o < l.out.c; ++o) {
          float acc = f.bias[o];
          for (int c = 0; c < l.in.c; ++c) acc += in[c] * f.weight[static_cast<std::size_t>(o) * l.in.c + c];
          out[o] = acc;
        }
        break;
      }
    }
  }
  return t;
}

std::vector<float> FloatModel::run(const std::vector<float>& input) const {
  return run_all(input)[graph.output];
}

std::vector<float> resize_bilinear(const std::vector<float>& src, int h, int w, int c, int out_h,
                                   int out_w) {
  if (h == out_h && w == out_w) return src;
  std::vector<float> dst(static_cast<std::size_t>(out_h) * out_w * c);
  const float sy = static_cast<float>(h) / out_h, sx = static_cast<float>(w) / out_w;
  for (int oy = 0; oy < out_h; ++oy) {
    const float fy = std::max(0.0f, (oy + 0.5f) * sy - 0.5f);
    const int y0 = std::min(static_cast<int>(fy), h - 1);
    const int y1 = std::min(y0 + 1, h - 1);
    const float ly = fy - y0;
    for (int ox = 0; ox < out_w; ++ox) {
      const float fx = std::max(0.0f, (ox + 0.5f) * sx - 0.5f);
      const int x0 = std::min(static_cast<int>(fx), w - 1);
      const int x1 = std::min(x0 + 1, w - 1);
      const float lx = fx - x0;
      for (int ch = 0; ch < c; ++ch) {
        auto at = [&](int y, int x) { return src[(static_cast<std::size_t>(y) * w + x) * c + ch]; };
        dst[(static_cast<std::size_t>(oy) * out_w + ox) * c + ch] =
            (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) +
            ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
      }
    }
  }
  return dst;
}

}  // namespace tinynas
