#include "search_spaces/net_graph.h"

#include <cstring>

namespace tinynas {

int64_t NetGraph::macs() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.macs;
  return n;
}

int64_t NetGraph::params() const { return weight_count() + bias_count(); }

int64_t NetGraph::weight_count() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.weights;
  return n;
}

int64_t NetGraph::bias_count() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.biases;
  return n;
}

int NetGraph::patch_stage_end() const {
  if (!patch.enabled()) return 0;
  for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
    if (layers[i].block >= patch.split) return i;
  }
  return static_cast<int>(layers.size());
}

namespace {

// The operators this lowering uses, looked up once (lower() runs in the search's hot loop).
struct Ops {
  const OpDescriptor &conv = op("conv"), &pointwise = op("pointwise"),
                     &depthwise = op("depthwise"), &add = op("add"), &avgpool = op("avgpool"),
                     &fc = op("fc");
};

struct Builder {
  NetGraph* g;

  int add_tensor(Shape s, int producer) {
    TensorInfo t;
    t.shape = s;
    t.producer = producer;
    g->tensors.push_back(t);
    return static_cast<int>(g->tensors.size()) - 1;
  }

  // Appends a layer reading `in` (and `in2` for a two-input operator) and returns its output.
  // A kh x kw window padded by the rule of ops/layer.h; `l` may bring fields no rule sets (a
  // front end's fixed output quantisation).
  int add(const OpDescriptor& op, LayerRole role, int in, int in2, int out_c, int kh, int kw,
          int stride, bool relu6, int stage, int block, Layer l = {}) {
    l.op = &op;
    l.role = role;
    l.inputs[0] = in;
    l.inputs[1] = in2;
    l.in = g->tensors[in].shape;
    l.set_window(kh, kw, stride);
    l.relu6 = relu6;
    l.stage = stage;
    l.block = block;
    op.infer(&l, out_c);
    const int layer_index = static_cast<int>(g->layers.size());
    l.output = add_tensor(l.out, layer_index);
    g->tensors[l.output].element_bytes = op.output_element_bytes();
    g->tensors[in].last_consumer = layer_index;
    if (in2 >= 0) g->tensors[in2].last_consumer = layer_index;
    g->layers.push_back(l);
    return l.output;
  }
};

}  // namespace

void lower(const SearchSpace& space, const ArchSpec& arch, NetGraph* g) {
  g->tensors.clear();
  g->layers.clear();
  g->patch = arch.patch;
  static const Ops ops;
  Builder b{g};
  const double w = arch.width;
  int x;
  if (space.front_end.enabled()) {
    // Raw int16 samples in, the front end's fixed-quantisation features out (the stem's input).
    const OpDescriptor& fe_op = op(space.front_end.kind);
    g->input = b.add_tensor({1, space.front_end.samples, 1}, -1);
    g->tensors[g->input].element_bytes = fe_op.input_element_bytes();
    Layer fe;
    fe.out_scale = static_cast<float>(space.front_end.scale);
    fe.out_zero_point = space.front_end.zero_point;
    x = b.add(fe_op, LayerRole::FrontEnd, g->input, -1, 1, 1, 1, 1, false, -1, -1, fe);
  } else {
    x = g->input = b.add_tensor(space.input_shape(arch.resolution), -1);
  }

  // What a reconstruction output rebuilds: the network's int8 input (the front end's features).
  const int features = x;
  if (space.stem_channels > 0) {
    x = b.add(ops.conv, LayerRole::Stem, x, -1, space.stem_width(w), space.stem_kernel_h,
              space.stem_kernel_w, space.stem_stride, true, -1, -1);
  }
  int block = 0;
  for (std::size_t s = 0; s < arch.stages.size(); ++s) {
    const int out_c = space.stage_width(s, w);
    const int st = static_cast<int>(s);
    if (space.stages[s].block == BlockKind::Dense) {
      // Fully connected + BN + ReLU6, reading its input flattened (fc takes H x W x C values).
      for (const BlockChoice& bc : arch.stages[s]) {
        x = b.add(ops.fc, LayerRole::Dense, x, -1, space.dense_width(s, w, bc.expand), 1, 1, 1,
                  true, st, block++);
      }
      continue;
    }
    if (space.stages[s].upsample > 1 && !arch.stages[s].empty()) {
      // A decoder stage: nearest-neighbour upsampling first (the factor in the stride field).
      static const OpDescriptor& upsample = op("upsample");
      x = b.add(upsample, LayerRole::Upsample, x, -1, 0, 1, 1, space.stages[s].upsample, false, st,
                block);
    }
    for (std::size_t i = 0; i < arch.stages[s].size(); ++i) {
      const BlockChoice& bc = arch.stages[s][i];
      const int stride = i == 0 ? space.stages[s].stride : 1;
      const int in_c = g->tensors[x].shape.c;
      const int hidden = space.hidden_width(in_c, bc.expand);
      // DS-CNN's depthwise-separable block (search_space.h): no expansion (its expand ratio is
      // 1), the pointwise conv activated and no residual. DS-CNN activates with ReLU; here it is
      // ReLU6, as every activation of these networks: the int8 kernels apply an activation as a
      // clamp of the output range, and ReLU6's bounded range keeps the int8 scales tight.
      const bool separable = space.stages[s].block == BlockKind::Separable;
      int y = x;
      if (bc.expand != 1) {
        y = b.add(ops.pointwise, LayerRole::Expand, y, -1, hidden, 1, 1, 1, true, st, block);
      }
      y = b.add(ops.depthwise, LayerRole::Depthwise, y, -1, hidden, bc.kernel, bc.kernel, stride,
                true, st, block);
      y = b.add(ops.pointwise, LayerRole::Project, y, -1, out_c, 1, 1, 1, separable, st, block);
      if (!separable && stride == 1 && in_c == out_c) {
        y = b.add(ops.add, LayerRole::Residual, y, x, out_c, 1, 1, 1, false, st, block);
      }
      x = y;
      ++block;
    }
  }
  g->num_blocks = block;
  if (space.output == OutputKind::Reconstruction) {
    // Looked up here, not in Ops: only autoencoders need it.
    static const OpDescriptor& mse = op("mse");
    const Shape& want = g->tensors[features].shape;
    const int n = static_cast<int>(want.elements());
    if (space.stages.back().block == BlockKind::Dense) {
      x = b.add(ops.fc, LayerRole::Reconstruction, x, -1, n, 1, 1, 1, false, -1, block);
    } else {
      // After convolutional stages: a linear 3x3 convolution to the input's channels.
      x = b.add(ops.conv, LayerRole::Reconstruction, x, -1, want.c, 3, 3, 1, false, -1, block);
    }
    // mse's out_channels is the element count of its second input (a Layer records the first's).
    x = b.add(mse, LayerRole::Error, x, features, n, 1, 1, 1, false, -1, block);
    g->output = x;
    return;
  }
  const int head_c = space.head_width(w);
  if (head_c > 0) {
    x = b.add(ops.pointwise, LayerRole::Head, x, -1, head_c, 1, 1, 1, true, -1, block);
  }
  x = b.add(ops.avgpool, LayerRole::Pool, x, -1, 0, 1, 1, 1, false, -1, block);
  x = b.add(ops.fc, LayerRole::Classifier, x, -1, space.num_classes, 1, 1, 1, false,
            -1, block);
  g->output = x;
}

NetGraph lower(const SearchSpace& space, const ArchSpec& arch) {
  NetGraph g;
  lower(space, arch, &g);
  return g;
}

}  // namespace tinynas
