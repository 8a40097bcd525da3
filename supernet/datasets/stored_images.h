// Images stored as uint8 [N, C, H, W] (Fashion-MNIST's IDX files, a user's class folders): the
// one normalisation (per channel, (x / 255 - mean) / std) and the one training augmentation (a
// random crop of the zero-padded image, train.crop_padding, then a horizontal flip, train.hflip)
// that every image dataset shares. A dataset file loads its examples and makes one of these.
#pragma once

#include <vector>

#include "supernet/dataset.h"
#include "supernet/normalization.h"

namespace tinynas {

// The mean and standard deviation per channel of uint8 images [N, C, H, W], as x / 255.
Normalization channel_statistics(const at::Tensor& u8);

class StoredImages final : public Dataset {
 public:
  StoredImages(TaskInfo info, Examples train, Examples val, Examples test, const TrainConfig& t,
               Normalization norm);

  at::Tensor prepare(const at::Tensor& u8) const override;
  void augmented(const Examples& set, int64_t k, std::mt19937_64& rng, float* out) const override;

  const Normalization& normalization() const { return norm_; }
  std::optional<Normalization> pixel_normalization() const override { return norm_; }

 private:
  double mean(int64_t c) const { return norm_.mean_of(static_cast<std::size_t>(c)); }
  double stdev(int64_t c) const { return norm_.std_of(static_cast<std::size_t>(c)); }

  int crop_padding_;
  bool hflip_;
  Normalization norm_;
  std::vector<float> lut_;  // [channel][256]: the normalised value of each byte
};

}  // namespace tinynas
