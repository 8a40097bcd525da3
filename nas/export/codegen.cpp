#include "nas/export/codegen.h"

#include <fmt/core.h>

#include <cstring>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace tinynas {

namespace {

template <typename T>
void emit_array(std::ostringstream& o, const char* type, const std::string& name,
                const std::vector<T>& v, int64_t* const_bytes) {
  o << "static const " << type << " " << name << "[" << v.size() << "] = {";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i % 24 == 0) o << "\n  ";
    o << static_cast<int64_t>(v[i]) << (i + 1 < v.size() ? "," : "");
  }
  o << "\n};\n";
  *const_bytes += static_cast<int64_t>(v.size() * sizeof(T));
}

std::string arena_at(int64_t offset) { return fmt::format("(tn_arena + {})", offset); }

// Bytes per element of the network's output: 1 (int8 logits) or 4 (an int32 score, e.g. an
// autoencoder's reconstruction error); the generated API and test program follow it.
int output_element_bytes(const NetGraph& g) {
  const int b = g.tensors[g.output].element_bytes;
  if (b != 1 && b != 4) {
    throw std::invalid_argument(fmt::format("codegen: an output of {}-byte elements (int8 or int32 expected)", b));
  }
  return b;
}

// The generator's side of EmitContext (ops/emit.h): operators write their constants and calls
// through it; the arena, the patch loop and the file around them are written here.
struct Emitter final : EmitContext {
  const Int8Model& m;
  const MemoryPlan& plan;
  std::ostringstream data_;  // file-scope constants
  std::ostringstream body_;  // tinynas_invoke()
  int64_t const_bytes = 0;

  // Frame API: how the frame reaches the network (FrameRead), set before the layers are emitted.
  enum class FrameRead { None, StemConv, PatchCrop, IntoArenaImage } frame = FrameRead::None;

  Emitter(const Int8Model& model, const MemoryPlan& p) : m(model), plan(p) {}

  std::ostringstream& data() override { return data_; }
  std::ostringstream& body() override { return body_; }
  void array(const std::string& name, const std::vector<int8_t>& v) override {
    emit_array(data_, "int8_t", name, v, &const_bytes);
  }
  void array(const std::string& name, const std::vector<int16_t>& v) override {
    emit_array(data_, "int16_t", name, v, &const_bytes);
  }
  void array(const std::string& name, const std::vector<int32_t>& v) override {
    emit_array(data_, "int32_t", name, v, &const_bytes);
  }
  const QuantParams& quant(int tensor) const override { return m.tensor_quant[tensor]; }

  const Layer& layer(int i) const { return m.graph.layers[i]; }
  const QuantParams& q(int tensor) const { return m.tensor_quant[tensor]; }
  // Where tensor t is: its arena offset, or the caller's `input` for an image the plan keeps
  // outside the arena (read only: the plan runs nothing in place over it).
  std::string tensor_at(int t) const {
    if (t == m.graph.input && !plan.input_in_arena) return "input";
    return arena_at(plan.tensors[t].offset);
  }

  // The constants of layer i (weights, biases, requantisation, parameter blocks).
  void emit_constants(int i) {
    const Layer& l = layer(i);
    data_ << fmt::format("\n/* layer {}: {} {} {}x{} s{}, {}x{}x{} -> {}x{}x{} */\n", i, l.name(),
                         l.op->name(), l.kh, l.kw, l.stride, l.in.h, l.in.w, l.in.c,
                         l.out.h, l.out.w, l.out.c);
    l.op->emit_constants(*this, i, l, m.layers[i]);
  }

  std::string profile_end(int i, const std::string& slot, const std::string& h_in,
                          const std::string& w_in, const std::string& h_out,
                          const std::string& w_out, const std::string& macs) const override {
    const Layer& l = layer(i);
    return fmt::format("    TN_PROFILE_END({}, \"{}\", {}, {}, {}, {}, {}, {}, {}, {}, {}, {});\n",
                       slot, l.op->name(), l.kh, l.kw, l.stride, h_in, w_in,
                       l.in.c, h_out, w_out, l.out.c, macs);
  }

  std::string scratch(int i, bool q15) const override {
    const PlacedBuffer& s = plan.scratch[i];
    if (!s.placed()) return "0";
    return q15 ? fmt::format("(int16_t *){}", arena_at(s.offset)) : arena_at(s.offset);
  }

  // One whole layer, layer by layer.
  void emit_layer(int i) {
    const Layer& l = layer(i);
    const std::string in = tensor_at(l.inputs[0]), out = tensor_at(l.output);
    body_ << fmt::format("  /* {}: {} */\n", i, l.name());
    body_ << fmt::format("  TN_PROFILE_BEGIN({});\n", i);
    const std::string ins[2] = {in, l.inputs[1] >= 0 ? tensor_at(l.inputs[1]) : std::string()};
    if (frame == FrameRead::StemConv && i == 0) {
      // The stem reads a frame through the table (ConvFamily's p<i> / w<i> / b<i>), else the image.
      std::ostringstream call;
      call.swap(body_);
      l.op->emit_call(*this, i, l, m.layers[i], ins, out);
      call.swap(body_);
      const std::string plain = call.str(), head = fmt::format("  rc = tn_conv2d_s8(&p{}, {}, ", i, in);
      if (plain.rfind(head, 0) != 0) throw std::logic_error("codegen: unexpected stem call " + plain);
      body_ << fmt::format("  if (frame) rc = tn_conv2d_frame_s8(&p{}, frame, ", i)
            << plain.substr(head.size()) << "  else" << plain.substr(1);
    } else {
      l.op->emit_call(*this, i, l, m.layers[i], ins, out);
    }
    body_ << profile_end(i, std::to_string(i), std::to_string(l.in.h), std::to_string(l.in.w),
                         std::to_string(l.out.h), std::to_string(l.out.w), std::to_string(l.macs));
    body_ << "  if (rc != TN_OK) return rc;\n";
  }

  // The patch stage: per patch, crop the image region (from the arena or straight from the
  // caller's buffer), run the stage's layers on the patch's dense buffers with the plan's
  // explicit pads, copy the output tile into the full buffer.
  void emit_patch_stage() {
    const PatchPlan& pp = plan.patch;
    const int P = pp.num_patches(), end = pp.stage_end;
    const Shape img = m.graph.tensors[0].shape;
    const Shape so = m.graph.tensors[pp.stage_output].shape;
    auto buffer = [&](int t) {
      if (t == 0) return pp.crop.offset;
      if (t == pp.stage_output) return pp.tile.offset;
      return plan.tensors[t].offset;
    };
    // Per patch: image crop {y0, x0, h, w}, output tile {y0, x0, h, w}.
    data_ << fmt::format("\n/* patch stage: {}x{} patches over layers [0, {}) */\n", pp.patches,
                         pp.patches, end);
    std::vector<int16_t> crop, tile;
    for (int q = 0; q < P; ++q) {
      const Rect& c = pp.region(q, 0);
      const Rect& t = pp.region(q, pp.stage_output);
      for (int v : {c.y0, c.x0, c.h(), c.w()}) crop.push_back(static_cast<int16_t>(v));
      for (int v : {t.y0, t.x0, t.h(), t.w()}) tile.push_back(static_cast<int16_t>(v));
    }
    array("patch_crop", crop);
    array("patch_tile", tile);
    // Per layer and patch, 8 geometry values (ops/op.h, emit_patch_call): by the patch rule.
    for (int i = 0; i < end; ++i) {
      const Layer& l = layer(i);
      std::vector<int16_t> geom;
      for (int q = 0; q < P; ++q) {
        const PatchStep& s = pp.step(q, i);
        if (l.op->patch_rule() == PatchRule::Elementwise) {
          // {h, w, dy0, dx0, w0, dy1, dx1, w1}: each input's rows inside its stored region.
          geom.push_back(static_cast<int16_t>(s.out.h()));
          geom.push_back(static_cast<int16_t>(s.out.w()));
          for (int k = 0; k < 2; ++k) {
            if (k >= l.num_inputs()) {
              geom.insert(geom.end(), 3, 0);
              continue;
            }
            const Rect& r = pp.region(q, l.inputs[k]);
            geom.push_back(static_cast<int16_t>(s.in[k].y0 - r.y0));
            geom.push_back(static_cast<int16_t>(s.in[k].x0 - r.x0));
            geom.push_back(static_cast<int16_t>(r.w()));
          }
        } else {
          if (s.in[0] != pp.region(q, l.inputs[0])) {
            throw std::invalid_argument("patch plan: layer " + l.name() +
                                        " reads a sub-region of its input buffer");
          }
          for (int v : {s.in[0].h(), s.in[0].w(), s.out.h(), s.out.w(), s.pad_top, s.pad_left,
                        s.pad_bottom, s.pad_right}) {
            geom.push_back(static_cast<int16_t>(v));
          }
        }
      }
      array(fmt::format("g{}", i), geom);
      l.op->emit_patch_constants(*this, i, l, m.layers[i]);
    }
    body_ << fmt::format("  /* patch stage: layers 0..{} run on {} patches */\n", end - 1, P);
    body_ << fmt::format("  for (q = 0; q < {}; ++q) {{\n", P);
    body_ << "    const int16_t *c = patch_crop + 4 * q, *t = patch_tile + 4 * q;\n";
    if (frame == FrameRead::PatchCrop) {  // the patch straight from the camera frame
      body_ << fmt::format("    if (frame) tn_crop_frame_s8(frame, {}, {}, c[0], c[1], c[2], c[3], {}, {});\n    else",
                           img.h, img.w, q(0).zero_point, arena_at(pp.crop.offset));
    }
    body_ << fmt::format("    tn_crop_s8({}, {}, {}, {}, c[0], c[1], c[2], c[3], {}, {});\n",
                         tensor_at(0), img.h, img.w, img.c, q(0).zero_point,
                         arena_at(pp.crop.offset));
    for (int i = 0; i < end; ++i) {
      const Layer& l = layer(i);
      body_ << fmt::format("    /* {}: {} */\n", i, l.name());
      body_ << fmt::format("    {{\n      const int16_t *g = g{} + 8 * q;\n", i);
      const std::string ins[2] = {
          arena_at(buffer(l.inputs[0])),
          l.inputs[1] >= 0 ? arena_at(buffer(l.inputs[1])) : std::string()};
      l.op->emit_patch_call(*this, i, l, ins, arena_at(buffer(l.output)));
      body_ << "    }\n";
    }
    body_ << fmt::format("    tn_copy_patch_s8({}, t[3], 0, 0, {}, {}, t[0], t[1], t[2], t[3], {});\n",
                         arena_at(pp.tile.offset), arena_at(plan.tensors[pp.stage_output].offset),
                         so.w, so.c);
    body_ << "  }\n";
  }
};

}  // namespace

namespace {

// A C string literal (labels are plain names; quotes and backslashes escaped anyway).
std::string c_string(const std::string& v) {
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

std::vector<int8_t> frame_lut(const QuantParams& input, const Normalization& norm, int channels) {
  std::vector<int8_t> lut(static_cast<std::size_t>(channels) * 256);
  for (int c = 0; c < channels; ++c) {
    for (int v = 0; v < 256; ++v) {
      const double x = (v / 255.0 - norm.mean_of(c)) / norm.std_of(c);
      lut[static_cast<std::size_t>(c) * 256 + v] = input.quantize(static_cast<float>(x));
    }
  }
  return lut;
}

namespace {

// How a frame can reach the network (see codegen.h), or None.
int frame_read(const Int8Model& model, const MemoryPlan& plan) {
  const NetGraph& g = model.graph;
  const TensorInfo& t = g.tensors[g.input];
  if (t.element_bytes != 1 || (t.shape.c != 1 && t.shape.c != 3)) return 0;
  if (plan.patched) return 2;
  std::vector<int> readers;
  for (int i = 0; i < static_cast<int>(g.layers.size()); ++i) {
    for (int k = 0; k < g.layers[i].num_inputs(); ++k) {
      if (g.layers[i].inputs[k] == g.input) readers.push_back(i);
    }
  }
  const bool stem = readers.size() == 1 && readers[0] == 0;
  const Layer& l0 = g.layers[0];
  if (stem && std::string(l0.op->name()) == "conv" && l0.kh <= 8 && l0.kw <= 8) return 1;
  return plan.input_in_arena ? 3 : 0;
}

}  // namespace

bool frame_api_possible(const Int8Model& model, const MemoryPlan& plan) {
  return frame_read(model, plan) != 0;
}

GeneratedC generate_model_c(const Int8Model& model, const MemoryPlan& plan,
                            const std::vector<std::string>& labels, const Normalization* norm) {
  const NetGraph& g = model.graph;
  if (!plan.ok || plan.tensors.size() != g.tensors.size() || plan.scratch.size() != g.layers.size()) {
    throw std::invalid_argument("the memory plan does not belong to this graph");
  }
  const bool in_arena = plan.input_in_arena;
  if (in_arena != (plan.tensors[g.input].offset >= 0)) {
    throw std::invalid_argument("the memory plan places the input image inconsistently");
  }
  const int first_layer = plan.patched ? plan.patch.stage_end : 0;
  // The caller's image is read only. (In the patch stage, tensor 0 stands for the per-patch crop,
  // an arena copy that may be overwritten.)
  for (int i = first_layer; !in_arena && i < static_cast<int>(g.layers.size()); ++i) {
    const int k = plan.in_place[i];
    if (k >= 0 && g.layers[i].inputs[k] == g.input) {
      throw std::invalid_argument("the memory plan runs layer " + g.layers[i].name() +
                                  " in place over the caller's input image");
    }
  }
  Emitter e(model, plan);
  const int how = norm ? frame_read(model, plan) : 0;
  e.frame = static_cast<Emitter::FrameRead>(how);
  const bool frame_api = how != 0;
  const int frame_channels = g.tensors[g.input].shape.c;
  if (frame_api) {
    for (const auto* v : {&norm->mean, &norm->std}) {
      if (v->size() != 1 && static_cast<int>(v->size()) != frame_channels) {
        throw std::invalid_argument(fmt::format("codegen: {} normalisation values for {} channels", v->size(),
                                                frame_channels));
      }
    }
  }
  for (int i = 0; i < static_cast<int>(g.layers.size()); ++i) e.emit_constants(i);
  if (plan.patched) e.emit_patch_stage();
  for (int i = first_layer; i < static_cast<int>(g.layers.size()); ++i) e.emit_layer(i);

  const Shape in = g.tensors[g.input].shape;
  const QuantParams qi = model.tensor_quant[g.input], qo = model.tensor_quant[g.output];
  const int out_bytes = output_element_bytes(g);
  GeneratedC out;
  out.arena_bytes = plan.arena_bytes;
  out.frame_api = frame_api;
  std::vector<int8_t> lut;
  if (frame_api) {
    lut = frame_lut(qi, *norm, frame_channels);
    e.const_bytes += static_cast<int64_t>(lut.size());
  }
  out.const_bytes = e.const_bytes;
  std::ostringstream h;
  h << "/* Generated by tinynas: do not edit. */\n#ifndef TINYNAS_MODEL_H\n#define TINYNAS_MODEL_H\n\n"
    << "#include <stdint.h>\n\n"
    << "#define TINYNAS_ARENA_BYTES " << plan.arena_bytes << "\n"
    << "#define TINYNAS_INPUT_H " << in.h << "\n#define TINYNAS_INPUT_W " << in.w
    << "\n#define TINYNAS_INPUT_C " << in.c << "\n"
    << "#define TINYNAS_INPUT_SIZE " << g.tensors[g.input].bytes() << "\n"
    << "/* Bytes per input element: 1 (an int8 image), 2 (int16 samples for the front end). */\n"
    << "#define TINYNAS_INPUT_ELEMENT_BYTES " << g.tensors[g.input].element_bytes << "\n"
    << "#define TINYNAS_OUTPUT_SIZE " << g.tensors[g.output].shape.elements() << "\n"
    << (out_bytes == 1 ? std::string()
                       : fmt::format("/* Bytes per output element: {} (an int32 score, not int8 logits). */\n"
                                     "#define TINYNAS_OUTPUT_ELEMENT_BYTES {}\n",
                                     out_bytes, out_bytes))
    << fmt::format("#define TINYNAS_INPUT_SCALE {:.9g}f\n#define TINYNAS_INPUT_ZERO_POINT {}\n",
                   qi.scale, qi.zero_point)
    << fmt::format("#define TINYNAS_OUTPUT_SCALE {:.9g}f\n#define TINYNAS_OUTPUT_ZERO_POINT {}\n",
                   qo.scale, qo.zero_point)
    << "#define TINYNAS_NUM_LAYERS " << g.layers.size() << "\n"
    << "/* 1: the input image is in the arena (tinynas_input()); 0: the caller's buffer. */\n"
    << "#define TINYNAS_INPUT_IN_ARENA " << (in_arena ? 1 : 0) << "\n\n";
  if (in_arena) {
    h << "/* The int8 HWC input image: write it here before each tinynas_invoke(). */\n"
      << "int8_t *tinynas_input(void);\n";
  }
  if (!labels.empty()) {
    h << "/* The name of each output class (index = logit). */\n"
      << "#define TINYNAS_NUM_LABELS " << labels.size() << "\n"
      << "extern const char *const tinynas_labels[TINYNAS_NUM_LABELS];\n";
  }
  if (frame_api) {
    std::string mean, stdev;
    for (int c = 0; c < frame_channels; ++c) {
      mean += fmt::format("{}{:.6g}", c ? ", " : "", norm->mean_of(c));
      stdev += fmt::format("{}{:.6g}", c ? ", " : "", norm->std_of(c));
    }
    const char* how_text =
        e.frame == Emitter::FrameRead::StemConv    ? "the stem convolution reads the pixels through it: no int8 copy of the image"
        : e.frame == Emitter::FrameRead::PatchCrop ? "each patch is cropped through it: no int8 copy of the image"
                                                   : "converted into the input buffer in the arena";
    h << "\n/* Camera frames. The network was trained on (v / 255 - mean_c) / std_c of a pixel byte v,\n"
      << " * mean {" << mean << "}, std {" << stdev << "}; tinynas_frame_lut[c * 256 + v] is that value\n"
      << " * quantised to the int8 input. */\n"
      << "#define TINYNAS_FRAME_CHANNELS " << frame_channels << "\n"
      << "#define TINYNAS_FRAME_GRAY8 0  /* = TN_FRAME_GRAY8: 1 byte per pixel */\n"
      << "#define TINYNAS_FRAME_RGB888 1 /* = TN_FRAME_RGB888: R, G, B bytes */\n"
      << "#define TINYNAS_FRAME_RGB565 2 /* = TN_FRAME_RGB565: little-endian rrrrrggg gggbbbbb */\n"
      << "extern const int8_t tinynas_frame_lut[TINYNAS_FRAME_CHANNELS * 256];\n"
      << "/* Runs the network on a TINYNAS_INPUT_H x TINYNAS_INPUT_W window of a uint8 camera frame:\n"
      << " * `pixels` its top-left pixel, `pitch` the bytes from one row to the next (of a larger frame\n"
      << " * when the window is part of one), `format` "
      << (frame_channels == 3 ? "TINYNAS_FRAME_RGB888 or TINYNAS_FRAME_RGB565" : "TINYNAS_FRAME_GRAY8")
      << ". Quantised on the fly\n * through tinynas_frame_lut (" << how_text << ");\n"
      << " * the frame is only read. 0, or the failing kernel's negative tn_status_t (TN_ERR_ARG for a\n"
      << " * NULL frame or a format of another channel count). */\n"
      << "int tinynas_invoke_frame(const uint8_t *pixels, int32_t pitch, int32_t format);\n";
  }
  if (out_bytes == 1) {
    h << "/* The int8 logits of the last tinynas_invoke(). */\n"
      << "const int8_t *tinynas_output(void);\n";
  } else {
    h << "/* The int32 output of the last tinynas_invoke() (an anomaly score: its real value is\n"
      << " * TINYNAS_OUTPUT_SCALE * (v - TINYNAS_OUTPUT_ZERO_POINT)), 4-byte aligned in the arena. */\n"
      << "const int32_t *tinynas_output(void);\n";
  }
  if (in_arena) {
    h << "/* Runs the network: 0, or the failing kernel's negative tn_status_t. */\n"
      << "int tinynas_invoke(void);\n";
  } else {
    h << "/* Runs the network on the caller's int8 HWC image of TINYNAS_INPUT_SIZE bytes (a camera\n"
      << " * or DMA frame, or flash; any alignment), which it only reads and does not keep: 0, or\n"
      << " * the failing kernel's negative tn_status_t (TN_ERR_ARG for a NULL input). */\n"
      << "int tinynas_invoke(const int8_t *input);\n";
  }
  h << "\n#endif\n";
  out.header = h.str();

  std::ostringstream c;
  c << "/* Generated by tinynas: do not edit. */\n#include \"model.h\"\n\n#include \"tn_profile.h\"\n"
    << "#include \"tn_runtime.h\"\n\n"
    << "/* The one static arena, laid out by the tinynas memory plan (estimated peak SRAM)"
    << (in_arena ? "" : ";\n   the input image is not in it") << ". */\n"
    << "#if defined(__GNUC__)\n__attribute__((aligned(8)))\n#endif\n"
    << "static int8_t tn_arena[" << plan.arena_bytes << "];\n"
    << e.data_.str() << "\n";
  if (in_arena) {
    c << "int8_t *tinynas_input(void) { return " << arena_at(plan.tensors[g.input].offset) << "; }\n";
  }
  if (!labels.empty()) {
    c << "const char *const tinynas_labels[TINYNAS_NUM_LABELS] = {";
    for (std::size_t i = 0; i < labels.size(); ++i) c << (i ? ", " : "") << c_string(labels[i]);
    c << "};\n";
  }
  if (out_bytes == 1) {
    c << "const int8_t *tinynas_output(void) { return " << arena_at(plan.tensors[g.output].offset)
      << "; }\n\n";
  } else {
    c << "const int32_t *tinynas_output(void) { return (const int32_t *)"
      << arena_at(plan.tensors[g.output].offset) << "; }\n\n";
  }
  if (!frame_api) {
    c << (in_arena ? "int tinynas_invoke(void) {\n" : "int tinynas_invoke(const int8_t *input) {\n")
      << "  int rc;\n";
    if (plan.patched) c << "  int q;\n  int32_t slot = " << g.layers.size() << ";\n  (void)slot;\n";
    if (!in_arena) c << "  if (input == 0) return TN_ERR_ARG;\n";
    c << e.body_.str() << "  return TN_OK;\n}\n";
  } else {
    // One body for both inputs: `frame` non-null reads the camera frame, else the int8 image.
    c << "/* The header's formats are the runtime's. */\n"
      << "typedef char tn_frame_formats_match[TINYNAS_FRAME_GRAY8 == TN_FRAME_GRAY8 && "
         "TINYNAS_FRAME_RGB888 == TN_FRAME_RGB888 && TINYNAS_FRAME_RGB565 == TN_FRAME_RGB565 ? 1 : -1];\n";
    c << "const int8_t tinynas_frame_lut[TINYNAS_FRAME_CHANNELS * 256] = {";
    for (std::size_t i = 0; i < lut.size(); ++i) {
      if (i % 24 == 0) c << "\n  ";
      c << static_cast<int>(lut[i]) << (i + 1 < lut.size() ? "," : "");
    }
    c << "\n};\n\n";
    c << "static int tn_invoke(const int8_t *input, const tn_frame_t *frame) {\n  int rc;\n";
    if (plan.patched) c << "  int q;\n  int32_t slot = " << g.layers.size() << ";\n  (void)slot;\n";
    c << "  (void)input;\n";
    if (e.frame == Emitter::FrameRead::IntoArenaImage) {
      c << fmt::format("  if (frame) tn_crop_frame_s8(frame, {0}, {1}, 0, 0, {0}, {1}, {2}, {3});\n", in.h, in.w,
                       qi.zero_point, arena_at(plan.tensors[g.input].offset));
    }
    c << e.body_.str() << "  return TN_OK;\n}\n\n";
    if (in_arena) {
      c << "int tinynas_invoke(void) { return tn_invoke(0, 0); }\n\n";
    } else {
      c << "int tinynas_invoke(const int8_t *input) {\n  if (input == 0) return TN_ERR_ARG;\n"
        << "  return tn_invoke(input, 0);\n}\n\n";
    }
    c << "int tinynas_invoke_frame(const uint8_t *pixels, int32_t pitch, int32_t format) {\n"
      << "  tn_frame_t frame;\n"
      << "  if (pixels == 0 || tn_frame_channels(format) != TINYNAS_FRAME_CHANNELS) return TN_ERR_ARG;\n"
      << "  frame.pixels = pixels;\n  frame.pitch = pitch;\n  frame.format = format;\n"
      << "  frame.lut = tinynas_frame_lut;\n  return tn_invoke(0, &frame);\n}\n";
  }
  out.source = c.str();
  return out;
}

GeneratedTest generate_test_program(const Int8Model& model,
                                    const std::vector<std::vector<int8_t>>& inputs,
                                    const std::vector<std::vector<int8_t>>& expected,
                                    bool print_labels,
                                    const std::vector<std::vector<uint8_t>>& frames) {
  if (inputs.size() != expected.size() || inputs.empty()) {
    throw std::invalid_argument("the test program needs as many expected outputs as inputs");
  }
  if (!frames.empty() && frames.size() != inputs.size()) {
    throw std::invalid_argument("the test program needs a frame per input, or none");
  }
  GeneratedTest t;
  std::ostringstream d;
  int64_t unused = 0;
  d << "/* Generated by tinynas: test images and the C++ reference's outputs. */\n"
    << "#include <stdint.h>\n\n#include \"model.h\"\n\n";
  const int out_bytes = output_element_bytes(model.graph);
  const int64_t out_size = model.graph.tensors[model.graph.output].bytes();
  std::vector<int8_t> all_in, all_out;
  for (const auto& v : inputs) all_in.insert(all_in.end(), v.begin(), v.end());
  for (const auto& v : expected) {
    if (static_cast<int64_t>(v.size()) != out_size) {
      throw std::invalid_argument(fmt::format("the test program needs expected outputs of {} bytes, got {}",
                                              out_size, v.size()));
    }
    all_out.insert(all_out.end(), v.begin(), v.end());
  }
  emit_array(d, "int8_t", "tn_test_inputs_", all_in, &unused);
  if (out_bytes == 1) {
    emit_array(d, "int8_t", "tn_test_expected_", all_out, &unused);
  } else {
    // int32 outputs: the values (the reference's bytes are the host's int32s), compared byte for
    // byte with the target's own int32s.
    std::vector<int32_t> values(all_out.size() / 4);
    std::memcpy(values.data(), all_out.data(), values.size() * 4);
    emit_array(d, "int32_t", "tn_test_expected_", values, &unused);
  }
  if (!frames.empty()) {
    std::vector<uint8_t> all_frames;
    for (const auto& v : frames) all_frames.insert(all_frames.end(), v.begin(), v.end());
    emit_array(d, "uint8_t", "tn_test_frames_", all_frames, &unused);
    d << "const uint8_t *const tn_test_frames = tn_test_frames_;\n";
  }
  d << "const int8_t *const tn_test_inputs = tn_test_inputs_;\n"
    << (out_bytes == 1 ? "const int8_t *const tn_test_expected = tn_test_expected_;\n"
                       : "const int8_t *const tn_test_expected = (const int8_t *)tn_test_expected_;\n")
    << "const int tn_test_count = " << inputs.size() << ";\n";
  t.test_data_c = d.str();
  t.main_c = std::string(print_labels ? "#define TN_PRINT_LABELS 1\n" : "") +
             (frames.empty() ? "" : "#define TN_TEST_FRAMES 1\n") + R"(/* Generated by tinynas: runs the model on the test images and checks every output byte
 * against the C++ reference. The same file builds for the host and for Cortex-M (QEMU). */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "tn_profile.h"
#include "tn_runtime.h"

extern const int8_t *const tn_test_inputs;
extern const int8_t *const tn_test_expected;
extern const int tn_test_count;

#if !TINYNAS_INPUT_IN_ARENA
/* The application's input buffer (a camera frame, a microphone's DMA buffer): writable, so that
 * a model writing to its input is caught, and at an address aligned to no more than its element
 * (odd for an image), since the API promises no more. */
static int16_t tn_frame_storage[TINYNAS_INPUT_SIZE / 2 + 2];
static int8_t *const tn_frame = (int8_t *)tn_frame_storage + TINYNAS_INPUT_ELEMENT_BYTES;
#endif

static void write_text(const char *s) { fputs(s, stdout); }

#if defined(TN_TEST_FRAMES) && defined(TINYNAS_FRAME_CHANNELS) && !defined(TN_TEST_NO_FRAMES)
/* Runs the int8 path on `image` (TINYNAS_INPUT_SIZE bytes): 0 or the kernel's status. */
static int run_int8(const int8_t *image) {
#if TINYNAS_INPUT_IN_ARENA
  memcpy(tinynas_input(), image, TINYNAS_INPUT_SIZE);
  return tinynas_invoke();
#else
  return tinynas_invoke(image);
#endif
}

/* Camera frames: each test image's uint8 pixels as a window at (1, 1) of a larger frame (rows
 * TN_PITCH bytes apart, the rest 0xA5), through tinynas_invoke_frame. */
extern const uint8_t *const tn_test_frames;
#define TN_PITCH ((TINYNAS_INPUT_W + 3) * 3 + 1)
static uint8_t tn_camera[(TINYNAS_INPUT_H + 2) * TN_PITCH], tn_camera_copy[sizeof tn_camera];
static int8_t tn_frame_image[TINYNAS_INPUT_SIZE]@FRAME_OUT_SEP@tn_frame_out[TINYNAS_OUTPUT_SIZE];

/* Image i in `format` in the camera frame (RGB565 packed from the RGB888 pixels); its window. */
static const uint8_t *put_frame(int i, int format) {
  const uint8_t *src = tn_test_frames + (long)i * TINYNAS_INPUT_SIZE;
  uint8_t *win = tn_camera + TN_PITCH + 3;
  int y, x;
  memset(tn_camera, 0xA5, sizeof tn_camera);
  for (y = 0; y < TINYNAS_INPUT_H; ++y) {
    for (x = 0; x < TINYNAS_INPUT_W; ++x) {
      const uint8_t *s = src + ((long)y * TINYNAS_INPUT_W + x) * TINYNAS_INPUT_C;
      uint8_t *d = win + (long)y * TN_PITCH;
      if (format == TINYNAS_FRAME_RGB565) {
        const unsigned v = ((unsigned)(s[0] >> 3) << 11) | ((unsigned)(s[1] >> 2) << 5) | (unsigned)(s[2] >> 3);
        d[2 * x] = (uint8_t)(v & 255u);
        d[2 * x + 1] = (uint8_t)(v >> 8);
      } else {
        memcpy(d + x * TINYNAS_INPUT_C, s, TINYNAS_INPUT_C);
      }
    }
  }
  memcpy(tn_camera_copy, tn_camera, sizeof tn_camera);
  return win;
}

/* 1 if the frame path gives the int8 path's logits on the image the table makes of the frame
 * (and `ref`'s, when given) and leaves the frame unchanged. Prints the frame path's logits. */
static int check_frame(int i, int format, const @OUT_T@ *ref) {
  const uint8_t *win = put_frame(i, format);
  tn_frame_t f;
  int k, rc = tinynas_invoke_frame(win, TN_PITCH, format);
  if (rc != 0) {
    printf("error: tinynas_invoke_frame returned %d on image %d, format %d\n", rc, i, format);
    return 0;
  }
  memcpy(tn_frame_out, tinynas_output(), @OUT_BYTES@);
  printf("frame,%d,%d", i, format);
  for (k = 0; k < TINYNAS_OUTPUT_SIZE; ++k) printf(",@OUT_FMT@", @OUT_CAST@tn_frame_out[k]);
  printf("\n");
  if (memcmp(tn_camera, tn_camera_copy, sizeof tn_camera) != 0) {
    printf("error: tinynas_invoke_frame wrote to its frame on image %d\n", i);
    return 0;
  }
  f.pixels = win;
  f.pitch = TN_PITCH;
  f.format = format;
  f.lut = tinynas_frame_lut;
  tn_crop_frame_s8(&f, TINYNAS_INPUT_H, TINYNAS_INPUT_W, 0, 0, TINYNAS_INPUT_H, TINYNAS_INPUT_W, 0, tn_frame_image);
  if (run_int8(tn_frame_image) != 0) return 0;
  return memcmp(tn_frame_out, tinynas_output(), @OUT_BYTES@) == 0 &&
         (ref == 0 || memcmp(tn_frame_out, ref, @OUT_BYTES@) == 0);
}
#define TN_RUN_FRAMES 1
#endif

int main(void) {
  int i, k, matches = 0, frames_ok = 1;
#ifdef TN_RUN_FRAMES
  int frames_equal = 0, frames_run = 0;
  static @OUT_T@ int8_out[TINYNAS_OUTPUT_SIZE];
#endif
  for (i = 0; i < tn_test_count; ++i) {
    const int8_t *image = tn_test_inputs + (long)i * TINYNAS_INPUT_SIZE;
    const @OUT_T@ *out;
    int rc;
#if TINYNAS_INPUT_IN_ARENA
    memcpy(tinynas_input(), image, TINYNAS_INPUT_SIZE);
    rc = tinynas_invoke();
#else
    memcpy(tn_frame, image, TINYNAS_INPUT_SIZE);
    rc = tinynas_invoke(tn_frame);
    if (memcmp(tn_frame, image, TINYNAS_INPUT_SIZE) != 0) {
      printf("error: tinynas_invoke wrote to its input on image %d\n", i);
      return 1;
    }
#endif
    if (rc != 0) {
      printf("error: tinynas_invoke returned %d on image %d\n", rc, i);
      return 1;
    }
    out = tinynas_output();
    printf("out,%d", i);
    for (k = 0; k < TINYNAS_OUTPUT_SIZE; ++k) printf(",@OUT_FMT@", @OUT_CAST@out[k]);
    printf("\n");
#ifdef TN_PRINT_LABELS
    {
      int best = 0;
      for (k = 1; k < TINYNAS_OUTPUT_SIZE; ++k) {
        if (out[k] > out[best]) best = k;
      }
      printf("label,%d,%s\n", i, tinynas_labels[best]);
    }
#endif
    if (memcmp(out, tn_test_expected + (long)i * @OUT_BYTES@, @OUT_BYTES@) == 0) {
      ++matches;
    }
#ifdef TN_RUN_FRAMES
    memcpy(int8_out, out, @OUT_BYTES@);
#if TINYNAS_FRAME_CHANNELS == 3
    frames_equal += check_frame(i, TINYNAS_FRAME_RGB888, int8_out);
    frames_equal += check_frame(i, TINYNAS_FRAME_RGB565, 0);
    frames_run += 2;
#else
    frames_equal += check_frame(i, TINYNAS_FRAME_GRAY8, int8_out);
    frames_run += 1;
#endif
#endif
  }
  printf("arena %d\n", TINYNAS_ARENA_BYTES);
#ifdef TN_RUN_FRAMES
  printf("frames_equal %d/%d\n", frames_equal, frames_run);
  if (frames_equal != frames_run) frames_ok = 0;
#endif
  printf("match %d/%d\n", matches, tn_test_count);
#ifdef TN_PROFILE
  printf("clock %s\n", tn_profile_clock_name());
  tn_profile_print_csv(write_text);
#else
  (void)write_text;
#endif
  fflush(stdout);
  return matches == tn_test_count && frames_ok ? 0 : 1;
}
)";
  // The output's element type (model.h's tinynas_output()): int8 logits, or an int32 score.
  const bool wide = out_bytes == 4;
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"@FRAME_OUT_SEP@", wide ? ";\nstatic int32_t " : ", "},
           {"@OUT_T@", wide ? "int32_t" : "int8_t"},
           {"@OUT_BYTES@", wide ? "TINYNAS_OUTPUT_SIZE * 4" : "TINYNAS_OUTPUT_SIZE"},
           {"@OUT_FMT@", wide ? "%ld" : "%d"},
           {"@OUT_CAST@", wide ? "(long)" : ""}}) {
    for (std::size_t at = t.main_c.find(key); at != std::string::npos; at = t.main_c.find(key, at)) {
      t.main_c.replace(at, key.size(), value);
      at += value.size();
    }
  }
  return t;
}

}  // namespace tinynas
