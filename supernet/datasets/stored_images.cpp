#include "supernet/datasets/stored_images.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace tinynas {

Normalization channel_statistics(const at::Tensor& u8) {
  // Sums of x and x^2 per channel in double, a chunk of images at a time: the whole split as
  // doubles would be 8x its bytes (4 GB for 18,000 96x96 RGB images).
  const int64_t channels = u8.size(1), chunk = 256;
  at::Tensor sum = at::zeros({channels}, at::kDouble), sum_sq = at::zeros({channels}, at::kDouble);
  for (int64_t i = 0; i < u8.size(0); i += chunk) {
    const at::Tensor x = u8.narrow(0, i, std::min(chunk, u8.size(0) - i)).to(at::kDouble).div_(255.0);
    sum += x.sum({0, 2, 3});
    sum_sq += x.square().sum({0, 2, 3});
  }
  const double count = static_cast<double>(u8.numel() / std::max<int64_t>(1, channels));
  Normalization n;
  for (int64_t c = 0; c < channels; ++c) {
    const double mean = sum[c].item<double>() / count;
    n.mean.push_back(mean);
    n.std.push_back(std::sqrt(std::max(0.0, sum_sq[c].item<double>() / count - mean * mean)));
  }
  return n;
}

StoredImages::StoredImages(TaskInfo info, Examples train, Examples val, Examples test,
                           const TrainConfig& t, Normalization norm)
    : Dataset(std::move(info), std::move(train), std::move(val), std::move(test)),
      crop_padding_(t.crop_padding),
      hflip_(t.hflip),
      norm_(std::move(norm)) {
  const int64_t channels = info_.input.channels > 0 ? info_.input.channels : train_.inputs.size(1);
  for (const auto* v : {&norm_.mean, &norm_.std}) {
    if (v->size() != 1 && static_cast<int64_t>(v->size()) != channels) {
      throw std::invalid_argument("StoredImages: " + std::to_string(v->size()) +
                                  " normalisation values for " + std::to_string(channels) + " channels");
    }
  }
  lut_.resize(static_cast<std::size_t>(channels) * 256);
  for (int64_t c = 0; c < channels; ++c) {
    for (int v = 0; v < 256; ++v) lut_[c * 256 + v] = static_cast<float>((v / 255.0 - mean(c)) / stdev(c));
  }
}

at::Tensor StoredImages::prepare(const at::Tensor& u8) const {
  at::Tensor x = u8.to(at::kFloat).div_(255.0);
  if (norm_.mean.size() == 1 && norm_.std.size() == 1) return x.sub_(norm_.mean[0]).div_(norm_.std[0]);
  const int64_t c = x.size(1);
  std::vector<float> m(c), s(c);
  for (int64_t i = 0; i < c; ++i) m[i] = static_cast<float>(mean(i)), s[i] = static_cast<float>(stdev(i));
  return x.sub_(at::tensor(m).view({1, c, 1, 1})).div_(at::tensor(s).view({1, c, 1, 1}));
}

void StoredImages::augmented(const Examples& set, int64_t k, std::mt19937_64& rng, float* out) const {
  const int pad = crop_padding_;
  const int dy = pad > 0 ? static_cast<int>(rng() % (2 * pad + 1)) - pad : 0;
  const int dx = pad > 0 ? static_cast<int>(rng() % (2 * pad + 1)) - pad : 0;
  const bool flip = hflip_ && (rng() & 1);
  if (!out) return;
  const int64_t c = set.inputs.size(1), h = set.inputs.size(2), w = set.inputs.size(3);
  const uint8_t* src = set.inputs.data_ptr<uint8_t>();
  for (int64_t ch = 0; ch < c; ++ch) {
    const uint8_t* s = src + ((k * c + ch) * h) * w;
    const float* lut = &lut_[ch * 256];
    float* d = out + ch * h * w;
    for (int64_t y = 0; y < h; ++y) {
      const int64_t sy = y + dy;
      for (int64_t x = 0; x < w; ++x) {
        const int64_t sx = (flip ? w - 1 - x : x) + dx;
        const bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
        d[y * w + x] = lut[inside ? s[sy * w + sx] : 0];
      }
    }
  }
}

}  // namespace tinynas
