// Constrained evolutionary search over ArchSpecs (Once-for-All / MCUNet style): a population of
// feasible subnets, the top parents kept, children made by mutation and crossover, every
// child checked by the constraint before it is ever scored. Torch-free: the constraint and the
// fitness are callbacks, so the loop is tested without a network.
//
// In parallel: given a ConstraintFactory (one constraint, i.e. one Estimator, per TBB worker
// thread), the proposals are still drawn one after another from the one RNG, but checked in
// batches on every core; the first ones that fit are kept in draw order and the RNG is put back
// to just after the last one kept. The population, the fitness calls (in the same order, on the
// calling thread) and the state are those of the serial search for the seed, whatever the number
// of threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
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
  // Makes a constraint for one worker thread; the constraints it makes must not share mutable
  // state (each its own Estimator and graph storage), and agree on every candidate.
  using ConstraintFactory = std::function<Constraint()>;

  // Serial: every candidate checked on the calling thread by `constraint`.
  EvolutionarySearch(const SearchSpace& space, const SearchConfig& config, Constraint constraint,
                     Fitness fitness);
  // Parallel: candidates checked on TBB's threads, each with its own constraint from
  // `make_constraint`; the same result as the serial search with one of those constraints.
  EvolutionarySearch(const SearchSpace& space, const SearchConfig& config,
                     ConstraintFactory make_constraint, Fitness fitness);
  ~EvolutionarySearch();

  // Runs the remaining generations from `state` (a fresh state starts from a random feasible
  // population). `on_generation` is called after each generation with the state to save.
  EvolutionState run(EvolutionState state, const Progress& on_generation = {});

  // Most proposals tried for one feasible child before giving up (a space where nothing fits).
  static constexpr int kMaxTries = 10000;

 private:
  // `count` candidates that fit, in the order the serial search finds them (it proposes until
  // one fits, kMaxTries at most, then the next); throws if one is not found in kMaxTries.
  std::vector<ArchSpec> feasible(int count, const std::function<ArchSpec()>& propose, EvolutionState* st);
  std::vector<ArchSpec> feasible_in_parallel(int count, const std::function<ArchSpec()>& propose,
                                             EvolutionState* st);
  double score(const ArchSpec& a, EvolutionState* st, int* evals);

  const SearchSpace& space_;
  SearchConfig config_;
  Constraint constraint_;  // serial
  struct Workers;          // parallel: a constraint per TBB thread
  std::unique_ptr<Workers> workers_;
  Fitness fitness_;
  ArchSampler sampler_;
  // A batch's proposals and the RNG after each (reused between batches).
  std::vector<ArchSpec> batch_;
  std::vector<std::mt19937_64> rng_after_;
  std::vector<char> fits_;
};

}  // namespace tinynas
