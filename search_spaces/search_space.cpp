#include "search_spaces/search_space.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "ops/op.h"
#include "search_spaces/arch_spec.h"

#include "search_spaces/hash.h"

namespace tinynas {

int make_divisible(double value, int divisor) {
  int v = std::max(divisor, static_cast<int>(value + divisor / 2.0) / divisor * divisor);
  if (v < 0.9 * value) v += divisor;
  return v;
}

const char* block_kind_name(BlockKind kind) {
  switch (kind) {
    case BlockKind::InvertedResidual: return "inverted_residual";
    case BlockKind::Separable: return "separable";
    case BlockKind::Dense: return "dense";
  }
  return "?";
}

const char* output_kind_name(OutputKind kind) {
  switch (kind) {
    case OutputKind::Classifier: return "classifier";
    case OutputKind::Reconstruction: return "reconstruction";
  }
  return "?";
}

int StageSpec::max_depth() const { return *std::max_element(depths.begin(), depths.end()); }
int StageSpec::min_depth() const { return *std::min_element(depths.begin(), depths.end()); }

namespace {

std::string yaml_list(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
  return "[" + s + "]";
}

std::vector<int> int_choices(const ConfigNode& n, int64_t min, int64_t max) {
  std::vector<int> out;
  for (int64_t v : n.as_int_list(min, max)) {
    if (std::find(out.begin(), out.end(), v) != out.end()) {
      n.fail("duplicate choice " + std::to_string(v));
    }
    out.push_back(static_cast<int>(v));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void check_odd(const ConfigNode& n, const std::vector<int>& kernels) {
  for (int k : kernels) {
    if (k % 2 == 0) n.fail("kernel sizes must be odd, got " + std::to_string(k));
  }
}

}  // namespace

SearchSpace SearchSpace::from_config(const ConfigNode& node) {
  node.check_keys({"name", "input_channels", "input_size", "num_classes", "stem", "stages", "head",
                   "kernel_sizes", "expand_ratios", "depths", "width_multipliers", "resolutions",
                   "channel_divisor", "patch", "front_end", "output"});
  SearchSpace s;
  s.origin = node.file();
  s.name = node.at("name").as_string();
  s.input_channels = static_cast<int>(node.at("input_channels").as_int(1, 64));
  if (const auto size = node.find("input_size")) {
    const std::vector<int64_t> hw = size->as_int_list(1, 4096);
    if (hw.size() != 2) size->fail("expected [height, width]");
    s.input_height = static_cast<int>(hw[0]);
    s.input_width = static_cast<int>(hw[1]);
  }
  if (const auto out = node.find("output")) {
    s.output = out->as_choice({output_kind_name(OutputKind::Classifier),
                               output_kind_name(OutputKind::Reconstruction)}) ==
                       output_kind_name(OutputKind::Reconstruction)
                   ? OutputKind::Reconstruction
                   : OutputKind::Classifier;
  }
  if (s.output == OutputKind::Classifier) {
    s.num_classes = static_cast<int>(node.at("num_classes").as_int(2, 100000));
  } else {
    // The reconstruction is of the input: no classes (a key given anyway must say 0).
    s.num_classes = static_cast<int>(node.get_int("num_classes", 0, 0, 0));
  }
  s.channel_divisor = static_cast<int>(node.get_int("channel_divisor", 8, 1, 64));

  // No stem: the first stage reads the input itself (a dense one, checked below).
  s.stem_channels = 0;
  if (const auto stem_node = node.find("stem")) {
  const ConfigNode& stem = *stem_node;
  stem.check_keys({"channels", "kernel", "stride"});
  s.stem_channels = static_cast<int>(stem.at("channels").as_int(1, 4096));
  if (const auto k = stem.find("kernel")) {
    if (k->is_sequence()) {
      const std::vector<int64_t> hw = k->as_int_list(1, 11);
      if (hw.size() != 2) k->fail("expected a kernel size or [height, width]");
      s.stem_kernel_h = static_cast<int>(hw[0]);
      s.stem_kernel_w = static_cast<int>(hw[1]);
    } else {
      s.stem_kernel_h = s.stem_kernel_w = static_cast<int>(k->as_int(1, 11));
    }
  }
  s.stem_stride = static_cast<int>(stem.get_int("stride", 2, 1, 4));
  }

  const auto kernels = int_choices(node.at("kernel_sizes"), 1, 11);
  check_odd(node.at("kernel_sizes"), kernels);
  const auto expands = int_choices(node.at("expand_ratios"), 1, 16);
  const auto depths = int_choices(node.at("depths"), 1, 16);

  const ConfigNode stages = node.at("stages");
  if (stages.size() == 0) stages.fail("expected at least one stage");
  for (const ConfigNode& st : stages.items()) {
    st.check_keys({"channels", "stride", "upsample", "block", "depths", "kernel_sizes", "expand_ratios"});
    StageSpec spec;
    spec.channels = static_cast<int>(st.at("channels").as_int(1, 8192));
    spec.stride = static_cast<int>(st.get_int("stride", 1, 1, 2));
    spec.upsample = static_cast<int>(st.get_int("upsample", 1, 1, 4));
    if (spec.upsample > 1 && spec.stride > 1) {
      st.at("upsample").fail("a stage upsamples or strides, not both");
    }
    if (const auto block = st.find("block")) {
      const std::string kind = block->as_choice({block_kind_name(BlockKind::InvertedResidual),
                                                 block_kind_name(BlockKind::Separable),
                                                 block_kind_name(BlockKind::Dense)});
      for (BlockKind k : {BlockKind::InvertedResidual, BlockKind::Separable, BlockKind::Dense}) {
        if (kind == block_kind_name(k)) spec.block = k;
      }
    }
    // Depth 0 (an optional stage, skipped with its stride) only in the stage's own list: a
    // subnet then has fewer downsamplings, as DS-CNN (no stride-2 stage) beside a pyramid.
    spec.depths = st.has("depths") ? int_choices(st.at("depths"), 0, 16) : depths;
    spec.kernel_sizes = st.has("kernel_sizes") ? int_choices(st.at("kernel_sizes"), 1, 11) : kernels;
    if (st.has("kernel_sizes")) check_odd(st.at("kernel_sizes"), spec.kernel_sizes);
    spec.expand_ratios =
        st.has("expand_ratios") ? int_choices(st.at("expand_ratios"), 1, 16) : expands;
    if (spec.block == BlockKind::Separable && spec.expand_ratios != std::vector<int>{1}) {
      const std::string what = "a separable stage has expand ratio 1 only (depthwise then "
                               "pointwise, no expansion), got " + yaml_list(spec.expand_ratios);
      if (st.has("expand_ratios")) st.at("expand_ratios").fail("expected [1]: " + what);
      st.at("block").fail(what + " from the space's expand_ratios: give the stage "
                                 "expand_ratios: [1]");
    }
    if (spec.block == BlockKind::Dense) {
      // A fully connected layer has no window and no stride.
      if (spec.kernel_sizes != std::vector<int>{1}) {
        (st.has("kernel_sizes") ? st.at("kernel_sizes") : st.at("block"))
            .fail("expected kernel_sizes: [1]: a dense block has no window, got " +
                  yaml_list(spec.kernel_sizes));
      }
      if (spec.stride != 1) st.at("stride").fail("expected 1: a dense block has no stride");
      if (spec.upsample != 1) st.at("upsample").fail("expected 1: a dense block has no spatial map");
    }
    // Dense stages form the whole network for now: the supernet sizes a dense layer by the
    // channels before it, which a flattened feature map (conv stages, then dense) would exceed.
    const bool after_dense = !s.stages.empty() && s.stages.back().block == BlockKind::Dense;
    if (after_dense != (spec.block == BlockKind::Dense) && !s.stages.empty()) {
      (st.has("block") ? st.at("block") : st)
          .fail(after_dense ? "expected block: dense: only dense stages follow a dense stage (its "
                              "output has no spatial shape)"
                            : "a dense stage is the first stage or follows a dense one, not a "
                              "convolutional stage");
    }
    s.stages.push_back(spec);
  }
  const bool dense = s.stages.front().block == BlockKind::Dense;
  if (dense && s.stem_channels > 0) {
    node.at("stem").fail("a space whose first stage is dense has no stem (remove the key)");
  }
  if (!dense && s.stem_channels == 0) {
    node.fail("missing key 'stem' (only a space whose first stage is dense has none)");
  }
  if (s.output == OutputKind::Reconstruction && dense) {
    if (s.stages.back().min_depth() == 0) {
      node.at("output").fail("a reconstruction output follows a dense stage of depth >= 1 (the "
                             "last stage must not be optional)");
    }
  } else if (s.output == OutputKind::Reconstruction) {
    // The 3x3 output convolution rebuilds the input at its own size: every subnet must upsample
    // by what the stem and the stages stride, so no stage that changes the size may be skipped.
    int down = s.stem_stride, up = 1;
    for (std::size_t i = 0; i < s.stages.size(); ++i) {
      const StageSpec& st = s.stages[i];
      if ((st.stride > 1 || st.upsample > 1) && st.min_depth() == 0) {
        stages[i].fail("a stage that strides or upsamples cannot be optional (depth 0) in an "
                       "autoencoder: the reconstruction would not match the input's size");
      }
      down *= st.stride;
      up *= st.upsample;
    }
    if (down != up) {
      node.at("stages").fail(fmt::format("the stem and stages stride by {} in all, the stages "
                                         "upsample by {}: a reconstruction needs them equal",
                                         down, up));
    }
  } else {
    for (std::size_t i = 0; i < s.stages.size(); ++i) {
      if (s.stages[i].upsample > 1) {
        stages[i].at("upsample").fail("upsampling belongs to an autoencoder's decoder (output: "
                                      "reconstruction)");
      }
    }
  }

  if (const auto head = node.find("head")) {
    if (s.output != OutputKind::Classifier || dense) {
      head->fail("a head (1x1 conv before pooling) belongs to a convolutional classifier");
    }
    head->check_keys({"channels", "width_below_one"});
    s.head_channels = static_cast<int>(head->at("channels").as_int(0, 8192));
    s.head_width_below_one = head->get_bool("width_below_one", false);
  }

  const ConfigNode widths = node.at("width_multipliers");
  s.width_multipliers = widths.as_double_list(0.05, 4.0);
  std::sort(s.width_multipliers.begin(), s.width_multipliers.end());
  if (std::adjacent_find(s.width_multipliers.begin(), s.width_multipliers.end()) !=
      s.width_multipliers.end()) {
    widths.fail("duplicate width multiplier");
  }
  s.resolutions = int_choices(node.at("resolutions"), 1, 1024);
  if (s.output == OutputKind::Reconstruction && dense && s.resolutions.size() != 1) {
    node.at("resolutions").fail("expected one resolution: a dense reconstruction output has as "
                                "many values as the input");
  }
  if (s.output == OutputKind::Reconstruction && !dense) {
    int down = s.stem_stride;
    for (const StageSpec& st : s.stages) down *= st.stride;
    for (int r : s.resolutions) {
      const Shape in = s.input_shape(r);
      if (in.h % down != 0 || in.w % down != 0) {
        node.at("resolutions").fail(fmt::format("resolution {} ({}x{}) is not divisible by the "
                                                "network's stride {}: its reconstruction would "
                                                "not have the input's size", r, in.h, in.w, down));
      }
    }
  }

  if (const auto patch = node.find("patch")) {
    patch->check_keys({"patches", "max_split"});
    s.patch.patches = int_choices(patch->at("patches"), 1, 8);
    s.patch.max_split = static_cast<int>(patch->get_int("max_split", 0, 0, 64));
    if (dense && s.patch.patches != std::vector<int>{1}) {
      patch->at("patches").fail("expected [1]: a dense network has no spatial patches");
    }
    if (s.patch.max_split > s.max_blocks()) {
      patch->at("max_split").fail("expected at most " + std::to_string(s.max_blocks()) +
                                  " (the space's largest block count)");
    }
  }
  if (const auto fe = node.find("front_end")) {
    fe->check_keys({"kind", "samples", "scale", "zero_point"});
    FrontEndSpec& f = s.front_end;
    f.kind = fe->at("kind").as_string();
    const OpDescriptor* op = find_op(f.kind);
    if (!op || !op->is_front_end()) {
      fe->at("kind").fail("expected a front-end operator kind (mfcc), got '" + f.kind + "'");
    }
    f.samples = static_cast<int>(fe->get_int("samples", 16000, 1, 1 << 24));
    f.scale = fe->at("scale").as_double(1e-9, 1e9);
    f.zero_point = static_cast<int>(fe->at("zero_point").as_int(-128, 127));
    // The stem's input is what the front end makes of the samples: input_size, one channel, at
    // one resolution; it runs once on the whole input (no patches).
    Layer l;
    l.in = {1, f.samples, 1};
    op->infer(&l, 1);
    if (s.input_height != l.out.h || s.input_width != l.out.w || s.input_channels != l.out.c) {
      fe->fail(fmt::format("{} over {} samples makes {}x{}x{} features; the space's input_size and "
                           "input_channels must say so", f.kind, f.samples, l.out.h, l.out.w, l.out.c));
    }
    if (s.resolutions != std::vector<int>{l.out.h}) {
      node.at("resolutions").fail(fmt::format("expected [{}]: the front end's features are not resized",
                                              l.out.h));
    }
    if (s.patch.patches != std::vector<int>{1}) {
      node.at("patch").fail("expected patches: [1]: patch-based inference does not follow a front end");
    }
  }
  return s;
}

SearchSpace SearchSpace::load(const std::string& path) {
  const ConfigNode root = ConfigNode::load_file(path);
  return from_config(root);
}

std::string SearchSpace::to_yaml() const {
  std::ostringstream o;
  o << "name: " << name << "\n";
  o << "input_channels: " << input_channels << "\n";
  if (input_height > 0) o << "input_size: [" << input_height << ", " << input_width << "]\n";
  if (output == OutputKind::Classifier) {
    o << "num_classes: " << num_classes << "\n";
  } else {
    o << "output: " << output_kind_name(output) << "\n";
  }
  if (stem_channels > 0) {
    o << "stem: {channels: " << stem_channels << ", kernel: ";
    if (stem_kernel_h == stem_kernel_w) {
      o << stem_kernel_h;
    } else {
      o << "[" << stem_kernel_h << ", " << stem_kernel_w << "]";
    }
    o << ", stride: " << stem_stride << "}\n";
  }
  o << "stages:\n";
  for (const auto& st : stages) {
    o << "  - {channels: " << st.channels << ", stride: " << st.stride;
    if (st.upsample != 1) o << ", upsample: " << st.upsample;
    if (st.block != BlockKind::InvertedResidual) o << ", block: " << block_kind_name(st.block);
    o << ", depths: " << yaml_list(st.depths) << ", kernel_sizes: " << yaml_list(st.kernel_sizes)
      << ", expand_ratios: " << yaml_list(st.expand_ratios) << "}\n";
  }
  if (head_channels > 0) {
    o << "head: {channels: " << head_channels
      << ", width_below_one: " << (head_width_below_one ? "true" : "false") << "}\n";
  }
  // The space-wide choice sets are only defaults for the stages, which list their own.
  o << "kernel_sizes: " << yaml_list(stages.front().kernel_sizes) << "\n";
  o << "expand_ratios: " << yaml_list(stages.front().expand_ratios) << "\n";
  o << "depths: " << yaml_list(stages.front().depths) << "\n";
  o << "channel_divisor: " << channel_divisor << "\n";
  std::string ws;
  for (double w : width_multipliers) ws += (ws.empty() ? "" : ", ") + format_double(w);
  o << "width_multipliers: [" << ws << "]\n";
  o << "resolutions: " << yaml_list(resolutions) << "\n";
  o << "patch: {patches: " << yaml_list(patch.patches) << ", max_split: " << patch.max_split << "}\n";
  if (front_end.enabled()) {
    o << "front_end: {kind: " << front_end.kind << ", samples: " << front_end.samples
      << ", scale: " << format_double(front_end.scale) << ", zero_point: " << front_end.zero_point << "}\n";
  }
  return o.str();
}

Shape SearchSpace::input_shape(int resolution) const {
  if (input_height <= 0 || input_width == input_height) return {resolution, resolution, input_channels};
  const int64_t w = (int64_t{2} * resolution * input_width + input_height) / (2 * int64_t{input_height});
  return {resolution, static_cast<int>(std::max<int64_t>(1, w)), input_channels};
}

int SearchSpace::stem_width(double width) const {
  return stem_channels > 0 ? make_divisible(stem_channels * width, channel_divisor) : 0;
}

int SearchSpace::max_stage_input(std::size_t stage, double width) const {
  int widest = 0;
  for (std::size_t t = stage; t-- > 0;) {
    widest = std::max(widest, stage_max_width(t, width));
    if (stages[t].min_depth() > 0) return widest;
  }
  // Without a stem the first stage (dense) reads the input's values, flattened.
  if (stem_channels == 0) return std::max<int>(widest, static_cast<int>(input_elements()));
  return std::max(widest, stem_width(width));
}

int SearchSpace::dense_width(std::size_t stage, double width, int expand) const {
  return make_divisible(stages.at(stage).channels * width * expand, channel_divisor);
}

int SearchSpace::stage_max_width(std::size_t stage, double width) const {
  const StageSpec& st = stages.at(stage);
  if (st.block != BlockKind::Dense) return stage_width(stage, width);
  return dense_width(stage, width, st.expand_ratios.back());
}

int64_t SearchSpace::input_elements() const { return input_shape(max_resolution()).elements(); }

int SearchSpace::stage_width(std::size_t stage, double width) const {
  return make_divisible(stages.at(stage).channels * width, channel_divisor);
}

int SearchSpace::head_width(double width) const {
  if (head_channels == 0) return 0;
  const double w = head_width_below_one ? width : std::max(1.0, width);
  return make_divisible(head_channels * w, channel_divisor);
}

int SearchSpace::hidden_width(int in, int expand) const {
  return expand == 1 ? in : make_divisible(static_cast<double>(in) * expand, channel_divisor);
}

int SearchSpace::max_blocks() const {
  int n = 0;
  for (const auto& st : stages) n += st.max_depth();
  return n;
}

double SearchSpace::max_width() const { return width_multipliers.back(); }
double SearchSpace::min_width() const { return width_multipliers.front(); }
int SearchSpace::max_resolution() const { return resolutions.back(); }
int SearchSpace::min_resolution() const { return resolutions.front(); }

bool SearchSpace::has_width(double w) const {
  return std::any_of(width_multipliers.begin(), width_multipliers.end(),
                     [w](double c) { return std::abs(c - w) < 1e-9; });
}

uint64_t SearchSpace::fingerprint() const {
  Fnv1a h;
  h.add(input_channels).add(num_classes).add(stem_channels).add(stem_kernel_h).add(stem_stride);
  for (const auto& st : stages) {
    h.add(st.channels).add(st.stride);
    for (int d : st.depths) h.add(d);
    for (int k : st.kernel_sizes) h.add(k);
    for (int e : st.expand_ratios) h.add(e);
  }
  h.add(head_channels).add(head_width_below_one ? 1 : 0).add(channel_divisor);
  for (double w : width_multipliers) h.add(static_cast<int64_t>(std::llround(w * 1e6)));
  // Later fields are mixed in only when they differ from their defaults: a space that does not
  // use them keeps the fingerprint its checkpoints (models/) were verified with.
  if (stem_kernel_w != stem_kernel_h) h.add(std::string("stem_kernel_w")).add(stem_kernel_w);
  for (std::size_t s = 0; s < stages.size(); ++s) {
    if (stages[s].block != BlockKind::InvertedResidual) {
      h.add(std::string("block")).add(static_cast<int64_t>(s));
      h.add(std::string(block_kind_name(stages[s].block)));
    }
  }
  if (output != OutputKind::Classifier) h.add(std::string("output")).add(output_kind_name(output));
  for (std::size_t s = 0; s < stages.size(); ++s) {
    if (stages[s].upsample != 1) h.add(std::string("upsample")).add(static_cast<int64_t>(s)).add(stages[s].upsample);
  }
  if (front_end.enabled()) {
    h.add(std::string("front_end")).add(front_end.kind).add(front_end.samples).add(front_end.zero_point);
    h.add(static_cast<int64_t>(std::llround(front_end.scale * 1e9)));
  }
  return h.value();
}

}  // namespace tinynas
