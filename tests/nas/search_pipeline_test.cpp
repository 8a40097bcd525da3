// The search pipeline end to end with a synthetic scorer standing in for the supernet.
#include "nas/search/search_pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "search_spaces/atomic_file.h"
#include "search_spaces/net_graph.h"
#include "tests/temp_dir.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;
const std::string kRoot = TINYNAS_SOURCE_DIR;

// Accuracy grows with log MACs and prefers larger kernels late: a smooth, rankable landscape.
class FakeScorer : public SubnetScorer {
 public:
  explicit FakeScorer(const SearchSpace& s) : space_(s) {}
  const Metric& metric() const override { return metric_; }
  double score(const ArchSpec& a, EvalSplit split, int /*val_images*/) override {
    ++calls[split == EvalSplit::Val ? 0 : 1];
    EXPECT_FALSE(a.patch.enabled()) << "accuracy must not depend on the patch schedule";
    double v = 0.50 + 0.02 * std::log(static_cast<double>(lower(space_, a).macs()));
    for (const auto& b : a.stages.back()) v += 0.002 * b.kernel;
    return std::min(0.99, v) - (split == EvalSplit::Test ? 0.005 : 0.0);
  }
  int calls[2] = {0, 0};

 private:
  const SearchSpace& space_;
  Metric metric_ = Metric::top1_accuracy();
};

struct Fixture {
  Experiment exp = Experiment::load(kRoot + "/configs/stm32f746.yaml");
  TempDir tmp{"search_test"};
  std::string dir = tmp.path;
  Fixture() {
    exp.mcu.sram_bytes = 48 * 1024;  // tight enough that the largest subnets do not fit
    exp.mcu.reserved_sram_bytes = 0;
    exp.search.population = 24;
    exp.search.parents = 6;
    exp.search.mutations = 12;
    exp.search.crossovers = 12;
    exp.search.generations = 5;
    exp.search.measure_subnets = 60;
    exp.search.finalists = 4;
  }
};

TEST(SearchPipeline, FindsAFittingSubnetThatBeatsTheBaselineAndWritesItsFiles) {
  Fixture f;
  FakeScorer scorer(f.exp.space);
  const SearchSummary s = run_search(f.exp, scorer, {f.dir, true});
  EXPECT_TRUE(s.best.estimate.fits);
  EXPECT_LE(s.best.estimate.peak_sram_bytes, f.exp.mcu.sram_budget());
  ASSERT_FALSE(s.baseline.arch.stages.empty());
  EXPECT_TRUE(s.baseline.estimate.fits);
  EXPECT_GT(s.best.val_accuracy, s.baseline.val_accuracy);
  EXPECT_GT(s.predictor_kendall_tau, 0.5);
  EXPECT_EQ(s.generations, 5);
  EXPECT_GE(s.measured, 30);
  for (const char* file : {"best.yaml", "search_log.csv", "pareto.csv", "pareto_sram.svg",
                           "pareto_latency.svg", "summary.json", "measured.csv", "search_state.json"}) {
    EXPECT_TRUE(fs::exists(f.dir + "/" + file)) << file;
  }
  const auto j = nlohmann::json::parse(read_file(f.dir + "/summary.json"));
  for (const char* k : {"arch", "val_accuracy", "test_accuracy", "peak_sram_bytes", "flash_bytes",
                        "latency_ms", "macs", "baseline", "seconds"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  // best.yaml reads back as the winner.
  const ArchSpec back = ArchSpec::from_config(ConfigNode::load_file(f.dir + "/best.yaml"), f.exp.space);
  EXPECT_EQ(back, s.best.arch);
}

TEST(SearchPipeline, SeedRunsGiveMeanAndSampleSpreadInTheSummary) {
  SeedRuns r;
  r.add(0, 0.90, 0.93, "out/winner.pt");
  r.add(1, 0.92, 0.95, "out/winner-seed1.pt");
  r.add(2, 0.91, 0.91, "out/winner-seed2.pt");
  EXPECT_NEAR(SeedRuns::mean(r.test), 0.93, 1e-12);
  EXPECT_NEAR(SeedRuns::stddev(r.test), 0.02, 1e-12);  // sample std: sqrt((4 + 0 + 4) e-4 / 2)
  EXPECT_NEAR(SeedRuns::stddev(r.val), 0.01, 1e-12);
  EXPECT_EQ(SeedRuns::stddev({0.5}), 0);

  SearchSummary s;
  s.metric = Metric::top1_accuracy();
  const McuSpec mcu = McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml");
  EXPECT_FALSE(nlohmann::json::parse(s.to_json(mcu)).contains("retrained"));
  s.retrained_best = r;
  s.retrained_baseline.add(0, 0.90, 0.92, "out/baseline.pt");
  s.retrained_baseline.add(1, 0.90, 0.92, "out/baseline-seed1.pt");
  const auto j = nlohmann::json::parse(s.to_json(mcu)).at("retrained");
  EXPECT_EQ(j.at("searched").at("seeds"), nlohmann::json({0, 1, 2}));
  EXPECT_EQ(j.at("searched").at("checkpoints")[1], "out/winner-seed1.pt");
  EXPECT_NEAR(j.at("searched").at("test_std").get<double>(), 0.02, 1e-12);
  EXPECT_NEAR(j.at("baseline").at("test_mean").get<double>(), 0.92, 1e-12);
  EXPECT_EQ(j.at("baseline").at("test_std").get<double>(), 0);
  EXPECT_NEAR(j.at("test_gain_over_baseline").get<double>(), 0.01, 1e-12);
}

// Fields of one RFC 4180 line (quoted fields may hold commas; "" is a quote).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      out.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

TEST(SearchPipeline, ResumeMeasuresNothingTwice) {
  Fixture f;
  FakeScorer first(f.exp.space);
  const SearchSummary a = run_search(f.exp, first, {f.dir, true});
  // measured.csv is a CSV a spreadsheet reads: three fields a row, the arch's JSON quoted.
  std::istringstream csv(read_file(f.dir + "/measured.csv"));
  std::string line, legacy;
  std::getline(csv, line);
  EXPECT_EQ(line, "hash,val_accuracy,arch");
  legacy = line + "\n";
  int rows = 0;
  while (std::getline(csv, line)) {
    const auto fields = csv_fields(line);
    ASSERT_EQ(fields.size(), 3u) << line;
    EXPECT_EQ(ArchSpec::from_json(fields[2], f.exp.space).hash_hex(), fields[0]);
    legacy += fields[0] + "," + fields[1] + "," + fields[2] + "\n";
    ++rows;
  }
  EXPECT_EQ(rows, a.measured);
  // A file written before the quoting (the JSON bare, the rest of the line) still resumes.
  write_file_atomic(f.dir + "/measured.csv", legacy);
  FakeScorer second(f.exp.space);
  const SearchSummary b = run_search(f.exp, second, {f.dir, true});
  EXPECT_EQ(second.calls[0], 0);  // every validation accuracy came from measured.csv
  EXPECT_EQ(a.best.arch, b.best.arch);
  EXPECT_EQ(a.best.val_accuracy, b.best.val_accuracy);
}

// A metric where lower is better (an error rate: 1 - accuracy) is minimised: the search finds
// the same subnet as with the accuracy, and says which metric it optimised.
class ErrorRate : public SubnetScorer {
 public:
  explicit ErrorRate(const SearchSpace& s) : accuracy_(s) {}
  const Metric& metric() const override { return metric_; }
  double score(const ArchSpec& a, EvalSplit split, int images) override {
    return 1.0 - accuracy_.score(a, split, images);
  }

 private:
  FakeScorer accuracy_;
  Metric metric_{"error_rate", "error rate", false};
};

TEST(SearchPipeline, ALowerIsBetterMetricIsMinimised) {
  Fixture f;
  FakeScorer acc(f.exp.space);
  const SearchSummary a = run_search(f.exp, acc, {f.dir + "/acc", true});
  ErrorRate err(f.exp.space);
  const SearchSummary e = run_search(f.exp, err, {f.dir + "/err", true});
  EXPECT_EQ(e.best.arch, a.best.arch);
  EXPECT_NEAR(e.best.val_accuracy, 1.0 - a.best.val_accuracy, 1e-12);
  EXPECT_NEAR(e.predictor_kendall_tau, a.predictor_kendall_tau, 1e-9);
  const auto j = nlohmann::json::parse(read_file(f.dir + "/err/summary.json"));
  EXPECT_EQ(j["metric"], "error_rate");
  EXPECT_FALSE(j["higher_is_better"].get<bool>());
  EXPECT_EQ(nlohmann::json::parse(read_file(f.dir + "/acc/summary.json"))["metric"], "top1_accuracy");
}

TEST(SearchPipeline, WithoutThePredictorEveryCandidateIsMeasured) {
  Fixture f;
  f.exp.search.use_predictor = false;
  f.exp.search.generations = 2;
  FakeScorer scorer(f.exp.space);
  const SearchSummary s = run_search(f.exp, scorer, {f.dir, false});
  EXPECT_EQ(s.predictor_kendall_tau, -2);
  EXPECT_GE(scorer.calls[0], 24);
  EXPECT_TRUE(s.best.estimate.fits);
}

TEST(SearchPipeline, BaselineIsTheLargestScaledMobileNetV2ThatFits) {
  Fixture f;
  Estimator est(f.exp.mcu);
  const auto b = scaled_mobilenet_v2(f.exp.space, est);
  ASSERT_TRUE(b.has_value());
  for (std::size_t s = 1; s < b->stages.size(); ++s) {
    for (const auto& blk : b->stages[s]) {
      EXPECT_EQ(blk.kernel, 3);
      EXPECT_EQ(blk.expand, 6);
    }
  }
  // MobileNetV2's 2, 3, 4, 3 depths in the four searchable stages.
  EXPECT_EQ(b->depth(1), 2);
  EXPECT_EQ(b->depth(2), 3);
  EXPECT_EQ(b->depth(3), 4);
  EXPECT_EQ(b->depth(4), 3);
  NetGraph g = lower(f.exp.space, *b);
  EXPECT_TRUE(est.fits(g));
  // No larger width x resolution of the family fits.
  for (double w : f.exp.space.width_multipliers) {
    for (int r : f.exp.space.resolutions) {
      ArchSpec a = *b;
      a.width = w;
      a.resolution = r;
      NetGraph ga = lower(f.exp.space, a);
      if (ga.macs() > g.macs()) {
        EXPECT_FALSE(est.fits(ga)) << a.to_string();
      }
    }
  }
}

}  // namespace
}  // namespace tinynas
