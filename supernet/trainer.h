// The pieces of supernet training, exposed for tests and benchmarks (LibTorch): the sandwich
// step, the per-step subnet sampler (progressive shrinking phases), the learning-rate schedule,
// the optimizer, checkpoints and evaluation. train_supernet() (api.h) puts them together.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "search_spaces/arch_spec.h"
#include "supernet/data.h"
#include "supernet/supernet.h"
#include "supernet/train_config.h"

namespace tinynas {

struct SandwichLoss {
  double largest = 0;   // cross entropy (label smoothing) of the largest subnet
  double children = 0;  // mean distillation (KL to the largest) or cross-entropy loss of the rest
};

// One sandwich step: archs[0] (the largest) learns from the labels, the others from its soft
// predictions (in-place distillation) when train.distill; gradients accumulate, then one
// optimizer step.
SandwichLoss sandwich_step(Supernet& net, torch::optim::Optimizer& opt,
                           const std::vector<ArchSpec>& archs, const torch::Tensor& images,
                           const torch::Tensor& labels, const TrainConfig& train);

// The subnets of each step, a pure function of (seed, epoch, step) so a resumed run draws the
// same ones. With progressive shrinking the epochs split into four phases that open the choice
// sets in OFA's order: largest only (elastic resolution), + kernel, + depth, + expand and width.
class SubnetSampler {
 public:
  SubnetSampler(const SearchSpace& space, const TrainConfig& train);
  int phase(int64_t epoch) const;
  static constexpr int kPhases = 4;
  // The space the sampler draws from in `phase` (choice sets still fixed at their largest).
  const SearchSpace& phase_space(int phase) const { return phase_spaces_.at(phase); }
  // [largest, smallest, N random] of the phase's space.
  std::vector<ArchSpec> sandwich(int64_t epoch, int64_t step) const;

 private:
  SearchSpace space_;
  TrainConfig train_;
  std::vector<SearchSpace> phase_spaces_;
};

// Linear warm-up over train.warmup_epochs, then cosine decay to zero at the last step.
double learning_rate(const TrainConfig& train, int64_t global_step, int64_t steps_per_epoch);
std::unique_ptr<torch::optim::Optimizer> make_optimizer(Supernet& net, const TrainConfig& train);
void set_learning_rate(torch::optim::Optimizer& opt, double lr);
// Applies sort_channels()'s permutations to the optimizer's per-parameter state.
void permute_optimizer_state(torch::optim::Optimizer& opt,
                             const std::vector<ParamPermutation>& perms);

struct CheckpointState {
  uint64_t fingerprint = 0;
  int64_t epoch = 0;  // epochs completed
  int64_t step = 0;   // steps completed in the current epoch
  int64_t epochs = 0; // length of the schedule it was trained under
};
// Written atomically (temporary file in the same directory, then rename).
void save_checkpoint(const std::string& path, Supernet& net, torch::optim::Optimizer* opt,
                     const CheckpointState& state);
// Refuses (ConfigError naming the path) a missing file, a file that is not a checkpoint, or
// one whose space fingerprint differs from `net`'s space.
CheckpointState load_checkpoint(const std::string& path, Supernet& net,
                                torch::optim::Optimizer* opt);

// Normalised, unaugmented batches of training images for BN recalibration (seeded).
std::vector<torch::Tensor> calibration_batches(const ImageSet& train_set, const TrainConfig& train,
                                               const torch::Device& device);
// Recalibrates `arch`'s batch norms on `calib`, then its top-1 accuracy on `set` (its first
// max_images when > 0).
double evaluate_accuracy(Supernet& net, const ArchSpec& arch, const ImageSet& set,
                         const std::vector<torch::Tensor>& calib, const TrainConfig& train,
                         const torch::Device& device, int64_t max_images = 0);

// Intra-op threads (train.threads, or one per core) and the device (ConfigError for cuda
// without a CUDA build or GPU).
torch::Device setup_torch(const TrainConfig& train);

}  // namespace tinynas
