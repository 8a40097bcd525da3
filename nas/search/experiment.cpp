#include "nas/search/experiment.h"

#include <filesystem>

#include <nlohmann/json.hpp>

namespace tinynas {

template <class Self, class Visitor>
void SearchConfig::fields(Self& s, Visitor&& visit) {
  visit("population", s.population, 2, 100000);
  visit("parents", s.parents, 1, s.population);
  visit("mutations", s.mutations, 0, 100000);
  visit("crossovers", s.crossovers, 0, 100000);
  visit("mutation_prob", s.mutation_prob, 0.0, 1.0);
  visit("generations", s.generations, 1, 100000);
  visit("seed", s.seed, 0, INT64_MAX);
  visit("latency_limit_ms", s.latency_limit_ms, 0.0, 1e9);
  visit("macs_limit", s.macs_limit, 0.0, 1e15);
  visit("val_images", s.val_images, 0, 1000000);
  visit("search_patches", s.search_patches, false, true);
  visit("use_predictor", s.use_predictor, false, true);
  visit("measure_subnets", s.measure_subnets, 4, 100000);
  visit("finalists", s.finalists, 1, 10000);
  visit("predictor_l2", s.predictor_l2, -1.0, 1e6);
  visit("retrain_winner", s.retrain_winner, false, true);
  visit("retrain_seeds", s.retrain_seeds, 1, 1000);
  visit("retrain_baseline", s.retrain_baseline, false, true);
  visit("random_search_runs", s.random_search_runs, 0, 100);
}

namespace {

// Reads one field of a section (its default when absent), checked against its range.
struct FieldReader {
  const ConfigNode& node;
  void operator()(const char* key, int& v, int64_t lo, int64_t hi) const {
    v = static_cast<int>(node.get_int(key, v, lo, hi));
  }
  void operator()(const char* key, uint64_t& v, int64_t lo, int64_t hi) const {
    v = static_cast<uint64_t>(node.get_int(key, static_cast<int64_t>(v), lo, hi));
  }
  void operator()(const char* key, double& v, double lo, double hi) const {
    v = node.get_double(key, v, lo, hi);
  }
  void operator()(const char* key, bool& v, bool, bool) const { v = node.get_bool(key, v); }
};

}  // namespace

SearchConfig SearchConfig::from_config(const ConfigNode& node) {
  std::vector<std::string> keys;
  SearchConfig s;
  fields(s, [&](const char* key, const auto&...) { keys.push_back(key); });
  keys.push_back("baseline");
  node.check_keys(keys);
  fields(s, FieldReader{node});
  if (node.has("baseline")) s.baseline = node.at("baseline").as_path();
  if (s.predictor_l2 < 0 && s.predictor_l2 != -1) {
    node.at("predictor_l2").fail("expected a penalty >= 0, or -1 to choose it by cross-validation");
  }
  if (s.mutations + s.crossovers == 0) {
    node.fail("expected mutations + crossovers > 0, or the search cannot make children");
  }
  if (s.retrain_seeds > 1 && !s.retrain_winner) {
    node.at("retrain_seeds").fail("expected 1 unless search.retrain_winner is true (only networks "
                                  "trained alone have seeds to repeat), got " +
                                  std::to_string(s.retrain_seeds));
  }
  return s;
}

nlohmann::ordered_json SearchConfig::to_json() const {
  nlohmann::ordered_json j;
  fields(*this, [&](const char* key, const auto& v, auto...) { j[key] = v; });
  if (!baseline.empty()) j["baseline"] = baseline;
  return j;
}

SpaceSearchConfig SpaceSearchConfig::from_config(const ConfigNode& node) {
  node.check_keys({"widths", "resolutions", "samples", "seed", "min_fitting_fraction"});
  SpaceSearchConfig s;
  if (node.has("widths")) s.widths = node.at("widths").as_double_list(0.05, 4.0);
  if (node.has("resolutions")) {
    s.resolutions.clear();
    for (int64_t r : node.at("resolutions").as_int_list(8, 1024)) s.resolutions.push_back(static_cast<int>(r));
  }
  s.samples = static_cast<int>(node.get_int("samples", s.samples, 1, 1000000));
  s.seed = static_cast<uint64_t>(node.get_int("seed", 0, 0, INT64_MAX));
  s.min_fitting_fraction = node.get_double("min_fitting_fraction", s.min_fitting_fraction, 0.0, 1.0);
  return s;
}

ExportConfig ExportConfig::from_config(const ConfigNode& node) {
  node.check_keys({"calibration_images", "run_on_qemu", "input_in_arena", "firmware_inputs"});
  ExportConfig e;
  e.calibration_images =
      static_cast<int>(node.get_int("calibration_images", e.calibration_images, 1, 60000));
  e.run_on_qemu = node.get_bool("run_on_qemu", e.run_on_qemu);
  e.input_in_arena = node.get_bool("input_in_arena", e.input_in_arena);
  e.firmware_inputs = static_cast<int>(node.get_int("firmware_inputs", e.firmware_inputs, 1, 1000));
  return e;
}

namespace {

// The config file with its `base:` chain laid under it, section by section.
ConfigNode load_with_base(const std::string& path, int depth) {
  const ConfigNode own = ConfigNode::load_file(path);
  own.check_keys({"base", "mcu", "space", "space_search", "data", "train", "search", "export"});
  const auto base = own.find("base");
  if (!base) return own;
  if (depth >= 8) base->fail("expected a chain of at most 8 base configs (is it a cycle?)");
  const std::string base_path = base->as_path();
  // Relative paths are read from the file that holds them, and the merged config reads as this
  // one: in one folder, they mean the same from either.
  if (std::filesystem::path(base_path).parent_path().lexically_normal() !=
      std::filesystem::path(path).parent_path().lexically_normal()) {
    base->fail("expected a config in the same folder as this one (its relative paths are read from here), got " +
               base_path);
  }
  return overlay(load_with_base(base_path, depth + 1), own, 2);
}

}  // namespace

Experiment Experiment::load(const std::string& path) {
  const ConfigNode root = load_with_base(path, 0);
  Experiment e{path, "", "", {}, {}, {}, {}, {}, {}, {}, root};
  e.mcu_path = root.at("mcu").as_path();
  e.space_path = root.at("space").as_path();
  e.mcu = McuSpec::load(e.mcu_path);
  e.space = SearchSpace::load(e.space_path);
  e.data = DataConfig::from_config(root.section("data"));
  e.train = TrainConfig::from_config(root.section("train"));
  e.search = SearchConfig::from_config(root.section("search"));
  e.export_ = ExportConfig::from_config(root.section("export"));
  e.space_search = SpaceSearchConfig::from_config(root.section("space_search"));
  return e;
}

EstimateOptions Experiment::estimate_options() const {
  EstimateOptions o;
  o.latency_limit_ms = search.latency_limit_ms;
  o.macs_limit = static_cast<int64_t>(search.macs_limit);
  o.plan.input_in_arena = export_.input_in_arena;
  return o;
}

}  // namespace tinynas
