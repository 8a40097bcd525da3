#include "nas/cli/retrain.h"

#include <fmt/core.h>

#include <stdexcept>

#include "supernet/api.h"

namespace tinynas {

namespace {

// <stem>.pt for the first seed, <stem>-seed<N>.pt for seed N after it.
std::string retrain_checkpoint(const std::string& out_dir, const std::string& stem, bool first,
                               uint64_t seed) {
  return first ? out_dir + "/" + stem + ".pt" : fmt::format("{}/{}-seed{}.pt", out_dir, stem, seed);
}

}  // namespace

SeedRuns retrain_alone(const Experiment& exp, const ArchSpec& arch, const std::string& what,
                       const std::string& out_dir, const std::string& stem, bool fresh) {
  SeedRuns runs;
  const int n = exp.search.retrain_seeds;
  for (int i = 0; i < n; ++i) {
    TrainConfig t = exp.train;
    t.only_arch = arch;
    t.seed = exp.train.seed + static_cast<uint64_t>(i);
    TrainOptions to;
    to.checkpoint = retrain_checkpoint(out_dir, stem, i == 0, t.seed);
    to.resume = !fresh;
    fmt::print(stderr, "\nretraining the {} alone, seed {} ({}/{}): {}\n", what, t.seed, i + 1, n,
               to.checkpoint);
    const TrainReport r = train_supernet(exp.space, exp.data, t, to);
    if (!r.finished) {
      throw std::runtime_error(fmt::format("retraining the {} (seed {}) stopped at epoch {} of {}",
                                           what, t.seed, r.epoch, t.epochs));
    }
    runs.add(t.seed, r.largest.val, r.largest.test, to.checkpoint);
  }
  return runs;
}

}  // namespace tinynas
