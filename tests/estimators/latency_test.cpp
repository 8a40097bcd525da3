#include "estimators/latency.h"

#include <gtest/gtest.h>

#include "tests/config_error.h"

#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>

#include "estimators/estimate.h"
#include "estimators/mcu.h"
#include "search_spaces/atomic_file.h"
#include "test_util.h"

namespace tinynas {
namespace {

using testing_util::kRoot;

// ---------------------------------------------------------------------------------------------
// NNLS.

TEST(Nnls, SolvesAnUnconstrainedProblemExactly) {
  Eigen::MatrixXd a(4, 2);
  a << 1, 0, 0, 1, 1, 1, 2, 1;
  const Eigen::Vector2d x_true(3, 0.5);
  const Eigen::VectorXd x = nnls(a, a * x_true);
  EXPECT_NEAR(x(0), 3, 1e-12);
  EXPECT_NEAR(x(1), 0.5, 1e-12);
}

TEST(Nnls, ClampsWhatLeastSquaresWouldMakeNegativeAndMeetsKkt) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> nd;
  for (int trial = 0; trial < 200; ++trial) {
    const int m = 12, n = 5;
    Eigen::MatrixXd a(m, n);
    Eigen::VectorXd b(m);
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) a(i, j) = nd(rng);
      b(i) = nd(rng);
    }
    const Eigen::VectorXd x = nnls(a, b);
    const Eigen::VectorXd w = a.transpose() * (b - a * x);
    for (int j = 0; j < n; ++j) {
      EXPECT_GE(x(j), 0);
      if (x(j) > 0) {
        EXPECT_NEAR(w(j), 0, 1e-9);  // stationary on the free variables
      } else {
        EXPECT_LE(w(j), 1e-9);  // no descent direction into the feasible set
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Synthetic profiles: known coefficients plus noise, shapes drawn so every term matters somewhere.

LatencyModel known_model() {
  LatencyModel m;
  m.coef[op("conv").id()] = {2.4, 0.5, 6, 0.5, 800};
  m.coef[op("pointwise").id()] = {1.9, 0.25, 6, 0.5, 400};
  m.coef[op("depthwise").id()] = {3.4, 1.5, 6, 1, 400};
  m.coef[op("add").id()] = {0, 4.5, 0, 0, 200};
  m.coef[op("avgpool").id()] = {0, 1, 30, 0, 200};
  m.coef[op("fc").id()] = {1.2, 2, 10, 0, 200};
  m.coef[op("mfcc").id()] = {0, 0, 5600, 0, 200000};
  m.coef[op("softmax").id()] = {0, 60, 0, 0, 300};
  m.coef[op("mse").id()] = {0, 9, 0, 0, 60};
  m.coef[op("logmel").id()] = {0, 0, 900, 0, 150000};
  m.coef[op("upsample").id()] = {0, 0, 1.5, 0, 80};
  std::fill(m.calibrated.begin(), m.calibrated.end(), 1);
  return m;
}

std::vector<ProfileRow> synthetic_profile(const LatencyModel& truth, int rows_per_kind,
                                          double noise, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % (hi - lo + 1)); };
  auto log_pick = [&](int lo, int hi) {  // spread over orders of magnitude
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    return static_cast<int>(std::lround(lo * std::pow(static_cast<double>(hi) / lo, u)));
  };
  std::uniform_real_distribution<double> ud(-noise, noise);
  std::vector<ProfileRow> rows;
  // The kinds in a fixed order (rows and their random shapes do not depend on the registry's).
  for (const char* kind : {"conv", "pointwise", "depthwise", "add", "avgpool", "fc", "mfcc", "softmax", "mse", "logmel",
                           "upsample"}) {
    const std::string name = kind;
    for (int n = 0; n < rows_per_kind; ++n) {
      ProfileRow r;
      r.op = &op(name);
      r.stride = pick(1, 2);
      r.kh = r.kw = 1;
      r.h_in = r.w_in = log_pick(1, 64);
      r.c_in = log_pick(1, 256);
      r.c_out = log_pick(1, 256);
      if (name == "conv" || name == "depthwise") {
        r.kh = r.kw = 1 + 2 * pick(0, 3);
      } else if (name == "pointwise") {
        r.stride = 1;
      } else if (name == "add" || name == "avgpool") {
        r.stride = 1;
        r.c_out = r.c_in;
      } else if (name == "fc") {
        r.h_in = r.w_in = 1;
        r.c_in = log_pick(16, 2048);
        r.c_out = log_pick(2, 1000);
        r.stride = 1;
      } else if (name == "softmax") {  // a classifier's probabilities
        r.stride = 1;
        r.h_in = r.w_in = 1;
        r.c_in = r.c_out = log_pick(2, 1000);
      } else if (name == "mse") {  // an autoencoder's reconstruction of 16 to 4096 features
        r.stride = 1;
        r.h_in = r.w_in = 1;
        r.c_in = log_pick(16, 4096);
        r.c_out = 1;
      } else if (name == "mfcc") {  // clips of 1 frame to 4 s: frames x 10 coefficients
        r.stride = 1;
        r.h_in = r.c_in = r.c_out = 1;
        r.w_in = log_pick(480, 64000);
        r.w_out = 10;
      } else if (name == "logmel") {  // clips of 1 frame to 4 s: frames x 128 mel bins
        r.stride = 1;
        r.h_in = r.c_in = r.c_out = 1;
        r.w_in = log_pick(1024, 64000);
      } else if (name == "upsample") {  // nearest neighbour by 2 or 3
        r.stride = pick(2, 3);
        r.h_in = r.w_in = log_pick(1, 32);
        r.c_out = r.c_in;
      }
      if (r.op == &op("depthwise")) r.c_out = r.c_in;
      const bool spatial = r.op == &op("conv") || r.op == &op("pointwise") ||
                           r.op == &op("depthwise") || r.op == &op("add");
      r.h_out = r.op == &op("add") ? r.h_in : (spatial ? conv_out_size(r.h_in, r.kh, r.stride) : 1);
      r.w_out = r.op == &op("add") ? r.w_in : (spatial ? conv_out_size(r.w_in, r.kw, r.stride) : 1);
      if (name == "mfcc") {
        r.h_out = 1 + (r.w_in - 480) / 320;
        r.w_out = 10;
      }
      if (name == "logmel") {
        r.h_out = 1 + (r.w_in - 1024) / 512;
        r.w_out = 128;
      }
      if (name == "upsample") {
        r.h_out = r.h_in * r.stride;
        r.w_out = r.w_in * r.stride;
      }
      const int64_t pix = int64_t{r.h_out} * r.w_out;
      if (name == "conv") r.macs = pix * r.c_out * r.kh * r.kw * r.c_in;
      if (name == "pointwise") r.macs = pix * r.c_out * r.c_in;
      if (name == "depthwise") r.macs = pix * r.c_out * r.kh * r.kw;
      if (name == "fc") r.macs = int64_t{r.c_in} * r.c_out;
      r.cycles = std::round(truth.cycles(*r.op, r.features()) * (1 + ud(rng)));
      r.line = static_cast<int>(rows.size()) + 2;
      rows.push_back(r);
    }
  }
  return rows;
}

TEST(Calibration, RecoversKnownCoefficientsWithin1Percent) {
  const LatencyModel truth = known_model();
  const std::vector<ProfileRow> rows = synthetic_profile(truth, 400, 0.002, 42);
  // Through the CSV text, as the CLI reads it.
  const std::vector<ProfileRow> parsed = parse_profile_csv(profile_csv(rows), "synthetic.csv");
  ASSERT_EQ(parsed.size(), rows.size());
  const Calibration cal = fit_latency_model(parsed, "synthetic.csv", nullptr);
  for (const OpDescriptor* kind : all_ops()) {
    const int k = kind->id();
    for (int f = 0; f < kNumLatencyFeatures; ++f) {
      const double want = truth.coef[k][f], got = cal.model.coef[k][f];
      if (!kind->latency_feature_used(f)) {
        EXPECT_EQ(got, 0.0);
        continue;
      }
      EXPECT_NEAR(got, want, 0.01 * want) << kind->name() << "." << latency_feature_name(f);
    }
    EXPECT_TRUE(cal.model.has(*kind));
    EXPECT_TRUE(cal.ops[k].fitted);
    EXPECT_LT(cal.ops[k].row_error_pct, 0.2);
  }
  EXPECT_LT(cal.row_error_pct, 0.2);
  EXPECT_LT(cal.network_error_pct, 0.1);
  EXPECT_EQ(cal.model.fitted_rows, static_cast<int64_t>(rows.size()));
}

TEST(Calibration, KindsWithoutRowsKeepThePreviousCoefficients) {
  const LatencyModel truth = known_model();
  std::vector<ProfileRow> rows = synthetic_profile(truth, 50, 0.0, 3);
  rows.erase(std::remove_if(rows.begin(), rows.end(),
                            [](const ProfileRow& r) { return r.op == &op("avgpool"); }),
             rows.end());
  LatencyModel previous = truth;
  previous.coef[op("avgpool").id()] = {0, 7, 7, 0, 7};
  const Calibration cal = fit_latency_model(rows, "p.csv", &previous);
  EXPECT_FALSE(cal.ops[op("avgpool").id()].fitted);
  EXPECT_EQ(cal.model.coef[op("avgpool").id()][1], 7);
  // Without a previous model the kind stays uncalibrated; a model that uses it is refused by
  // name when its latency is asked for.
  LatencyModel fresh = fit_latency_model(rows, "p.csv", nullptr).model;
  EXPECT_FALSE(fresh.has(op("avgpool")));
  EXPECT_TRUE(fresh.has(op("conv")));
  fresh.origin = "cal.yaml";
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/tiny.yaml");
  const NetGraph g = lower(space, ArchSpec::largest(space));
  EXPECT_EQ(error_of([&] { fresh.graph_cycles(g); }),
            "cal.yaml: no coefficients for op kind 'avgpool', which the model uses (calibrate it: "
            "tinynas calibrate --profile P.csv --mcu M.yaml, with rows of that kind)");
}

TEST(Calibration, TooFewRowsForAKind) {
  std::vector<ProfileRow> rows = synthetic_profile(known_model(), 10, 0.0, 3);
  rows.erase(std::remove_if(rows.begin(), rows.end(),
                            [](const ProfileRow& r) { return r.op == &op("depthwise") && r.line > 25; }),
             rows.end());
  EXPECT_EQ(error_of([&] { fit_latency_model(rows, "p.csv", nullptr); }),
            "p.csv:22: op kind 'depthwise' has 4 rows; fitting its 5 coefficients (macs, "
            "input_bytes, output_bytes, weight_bytes, fixed) needs at least 5 rows of different "
            "shapes");
}

TEST(ProfileCsv, ParsesTheProfilersFormat) {
  const auto rows = parse_profile_csv(
      "op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles\r\n"
      "conv,3,3,2,28,28,1,14,14,16,28224,81234\r\n"
      "\n"
      "fc,1,1,1,1,1,256,1,1,10,2560,4100\n",
      "p.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].op, &op("conv"));
  EXPECT_EQ(rows[0].line, 2);
  EXPECT_EQ(rows[0].h_out, 14);
  EXPECT_EQ(rows[0].macs, 28224);
  EXPECT_EQ(rows[0].cycles, 81234);
  EXPECT_EQ(rows[1].line, 4);
  const LatencyFeatures f = rows[0].features();
  EXPECT_EQ(f[1], 28 * 28 * 1);
  EXPECT_EQ(f[2], 14 * 14 * 16);
  EXPECT_EQ(f[3], 3 * 3 * 1 * 16);
  EXPECT_EQ(f[4], 1);
}

TEST(ProfileCsv, ErrorsNameTheLineAndWhatWasExpected) {
  const std::string h = std::string(kProfileHeader) + "\n";
  auto err = [](const std::string& text) {
    return error_of([&] { parse_profile_csv(text, "p.csv"); });
  };
  EXPECT_EQ(err(""), "p.csv: empty profile (expected the header "
                     "'op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles' and one row "
                     "per layer run)");
  EXPECT_EQ(err("layer,cycles\n"),
            "p.csv:1: expected the profile header "
            "'op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles', got 'layer,cycles'");
  EXPECT_EQ(err(h), "p.csv: the profile has a header but no rows");
  EXPECT_EQ(err(h + "conv,3,3,1,8,8,3,8,8,8,13824\n"),
            "p.csv:2: expected 12 comma-separated fields "
            "(op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles), got 11");
  EXPECT_EQ(err(h + "conv,3,3,1,8,8,3,8,8,8,13824,100\nmaxpool,2,2,2,8,8,8,4,4,8,0,100\n"),
            "p.csv:3: unknown op kind 'maxpool' (expected one of " + op_names() + ")");
  EXPECT_EQ(err(h + "conv,3,3,1,8,eight,3,8,8,8,13824,100\n"),
            "p.csv:2: field 'w_in': expected an integer in [1, 1048576], got 'eight'");
  EXPECT_EQ(err(h + "conv,3,3,1,8,8,3,8,8,8,-5,100\n"),
            "p.csv:2: field 'macs': expected an integer in [0, 1099511627776], got '-5'");
  EXPECT_EQ(err(h + "conv,3,3,1,8,8,3,8,8,8,13824,fast\n"),
            "p.csv:2: field 'cycles': expected a non-negative number, got 'fast'");
  EXPECT_EQ(err(h + "conv,3,3,1,8,8,3,8,8,8,13824,0\n"),
            "p.csv:2: field 'cycles': 0 (a profile from a build without a cycle counter, e.g. a "
            "host build, records 0; profile on the MCU or under QEMU)");
  EXPECT_EQ(error_of([&] { read_profile_csv("/nonexistent/p.csv"); }).find("/nonexistent/p.csv"),
            0u);
}

// ---------------------------------------------------------------------------------------------
// Calibration files.

TEST(CalibrationFile, RoundTripsThroughYaml) {
  LatencyModel m = known_model();
  m.mcu = "stm32f746";
  m.core = "cortex-m7";
  m.clock_mhz = 216;
  m.source = "synthetic \"test\" profile";
  m.fitted_rows = 2400;
  m.fit_row_error_pct = 0.05;
  m.fit_network_error_pct = 0.01;
  m.coef[0][0] = 2.4000000000000004;
  const LatencyModel r = LatencyModel::from_config(ConfigNode::parse(m.to_yaml(), "c.yaml"));
  EXPECT_EQ(r.coef, m.coef);
  EXPECT_EQ(r.source, m.source);
  EXPECT_EQ(r.core, m.core);
  EXPECT_EQ(r.fitted_rows, 2400);
  EXPECT_EQ(r.fit_row_error_pct, 0.05);
}

TEST(CalibrationFile, ErrorsNameTheKey) {
  const std::string ops =
      "  conv: {macs: 1, input_bytes: 0, output_bytes: 0, weight_bytes: 0, fixed: 0}\n"
      "  pointwise: {macs: 1, input_bytes: 0, output_bytes: 0, weight_bytes: 0, fixed: 0}\n"
      "  depthwise: {macs: 1, input_bytes: 0, output_bytes: 0, weight_bytes: 0, fixed: 0}\n"
      "  add: {macs: 0, input_bytes: 1, output_bytes: 0, weight_bytes: 0, fixed: 0}\n"
      "  avgpool: {macs: 0, input_bytes: 1, output_bytes: 0, weight_bytes: 0, fixed: 0}\n";
  auto err = [](const std::string& text) {
    return error_of([&] { LatencyModel::from_config(ConfigNode::parse(text, "c.yaml")); });
  };
  // A calibration may leave out kinds its models do not use: they are uncalibrated, not zero.
  const LatencyModel partial =
      LatencyModel::from_config(ConfigNode::parse("source: x\nops:\n" + ops, "c.yaml"));
  EXPECT_TRUE(partial.has(op("avgpool")));
  EXPECT_FALSE(partial.has(op("fc")));
  EXPECT_EQ(err("source: x\nops:\n" + ops +
                "  fc: {macs: -1, input_bytes: 0, output_bytes: 0, weight_bytes: 0, fixed: 0}\n"),
            "c.yaml: ops.fc.macs: expected a number in [0, 1e+12], got -1 (line 8)");
  EXPECT_EQ(err("source: x\nops:\n" + ops +
                "  fc: {macs: 1, input_bytes: 0, output_bytes: 0, weight_bytes: 0, fixed: 0}\n"
                "  maxpool: {macs: 1}\n"),
            "c.yaml: ops.maxpool: unknown key; expected one of: " + op_names() + " (line 9)");
}

TEST(CalibrationFile, EveryMcuShipsOneMarkedProvisional) {
  for (const char* name : {"stm32f412", "stm32f746", "stm32f765", "stm32h743", "nrf52840"}) {
    const McuSpec m = McuSpec::load(kRoot + "/configs/mcus/" + name + ".yaml");
    EXPECT_TRUE(m.has_latency) << name;
    EXPECT_EQ(m.latency.mcu, name);
    EXPECT_EQ(m.latency.core, m.core);
    EXPECT_NE(m.latency.source.find("provisional, from published figures"), std::string::npos);
    // M7 models: about 2-3 cycles per MAC over MobileNetV2-like networks (TinyEngine ~2.2).
    const SearchSpace none;
    const LoadedArch a = load_arch_file(kRoot + "/configs/archs/mbv2-w0.35-r144.yaml", none);
    const NetGraph g = lower(a.space, a.arch);
    const double per_mac = m.latency.graph_cycles(g) / static_cast<double>(g.macs());
    if (m.core == "cortex-m7") {
      EXPECT_GT(per_mac, 2.0) << name;
      EXPECT_LT(per_mac, 3.2) << name;
    } else {
      EXPECT_GT(per_mac, 2.8) << name;
      EXPECT_LT(per_mac, 4.5) << name;
    }
  }
}

TEST(CalibrationFile, McuConfigErrors) {
  const std::string dir = ::testing::TempDir() + "/tinynas_mcu_cfg";
  std::filesystem::create_directories(dir);
  const std::string base =
      "name: m\ncore: cortex-m4\nclock_mhz: 100\nsram_bytes: 262144\nflash_bytes: 1048576\n";
  write_file_atomic(dir + "/m.yaml", base + "latency_calibration: missing.yaml\n");
  EXPECT_NE(error_of([&] { McuSpec::load(dir + "/m.yaml"); }).find("missing.yaml"),
            std::string::npos);
  // Tolerated where a calibration is about to be written.
  EXPECT_FALSE(McuSpec::load(dir + "/m.yaml", false).has_latency);
  // A calibration for another core.
  write_file_atomic(dir + "/m7.yaml", read_file(kRoot + "/configs/calibration/stm32f746.yaml"));
  write_file_atomic(dir + "/m.yaml", base + "latency_calibration: m7.yaml\n");
  EXPECT_EQ(error_of([&] { McuSpec::load(dir + "/m.yaml"); }),
            dir + "/m.yaml: latency_calibration: the calibration " + dir +
                "/m7.yaml is for core cortex-m7, but this MCU is a cortex-m4 (line 6)");
  write_file_atomic(dir + "/m.yaml", base + "code_size: {kernels: {convolution: 10}}\n");
  EXPECT_EQ(error_of([&] { McuSpec::load(dir + "/m.yaml"); }),
            dir + "/m.yaml: code_size.kernels.convolution: unknown key; expected one of: " +
                op_names() + " (line 6)");
}

}  // namespace
}  // namespace tinynas
