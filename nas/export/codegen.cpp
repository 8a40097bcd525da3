#include "nas/export/codegen.h"

#include <fmt/core.h>

#include <sstream>
#include <stdexcept>

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

// The generator's side of EmitContext (ops/emit.h): operators write their constants and calls
// through it; the arena, the patch loop and the file around them are written here.
struct Emitter final : EmitContext {
  const Int8Model& m;
  const MemoryPlan& plan;
  std::ostringstream data_;  // file-scope constants
  std::ostringstream body_;  // tinynas_invoke()
  int64_t const_bytes = 0;

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
    l.op->emit_call(*this, i, l, m.layers[i], ins, out);
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

GeneratedC generate_model_c(const Int8Model& model, const MemoryPlan& plan,
                            const std::vector<std::string>& labels) {
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
  for (int i = 0; i < static_cast<int>(g.layers.size()); ++i) e.emit_constants(i);
  if (plan.patched) e.emit_patch_stage();
  for (int i = first_layer; i < static_cast<int>(g.layers.size()); ++i) e.emit_layer(i);

  const Shape in = g.tensors[g.input].shape;
  const QuantParams qi = model.tensor_quant[g.input], qo = model.tensor_quant[g.output];
  GeneratedC out;
  out.arena_bytes = plan.arena_bytes;
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
  h << "/* The int8 logits of the last tinynas_invoke(). */\n"
    << "const int8_t *tinynas_output(void);\n";
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
  c << "const int8_t *tinynas_output(void) { return " << arena_at(plan.tensors[g.output].offset)
    << "; }\n\n";
  c << (in_arena ? "int tinynas_invoke(void) {\n" : "int tinynas_invoke(const int8_t *input) {\n")
    << "  int rc;\n";
  if (plan.patched) c << "  int q;\n  int32_t slot = " << g.layers.size() << ";\n  (void)slot;\n";
  if (!in_arena) c << "  if (input == 0) return TN_ERR_ARG;\n";
  c << e.body_.str() << "  return TN_OK;\n}\n";
  out.source = c.str();
  return out;
}

GeneratedTest generate_test_program(const Int8Model& model,
                                    const std::vector<std::vector<int8_t>>& inputs,
                                    const std::vector<std::vector<int8_t>>& expected,
                                    bool print_labels) {
  if (inputs.size() != expected.size() || inputs.empty()) {
    throw std::invalid_argument("the test program needs as many expected outputs as inputs");
  }
  GeneratedTest t;
  std::ostringstream d;
  int64_t unused = 0;
  d << "/* Generated by tinynas: test images and the C++ reference's outputs. */\n"
    << "#include <stdint.h>\n\n#include \"model.h\"\n\n";
  std::vector<int8_t> all_in, all_out;
  for (const auto& v : inputs) all_in.insert(all_in.end(), v.begin(), v.end());
  for (const auto& v : expected) all_out.insert(all_out.end(), v.begin(), v.end());
  emit_array(d, "int8_t", "tn_test_inputs_", all_in, &unused);
  emit_array(d, "int8_t", "tn_test_expected_", all_out, &unused);
  d << "const int8_t *const tn_test_inputs = tn_test_inputs_;\n"
    << "const int8_t *const tn_test_expected = tn_test_expected_;\n"
    << "const int tn_test_count = " << inputs.size() << ";\n";
  t.test_data_c = d.str();
  (void)model;
  t.main_c = std::string(print_labels ? "#define TN_PRINT_LABELS 1\n" : "") + R"(/* Generated by tinynas: runs the model on the test images and checks every output byte
 * against the C++ reference. The same file builds for the host and for Cortex-M (QEMU). */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "tn_profile.h"

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

int main(void) {
  int i, k, matches = 0;
  for (i = 0; i < tn_test_count; ++i) {
    const int8_t *image = tn_test_inputs + (long)i * TINYNAS_INPUT_SIZE;
    const int8_t *out;
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
    for (k = 0; k < TINYNAS_OUTPUT_SIZE; ++k) printf(",%d", out[k]);
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
    if (memcmp(out, tn_test_expected + (long)i * TINYNAS_OUTPUT_SIZE, TINYNAS_OUTPUT_SIZE) == 0) {
      ++matches;
    }
  }
  printf("arena %d\n", TINYNAS_ARENA_BYTES);
  printf("match %d/%d\n", matches, tn_test_count);
#ifdef TN_PROFILE
  printf("clock %s\n", tn_profile_clock_name());
  tn_profile_print_csv(write_text);
#else
  (void)write_text;
#endif
  fflush(stdout);
  return matches == tn_test_count ? 0 : 1;
}
)";
  return t;
}

}  // namespace tinynas
