// Constrained evolutionary search over ArchSpecs (Once-for-All / MCUNet style): a population of
// feasible subnets, the top parents kept, children made by mutation and crossover, every
// child checked by the constraint before it is ever scored. Torch-free: the constraint and the
// fitness are callbacks, so the loop is tested without a network.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "nas/search/experiment.h"
#include "search_spaces/arch_sampler.h"

namespace tinynas {

struct Candidate {
  ArchSpec arch;
  double fitness = 0;
};

struct GenerationStats {
  int generation = 0;        // 0-based
  double best = 0;
  double mean = 0;
  double feasible_fraction = 0;  // of the candidates proposed this generation
  int evaluations = 0;       // fitness calls this generation (cache misses)
  double evals_per_second = 0;
  double seconds = 0;        // since the search started (this process)
  double eta_seconds = 0;
  std::string best_arch;
};

struct EvolutionState {
  int next_generation = 0;
  std::vector<Candidate> population;  // sorted by fitness, best first
  std::vector<GenerationStats> history;
  std::string rng_state;               // std::mt19937_64 serialised
  std::unordered_map<uint64_t, double> cache;  // fitness by ArchSpec hash
  int64_t proposed = 0, feasible = 0;

  std::string to_json() const;
  static EvolutionState from_json(const std::string& text, const SearchSpace& space,
                                  const std::string& origin);
};

class EvolutionarySearch {
 public:
  // May adjust the candidate (e.g. choose its patch schedule); false = does not fit.
  using Constraint = std::function<bool(ArchSpec*)>;
  using Fitness = std::function<double(const ArchSpec&)>;
  using Progress = std::function<void(const GenerationStats&, const EvolutionState&)>;

  EvolutionarySearch(const SearchSpace& space, const SearchConfig& config, Constraint constraint,
                     Fitness fitness);

  // Runs the remaining generations from `state` (a fresh state starts from a random feasible
  // population). `on_generation` is called after each generation with the state to save.
  EvolutionState run(EvolutionState state, const Progress& on_generation = {});

  // Most proposals tried for one feasible child before giving up (a space where nothing fits).
  static constexpr int kMaxTries = 10000;

 private:
  std::optional<ArchSpec> feasible(const std::function<ArchSpec()>& propose, EvolutionState* st);
  double score(const ArchSpec& a, EvolutionState* st, int* evals);

  const SearchSpace& space_;
  SearchConfig config_;
  Constraint constraint_;
  Fitness fitness_;
  ArchSampler sampler_;
};

}  // namespace tinynas
