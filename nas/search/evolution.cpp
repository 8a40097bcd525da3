#include "nas/search/evolution.h"

#include <algorithm>
#include <chrono>
#include <sstream>

#include <nlohmann/json.hpp>

namespace tinynas {

namespace {

using Clock = std::chrono::steady_clock;

void sort_best_first(std::vector<Candidate>* pop) {
  // Stable on ties by hash, so a run is reproducible whatever the sort implementation.
  std::sort(pop->begin(), pop->end(), [](const Candidate& a, const Candidate& b) {
    if (a.fitness != b.fitness) return a.fitness > b.fitness;
    return a.arch.hash() < b.arch.hash();
  });
}

}  // namespace

std::string EvolutionState::to_json() const {
  nlohmann::ordered_json j;
  j["next_generation"] = next_generation;
  j["proposed"] = proposed;
  j["feasible"] = feasible;
  j["rng_state"] = rng_state;
  auto pop = nlohmann::json::array();
  for (const auto& c : population) {
    pop.push_back({{"arch", nlohmann::json::parse(c.arch.to_json())}, {"fitness", c.fitness}});
  }
  j["population"] = pop;
  auto hist = nlohmann::json::array();
  for (const auto& h : history) {
    hist.push_back({{"generation", h.generation}, {"best", h.best}, {"mean", h.mean},
                    {"feasible_fraction", h.feasible_fraction}, {"evaluations", h.evaluations},
                    {"evals_per_second", h.evals_per_second}, {"seconds", h.seconds},
                    {"best_arch", h.best_arch}});
  }
  j["history"] = hist;
  auto cache_j = nlohmann::json::object();
  for (const auto& [h, f] : cache) cache_j[std::to_string(h)] = f;
  j["cache"] = cache_j;
  return j.dump(1);
}

EvolutionState EvolutionState::from_json(const std::string& text, const SearchSpace& space,
                                         const std::string& origin) {
  EvolutionState st;
  try {
    const auto j = nlohmann::json::parse(text);
    st.next_generation = j.at("next_generation").get<int>();
    st.proposed = j.at("proposed").get<int64_t>();
    st.feasible = j.at("feasible").get<int64_t>();
    st.rng_state = j.at("rng_state").get<std::string>();
    for (const auto& c : j.at("population")) {
      st.population.push_back({ArchSpec::from_json(c.at("arch").dump(), space),
                               c.at("fitness").get<double>()});
    }
    for (const auto& h : j.at("history")) {
      GenerationStats g;
      g.generation = h.at("generation").get<int>();
      g.best = h.at("best").get<double>();
      g.mean = h.at("mean").get<double>();
      g.feasible_fraction = h.at("feasible_fraction").get<double>();
      g.evaluations = h.at("evaluations").get<int>();
      g.evals_per_second = h.at("evals_per_second").get<double>();
      g.seconds = h.at("seconds").get<double>();
      g.best_arch = h.at("best_arch").get<std::string>();
      st.history.push_back(g);
    }
    for (const auto& [k, v] : j.at("cache").items()) st.cache[std::stoull(k)] = v.get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(origin + ": not a search state this version can resume (" + e.what() +
                      "); delete it to start over");
  }
  return st;
}

EvolutionarySearch::EvolutionarySearch(const SearchSpace& space, const SearchConfig& config,
                                       Constraint constraint, Fitness fitness)
    : space_(space),
      config_(config),
      constraint_(std::move(constraint)),
      fitness_(std::move(fitness)),
      sampler_(space, config.seed) {}

std::optional<ArchSpec> EvolutionarySearch::feasible(const std::function<ArchSpec()>& propose,
                                                     EvolutionState* st) {
  for (int t = 0; t < kMaxTries; ++t) {
    ArchSpec a = propose();
    ++st->proposed;
    if (constraint_(&a)) {
      ++st->feasible;
      return a;
    }
  }
  return std::nullopt;
}

double EvolutionarySearch::score(const ArchSpec& a, EvolutionState* st, int* evals) {
  const uint64_t h = a.hash();
  const auto it = st->cache.find(h);
  if (it != st->cache.end()) return it->second;
  const double f = fitness_(a);
  st->cache.emplace(h, f);
  ++*evals;
  return f;
}

EvolutionState EvolutionarySearch::run(EvolutionState st, const Progress& on_generation) {
  if (!st.rng_state.empty()) {
    std::istringstream in(st.rng_state);
    in >> sampler_.rng();
  }
  const auto start = Clock::now();
  const int first_generation = st.next_generation;
  auto nothing_fits = [] {
    return std::runtime_error("no subnet of the space fits the constraints after " +
                              std::to_string(kMaxTries) +
                              " tries: relax the MCU limits or choose a smaller space");
  };

  for (int gen = st.next_generation; gen < config_.generations; ++gen) {
    const auto gen_start = Clock::now();
    const int64_t proposed0 = st.proposed, feasible0 = st.feasible;
    int evals = 0;
    std::vector<Candidate> next;
    if (st.population.empty()) {
      for (int i = 0; i < config_.population; ++i) {
        auto a = feasible([&] { return sampler_.sample(); }, &st);
        if (!a) throw nothing_fits();
        next.push_back({*a, score(*a, &st, &evals)});
      }
    } else {
      const int n_parents = std::min<int>(config_.parents, static_cast<int>(st.population.size()));
      next.assign(st.population.begin(), st.population.begin() + n_parents);
      auto parent = [&]() -> const ArchSpec& {
        return next[sampler_.rng()() % static_cast<uint64_t>(n_parents)].arch;
      };
      std::vector<Candidate> children;
      for (int i = 0; i < config_.mutations; ++i) {
        auto a = feasible([&] { return sampler_.mutate(parent(), config_.mutation_prob); }, &st);
        if (!a) throw nothing_fits();
        children.push_back({*a, score(*a, &st, &evals)});
      }
      for (int i = 0; i < config_.crossovers; ++i) {
        auto a = feasible(
            [&] {
              const ArchSpec& x = parent();
              const ArchSpec& y = parent();
              return sampler_.crossover(x, y);
            },
            &st);
        if (!a) throw nothing_fits();
        children.push_back({*a, score(*a, &st, &evals)});
      }
      next.insert(next.end(), children.begin(), children.end());
    }
    // Duplicates would crowd out diversity among the parents: keep one of each.
    sort_best_first(&next);
    next.erase(std::unique(next.begin(), next.end(),
                           [](const Candidate& a, const Candidate& b) { return a.arch == b.arch; }),
               next.end());
    st.population = next;
    st.next_generation = gen + 1;
    std::ostringstream rng;
    rng << sampler_.rng();
    st.rng_state = rng.str();

    GenerationStats g;
    g.generation = gen;
    g.best = st.population.front().fitness;
    double sum = 0;
    for (const auto& c : st.population) sum += c.fitness;
    g.mean = sum / static_cast<double>(st.population.size());
    const int64_t proposed = st.proposed - proposed0;
    g.feasible_fraction =
        proposed ? static_cast<double>(st.feasible - feasible0) / static_cast<double>(proposed) : 1;
    g.evaluations = evals;
    const double gen_s = std::chrono::duration<double>(Clock::now() - gen_start).count();
    g.evals_per_second = gen_s > 0 ? evals / gen_s : 0;
    g.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const int done = gen + 1 - first_generation;
    g.eta_seconds = g.seconds / done * (config_.generations - gen - 1);
    g.best_arch = st.population.front().arch.to_string();
    st.history.push_back(g);
    if (on_generation) on_generation(g, st);
  }
  return st;
}

}  // namespace tinynas
