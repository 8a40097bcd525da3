// Fashion-MNIST (Zalando's 28x28 grey clothing images, 10 classes) from Debian's
// dataset-fashion-mnist: gzip IDX files, preloaded into memory (47 MB as uint8), the seeded
// validation hold-out of the 60k training images, normalisation by the training set's mean and
// standard deviation, and random-crop + horizontal-flip augmentation. Classified, scored by
// top-1 accuracy.
#include <ATen/ATen.h>

#include <cstring>

#include "supernet/dataset.h"
#include "supernet/datasets/idx.h"

namespace tinynas {

namespace {

constexpr double kMean = 0.2860;
constexpr double kStd = 0.3530;
const char* const kDefaultPath = "/usr/share/datasets/fashion-mnist";
const char* const kPackageHint =
    "Fashion-MNIST comes from the Debian package dataset-fashion-mnist "
    "(apt-get install dataset-fashion-mnist), or set data.path";

TaskInfo fashion_mnist_info() {
  TaskInfo t;
  t.dataset = "fashion-mnist";
  t.task = "classification";
  t.summary = "Fashion-MNIST: 28x28 grey images of clothing, 10 classes (" + std::string(kDefaultPath) + ")";
  t.input = {28, 28, 1};
  t.num_classes = 10;
  t.metric = Metric::top1_accuracy();
  return t;
}

Examples to_examples(const IdxImages& idx) {
  Examples e;
  e.inputs = at::empty({idx.count, 1, idx.height, idx.width}, at::kByte);
  std::memcpy(e.inputs.data_ptr<uint8_t>(), idx.pixels.data(), idx.pixels.size());
  e.targets = at::empty({idx.count}, at::kLong);
  std::memcpy(e.targets.data_ptr<int64_t>(), idx.labels.data(), idx.labels.size() * sizeof(int64_t));
  return e;
}

class FashionMnist : public Dataset {
 public:
  FashionMnist(TaskInfo info, Examples train, Examples val, Examples test, const TrainConfig& t)
      : Dataset(std::move(info), std::move(train), std::move(val), std::move(test)),
        crop_padding_(t.crop_padding),
        hflip_(t.hflip) {
    for (int v = 0; v < 256; ++v) lut_[v] = static_cast<float>((v / 255.0 - kMean) / kStd);
  }

  at::Tensor prepare(const at::Tensor& u8) const override {
    return (u8.to(at::kFloat).div_(255.0).sub_(kMean)).div_(kStd);
  }

  // Random crop of the zero-padded image (padding train.crop_padding), then a horizontal flip
  // (train.hflip).
  void augmented(const Examples& set, int64_t k, std::mt19937_64& rng, float* out) const override {
    const int pad = crop_padding_;
    const int dy = pad > 0 ? static_cast<int>(rng() % (2 * pad + 1)) - pad : 0;
    const int dx = pad > 0 ? static_cast<int>(rng() % (2 * pad + 1)) - pad : 0;
    const bool flip = hflip_ && (rng() & 1);
    if (!out) return;
    const int64_t c = set.inputs.size(1), h = set.inputs.size(2), w = set.inputs.size(3);
    const uint8_t* src = set.inputs.data_ptr<uint8_t>();
    for (int64_t ch = 0; ch < c; ++ch) {
      const uint8_t* s = src + ((k * c + ch) * h) * w;
      float* d = out + ch * h * w;
      for (int64_t y = 0; y < h; ++y) {
        const int64_t sy = y + dy;
        for (int64_t x = 0; x < w; ++x) {
          const int64_t sx = (flip ? w - 1 - x : x) + dx;
          const bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
          d[y * w + x] = lut_[inside ? s[sy * w + sx] : 0];
        }
      }
    }
  }

 private:
  int crop_padding_;
  bool hflip_;
  float lut_[256];
};

std::unique_ptr<Dataset> load(const DatasetRequest& r) {
  const std::string dir = r.data.path.empty() ? kDefaultPath : r.data.path;
  const IdxImages full = read_idx_pair(dir + "/train-images-idx3-ubyte.gz",
                                       dir + "/train-labels-idx1-ubyte.gz", r.num_classes, kPackageHint);
  const IdxImages test = read_idx_pair(dir + "/t10k-images-idx3-ubyte.gz",
                                       dir + "/t10k-labels-idx1-ubyte.gz", r.num_classes, kPackageHint);
  Examples train, val;
  split_train_val(to_examples(full), r.data, &train, &val);
  return std::make_unique<FashionMnist>(fashion_mnist_info(), std::move(train), std::move(val),
                                        to_examples(test), r.train);
}

}  // namespace

TINYNAS_REGISTER_DATASET(fashion_mnist_info(), load);

}  // namespace tinynas
