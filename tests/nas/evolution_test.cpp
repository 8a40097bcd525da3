#include "nas/search/evolution.h"

#include <gtest/gtest.h>

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

TEST(Evolution, CorruptStateIsRefused) {
  Fixture f;
  EXPECT_THROW(EvolutionState::from_json("{\"next_generation\": 1}", f.space, "s.json"),
               ConfigError);
}

}  // namespace
}  // namespace tinynas
