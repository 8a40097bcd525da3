// The search pipeline end to end with a synthetic scorer standing in for the supernet.
#include "nas/search/search_pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
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
    exp.search.latency_limit_ms = 0;  // memory alone binds here
    exp.search.random_search_runs = 0;
    exp.search.val_images = 2000;
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
  EXPECT_GT(s.predictor.kendall_tau, 0.5);
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
  // measured.csv is a CSV a spreadsheet reads: five fields a row (the halves empty for a scorer
  // that does not split), the arch's JSON quoted.
  std::istringstream csv(read_file(f.dir + "/measured.csv"));
  std::string line, legacy;
  std::getline(csv, line);
  EXPECT_EQ(line, "hash,val_accuracy,val_first_half,val_second_half,arch");
  legacy = "hash,val_accuracy,arch\n";
  int rows = 0;
  while (std::getline(csv, line)) {
    const auto fields = csv_fields(line);
    ASSERT_EQ(fields.size(), 5u) << line;
    EXPECT_EQ(ArchSpec::from_json(fields[4], f.exp.space).hash_hex(), fields[0]);
    EXPECT_EQ(fields[2], "");
    EXPECT_EQ(fields[3], "");
    legacy += fields[0] + "," + fields[1] + "," + fields[4] + "\n";
    ++rows;
  }
  EXPECT_EQ(rows, a.measured);
  // A file written before the quoting (the JSON bare, the rest of the line), and before the
  // results store, still resumes: it is imported into a new store.
  for (const char* db : {"results.db", "results.db-wal", "results.db-shm"}) fs::remove(f.dir + "/" + db);
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
  EXPECT_NEAR(e.predictor.kendall_tau, a.predictor.kendall_tau, 1e-9);
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
  EXPECT_EQ(s.predictor.kendall_tau, -2);
  EXPECT_GE(scorer.calls[0], 24);
  EXPECT_TRUE(s.best.estimate.fits);
}

// The FakeScorer's landscape seen through a finite validation set: each half of the examples
// adds its own seeded noise (sd `noise`), and the whole is the mean of the halves, as accuracy
// over two equal halves is.
class NoisyScorer : public SubnetScorer {
 public:
  NoisyScorer(const SearchSpace& s, double noise) : truth_(s), noise_(noise) {}
  const Metric& metric() const override { return truth_.metric(); }
  double score(const ArchSpec& a, EvalSplit split, int images) override {
    return score_halves(a, split, images).value;
  }
  HalvedScore score_halves(const ArchSpec& a, EvalSplit split, int images) override {
    ++calls;
    const double t = truth_.score(a, split, images);
    std::mt19937_64 rng(a.hash() ^ (split == EvalSplit::Val ? 0 : 0x7e57));
    std::normal_distribution<double> n(0.0, noise_);
    HalvedScore h;
    h.first_half = t + n(rng);
    h.second_half = t + n(rng);
    h.value = (h.first_half + h.second_half) / 2;
    return h;
  }
  int64_t split_size(EvalSplit split) const override { return split == EvalSplit::Val ? 5000 : 10000; }
  int calls = 0;

 private:
  FakeScorer truth_;
  double noise_;
};

TEST(SearchPipeline, PredictorQualityHasTheHalvesNoiseFloorBesideIt) {
  Fixture f;
  f.exp.search.val_images = 0;
  // Without noise the halves agree perfectly and the predictor ranks nearly as well.
  NoisyScorer clean(f.exp.space, 0.0);
  const PredictorQuality q0 = run_search(f.exp, clean, {f.dir + "/clean", true}).predictor;
  EXPECT_EQ(q0.subnets, 62);  // 60 sampled, and the largest and smallest
  EXPECT_EQ(q0.half_examples, 2500);
  EXPECT_DOUBLE_EQ(q0.tau_between_halves, 1.0);
  EXPECT_GT(q0.kendall_tau, 0.6);
  EXPECT_NEAR(q0.tau_vs_half, q0.kendall_tau, 1e-12);
  // Noise as large as the landscape's spread: halves barely agree, and neither can the predictor
  // agree with a half much more than the other half does.
  NoisyScorer noisy(f.exp.space, 0.03);
  const SearchSummary s = run_search(f.exp, noisy, {f.dir + "/noisy", true});
  const PredictorQuality& q = s.predictor;
  EXPECT_LT(q.tau_between_halves, 0.5);
  EXPECT_LT(q.tau_vs_half, q0.tau_vs_half);
  EXPECT_LT(q.kendall_tau, q0.kendall_tau);
  const auto j = nlohmann::json::parse(read_file(f.dir + "/noisy/summary.json"));
  EXPECT_EQ(j["predictor"]["half_examples"], 2500);
  EXPECT_DOUBLE_EQ(j["predictor"]["kendall_tau_between_halves"].get<double>(), q.tau_between_halves);
  EXPECT_DOUBLE_EQ(j["predictor_kendall_tau"].get<double>(), q.kendall_tau);
  // The halves are saved with each measurement: a resumed search reports the same floor.
  NoisyScorer again(f.exp.space, 0.03);
  const SearchSummary r = run_search(f.exp, again, {f.dir + "/noisy", true});
  EXPECT_DOUBLE_EQ(r.predictor.tau_between_halves, q.tau_between_halves);
  EXPECT_DOUBLE_EQ(r.predictor.tau_vs_half, q.tau_vs_half);
}

TEST(SearchPipeline, RandomSearchAtEqualCostRunsOncePerSeedAndResumes) {
  Fixture f;
  f.exp.search.random_search_runs = 3;
  NoisyScorer scorer(f.exp.space, 0.002);
  const SearchSummary s = run_search(f.exp, scorer, {f.dir, true});
  const RandomSearch& r = s.random_search;
  ASSERT_EQ(r.runs.size(), 3u);
  EXPECT_EQ(r.seeds, (std::vector<uint64_t>{0, 1, 2}));
  // The search's cost: its 60 samples and 2 anchors (distinct ones) and its new finalists.
  EXPECT_GE(r.evaluations, 55);
  EXPECT_LE(r.evaluations, 62 + f.exp.search.finalists);
  for (const ScoredArch& run : r.runs) {
    EXPECT_TRUE(run.estimate.fits);
    EXPECT_GT(run.test_accuracy, 0);
  }
  // Run 0 continues the search's own sample, so it paid for fewer new subnets than runs 1 and 2.
  const int search_calls = s.measured + 3 + 1;  // measured (with baseline) + random winners' tests + winner's test
  EXPECT_LT(scorer.calls - search_calls, 3 * r.evaluations);
  EXPECT_GT(scorer.calls - search_calls, 2 * r.evaluations - 10);
  // The runs differ (independent seeds), and on a smooth landscape the search is at least as good.
  EXPECT_FALSE(r.runs[1].arch == r.runs[2].arch);
  EXPECT_GE(s.best.val_accuracy, SeedRuns::mean(r.val()));
  const auto j = nlohmann::json::parse(read_file(f.dir + "/summary.json"));
  ASSERT_EQ(j["random_search"]["runs"].size(), 3u);
  EXPECT_EQ(j["random_search"]["evaluations_per_run"], r.evaluations);
  EXPECT_DOUBLE_EQ(j["random_search"]["test_mean"].get<double>(), SeedRuns::mean(r.test()));
  EXPECT_NEAR(j["test_accuracy_gain_over_random_search"].get<double>(),
              s.best.test_accuracy - SeedRuns::mean(r.test()), 1e-12);
  // Resumed: no validation measurement again (random_search.csv holds the random runs').
  NoisyScorer again(f.exp.space, 0.002);
  const SearchSummary s2 = run_search(f.exp, again, {f.dir, true});
  EXPECT_EQ(again.calls, 2 + 3);  // the test scores: winner, baseline, 3 random winners
  ASSERT_EQ(s2.random_search.runs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(s2.random_search.runs[i].arch, r.runs[i].arch);
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
