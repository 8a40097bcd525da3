// One-class Fashion-MNIST for anomaly detection: the standard one-class protocol (Ruff et al.
// 2018, "Deep One-Class Classification"; Golan & El-Yaniv 2018, "GEOM"): one class is normal
// (data.normal_class, 0-9 or its name, e.g. "Sandal"), the network (an autoencoder) trains on
// that class's images only, and its anomaly score (the reconstruction error) is scored by the
// AUROC of "any other class" against the normal class.
//
// The files are Fashion-MNIST's (Debian's dataset-fashion-mnist, gzip IDX: idx.h), stored as
// uint8 [N, 1, 28, 28] in a StoredImages (stored_images.h). Splits:
//  - validation (what the search optimises): data.val_size images held out of the 60,000
//    training images by split_train_val() (seeded by data.split_seed), of every class: label 0
//    for the normal class, 1 for the others;
//  - training: the normal-class images of the rest (data.train_images > 0: the first that many
//    of them), all label 0;
//  - test (final reports): the whole 10,000-image test set, label 1 for every other class.
// Targets are anomaly_target.h's packing: label | clip << 1 | group << 32, each image its own
// clip (its index within its split), group 0 (one AUROC, as the papers report it).
//
// Normalisation: (x / 255 - mean) / std with the mean and standard deviation of the normal
// class's training images (the training split: no test or validation pixel is looked at), as
// the one-class papers normalise with the normal class's statistics.
//
// Augmentation: none by default (data.augment: false): the papers' numbers are without it, and
// for an autoencoder a shifted or mirrored normal image widens what it learns to reconstruct,
// which tends to reconstruct anomalies better too. data.augment: true applies the stored-image
// augmentation of train.crop_padding and train.hflip; that is sound for an autoencoder because
// the network's output is the error of its reconstruction against its own (augmented) input,
// so the target moves with the input.
#include <ATen/ATen.h>
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "supernet/dataset.h"
#include "supernet/datasets/idx.h"
#include "supernet/datasets/stored_images.h"
#include "supernet/tasks/anomaly_target.h"

namespace tinynas {

namespace {

const char* const kDefaultPath = "/usr/share/datasets/fashion-mnist";
const char* const kPackageHint =
    "Fashion-MNIST comes from the Debian package dataset-fashion-mnist "
    "(apt-get install dataset-fashion-mnist), or set data.path";
constexpr int kClasses = 10;
constexpr int kSide = 28;
// Fashion-MNIST's labels, in label order (Zalando's README).
const char* const kClassNames[kClasses] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                           "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

TaskInfo oneclass_info() {
  TaskInfo t;
  t.dataset = "fashion-mnist-oneclass";
  t.task = "anomaly";
  t.summary = "Fashion-MNIST one-class anomaly detection: train on one class (data.normal_class), "
              "score the other nine as anomalies by AUROC (" + std::string(kDefaultPath) + ")";
  t.input = {kSide, kSide, 1};
  t.num_classes = 2;
  t.class_names = {"normal", "anomaly"};
  t.metric = Metric::auroc();
  t.options = {"normal_class", "augment"};
  return t;
}

// Lower case, letters and digits only: "Ankle boot", "ankle_boot" and "AnkleBoot" are one name.
std::string name_key(const std::string& s) {
  std::string k;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return k;
}

std::string class_list() {
  std::string s;
  for (int c = 0; c < kClasses; ++c) s += fmt::format("{}{} {}", c ? ", " : "", c, kClassNames[c]);
  return s;
}

// data.normal_class: a label 0-9 or a class name (any case and punctuation; "T-shirt" too).
int read_normal_class(const DataConfig& data) {
  if (!data.node || !data.node->has("normal_class")) {
    throw ConfigError(fmt::format("{}: fashion-mnist-oneclass needs data.normal_class, the class "
                                  "trained on as normal: 0-9 or its name ({})",
                                  data.where.empty() ? "data" : data.where, class_list()));
  }
  const ConfigNode n = data.node->at("normal_class");
  const std::string v = n.is_map() || n.is_sequence() || n.is_null() ? "" : n.as_string();
  const std::string key = name_key(v);
  if (!v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() <= 2 && std::stoi(v) < kClasses) return std::stoi(v);
  } else if (!key.empty()) {
    for (int c = 0; c < kClasses; ++c) {
      if (key == name_key(kClassNames[c])) return c;
    }
    if (key == "tshirt" || key == "top") return 0;
  }
  n.fail(fmt::format("expected a Fashion-MNIST class 0-9 or its name ({})", class_list()));
}

// Stored images [N, 1, 28, 28] with packed anomaly targets: label 1 where the class differs from
// `normal`, clip = position, group 0.
Examples to_examples(const IdxImages& idx, const std::vector<int64_t>& index, int normal) {
  const int64_t n = static_cast<int64_t>(index.size()), pixels = idx.height * idx.width;
  Examples e;
  e.inputs = at::empty({n, 1, idx.height, idx.width}, at::kByte);
  e.targets = at::empty({n}, at::kLong);
  uint8_t* in = e.inputs.data_ptr<uint8_t>();
  int64_t* t = e.targets.data_ptr<int64_t>();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = index[static_cast<std::size_t>(k)];
    std::memcpy(in + k * pixels, idx.pixels.data() + i * pixels, static_cast<std::size_t>(pixels));
    t[k] = pack_anomaly_target({idx.labels[static_cast<std::size_t>(i)] != normal ? 1 : 0, k, 0});
  }
  return e;
}

std::vector<int64_t> all_of(const IdxImages& idx) {
  std::vector<int64_t> v(static_cast<std::size_t>(idx.count));
  for (int64_t i = 0; i < idx.count; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

IdxImages read_files(const std::string& dir, const std::string& prefix) {
  const std::string images = dir + "/" + prefix + "-images-idx3-ubyte.gz";
  IdxImages idx = read_idx_pair(images, dir + "/" + prefix + "-labels-idx1-ubyte.gz", kClasses, kPackageHint);
  if (idx.height != kSide || idx.width != kSide) {
    throw ConfigError(fmt::format("{}: {}x{} images; Fashion-MNIST's are {}x{}", images, idx.height,
                                  idx.width, kSide, kSide));
  }
  return idx;
}

std::unique_ptr<Dataset> load(const DatasetRequest& r) {
  const int normal = read_normal_class(r.data);
  const bool augment = r.data.node ? r.data.node->get_bool("augment", false) : false;
  const std::string dir = r.data.path.empty() ? kDefaultPath : r.data.path;
  const IdxImages full = read_files(dir, "train");
  const IdxImages test = read_files(dir, "t10k");

  // The seeded hold-out over the image indices (every class), then the normal class of the rest.
  DataConfig split = r.data;
  split.train_images = 0;  // counted below among the normal-class images
  Examples rest, held;
  Examples indices;
  indices.inputs = at::arange(full.count, at::kLong);
  indices.targets = indices.inputs;
  split_train_val(indices, split, &rest, &held);
  std::vector<int64_t> train_index, val_index;
  for (int64_t k = 0; k < rest.size(); ++k) {
    const int64_t i = rest.targets.data_ptr<int64_t>()[k];
    if (full.labels[static_cast<std::size_t>(i)] == normal) train_index.push_back(i);
  }
  for (int64_t k = 0; k < held.size(); ++k) val_index.push_back(held.targets.data_ptr<int64_t>()[k]);
  if (r.data.train_images > 0 && r.data.train_images < static_cast<int64_t>(train_index.size())) {
    train_index.resize(static_cast<std::size_t>(r.data.train_images));
  }
  if (train_index.empty()) {
    throw ConfigError(fmt::format("{}: no training images of class {} ({}) are left after holding out "
                                  "data.val_size {} of {}", dir, normal, kClassNames[normal],
                                  r.data.val_size, full.count));
  }

  Examples train = to_examples(full, train_index, normal);
  Examples val = r.data.val_size > 0 ? to_examples(full, val_index, normal) : Examples{};
  TrainConfig t = r.train;
  if (!augment) {
    t.crop_padding = 0;
    t.hflip = false;
  }
  Normalization norm = channel_statistics(train.inputs);
  if (!(norm.std[0] > 0)) norm.std[0] = 1.0;  // a constant image (synthetic data): no scaling
  return std::make_unique<StoredImages>(oneclass_info(), std::move(train), std::move(val),
                                        to_examples(test, all_of(test), normal), t, std::move(norm));
}

}  // namespace

TINYNAS_REGISTER_DATASET(oneclass_info(), load);

}  // namespace tinynas
