// Supernet training (LibTorch), in the C++ frontend's style: a Trainer that owns the supernet,
// its optimizer and its position in the schedule, and moves it one sandwich step (step) or one
// epoch (run_epoch) at a time; checkpoints save and restore that position exactly. The pieces
// it is made of (the sandwich step, the per-step subnet sampler, the learning-rate schedule, the
// optimizer, checkpoints, BN recalibration and evaluation) are exposed for tests and benchmarks.
// train_supernet() (api.h) is a small driver over a Trainer.
//
// Data-parallel training (supernet/distributed.h): one Trainer per process with its Shard of
// every global batch, joined to the group (join): synchronised batch norms and a gradient hook
// that all-reduces the gradients before the optimizer step (every rank draws the same subnets
// and learning rate from (seed, epoch, step)).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "search_spaces/arch_spec.h"
#include "supernet/api.h"
#include "supernet/dataset.h"
#include "supernet/distributed.h"
#include "supernet/supernet.h"
#include "supernet/task.h"
#include "supernet/train_config.h"

namespace tinynas {

struct SandwichLoss {
  double largest = 0;   // the task's loss of the largest subnet
  double children = 0;  // mean distillation (or task) loss of the rest
};

// Called after the backward passes and before the optimizer step (a data-parallel wrapper
// all-reduces the gradients here).
using GradientHook = std::function<void()>;

// One sandwich step: archs[0] (the largest) learns from the targets, the others from its soft
// outputs (in-place distillation) when train.distill, else from the targets; gradients
// accumulate, then one optimizer step.
SandwichLoss sandwich_step(Supernet& net, torch::optim::Optimizer& opt,
                           const std::vector<ArchSpec>& archs, const torch::Tensor& inputs,
                           const torch::Tensor& targets, const Task& task, const TrainConfig& train,
                           const GradientHook& before_update = {});
// The same for a classifier of the space's classes (benchmarks: no dataset at hand).
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
  // train.only_arch in one-line form when one subnet was trained alone; empty for a supernet
  // (and for checkpoints written before it was recorded).
  std::string only_arch;
};
// Written atomically (temporary file in the same directory, then rename).
void save_checkpoint(const std::string& path, Supernet& net, torch::optim::Optimizer* opt,
                     const CheckpointState& state);
// Refuses (ConfigError naming the path) a missing file, a file that is not a checkpoint, or
// one whose space fingerprint differs from `net`'s space.
CheckpointState load_checkpoint(const std::string& path, Supernet& net,
                                torch::optim::Optimizer* opt);

// Prepared, unaugmented batches of training examples for BN recalibration (seeded).
std::vector<torch::Tensor> calibration_batches(const Dataset& dataset, const TrainConfig& train,
                                               const torch::Device& device);
// Recalibrates `arch`'s batch norms on `calib`, then the task's metric on the split (its first
// max_examples when > 0).
double evaluate(Supernet& net, const ArchSpec& arch, const Dataset& dataset, Split split,
                const Task& task, const std::vector<torch::Tensor>& calib,
                const TrainConfig& train, const torch::Device& device, int64_t max_examples = 0);
// The same pass, also scoring the two halves of those examples (the first n/2, the rest) on
// their own: two independent measurements of half the size, from which the search tells how much
// of a ranking is noise (api.h's SplitScore).
SplitScore evaluate_halves(Supernet& net, const ArchSpec& arch, const Dataset& dataset, Split split,
                           const Task& task, const std::vector<torch::Tensor>& calib,
                           const TrainConfig& train, const torch::Device& device, int64_t max_examples = 0);

// Intra-op threads (train.threads, or one per core), the device (ConfigError for cuda
// without a CUDA build or GPU), and glibc's allocator set to keep freed tensor memory for reuse.
torch::Device setup_torch(const TrainConfig& train);

class Trainer {
 public:
  // A fresh supernet (seeded by train.seed) at epoch 0, step 0. `workers`: threads assembling
  // the next batch (data.workers).
  Trainer(const SearchSpace& space, const Dataset& dataset, const Task& task,
          const TrainConfig& train, torch::Device device, int workers = 1, Shard shard = {});

  Supernet& net() { return net_; }
  torch::optim::Optimizer& optimizer() { return *opt_; }
  const SubnetSampler& sampler() const { return sampler_; }
  const Dataset& dataset() const { return dataset_; }
  const Task& task() const { return task_; }
  const TrainConfig& config() const { return train_; }
  const Shard& shard() const { return shard_; }
  const CheckpointState& state() const { return state_; }  // the position in the schedule
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  bool finished() const { return state_.epoch >= train_.epochs; }
  void set_gradient_hook(GradientHook hook) { hook_ = std::move(hook); }
  // Trains as one rank of `group` (whose shard must be this Trainer's): its batch norms use the
  // global batch's statistics (train.sync_batch_norm), its gradients are averaged over the ranks before each update, and
  // rank 0's weights are copied to every rank now. `group` must outlive the Trainer's training.
  void join(DataParallel& group);

  // The batches of the current epoch from the current step, this shard's part of each.
  std::unique_ptr<BatchStream> batches() const;
  // One sandwich step on `batch` at the current position: the schedule's learning rate, the
  // subnets of (epoch, step); then the position moves one step on. Throws on a non-finite loss.
  SandwichLoss step(const Batch& batch);
  // The rest of the current epoch; `on_step` after each step (progress, mid-epoch
  // checkpoints). Moves the position to the next epoch's first step.
  using StepCallback = std::function<void(const SandwichLoss&)>;
  void run_epoch(const StepCallback& on_step = {});

  // The supernet, the optimizer and the position (atomically).
  void save(const std::string& path);
  // Restores all three from a checkpoint of this space and schedule (ConfigError otherwise).
  void load(const std::string& path);

  // The task's metric of a subnet on a split, after BN recalibration.
  double evaluate(const ArchSpec& arch, Split split, int64_t max_examples = 0);

 private:
  void begin_epoch();

  const Dataset& dataset_;
  const Task& task_;
  TrainConfig train_;
  torch::Device device_;
  int workers_;
  Shard shard_;
  int64_t steps_per_epoch_;
  Supernet net_{nullptr};
  std::unique_ptr<torch::optim::Optimizer> opt_;
  SubnetSampler sampler_;
  std::vector<torch::Tensor> calib_;
  CheckpointState state_;
  GradientHook hook_;
};

}  // namespace tinynas
