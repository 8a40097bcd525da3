#include "nas/search/evolution.h"

#include <memory>

#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include "estimators/estimate.h"
#include "search_spaces/net_graph.h"

namespace tinynas {
namespace {

const std::string kRoot = TINYNAS_SOURCE_DIR;

struct Fixture {
  SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  SearchConfig cfg;
  int64_t mac_limit = 6'000'000;
  int fitness_calls = 0;

  Fixture() {
    cfg.population = 40;
    cfg.parents = 10;
    cfg.mutations = 20;
    cfg.crossovers = 20;
    cfg.generations = 8;
    cfg.seed = 5;
  }
  EvolutionarySearch::Constraint constraint() {
    return [this](ArchSpec* a) { return lower(space, *a).macs() <= mac_limit; };
  }
  // A fitness with a known optimum under the limit: more MACs is better, as accuracy tends to be.
  EvolutionarySearch::Fitness fitness() {
    return [this](const ArchSpec& a) {
      ++fitness_calls;
      return static_cast<double>(lower(space, a).macs()) / mac_limit;
    };
  }
};

TEST(Evolution, ImprovesAndNeverScoresAnInfeasibleCandidate) {
  Fixture f;
  int infeasible_scored = 0;
  auto fitness = [&](const ArchSpec& a) {
    infeasible_scored += lower(f.space, a).macs() > f.mac_limit;
    return f.fitness()(a);
  };
  EvolutionarySearch search(f.space, f.cfg, f.constraint(), fitness);
  const EvolutionState st = search.run({});
  EXPECT_EQ(infeasible_scored, 0);
  ASSERT_EQ(st.history.size(), 8u);
  for (std::size_t i = 1; i < st.history.size(); ++i) {
    EXPECT_GE(st.history[i].best, st.history[i - 1].best);  // elitism
  }
  EXPECT_GT(st.history.back().mean, st.history.front().mean + 0.1);
  EXPECT_GT(st.history.back().best, 0.97);  // close to the limit
  EXPECT_LE(st.history.back().best, 1.0);
  for (const auto& c : st.population) {
    EXPECT_NO_THROW(c.arch.validate(f.space));
    EXPECT_LE(lower(f.space, c.arch).macs(), f.mac_limit);
  }
  EXPECT_LT(st.history.back().feasible_fraction, 1.0);
  EXPECT_GT(st.history.back().feasible_fraction, 0.0);
}

TEST(Evolution, CachesFitnessByArchHash) {
  Fixture f;
  EvolutionarySearch search(f.space, f.cfg, f.constraint(), f.fitness());
  const EvolutionState st = search.run({});
  EXPECT_EQ(f.fitness_calls, static_cast<int>(st.cache.size()));
  int evals = 0;
  for (const auto& g : st.history) evals += g.evaluations;
  EXPECT_EQ(evals, f.fitness_calls);
  // Elites are not re-scored: far fewer calls than proposals.
  EXPECT_LT(f.fitness_calls, 40 + 7 * 40);
}

TEST(Evolution, ResumeEqualsAnUninterruptedRun) {
  Fixture f;
  const EvolutionState full = EvolutionarySearch(f.space, f.cfg, f.constraint(), f.fitness()).run({});

  Fixture g;
  SearchConfig first = g.cfg;
  first.generations = 3;
  const EvolutionState part =
      EvolutionarySearch(g.space, first, g.constraint(), g.fitness()).run({});
  // Through the file format, as after a kill.
  const EvolutionState restored = EvolutionState::from_json(part.to_json(), g.space, "state.json");
  const EvolutionState resumed =
      EvolutionarySearch(g.space, g.cfg, g.constraint(), g.fitness()).run(restored);
  ASSERT_EQ(resumed.population.size(), full.population.size());
  for (std::size_t i = 0; i < full.population.size(); ++i) {
    EXPECT_EQ(resumed.population[i].arch, full.population[i].arch);
    EXPECT_EQ(resumed.population[i].fitness, full.population[i].fitness);
  }
  EXPECT_EQ(resumed.history.size(), full.history.size());
}

TEST(Evolution, SeedDecides) {
  Fixture a, b, c;
  c.cfg.seed = 6;
  const auto ra = EvolutionarySearch(a.space, a.cfg, a.constraint(), a.fitness()).run({});
  const auto rb = EvolutionarySearch(b.space, b.cfg, b.constraint(), b.fitness()).run({});
  const auto rc = EvolutionarySearch(c.space, c.cfg, c.constraint(), c.fitness()).run({});
  EXPECT_EQ(ra.population.front().arch, rb.population.front().arch);
  EXPECT_NE(ra.to_json(), rc.to_json());
}

TEST(Evolution, NothingFitsIsAClearError) {
  Fixture f;
  f.mac_limit = 1000;
  f.cfg.population = 2;
  EvolutionarySearch search(f.space, f.cfg, f.constraint(), f.fitness());
  try {
    search.run({});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no subnet of the space fits"), std::string::npos);
  }
}

// The search's real constraint: the estimators on an MCU, with the cheapest patch schedule that
// fits (as search_pipeline.cpp checks candidates), one Estimator per thread.
EvolutionarySearch::ConstraintFactory estimator_constraints(const SearchSpace& space, const McuSpec& mcu) {
  return [&space, mcu]() -> EvolutionarySearch::Constraint {
    auto est = std::make_shared<Estimator>(mcu);
    return [est, &space](ArchSpec* a) {
      a->patch = PatchSchedule{};
      const auto p = choose_patch_schedule(*est, space, *a);
      if (!p) return false;
      a->patch = *p;
      return true;
    };
  };
}

McuSpec tight_f746() {
  McuSpec m = McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml");
  m.sram_bytes = m.reserved_sram_bytes + 24 * 1024;  // about half the subnets need patches
  return m;
}

// Everything but the timing fields of the history.
void expect_same_search(const EvolutionState& a, const EvolutionState& b) {
  ASSERT_EQ(a.population.size(), b.population.size());
  for (std::size_t i = 0; i < a.population.size(); ++i) {
    EXPECT_EQ(a.population[i].arch, b.population[i].arch) << i;
    EXPECT_TRUE(a.population[i].arch.patch == b.population[i].arch.patch) << i;
    EXPECT_EQ(a.population[i].fitness, b.population[i].fitness) << i;
  }
  EXPECT_EQ(a.rng_state, b.rng_state);
  EXPECT_EQ(a.proposed, b.proposed);
  EXPECT_EQ(a.feasible, b.feasible);
  EXPECT_EQ(a.cache, b.cache);
  ASSERT_EQ(a.history.size(), b.history.size());
  for (std::size_t i = 0; i < a.history.size(); ++i) {
    EXPECT_EQ(a.history[i].best, b.history[i].best);
    EXPECT_EQ(a.history[i].mean, b.history[i].mean);
    EXPECT_EQ(a.history[i].feasible_fraction, b.history[i].feasible_fraction);
    EXPECT_EQ(a.history[i].evaluations, b.history[i].evaluations);
    EXPECT_EQ(a.history[i].best_arch, b.history[i].best_arch);
  }
}

// The candidates' estimator checks in parallel (TBB, a constraint per thread): the same
// population, winner, RNG state and fitness calls (in the same order) as the serial search, on
// one thread or on all.
TEST(Evolution, OneThreadAndAllThreadsGiveTheSameResult) {
  Fixture f;
  f.cfg.generations = 4;
  const McuSpec mcu = tight_f746();
  const auto make = estimator_constraints(f.space, mcu);
  std::vector<uint64_t> serial_calls, one_calls, all_calls;
  auto fitness = [&](std::vector<uint64_t>* calls) {
    return [&f, calls](const ArchSpec& a) {
      calls->push_back(a.hash());
      return f.fitness()(a);
    };
  };
  const EvolutionState serial = EvolutionarySearch(f.space, f.cfg, make(), fitness(&serial_calls)).run({});
  EvolutionState one;
  {
    tbb::global_control only(tbb::global_control::max_allowed_parallelism, 1);
    one = EvolutionarySearch(f.space, f.cfg, make, fitness(&one_calls)).run({});
  }
  const EvolutionState all = EvolutionarySearch(f.space, f.cfg, make, fitness(&all_calls)).run({});
  expect_same_search(serial, one);
  expect_same_search(serial, all);
  EXPECT_EQ(serial_calls, one_calls);
  EXPECT_EQ(serial_calls, all_calls);
  // The constraint did its work: some candidates fit only with patches, some not at all.
  int patched = 0;
  for (const auto& c : all.population) patched += c.arch.patch.patches > 1;
  EXPECT_GT(patched, 0);
  EXPECT_LT(all.history.back().feasible_fraction, 1.0);

  // A run resumed in parallel from a serial run's state ends where the serial run ends.
  SearchConfig first = f.cfg;
  first.generations = 2;
  std::vector<uint64_t> ignored;
  const EvolutionState part = EvolutionarySearch(f.space, first, make(), fitness(&ignored)).run({});
  const EvolutionState resumed =
      EvolutionarySearch(f.space, f.cfg, make, fitness(&ignored))
          .run(EvolutionState::from_json(part.to_json(), f.space, "state.json"));
  expect_same_search(serial, resumed);
}

TEST(Evolution, NothingFitsIsAClearErrorInParallelToo) {
  Fixture f;
  f.mac_limit = 1000;
  f.cfg.population = 2;
  EvolutionarySearch search(f.space, f.cfg, [&f] { return f.constraint(); }, f.fitness());
  try {
    search.run({});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no subnet of the space fits"), std::string::npos);
  }
}

TEST(Evolution, CorruptStateIsRefused) {
  Fixture f;
  EXPECT_THROW(EvolutionState::from_json("{\"next_generation\": 1}", f.space, "s.json"),
               ConfigError);
}

}  // namespace
}  // namespace tinynas
