// Generates C for random int8 models, compiles it with the host C compiler together with the
// runtime, runs it, and checks every output byte against the C++ reference, layer by layer and
// patch by patch, with the image in the arena or in the caller's buffer; the generated arena must
// be the memory plan's estimate exactly.
#include "nas/export/codegen.h"

#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <unistd.h>

#include "estimators/memory_plan.h"
#include "nas/export/float_model.h"
#include "search_spaces/arch_sampler.h"
#include "tests/estimators/test_util.h"
#include "tests/nas/random_model.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kRoot = TINYNAS_SOURCE_DIR;

struct Built {
  Int8Model model;
  std::vector<std::vector<int8_t>> inputs, expected;
};

Built build_model(const NetGraph& g, uint64_t seed, int images, int calibration_images = 8) {
  const FloatModel fm = FloatModel::fold(g, random_weights(g, seed));
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> pixel(-1.0f, 2.0f);
  const int n = static_cast<int>(g.tensors[g.input].bytes());
  auto image = [&] {
    std::vector<float> img(n);
    for (float& v : img) v = pixel(rng);
    return img;
  };
  RangeObserver obs(g);
  for (int i = 0; i < calibration_images; ++i) obs.observe(fm.run_all(image()));
  Built b{Int8Model::quantize(fm, obs.ranges()), {}, {}};
  for (int i = 0; i < images; ++i) {
    b.inputs.push_back(b.model.quantize_input(image()));
    b.expected.push_back(b.model.run(b.inputs.back()));
  }
  return b;
}

Built build_model(const SearchSpace& space, const ArchSpec& arch, uint64_t seed, int images) {
  return build_model(lower(space, arch), seed, images);
}

struct RunResult {
  int code;
  std::string out;
};

// Writes the generated files to a fresh directory, compiles them with the runtime (`cflags`:
// e.g. -DTN_EMULATE_DSP=1 for the Arm SMLAD path with emulated intrinsics), runs.
RunResult compile_and_run(const GeneratedC& c, const GeneratedTest& t, const std::string& name,
                          const std::string& cflags = "") {
  const fs::path dir =
      fs::temp_directory_path() / ("tinynas_codegen_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "model.h") << c.header;
  std::ofstream(dir / "model.c") << c.source;
  std::ofstream(dir / "main.c") << t.main_c;
  std::ofstream(dir / "test_data.c") << t.test_data_c;
  std::string runtime_srcs;
  for (const auto& e : fs::directory_iterator(kRoot + "/runtime")) {
    if (e.path().extension() == ".c") runtime_srcs += " " + e.path().string();
  }
  const std::string exe = (dir / "model").string();
  const std::string cc = "cc -std=c99 -O1 -Wall -Wextra -Werror " + cflags + " -I" + dir.string() + " -I" + kRoot +
                         "/runtime " + (dir / "model.c").string() + " " + (dir / "main.c").string() +
                         " " + (dir / "test_data.c").string() + runtime_srcs + " -o " + exe + " 2>&1";
  RunResult r{0, ""};
  auto run = [&](const std::string& cmd) {
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    std::string out;
    while (std::size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
    return RunResult{WEXITSTATUS(pclose(p)), out};
  };
  r = run(cc);
  if (r.code != 0) return {100 + r.code, "compile failed:\n" + r.out};
  r = run(exe);
  fs::remove_all(dir);
  return r;
}

SearchSpace fmnist() { return SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml"); }

TEST(Codegen, LayerByLayerIsBitExactAndTheArenaIsThePlan) {
  const SearchSpace space = fmnist();
  ArchSampler sampler(space, 21);
  for (int n = 0; n < 2; ++n) {
    ArchSpec arch = sampler.sample();
    arch.resolution = 24 + 4 * n;
    const Built b = build_model(space, arch, 40 + n, 6);
    const MemoryPlan plan = plan_memory(b.model.graph);
    const GeneratedC c = generate_model_c(b.model, plan);
    EXPECT_EQ(c.arena_bytes, plan.arena_bytes);
    EXPECT_THAT(c.source, HasSubstr("static int8_t tn_arena[" + std::to_string(plan.arena_bytes) + "];"));
    EXPECT_THAT(c.header, HasSubstr("#define TINYNAS_ARENA_BYTES " + std::to_string(plan.arena_bytes)));
    EXPECT_GE(c.const_bytes, b.model.graph.weight_count() + 4 * b.model.graph.bias_count());
    const RunResult r = compile_and_run(c, generate_test_program(b.model, b.inputs, b.expected),
                                        "lbl" + std::to_string(n));
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("match 6/6")) << arch.to_string();
  }
}

TEST(Codegen, PatchBasedIsBitExactWithLayerByLayer) {
  const SearchSpace space = fmnist();
  ArchSampler sampler(space, 33);
  int runs = 0;
  for (int n = 0; runs < 3 && n < 20; ++n) {
    ArchSpec arch = sampler.sample();
    arch.resolution = 32;
    arch.patch = {2 + n % 3, 1 + n % 4};
    if (arch.patch.split > arch.num_blocks()) continue;
    const Built b = build_model(space, arch, 70 + n, 4);
    const MemoryPlan plan = plan_memory(b.model.graph);
    if (!plan.ok) continue;
    ASSERT_TRUE(plan.patched);
    // The expected outputs come from the layer-by-layer reference: patches must not change a bit.
    const GeneratedC c = generate_model_c(b.model, plan);
    EXPECT_EQ(c.arena_bytes, plan.arena_bytes);
    const RunResult r = compile_and_run(c, generate_test_program(b.model, b.inputs, b.expected),
                                        "patch" + std::to_string(n));
    ASSERT_EQ(r.code, 0) << arch.to_string() << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr("match 4/4")) << arch.to_string();
    ++runs;
  }
  EXPECT_EQ(runs, 3);
}

// The "out,<i>,..." lines of a test program's output.
std::string output_lines(const std::string& out) {
  std::string keep;
  std::size_t pos = 0;
  while ((pos = out.find("out,", pos)) != std::string::npos) {
    const std::size_t end = out.find('\n', pos);
    keep += out.substr(pos, end - pos) + "\n";
    pos = end;
  }
  return keep;
}

// The image in the caller's buffer instead of the arena: same bytes out, an arena of exactly the
// plan's size, and the caller's buffer untouched (the test program checks it after every image).
void expect_same_outside_the_arena(const Built& b, const std::string& name) {
  const NetGraph& g = b.model.graph;
  std::string outputs[2];
  int64_t arena[2] = {0, 0};
  for (bool in_arena : {true, false}) {
    SCOPED_TRACE(name + (in_arena ? ", image in the arena" : ", image outside the arena"));
    PlanOptions opt;
    opt.input_in_arena = in_arena;
    const MemoryPlan plan = plan_memory(g, opt);
    ASSERT_TRUE(plan.ok);
    const GeneratedC c = generate_model_c(b.model, plan);
    arena[in_arena] = c.arena_bytes;
    EXPECT_EQ(c.arena_bytes, plan.arena_bytes);
    EXPECT_THAT(c.source, HasSubstr("static int8_t tn_arena[" + std::to_string(plan.arena_bytes) + "];"));
    EXPECT_THAT(c.header, HasSubstr(std::string("#define TINYNAS_INPUT_IN_ARENA ") + (in_arena ? "1" : "0")));
    if (in_arena) {
      EXPECT_THAT(c.header, HasSubstr("int tinynas_invoke(void);"));
    } else {
      EXPECT_THAT(c.header, HasSubstr("int tinynas_invoke(const int8_t *input);"));
      EXPECT_EQ(c.header.find("int8_t *tinynas_input(void);"), std::string::npos);
    }
    const RunResult r = compile_and_run(c, generate_test_program(b.model, b.inputs, b.expected),
                                        name + (in_arena ? "_in" : "_out"));
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string n = std::to_string(b.inputs.size());
    EXPECT_THAT(r.out, HasSubstr("match " + n + "/" + n));
    outputs[in_arena] = output_lines(r.out);
  }
  EXPECT_FALSE(outputs[1].empty());
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_LE(arena[0], arena[1]);
}

TEST(Codegen, InputOutsideTheArenaIsBitExactAndReadOnly) {
  const SearchSpace space = fmnist();
  ArchSampler sampler(space, 5);
  ArchSpec lbl = sampler.sample();
  lbl.resolution = 28;
  expect_same_outside_the_arena(build_model(space, lbl, 90, 4), "lbl");
  int patched = 0;
  for (int n = 0; patched < 2 && n < 20; ++n) {
    ArchSpec arch = sampler.sample();
    arch.resolution = 32;
    arch.patch = {2 + n % 2, 1 + n % 3};
    if (arch.patch.split > arch.num_blocks() || !plan_memory(lower(space, arch)).ok) continue;
    expect_same_outside_the_arena(build_model(space, arch, 91 + n, 4), "patch" + std::to_string(n));
    ++patched;
  }
  EXPECT_EQ(patched, 2);
}

// A depthwise and an add that would run in place over the image if it were in the arena: with
// the image outside, they must leave the caller's buffer alone.
TEST(Codegen, NothingRunsInPlaceOverTheCallersImage) {
  const Built b = build_model(testing_util::in_place_over_image_graph(), 3, 3);
  expect_same_outside_the_arena(b, "in_place");
  // A plan that breaks the rule is refused rather than generated.
  PlanOptions opt;
  opt.input_in_arena = false;
  MemoryPlan bad = plan_memory(b.model.graph, opt);
  bad.in_place[1] = 0;
  EXPECT_THROW(generate_model_c(b.model, bad), std::invalid_argument);
  bad = plan_memory(b.model.graph, opt);
  bad.tensors[0].offset = 0;  // in the arena, says the offset; not, says the plan
  EXPECT_THROW(generate_model_c(b.model, bad), std::invalid_argument);
}

// ---------------------------------------------------------------- camera frames

// Per channel for an RGB model; Fashion-MNIST's kind of single pair for a grey one.
Normalization frame_norm(int channels = 3) {
  return channels == 3 ? Normalization{{0.25, 0.45, 0.6}, {0.3, 0.22, 0.27}} : Normalization{{0.2860}, {0.3530}};
}

// A model whose test inputs come from random uint8 frames: the int8 inputs are the frame table's
// lookups (as the exporter makes them), the expected logits the C++ reference's on those.
struct FrameBuilt {
  Built b;
  std::vector<std::vector<uint8_t>> frames;
};
FrameBuilt build_frame_model(const NetGraph& g, uint64_t seed, int images) {
  FrameBuilt f{build_model(g, seed, 0), {}};
  const Shape in = g.tensors[g.input].shape;
  const std::vector<int8_t> lut = frame_lut(f.b.model.tensor_quant[g.input], frame_norm(in.c), in.c);
  std::mt19937 rng(static_cast<uint32_t>(seed) + 1);
  for (int i = 0; i < images; ++i) {
    std::vector<uint8_t> frame(static_cast<std::size_t>(in.elements()));
    std::vector<int8_t> q(frame.size());
    for (std::size_t k = 0; k < frame.size(); ++k) {
      frame[k] = static_cast<uint8_t>(rng() & 255u);
      q[k] = lut[(k % in.c) * 256 + frame[k]];
    }
    f.frames.push_back(frame);
    f.b.inputs.push_back(q);
    f.b.expected.push_back(f.b.model.run(q));
  }
  return f;
}

// tinynas_invoke_frame on every frame (RGB: as RGB888 and packed to RGB565; grey: GRAY8) from a
// window of a larger camera frame gives the int8 path's logits (the test program checks it, and
// the frame untouched) with an arena of exactly the plan's size; `reads`: how model.c reads it.
void expect_frames_match(const FrameBuilt& f, bool in_arena, const std::string& reads, const std::string& name,
                         const std::string& cflags = "") {
  SCOPED_TRACE(name);
  PlanOptions opt;
  opt.input_in_arena = in_arena;
  const MemoryPlan plan = plan_memory(f.b.model.graph, opt);
  ASSERT_TRUE(plan.ok);
  const Normalization norm = frame_norm(f.b.model.graph.tensors[f.b.model.graph.input].shape.c);
  const GeneratedC c = generate_model_c(f.b.model, plan, {}, &norm);
  ASSERT_TRUE(c.frame_api);
  EXPECT_EQ(c.arena_bytes, plan.arena_bytes);
  EXPECT_EQ(c.arena_bytes, generate_model_c(f.b.model, plan).arena_bytes);  // no second image buffer
  EXPECT_THAT(c.header, HasSubstr("int tinynas_invoke_frame(const uint8_t *pixels, int32_t pitch, int32_t format);"));
  EXPECT_THAT(c.source, HasSubstr(reads));
  const RunResult r =
      compile_and_run(c, generate_test_program(f.b.model, f.b.inputs, f.b.expected, false, f.frames), name, cflags);
  ASSERT_EQ(r.code, 0) << r.out;
  const int n = static_cast<int>(f.frames.size());
  const int runs = n * (f.b.model.graph.tensors[0].shape.c == 3 ? 2 : 1);
  EXPECT_THAT(r.out, HasSubstr(fmt::format("frames_equal {}/{}", runs, runs)));
  EXPECT_THAT(r.out, HasSubstr(fmt::format("match {}/{}", n, n)));
}

SearchSpace rgb_space() {
  SearchSpace space = fmnist();
  space.input_channels = 3;
  space.stem_stride = 2;  // the RGB stem: 3x3, stride 2, c_in 3
  return space;
}

TEST(Codegen, CameraFramesGiveTheInt8PathsLogits) {
  const SearchSpace grey_space = fmnist();
  ArchSampler grey_sampler(grey_space, 8);
  ArchSpec grey = grey_sampler.sample();
  grey.resolution = 28;  // the c_in = 1 3x3 stride-1 stem, its band filled through the table
  expect_frames_match(build_frame_model(lower(grey_space, grey), 5, 3), true, "tn_conv2d_frame_s8(&p0, frame,",
                      "frame_grey", "-DTN_EMULATE_DSP=1");
  const SearchSpace rgb = rgb_space();
  ArchSampler sampler(rgb, 9);
  ArchSpec lbl = sampler.sample();
  lbl.resolution = 32;
  const FrameBuilt f = build_frame_model(lower(rgb, lbl), 6, 3);
  ASSERT_EQ(f.b.model.graph.layers[0].stride, 2);
  expect_frames_match(f, false, "tn_conv2d_frame_s8(&p0, frame,", "frame_rgb_out");
  expect_frames_match(f, false, "tn_conv2d_frame_s8(&p0, frame,", "frame_rgb_out_dsp", "-DTN_EMULATE_DSP=1");
  int patched = 0;
  for (int n = 0; patched < 2 && n < 20; ++n) {
    ArchSpec arch = sampler.sample();
    arch.resolution = 32;
    arch.patch = {2, 1 + n % 3};
    if (arch.patch.split > arch.num_blocks() || !plan_memory(lower(rgb, arch)).ok) continue;
    const FrameBuilt fp = build_frame_model(lower(rgb, arch), 60 + n, 2);
    expect_frames_match(fp, patched == 0, "if (frame) tn_crop_frame_s8(frame, 32, 32,", "frame_patch" + std::to_string(n),
                        patched == 0 ? "-DTN_EMULATE_DSP=1" : "");
    ++patched;
  }
  EXPECT_EQ(patched, 2);
}

// An image whose first readers are no conv (a depthwise and an add): in the arena the frame is
// converted into the image's own buffer (no second one); outside it there is no frame API.
TEST(Codegen, FramesGoIntoTheArenaImageWhenNoConvReadsIt) {
  NetGraph g = testing_util::in_place_over_image_graph();
  for (auto& t : g.tensors) t.shape.c = 3;
  for (auto& l : g.layers) {
    l.in.c = l.out.c = 3;
    if (l.op == &op("depthwise")) l.weights = 27, l.biases = 3;
  }
  const FrameBuilt f = build_frame_model(g, 4, 3);
  expect_frames_match(f, true, "if (frame) tn_crop_frame_s8(frame, 4, 4, 0, 0, 4, 4,", "frame_into_arena");
  PlanOptions outside;
  outside.input_in_arena = false;
  const Normalization norm = frame_norm();
  const GeneratedC c = generate_model_c(f.b.model, plan_memory(g, outside), {}, &norm);
  EXPECT_FALSE(c.frame_api);
  EXPECT_EQ(c.header.find("tinynas_invoke_frame"), std::string::npos);
}

// lut[c][v] = clamp(round(((v / 255 - mean_c) / std_c) / scale) + zero_point, -128, 127).
TEST(Codegen, FrameTableIsTheNormalisationQuantised) {
  QuantParams q;
  q.scale = 0.02f;
  q.zero_point = -7;
  const Normalization n = frame_norm();
  const std::vector<int8_t> lut = frame_lut(q, n, 3);
  ASSERT_EQ(lut.size(), 768u);
  for (int c = 0; c < 3; ++c) {
    for (int v : {0, 1, 77, 128, 254, 255}) {
      const double x = ((v / 255.0 - n.mean[c]) / n.std[c]) / 0.02;
      const long want = std::clamp<long>(std::lround(x) - 7, -128, 127);
      EXPECT_NEAR(lut[c * 256 + v], want, 0) << c << " " << v;
    }
  }
  EXPECT_EQ(frame_lut(q, Normalization{{0.5}, {0.25}}, 1)[255], q.quantize(2.0f));  // one value, every channel
}

// Issue 7's goal, on the generated code: MobileNetV2 1.0 at 224 with 4x4 patches over the first
// 4 blocks and the image outside the arena needs at most 1/6 of the layer-by-layer arena, for at
// most 15% more MACs (MCUNetV2: 8x, +10%). Random weights; compiled and run on the host on one
// image (about 5 s, most of it the C++ float and int8 references at 224x224).
TEST(Codegen, MobileNetV2PatchesNeedASixthOfTheLayerByLayerArena) {
  const SearchSpace none;
  const LoadedArch a = load_arch_file(kRoot + "/configs/archs/mbv2-w1.0-r224-p4.yaml", none);
  ASSERT_EQ(a.arch.patch.patches, 4);
  const NetGraph g = lower(a.space, a.arch);
  ArchSpec plain = a.arch;
  plain.patch = {};
  const NetGraph g0 = lower(a.space, plain);
  const Built b = build_model(g, 7, 1, 1);
  PlanOptions outside;
  outside.input_in_arena = false;
  const MemoryPlan plan = plan_memory(g, outside);
  ASSERT_TRUE(plan.ok && plan.patched);
  const GeneratedC c = generate_model_c(b.model, plan);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(c.source, m, std::regex(R"(static int8_t tn_arena\[(\d+)\];)")));
  const int64_t generated = std::stoll(m[1]);
  EXPECT_EQ(generated, plan.arena_bytes);
  EXPECT_THAT(c.source, HasSubstr("tn_crop_s8(input, 224, 224, 3,"));
  // Layer by layer, the image in the arena or not (the peak is at 112x112 either way).
  const int64_t lbl_in = plan_memory(g0).arena_bytes;
  const int64_t lbl_out = plan_memory(g0, outside).arena_bytes;
  EXPECT_LE(generated * 6, lbl_in);
  EXPECT_LE(generated * 6, lbl_out);
  const double extra = static_cast<double>(plan.patch.executed_macs - g0.macs()) / g0.macs();
  EXPECT_EQ(g.macs(), g0.macs());
  EXPECT_GT(extra, 0.0);
  EXPECT_LE(extra, 0.15);
  std::printf("mbv2-w1.0-r224-p4, image outside: generated arena %lld B vs layer by layer %lld B "
              "(image in) / %lld B (image out): 1/%.2f; +%.1f%% MACs\n",
              static_cast<long long>(generated), static_cast<long long>(lbl_in),
              static_cast<long long>(lbl_out), static_cast<double>(lbl_in) / generated, 100 * extra);
  // And it runs: bit-exact with the layer-by-layer C++ reference, the image untouched.
  const RunResult r = compile_and_run(c, generate_test_program(b.model, b.inputs, b.expected), "mbv2");
  ASSERT_EQ(r.code, 0) << r.out.substr(0, 2000);
  EXPECT_THAT(r.out, HasSubstr("match 1/1"));
}

// MLPerf Tiny's DS-CNN (configs/spaces/kws-dscnn.yaml, random weights): its 10x4 stem with
// asymmetric TF SAME pads (4, 1, 5, 1) and its separable blocks, generated and run in C on both
// runtime paths (portable, and the Arm SMLAD path with emulated intrinsics), layer by layer and
// with the stem and two blocks in a 2x2 patch stage: every output byte equals the C++ int8
// reference's.
TEST(Codegen, DsCnnIsBitExactOnBothRuntimePaths) {
  SearchSpace space = [] {  // the network alone, on its 49 x 10 features (the MFCC front end: Export.FrontEnd*)
    SearchSpace s = SearchSpace::load(kRoot + "/configs/spaces/kws-dscnn.yaml");
    s.front_end = {};
    return s;
  }();
  space.patch.patches = {1, 2};
  space.patch.max_split = 4;
  ArchSpec arch = ArchSpec::largest(space);
  const NetGraph g = lower(space, arch);
  const Layer& stem = g.layers.front();
  ASSERT_EQ(stem.kh * 100 + stem.kw, 1004);
  ASSERT_EQ((std::vector<int>{stem.pad_top, stem.pad_left, stem.pad_bottom, stem.pad_right}),
            (std::vector<int>{4, 1, 5, 1}));
  const Built b = build_model(g, 12, 6);
  const MemoryPlan plan = plan_memory(b.model.graph);
  const GeneratedC c = generate_model_c(b.model, plan);
  EXPECT_EQ(c.arena_bytes, plan.arena_bytes);
  EXPECT_THAT(c.source, HasSubstr("{49, 10, 1, 25, 5, 64, 10, 4, 2, 2, 4, 1, 5, 1,"));
  EXPECT_EQ(c.source.find("tn_add_s8"), std::string::npos) << "a separable block has no residual";
  const GeneratedTest t = generate_test_program(b.model, b.inputs, b.expected);
  for (const std::string& flags : {std::string(), std::string("-DTN_EMULATE_DSP=1")}) {
    const RunResult r = compile_and_run(c, t, "dscnn" + std::string(flags.empty() ? "" : "_dsp"), flags);
    ASSERT_EQ(r.code, 0) << flags << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr("match 6/6")) << flags;
  }

  arch.patch = {2, 2};
  const NetGraph gp = lower(space, arch);
  const Built bp = build_model(gp, 12, 6);
  EXPECT_EQ(bp.expected, b.expected);  // the same model and images: the layer-by-layer reference
  const MemoryPlan pplan = plan_memory(gp);
  ASSERT_TRUE(pplan.ok && pplan.patched);
  // The first patch row pads the stem's top only (4), the last row its bottom only (5: TF SAME's
  // total pad is exactly what the last window reaches). Columns: 1 left in the first column
  // band; the last one's stem reads from column 1, no left pad, 1 right.
  EXPECT_EQ(pplan.patch.step(0, 0).pad_top, 4);
  EXPECT_EQ(pplan.patch.step(0, 0).pad_bottom, 0);
  EXPECT_EQ(pplan.patch.step(0, 0).pad_left, 1);
  EXPECT_EQ(pplan.patch.step(3, 0).pad_top, 0);
  EXPECT_EQ(pplan.patch.step(3, 0).pad_bottom, 5);
  EXPECT_EQ(pplan.patch.step(3, 0).pad_left, 0);
  EXPECT_EQ(pplan.patch.step(3, 0).pad_right, 1);
  const GeneratedC cp = generate_model_c(bp.model, pplan);
  EXPECT_EQ(cp.arena_bytes, pplan.arena_bytes);
  for (const std::string& flags : {std::string(), std::string("-DTN_EMULATE_DSP=1")}) {
    const RunResult r = compile_and_run(cp, generate_test_program(bp.model, bp.inputs, bp.expected),
                                        "dscnn_patch" + std::string(flags.empty() ? "" : "_dsp"), flags);
    ASSERT_EQ(r.code, 0) << flags << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr("match 6/6")) << flags;
  }
}

TEST(Codegen, RefusesAPlanOfAnotherGraph) {
  const SearchSpace space = fmnist();
  const Built b = build_model(space, ArchSpec::smallest(space), 1, 1);
  const MemoryPlan other = plan_memory(lower(space, ArchSpec::largest(space)));
  EXPECT_THROW(generate_model_c(b.model, other), std::invalid_argument);
}

}  // namespace
}  // namespace tinynas
