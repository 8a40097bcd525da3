// Fashion-MNIST from Debian's dataset-fashion-mnist (gzip IDX files), preloaded into memory (it
// is small: 47 MB as uint8), split into train / validation (held out of the training set for the
// search) / test (final reports only), and served as seeded, augmented batches.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <future>
#include <string>

#include "supernet/api.h"
#include "supernet/train_config.h"

namespace tinynas {

constexpr double kFashionMnistMean = 0.2860;
constexpr double kFashionMnistStd = 0.3530;

struct ImageSet {
  torch::Tensor images;  // uint8 [N, 1, H, W]
  torch::Tensor labels;  // int64 [N]
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  ImageSet subset(const torch::Tensor& index) const;  // int64 indices
};

// Reads one gzip IDX pair (images idx3-ubyte.gz, labels idx1-ubyte.gz). Throws ConfigError
// naming the path (and the Debian package) when a file is missing, truncated or malformed.
ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path,
                       int num_classes = 10);

struct Datasets {
  ImageSet train, val, test;
};

// train-* minus a seeded hold-out of data.val_size images (val), and t10k-* (test).
Datasets load_datasets(const DataConfig& data);

const ImageSet& split_of(const Datasets& d, Split s);

// uint8 images -> normalised float [N, 1, H, W].
torch::Tensor normalize_images(const torch::Tensor& u8);

// Builds training batches for one epoch: a seeded permutation of the set, random crop (zero
// padding `crop_padding`) and horizontal flip, seeded per (seed, epoch, step) so any step can be
// rebuilt exactly (resume). With workers > 0 the next batch is assembled on a background thread
// while the current step runs.
class BatchStream {
 public:
  BatchStream(const ImageSet& set, const TrainConfig& train, int workers, uint64_t seed,
              int64_t epoch, int64_t first_step);
  ~BatchStream();
  int64_t steps() const { return steps_; }  // full batches per epoch (the remainder is dropped)
  bool next(torch::Tensor* images, torch::Tensor* labels);  // false at the epoch's end

  static int64_t steps_per_epoch(int64_t set_size, int batch_size);

 private:
  std::pair<torch::Tensor, torch::Tensor> build(int64_t step) const;

  const ImageSet& set_;
  TrainConfig train_;
  int workers_;
  uint64_t seed_;
  int64_t epoch_;
  int64_t steps_;
  int64_t step_;
  std::vector<int64_t> order_;
  std::future<std::pair<torch::Tensor, torch::Tensor>> pending_;
};

// Deterministic (seed, a, b, c) -> 64-bit seed.
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0);

}  // namespace tinynas
