#include "nas/search/evolution.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

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

std::runtime_error nothing_fits() {
  return std::runtime_error("no subnet of the space fits the constraints after " +
                            std::to_string(EvolutionarySearch::kMaxTries) +
                            " tries: relax the MCU limits or choose a smaller space");
}

}  // namespace

struct EvolutionarySearch::Workers {
  explicit Workers(ConstraintFactory make) : constraints(std::move(make)) {}
  tbb::enumerable_thread_specific<Constraint> constraints;  // made on a thread's first use
};

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

EvolutionarySearch::EvolutionarySearch(const SearchSpace& space, const SearchConfig& config,
                                       ConstraintFactory make_constraint, Fitness fitness)
    : space_(space),
      config_(config),
      workers_(std::make_unique<Workers>(std::move(make_constraint))),
      fitness_(std::move(fitness)),
      sampler_(space, config.seed) {}

EvolutionarySearch::~EvolutionarySearch() = default;

std::vector<ArchSpec> EvolutionarySearch::feasible(int count, const std::function<ArchSpec()>& propose,
                                                   EvolutionState* st) {
  if (workers_) return feasible_in_parallel(count, propose, st);
  std::vector<ArchSpec> out;
  while (static_cast<int>(out.size()) < count) {
    bool found = false;
    for (int t = 0; t < kMaxTries && !found; ++t) {
      ArchSpec a = propose();
      ++st->proposed;
      if (constraint_(&a)) {
        ++st->feasible;
        out.push_back(std::move(a));
        found = true;
      }
    }
    if (!found) throw nothing_fits();
  }
  return out;
}

std::vector<ArchSpec> EvolutionarySearch::feasible_in_parallel(int count,
                                                               const std::function<ArchSpec()>& propose,
                                                               EvolutionState* st) {
  std::vector<ArchSpec> out;
  int tries = 0;  // proposals that did not fit since the last one that did
  int64_t proposed = 0, fitting = 0;  // in this call (mutations fit more often than random samples)
  const int threads = tbb::this_task_arena::max_concurrency();
  while (static_cast<int>(out.size()) < count) {
    // The batch size decides how much work is thrown away (the checks after the last child kept)
    // and how often the threads meet, never the result: proposals for about 80% of the children
    // still wanted at the feasible fraction seen (so rarely more than needed), at least one per
    // thread (so the last rounds waste at most threads - 1 checks).
    const int need = count - static_cast<int>(out.size());
    const double rate = std::max(0.01, proposed > 0      ? static_cast<double>(fitting) / proposed
                                       : st->proposed > 0 ? static_cast<double>(st->feasible) / st->proposed
                                                          : 0.5);
    const int n = std::clamp(static_cast<int>(std::ceil(0.8 * need / rate)), threads, 4096);
    batch_.resize(n);
    rng_after_.resize(n);
    fits_.assign(n, 0);
    // Drawn one after another from the one RNG, as the serial search draws them.
    for (int j = 0; j < n; ++j) {
      batch_[j] = propose();
      rng_after_[j] = sampler_.rng();
    }
    // Checked in parallel (a check may set the candidate's patch schedule).
    tbb::parallel_for(tbb::blocked_range<int>(0, n), [&](const tbb::blocked_range<int>& r) {
      Constraint& constraint = workers_->constraints.local();
      for (int j = r.begin(); j != r.end(); ++j) fits_[j] = constraint(&batch_[j]);
    });
    // Taken in draw order: what the serial search would have proposed and kept.
    for (int j = 0; j < n; ++j) {
      ++st->proposed;
      ++proposed;
      if (!fits_[j]) {
        if (++tries >= kMaxTries) throw nothing_fits();
        continue;
      }
      ++st->feasible;
      ++fitting;
      tries = 0;
      out.push_back(std::move(batch_[j]));
      if (static_cast<int>(out.size()) == count) {
        // The serial search stops drawing here: the RNG goes back to just after this proposal.
        sampler_.rng() = rng_after_[j];
        return out;
      }
    }
  }
  return out;
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

  for (int gen = st.next_generation; gen < config_.generations; ++gen) {
    const auto gen_start = Clock::now();
    const int64_t proposed0 = st.proposed, feasible0 = st.feasible;
    int evals = 0;
    std::vector<Candidate> next;
    // The candidates of each kind first (the RNG's draws and the constraint's checks), then
    // scored in the same order: the fitness draws nothing from the search's RNG.
    if (st.population.empty()) {
      for (ArchSpec& a : feasible(config_.population, [&] { return sampler_.sample(); }, &st)) {
        const double f = score(a, &st, &evals);
        next.push_back({std::move(a), f});
      }
    } else {
      const int n_parents = std::min<int>(config_.parents, static_cast<int>(st.population.size()));
      next.assign(st.population.begin(), st.population.begin() + n_parents);
      auto parent = [&]() -> const ArchSpec& {
        return next[sampler_.rng()() % static_cast<uint64_t>(n_parents)].arch;
      };
      std::vector<Candidate> children;
      for (ArchSpec& a : feasible(
               config_.mutations, [&] { return sampler_.mutate(parent(), config_.mutation_prob); }, &st)) {
        const double f = score(a, &st, &evals);
        children.push_back({std::move(a), f});
      }
      for (ArchSpec& a : feasible(
               config_.crossovers,
               [&] {
                 const ArchSpec& x = parent();
                 const ArchSpec& y = parent();
                 return sampler_.crossover(x, y);
               },
               &st)) {
        const double f = score(a, &st, &evals);
        children.push_back({std::move(a), f});
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
