#include "estimators/memory_plan.h"

#include <algorithm>
#include <climits>
#include <functional>

namespace tinynas {

int64_t analytic_peak_bytes(const NetGraph& g) {
  int64_t peak = 0;
  for (const Layer& l : g.layers) peak = std::max(peak, analytic_layer_bytes(l));
  return peak;
}

void MemoryPlan::live_tensors(int layer, std::vector<int>* out) const {
  out->clear();
  for (int t = 0; t < static_cast<int>(tensors.size()); ++t) {
    const PlacedBuffer& b = tensors[t];
    if (b.placed() && b.first <= layer && layer <= b.last) out->push_back(t);
  }
}

MemoryPlan plan_memory(const NetGraph& g, const PlanOptions& opt) {
  MemoryPlanner planner;
  MemoryPlan plan;
  planner.plan(g, opt, &plan);
  return plan;
}

PatchStep PatchPlan::step(int q, int layer) const {
  const int bi = q / patches, bj = q % patches;
  const Reach& r = reach(0, bi, layer);
  const Reach& c = reach(1, bj, layer);
  PatchStep s;
  s.out = region(q, layer + 1);  // the lowering's numbering: layer i writes tensor i + 1
  s.in[0] = {r.lo, c.lo, r.hi, c.hi};
  if (elementwise[layer]) s.in[1] = s.out;
  s.pad_top = r.pad_lo;
  s.pad_bottom = r.pad_hi;
  s.pad_left = c.pad_lo;
  s.pad_right = c.pad_hi;
  s.macs = macs_per_pixel[layer] * s.out.h() * s.out.w();
  return s;
}

// ---------------------------------------------------------------------------------------------
// Placement: first fit over several orderings.

int64_t MemoryPlanner::place(const std::vector<Item>& items, int num_times,
                             std::vector<int64_t>* offsets, int64_t stop_at) {
  items_ = items;
  const int64_t arena = solve(num_times, stop_at, static_cast<int>(items_.size()));
  offsets->assign(best_off_.begin(), best_off_.begin() + items_.size());
  return arena;
}

int64_t MemoryPlanner::first_fit(int num_times) {
  const int n = static_cast<int>(items_.size());
  std::fill(at_count_.begin(), at_count_.begin() + num_times, 0);
  std::fill(stamp_.begin(), stamp_.begin() + n, -1);
  int64_t arena = 0;
  for (int r = 0; r < n; ++r) {
    const int idx = order_[r];
    const Item& it = items_[idx];
    // The already placed items whose lifetimes meet this one's, sorted by offset.
    int m = 0;
    for (int t = it.first; t <= it.last; ++t) {
      const int* row = &at_[static_cast<std::size_t>(t) * cap_];
      for (int k = 0; k < at_count_[t]; ++k) {
        const int j = row[k];
        if (stamp_[j] == r) continue;
        stamp_[j] = r;
        int pos = m++;
        while (pos > 0 && off_[near_[pos - 1]] > off_[j]) {
          near_[pos] = near_[pos - 1];
          --pos;
        }
        near_[pos] = j;
      }
    }
    int64_t cand = 0;
    for (int k = 0; k < m; ++k) {
      const int j = near_[k];
      if (off_[j] - cand >= it.size) break;
      cand = std::max(cand, off_[j] + items_[j].size);
    }
    off_[idx] = cand;
    arena = std::max(arena, cand + it.size);
    for (int t = it.first; t <= it.last; ++t) {
      at_[static_cast<std::size_t>(t) * cap_ + at_count_[t]++] = idx;
    }
  }
  return arena;
}

int64_t MemoryPlanner::solve(int num_times, int64_t stop_at, int scratch_begin) {
  const int n = static_cast<int>(items_.size());
  // Live bytes and live counts per time (difference arrays).
  diff_.assign(static_cast<std::size_t>(num_times + 1) * 2, 0);
  for (const Item& it : items_) {
    diff_[it.first] += it.size;
    diff_[it.last + 1] -= it.size;
    diff_[num_times + 1 + it.first] += 1;
    diff_[num_times + 1 + it.last + 1] -= 1;
  }
  int64_t live = 0, lower_bound = 0, count = 0;
  cap_ = 1;
  for (int t = 0; t < num_times; ++t) {
    live += diff_[t];
    count += diff_[num_times + 1 + t];
    diff_[t] = live;  // now: live bytes at t
    lower_bound = std::max(lower_bound, live);
    cap_ = std::max<int>(cap_, static_cast<int>(count));
  }
  off_.resize(n);
  best_off_.resize(n);
  if (n == 0) return 0;
  if (stop_at >= 0 && lower_bound > stop_at) {  // cannot fit: no placement needed
    std::fill(best_off_.begin(), best_off_.end(), -1);
    return lower_bound;
  }
  at_.resize(static_cast<std::size_t>(num_times) * cap_);
  at_count_.resize(num_times);
  stamp_.resize(n);
  near_.resize(n);
  order_.resize(n);
  key_.resize(n);

  const int64_t good_enough = std::max(lower_bound, stop_at);
  int64_t best = INT64_MAX;
  // Orderings, each followed by first fit; stop at the first that reaches `good_enough`:
  //  0. buffers by size (largest first), then the scratch buffers in layer order (they fill gaps)
  //  1. every item by size, largest first, ties by index: TF-Lite Micro's greedy order (the floor)
  //  2. by size x lifetime, 3. by lifetime start (earliest first), 4. by lifetime length.
  constexpr int kOrderings = 5;
  packed_.resize(n);
  for (int o = 0; o < kOrderings; ++o) {
    if (o == 1 && scratch_begin >= n) continue;  // the same as ordering 0
    if (o <= 1) {
      // Packed keys: size / alignment in the high bits, 2^20 - 1 - index in the low 20 bits.
      const int m = o == 0 ? std::min(scratch_begin, n) : n;
      for (int i = 0; i < m; ++i) {
        packed_[i] = static_cast<uint64_t>(items_[i].size / kArenaAlignment) << 20 |
                     static_cast<uint64_t>((1 << 20) - 1 - i);
      }
      std::sort(packed_.begin(), packed_.begin() + m, std::greater<uint64_t>());
      for (int i = 0; i < m; ++i) {
        order_[i] = static_cast<int>((1 << 20) - 1 - static_cast<int>(packed_[i] & ((1 << 20) - 1)));
      }
      for (int i = m; i < n; ++i) order_[i] = i;
    } else {
      for (int i = 0; i < n; ++i) {
        const Item& it = items_[i];
        const int64_t len = it.last - it.first + 1;
        key_[i] = o == 2 ? it.size * len : (o == 3 ? -static_cast<int64_t>(it.first) : len);
      }
      for (int i = 0; i < n; ++i) order_[i] = i;
      std::sort(order_.begin(), order_.begin() + n, [&](int a, int b) {
        if (key_[a] != key_[b]) return key_[a] > key_[b];
        if (items_[a].size != items_[b].size) return items_[a].size > items_[b].size;
        return a < b;
      });
    }
    const int64_t arena = first_fit(num_times);
    if (arena < best) {
      best = arena;
      std::copy(off_.begin(), off_.begin() + n, best_off_.begin());
    }
    if (best <= good_enough) break;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Layer-by-layer plan.

namespace {

// The input of layer i that its output may overwrite, per the in-place rules, or -1.
int in_place_input(const NetGraph& g, int i, const PlanOptions& opt) {
  const Layer& l = g.layers[i];
  auto ok = [&](int t) {
    return t >= 0 && g.tensors[t].last_consumer == i && (t != g.input || opt.input_in_arena);
  };
  if (!l.op->in_place()) return -1;
  for (int k = 0; k < l.num_inputs(); ++k) {
    if (ok(l.inputs[k])) return k;
  }
  return -1;
}

}  // namespace

int64_t MemoryPlanner::plan(const NetGraph& g, const PlanOptions& opt, MemoryPlan* out,
                            int64_t budget) {
  return plan_impl(g, opt, out, budget);
}

int64_t MemoryPlanner::arena_bytes(const NetGraph& g, const PlanOptions& opt, int64_t budget) {
  return plan_impl(g, opt, &tmp_, budget);
}

int64_t MemoryPlanner::plan_impl(const NetGraph& g, const PlanOptions& opt, MemoryPlan* out,
                                 int64_t budget) {
  const int L = static_cast<int>(g.layers.size());
  const int N = static_cast<int>(g.tensors.size());
  out->tensors.assign(N, PlacedBuffer{});
  out->scratch.assign(L, PlacedBuffer{});
  out->in_place.assign(L, -1);
  out->live_bytes.assign(L, 0);
  out->patched = false;
  out->ok = true;
  out->input_in_arena = opt.input_in_arena;
  out->patch.patches = 1;
  out->patch.stage_end = 0;
  out->patch.stage_output = -1;
  out->patch.spans.clear();
  out->patch.reaches.clear();
  out->patch.elementwise.clear();
  out->patch.macs_per_pixel.clear();
  out->patch.row_bands.clear();
  out->patch.col_bands.clear();
  out->patch.crop = out->patch.tile = PlacedBuffer{};
  out->patch.sub_arena_offset = out->patch.sub_arena_bytes = 0;
  out->patch.stage_peak_bytes = out->patch.rest_peak_bytes = 0;
  out->patch.extra_macs = 0;
  const int64_t arena = g.patch.enabled() ? plan_patches(g, opt, out, budget)
                                          : plan_layers(g, opt, out, budget);
  out->arena_bytes = arena;
  out->lower_bound_bytes = 0;
  out->peak_layer = 0;
  for (int i = 0; i < L; ++i) {
    if (out->live_bytes[i] > out->lower_bound_bytes) {
      out->lower_bound_bytes = out->live_bytes[i];
      out->peak_layer = i;
    }
  }
  return arena;
}

int64_t MemoryPlanner::plan_layers(const NetGraph& g, const PlanOptions& opt, MemoryPlan* out,
                                   int64_t budget) {
  // One pass in execution order (each layer's output is a new tensor; its inputs exist):
  // tensor buffers, an in-place output joining its input's buffer; then the scratch buffers.
  const int L = static_cast<int>(g.layers.size());
  const int N = static_cast<int>(g.tensors.size());
  item_of_.resize(N);
  scratch_item_.resize(L);
  items_.clear();
  auto span = [&](int t, PlacedBuffer* b) {
    const TensorInfo& ti = g.tensors[t];
    b->first = ti.producer < 0 ? 0 : ti.producer;
    b->last = (ti.last_consumer < 0 || t == g.output) ? L - 1 : ti.last_consumer;
    b->size = align_arena(ti.bytes());
  };
  {
    PlacedBuffer& b = out->tensors[g.input];
    span(g.input, &b);
    item_of_[g.input] = -1;
    if (opt.input_in_arena) {
      item_of_[g.input] = 0;
      items_.push_back({b.size, b.first, b.last});
    }
  }
  int64_t macs = 0;
  for (int i = 0; i < L; ++i) {
    const Layer& l = g.layers[i];
    macs += l.macs;
    const int k = in_place_input(g, i, opt);
    out->in_place[i] = static_cast<int8_t>(k);
    PlacedBuffer& b = out->tensors[l.output];
    span(l.output, &b);
    if (k >= 0) {
      const int it = item_of_[l.inputs[k]];
      item_of_[l.output] = it;
      items_[it].size = std::max(items_[it].size, b.size);
      items_[it].last = std::max(items_[it].last, b.last);
    } else {
      item_of_[l.output] = static_cast<int>(items_.size());
      items_.push_back({b.size, b.first, b.last});
    }
  }
  out->patch.executed_macs = macs;
  const int scratch_begin = static_cast<int>(items_.size());
  for (int i = 0; i < L; ++i) {
    const int64_t s = layer_scratch_bytes(g.layers[i]);
    scratch_item_[i] = -1;
    if (s > 0) {
      scratch_item_[i] = static_cast<int>(items_.size());
      items_.push_back({align_arena(s), i, i});
    }
  }
  const int64_t arena = solve(L, budget, scratch_begin);
  for (int i = 0; i < L; ++i) out->live_bytes[i] = diff_[i];
  for (int t = 0; t < N; ++t) {
    if (item_of_[t] >= 0) out->tensors[t].offset = best_off_[item_of_[t]];
  }
  for (int i = 0; i < L; ++i) {
    if (scratch_item_[i] >= 0) {
      out->scratch[i] = {best_off_[scratch_item_[i]], items_[scratch_item_[i]].size, i, i};
    }
  }
  return arena;
}

// ---------------------------------------------------------------------------------------------
// Patch-based plan.

int64_t MemoryPlanner::plan_patches(const NetGraph& g, const PlanOptions& opt, MemoryPlan* out,
                                    int64_t budget) {
  const int L = static_cast<int>(g.layers.size());
  const int N = static_cast<int>(g.tensors.size());
  const int pse = g.patch_stage_end();
  const int p = g.patch.patches;
  PatchPlan& pp = out->patch;
  out->patched = true;
  pp.patches = p;
  pp.stage_end = pse;
  // The lowering numbers tensors input = 0, output of layer i = i + 1; the patch stage's tensors
  // are then [0, pse] and only tensor pse is read after it.
  bool shape_ok = pse >= 1 && pse < L && g.input == 0;
  for (int i = 0; shape_ok && i < pse; ++i) {
    shape_ok = g.layers[i].output == i + 1 && g.layers[i].op->patch_rule() != PatchRule::Global;
  }
  for (int t = 0; shape_ok && t < pse; ++t) shape_ok = g.tensors[t].last_consumer < pse;
  const int so = pse;
  if (!shape_ok || g.tensors[so].shape.h < p || g.tensors[so].shape.w < p) {
    out->ok = false;
    return INT64_MAX / 4;
  }
  pp.stage_output = so;
  const int T = pse + 1;  // stage tensors

  // Receptive field, one axis and band at a time, backward through the patch stage.
  pp.spans.assign(static_cast<std::size_t>(2) * p * T, PatchPlan::Span{INT_MAX, INT_MIN});
  pp.reaches.resize(static_cast<std::size_t>(2) * p * pse);
  pp.elementwise.resize(pse);
  pp.macs_per_pixel.resize(pse);
  pp.row_bands.resize(p + 1);
  pp.col_bands.resize(p + 1);
  for (int axis = 0; axis < 2; ++axis) {
    const int size = axis == 0 ? g.tensors[so].shape.h : g.tensors[so].shape.w;
    std::vector<int>& bands = axis == 0 ? pp.row_bands : pp.col_bands;
    bands[0] = 0;
    for (int b = 0; b < p; ++b) bands[b + 1] = bands[b] + size / p + (b < size % p ? 1 : 0);
    for (int b = 0; b < p; ++b) {
      PatchPlan::Span* sp = &pp.spans[static_cast<std::size_t>(axis * p + b) * T];
      PatchPlan::Reach* re = &pp.reaches[static_cast<std::size_t>(axis * p + b) * pse];
      sp[so] = {bands[b], bands[b + 1]};
      for (int i = pse - 1; i >= 0; --i) {
        const Layer& l = g.layers[i];
        const PatchPlan::Span o = sp[l.output];
        PatchPlan::Reach& r = re[i];
        if (l.op->patch_rule() == PatchRule::Elementwise) {
          r = {o.lo, o.hi, 0, 0};
          if (l.inputs[1] >= 0) {
            PatchPlan::Span& x = sp[l.inputs[1]];
            x.lo = std::min(x.lo, o.lo);
            x.hi = std::max(x.hi, o.hi);
          }
        } else {
          const int in_size = axis == 0 ? l.in.h : l.in.w;
          const int pad_before = axis == 0 ? l.pad_top : l.pad_left;
          const int kernel = axis == 0 ? l.kh : l.kw;
          const int need_lo = o.lo * l.stride - pad_before;
          const int need_hi = (o.hi - 1) * l.stride - pad_before + kernel;
          r = {std::max(0, need_lo), std::min(in_size, need_hi), std::max(0, -need_lo),
               std::max(0, need_hi - in_size)};
        }
        PatchPlan::Span& x = sp[l.inputs[0]];
        x.lo = std::min(x.lo, r.lo);
        x.hi = std::max(x.hi, r.hi);
      }
    }
  }
  // MACs: per layer, MACs per output pixel times the pixels all patches compute (separable).
  int64_t stage_layer_macs = 0, stage_exec_macs = 0;
  for (int i = 0; i < pse; ++i) {
    const Layer& l = g.layers[i];
    pp.elementwise[i] = l.op->patch_rule() == PatchRule::Elementwise;
    const int64_t pix = static_cast<int64_t>(l.out.h) * l.out.w;
    pp.macs_per_pixel[i] = pix > 0 ? l.macs / pix : 0;
    int64_t rows = 0, cols = 0;
    for (int b = 0; b < p; ++b) {
      rows += pp.span(0, b, l.output).hi - pp.span(0, b, l.output).lo;
      cols += pp.span(1, b, l.output).hi - pp.span(1, b, l.output).lo;
    }
    stage_layer_macs += l.macs;
    stage_exec_macs += pp.macs_per_pixel[i] * rows * cols;
  }
  pp.executed_macs = g.macs() - stage_layer_macs + stage_exec_macs;
  pp.extra_macs = pp.executed_macs - g.macs();
  auto lo_at = [&](int axis, int b, int t) { return pp.span(axis, b, t).lo; };
  auto hi_at = [&](int axis, int b, int t) { return pp.span(axis, b, t).hi; };

  // Per-patch sizes: the largest region over patches (rows and columns are independent).
  tsize_.resize(T);
  for (int t = 0; t < T; ++t) {
    int mh = 0, mw = 0;
    for (int b = 0; b < p; ++b) {
      mh = std::max(mh, hi_at(0, b, t) - lo_at(0, b, t));
      mw = std::max(mw, hi_at(1, b, t) - lo_at(1, b, t));
    }
    tsize_[t] = static_cast<int64_t>(mh) * mw * g.tensors[t].shape.c * g.tensors[t].element_bytes;
  }
  auto same_regions = [&](int a, int b) {
    for (int axis = 0; axis < 2; ++axis) {
      for (int k = 0; k < p; ++k) {
        if (lo_at(axis, k, a) != lo_at(axis, k, b) || hi_at(axis, k, a) != hi_at(axis, k, b)) {
          return false;
        }
      }
    }
    return true;
  };

  // Sub-plan over the patch stage: times = layers [0, pse).
  root_.resize(N);
  item_of_.assign(N, -1);
  scratch_item_.assign(L, -1);
  items_.clear();
  for (int t = 0; t < N; ++t) root_[t] = t;
  for (int i = 0; i < pse; ++i) {
    const Layer& l = g.layers[i];
    int k = -1;
    auto ok = [&](int t) { return t > 0 && g.tensors[t].last_consumer == i; };
    // In place only where the input's stored region is the output's (a spatial operator's
    // input region is its output's grown by the receptive field: equal for a 1x1 stride 1).
    for (int in = 0; k < 0 && l.op->in_place() && in < l.num_inputs(); ++in) {
      if (!ok(l.inputs[in])) continue;
      if (l.num_inputs() == 1 || same_regions(l.inputs[in], l.output)) k = in;
    }
    out->in_place[i] = static_cast<int8_t>(k);
    if (k >= 0) root_[l.output] = root_[l.inputs[k]];
  }
  for (int t = 0; t < T; ++t) {
    const TensorInfo& ti = g.tensors[t];
    const int first = ti.producer < 0 ? 0 : ti.producer;
    const int last = t == so ? pse - 1 : ti.last_consumer;
    const int64_t size = align_arena(tsize_[t]);
    const int r = root_[t];
    if (r == t) {
      item_of_[t] = static_cast<int>(items_.size());
      items_.push_back({size, first, last});
    } else {
      Item& it = items_[item_of_[r]];
      item_of_[t] = item_of_[r];
      it.size = std::max(it.size, size);
      it.last = std::max(it.last, last);
    }
  }
  const int sub_scratch_begin = static_cast<int>(items_.size());
  for (int i = 0; i < pse; ++i) {
    const Layer& l = g.layers[i];
    int mh = 0, mw = 0;
    for (int b = 0; b < p; ++b) {
      mh = std::max(mh, hi_at(0, b, l.inputs[0]) - lo_at(0, b, l.inputs[0]));
      mw = std::max(mw, hi_at(1, b, l.inputs[0]) - lo_at(1, b, l.inputs[0]));
    }
    const int64_t s = layer_scratch_bytes(l, mh, mw);
    if (s > 0) {
      scratch_item_[i] = static_cast<int>(items_.size());
      items_.push_back({align_arena(s), i, i});
    }
  }
  const int64_t sub = solve(pse, -1, sub_scratch_begin);
  pp.sub_arena_bytes = sub;
  for (int i = 0; i < pse; ++i) out->live_bytes[i] = diff_[i];  // sub-plan live bytes for now
  // Keep the sub-plan's relative offsets.
  for (int t = 0; t < T; ++t) {
    PlacedBuffer& b = t == 0 ? pp.crop : (t == so ? pp.tile : out->tensors[t]);
    b.offset = best_off_[item_of_[t]];
    b.size = align_arena(tsize_[t]);
    b.first = g.tensors[t].producer < 0 ? 0 : g.tensors[t].producer;
    b.last = t == so ? pse - 1 : g.tensors[t].last_consumer;
  }
  for (int i = 0; i < pse; ++i) {
    if (scratch_item_[i] >= 0) {
      out->scratch[i] = {best_off_[scratch_item_[i]], items_[scratch_item_[i]].size, i, i};
    }
  }

  // Main plan: time 0 = the whole patch stage, time i - pse + 1 = layer i >= pse.
  const int TM = L - pse + 1;
  auto tm = [&](int layer) { return layer < pse ? 0 : layer - pse + 1; };
  item_of_.assign(N, -1);
  scratch_item_.assign(L, -1);
  items_.clear();
  int image_item = -1;
  if (opt.input_in_arena) {
    image_item = static_cast<int>(items_.size());
    items_.push_back({align_arena(g.tensors[0].bytes()), 0, 0});
  }
  const int sub_item = static_cast<int>(items_.size());
  items_.push_back({sub, 0, 0});
  for (int t = so; t < N; ++t) root_[t] = t;
  for (int i = pse; i < L; ++i) {
    const int k = in_place_input(g, i, opt);
    out->in_place[i] = static_cast<int8_t>(k);
    if (k >= 0) root_[g.layers[i].output] = root_[g.layers[i].inputs[k]];
  }
  for (int t = so; t < N; ++t) {
    const TensorInfo& ti = g.tensors[t];
    PlacedBuffer& b = out->tensors[t];
    b.first = t == so ? 0 : ti.producer;
    b.last = (ti.last_consumer < 0 || t == g.output) ? L - 1 : ti.last_consumer;
    b.size = align_arena(ti.bytes());
    const int r = root_[t];
    const int first = tm(b.first), last = tm(b.last);
    if (r == t) {
      item_of_[t] = static_cast<int>(items_.size());
      items_.push_back({b.size, first, last});
    } else {
      Item& it = items_[item_of_[r]];
      item_of_[t] = item_of_[r];
      it.size = std::max(it.size, b.size);
      it.last = std::max(it.last, last);
    }
  }
  const int main_scratch_begin = static_cast<int>(items_.size());
  for (int i = pse; i < L; ++i) {
    const int64_t s = layer_scratch_bytes(g.layers[i]);
    if (s > 0) {
      scratch_item_[i] = static_cast<int>(items_.size());
      items_.push_back({align_arena(s), tm(i), tm(i)});
    }
  }
  const int64_t arena = solve(TM, budget, main_scratch_begin);
  const int64_t sub_off = best_off_[sub_item];
  pp.sub_arena_offset = sub_off;
  pp.stage_peak_bytes = diff_[0];
  for (int i = 0; i < pse; ++i) out->live_bytes[i] += diff_[0] - sub;
  pp.rest_peak_bytes = 0;
  for (int i = pse; i < L; ++i) {
    out->live_bytes[i] = diff_[tm(i)];
    pp.rest_peak_bytes = std::max(pp.rest_peak_bytes, diff_[tm(i)]);
  }
  // Absolute offsets.
  pp.crop.offset += sub_off;
  pp.tile.offset += sub_off;
  for (int t = 1; t < so; ++t) out->tensors[t].offset += sub_off;
  for (int i = 0; i < pse; ++i) {
    if (out->scratch[i].size > 0) out->scratch[i].offset += sub_off;
  }
  PlacedBuffer& image = out->tensors[0];
  image.first = 0;
  image.last = pse - 1;
  image.size = align_arena(g.tensors[0].bytes());
  image.offset = image_item >= 0 ? best_off_[image_item] : -1;
  for (int t = so; t < N; ++t) {
    if (item_of_[t] >= 0) out->tensors[t].offset = best_off_[item_of_[t]];
  }
  for (int i = pse; i < L; ++i) {
    if (scratch_item_[i] >= 0) {
      out->scratch[i] = {best_off_[scratch_item_[i]], items_[scratch_item_[i]].size, i, i};
    }
  }
  return arena;
}

}  // namespace tinynas
