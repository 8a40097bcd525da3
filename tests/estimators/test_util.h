// Helpers shared by the estimators tests: small hand-made spaces and an independent checker of
// memory plans.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "estimators/memory_plan.h"
#include "search_spaces/arch_spec.h"
#include "search_spaces/config_node.h"
#include "search_spaces/net_graph.h"
#include "search_spaces/search_space.h"

namespace tinynas {
namespace testing_util {

inline const std::string kRoot = TINYNAS_SOURCE_DIR;

inline SearchSpace space_from_yaml(const std::string& yaml) {
  return SearchSpace::from_config(ConfigNode::parse(yaml, "test-space"));
}

inline ArchSpec arch_from_yaml(const std::string& yaml, const SearchSpace& space) {
  return ArchSpec::from_config(ConfigNode::parse(yaml, "test-arch"), space);
}

// Checks, independently of the planner's internals, that a plan is a valid static allocation:
// offsets and sizes aligned, every buffer inside the arena, and no two buffers that are live at
// the same time overlap, except an in-place layer's output over the input it overwrites.
inline void check_plan(const NetGraph& g, const MemoryPlan& plan, const std::string& what) {
  SCOPED_TRACE(what);
  struct Buf {
    int64_t off, size;
    int first, last;
    int tensor;  // -1 scratch / crop / tile
    int kind;    // 0 tensor, 1 scratch, 2 crop, 3 tile
  };
  std::vector<Buf> bufs;
  const int L = static_cast<int>(g.layers.size());
  for (int t = 0; t < static_cast<int>(plan.tensors.size()); ++t) {
    const PlacedBuffer& b = plan.tensors[t];
    if (t == g.input && b.offset < 0) continue;  // image outside the arena
    ASSERT_GE(b.offset, 0) << "tensor " << t;
    const bool per_patch = plan.patched && t > 0 && t < plan.patch.stage_output;
    if (!per_patch) {
      EXPECT_EQ(b.size, align_arena(g.tensors[t].bytes())) << "tensor " << t;
    }
    bufs.push_back({b.offset, b.size, b.first, b.last, t, 0});
  }
  for (int i = 0; i < L; ++i) {
    const PlacedBuffer& s = plan.scratch[i];
    const Layer& l = g.layers[i];
    if (!plan.patched || i >= plan.patch.stage_end) {
      EXPECT_EQ(s.size, align_arena(layer_scratch_bytes(l))) << "layer " << i;
    }
    if (s.size > 0) bufs.push_back({s.offset, s.size, i, i, -1, 1});
  }
  if (plan.patched) {
    bufs.push_back({plan.patch.crop.offset, plan.patch.crop.size, 0, 0, -1, 2});
    bufs.push_back({plan.patch.tile.offset, plan.patch.tile.size, plan.patch.stage_end - 1,
                    plan.patch.stage_end - 1, -1, 3});
  }
  for (const Buf& b : bufs) {
    EXPECT_EQ(b.off % kArenaAlignment, 0);
    EXPECT_EQ(b.size % kArenaAlignment, 0);
    EXPECT_GE(b.off, 0);
    EXPECT_LE(b.off + b.size, plan.arena_bytes);
  }
  // The tensor a buffer stands for, for alias checks (the tile is the stage output's per-patch
  // buffer).
  auto tensor_of = [&](const Buf& b) { return b.kind == 3 ? plan.patch.stage_output : b.tensor; };
  auto aliased = [&](const Buf& a, const Buf& b) {
    // b's producer runs in place over a (a dies where b is born, same offset).
    const int ta = tensor_of(a), tb = tensor_of(b);
    if (ta < 0 || tb < 0 || a.off != b.off) return false;
    // The full stage-output buffer is never an in-place target inside the patch stage.
    if (plan.patched && b.kind == 0 && tb == plan.patch.stage_output &&
        g.tensors[tb].producer < plan.patch.stage_end) {
      return false;
    }
    const int i = g.tensors[tb].producer;
    if (i < 0 || plan.in_place[i] < 0) return false;
    return g.layers[i].inputs[plan.in_place[i]] == ta && a.last == i;
  };
  int violations = 0;
  for (std::size_t x = 0; x < bufs.size(); ++x) {
    for (std::size_t y = x + 1; y < bufs.size(); ++y) {
      const Buf& a = bufs[x];
      const Buf& b = bufs[y];
      const bool time = a.first <= b.last && b.first <= a.last;
      const bool space = a.off < b.off + b.size && b.off < a.off + a.size;
      if (!time || !space) continue;
      // A patch-stage sub-plan buffer against the full stage output's entry is a real clash;
      // in-place pairs are fine.
      if (aliased(a, b) || aliased(b, a)) continue;
      if (++violations <= 5) {
        ADD_FAILURE() << "overlap: buffer (kind " << a.kind << ", tensor " << a.tensor
                      << ", [" << a.off << ", " << a.off + a.size << "), layers " << a.first
                      << ".." << a.last << ") and (kind " << b.kind << ", tensor " << b.tensor
                      << ", [" << b.off << ", " << b.off + b.size << "), layers " << b.first
                      << ".." << b.last << ")";
      }
    }
  }
  EXPECT_GE(plan.arena_bytes, plan.lower_bound_bytes);
}

// The bytes that must be live while each layer runs, from the graph and the rules alone
// (layer by layer): tensors from producer to last consumer, an in-place pair counted once, plus
// the layer's scratch. The arena can be no smaller than the largest.
inline int64_t independent_lower_bound(const NetGraph& g, bool input_in_arena) {
  const int L = static_cast<int>(g.layers.size());
  int64_t best = 0;
  for (int i = 0; i < L; ++i) {
    int64_t live = layer_scratch_bytes(g.layers[i]);
    for (int t = 0; t < static_cast<int>(g.tensors.size()); ++t) {
      if (t == g.input && !input_in_arena) continue;
      const TensorInfo& ti = g.tensors[t];
      const int first = std::max(0, ti.producer);
      const int last = ti.last_consumer < 0 ? L - 1 : ti.last_consumer;
      if (first <= i && i <= last) live += ti.bytes();
    }
    // An in-place layer's output shares its input's bytes.
    const Layer& l = g.layers[i];
    const auto in_place_ok = [&](int t) {
      return g.tensors[t].last_consumer == i && (t != g.input || input_in_arena);
    };
    if ((l.op == &op("depthwise") && in_place_ok(l.inputs[0])) ||
        (l.op == &op("add") && (in_place_ok(l.inputs[0]) || in_place_ok(l.inputs[1])))) {
      live -= std::min(g.tensors[l.inputs[0]].bytes(), g.tensors[l.output].bytes());
    }
    best = std::max(best, live);
  }
  return best;
}

// A graph the lowering never makes, with the image read by layers that could run in place over
// it (the estimators' in-place rule and the code generator's read-only input are tested on
// it): 0: depthwise 3x3 (image -> t1), 1: add(image, t1) -> t2, 2: depthwise (t2 -> t3).
inline NetGraph in_place_over_image_graph() {
  NetGraph g;
  const Shape s{4, 4, 8};
  g.tensors = {{s, -1, 1}, {s, 0, 1}, {s, 1, 2}, {s, 2, -1}};
  Layer dw;
  dw.op = &op("depthwise");
  dw.in = dw.out = s;
  dw.set_window(3, 3, 1);
  dw.macs = s.elements() * 9;
  dw.weights = 9 * s.c;
  dw.biases = s.c;
  dw.relu6 = true;
  Layer add;
  add.op = &op("add");
  add.in = add.out = s;
  g.layers = {dw, add, dw};
  g.layers[0].inputs[0] = 0;
  g.layers[0].output = 1;
  g.layers[1].inputs[0] = 0;
  g.layers[1].inputs[1] = 1;
  g.layers[1].output = 2;
  g.layers[2].inputs[0] = 2;
  g.layers[2].output = 3;
  g.output = 3;
  return g;
}

// A hand-built autoencoder, as the anomaly spaces lower to it: the h x w x c features (tensor 0)
// -> 0: fc (Dense, ReLU6) to `hidden` -> 1: fc (Reconstruction) back to h*w*c values ->
// 2: mse(reconstruction, features), one int32 score (tensor 3, 4 bytes). The features stay live
// until layer 2, their last reader.
inline NetGraph autoencoder_graph(Shape features, int hidden) {
  NetGraph g;
  g.tensors.push_back({features, -1, -1, 1});
  g.input = 0;
  auto add = [&](const OpDescriptor& op, LayerRole role, int in, int in2, int out_c, bool relu6) {
    Layer l;
    l.op = &op;
    l.role = role;
    l.inputs[0] = in;
    l.inputs[1] = in2;
    l.in = g.tensors[in].shape;
    l.relu6 = relu6;
    l.block = 0;
    op.infer(&l, out_c);
    const int index = static_cast<int>(g.layers.size());
    l.output = static_cast<int>(g.tensors.size());
    g.tensors.push_back({l.out, index, -1, op.output_element_bytes()});
    g.tensors[in].last_consumer = index;
    if (in2 >= 0) g.tensors[in2].last_consumer = index;
    g.layers.push_back(l);
    return l.output;
  };
  const int n = static_cast<int>(features.elements());
  const int code = add(op("fc"), LayerRole::Dense, g.input, -1, hidden, true);
  const int recon = add(op("fc"), LayerRole::Reconstruction, code, -1, n, false);
  g.output = add(op("mse"), LayerRole::Error, recon, g.input, n, false);
  g.num_blocks = 1;
  return g;
}

}  // namespace testing_util
}  // namespace tinynas
