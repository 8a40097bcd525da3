// .tflite in and out (nas/export/tflite_*.cpp): our int8 models written and read back unchanged, a model
// written by TensorFlow's converter (the MLPerf Tiny keyword spotter) read and run, bad and
// unsupported files refused by name, and Arm NN's reference backend (an independent TFLite
// executor) agreeing with our arithmetic.
#include "nas/export/tflite_model.h"

#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "estimators/estimate.h"
#include "nas/export/exporter.h"
#include "nas/export/float_model.h"
#include "nas/export/process.h"
#include "search_spaces/atomic_file.h"
#include "search_spaces/config_node.h"
#include "tests/nas/random_model.h"
#include "tflite_generated.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;
const std::string kRoot = TINYNAS_SOURCE_DIR;
// The workspace's third-party models (../shared/models beside the checkout; a clone elsewhere
// finds them through TINYNAS_SHARED_MODELS or the workspace's own path).
const std::string kKws = [] {
  const char* env = std::getenv("TINYNAS_SHARED_MODELS");
  for (const std::string& dir : {env ? std::string(env) : std::string(), kRoot + "/../shared/models",
                                std::string("/work/shared/models")}) {
    if (!dir.empty() && fs::exists(dir + "/mlperf-tiny-kws-ref-int8.tflite")) {
      return dir + "/mlperf-tiny-kws-ref-int8.tflite";
    }
  }
  return kRoot + "/../shared/models/mlperf-tiny-kws-ref-int8.tflite";
}();

std::vector<std::vector<int8_t>> random_inputs(const NetGraph& g, int n, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_int_distribution<int> byte(-128, 127);
  std::vector<std::vector<int8_t>> v(n, std::vector<int8_t>(static_cast<std::size_t>(g.tensors[g.input].bytes())));
  for (auto& x : v) for (auto& b : x) b = static_cast<int8_t>(byte(rng));
  return v;
}

// A calibrated int8 model of a fmnist-mbv2 subnet: residual adds, stride-2 depthwise layers on
// even maps (PyTorch's symmetric pads, which TFLite's SAME does not give: PAD operators), a
// 7x7 kernel, ReLU6 and plain outputs.
Int8Model sample_int8_model(uint64_t seed) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  ArchSpec arch = ArchSpec::smallest(space);
  arch.resolution = 32;
  arch.stages[1][0] = {7, 3};
  arch.stages[2].push_back({3, 4});
  return random_int8_model(lower(space, arch), seed);
}

TEST(Tflite, OurModelReadsBackLayerForLayerAndRunsBitForBit) {
  const Int8Model m = sample_int8_model(3);
  const TfliteWritten w = tflite_bytes(m);
  EXPECT_GT(w.pads, 0);  // the stride-2 layers on even maps
  EXPECT_FALSE(w.front_end_skipped);
  const ImportedTflite r = parse_tflite(w.bytes, "roundtrip.tflite");
  EXPECT_EQ(r.folded_pads, w.pads);
  const NetGraph &a = m.graph, &b = r.model.graph;
  ASSERT_EQ(a.layers.size(), b.layers.size());
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    const Layer &x = a.layers[i], &y = b.layers[i];
    SCOPED_TRACE(x.name());
    EXPECT_EQ(x.op, y.op);
    EXPECT_EQ(x.inputs[0], y.inputs[0]);
    EXPECT_EQ(x.inputs[1], y.inputs[1]);
    EXPECT_TRUE(x.in == y.in && x.out == y.out);
    EXPECT_EQ(std::vector<int>({x.kh, x.kw, x.stride, x.pad_top, x.pad_left, x.pad_bottom, x.pad_right}),
              std::vector<int>({y.kh, y.kw, y.stride, y.pad_top, y.pad_left, y.pad_bottom, y.pad_right}));
    const Int8Layer &p = m.layers[i], &q = r.model.layers[i];
    EXPECT_EQ(p.weight, q.weight);
    EXPECT_EQ(p.bias, q.bias);
    EXPECT_EQ(p.multiplier, q.multiplier);
    EXPECT_EQ(p.shift, q.shift);
    EXPECT_EQ(p.act_min, q.act_min);
    EXPECT_EQ(p.act_max, q.act_max);
    EXPECT_EQ(p.input1_multiplier, q.input1_multiplier);
    EXPECT_EQ(p.output_multiplier, q.output_multiplier);
  }
  for (std::size_t t = 0; t < a.tensors.size(); ++t) {
    EXPECT_EQ(m.tensor_quant[t].scale, r.model.tensor_quant[t].scale);
    EXPECT_EQ(m.tensor_quant[t].zero_point, r.model.tensor_quant[t].zero_point);
    EXPECT_EQ(a.tensors[t].last_consumer, b.tensors[t].last_consumer);
  }
  for (const auto& x : random_inputs(a, 6, 4)) EXPECT_EQ(m.run(x), r.model.run(x));
  // The same plan: the arena of the re-read model is the original's, byte for byte.
  const McuSpec mcu = McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml");
  EXPECT_EQ(estimate(a, mcu).peak_sram_bytes, estimate(b, mcu).peak_sram_bytes);
  // Written again, the re-read model reads back the same.
  const ImportedTflite again = parse_tflite(tflite_bytes(r.model).bytes, "again.tflite");
  for (const auto& x : random_inputs(a, 3, 5)) EXPECT_EQ(again.model.run(x), m.run(x));
  // Its blocks (where a patch stage may end): after every layer whose output is the only tensor
  // alive, before the pool - every block boundary of the lowered graph, and the cuts inside a
  // block without a residual.
  int cuts = 0;
  for (std::size_t i = 1; i < a.layers.size(); ++i) {
    if (a.layers[i].block != a.layers[i - 1].block) {
      EXPECT_NE(b.layers[i].block, b.layers[i - 1].block) << i;
    }
    cuts += b.layers[i].block != b.layers[i - 1].block;
  }
  EXPECT_GT(b.num_blocks, a.num_blocks);
  EXPECT_EQ(b.num_blocks + 1, cuts);
  EXPECT_EQ(b.layers.front().block, -1);
}

// Nearest-neighbour upsampling (ops/kinds/upsample.cpp) as RESIZE_NEAREST_NEIGHBOR, both ways:
// in a small convolutional decoder (4x3x2 -> conv -> upsample x2 -> conv) and after a fully
// connected layer, whose [1, c] output the writer reshapes to [1, 1, 1, c] first.
NetGraph decoder_graph() {
  NetGraph g;
  g.tensors.push_back({Shape{4, 3, 2}, -1, -1, 1});
  auto add = [&](const char* kind, LayerRole role, int kernel, int stride, int out_c, bool relu6) {
    Layer l;
    l.op = &op(kind);
    l.role = role;
    l.inputs[0] = g.output < 0 ? 0 : g.output;
    l.in = g.tensors[l.inputs[0]].shape;
    l.set_window(kernel, kernel, stride);
    l.relu6 = relu6;
    l.op->infer(&l, out_c);
    const int index = static_cast<int>(g.layers.size());
    l.output = static_cast<int>(g.tensors.size());
    g.tensors.push_back({l.out, index, -1, 1});
    g.tensors[l.inputs[0]].last_consumer = index;
    g.layers.push_back(l);
    g.output = l.output;
  };
  add("conv", LayerRole::Stem, 3, 1, 4, true);
  add("upsample", LayerRole::Upsample, 1, 2, 4, false);
  add("conv", LayerRole::Project, 3, 1, 1, false);
  return g;
}

NetGraph with_upsampled_logits(NetGraph g, int factor) {
  Layer l;
  l.op = &op("upsample");
  l.role = LayerRole::Upsample;
  l.inputs[0] = g.output;
  l.in = g.tensors[g.output].shape;
  l.block = g.layers.back().block;
  l.set_window(1, 1, factor);
  l.op->infer(&l, l.in.c);
  const int index = static_cast<int>(g.layers.size());
  g.tensors[g.output].last_consumer = index;
  l.output = static_cast<int>(g.tensors.size());
  g.tensors.push_back({l.out, index, -1, 1});
  g.layers.push_back(l);
  g.output = l.output;
  return g;
}

TEST(Tflite, UpsamplingIsResizeNearestNeighborBothWays) {
  EXPECT_EQ(op("upsample").tflite_builtin(), static_cast<int>(tflite::BuiltinOperator::RESIZE_NEAREST_NEIGHBOR));
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  ArchSpec arch = ArchSpec::smallest(space);
  arch.resolution = 32;
  for (const NetGraph& g : {decoder_graph(), with_upsampled_logits(lower(space, arch), 3)}) {
    const Int8Model m = random_int8_model(g, 6);
    const bool flat_input = g.layers.size() > 3;
    SCOPED_TRACE(flat_input ? "after fc" : "decoder");
    const TfliteWritten w = tflite_bytes(m);
    const ImportedTflite r = parse_tflite(w.bytes, "upsample.tflite");
    EXPECT_EQ(r.reshapes, flat_input ? 1 : 0);
    EXPECT_NE(std::find(r.operator_kinds.begin(), r.operator_kinds.end(), "RESIZE_NEAREST_NEIGHBOR"),
              r.operator_kinds.end());
    const NetGraph& b = r.model.graph;
    ASSERT_EQ(g.layers.size(), b.layers.size());
    for (std::size_t i = 0; i < g.layers.size(); ++i) {
      const Layer &x = g.layers[i], &y = b.layers[i];
      EXPECT_EQ(x.op, y.op) << i;
      EXPECT_TRUE(x.in == y.in && x.out == y.out) << i;
      EXPECT_EQ(std::vector<int>({x.kh, x.kw, x.stride, x.pad_top, x.pad_left, x.pad_bottom, x.pad_right}),
                std::vector<int>({y.kh, y.kw, y.stride, y.pad_top, y.pad_left, y.pad_bottom, y.pad_right}))
          << i;
    }
    const Layer& up = flat_input ? b.layers.back() : b.layers[1];
    EXPECT_EQ(up.op, &op("upsample"));
    EXPECT_EQ(up.stride, flat_input ? 3 : 2);
    for (std::size_t t = 0; t < g.tensors.size(); ++t) {
      EXPECT_EQ(m.tensor_quant[t].scale, r.model.tensor_quant[t].scale) << t;
      EXPECT_EQ(m.tensor_quant[t].zero_point, r.model.tensor_quant[t].zero_point) << t;
    }
    for (const auto& x : random_inputs(g, 4, 8)) EXPECT_EQ(m.run(x), r.model.run(x));
  }
}

std::optional<nlohmann::json> armnn(const std::string& model, int inputs);

// Arm NN's reference backend (an independent TFLite executor) upsamples exactly as we do.
TEST(Tflite, ArmNNsResizeNearestNeighborIsOurUpsample) {
  const std::string dir = (fs::temp_directory_path() / "tinynas_tflite_armnn_upsample").string();
  fs::create_directories(dir);
  write_tflite(random_int8_model(decoder_graph(), 7), dir + "/decoder.tflite");
  const auto r = armnn(dir + "/decoder.tflite", 8);
  fs::remove_all(dir);
  if (!r) GTEST_SKIP() << "Arm NN (python3-pyarmnn) is not installed";
  ASSERT_EQ((*r)["per_operator"].size(), 3u);
  for (const auto& l : (*r)["per_operator"]) {
    EXPECT_LE(l["max_abs_diff_lsb"].get<int>(), l["operator"] == 1 ? 0 : 1) << l.dump();
  }
}

// One RESIZE_NEAREST_NEIGHBOR of a 4x3x2 int8 input to h x w, built with the flatbuffers API.
std::vector<uint8_t> resize_model(int32_t h, int32_t w, bool align_corners, bool half_pixel_centers) {
  namespace tfl = tflite;
  flatbuffers::FlatBufferBuilder b;
  const std::vector<float> s = {0.1f};
  const std::vector<int64_t> z = {3};
  auto q = [&] { return tfl::CreateQuantizationParameters(b, 0, 0, b.CreateVector(s), b.CreateVector(z)); };
  const int32_t size[2] = {h, w};
  const std::vector<uint8_t> size_bytes(reinterpret_cast<const uint8_t*>(size), reinterpret_cast<const uint8_t*>(size) + 8);
  std::vector<flatbuffers::Offset<tfl::Buffer>> buffers = {tfl::CreateBuffer(b), tfl::CreateBuffer(b, b.CreateVector(size_bytes))};
  const std::vector<int32_t> in_shape = {1, 4, 3, 2}, size_shape = {2}, out_shape = {1, h, w, 2};
  std::vector<flatbuffers::Offset<tfl::Tensor>> tensors = {
      tfl::CreateTensor(b, b.CreateVector(in_shape), tfl::TensorType::INT8, 0, b.CreateString("x"), q()),
      tfl::CreateTensor(b, b.CreateVector(size_shape), tfl::TensorType::INT32, 1, b.CreateString("size")),
      tfl::CreateTensor(b, b.CreateVector(out_shape), tfl::TensorType::INT8, 0, b.CreateString("y"), q())};
  const std::vector<int32_t> op_in = {0, 1}, in = {0}, out = {2};
  std::vector<flatbuffers::Offset<tfl::Operator>> ops = {tfl::CreateOperator(
      b, 0, b.CreateVector(op_in), b.CreateVector(out), tfl::BuiltinOptions::ResizeNearestNeighborOptions,
      tfl::CreateResizeNearestNeighborOptions(b, align_corners, half_pixel_centers).Union())};
  std::vector<flatbuffers::Offset<tfl::SubGraph>> sgs = {
      tfl::CreateSubGraph(b, b.CreateVector(tensors), b.CreateVector(in), b.CreateVector(out), b.CreateVector(ops))};
  const auto code = tfl::BuiltinOperator::RESIZE_NEAREST_NEIGHBOR;
  std::vector<flatbuffers::Offset<tfl::OperatorCode>> codes = {tfl::CreateOperatorCode(b, 97, 0, 2, code)};
  tfl::FinishModelBuffer(b, tfl::CreateModel(b, 3, b.CreateVector(codes), b.CreateVector(sgs), 0, b.CreateVector(buffers)));
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

std::string resize_error(const std::vector<uint8_t>& bytes) {
  try {
    parse_tflite(bytes, "resize.tflite");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

// TF-Lite's nearest neighbour by an integer factor, with or without half_pixel_centers (Keras's
// UpSampling2D writes it: floor((y + 0.5) / f) is y / f too), is the upsample kind; other sizes
// and align_corners are refused by name.
TEST(Tflite, ReadsIntegerResizesAndRefusesOthers) {
  for (bool half : {false, true}) {
    const ImportedTflite r = parse_tflite(resize_model(12, 9, false, half), "resize.tflite");
    ASSERT_EQ(r.model.graph.layers.size(), 1u);
    const Layer& l = r.model.graph.layers[0];
    EXPECT_EQ(l.op, &op("upsample"));
    EXPECT_EQ(l.stride, 3);
    EXPECT_EQ(l.out, (Shape{12, 9, 2}));
    std::vector<int8_t> x(24);
    for (int k = 0; k < 24; ++k) x[k] = static_cast<int8_t>(k * 11 - 100);
    const std::vector<int8_t> y = r.model.run(x);
    ASSERT_EQ(y.size(), 12u * 9 * 2);
    for (int oy = 0; oy < 12; ++oy)
      for (int ox = 0; ox < 9; ++ox)
        for (int c = 0; c < 2; ++c) ASSERT_EQ(y[(oy * 9 + ox) * 2 + c], x[((oy / 3) * 3 + ox / 3) * 2 + c]);
  }
  std::string e = resize_error(resize_model(8, 9, false, false));
  EXPECT_EQ(e, "resize.tflite: operator 0 (RESIZE_NEAREST_NEIGHBOR): resizes 4x3x2 to 8x9 (output 8x9x2): "
               "tinynas upsamples by one integer factor on both axes") << e;
  e = resize_error(resize_model(6, 3, false, false));
  EXPECT_NE(e.find("resizes 4x3x2 to 6x3"), std::string::npos) << e;
  e = resize_error(resize_model(8, 6, true, false));
  EXPECT_NE(e.find("operator 0 (RESIZE_NEAREST_NEIGHBOR): align_corners"), std::string::npos) << e;
}

TEST(Tflite, FusedActivationsAreTheClampsTfliteDerives) {
  QuantParams q;
  q.scale = 0.05f;
  q.zero_point = -128;
  EXPECT_EQ(fused_activation_for(-128, 127, q), "NONE");
  EXPECT_EQ(fused_activation_for(-128, -128 + 120, q), "RELU6");  // 6 / 0.05 = 120
  q.zero_point = -10;
  EXPECT_EQ(fused_activation_for(-10, 127, q), "RELU");
  EXPECT_EQ(fused_activation_for(-30, 10, q), "RELU_N1_TO_1");  // -10 -/+ 20
  EXPECT_EQ(fused_activation_for(-11, 127, q), "");
}

TEST(Tflite, TheMlperfKeywordSpotterReadsAndRunsOnTheHost) {
  if (!fs::exists(kKws)) GTEST_SKIP() << kKws << " is not here (../shared/models of the workspace)";
  const ImportedTflite r = read_tflite(kKws);
  const NetGraph& g = r.model.graph;
  EXPECT_EQ(r.operators, 13);
  EXPECT_EQ(r.reshapes, 1);
  EXPECT_EQ(r.folded_pads, 0);
  ASSERT_EQ(g.layers.size(), 12u);
  std::vector<std::string> kinds;
  for (const Layer& l : g.layers) kinds.push_back(l.op->name());
  EXPECT_EQ(kinds, (std::vector<std::string>{"conv", "depthwise", "pointwise", "depthwise", "pointwise", "depthwise",
                                             "pointwise", "depthwise", "pointwise", "avgpool", "fc", "softmax"}));
  // DS-CNN's 10x4 stride-2 stem on 49x10 with TF's SAME pads: 4 above, 5 below, 1 left, 1 right.
  const Layer& stem = g.layers[0];
  EXPECT_EQ(std::vector<int>({stem.kh, stem.kw, stem.stride, stem.pad_top, stem.pad_bottom, stem.pad_left, stem.pad_right}),
            std::vector<int>({10, 4, 2, 4, 5, 1, 1}));
  EXPECT_TRUE(stem.out == (Shape{25, 5, 64}));
  EXPECT_EQ(g.macs(), 2'656'768);
  EXPECT_EQ(r.model.tensor_quant[g.input].zero_point, 83);
  // Two 8,000-byte maps live at once, 16-byte aligned, in TF-Lite Micro's plan; ours adds the
  // pointwise kernel's 256-byte q15 buffer.
  EXPECT_EQ(tflm_greedy_arena_bytes(r.tflm_tensors), 16'000);
  const McuSpec mcu = McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml");
  McuSpec no_latency = mcu;
  no_latency.has_latency = false;  // no calibration for softmax
  EXPECT_EQ(estimate(g, no_latency).peak_sram_bytes, 16'256);
  // Softmax probabilities: each output row sums to ~256 (scale 1/256, zero point -128).
  for (const auto& x : random_inputs(g, 4, 9)) {
    int sum = 0;
    for (int8_t v : r.model.run(x)) sum += v + 128;
    EXPECT_NEAR(sum, 256, 12);
  }
  // The generated C on the host equals the C++ reference.
  const std::string dir = (fs::temp_directory_path() / "tinynas_tflite_kws").string();
  fs::remove_all(dir);
  ExportOptions o;
  o.out_dir = dir;
  o.metric.clear();
  const ExportReport rep = export_int8_model(r.model, kKws, no_latency, random_inputs(g, 4, 10), o);
  EXPECT_EQ(rep.host_matches.value_or(-1), 4);
  EXPECT_EQ(rep.arena_bytes, 16'256);
  // model.tflite of the imported model reads back to the same outputs.
  const ImportedTflite back = read_tflite(dir + "/model.tflite");
  for (const auto& x : random_inputs(g, 3, 11)) EXPECT_EQ(back.model.run(x), r.model.run(x));
  fs::remove_all(dir);
}

// A one-operator model built with the generated flatbuffers API.
std::vector<uint8_t> one_op_model(tflite::TensorType input_type, tflite::BuiltinOperator code) {
  namespace tfl = tflite;
  flatbuffers::FlatBufferBuilder b;
  const std::vector<float> s = {0.1f};
  const std::vector<int64_t> z = {0};
  auto q = [&] { return tfl::CreateQuantizationParameters(b, 0, 0, b.CreateVector(s), b.CreateVector(z)); };
  const std::vector<int32_t> shape = {1, 4, 4, 2};
  std::vector<flatbuffers::Offset<tfl::Tensor>> tensors = {
      tfl::CreateTensor(b, b.CreateVector(shape), input_type, 0, b.CreateString("x"), q()),
      tfl::CreateTensor(b, b.CreateVector(shape), input_type, 0, b.CreateString("y"), q())};
  const std::vector<int32_t> in = {0}, out = {1};
  std::vector<flatbuffers::Offset<tfl::Operator>> ops = {
      tfl::CreateOperator(b, 0, b.CreateVector(in), b.CreateVector(out))};
  std::vector<flatbuffers::Offset<tfl::SubGraph>> sgs = {
      tfl::CreateSubGraph(b, b.CreateVector(tensors), b.CreateVector(in), b.CreateVector(out), b.CreateVector(ops))};
  std::vector<flatbuffers::Offset<tfl::OperatorCode>> codes = {
      tfl::CreateOperatorCode(b, static_cast<int8_t>(code), 0, 1, code)};
  std::vector<flatbuffers::Offset<tfl::Buffer>> buffers = {tfl::CreateBuffer(b)};
  tfl::FinishModelBuffer(b, tfl::CreateModel(b, 3, b.CreateVector(codes), b.CreateVector(sgs), 0, b.CreateVector(buffers)));
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    parse_tflite(bytes, "m.tflite");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(Tflite, RefusesFloatModelsUnsupportedOperatorsAndOtherFilesByName) {
  EXPECT_NE(error_of(one_op_model(tflite::TensorType::FLOAT32, tflite::BuiltinOperator::RESHAPE)).find(
                "m.tflite: tensor 0 'x' is float32: this is a float model"),
            std::string::npos);
  const std::string maxpool = error_of(one_op_model(tflite::TensorType::INT8, static_cast<tflite::BuiltinOperator>(17)));
  EXPECT_NE(maxpool.find("m.tflite: operator 0 (MAX_POOL_2D): not supported: tinynas imports CONV_2D"), std::string::npos)
      << maxpool;
  const std::string bytes = "this is not a flatbuffer, it is text";
  EXPECT_NE(error_of(std::vector<uint8_t>(bytes.begin(), bytes.end())).find("not a TensorFlow Lite model"), std::string::npos);
  std::vector<uint8_t> cut = one_op_model(tflite::TensorType::INT8, tflite::BuiltinOperator::RESHAPE);
  cut.resize(cut.size() / 2);
  EXPECT_NE(error_of(cut).find("m.tflite: "), std::string::npos);
  // The command line: exit code 2 and the file named.
  const std::string dir = (fs::temp_directory_path() / "tinynas_tflite_bad").string();
  fs::create_directories(dir);
  const auto fm = one_op_model(tflite::TensorType::FLOAT32, tflite::BuiltinOperator::RESHAPE);
  write_file_atomic(dir + "/float.tflite", std::string(fm.begin(), fm.end()));
  const ProcessResult p = run_process(std::string(TINYNAS_BINARY) + " estimate --tflite " + dir +
                                      "/float.tflite --mcu " + kRoot + "/configs/mcus/stm32f746.yaml");
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.err.find("float.tflite: tensor 0 'x' is float32"), std::string::npos) << p.err;
  fs::remove_all(dir);
}

// scripts/armnn-compare's report on `model` (nullopt: Arm NN is not installed).
std::optional<nlohmann::json> armnn(const std::string& model, int inputs) {
  const ProcessResult p = run_process("TINYNAS=" + std::string(TINYNAS_BINARY) + " " + kRoot +
                                      "/scripts/armnn-compare " + model + " --random " + std::to_string(inputs));
  if (p.exit_code == 3) return std::nullopt;
  EXPECT_EQ(p.exit_code, 0) << p.err;
  return nlohmann::json::parse(p.out);
}

// Arm NN computes each layer in float and requantises: on our inputs to it, every operator is
// within 1 LSB of our integer arithmetic; chained, the differences add up layer after layer.
void expect_each_operator_within_one_lsb(const nlohmann::json& r) {
  ASSERT_FALSE(r["per_operator"].empty());
  for (const auto& l : r["per_operator"]) EXPECT_LE(l["max_abs_diff_lsb"].get<int>(), 1) << "operator " << l["operator"];
}

TEST(Tflite, ArmNNsReferenceBackendAgreesWithOurArithmetic) {
  const std::string dir = (fs::temp_directory_path() / "tinynas_tflite_armnn").string();
  fs::create_directories(dir);
  write_tflite(sample_int8_model(3), dir + "/ours.tflite");
  const auto ours = armnn(dir + "/ours.tflite", 30);
  if (!ours) GTEST_SKIP() << "Arm NN (python3-pyarmnn) is not installed";
  expect_each_operator_within_one_lsb(*ours);
  // Random weights and inputs through 40 layers: differences add up, the top-1 mostly holds.
  EXPECT_GE((*ours)["top1_agreement"].get<double>(), 0.8);
  if (fs::exists(kKws)) {
    const auto kws = armnn(kKws, 30);
    ASSERT_TRUE(kws);
    expect_each_operator_within_one_lsb(*kws);
    EXPECT_GE((*kws)["top1_agreement"].get<double>(), 0.96);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tinynas
