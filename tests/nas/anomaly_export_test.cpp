// An autoencoder exported end to end: a hand-built fc -> fc -> mse graph (its features read
// again by the reconstruction error, tests/estimators/test_util.h), quantised, generated as C
// whose output is one int32 score, compiled and run on the host (and, with the Arm toolchain and
// QEMU, on the Cortex-M7): the printed scores equal the C++ int8 reference's, which follow the
// float mean squared error.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <sstream>

#include "estimators/estimate.h"
#include "nas/export/exporter.h"
#include "nas/export/float_model.h"
#include "nas/export/int8_model.h"
#include "nas/export/process.h"
#include "nas/export/tflite_model.h"
#include "search_spaces/atomic_file.h"
#include "tests/estimators/test_util.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;
const std::string kRoot = TINYNAS_SOURCE_DIR;

bool have_arm() {
  return run_process("command -v arm-none-eabi-gcc && command -v qemu-system-arm").exit_code == 0;
}

struct Autoencoder {
  NetGraph graph = testing_util::autoencoder_graph({4, 5, 2}, 12);
  FloatModel fm;
  Int8Model qm;
  std::vector<std::vector<float>> features;  // test inputs
  std::vector<std::vector<int8_t>> inputs;   // their int8 bytes

  Autoencoder() {
    std::mt19937 rng(16);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> value(-1.0f, 2.0f);
    std::vector<LayerWeights> w(graph.layers.size());
    for (std::size_t i = 0; i < graph.layers.size(); ++i) {
      const Layer& l = graph.layers[i];
      if (!l.op->has_weights()) continue;
      const int64_t fan_in = l.in.elements();
      w[i].weight.resize(static_cast<std::size_t>(l.out.c * fan_in));
      for (float& v : w[i].weight) v = normal(rng) * std::sqrt(2.0f / fan_in);
      w[i].bias.resize(l.out.c);
      for (float& v : w[i].bias) v = 0.1f * normal(rng);
    }
    fm = FloatModel::fold(graph, w);
    auto example = [&] {
      std::vector<float> x(static_cast<std::size_t>(graph.tensors[0].shape.elements()));
      for (float& v : x) v = value(rng);
      return x;
    };
    RangeObserver obs(graph);
    for (int i = 0; i < 16; ++i) obs.observe(fm.run_all(example()));
    qm = Int8Model::quantize(fm, obs.ranges());
    for (int i = 0; i < 5; ++i) {
      features.push_back(example());
      inputs.push_back(qm.quantize_input(features.back()));
    }
  }
};

// The "out,<i>,<v>" lines a test program printed, as numbers.
std::vector<int64_t> printed_scores(const std::string& out) {
  std::vector<int64_t> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("out,", 0) != 0) continue;
    v.push_back(std::stoll(line.substr(line.rfind(',') + 1)));
  }
  return v;
}

TEST(AnomalyExport, Int8ReferenceGivesAnInt32ScoreNearTheFloatMse) {
  const Autoencoder a;
  const QuantParams& qx = a.qm.tensor_quant[0];
  const QuantParams& qs = a.qm.tensor_quant[a.graph.output];
  EXPECT_EQ(qs.zero_point, 0);
  EXPECT_FLOAT_EQ(qs.scale, qx.scale * qx.scale / 40);
  for (std::size_t i = 0; i < a.inputs.size(); ++i) {
    const std::vector<int8_t> y = a.qm.run(a.inputs[i]);
    ASSERT_EQ(y.size(), 4u);  // the int32's bytes
    const std::vector<int32_t> s = a.qm.output_values(y);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_GT(s[0], 0);
    const double real = a.qm.real_output(y)[0], want = a.fm.run(a.features[i])[0];
    EXPECT_DOUBLE_EQ(real, static_cast<double>(qs.scale) * s[0]);
    EXPECT_NEAR(real, want, 0.1 * want) << "image " << i;
  }
  EXPECT_THROW(a.qm.output_values(std::vector<int8_t>(3)), std::invalid_argument);
}

// TFLite has no reconstruction-error operator: the writer refuses the model naming the layer and
// the kind, and the export goes on without model.tflite (a warning).
TEST(AnomalyExport, TfliteWriterRefusesTheMseByName) {
  const Autoencoder a;
  const fs::path dir = fs::temp_directory_path() / "tinynas_mse_tflite";
  fs::remove_all(dir);
  fs::create_directories(dir);
  try {
    write_tflite(a.qm, (dir / "model.tflite").string());
    FAIL() << "written";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("layer 2 (error): the operator mse has no TFLite form"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "model.tflite"));
  fs::remove_all(dir);
}

TEST(AnomalyExport, GeneratedScoreIsBitExactOnTheHostAndTheCortexM7) {
  const Autoencoder a;
  const McuSpec mcu = McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml");
  const bool arm = have_arm();
  for (bool in_arena : {true, false}) {
    SCOPED_TRACE(in_arena ? "features in the arena" : "features in the caller's buffer");
    const std::string dir =
        (fs::temp_directory_path() / (in_arena ? "tinynas_export_mse" : "tinynas_export_mse_out")).string();
    fs::remove_all(dir);
    ExportOptions opt;
    opt.out_dir = dir;
    // QEMU is run below, not by the exporter: its flash measurement (scripts/measure-flash) stubs
    // the model with an int8 tinynas_output() and cannot build an int32-output model yet.
    opt.run_qemu = false;
    opt.input_in_arena = in_arena;
    const ExportReport r = export_int8_model(a.qm, "autoencoder", mcu, a.inputs, opt);
    EXPECT_EQ(r.host_matches.value_or(-1), 5);
    EXPECT_EQ(r.arena_bytes, r.estimated_peak_sram_bytes);
    // Features (40 -> 40), code (12 -> 16) and reconstruction (40) live together.
    EXPECT_EQ(r.arena_bytes, in_arena ? 96 : 56);
    EXPECT_FALSE(r.tflite_bytes);
    EXPECT_FALSE(fs::exists(dir + "/model.tflite"));
    const std::string h = read_file(dir + "/model.h"), c = read_file(dir + "/model.c");
    EXPECT_NE(h.find("#define TINYNAS_OUTPUT_SIZE 1\n"), std::string::npos) << h;
    EXPECT_NE(h.find("#define TINYNAS_OUTPUT_ELEMENT_BYTES 4\n"), std::string::npos) << h;
    EXPECT_NE(h.find("#define TINYNAS_OUTPUT_ZERO_POINT 0\n"), std::string::npos) << h;
    EXPECT_NE(h.find("const int32_t *tinynas_output(void);"), std::string::npos) << h;
    EXPECT_NE(c.find("static const tn_mse_params_t mse2 = {"), std::string::npos) << c;
    EXPECT_NE(c.find("rc = tn_mse_s8(&mse2, (tn_arena + "), std::string::npos) << c;
    if (!in_arena) {
      EXPECT_NE(c.find(", input, 40, (int32_t *)(tn_arena + "), std::string::npos) << c;
    }

    // The scores the generated program prints are the reference's int32s.
    std::vector<int64_t> want;
    for (const auto& x : a.inputs) want.push_back(a.qm.output_values(a.qm.run(x))[0]);
    const std::string exe = dir + "/host_model";
    const ProcessResult cc = run_process(
        "cc -std=c99 -O2 -Wall -Wextra -Werror -I" + shell_quote(dir) + " -I" + shell_quote(kRoot + "/runtime") + " " +
        shell_quote(dir + "/model.c") + " " + shell_quote(dir + "/main.c") + " " + shell_quote(dir + "/test_data.c") +
        " " + shell_quote(kRoot) + "/runtime/*.c -o " + shell_quote(exe));
    ASSERT_EQ(cc.exit_code, 0) << cc.err;
    const ProcessResult host = run_process(shell_quote(exe));
    EXPECT_EQ(host.exit_code, 0) << host.out;
    EXPECT_EQ(printed_scores(host.out), want) << host.out;
    EXPECT_NE(host.out.find("match 5/5"), std::string::npos) << host.out;

    if (arm && in_arena) {
      // The same firmware on the Cortex-M7 (QEMU), profiled: the same scores, and mse's profile
      // row (its input 1 x 1 x 40, output 1 x 1 x 1, no MACs).
      const ProcessResult q = run_process(shell_quote(kRoot + "/scripts/run-on-qemu") + " --profile " + shell_quote(dir));
      EXPECT_EQ(q.exit_code, 0) << q.out << q.err;
      EXPECT_EQ(printed_scores(q.out), want) << q.out;
      EXPECT_NE(q.out.find("match 5/5"), std::string::npos) << q.out;
      const auto row = q.out.find("\nmse,1,1,1,1,1,40,1,1,1,0,");
      EXPECT_NE(row, std::string::npos) << q.out;
      if (row != std::string::npos) {
        std::printf("autoencoder on QEMU M7: tn_mse_s8 on 40 values, %s instructions\n",
                    q.out.substr(row + 26, q.out.find('\n', row + 1) - row - 26).c_str());
      }
    }
    fs::remove_all(dir);
  }
}

}  // namespace
}  // namespace tinynas
