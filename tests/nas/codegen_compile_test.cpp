// Codegen checked against runtime/tn_runtime.h in the test suite, not only when a user compiles an
// export: a model with every op kind is generated (layer by layer, and with a patch stage) and
// compiled with -Werror -Wmissing-field-initializers against the runtime's header, together with
// a checker that #includes model.c and reads every generated tn_conv_params_t, tn_add_params_t and
// tn_fc_params_t field BY NAME, so a positional initialiser that lands in the wrong field fails
// here. (tests/nas/codegen_layout_check.c asserts the field order itself at build time.)
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sys/wait.h>

#include "estimators/memory_plan.h"
#include "nas/export/codegen.h"
#include "nas/export/float_model.h"
#include "nas/export/int8_model.h"
#include "tests/nas/random_model.h"
#include "search_spaces/atomic_file.h"
#include "tests/temp_dir.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;

const std::string kRoot = TINYNAS_SOURCE_DIR;

// C statements checking every field of layer i's generated parameter struct by name.
std::string field_checks(const Int8Model& m, int i, bool patched_layer) {
  const Layer& l = m.graph.layers[i];
  const Int8Layer& q = m.layers[i];
  const int32_t zp_in = m.tensor_quant[l.inputs[0]].zero_point, zp_out = m.tensor_quant[l.output].zero_point;
  std::string c;
  auto check = [&](const std::string& field, int64_t value) {
    c += fmt::format("  CHECK({}, {});\n", field, value);
  };
  // (A new operator kind with a parameter block adds its fields here.)
  const std::string kind = l.op->name();
  if (kind == "mfcc") {  // MLPerf Tiny's front end, quantised as the layer says
    const std::string p = fmt::format("mfcc{}_params.", i);
    check(p + "frame_length", 480);
    check(p + "frame_step", 320);
    check(p + "fft_length", 512);
    check(p + "num_mel", 40);
    check(p + "num_out", l.out.w);
    check(p + "output_zero_point", zp_out);
    EXPECT_EQ(zp_out, l.out_zero_point);
  }
  if (kind == "conv" || kind == "pointwise" || kind == "depthwise") {
    {
      const std::string p = fmt::format("p{}.", i);
      // In a patch stage the geometry is per patch (set at run time from g{i}); zero here.
      check(p + "h_in", patched_layer ? 0 : l.in.h);
      check(p + "w_in", patched_layer ? 0 : l.in.w);
      check(p + "c_in", l.in.c);
      check(p + "h_out", patched_layer ? 0 : l.out.h);
      check(p + "w_out", patched_layer ? 0 : l.out.w);
      check(p + "c_out", l.out.c);
      check(p + "kh", l.kh);
      check(p + "kw", l.kw);
      check(p + "stride_h", l.stride);
      check(p + "stride_w", l.stride);
      check(p + "pad_top", patched_layer ? 0 : l.pad_top);
      check(p + "pad_left", patched_layer ? 0 : l.pad_left);
      check(p + "pad_bottom", patched_layer ? 0 : l.pad_bottom);
      check(p + "pad_right", patched_layer ? 0 : l.pad_right);
      check(p + "input_zero_point", zp_in);
      check(p + "output_zero_point", zp_out);
      check(p + "act_min", q.act_min);
      check(p + "act_max", q.act_max);
      c += fmt::format("  CHECK({}out_multiplier == m{}, 1);\n  CHECK({}out_shift == s{}, 1);\n", p, i, p, i);
    }
  } else if (kind == "add") {
    {
      const std::string p = fmt::format("add{}.", i);
      check(p + "input1_zero_point", zp_in);
      check(p + "input2_zero_point", m.tensor_quant[l.inputs[1]].zero_point);
      check(p + "output_zero_point", zp_out);
      check(p + "left_shift", q.left_shift);
      check(p + "input1_multiplier", q.input1_multiplier);
      check(p + "input1_shift", q.input1_shift);
      check(p + "input2_multiplier", q.input2_multiplier);
      check(p + "input2_shift", q.input2_shift);
      check(p + "output_multiplier", q.output_multiplier);
      check(p + "output_shift", q.output_shift);
      check(p + "act_min", q.act_min);
      check(p + "act_max", q.act_max);
    }
  } else if (kind == "fc") {
    {
      const std::string p = fmt::format("p{}.", i);
      check(p + "in_features", l.in.c);
      check(p + "out_features", l.out.c);
      check(p + "input_zero_point", zp_in);
      check(p + "output_zero_point", zp_out);
      check(p + "act_min", q.act_min);
      check(p + "act_max", q.act_max);
      c += fmt::format("  CHECK({}out_multiplier == m{}, 1);\n  CHECK({}out_shift == s{}, 1);\n", p, i, p, i);
      check(p + "per_channel", 1);
    }
  } else if (kind == "mse") {  // the reconstruction error: its inputs' zero points, s_r / s_x
    const std::string p = fmt::format("mse{}.", i);
    check(p + "recon_zero_point", zp_in);
    check(p + "input_zero_point", m.tensor_quant[l.inputs[1]].zero_point);
    check(p + "recon_multiplier", q.multiplier.at(0));
    check(p + "recon_shift", q.shift.at(0));
    EXPECT_EQ(m.tensor_quant[l.output].zero_point, 0);
  } else if (kind == "upsample") {  // nearest neighbour: the input's geometry, the factor
    const std::string p = fmt::format("up{}.", i);
    check(p + "h_in", l.in.h);
    check(p + "w_in", l.in.w);
    check(p + "c", l.in.c);
    check(p + "factor", l.stride);
    EXPECT_EQ(l.out.h, l.in.h * l.stride);
    EXPECT_EQ(zp_out, zp_in);  // a copy keeps the input's quantisation
  } else if (kind == "softmax") {
    const std::string p = fmt::format("sm{}.", i);
    check(p + "input_multiplier", q.multiplier.at(0));
    check(p + "input_left_shift", q.shift.at(0));
    check(p + "diff_min", q.diff_min);
  }  // avgpool: a call with literal arguments, no struct
  return c;
}

struct Compiled {
  int code;
  std::string out;
};

Compiled sh(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  std::string out;
  while (std::size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  return {WEXITSTATUS(pclose(p)), out};
}

// Generates C for the graph, compiles it strictly with a by-name field checker, runs the checker.
// `every_kind`: the graph must use every registered op kind.
// `norm`: also the camera-frame API (nas/export/codegen.h), which must then be generated.
void compile_and_check(const NetGraph& g, const PlanOptions& options, const std::string& name,
                       bool every_kind = true, const Normalization* norm = nullptr) {
  SCOPED_TRACE(name);
  const Int8Model m = random_int8_model(g, 11);
  const MemoryPlan plan = plan_memory(g, options);
  ASSERT_TRUE(plan.ok);
  const GeneratedC c = generate_model_c(m, plan, {}, norm);
  ASSERT_EQ(c.frame_api, norm != nullptr);
  std::set<const OpDescriptor*> kinds;
  std::string checks;
  int structs = 0;
  for (int i = 0; i < static_cast<int>(g.layers.size()); ++i) {
    kinds.insert(g.layers[i].op);
    const bool patched_layer = plan.patched && i < plan.patch.stage_end;
    checks += field_checks(m, i, patched_layer);
    structs += g.layers[i].op != &op("avgpool");
  }
  if (every_kind) {
    // Every kind, but a front end only where one can be (before the network, no patches), and
    // one front end at most (mfcc and logmel are alternatives).
    int front_ends = 0;
    for (const OpDescriptor* d : all_ops()) front_ends += d->is_front_end();
    const bool has_front_end = g.layers.front().op->is_front_end();
    ASSERT_EQ(static_cast<int>(kinds.size()), num_ops() - front_ends + (has_front_end ? 1 : 0))
        << "the sample lacks an op kind";
  }

  TempDir dir("codegen_compile_" + name);
  fs::create_directories(dir.path);
  std::ofstream(dir.path + "/model.h") << c.header;
  std::ofstream(dir.path + "/model.c") << c.source;
  std::ofstream(dir.path + "/check.c")
      << "/* Every generated parameter struct, field by field by name. */\n"
      << "#include <stdio.h>\n#include \"model.c\"\n\n"
      << "static int bad = 0, checked = 0;\n"
      << "#define CHECK(field, value) do { ++checked; if ((long long)(field) != (long long)(value)) {"
         " ++bad; printf(\"MISMATCH %s = %lld, expected %lld\\n\", #field, (long long)(field),"
         " (long long)(value)); } } while (0)\n\n"
      << "int main(void) {\n"
      << checks << "  printf(\"checked %d fields, %d mismatches\\n\", checked, bad);\n"
      << "  return bad != 0;\n}\n";
  std::string runtime_srcs;
  for (const auto& e : fs::directory_iterator(kRoot + "/runtime")) {
    if (e.path().extension() == ".c") runtime_srcs += " " + e.path().string();
  }
  const std::string exe = dir.path + "/check";
  const Compiled cc = sh("cc -std=c99 -O0 -Wall -Wextra -Wpedantic -Werror -Wmissing-field-initializers "
                         "-Wmissing-braces -Woverflow -I" + dir.path + " -I" + kRoot + "/runtime " + dir.path +
                         "/check.c" + runtime_srcs + " -o " + exe);
  ASSERT_EQ(cc.code, 0) << "the generated C does not compile against runtime/tn_runtime.h:\n" << cc.out;
  const Compiled run = sh(exe);
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find(" 0 mismatches"), std::string::npos) << run.out;
  EXPECT_GE(structs, 10);
}

// A softmax after the classifier, as an imported model has (nas/export/tflite_*.cpp), and the
// reconstruction error of the probabilities against the logits (an autoencoder's last layer, on
// two tensors of one element count; its int32 output ends the graph): lowered classifiers end in
// logits, so the samples below append both to use every op kind.
NetGraph with_softmax(NetGraph g);
NetGraph with_upsample(NetGraph g);
NetGraph with_softmax_and_mse(NetGraph g) {
  g = with_softmax(with_upsample(std::move(g)));
  const int logits = g.layers.back().inputs[0], probabilities = g.output;
  Layer l;
  l.op = &op("mse");
  l.role = LayerRole::Error;
  l.inputs[0] = probabilities;
  l.inputs[1] = logits;
  l.in = g.tensors[probabilities].shape;
  l.block = g.layers.back().block;
  l.op->infer(&l, static_cast<int>(g.tensors[logits].shape.elements()));
  const int index = static_cast<int>(g.layers.size());
  TensorInfo t;
  t.shape = l.out;
  t.producer = index;
  t.element_bytes = l.op->output_element_bytes();
  g.tensors[probabilities].last_consumer = index;
  g.tensors[logits].last_consumer = index;
  l.output = static_cast<int>(g.tensors.size());
  g.tensors.push_back(t);
  g.layers.push_back(l);
  g.output = l.output;
  return g;
}

// The logits upsampled by 2 (1 x 1 x K -> 2 x 2 x K: a decoder's nearest-neighbour upsampling,
// set_window(1, 1, 2) as the lowering calls it), so that the samples use that kind too.
NetGraph with_upsample(NetGraph g) {
  Layer l;
  l.op = &op("upsample");
  l.role = LayerRole::Expand;
  l.inputs[0] = g.output;
  l.in = g.tensors[g.output].shape;
  l.block = g.layers.back().block;
  l.set_window(1, 1, 2);
  l.op->infer(&l, l.in.c);
  const int index = static_cast<int>(g.layers.size());
  TensorInfo t;
  t.shape = l.out;
  t.producer = index;
  g.tensors[g.output].last_consumer = index;
  l.output = static_cast<int>(g.tensors.size());
  g.tensors.push_back(t);
  g.layers.push_back(l);
  g.output = l.output;
  return g;
}

NetGraph with_softmax(NetGraph g) {
  Layer l;
  l.op = &op("softmax");
  l.role = LayerRole::Softmax;
  l.inputs[0] = g.output;
  l.in = g.tensors[g.output].shape;
  l.block = g.layers.back().block;
  l.op->infer(&l, l.in.c);
  const int index = static_cast<int>(g.layers.size());
  TensorInfo t;
  t.shape = l.out;
  t.producer = index;
  g.tensors[g.output].last_consumer = index;
  l.output = static_cast<int>(g.tensors.size());
  g.tensors.push_back(t);
  g.layers.push_back(l);
  g.output = l.output;
  return g;
}

NetGraph sample_graph(const PatchSchedule& patch) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  ArchSpec arch = ArchSpec::largest(space);  // every depth at its largest: residual ADDs
  arch.resolution = 24;
  arch.patch = patch;
  return with_softmax_and_mse(lower(space, arch));
}

// fmnist-mbv2's largest subnet behind the MFCC front end (a keyword spotter's input).
NetGraph front_end_graph() {
  std::string yaml = read_file(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  const auto at = yaml.find("resolutions:");
  yaml = yaml.substr(0, at) + "resolutions: [49]\ninput_size: [49, 10]\n"
         "front_end: {kind: mfcc, scale: 0.6, zero_point: 83}\n";
  const SearchSpace space = SearchSpace::from_config(ConfigNode::parse(yaml, "fmnist-mbv2+mfcc.yaml"));
  return with_softmax_and_mse(lower(space, ArchSpec::largest(space)));
}

TEST(CodegenCompile, EveryOpKindCompilesStrictlyAndEveryFieldIsWhereCodegenMeantIt) {
  compile_and_check(front_end_graph(), PlanOptions{}, "lbl");
  compile_and_check(sample_graph(PatchSchedule{}), PlanOptions{}, "image");
}

TEST(CodegenCompile, PatchStageCompilesStrictlyToo) {
  const NetGraph g = sample_graph(PatchSchedule{2, 2});
  ASSERT_TRUE(g.patch.enabled());
  compile_and_check(g, PlanOptions{}, "patch");
}

// DS-CNN (configs/spaces/kws-dscnn.yaml): a non-square 10x4 stem with asymmetric pads
// (4, 1, 5, 1) lands in kh, kw and the four pad fields by name; no add (separable blocks).
TEST(CodegenCompile, NonSquareStemWithAsymmetricPadsLandsInItsFields) {
  SearchSpace space = [] {  // the network alone, on its 49 x 10 features (the MFCC front end: Export.FrontEnd*)
    SearchSpace s = SearchSpace::load(kRoot + "/configs/spaces/kws-dscnn.yaml");
    s.front_end = {};
    return s;
  }();
  ArchSpec arch = ArchSpec::largest(space);
  const NetGraph g = lower(space, arch);
  ASSERT_EQ(g.layers.front().kh, 10);
  ASSERT_EQ(g.layers.front().kw, 4);
  ASSERT_EQ(g.layers.front().pad_bottom, 5);
  compile_and_check(g, PlanOptions{}, "dscnn", /*every_kind=*/false);
  space.patch = {{1, 2}, 2};
  arch.patch = {2, 2};
  compile_and_check(lower(space, arch), PlanOptions{}, "dscnn_patch", /*every_kind=*/false);
}

// The camera-frame API, RGB (stem conv reading the frame, image outside the arena; patch crops
// from the frame), compiles strictly on the host as above, and model.c with a test program that
// calls tinynas_invoke_frame compiles warning-free (-Werror) with arm-none-eabi-gcc for the
// Cortex-M7 (the QEMU run of such a program: Export.RgbFramesOnQemu*).
TEST(CodegenCompile, FrameApiCompilesStrictlyForTheHostAndTheCortexM7) {
  SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  space.input_channels = 3;
  space.stem_stride = 2;
  ArchSpec arch = ArchSpec::largest(space);
  arch.resolution = 32;
  const Normalization norm{{0.5, 0.4, 0.3}, {0.25, 0.25, 0.3}};
  PlanOptions outside;
  outside.input_in_arena = false;
  compile_and_check(with_softmax_and_mse(lower(space, arch)), outside, "frame_rgb", true, &norm);
  ArchSpec patched = arch;
  patched.patch = {2, 2};
  compile_and_check(with_softmax_and_mse(lower(space, patched)), PlanOptions{}, "frame_rgb_patch", true, &norm);
  if (sh("command -v arm-none-eabi-gcc").code != 0) GTEST_SKIP() << "arm-none-eabi-gcc not installed";
  for (const ArchSpec& a : {arch, patched}) {
    const NetGraph g = lower(space, a);
    const Int8Model m = random_int8_model(g, 12);
    const GeneratedC c = generate_model_c(m, plan_memory(g, a.patch.enabled() ? PlanOptions{} : outside), {}, &norm);
    ASSERT_TRUE(c.frame_api);
    const std::vector<std::vector<int8_t>> in{std::vector<int8_t>(g.tensors[0].bytes(), 1)};
    const std::vector<std::vector<int8_t>> out{std::vector<int8_t>(g.tensors[g.output].shape.elements(), 0)};
    const std::vector<std::vector<uint8_t>> frames{std::vector<uint8_t>(g.tensors[0].bytes(), 200)};
    const GeneratedTest t = generate_test_program(m, in, out, false, frames);
    TempDir dir("codegen_compile_arm_" + std::to_string(a.patch.patches));
    fs::create_directories(dir.path);
    std::ofstream(dir.path + "/model.h") << c.header;
    std::ofstream(dir.path + "/model.c") << c.source;
    std::ofstream(dir.path + "/main.c") << t.main_c;
    std::ofstream(dir.path + "/test_data.c") << t.test_data_c;
    const Compiled cc = sh("cd " + dir.path + " && arm-none-eabi-gcc -mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16 -O2 "
                           "-std=gnu99 -Wall -Wextra -Werror -I" + dir.path + " -I" + kRoot + "/runtime -c " +
                           dir.path + "/model.c " + dir.path + "/main.c " + dir.path + "/test_data.c");
    EXPECT_EQ(cc.code, 0) << cc.out;
  }
}

}  // namespace
}  // namespace tinynas
