// The `data` and `train` sections of an experiment config. Plain C++ (no LibTorch), so the one
// config loader can validate them without pulling in torch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "search_spaces/arch_spec.h"
#include "search_spaces/config_node.h"

namespace tinynas {

struct DataConfig {
  // A registered dataset (supernet/task_info.h); empty: none named (an error once data is read).
  std::string dataset;
  std::string path;      // where its files are; empty = the dataset's own default
  std::string where;     // the config file and key of `dataset`, for messages about it
  int val_size = 5000;   // held out of the training set for search; the test set is for reports
  uint64_t split_seed = 0;  // which images are held out (independent of train.seed)
  int train_images = 0;  // use only the first N of the remaining training images; 0 = all
  int workers = 1;       // background threads assembling (augmenting) the next batch; 0 = none
  // The whole data section, for the dataset's own keys (TaskInfo::options).
  std::optional<ConfigNode> node;

  static DataConfig from_config(const ConfigNode& node);
  // The data.* keys every dataset takes (a dataset adds its own: TaskInfo::options).
  static const std::vector<std::string>& common_keys();
};

struct TrainConfig {
  int epochs = 10;
  int batch_size = 128;
  std::string optimizer = "sgd";  // sgd (nesterov) | adamw
  double lr = 0.1;
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 4e-5;     // not applied to batch-norm parameters, biases, kernel transforms
  double warmup_epochs = 1;       // linear warm-up, then cosine decay to zero
  double label_smoothing = 0.1;
  int random_subnets = 2;   // sandwich rule: largest + smallest + N random per step
  bool distill = true;      // in-place distillation from the largest subnet
  // Once-for-All phases (largest only, + kernel, + depth, + expand/width), epochs split evenly;
  // the hidden channels are re-sorted by importance when expand ratios become elastic.
  bool progressive_shrinking = false;
  int bn_calibration_batches = 10;
  int eval_batch_size = 500;
  int crop_padding = 2;     // augmentation: random crop of the padded image
  bool hflip = true;        // augmentation: random horizontal flip
  double grad_clip = 0;     // clip the global gradient norm; 0 = off
  bool channels_last = true;  // NHWC activations (faster on CPU with oneDNN)
  // Data-parallel ranks normalise with the global batch's statistics (N ranks then train exactly
  // as one process with the whole batch); false: each rank's own slice (no collective per batch
  // norm: faster, as PyTorch's DDP without SyncBatchNorm).
  bool sync_batch_norm = true;
  uint64_t seed = 0;
  std::string device = "cpu";  // cpu | cuda
  int threads = 0;             // intra-op threads; 0 = one per core
  int log_every = 20;          // steps between progress lines
  int checkpoint_every = 100;  // steps between mid-epoch checkpoints; 0 = at epoch ends only
  std::string checkpoint;      // where the trained supernet is written and read
  // Train only this subnet of the space, from scratch (`tinynas train --arch`): the searched
  // network's stand-alone training, with the baseline's schedule. Unset: the whole supernet.
  std::optional<ArchSpec> only_arch;

  static TrainConfig from_config(const ConfigNode& node);
};

}  // namespace tinynas
