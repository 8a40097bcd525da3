#include "nas/search/sweep.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "nas/search/accuracy_cache.h"
#include "nas/search/csv_field.h"
#include "nas/search/results_store.h"
#include "nas/search/svg_plot.h"
#include "search_spaces/atomic_file.h"
#include "search_spaces/hash.h"

namespace tinynas {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

std::string hex(uint64_t v) { return fmt::format("{:016x}", v); }

std::string existing_path(const ConfigNode& node) {
  const std::string p = node.as_path();
  if (!file_exists(p)) node.fail("file not found: " + p);
  return p;
}

// SearchConfig checks `parents` against `population` only where `parents` is written: a sweep
// that lowers the population alone would otherwise keep the default 20 parents.
SearchConfig search_config(const ConfigNode& section) {
  const SearchConfig s = SearchConfig::from_config(section);
  if (s.parents > s.population) {
    section.fail("parents (" + std::to_string(s.parents) + ") exceeds population (" +
                 std::to_string(s.population) + "): set both");
  }
  return s;
}

int64_t kb_to_bytes(double kb) { return std::llround(kb * 1024.0); }

bool valid_run_name(const std::string& s) {
  if (s.empty() || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (const char* taken : {"sweep.csv", "sweep.json", "sweep.svg", "sweep_flash.svg", "accuracy_cache.csv",
                            "results.db", "results.db-wal", "results.db-shm", "results.db-journal", "sweep.sbatch",
                            "sweep-merge.sbatch", "slurm"}) {
    if (s == taken) return false;  // the sweep's own files
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

// A section's keys and values as written (sorted): covers keys this file does not know of.
Json section_json(const ConfigNode& section) {
  std::map<std::string, std::string> kv;
  for (const auto& k : section.keys()) kv[k] = YAML::Dump(section.at(k).raw());
  Json j = Json::object();
  for (const auto& [k, v] : kv) j[k] = v;
  return j;
}

// What decides a run's results: the MCU (its file, with its latency calibration), the
// budgets, the search and export settings and the space.
Json settings_json(const Experiment& e, const ConfigNode& export_section) {
  Fnv1a mcu_hash;
  mcu_hash.add(read_file(e.mcu_path));
  if (!e.mcu.latency_calibration.empty() && file_exists(e.mcu.latency_calibration)) {
    mcu_hash.add(read_file(e.mcu.latency_calibration));
  }
  Json j;
  j["mcu"] = e.mcu.name;
  j["mcu_file"] = e.mcu_path;
  j["mcu_file_hash"] = hex(mcu_hash.value());
  j["sram_budget_bytes"] = e.mcu.sram_budget();
  j["flash_budget_bytes"] = e.mcu.flash_budget();
  j["search"] = e.search.to_json();
  j["export"] = section_json(export_section);
  j["space"] = e.space.name;
  j["space_fingerprint"] = hex(e.space.fingerprint());
  return j;
}

std::string fingerprint_of(Json settings) {
  settings.erase("mcu_file");  // the same MCU named from elsewhere is the same run
  return hex(Fnv1a().add(settings.dump()).value());
}

Json row_json(const SweepRow& r) {
  Json j;
  j["name"] = r.name;
  j["mcu"] = r.mcu;
  j["sram_limit_bytes"] = r.sram_limit_bytes;
  j["flash_limit_bytes"] = r.flash_limit_bytes;
  j["latency_limit_ms"] = r.latency_limit_ms > 0 ? Json(r.latency_limit_ms) : Json();
  j["searched"] = r.best.to_json();
  j["baseline"] = r.baseline.to_json();
  j["measured"] = r.measured;
  j["supernet_evaluations"] = r.supernet_evaluations;
  j["cache_hits"] = r.cache_hits;
  j["int8_test_accuracy"] = r.int8_test_accuracy >= 0 ? Json(r.int8_test_accuracy) : Json();
  j["export_verified"] = r.export_verified;
  j["seconds"] = r.seconds;
  j["error"] = r.error.empty() ? Json() : Json(r.error);
  return j;
}

SweepRow row_from_json(const Json& j, const SearchSpace& space) {
  SweepRow r;
  r.name = j.at("name").get<std::string>();
  r.mcu = j.at("mcu").get<std::string>();
  r.sram_limit_bytes = j.at("sram_limit_bytes").get<int64_t>();
  r.flash_limit_bytes = j.at("flash_limit_bytes").get<int64_t>();
  if (!j.at("latency_limit_ms").is_null()) r.latency_limit_ms = j.at("latency_limit_ms").get<double>();
  r.best = ScoredArch::from_json(j.at("searched"), space);
  r.baseline = ScoredArch::from_json(j.at("baseline"), space);
  r.measured = j.at("measured").get<int>();
  r.supernet_evaluations = j.at("supernet_evaluations").get<int>();
  r.cache_hits = j.at("cache_hits").get<int>();
  if (!j.at("int8_test_accuracy").is_null()) r.int8_test_accuracy = j.at("int8_test_accuracy").get<double>();
  r.export_verified = j.at("export_verified").get<bool>();
  r.seconds = j.at("seconds").get<double>();
  return r;
}

// A run's record in the store (exported to OUT/<run>/sweep_run.json): its settings, then its row
// once searched, then once exported.
struct RunRecord {
  std::string fingerprint;
  bool searched = false;  // summary.json is written; the row holds the search's results
  bool finished = false;  // exported as far as asked
  int export_level = 0;   // 0: not exported, 1: host, 2: host + QEMU
  std::optional<SweepRow> row;
};

std::optional<RunRecord> load_record(ResultsStore& store, const std::string& sweep, const SweepRun& run) {
  const auto r = store.run(sweep, run.name);
  if (!r) return std::nullopt;
  try {
    RunRecord rec;
    rec.fingerprint = r->fingerprint;
    rec.searched = r->state != StoredRun::State::Started;
    rec.finished = r->state == StoredRun::State::Finished;
    rec.export_level = r->export_level;
    if (rec.searched) rec.row = row_from_json(Json::parse(r->result), run.exp.space);
    return rec;
  } catch (const std::exception& e) {
    // Written whole in a transaction, so only a hand edit gets here: run it again rather than fail.
    spdlog::warn("{}: the record of run {} is unreadable ({}): running that run again", store.path(), run.name,
                 e.what());
    return std::nullopt;
  }
}

void save_record(ResultsStore& store, const std::string& sweep, const std::string& scorer, const std::string& dir,
                 const SweepRun& run, const RunRecord& r) {
  StoredRun s;
  s.sweep = sweep;
  s.run = run.name;
  s.scorer = scorer;
  s.fingerprint = run.fingerprint;
  s.settings = run.settings;
  s.state = r.finished ? StoredRun::State::Finished
                       : r.searched ? StoredRun::State::Searched : StoredRun::State::Started;
  s.export_level = r.export_level;
  if (r.row) s.result = row_json(*r.row).dump();
  store.put_run(s);
  Json j;
  j["run"] = run.name;
  j["fingerprint"] = run.fingerprint;
  j["settings"] = Json::parse(run.settings);
  j["searched"] = r.searched;
  j["finished"] = r.finished;
  j["export_level"] = r.export_level;
  j["row"] = r.row ? row_json(*r.row) : Json();
  write_file_atomic(dir + "/" + run.name + "/sweep_run.json", j.dump(2) + "\n");
}

// Sweeps from before the store: each run's sweep_run.json read in once, under the supernet its
// accuracy_cache.csv names (none: the run is run again).
void import_old_record(ResultsStore& store, const std::string& sweep, const std::string& dir, const SweepRun& run) {
  const std::string path = dir + "/" + run.name + "/sweep_run.json";
  const std::string source = store.name_of(path);
  store.transaction([&] {
    if (store.imported(source)) return;
    int rows = 0;
    const std::string cache = dir + "/accuracy_cache.csv";
    if (!store.run(sweep, run.name) && file_exists(path) && file_exists(cache)) {
      try {
        const Json j = Json::parse(read_file(path));
        std::istringstream in(read_file(cache));
        std::string tag;
        std::getline(in, tag);
        const std::string prefix = "# scorer: ";
        if (tag.rfind(prefix, 0) != 0) throw std::runtime_error(cache + ": no scorer line");
        StoredRun s;
        s.sweep = sweep;
        s.run = run.name;
        s.scorer = tag.substr(prefix.size());
        s.fingerprint = j.at("fingerprint").get<std::string>();
        s.settings = j.at("settings").dump();
        s.state = j.at("finished").get<bool>()   ? StoredRun::State::Finished
                  : j.at("searched").get<bool>() ? StoredRun::State::Searched
                                                 : StoredRun::State::Started;
        s.export_level = j.at("export_level").get<int>();
        if (!j.at("row").is_null()) s.result = j.at("row").dump();
        store.put_run(s);
        rows = 1;
        spdlog::info("{}: imported into {}", path, store.path());
      } catch (const std::exception& e) {
        spdlog::warn("{}: unreadable ({}): running that run again", path, e.what());
      }
    }
    store.mark_imported(source, rows);
  });
}

std::string fmt_eta(double s) {
  if (s < 0) return "?";
  const int t = static_cast<int>(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02d}:{:02d}", t / 3600, t / 60 % 60, t % 60)
                   : fmt::format("{}:{:02d}", t / 60, t % 60);
}

// Test accuracy of the searched subnets and of the baselines against one limit (KB). Runs that
// differ only in MCU and budgets make one curve; other search settings make their own, labelled
// by how they differ from the sweep-wide settings.
std::string accuracy_plot(const Sweep& sweep, const std::vector<SweepRow>& rows, const Metric& metric,
                          bool sram) {
  static const char* kColors[] = {"#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
  const Json common = sweep.search.to_json();
  std::vector<PlotSeries> searched;
  std::vector<std::pair<double, double>> base;
  auto limit = [&](const SweepRow& r) { return (sram ? r.sram_limit_bytes : r.flash_limit_bytes) / 1024.0; };
  for (const auto& r : rows) {
    if (!r.error.empty() || r.best.arch.stages.empty()) continue;
    std::string label = "searched";
    for (const auto& run : sweep.runs) {
      if (run.name != r.name) continue;
      std::string diff;
      const Json own = run.exp.search.to_json();
      for (const auto& [k, v] : own.items()) {
        if (common.at(k) != v) diff += (diff.empty() ? "" : ", ") + k + ": " + v.dump();
      }
      if (!diff.empty()) label += " (" + diff + ")";
    }
    auto it = std::find_if(searched.begin(), searched.end(), [&](const PlotSeries& p) { return p.label == label; });
    if (it == searched.end()) {
      searched.push_back({label, {}, {}, true, kColors[searched.size() % 7], true});
      it = searched.end() - 1;
    }
    it->x.push_back(limit(r));
    it->y.push_back(r.best.test_accuracy);
    if (!r.baseline.arch.stages.empty()) base.push_back({limit(r), r.baseline.test_accuracy});
  }
  for (auto& p : searched) {
    std::vector<std::pair<double, double>> pts;
    for (std::size_t i = 0; i < p.x.size(); ++i) pts.push_back({p.x[i], p.y[i]});
    std::sort(pts.begin(), pts.end());
    for (std::size_t i = 0; i < pts.size(); ++i) p.x[i] = pts[i].first, p.y[i] = pts[i].second;
  }
  std::sort(base.begin(), base.end());
  base.erase(std::unique(base.begin(), base.end()), base.end());
  PlotSeries baseline{"scaled MobileNetV2", {}, {}, true, "#1f77b4", true};
  for (auto [x, y] : base) baseline.x.push_back(x), baseline.y.push_back(y);
  Plot p;
  p.title = "Sweep " + sweep.name + ": test " + metric.label + " against the " + (sram ? "SRAM" : "flash") + " limit";
  p.x_label = std::string(sram ? "SRAM" : "flash") + " limit for the model (KB, log scale)";
  p.y_label = "test " + metric.label;
  p.series = searched;
  p.series.push_back(baseline);
  p.legend_width = 260;
  p.log2_x = true;  // budgets span powers of two (MCUNet's figures: 32 KB .. 512 KB)
  p.width = 790;
  return p.to_svg();
}

void write_outputs(const Sweep& sweep, const SweepOptions& opt, const Metric& metric,
                   const std::vector<SweepRow>& rows, const SweepResult& totals) {
  const std::string& dir = opt.out_dir;
  write_file_atomic(dir + "/sweep.csv", sweep_csv(rows, metric));
  write_file_atomic(dir + "/sweep.svg", accuracy_plot(sweep, rows, metric, true));
  write_file_atomic(dir + "/sweep_flash.svg", accuracy_plot(sweep, rows, metric, false));
  Json j;
  j["sweep"] = sweep.path;
  j["base"] = sweep.base_path;
  j["space"] = sweep.base.space.name;
  j["scorer"] = opt.scorer_id;
  j["metric"] = metric.name;
  j["higher_is_better"] = metric.higher_is_better;
  j["runs_total"] = sweep.runs.size();
  j["runs_done"] = std::count_if(rows.begin(), rows.end(), [](const SweepRow& r) { return r.error.empty(); });
  j["this_invocation"] = {{"seconds", totals.seconds},
                          {"skipped", totals.skipped},
                          {"failed", totals.failed},
                          {"supernet_evaluations", totals.supernet_evaluations},
                          {"cache_hits", totals.cache_hits}};
  Json runs = Json::array();
  for (const auto& r : rows) {
    Json rj = row_json(r);
    for (const auto& run : sweep.runs) {
      if (run.name == r.name) rj["settings"] = Json::parse(run.settings);
    }
    rj["dir"] = r.name;
    runs.push_back(rj);
  }
  j["runs"] = runs;
  write_file_atomic(dir + "/sweep.json", j.dump(2) + "\n");
}

}  // namespace

Sweep Sweep::load(const std::string& path) {
  const ConfigNode root = ConfigNode::load_file(path);
  root.check_keys({"base", "search", "export", "runs"});
  const std::string base_path = existing_path(root.at("base"));
  Sweep s{path, std::filesystem::path(path).stem().string(), base_path, Experiment::load(base_path), {}, {}};
  // The sweep-wide overrides first, each read (and validated) as its own section...
  const ConfigNode search = overlay(s.base.root.section("search"), root.section("search"));
  const ConfigNode exp = overlay(s.base.root.section("export"), root.section("export"));
  s.search = search_config(search);
  ExportConfig::from_config(exp);
  // ...then each run's over them.
  const ConfigNode runs = root.at("runs");
  if (runs.size() == 0) runs.fail("expected at least one run");
  std::map<std::string, std::string> names;
  for (const ConfigNode& item : runs.items()) {
    item.check_keys({"name", "mcu", "sram_budget_kb", "flash_budget_kb", "search", "export"});
    const ConfigNode name = item.at("name");
    SweepRun r{name.as_string(), s.base, "", ""};
    if (!valid_run_name(r.name)) {
      name.fail("expected a name of letters, digits, '.', '_' and '-' (it names the run's directory), got '" +
                r.name + "'");
    }
    if (const auto it = names.find(r.name); it != names.end()) {
      name.fail("'" + r.name + "' already names " + it->second + ": run names must be unique");
    }
    names[r.name] = item.key_path();
    if (const auto m = item.find("mcu")) {
      r.exp.mcu_path = existing_path(*m);
      r.exp.mcu = McuSpec::load(r.exp.mcu_path);
    }
    if (const auto b = item.find("sram_budget_kb")) {
      r.exp.mcu.sram_bytes = r.exp.mcu.reserved_sram_bytes + kb_to_bytes(b->as_double(1, 1e7));
    }
    if (const auto b = item.find("flash_budget_kb")) {
      r.exp.mcu.flash_bytes = r.exp.mcu.reserved_flash_bytes + kb_to_bytes(b->as_double(1, 1e7));
    }
    r.exp.search = search_config(overlay(search, item.section("search")));
    const ConfigNode run_exp = overlay(exp, item.section("export"));
    r.exp.export_ = ExportConfig::from_config(run_exp);
    const Json settings = settings_json(r.exp, run_exp);
    r.settings = settings.dump();
    r.fingerprint = fingerprint_of(settings);
    s.runs.push_back(std::move(r));
  }
  return s;
}

std::string sweep_csv(const std::vector<SweepRow>& rows, const Metric& metric) {
  std::ostringstream o;
  o << "name,mcu,sram_limit_bytes,flash_limit_bytes,latency_limit_ms,arch,val_accuracy,test_accuracy,"
       "peak_sram_bytes,flash_bytes,latency_ms,macs,baseline_arch,baseline_val_accuracy,"
       "baseline_test_accuracy,baseline_peak_sram_bytes,baseline_macs,int8_test_accuracy,measured,"
       "supernet_evaluations,cache_hits,seconds,error,metric\n";
  auto acc = [](double v) { return v >= 0 ? fmt::format("{:.6f}", v) : std::string(); };
  for (const auto& r : rows) {
    const bool ok = r.error.empty() && !r.best.arch.stages.empty();
    const bool base = ok && !r.baseline.arch.stages.empty();
    o << csv_field(r.name) << "," << csv_field(r.mcu) << "," << r.sram_limit_bytes << "," << r.flash_limit_bytes
      << "," << (r.latency_limit_ms > 0 ? format_double(r.latency_limit_ms) : "") << ",";
    if (ok) {
      const Estimate& e = r.best.estimate;
      o << csv_field(r.best.arch.to_string()) << "," << acc(r.best.val_accuracy) << ","
        << acc(r.best.test_accuracy) << "," << e.peak_sram_bytes << "," << e.flash_bytes << ","
        << (e.has_latency ? fmt::format("{:.3f}", e.latency_ms) : "") << "," << e.macs << ",";
    } else {
      o << ",,,,,,,";
    }
    if (base) {
      o << csv_field(r.baseline.arch.to_string()) << "," << acc(r.baseline.val_accuracy) << ","
        << acc(r.baseline.test_accuracy) << "," << r.baseline.estimate.peak_sram_bytes << ","
        << r.baseline.estimate.macs << ",";
    } else {
      o << ",,,,,";
    }
    o << acc(r.int8_test_accuracy) << "," << (ok ? std::to_string(r.measured) : "") << ","
      << r.supernet_evaluations << "," << r.cache_hits << "," << fmt::format("{:.1f}", r.seconds) << ","
      << csv_field(r.error) << "," << csv_field(metric.name) << "\n";
  }
  return o.str();
}

SweepResult run_sweep(const Sweep& sweep, SubnetScorer& scorer, const SweepOptions& opt) {
  const auto start = Clock::now();
  const std::string& dir = opt.out_dir;
  const std::size_t n = sweep.runs.size();
  const bool array = opt.array_task >= 0;
  if (array && opt.array_task >= static_cast<int>(n)) {
    throw ConfigError(fmt::format("--array-task {}: {} has {} runs: expected 0 to {}", opt.array_task, sweep.path, n,
                                  n - 1));
  }
  if (array && !opt.resume) {
    throw ConfigError("--fresh with --array-task would clear the other tasks' results: clear the store first "
                      "(a plain `tinynas sweep --fresh`), or use another --out or --store");
  }
  std::filesystem::create_directories(dir);
  ResultsStore store(opt.store_path.empty() ? dir + "/results.db" : opt.store_path);
  const std::string key = store.name_of(dir);  // this sweep's rows in the store
  AccuracyCache cache = AccuracyCache::shared(store, dir + "/accuracy_cache.csv", opt.scorer_id);
  if (opt.resume) {
    for (const SweepRun& run : sweep.runs) import_old_record(store, key, dir, run);
    for (const StoredRun& r : store.runs(key)) {
      if (r.scorer != opt.scorer_id) {
        throw ConfigError(store.path() + ": the sweep in " + dir + " was run with another supernet (" + r.scorer +
                          "), not " + opt.scorer_id + ": use --fresh or another --out");
      }
    }
  } else {
    store.delete_runs(key);
    cache.clear();
  }
  cache.load(sweep.base.space);

  // Which runs an earlier invocation finished under the same settings (and export).
  auto wanted_export = [&](const SweepRun& run) {
    return opt.export_run ? (opt.qemu || run.exp.export_.run_on_qemu ? 2 : 1) : 0;
  };
  std::vector<std::optional<RunRecord>> records(n);
  std::vector<bool> searched(n, false), done(n, false);
  int todo = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const SweepRun& run = sweep.runs[i];
    if (opt.resume) records[i] = load_record(store, key, run);
    const auto& rec = records[i];
    searched[i] = rec && rec->searched && rec->fingerprint == run.fingerprint && rec->row &&
                  file_exists(dir + "/" + run.name + "/summary.json");
    done[i] = searched[i] && rec->finished && rec->export_level >= wanted_export(run);
    todo += done[i] || (array && static_cast<int>(i) != opt.array_task) ? 0 : 1;
  }
  if (array) {
    spdlog::info("sweep {}: array task {}: run {} of {} ({}); {} accuracies in {}", sweep.name, opt.array_task,
                 opt.array_task + 1, n, sweep.runs[opt.array_task].name, cache.size(), store.path());
  } else {
    spdlog::info("sweep {}: {} runs, {} to do ({} finished earlier), {} accuracies cached in {}; output in {}",
                 sweep.name, n, todo, n - todo, cache.size(), store.path(), dir);
  }

  SweepResult result;
  std::vector<SweepRow> rows;
  double run_seconds = 0;
  int ran = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const SweepRun& run = sweep.runs[i];
    const std::string run_dir = dir + "/" + run.name;
    if (array && static_cast<int>(i) != opt.array_task) continue;
    if (done[i]) {
      SweepRow row = *records[i]->row;
      row.skipped = true;
      spdlog::info("sweep run {}/{} {}: finished earlier (test {:.4f}), skipped", i + 1, n, run.name,
                   row.best.test_accuracy);
      rows.push_back(row);
      ++result.skipped;
      continue;
    }
    const McuSpec& mcu = run.exp.mcu;
    const int left = todo - ran;
    spdlog::info("sweep run {}/{} {}: {} with {:.0f} KB SRAM, {:.0f} KB flash for the model{}  (ETA {})", i + 1,
                 n, run.name, mcu.name, mcu.sram_budget() / 1024.0, mcu.flash_budget() / 1024.0,
                 run.exp.search.latency_limit_ms > 0 ? fmt::format(", {} ms", run.exp.search.latency_limit_ms) : "",
                 ran > 0 ? fmt_eta(run_seconds / ran * left) : "?");
    const auto& rec = records[i];
    const bool stale = rec && rec->fingerprint != run.fingerprint;
    if (stale) spdlog::info("the settings of run {} changed since it last ran: starting it over", run.name);
    std::filesystem::create_directories(run_dir);

    const auto run_start = Clock::now();
    CachedScorer run_scorer(scorer, cache);
    RunRecord record;
    record.fingerprint = run.fingerprint;
    SweepRow row;
    try {
      SearchSummary s;
      if (searched[i]) {
        // Killed after its search: the search's results stand (summary.json), export only.
        row = *rec->row;
        s.best = row.best;
        s.baseline = row.baseline;
        s.measured = row.measured;
        spdlog::info("run {} was searched earlier: exporting its winner", run.name);
      } else {
        save_record(store, key, opt.scorer_id, dir, run, record);
        s = run_search(run.exp, run_scorer, {run_dir, opt.resume && !stale, "", &store});
        row.name = run.name;
        row.mcu = mcu.name;
        row.sram_limit_bytes = mcu.sram_budget();
        row.flash_limit_bytes = mcu.flash_budget();
        row.latency_limit_ms = run.exp.search.latency_limit_ms;
        row.best = s.best;
        row.baseline = s.baseline;
        row.measured = s.measured;
        row.supernet_evaluations = run_scorer.evaluations;
        row.cache_hits = run_scorer.hits;
        row.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
        record.searched = true;
        record.row = row;
        save_record(store, key, opt.scorer_id, dir, run, record);
      }
      if (opt.export_run) {
        const bool qemu = wanted_export(run) == 2;
        const RunExport e = opt.export_run(run, s, run_dir + "/export", qemu);
        row.int8_test_accuracy = e.int8_test_accuracy;
        row.export_verified = e.verified;
        record.export_level = qemu ? 2 : 1;
      }
    } catch (const ConfigError&) {
      throw;
    } catch (const std::exception& e) {
      row.name = run.name;
      row.mcu = mcu.name;
      row.sram_limit_bytes = mcu.sram_budget();
      row.flash_limit_bytes = mcu.flash_budget();
      row.latency_limit_ms = run.exp.search.latency_limit_ms;
      row.error = e.what();
      spdlog::error("sweep run {} failed: {}", run.name, row.error);
    }
    row.seconds = (searched[i] ? rec->row->seconds : 0.0) +
                  std::chrono::duration<double>(Clock::now() - run_start).count();
    result.supernet_evaluations += run_scorer.evaluations;
    result.cache_hits += run_scorer.hits;
    if (row.error.empty()) {
      record.searched = record.finished = true;
      record.row = row;
      save_record(store, key, opt.scorer_id, dir, run, record);
      spdlog::info("sweep run {}/{} {}: test {:.4f} (MbV2 {}) in {:.0f} s; {} supernet evaluations, {} reused",
                   i + 1, n, run.name, row.best.test_accuracy,
                   row.baseline.arch.stages.empty() ? "none" : fmt::format("{:.4f}", row.baseline.test_accuracy),
                   row.seconds, row.supernet_evaluations, row.cache_hits);
    } else {
      ++result.failed;
    }
    ++ran;
    run_seconds += row.seconds;
    rows.push_back(row);
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    // An array task leaves the merged files to the plain `tinynas sweep` after the array (the
    // tasks' snapshots of the store would race each other's renames).
    if (!array) {
      cache.export_csv();
      write_outputs(sweep, opt, scorer.metric(), rows, result);
    }
  }
  result.rows = rows;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!array) {
    cache.export_csv();
    write_outputs(sweep, opt, scorer.metric(), rows, result);
  }
  return result;
}

}  // namespace tinynas
