// `tinynas sweep`: the sweep file's schema, and the tiny sweep end to end with a synthetic scorer
// standing in for the supernet (as tests/nas/search_pipeline_test.cpp does for one search).
#include "nas/search/sweep.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "nas/search/results_store.h"
#include "search_spaces/atomic_file.h"
#include "search_spaces/net_graph.h"
#include "tests/temp_dir.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kRoot = TINYNAS_SOURCE_DIR;
const std::string kTinySweep = kRoot + "/configs/sweeps/tiny.yaml";

// A file written next to the shipped configs so its relative paths resolve; removed after.
class TempFile {
 public:
  TempFile(const std::string& dir, const std::string& text) {
    // The pid keeps parallel test processes (ctest -j) apart.
    path_ = dir + "/_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++) + ".yaml";
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

// The ConfigError a sweep file gives, with its path written as "S".
std::string error_of(const std::string& text) {
  TempFile f(kRoot + "/configs/sweeps", text);
  try {
    Sweep::load(f.path());
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    for (auto pos = msg.find(f.path()); pos != std::string::npos; pos = msg.find(f.path())) {
      msg.replace(pos, f.path().size(), "S");
    }
    return msg;
  }
  return "(no error)";
}

const std::string kRuns = "runs:\n  - name: a\n";  // lines 2-3 after a one-line head

// Accuracy grows with log MACs and prefers larger kernels late; a trace of the validation size
// shows that measurements of different sizes are not mixed up.
class FakeScorer : public SubnetScorer {
 public:
  // val_images: what `tinynas search` would be asked for (checked when not 0).
  explicit FakeScorer(const SearchSpace& s, int val_images = 0) : space_(s), val_images_(val_images) {}
  const Metric& metric() const override { return metric_; }
  double score(const ArchSpec& a, EvalSplit split, int val_images) override {
    ++calls[split == EvalSplit::Val ? 0 : 1];
    EXPECT_FALSE(a.patch.enabled()) << "accuracy must not depend on the patch schedule";
    if (split == EvalSplit::Val) {
      val_sizes.push_back(val_images);
      if (val_images_ != 0) {
        EXPECT_EQ(val_images, val_images_);
      }
    }
    double v = 0.50 + 0.02 * std::log(static_cast<double>(lower(space_, a).macs()));
    for (const auto& b : a.stages.back()) v += 0.002 * b.kernel;
    if (split == EvalSplit::Val) v += 1e-7 * val_images;
    return std::min(0.99, v) - (split == EvalSplit::Test ? 0.005 : 0.0);
  }
  int calls[2] = {0, 0};
  std::vector<int> val_sizes;

 private:
  const SearchSpace& space_;
  int val_images_;
  Metric metric_ = Metric::top1_accuracy();
};

SweepOptions options(const std::string& dir) {
  SweepOptions o;
  o.out_dir = dir;
  o.scorer_id = "fake";
  return o;
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::string cur;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      else if (c == ',' && !quoted) f.push_back(cur), cur.clear();
      else cur += c;
    }
    f.push_back(cur);
    rows.push_back(f);
  }
  return rows;
}

// summary.json without its wall time.
nlohmann::json summary_of(const std::string& dir) {
  auto j = nlohmann::json::parse(read_file(dir + "/summary.json"));
  j.erase("seconds");
  return j;
}

// ---------------------------------------------------------------------------------------------
// The schema

TEST(SweepConfig, TheShippedSweepsLoad) {
  const Sweep tiny = Sweep::load(kTinySweep);
  ASSERT_EQ(tiny.runs.size(), 4u);
  EXPECT_EQ(tiny.name, "tiny");
  EXPECT_EQ(tiny.runs[0].exp.mcu.name, "stm32f746");
  EXPECT_EQ(tiny.runs[1].exp.mcu.name, "stm32l432");
  EXPECT_EQ(tiny.runs[2].exp.mcu.sram_budget(), 4 * 1024);
  EXPECT_EQ(tiny.runs[2].exp.mcu.flash_budget(), tiny.base.mcu.flash_budget());
  EXPECT_EQ(tiny.runs[3].exp.mcu.sram_budget(), 3 * 1024);
  EXPECT_EQ(tiny.runs[3].exp.mcu.flash_budget(), 32 * 1024);
  // Sweep-wide settings over the base's, the run's over those.
  EXPECT_EQ(tiny.runs[0].exp.search.generations, 3);
  EXPECT_EQ(tiny.runs[0].exp.search.seed, 0u);
  EXPECT_EQ(tiny.runs[3].exp.search.seed, 1u);
  EXPECT_EQ(tiny.runs[3].exp.search.generations, 3);
  EXPECT_EQ(tiny.runs[0].exp.export_.calibration_images, 64);
  EXPECT_NE(tiny.runs[2].fingerprint, tiny.runs[3].fingerprint);

  const Sweep mcus = Sweep::load(kRoot + "/configs/sweeps/fmnist-mcus.yaml");
  std::vector<std::string> names;
  for (const auto& r : mcus.runs) names.push_back(r.exp.mcu.name);
  for (const char* m : {"stm32f412", "stm32f746", "stm32f765", "stm32h743", "nrf52840", "stm32l432"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), m), names.end()) << m;
  }
  EXPECT_EQ(mcus.base.space.name, "fmnist-mbv2");

  // The redistribution sweep repeats the patches sweep run for run (same MCU, budgets and patch
  // setting) on the redistributed space, so the two CSVs compare row by row.
  const Sweep patches = Sweep::load(kRoot + "/configs/sweeps/patches.yaml");
  const Sweep rf = Sweep::load(kRoot + "/configs/sweeps/redistribution.yaml");
  EXPECT_EQ(patches.base.space.name, "fmnist-mbv2");
  EXPECT_EQ(rf.base.space.name, "fmnist-mbv2-rf");
  ASSERT_EQ(rf.runs.size(), patches.runs.size());
  for (std::size_t i = 0; i < rf.runs.size(); ++i) {
    const Experiment& a = patches.runs[i].exp;
    const Experiment& b = rf.runs[i].exp;
    EXPECT_EQ(rf.runs[i].name, patches.runs[i].name);
    EXPECT_EQ(b.mcu.name, a.mcu.name) << rf.runs[i].name;
    EXPECT_EQ(b.mcu.sram_budget(), a.mcu.sram_budget()) << rf.runs[i].name;
    EXPECT_EQ(b.mcu.flash_budget(), a.mcu.flash_budget()) << rf.runs[i].name;
    EXPECT_EQ(b.search.search_patches, a.search.search_patches) << rf.runs[i].name;
    EXPECT_EQ(b.search.generations, a.search.generations) << rf.runs[i].name;
  }
}

TEST(SweepConfig, MisspeltKeysGetASuggestion) {
  EXPECT_EQ(error_of("base: ../tiny.yaml\nrnus:\n  - name: a\n"),
            "S: rnus: unknown key (did you mean 'runs'?) (line 2)");
  EXPECT_EQ(error_of("base: ../tiny.yaml\n" + kRuns + "    sram_budget_k: 4\n"),
            "S: runs[0].sram_budget_k: unknown key (did you mean 'sram_budget_kb'?) (line 4)");
  EXPECT_EQ(error_of("base: ../tiny.yaml\n" + kRuns + "    search: {generatons: 3}\n"),
            "S: runs[0].search.generatons: unknown key (did you mean 'generations'?) (line 4)");
  EXPECT_EQ(error_of("base: ../tiny.yaml\nsearch:\n  sed: 3\n" + kRuns),
            "S: search.sed: unknown key (did you mean 'seed'?) (line 3)");
}

TEST(SweepConfig, MissingFilesNameTheKey) {
  EXPECT_EQ(error_of("base: ../tiny.yaml\n" + kRuns + "    mcu: ../mcus/nope.yaml\n"),
            "S: runs[0].mcu: file not found: " + kRoot + "/configs/sweeps/../mcus/nope.yaml (line 4)");
  EXPECT_EQ(error_of("base: ../nope.yaml\n" + kRuns),
            "S: base: file not found: " + kRoot + "/configs/sweeps/../nope.yaml (line 1)");
  EXPECT_THAT(error_of(kRuns), HasSubstr("S: base: missing required key"));
}

TEST(SweepConfig, WrongTypesAndValues) {
  EXPECT_EQ(error_of("base: ../tiny.yaml\n" + kRuns + "    sram_budget_kb: lots\n"),
            "S: runs[0].sram_budget_kb: expected a number, got 'lots' (line 4)");
  EXPECT_EQ(error_of("base: ../tiny.yaml\n" + kRuns + "    flash_budget_kb: 0\n"),
            "S: runs[0].flash_budget_kb: expected a number in [1, 1e+07], got 0 (line 4)");
  EXPECT_EQ(error_of("base: ../tiny.yaml\n" + kRuns + "    search: {generations: [1, 2]}\n"),
            "S: runs[0].search.generations: expected an integer, got a list (line 4)");
  EXPECT_EQ(error_of("base: ../tiny.yaml\nruns: 5\n"), "S: runs: expected a list, got '5' (line 2)");
  EXPECT_EQ(error_of("base: ../tiny.yaml\nruns: []\n"), "S: runs: expected at least one run (line 2)");
  EXPECT_EQ(error_of("base: ../tiny.yaml\nruns:\n  - f746\n"),
            "S: runs[0]: expected a map of keys, got 'f746' (line 3)");
  EXPECT_EQ(error_of("base: ../tiny.yaml\n" + kRuns + "    search: 3\n"),
            "S: runs[0].search: expected a map of keys, got '3' (line 4)");
  EXPECT_EQ(error_of("base: ../tiny.yaml\n" + kRuns + "    export: {run_on_qemu: maybe}\n"),
            "S: runs[0].export.run_on_qemu: expected true or false, got 'maybe' (line 4)");
  // parents inherited from the defaults, population set by the sweep.
  EXPECT_EQ(error_of("base: ../tiny.yaml\nsearch: {population: 4}\n" + kRuns),
            "S: search: parents (20) exceeds population (4): set both");
}

TEST(SweepConfig, RunNamesAreUniqueDirectoryNames) {
  EXPECT_EQ(error_of("base: ../tiny.yaml\n" + kRuns + "  - name: a\n"),
            "S: runs[1].name: 'a' already names runs[0]: run names must be unique (line 4)");
  EXPECT_EQ(error_of("base: ../tiny.yaml\nruns:\n  - name: ../x\n"),
            "S: runs[0].name: expected a name of letters, digits, '.', '_' and '-' (it names the run's "
            "directory), got '../x' (line 3)");
  EXPECT_THAT(error_of("base: ../tiny.yaml\nruns:\n  - mcu: ../mcus/stm32l432.yaml\n"),
              HasSubstr("S: runs[0].name: missing required key"));
}

TEST(SweepConfig, ErrorsInTheBaseNameTheBase) {
  TempFile base(kRoot + "/configs", "mcu: mcus/stm32f746.yaml\nspace: spaces/tiny.yaml\nserch: {}\n");
  const std::string name = fs::path(base.path()).filename().string();
  EXPECT_EQ(error_of("base: ../" + name + "\n" + kRuns),
            kRoot + "/configs/sweeps/../" + name + ": serch: unknown key (did you mean 'search'?) (line 3)");
}

// A shell command's exit code and what it printed (both streams).
std::pair<int, std::string> run_cli(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The binary maps them to exit code 2 with the same one-line message, before loading a supernet.
TEST(SweepCli, SchemaErrorsExitTwo) {
  TempFile f(kRoot + "/configs/sweeps", "base: ../tiny.yaml\n" + kRuns + "    mcu: ../mcus/nope.yaml\n");
  const auto [code, out] = run_cli(std::string(TINYNAS_BINARY) + " sweep --config " + f.path() + " --out /nonexistent");
  EXPECT_EQ(code, 2) << out;
  EXPECT_EQ(out, "error: " + f.path() + ": runs[0].mcu: file not found: " + kRoot +
                     "/configs/sweeps/../mcus/nope.yaml (line 4)\n");
}

TEST(SweepCli, AnArrayTaskOutOfRangeExitsTwoNamingTheCount) {
  const auto [code, out] = run_cli(std::string(TINYNAS_BINARY) + " sweep --config " + kTinySweep +
                                   " --out /nonexistent --array-task 4");
  EXPECT_EQ(code, 2) << out;
  EXPECT_EQ(out, "error: --array-task 4: " + kTinySweep + " has 4 runs: expected 0 to 3\n");
}

// --submit-slurm checks only that the checkpoint exists before it submits: any file does here.
TEST(SweepCli, SubmitSlurmWithoutSbatchExitsTwo) {
  TempDir out("sweep_cli_nosbatch");
  fs::create_directories(out.path + "/bin");
  const auto [code, msg] = run_cli("PATH=" + out.path + "/bin " + std::string(TINYNAS_BINARY) + " sweep --config " +
                                   kTinySweep + " --out " + out.path + " --checkpoint " + kTinySweep +
                                   " --submit-slurm");
  EXPECT_EQ(code, 2) << msg;
  EXPECT_THAT(msg, HasSubstr("--submit-slurm: sbatch not found on PATH"));
}

// With an sbatch that records its arguments: the array script, then the merge after it.
TEST(SweepCli, SubmitSlurmWritesTheArrayScriptAndSubmitsTheMergeAfterIt) {
  TempDir out("sweep_cli_sbatch");
  fs::create_directories(out.path + "/bin");
  const std::string log = out.path + "/sbatch.log";
  write_file_atomic(out.path + "/bin/sbatch", "#!/bin/sh\necho \"$*\" >> " + log +
                                                  "\nif [ -f " + log + ".1 ]; then echo 102; else touch " + log +
                                                  ".1; echo '101;cluster'; fi\n");
  fs::permissions(out.path + "/bin/sbatch", fs::perms::owner_all);
  const auto [code, msg] =
      run_cli("PATH=" + out.path + "/bin:/usr/bin:/bin " + std::string(TINYNAS_BINARY) + " sweep --config " +
              kTinySweep + " --out " + out.path + "/sweep --checkpoint " + kTinySweep +
              " --submit-slurm --sbatch-args '--partition=gpu --gres=gpu:1'");
  ASSERT_EQ(code, 0) << msg;
  EXPECT_THAT(msg, HasSubstr("array_job_id=101\nmerge_job_id=102\n"));
  const std::string script = read_file(out.path + "/sweep/sweep.sbatch");
  EXPECT_THAT(script, HasSubstr("#SBATCH --array=0-3\n"));
  EXPECT_THAT(script, HasSubstr("--array-task \"$SLURM_ARRAY_TASK_ID\""));
  EXPECT_THAT(script, HasSubstr(" sweep --config '" + kTinySweep + "' --out '" + out.path + "/sweep' --store '" +
                                out.path + "/sweep/results.db'"));
  EXPECT_THAT(read_file(out.path + "/sweep/sweep-merge.sbatch"), Not(HasSubstr("--array-task")));
  EXPECT_TRUE(fs::is_directory(out.path + "/sweep/slurm"));
  EXPECT_EQ(read_file(log), "--parsable --partition=gpu --gres=gpu:1 " + out.path +
                                "/sweep/sweep.sbatch\n--parsable --dependency=afterok:101 --partition=gpu "
                                "--gres=gpu:1 " +
                                out.path + "/sweep/sweep-merge.sbatch\n");
}

// ---------------------------------------------------------------------------------------------
// Running it

TEST(Sweep, TinySweepWritesOneRowPerRun) {
  const Sweep sweep = Sweep::load(kTinySweep);
  TempDir out("sweep_rows");
  FakeScorer scorer(sweep.base.space);
  const SweepResult res = run_sweep(sweep, scorer, options(out.path));
  ASSERT_EQ(res.rows.size(), 4u);
  EXPECT_EQ(res.failed, 0);
  EXPECT_EQ(res.skipped, 0);
  EXPECT_GT(res.cache_hits, 0) << "later runs reuse the earlier runs' measurements";
  EXPECT_EQ(res.supernet_evaluations, scorer.calls[0] + scorer.calls[1]);
  for (const char* f : {"sweep.csv", "sweep.json", "sweep.svg", "sweep_flash.svg", "accuracy_cache.csv", "results.db"}) {
    EXPECT_TRUE(fs::exists(out.path + "/" + f)) << f;
  }

  const auto csv = read_csv(out.path + "/sweep.csv");
  ASSERT_EQ(csv.size(), 5u);
  const std::vector<std::string> header = csv[0];
  auto col = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    EXPECT_NE(it, header.end()) << name;
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::vector<std::string> names{"f746", "l432", "f746-sram4k", "f746-sram3k-flash32k"};
  const std::vector<std::string> mcus{"stm32f746", "stm32l432", "stm32f746", "stm32f746"};
  const std::vector<int64_t> sram{(320 - 16) * 1024, (64 - 8) * 1024, 4 * 1024, 3 * 1024};
  const std::vector<int64_t> flash{(1024 - 64) * 1024, (256 - 32) * 1024, (1024 - 64) * 1024, 32 * 1024};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& row = csv[i + 1];
    ASSERT_EQ(row.size(), header.size());
    EXPECT_EQ(row[col("name")], names[i]);
    EXPECT_EQ(row[col("mcu")], mcus[i]);
    EXPECT_EQ(std::stoll(row[col("sram_limit_bytes")]), sram[i]);
    EXPECT_EQ(std::stoll(row[col("flash_limit_bytes")]), flash[i]);
    EXPECT_EQ(row[col("error")], "");
    // The row is the run's own summary.json, both naming the scorer's metric.
    const auto s = summary_of(out.path + "/" + names[i]);
    EXPECT_EQ(row[col("metric")], "top1_accuracy");
    EXPECT_EQ(s["metric"], "top1_accuracy");
    EXPECT_EQ(row[col("arch")], s["arch"].get<std::string>());
    EXPECT_NEAR(std::stod(row[col("val_accuracy")]), s["val_accuracy"].get<double>(), 1e-6);
    EXPECT_NEAR(std::stod(row[col("test_accuracy")]), s["test_accuracy"].get<double>(), 1e-6);
    EXPECT_EQ(std::stoll(row[col("peak_sram_bytes")]), s["peak_sram_bytes"].get<int64_t>());
    EXPECT_LE(std::stoll(row[col("peak_sram_bytes")]), sram[i]);
    EXPECT_LE(std::stoll(row[col("flash_bytes")]), flash[i]);
    EXPECT_EQ(std::stoll(row[col("flash_bytes")]), s["flash_bytes"].get<int64_t>());
    EXPECT_EQ(std::stoll(row[col("macs")]), s["macs"].get<int64_t>());
    EXPECT_FALSE(row[col("latency_ms")].empty());
    if (!s["baseline"].is_null()) {
      EXPECT_NEAR(std::stod(row[col("baseline_test_accuracy")]), s["baseline"]["test_accuracy"].get<double>(), 1e-6);
    } else {
      EXPECT_EQ(row[col("baseline_test_accuracy")], "");
    }
    for (const char* f : {"best.yaml", "search_log.csv", "pareto.csv", "pareto_sram.svg", "sweep_run.json"}) {
      EXPECT_TRUE(fs::exists(out.path + "/" + names[i] + "/" + f)) << names[i] << "/" << f;
    }
  }
  // The budget binds: 3 KB is below the largest subnets' layer-by-layer peak.
  EXPECT_GT(std::stod(csv[1][col("val_accuracy")]), std::stod(csv[4][col("val_accuracy")]));
  // Every validation measurement used the sweep's 500 images.
  for (int v : scorer.val_sizes) EXPECT_EQ(v, 500);

  const auto j = nlohmann::json::parse(read_file(out.path + "/sweep.json"));
  EXPECT_EQ(j["runs"].size(), 4u);
  EXPECT_EQ(j["runs_done"].get<int>(), 4);
  EXPECT_EQ(j["runs"][3]["settings"]["search"]["seed"].get<int>(), 1);
  const std::string svg = read_file(out.path + "/sweep.svg");
  EXPECT_THAT(svg, HasSubstr("searched"));
  EXPECT_THAT(svg, HasSubstr("scaled MobileNetV2"));
}

TEST(Sweep, ResumeSkipsFinishedRunsAndFinishesTheRest) {
  const Sweep sweep = Sweep::load(kTinySweep);
  TempDir out("sweep_resume");
  FakeScorer first(sweep.base.space);
  run_sweep(sweep, first, options(out.path));
  const std::string csv = read_file(out.path + "/sweep.csv");
  auto s2 = summary_of(out.path + "/f746-sram4k");

  // Again: nothing is searched or measured; the same table.
  FakeScorer again(sweep.base.space);
  const SweepResult r = run_sweep(sweep, again, options(out.path));
  EXPECT_EQ(r.skipped, 4);
  EXPECT_EQ(again.calls[0] + again.calls[1], 0);
  EXPECT_EQ(read_file(out.path + "/sweep.csv"), csv);

  // Killed while exporting run 3: searched, not finished. Its search stands; only the export
  // is done again (none here). The run's record is in the store (sweep_run.json its export).
  const std::string record = out.path + "/f746-sram4k/sweep_run.json";
  auto set_state = [&](StoredRun::State state) {
    ResultsStore store(out.path + "/results.db");
    StoredRun r = *store.run(".", "f746-sram4k");
    r.state = state;
    if (state == StoredRun::State::Started) r.result.clear();
    store.put_run(r);
  };
  set_state(StoredRun::State::Searched);
  const std::string summary = read_file(out.path + "/f746-sram4k/summary.json");
  FakeScorer third(sweep.base.space);
  const SweepResult r3 = run_sweep(sweep, third, options(out.path));
  EXPECT_EQ(r3.skipped, 3);
  EXPECT_EQ(third.calls[0] + third.calls[1], 0);
  EXPECT_EQ(read_file(out.path + "/f746-sram4k/summary.json"), summary);
  EXPECT_EQ(r3.rows[2].best.arch.to_string(), s2["arch"].get<std::string>());

  // Killed during the search of run 3: resumes as `tinynas search` does, measuring nothing twice.
  fs::remove(out.path + "/f746-sram4k/summary.json");
  set_state(StoredRun::State::Started);
  FakeScorer fourth(sweep.base.space);
  const SweepResult r4 = run_sweep(sweep, fourth, options(out.path));
  EXPECT_EQ(r4.skipped, 3);
  EXPECT_EQ(fourth.calls[0] + fourth.calls[1], 0) << "the resumed run's measurements are all saved";
  auto resumed = summary_of(out.path + "/f746-sram4k");
  // The predictor's figures are of the sample alone, so the resumed run reports the same ones.
  EXPECT_EQ(resumed, s2);
  EXPECT_EQ(r4.rows[2].best.arch.to_string(), s2["arch"].get<std::string>());
  EXPECT_EQ(nlohmann::json::parse(read_file(record))["finished"], true);

  // --fresh: everything again.
  SweepOptions fresh = options(out.path);
  fresh.resume = false;
  FakeScorer fifth(sweep.base.space);
  const SweepResult r5 = run_sweep(sweep, fifth, fresh);
  EXPECT_EQ(r5.skipped, 0);
  EXPECT_EQ(fifth.calls[0] + fifth.calls[1], first.calls[0] + first.calls[1]);
  EXPECT_EQ(read_csv(out.path + "/sweep.csv").size(), 5u);
}

TEST(Sweep, ARunWhoseSettingsChangedStartsOver) {
  TempDir out("sweep_changed");
  const std::string head = "base: ../tiny.yaml\nsearch: {population: 16, parents: 4, mutations: 8, crossovers: 8, "
                           "generations: 2, measure_subnets: 8, finalists: 2}\nruns:\n  - name: a\n  - name: b\n";
  {
    TempFile f(kRoot + "/configs/sweeps", head + "    sram_budget_kb: 4\n");
    const Sweep sweep = Sweep::load(f.path());
    FakeScorer s(sweep.base.space);
    run_sweep(sweep, s, options(out.path));
  }
  TempFile f(kRoot + "/configs/sweeps", head + "    sram_budget_kb: 3\n");
  const Sweep sweep = Sweep::load(f.path());
  FakeScorer s(sweep.base.space);
  const SweepResult r = run_sweep(sweep, s, options(out.path));
  EXPECT_EQ(r.skipped, 1);
  EXPECT_FALSE(r.rows[1].skipped);
  EXPECT_EQ(r.rows[1].sram_limit_bytes, 3 * 1024);
  EXPECT_EQ(summary_of(out.path + "/b")["sram_budget_bytes"].get<int64_t>(), 3 * 1024);
}

TEST(Sweep, MeasurementsMadeByAnotherSupernetAreRefused) {
  const Sweep sweep = Sweep::load(kTinySweep);
  TempDir out("sweep_scorer");
  FakeScorer s(sweep.base.space);
  run_sweep(sweep, s, options(out.path));
  SweepOptions other = options(out.path);
  other.scorer_id = "another checkpoint";
  try {
    run_sweep(sweep, s, other);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), out.path + "/results.db: the sweep in " + out.path +
                                         " was run with another supernet (fake), not another checkpoint: use --fresh "
                                         "or another --out");
  }
}

TEST(Sweep, RunsDoNotShareMeasurementsOfAnotherValidationSize) {
  TempDir out("sweep_valsize");
  TempFile f(kRoot + "/configs/sweeps",
             "base: ../tiny.yaml\nsearch: {population: 16, parents: 4, mutations: 8, crossovers: 8, generations: 2, "
             "measure_subnets: 8, finalists: 2, val_images: 300}\nruns:\n  - name: a\n  - name: b\n"
             "    search: {val_images: 200}\n  - name: c\n");
  const Sweep sweep = Sweep::load(f.path());
  FakeScorer s(sweep.base.space);
  const SweepResult r = run_sweep(sweep, s, options(out.path));
  EXPECT_GT(r.rows[1].supernet_evaluations, 0);
  EXPECT_EQ(r.rows[2].supernet_evaluations, 0) << "c is a again";
  EXPECT_NE(r.rows[0].best.val_accuracy, r.rows[1].best.val_accuracy);
  EXPECT_GT(std::count(s.val_sizes.begin(), s.val_sizes.end(), 200), 0);
  for (int v : s.val_sizes) EXPECT_TRUE(v == 300 || v == 200) << v;
}

// A run of the sweep gives what `tinynas search` gives with the same overrides written into an
// experiment config (and an MCU file for a budget), though its measurements came from the cache.
TEST(Sweep, ARunEqualsTheSearchWithTheSameOverrides) {
  const Sweep sweep = Sweep::load(kTinySweep);
  TempDir out("sweep_equal");
  FakeScorer s(sweep.base.space);
  run_sweep(sweep, s, options(out.path));

  const std::string tiny = read_file(kRoot + "/configs/tiny.yaml");
  const std::string search =
      "search:\n  population: 16\n  parents: 4\n  mutations: 8\n  crossovers: 8\n  generations: 3\n"
      "  measure_subnets: 12\n  finalists: 2\n  val_images: 500\n";
  auto with_mcu = [&](const std::string& mcu) {
    return std::regex_replace(tiny, std::regex("mcu: mcus/stm32f746.yaml"), "mcu: " + mcu);
  };
  // l432: another MCU file (second in the sweep: its measurements came partly from f746's).
  {
    TempFile exp(kRoot + "/configs", with_mcu("mcus/stm32l432.yaml") + search);
    TempDir alone("sweep_equal_l432");
    FakeScorer fs_(sweep.base.space, 500);
    run_search(Experiment::load(exp.path()), fs_, {alone.path, true});
    EXPECT_EQ(summary_of(alone.path), summary_of(out.path + "/l432"));
    EXPECT_EQ(read_file(alone.path + "/measured.csv"), read_file(out.path + "/l432/measured.csv"));
    EXPECT_EQ(read_file(alone.path + "/best.yaml"), read_file(out.path + "/l432/best.yaml"));
  }
  // f746-sram3k-flash32k: budgets (an MCU file with them) and a seed.
  {
    std::string mcu = read_file(kRoot + "/configs/mcus/stm32f746.yaml");
    mcu = std::regex_replace(mcu, std::regex("sram_bytes: 327680"), "sram_bytes: " + std::to_string(16384 + 3072));
    mcu = std::regex_replace(mcu, std::regex("flash_bytes: 1048576"), "flash_bytes: " + std::to_string(65536 + 32768));
    TempFile mcu_file(kRoot + "/configs/mcus", mcu);
    TempFile exp(kRoot + "/configs", with_mcu("mcus/" + fs::path(mcu_file.path()).filename().string()) + search +
                                         "  seed: 1\n");
    TempDir alone("sweep_equal_budget");
    FakeScorer fs_(sweep.base.space, 500);
    run_search(Experiment::load(exp.path()), fs_, {alone.path, true});
    EXPECT_EQ(summary_of(alone.path), summary_of(out.path + "/f746-sram3k-flash32k"));
    EXPECT_EQ(read_file(alone.path + "/measured.csv"), read_file(out.path + "/f746-sram3k-flash32k/measured.csv"));
  }
}

// Outputs of a sweep from before the results store: its CSVs and run records are read into a new
// store once, and the sweep resumes from them, measuring nothing again.
TEST(Sweep, OutputsFromBeforeTheStoreResume) {
  const Sweep sweep = Sweep::load(kTinySweep);
  TempDir out("sweep_import");
  FakeScorer first(sweep.base.space);
  run_sweep(sweep, first, options(out.path));
  const std::string csv = read_file(out.path + "/sweep.csv");
  for (const char* f : {"results.db", "results.db-wal", "results.db-shm"}) fs::remove(out.path + "/" + f);
  FakeScorer again(sweep.base.space);
  const SweepResult r = run_sweep(sweep, again, options(out.path));
  EXPECT_EQ(r.skipped, 4);
  EXPECT_EQ(again.calls[0] + again.calls[1], 0);
  EXPECT_EQ(read_file(out.path + "/sweep.csv"), csv);
  // A run searched again (as if its record were lost) finds every measurement in the store.
  {
    ResultsStore store(out.path + "/results.db");
    store.delete_runs(".");
  }
  FakeScorer third(sweep.base.space);
  const SweepResult r3 = run_sweep(sweep, third, options(out.path));
  EXPECT_EQ(r3.skipped, 0);
  EXPECT_EQ(third.calls[0] + third.calls[1], 0);
}

// sweep.csv without what counts one invocation's own work (wall time; how many scores a run
// measured itself and how many it found in the store, which depends on which run got there
// first), and sweep.json likewise.
std::string csv_without_accounting(const std::string& path) {
  const auto rows = read_csv(path);
  std::set<std::size_t> drop;
  for (std::size_t i = 0; i < rows[0].size(); ++i) {
    if (rows[0][i] == "seconds" || rows[0][i] == "supernet_evaluations" || rows[0][i] == "cache_hits") drop.insert(i);
  }
  EXPECT_EQ(drop.size(), 3u);
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (!drop.count(i)) out += row[i] + "|";
    }
    out += "\n";
  }
  return out;
}

nlohmann::json json_without_accounting(const std::string& path) {
  auto j = nlohmann::json::parse(read_file(path));
  j.erase("this_invocation");
  for (auto& r : j["runs"]) {
    for (const char* k : {"seconds", "supernet_evaluations", "cache_hits"}) r.erase(k);
  }
  return j;
}

std::multiset<std::string> lines_of(const std::string& path) {
  std::multiset<std::string> out;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) out.insert(line);
  return out;
}

// The sweep as a job array without Slurm: every run a process of its own, all at once, writing
// into one store; then the plain sweep (the merge job) finds every run done and writes what the
// same sweep in one process writes.
TEST(SweepArray, TasksInSeparateProcessesMergeToWhatOneProcessWrites) {
  const Sweep sweep = Sweep::load(kTinySweep);
  TempDir one("sweep_array_one"), arr("sweep_array_tasks");
  FakeScorer scorer(sweep.base.space);
  run_sweep(sweep, scorer, options(one.path));

  const int n = static_cast<int>(sweep.runs.size());
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 1;
      try {
        FakeScorer task_scorer(sweep.base.space);
        SweepOptions o = options(arr.path);
        o.array_task = i;
        const SweepResult r = run_sweep(sweep, task_scorer, o);
        code = r.rows.size() == 1 && r.failed == 0 && r.rows[0].name == sweep.runs[i].name ? 0 : 3;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "array task %d: %s\n", i, e.what());
      }
      _exit(code);
    }
    pids.push_back(pid);
  }
  for (int i = 0; i < n; ++i) {
    int status = 0;
    ASSERT_EQ(::waitpid(pids[i], &status, 0), pids[i]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "array task " << i << ": " << status;
  }
  EXPECT_FALSE(fs::exists(arr.path + "/sweep.csv")) << "the tasks leave the merged files to the merge";

  FakeScorer merge(sweep.base.space);
  const SweepResult m = run_sweep(sweep, merge, options(arr.path));
  EXPECT_EQ(m.skipped, n);
  EXPECT_EQ(merge.calls[0] + merge.calls[1], 0);
  EXPECT_EQ(csv_without_accounting(arr.path + "/sweep.csv"), csv_without_accounting(one.path + "/sweep.csv"));
  EXPECT_EQ(json_without_accounting(arr.path + "/sweep.json"), json_without_accounting(one.path + "/sweep.json"));
  EXPECT_EQ(read_file(arr.path + "/sweep.svg"), read_file(one.path + "/sweep.svg"));
  // The same scores (in the order the tasks happened to measure them).
  EXPECT_EQ(lines_of(arr.path + "/accuracy_cache.csv"), lines_of(one.path + "/accuracy_cache.csv"));
  for (const SweepRun& run : sweep.runs) {
    EXPECT_EQ(summary_of(arr.path + "/" + run.name), summary_of(one.path + "/" + run.name)) << run.name;
    EXPECT_EQ(read_file(arr.path + "/" + run.name + "/measured.csv"),
              read_file(one.path + "/" + run.name + "/measured.csv"))
        << run.name;
  }
  // Out of range, or --fresh in one task, is refused.
  SweepOptions bad = options(arr.path);
  bad.array_task = n;
  EXPECT_THROW(run_sweep(sweep, merge, bad), ConfigError);
  bad.array_task = 0;
  bad.resume = false;
  EXPECT_THROW(run_sweep(sweep, merge, bad), ConfigError);
}

}  // namespace
}  // namespace tinynas
