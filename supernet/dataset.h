// A Dataset (LibTorch): loads its files, splits them into train / validation (held out of the
// training set for the search) / test (final reports only), turns stored examples into the
// network's input (normalisation) and augments training examples. Which dataset a config means
// is data.dataset; each dataset registers itself from its own file:
//
//   supernet/datasets/<name>.cpp:   TINYNAS_REGISTER_DATASET(info, factory)
//
// so that adding one touches no other file (the dataset objects are linked whole into every
// program that uses tinynas_supernet; see supernet/CMakeLists.txt).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "search_spaces/search_space.h"
#include "supernet/api.h"
#include "supernet/normalization.h"
#include "supernet/task_info.h"
#include "supernet/train_config.h"

namespace tinynas {

// Examples as stored (compactly, e.g. uint8 pixels [N, C, H, W]) and their targets [N].
struct Examples {
  at::Tensor inputs;
  at::Tensor targets;
  int64_t size() const { return targets.defined() ? targets.size(0) : 0; }
  Examples subset(const at::Tensor& index) const;  // int64 indices
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  const TaskInfo& info() const { return info_; }

  // ConfigError for the validation split when data.val_size is 0.
  const Examples& split(Split s) const;

  // Stored examples -> the network's input, float [N, C, H, W], unaugmented (evaluation, BN
  // recalibration, export).
  virtual at::Tensor prepare(const at::Tensor& stored) const = 0;

  // Training example k of `set`, augmented with draws from `rng`, written to `out` (C*H*W
  // floats, NCHW); `out` null: only make the draws (the example belongs to another rank's part
  // of the batch, and the draws of the examples after it must not change). Runs on the batch
  // stream's worker thread: plain loops only (a torch op there would start another OpenMP team
  // competing with the training step's).
  virtual void augmented(const Examples& set, int64_t k, std::mt19937_64& rng, float* out) const = 0;

  // For a dataset computed by an on-device front end (TaskInfo::front_end): example k of a split
  // as the front end takes it (raw samples, e.g. int16 PCM as floats), for the exporter's
  // calibration and firmware test inputs. ConfigError for other datasets.
  virtual std::vector<float> raw_example(Split s, int64_t k) const;

  // For stored uint8 pixels that prepare() normalises as (x / 255 - mean_c) / std_c: those values,
  // so that the exported firmware can take a camera's bytes (its per-channel frame table); nullopt
  // for other inputs (features, samples).
  virtual std::optional<Normalization> pixel_normalization() const { return std::nullopt; }

 protected:
  Dataset(TaskInfo info, Examples train, Examples val, Examples test);
  TaskInfo info_;
  Examples train_, val_, test_;
};

// The arguments every dataset factory gets: the data section, the training settings (for the
// augmentation options) and the number of classes the space's head predicts (labels must be
// below it).
struct DatasetRequest {
  DataConfig data;
  TrainConfig train;
  int num_classes = 0;
  int input_channels = 0;
  // The space's front end (its kind and the fixed quantisation of its features), for a dataset
  // whose examples are that front end's output (TaskInfo::front_end).
  FrontEndSpec front_end;
  // The space's input at its largest resolution, for a dataset that stores its images at the
  // size the network takes (a user's class folders); 0 without a space.
  int input_height = 0, input_width = 0;
};
using DatasetFactory = std::function<std::unique_ptr<Dataset>(const DatasetRequest&)>;

// For TINYNAS_REGISTER_DATASET: registers the TaskInfo (torch-free registry) and the factory.
bool register_dataset(const TaskInfo& info, DatasetFactory factory);
#define TINYNAS_REGISTER_DATASET(info, factory) \
  static const bool tinynas_dataset_registered_ = ::tinynas::register_dataset(info, factory)

// The config's dataset, checked against the space: a ConfigError names data.dataset (with the
// known names) when it is unknown, and the input channels when they differ from the space's.
std::unique_ptr<Dataset> make_dataset(const DataConfig& data, const TrainConfig& train,
                                      const SearchSpace& space);
// Without a space (the exporter's images): labels are checked against the dataset's classes.
std::unique_ptr<Dataset> make_dataset(const DataConfig& data, const TrainConfig& train = {});

// The seeded hold-out every dataset uses: data.val_size examples of `full` (sorted by index)
// become the validation split, the rest (its first data.train_images when > 0) the training
// split. ConfigError when nothing is left to train on.
void split_train_val(const Examples& full, const DataConfig& data, Examples* train, Examples* val);

// Deterministic (seed, a, b, c) -> 64-bit seed.
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0);

// 0..n-1 in a seeded order: Fisher-Yates with our own index picking (mt19937_64, rng() % (i + 1)),
// so the same on every standard library (splits, epochs, calibration batches).
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);

// This process's part of data-parallel training: rank r of w takes the r-th contiguous slice of
// every global batch; w = 1 is the whole batch.
struct Shard {
  int rank = 0;
  int world_size = 1;
  // [begin, end) of a global batch of b examples (b divisible by world_size).
  int64_t begin(int64_t b) const { return b / world_size * rank; }
  int64_t end(int64_t b) const { return b / world_size * (rank + 1); }
};

struct Batch {
  at::Tensor inputs;   // float [n, C, H, W]
  at::Tensor targets;  // int64 [n]
};

// The training batches of one epoch: a seeded permutation of the training split, cut into global
// batches of train.batch_size (the remainder is dropped), each augmented with draws seeded per
// (seed, epoch, step) so any step can be rebuilt exactly (resume), of which this shard builds its
// slice. With workers > 0 the next batch is assembled on a background thread while the current
// step runs.
class BatchStream {
 public:
  BatchStream(const Dataset& dataset, const TrainConfig& train, int workers, uint64_t seed,
              int64_t epoch, int64_t first_step, Shard shard = {});
  ~BatchStream();
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

  int64_t steps() const { return steps_; }  // global batches per epoch
  int64_t position() const { return step_; }  // the step next() returns next
  bool next(Batch* batch);                  // false at the epoch's end
  // Indices into the training split of global batch `step` (all shards).
  std::vector<int64_t> global_indices(int64_t step) const;

  static int64_t steps_per_epoch(int64_t set_size, int batch_size);

 private:
  Batch build(int64_t step) const;

  const Dataset& dataset_;
  const Examples& set_;
  int64_t batch_size_;
  int workers_;
  uint64_t seed_;
  int64_t epoch_;
  Shard shard_;
  int64_t steps_;
  int64_t step_;
  std::vector<int64_t> order_;
  std::future<Batch> pending_;
};

}  // namespace tinynas
