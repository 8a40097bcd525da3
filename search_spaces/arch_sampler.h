// Seeded sampling, mutation and crossover of ArchSpecs that never leave the space. Uses
// std::mt19937_64 with our own index picking (std's distributions differ between standard
// libraries), so a seed gives the same subnets everywhere.
#pragma once

#include <cstdint>
#include <random>

#include "search_spaces/arch_spec.h"
#include "search_spaces/search_space.h"

namespace tinynas {

class ArchSampler {
 public:
  ArchSampler(const SearchSpace& space, uint64_t seed) : space_(space), rng_(seed) {}

  // Uniform over every choice. The patch schedule is left at none: patch schedules are chosen
  // per architecture by the search (see sample_patch()).
  ArchSpec sample();
  // Each gene (resolution, width, each stage's depth, each block's kernel and expand ratio)
  // is resampled with probability `prob`.
  ArchSpec mutate(const ArchSpec& parent, double prob);
  // Each gene from either parent with equal probability.
  ArchSpec crossover(const ArchSpec& a, const ArchSpec& b);
  // A random patch schedule for `arch` from the space's patch choices.
  PatchSchedule sample_patch(const ArchSpec& arch);

  std::mt19937_64& rng() { return rng_; }
  const SearchSpace& space() const { return space_; }

 private:
  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
  template <typename T>
  T pick_from(const std::vector<T>& v) { return v[pick(v.size())]; }
  bool coin(double p) { return static_cast<double>(rng_() >> 11) * 0x1.0p-53 < p; }
  BlockChoice sample_block(const StageSpec& st);

  const SearchSpace& space_;
  std::mt19937_64 rng_;
};

}  // namespace tinynas
