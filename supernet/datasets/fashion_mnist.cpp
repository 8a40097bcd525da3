// Fashion-MNIST (Zalando's 28x28 grey clothing images, 10 classes) from Debian's
// dataset-fashion-mnist: gzip IDX files, preloaded into memory (47 MB as uint8), the seeded
// validation hold-out of the 60k training images; normalised by the training set's mean and
// standard deviation and augmented as every stored-image dataset (stored_images.h). Classified,
// scored by top-1 accuracy.
#include <ATen/ATen.h>

#include <cstring>

#include "supernet/datasets/idx.h"
#include "supernet/datasets/stored_images.h"

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

std::unique_ptr<Dataset> load(const DatasetRequest& r) {
  const std::string dir = r.data.path.empty() ? kDefaultPath : r.data.path;
  const IdxImages full = read_idx_pair(dir + "/train-images-idx3-ubyte.gz",
                                       dir + "/train-labels-idx1-ubyte.gz", r.num_classes, kPackageHint);
  const IdxImages test = read_idx_pair(dir + "/t10k-images-idx3-ubyte.gz",
                                       dir + "/t10k-labels-idx1-ubyte.gz", r.num_classes, kPackageHint);
  Examples train, val;
  split_train_val(to_examples(full), r.data, &train, &val);
  return std::make_unique<StoredImages>(fashion_mnist_info(), std::move(train), std::move(val),
                                        to_examples(test), r.train, Normalization{{kMean}, {kStd}});
}

}  // namespace

TINYNAS_REGISTER_DATASET(fashion_mnist_info(), load);

}  // namespace tinynas
