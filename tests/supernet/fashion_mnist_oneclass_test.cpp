// One-class Fashion-MNIST (supernet/datasets/fashion_mnist_oneclass.cpp) on a small synthetic
// copy in the real layout (gzip IDX, 28 x 28): its task info, the splits (validation held out of
// every class as split_train_val holds it out, training = the normal class of the rest, test =
// the whole test set), labels and packed targets, data.normal_class by number and by name, bad
// values, the normalisation and the (off by default) augmentation, the anomaly task scoring the
// targets; and the real files when dataset-fashion-mnist is installed.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "search_spaces/config_node.h"
#include "supernet/dataset.h"
#include "supernet/task.h"
#include "supernet/tasks/anomaly_target.h"
#include "tests/config_error.h"
#include "tests/temp_dir.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;

constexpr int kTrain = 300, kTest = 60;

void put32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(f);
}

// n side x side images whose first two pixels hold the image's index (low, high byte) and the
// others index + position; labels index % 10, as Fashion-MNIST's file names them.
void write_pair(const std::string& dir, const std::string& prefix, int n, int side = 28) {
  std::string img, lab;
  put32(img, 0x803);
  put32(img, n);
  put32(img, side);
  put32(img, side);
  for (int i = 0; i < n; ++i) {
    img.push_back(static_cast<char>(i & 0xff));
    img.push_back(static_cast<char>(i >> 8));
    for (int p = 2; p < side * side; ++p) img.push_back(static_cast<char>((i * 3 + p) & 0xff));
  }
  put32(lab, 0x801);
  put32(lab, n);
  for (int i = 0; i < n; ++i) lab.push_back(static_cast<char>(i % 10));
  write_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz", img);
  write_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz", lab);
}

const std::string& data_dir() {
  static const TempDir dir("fmnist_oneclass_test");
  static const bool written = [] {
    fs::create_directories(dir.path);
    write_pair(dir.path, "train", kTrain);
    write_pair(dir.path, "t10k", kTest);
    return true;
  }();
  (void)written;
  return dir.path;
}

// data: {dataset: fashion-mnist-oneclass, path: <synthetic>, <extra>}
DataConfig config(const std::string& extra, const std::string& path = data_dir()) {
  const std::string yaml = "data:\n  dataset: fashion-mnist-oneclass\n  path: " + path + "\n" + extra;
  return DataConfig::from_config(ConfigNode::parse(yaml, "oc.yaml").section("data"));
}

std::unique_ptr<Dataset> load(const std::string& extra) { return make_dataset(config(extra)); }

// The original index an image of the synthetic copy encodes.
int64_t index_of(const Examples& e, int64_t k) {
  const uint8_t* p = e.inputs.data_ptr<uint8_t>() + k * 28 * 28;
  return p[0] | p[1] << 8;
}

std::vector<int64_t> indices(const Examples& e) {
  std::vector<int64_t> v;
  for (int64_t k = 0; k < e.size(); ++k) v.push_back(index_of(e, k));
  return v;
}

AnomalyTarget target(const Examples& e, int64_t k) {
  return unpack_anomaly_target(e.targets.data_ptr<int64_t>()[k]);
}

TEST(FashionMnistOneClass, TaskInfo) {
  const TaskInfo& t = task_info("fashion-mnist-oneclass");
  EXPECT_EQ(t.task, "anomaly");
  EXPECT_EQ(t.metric.name, Metric::auroc().name);
  EXPECT_TRUE(t.metric.higher_is_better);
  EXPECT_EQ(t.input.to_string(), "28x28x1");
  EXPECT_EQ(t.num_classes, 2);
  EXPECT_EQ(t.class_names, (std::vector<std::string>{"normal", "anomaly"}));
  EXPECT_EQ(t.options, (std::vector<std::string>{"normal_class", "augment"}));
  EXPECT_TRUE(t.front_end.empty());
}

// Validation: the very images split_train_val holds out of the training file (every class,
// label 1 for the others); training: the normal class of the rest; test: the whole test file.
TEST(FashionMnistOneClass, SplitsLabelsAndTargets) {
  const int normal = 3;
  const auto d = load("  normal_class: 3\n  val_size: 40\n  split_seed: 7\n");
  const Examples& train = d->split(Split::Train);
  const Examples& val = d->split(Split::Val);
  const Examples& test = d->split(Split::Test);

  DataConfig sc;
  sc.val_size = 40;
  sc.split_seed = 7;
  Examples all, rest, held;
  all.inputs = all.targets = torch::arange(kTrain, torch::kLong);
  split_train_val(all, sc, &rest, &held);
  const std::vector<int64_t> want_val(held.targets.data_ptr<int64_t>(), held.targets.data_ptr<int64_t>() + 40);
  std::vector<int64_t> want_train;
  for (int64_t k = 0; k < rest.size(); ++k) {
    const int64_t i = rest.targets.data_ptr<int64_t>()[k];
    if (i % 10 == normal) want_train.push_back(i);
  }
  EXPECT_EQ(indices(val), want_val);
  EXPECT_EQ(indices(train), want_train);
  EXPECT_EQ(static_cast<int64_t>(want_train.size()), 30 - std::count_if(want_val.begin(), want_val.end(),
                                                                       [](int64_t i) { return i % 10 == 3; }));
  std::vector<int64_t> want_test(kTest);
  for (int i = 0; i < kTest; ++i) want_test[i] = i;
  EXPECT_EQ(indices(test), want_test);
  EXPECT_EQ(test.inputs.sizes(), (std::vector<int64_t>{kTest, 1, 28, 28}));

  // Labels: 1 = another class; each image its own clip (its position), group 0.
  int val_normal = 0, val_anomalous = 0, test_anomalous = 0;
  for (const Examples* e : {&train, &val, &test}) {
    for (int64_t k = 0; k < e->size(); ++k) {
      const AnomalyTarget t = target(*e, k);
      EXPECT_EQ(t.label, index_of(*e, k) % 10 != normal ? 1 : 0);
      EXPECT_EQ(t.clip, k);
      EXPECT_EQ(t.group, 0);
      if (e == &val) (t.label ? val_anomalous : val_normal) += 1;
      if (e == &test) test_anomalous += t.label;
    }
  }
  EXPECT_GT(val_normal, 0);
  EXPECT_GT(val_anomalous, 0);
  EXPECT_EQ(test_anomalous, kTest - kTest / 10);
  for (int64_t k = 0; k < train.size(); ++k) EXPECT_EQ(target(train, k).label, 0);

  // The same seed, the same splits; another, another hold-out.
  const auto again = load("  normal_class: 3\n  val_size: 40\n  split_seed: 7\n");
  EXPECT_TRUE(torch::equal(again->split(Split::Val).inputs, val.inputs));
  EXPECT_TRUE(torch::equal(again->split(Split::Val).targets, val.targets));
  EXPECT_NE(indices(load("  normal_class: 3\n  val_size: 40\n  split_seed: 8\n")->split(Split::Val)), want_val);

  // data.train_images counts normal-class images (the first of them).
  const auto few = load("  normal_class: 3\n  val_size: 40\n  split_seed: 7\n  train_images: 5\n");
  EXPECT_EQ(indices(few->split(Split::Train)), std::vector<int64_t>(want_train.begin(), want_train.begin() + 5));
  // val_size 0: every training image of the class, and no validation split.
  const auto none = load("  normal_class: 3\n  val_size: 0\n");
  EXPECT_EQ(none->split(Split::Train).size(), 30);
  EXPECT_THROW(none->split(Split::Val), ConfigError);
}

TEST(FashionMnistOneClass, NormalClassByNumberOrName) {
  auto normal_of = [](const std::string& v) {
    const auto d = load("  normal_class: " + v + "\n  val_size: 0\n");
    const Examples& train = d->split(Split::Train);
    std::set<int64_t> classes;
    for (int64_t k = 0; k < train.size(); ++k) classes.insert(index_of(train, k) % 10);
    EXPECT_EQ(classes.size(), 1u) << v;
    return classes.empty() ? -1 : *classes.begin();
  };
  EXPECT_EQ(normal_of("0"), 0);
  EXPECT_EQ(normal_of("9"), 9);
  EXPECT_EQ(normal_of("\"5\""), 5);
  EXPECT_EQ(normal_of("Sandal"), 5);
  EXPECT_EQ(normal_of("sandal"), 5);
  EXPECT_EQ(normal_of("Ankle boot"), 9);
  EXPECT_EQ(normal_of("ankle_boot"), 9);
  EXPECT_EQ(normal_of("T-shirt/top"), 0);
  EXPECT_EQ(normal_of("T-shirt"), 0);
  EXPECT_EQ(normal_of("Shirt"), 6);
  EXPECT_EQ(normal_of("Sneaker"), 7);
}

TEST(FashionMnistOneClass, BadValuesAreConfigErrorsNamingTheKey) {
  std::string e = error_of([] { load("  val_size: 0\n"); });
  EXPECT_NE(e.find("oc.yaml: data.dataset: fashion-mnist-oneclass needs data.normal_class"), std::string::npos) << e;
  EXPECT_NE(e.find("5 Sandal"), std::string::npos) << e;
  for (const char* bad : {"10", "-1", "Socks", "[1, 2]", "3.5", "\"\""}) {
    e = error_of([&] { load(std::string("  normal_class: ") + bad + "\n"); });
    EXPECT_NE(e.find("oc.yaml: data.normal_class"), std::string::npos) << bad << ": " << e;
    EXPECT_NE(e.find("expected a Fashion-MNIST class 0-9 or its name"), std::string::npos) << bad << ": " << e;
  }
  // A typo of the key itself, and a non-boolean augment.
  e = error_of([] { load("  normal_clas: 3\n"); });
  EXPECT_NE(e.find("normal_clas"), std::string::npos) << e;
  EXPECT_NE(e.find("normal_class"), std::string::npos) << e;
  EXPECT_THROW(load("  normal_class: 3\n  augment: maybe\n"), ConfigError);
  // Missing files name the path and the package; images of another size name the file.
  e = error_of([] { make_dataset(config("  normal_class: 3\n", "/nonexistent/fmnist")); });
  EXPECT_NE(e.find("/nonexistent/fmnist/train-images-idx3-ubyte.gz"), std::string::npos) << e;
  EXPECT_NE(e.find("dataset-fashion-mnist"), std::string::npos) << e;
  const TempDir small("fmnist_oneclass_small");
  fs::create_directories(small.path);
  write_pair(small.path, "train", 20, 14);
  write_pair(small.path, "t10k", 10, 14);
  e = error_of([&] { make_dataset(config("  normal_class: 3\n", small.path)); });
  EXPECT_NE(e.find(small.path + "/train-images-idx3-ubyte.gz: 14x14 images; Fashion-MNIST's are 28x28"),
            std::string::npos) << e;
  // Nothing of the class left to train on: a seed whose one remaining image is of another class.
  uint64_t seed = 0;
  for (;; ++seed) {
    DataConfig sc;
    sc.val_size = kTrain - 1;
    sc.split_seed = seed;
    Examples all, rest, held;
    all.inputs = all.targets = torch::arange(kTrain, torch::kLong);
    split_train_val(all, sc, &rest, &held);
    if (rest.targets[0].item<int64_t>() % 10 != 3) break;
  }
  e = error_of([&] {
    load("  normal_class: 3\n  val_size: " + std::to_string(kTrain - 1) + "\n  split_seed: " +
         std::to_string(seed) + "\n");
  });
  EXPECT_NE(e.find("no training images of class 3 (Dress)"), std::string::npos) << e;
}

// prepare(): (x / 255 - mean) / std with the training split's (the normal class's) statistics;
// without data.augment the training examples are exactly that; with it, train.crop_padding and
// train.hflip move them, deterministically for a seed.
TEST(FashionMnistOneClass, NormalisationAndAugmentation) {
  const auto d = load("  normal_class: 4\n  val_size: 30\n");
  const Examples& train = d->split(Split::Train);
  const at::Tensor x = train.inputs.to(torch::kDouble).div(255.0);
  const double mean = x.mean().item<double>(), stdev = (x - mean).square().mean().sqrt().item<double>();
  const at::Tensor p = d->prepare(d->split(Split::Val).inputs.narrow(0, 0, 3));
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{3, 1, 28, 28}));
  const at::Tensor want = d->split(Split::Val).inputs.narrow(0, 0, 3).to(torch::kDouble).div(255.0).sub(mean).div(stdev);
  EXPECT_LT((p.to(torch::kDouble) - want).abs().max().item<double>(), 1e-4);
  ASSERT_TRUE(d->pixel_normalization().has_value());
  EXPECT_NEAR(d->pixel_normalization()->mean.at(0), mean, 1e-9);

  std::vector<float> out(28 * 28);
  std::mt19937_64 rng(3);
  for (int64_t k = 0; k < train.size(); ++k) {
    d->augmented(train, k, rng, out.data());
    const at::Tensor plain = d->prepare(train.inputs.narrow(0, k, 1)).flatten();
    ASSERT_TRUE(torch::allclose(torch::from_blob(out.data(), {28 * 28}), plain, 1e-5, 1e-5)) << k;
  }

  TrainConfig tc;
  tc.crop_padding = 2;
  tc.hflip = true;
  const auto a = make_dataset(config("  normal_class: 4\n  val_size: 30\n  augment: true\n"), tc);
  int moved = 0;
  for (int64_t k = 0; k < train.size(); ++k) {
    std::mt19937_64 r1(k), r2(k);
    std::vector<float> o1(28 * 28), o2(28 * 28);
    a->augmented(a->split(Split::Train), k, r1, o1.data());
    a->augmented(a->split(Split::Train), k, r2, o2.data());
    ASSERT_EQ(o1, o2) << k;
    const at::Tensor plain = a->prepare(a->split(Split::Train).inputs.narrow(0, k, 1)).flatten();
    moved += !torch::allclose(torch::from_blob(o1.data(), {28 * 28}), plain, 1e-5, 1e-5);
  }
  EXPECT_GT(moved, train.size() / 2);
}

// The anomaly task scores the splits' targets: scores equal to the labels are a perfect AUROC,
// their opposite the worst.
TEST(FashionMnistOneClass, TheAnomalyTaskScoresItsTargets) {
  const auto d = load("  normal_class: Bag\n  val_size: 40\n");
  const std::unique_ptr<Task> task = make_task(d->info(), TrainConfig{});
  EXPECT_EQ(task->metric().name, "auroc");
  for (Split split : {Split::Val, Split::Test}) {
    const Examples& e = d->split(split);
    at::Tensor labels = torch::empty({e.size()}, torch::kFloat);
    for (int64_t k = 0; k < e.size(); ++k) labels[k] = static_cast<float>(target(e, k).label);
    auto good = task->accumulator(), bad = task->accumulator();
    good->add(labels, e.targets);
    bad->add(-labels, e.targets);
    EXPECT_DOUBLE_EQ(good->value(), 1.0);
    EXPECT_DOUBLE_EQ(bad->value(), 0.0);
  }
}

// The real files (dataset-fashion-mnist): 6,000 training and 1,000 test images per class.
TEST(FashionMnistOneClass, RealFilesWhenInstalled) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  }
  const ConfigNode node = ConfigNode::parse("data:\n  dataset: fashion-mnist-oneclass\n  normal_class: Sandal\n",
                                            "real.yaml");
  const auto d = make_dataset(DataConfig::from_config(node.section("data")));
  const Examples& val = d->split(Split::Val);
  int64_t val_normal = 0;
  for (int64_t k = 0; k < val.size(); ++k) val_normal += target(val, k).label == 0;
  EXPECT_EQ(val.size(), 5000);
  EXPECT_GT(val_normal, 350);
  EXPECT_LT(val_normal, 650);
  EXPECT_EQ(d->split(Split::Train).size(), 6000 - val_normal);
  const Examples& test = d->split(Split::Test);
  ASSERT_EQ(test.size(), 10000);
  int64_t test_anomalous = 0;
  for (int64_t k = 0; k < test.size(); ++k) test_anomalous += target(test, k).label;
  EXPECT_EQ(test_anomalous, 9000);
}

}  // namespace
}  // namespace tinynas
