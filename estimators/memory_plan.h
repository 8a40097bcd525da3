// The deployment memory plan: where every activation tensor and every kernel's scratch buffer
// sits in the one static arena. The code generator emits this plan unchanged, so the estimated
// peak SRAM *is* the generated arena size, byte for byte. No LibTorch, no allocation once the
// planner's storage has grown (plan into the same MemoryPlan / MemoryPlanner again).
//
// The rules (the contract with runtime/, which runs exactly this):
//  - Activations are int8 HWC; a tensor needs h*w*c bytes times its element bytes
//    (TensorInfo::bytes(): 2 for a front end's int16 samples, 4 for an int32 result such as an
//    autoencoder's error score).
//  - Every buffer's size is rounded up to kArenaAlignment bytes and every offset is a multiple of
//    it (offsets are ends of other buffers, so the second follows from the first).
//  - A tensor lives from its producer to its last consumer (layer indices, inclusive); the
//    network input from the start, the network output to the end. A residual input therefore
//    stays live until its add.
//  - In place (operators whose descriptor says in_place(): depthwise, add): the output is written
//    over inputs[0] (same offset) if that input's last consumer is this layer, else over inputs[1]
//    on the same condition, else to its own buffer.
//    (An in-place pair is one buffer of max(input, output) bytes.) Never over an image kept
//    outside the arena: that is the caller's buffer, which the generated code only reads.
//  - Scratch (own buffer, live only during its layer): the operator's scratch_bytes(), which is
//    the runtime kernel's own size function (kh x kw conv 2*kh*kw*c_in*2 bytes of q15 im2col,
//    pointwise 2*c_in*2, depthwise one padded input plane + 4, add / avgpool / fc none).
//  - The network input image is counted in the arena (as TF-Lite Micro does), live until its last
//    reader; with patches, that is the whole patch stage. PlanOptions::input_in_arena = false
//    plans for an image kept outside the arena (camera buffer, streamed decode), consistently in
//    both the patch and the layer-by-layer plans.
//  - Placement: first fit in decreasing order of a key, tried for several orderings: buffers by
//    size then the scratch buffers in layer order; every buffer by size (TF-Lite Micro's greedy
//    planner, the floor: never beaten by less); by size x lifetime; by lifetime start; by
//    lifetime length. The smallest arena wins, and the search stops as soon as one reaches the
//    lower bound (max over layers of the bytes live during it, which no placement can beat) -
//    on the default space the first ordering reaches it for every sampled subnet.
//
// Patch-based inference (MCUNetV2): for a NetGraph with patch.enabled(), layers
// [0, stage_end) run p x p times on spatial patches, then the rest runs layer by layer. The
// patch-stage output tensor (H x W) is cut into p row bands and p column bands; band i has
// H / p rows plus one extra if i < H % p (the first bands get the extra rows), likewise for
// columns. The receptive field is traced backward through the patch stage, giving every tensor's
// region per patch (the union over its readers); a conv pads only where its patch touches the
// image border. Per axis a window layer reads, for output rows [lo, hi), the input rows
// [lo * stride - pad_top, (hi - 1) * stride - pad_top + kh) (columns: pad_left, kw), clipped to
// the input; what lies outside is the patch's padding. Asymmetric pads (an even kernel's TF SAME
// padding, ops/layer.h) need nothing more: the bottom / right pad follows from the top / left. Per patch, the runtime
//   1. crops the image region of tensor 0 into the per-patch `crop` buffer (tn_crop_s8, no fill),
//   2. runs the patch-stage layers on dense per-patch buffers with the step's explicit pads
//      (an add reads its residual input as the sub-rectangle PatchStep::in[1] of that tensor's
//      region: row by row, the rows being contiguous),
//   3. copies the output tile into the full patch-stage output buffer (tn_copy_patch_s8).
// All patches share one sub-plan sized for the largest patch; during the patch stage the arena
// holds the image, the full patch-stage output and the sub-plan; afterwards the normal plan.
#pragma once

#include <cstdint>
#include <vector>

#include "search_spaces/net_graph.h"

namespace tinynas {

// The one alignment constant: every arena offset and buffer size is a multiple of it.
constexpr int64_t kArenaAlignment = 8;
constexpr int64_t align_arena(int64_t bytes) {
  return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
}

// The runtime's scratch bytes for one layer (a kh x kw kernel) run on an input of h_in x w_in x
// c_in (unaligned; a patch's input, or the whole input): the operator's descriptor asks the
// runtime's own size function.
inline int64_t layer_scratch_bytes(const OpDescriptor& op, int kh, int kw, int h_in, int w_in,
                                   int c_in) {
  return op.scratch_bytes(kh, kw, h_in, w_in, c_in);
}
inline int64_t layer_scratch_bytes(const Layer& l, int h_in, int w_in) {
  return layer_scratch_bytes(*l.op, l.kh, l.kw, h_in, w_in, l.in.c);
}
inline int64_t layer_scratch_bytes(const Layer& l) { return layer_scratch_bytes(l, l.in.h, l.in.w); }

// MCUNet's analytic bytes of one layer: input + output, or max of the two for a one-input
// operator that runs in place (depthwise, as TinyEngine runs it).
inline int64_t analytic_layer_bytes(const Layer& l) {
  const int64_t in = l.in.elements() * l.in_element_bytes,
                out = l.out.elements() * l.op->output_element_bytes();
  return l.op->in_place() && l.op->num_inputs() == 1 ? (in > out ? in : out) : in + out;
}

// MCUNet's classic analytic figure: max over layers of input + output bytes (int8), with a
// depthwise conv counted in place (max(input, output)), as TinyEngine runs it. No scratch, no
// residual, no alignment. For an add, input + output = its two inputs. 1372 KB for MobileNetV2
// 1.0 at 224.
int64_t analytic_peak_bytes(const NetGraph& g);

// One buffer in the arena. first/last: the layers during which it is live (inclusive).
struct PlacedBuffer {
  int64_t offset = -1;  // -1: not in the arena (no scratch; an image kept outside)
  int64_t size = 0;     // aligned
  int first = 0, last = -1;
  bool placed() const { return offset >= 0 && size > 0; }
  int64_t end() const { return offset + size; }
};

// A half-open rectangle of a tensor, in the full tensor's coordinates.
struct Rect {
  int y0 = 0, x0 = 0, y1 = 0, x1 = 0;
  int h() const { return y1 - y0; }
  int w() const { return x1 - x0; }
  bool operator==(const Rect& o) const {
    return y0 == o.y0 && x0 == o.x0 && y1 == o.y1 && x1 == o.x1;
  }
  bool operator!=(const Rect& o) const { return !(*this == o); }
};

// One patch-stage layer run on one patch.
struct PatchStep {
  Rect out;    // the region of the output tensor computed (= that tensor's region for the patch)
  Rect in[2];  // the regions of inputs[0] / inputs[1] read (in[1] only for an add)
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;  // explicit zero padding
  int64_t macs = 0;
};

struct PatchPlan {
  int patches = 1;        // per side: p x p patches, run in raster order (row band, then column)
  int stage_end = 0;      // layers [0, stage_end) run per patch
  int stage_output = -1;  // tensor id of the full patch-stage output (= stage_end)
  std::vector<int> row_bands, col_bands;  // p + 1 boundaries each over the stage output

  // The geometry is separable: patch q = (row band q / p, column band q % p), and everything is a
  // row interval times a column interval. Stored per axis (0 = rows, 1 = columns) and band:
  struct Span {
    int lo = 0, hi = 0;  // [lo, hi) of a tensor that the band's patches compute and store
  };
  struct Reach {
    int lo = 0, hi = 0;          // [lo, hi) of the layer's inputs[0] that it reads
    int pad_lo = 0, pad_hi = 0;  // explicit zero padding before / after (image border only)
  };
  std::vector<Span> spans;           // [(axis * p + band) * (stage_end + 1) + tensor]
  std::vector<Reach> reaches;        // [(axis * p + band) * stage_end + layer]
  std::vector<uint8_t> elementwise;  // by patch-stage layer: PatchRule::Elementwise
  std::vector<int64_t> macs_per_pixel;  // by patch-stage layer

  PlacedBuffer crop;             // per-patch copy of the image region (absolute arena offset)
  PlacedBuffer tile;             // per-patch output tile, copied into the full buffer
  int64_t sub_arena_offset = 0;  // the shared per-patch sub-plan: [offset, offset + bytes)
  int64_t sub_arena_bytes = 0;
  int64_t stage_peak_bytes = 0;  // live during the patch stage: image + full output + sub-plan
  int64_t rest_peak_bytes = 0;   // largest live bytes of a layer after the patch stage
  int64_t executed_macs = 0;     // whole network, every patch counted
  int64_t extra_macs = 0;        // executed_macs - layer-by-layer MACs

  int num_patches() const { return patches * patches; }
  const Span& span(int axis, int band, int tensor) const {
    return spans[static_cast<std::size_t>(axis * patches + band) * (stage_end + 1) + tensor];
  }
  const Reach& reach(int axis, int band, int layer) const {
    return reaches[static_cast<std::size_t>(axis * patches + band) * stage_end + layer];
  }
  // The region of tensor t (0 = the image: the crop; stage_end = the output tile) that patch q
  // computes and stores densely in its per-patch buffer.
  Rect region(int q, int tensor) const {
    const Span& r = span(0, q / patches, tensor);
    const Span& c = span(1, q % patches, tensor);
    return {r.lo, c.lo, r.hi, c.hi};
  }
  // Patch q's run of patch-stage layer `layer`.
  PatchStep step(int q, int layer) const;
};

struct PlanOptions {
  bool input_in_arena = true;  // count the network input image in the arena
};

struct MemoryPlan {
  bool ok = false;                // false: the patch schedule cannot be cut (fewer rows than p)
  bool input_in_arena = true;     // PlanOptions::input_in_arena; false: tensors[input].offset -1
  int64_t arena_bytes = 0;        // = peak SRAM of the model, incl. scratch and alignment
  int64_t lower_bound_bytes = 0;  // max over layers of live_bytes; arena_bytes >= it
  int peak_layer = 0;             // the layer with the most live bytes
  // By tensor id. For a patch plan, patch-stage tensors other than the image and the stage
  // output hold their per-patch buffer (sized for the largest patch); the stage output holds the
  // full buffer.
  std::vector<PlacedBuffer> tensors;
  std::vector<PlacedBuffer> scratch;  // by layer (per-patch size in the patch stage)
  std::vector<int8_t> in_place;       // by layer: the input (0 / 1) the output overwrites, or -1
  std::vector<int64_t> live_bytes;    // by layer: aligned bytes live while it runs
  bool patched = false;
  PatchPlan patch;

  // Tensor ids live while `layer` runs (an in-place output and its input both listed).
  void live_tensors(int layer, std::vector<int>* out) const;
};

// The planner. Keep one per thread and reuse it: its storage and the plan's are kept between
// calls, so planning in the search's hot loop allocates nothing once warm.
class MemoryPlanner {
 public:
  // Plans `g` into `out` and returns the arena size. With budget >= 0 it may stop early once
  // the answer is known: an arena <= budget (a valid plan, not necessarily the smallest), or a
  // value > budget (then the offsets are not filled: -1). budget < 0: the full plan.
  int64_t plan(const NetGraph& g, const PlanOptions& opt, MemoryPlan* out, int64_t budget = -1);
  // Just the arena size (same early stop), planned into internal storage.
  int64_t arena_bytes(const NetGraph& g, const PlanOptions& opt, int64_t budget = -1);

  // The generic placer, exposed for tests: intervals of time [first, last] with sizes (multiples
  // of kArenaAlignment); returns the arena and fills offsets.
  struct Item {
    int64_t size;
    int first, last;
  };
  int64_t place(const std::vector<Item>& items, int num_times, std::vector<int64_t>* offsets,
                int64_t stop_at = -1);

 private:
  int64_t plan_impl(const NetGraph& g, const PlanOptions& opt, MemoryPlan* out, int64_t budget);
  int64_t plan_layers(const NetGraph& g, const PlanOptions& opt, MemoryPlan* out, int64_t budget);
  int64_t plan_patches(const NetGraph& g, const PlanOptions& opt, MemoryPlan* out,
                       int64_t budget);
  int64_t solve(int num_times, int64_t stop_at, int scratch_begin);
  int64_t first_fit(int num_times);

  // Placement storage.
  std::vector<Item> items_;
  std::vector<int> order_;
  std::vector<int64_t> key_;
  std::vector<uint64_t> packed_;
  std::vector<int64_t> off_, best_off_;
  std::vector<int> at_, at_count_;  // placed items per time, flat [time * cap_ + k]
  int cap_ = 0;
  std::vector<int> stamp_, near_;
  std::vector<int64_t> diff_;
  // Graph storage.
  std::vector<int> root_, item_of_;
  std::vector<int> scratch_item_;
  std::vector<int64_t> tsize_;  // per tensor (per-patch max in the patch stage), unaligned
  MemoryPlan tmp_;            // for arena_bytes()
};

// Convenience: a fresh planner.
MemoryPlan plan_memory(const NetGraph& g, const PlanOptions& opt = {});

}  // namespace tinynas
