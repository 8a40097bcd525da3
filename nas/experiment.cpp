#include "nas/experiment.h"

#include <nlohmann/json.hpp>

namespace tinynas {

SearchConfig SearchConfig::from_config(const ConfigNode& node) {
  node.check_keys({"population", "parents", "mutations", "crossovers", "mutation_prob",
                   "generations", "seed", "latency_limit_ms", "val_images", "search_patches",
                   "use_predictor", "measure_subnets", "finalists", "predictor_l2"});
  SearchConfig s;
  s.population = static_cast<int>(node.get_int("population", s.population, 2, 100000));
  s.parents = static_cast<int>(node.get_int("parents", s.parents, 1, s.population));
  s.mutations = static_cast<int>(node.get_int("mutations", s.mutations, 0, 100000));
  s.crossovers = static_cast<int>(node.get_int("crossovers", s.crossovers, 0, 100000));
  s.mutation_prob = node.get_double("mutation_prob", s.mutation_prob, 0.0, 1.0);
  s.generations = static_cast<int>(node.get_int("generations", s.generations, 1, 100000));
  s.seed = static_cast<uint64_t>(node.get_int("seed", 0, 0, INT64_MAX));
  s.latency_limit_ms = node.get_double("latency_limit_ms", 0.0, 0.0, 1e9);
  s.val_images = static_cast<int>(node.get_int("val_images", 0, 0, 1000000));
  s.search_patches = node.get_bool("search_patches", s.search_patches);
  s.use_predictor = node.get_bool("use_predictor", s.use_predictor);
  s.measure_subnets = static_cast<int>(node.get_int("measure_subnets", s.measure_subnets, 4, 100000));
  s.finalists = static_cast<int>(node.get_int("finalists", s.finalists, 1, 10000));
  s.predictor_l2 = node.get_double("predictor_l2", s.predictor_l2, 0.0, 1e6);
  if (s.mutations + s.crossovers == 0) {
    node.fail("expected mutations + crossovers > 0, or the search cannot make children");
  }
  return s;
}

nlohmann::ordered_json SearchConfig::to_json() const {
  nlohmann::ordered_json j;
  j["population"] = population;
  j["parents"] = parents;
  j["mutations"] = mutations;
  j["crossovers"] = crossovers;
  j["mutation_prob"] = mutation_prob;
  j["generations"] = generations;
  j["seed"] = seed;
  j["latency_limit_ms"] = latency_limit_ms;
  j["val_images"] = val_images;
  j["search_patches"] = search_patches;
  j["use_predictor"] = use_predictor;
  j["measure_subnets"] = measure_subnets;
  j["finalists"] = finalists;
  j["predictor_l2"] = predictor_l2;
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
  node.check_keys({"calibration_images", "run_on_qemu", "input_in_arena"});
  ExportConfig e;
  e.calibration_images =
      static_cast<int>(node.get_int("calibration_images", e.calibration_images, 1, 60000));
  e.run_on_qemu = node.get_bool("run_on_qemu", e.run_on_qemu);
  e.input_in_arena = node.get_bool("input_in_arena", e.input_in_arena);
  return e;
}

Experiment Experiment::load(const std::string& path) {
  const ConfigNode root = ConfigNode::load_file(path);
  root.check_keys({"mcu", "space", "space_search", "data", "train", "search", "export"});
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
  o.plan.input_in_arena = export_.input_in_arena;
  return o;
}

}  // namespace tinynas
