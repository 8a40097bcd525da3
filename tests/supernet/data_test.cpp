// Datasets: the gzip IDX reader (and its errors), the registry (data.dataset), Fashion-MNIST's
// seeded split, and the seeded, resumable, shardable batch stream.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/config_error.h"
#include <zlib.h>

#include <filesystem>
#include <cmath>
#include <fstream>
#include <set>

#include "search_spaces/config_node.h"
#include "supernet/dataset.h"
#include "supernet/datasets/idx.h"
#include "supernet/task.h"
#include "supernet/trainer.h"
#include "tests/temp_dir.h"

namespace tinynas {
namespace {

// One directory for the test process, removed when it ends.
std::string temp_dir() {
  static const TempDir dir("data_test");
  std::filesystem::create_directories(dir.path);
  return dir.path;
}

void put32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), bytes.size()), static_cast<int>(bytes.size()));
  gzclose(f);
}

// n images of h x w (pixel = image index + position) and labels i % 10.
void write_idx(const std::string& dir, int n, int h, int w) {
  std::string img, lab;
  put32(img, 0x803);
  put32(img, n);
  put32(img, h);
  put32(img, w);
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < h * w; ++p) img.push_back(static_cast<char>((i + p) & 0xff));
  put32(lab, 0x801);
  put32(lab, n);
  for (int i = 0; i < n; ++i) lab.push_back(static_cast<char>(i % 10));
  write_gz(dir + "/img.gz", img);
  write_gz(dir + "/lab.gz", lab);
}

const std::string kHint = "from the Debian package dataset-fashion-mnist";

IdxImages read_idx_pair(const std::string& images, const std::string& labels, int classes = 10) {
  return tinynas::read_idx_pair(images, labels, classes, kHint);
}

TEST(IdxReader, ReadsImagesAndLabels) {
  const std::string d = temp_dir();
  write_idx(d, 7, 4, 5);
  const IdxImages s = read_idx_pair(d + "/img.gz", d + "/lab.gz");
  ASSERT_EQ(s.count, 7);
  EXPECT_EQ(s.height, 4);
  EXPECT_EQ(s.width, 5);
  EXPECT_EQ(s.pixels[3 * 20 + 1 * 5 + 2], (3 + 1 * 5 + 2) & 0xff);
  EXPECT_EQ(s.labels[6], 6);
  // Labels are checked against the classes the head predicts.
  const std::string e = error_of([&] { read_idx_pair(d + "/img.gz", d + "/lab.gz", 5); });
  EXPECT_NE(e.find("label 5 of image 5 is not below 5"), std::string::npos) << e;
}

TEST(IdxReader, MissingCorruptAndTruncatedFilesNameThePathAndThePackage) {
  const std::string d = temp_dir();
  write_idx(d, 7, 4, 5);
  std::string e = error_of([&] { read_idx_pair(d + "/nope.gz", d + "/lab.gz"); });
  EXPECT_NE(e.find(d + "/nope.gz: not found"), std::string::npos) << e;
  EXPECT_NE(e.find("dataset-fashion-mnist"), std::string::npos) << e;

  // Labels where images are expected: wrong magic.
  e = error_of([&] { read_idx_pair(d + "/lab.gz", d + "/lab.gz"); });
  EXPECT_NE(e.find("magic"), std::string::npos) << e;

  // A gzip stream cut in half.
  std::string gz;
  {
    std::ifstream in(d + "/img.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  {
    std::ofstream out(d + "/cut.gz", std::ios::binary);
    out.write(gz.data(), gz.size() / 2);
  }
  e = error_of([&] { read_idx_pair(d + "/cut.gz", d + "/lab.gz"); });
  EXPECT_NE(e.find(d + "/cut.gz"), std::string::npos) << e;
  EXPECT_NE(e.find("dataset-fashion-mnist"), std::string::npos) << e;

  // Not gzip at all, and a valid gzip holding fewer pixels than the header promises.
  {
    std::ofstream out(d + "/junk.gz", std::ios::binary);
    out << "this is not an IDX file";
  }
  e = error_of([&] { read_idx_pair(d + "/junk.gz", d + "/lab.gz"); });
  EXPECT_NE(e.find(d + "/junk.gz"), std::string::npos) << e;
  std::string short_img;
  put32(short_img, 0x803);
  put32(short_img, 7);
  put32(short_img, 4);
  put32(short_img, 5);
  short_img += std::string(10, '\0');
  write_gz(d + "/short.gz", short_img);
  e = error_of([&] { read_idx_pair(d + "/short.gz", d + "/lab.gz"); });
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
}

bool have_fashion_mnist() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

DataConfig fashion_mnist() {
  DataConfig d;
  d.dataset = "fashion-mnist";
  return d;
}

TEST(DatasetRegistry, KnowsFashionMnistAndNamesTheKeyForAnUnknownName) {
  ASSERT_NE(find_task_info("fashion-mnist"), nullptr);
  const TaskInfo& t = task_info("fashion-mnist");
  EXPECT_EQ(t.input.to_string(), "28x28x1");
  EXPECT_EQ(t.metric.name, "top1_accuracy");
  EXPECT_TRUE(t.metric.higher_is_better);
  EXPECT_EQ(make_task(t, TrainConfig{})->metric().name, "top1_accuracy");

  DataConfig d;
  d.dataset = "cifar-11";
  d.where = "x.yaml: data.dataset";
  const std::string e = error_of([&] { make_dataset(d); });
  EXPECT_EQ(e, "x.yaml: data.dataset: unknown dataset 'cifar-11'; expected one of: fashion-mnist, "
               "fashion-mnist-oneclass, image-folder, machine-sounds, speech-commands");
  // The config reader checks it where the name is written.
  const ConfigNode node = ConfigNode::parse("data:\n  dataset: cifar-11\n", "C");
  const std::string c = error_of([&] { DataConfig::from_config(node.section("data")); });
  EXPECT_EQ(c, "C: data.dataset: unknown dataset 'cifar-11'; expected one of: fashion-mnist, "
               "fashion-mnist-oneclass, image-folder, machine-sounds, speech-commands (line 2)");
  d.dataset.clear();
  EXPECT_NE(error_of([&] { make_dataset(d); }).find("x.yaml: data.dataset: missing"), std::string::npos);
}

TEST(FashionMnist, SeededValidationSplitHeldOutOfTraining) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  DataConfig d = fashion_mnist();
  d.val_size = 5000;
  const auto a = make_dataset(d);
  EXPECT_EQ(a->split(Split::Train).size(), 55000);
  EXPECT_EQ(a->split(Split::Val).size(), 5000);
  EXPECT_EQ(a->split(Split::Test).size(), 10000);
  EXPECT_EQ(a->split(Split::Train).inputs.sizes(), (std::vector<int64_t>{55000, 1, 28, 28}));
  const auto b = make_dataset(d);
  EXPECT_TRUE(torch::equal(a->split(Split::Val).targets, b->split(Split::Val).targets));
  EXPECT_TRUE(torch::equal(a->split(Split::Val).inputs, b->split(Split::Val).inputs));
  d.split_seed = 1;
  const auto c = make_dataset(d);
  EXPECT_FALSE(torch::equal(a->split(Split::Val).inputs, c->split(Split::Val).inputs));
  // Every class is in the validation split.
  EXPECT_EQ(std::get<0>(at::_unique(a->split(Split::Val).targets)).numel(), 10);
  d.train_images = 1000;
  EXPECT_EQ(make_dataset(d)->split(Split::Train).size(), 1000);
  // A space of 3-channel inputs cannot take it.
  SearchSpace rgb = SearchSpace::load(std::string(TINYNAS_SOURCE_DIR) + "/configs/spaces/mbv2-imagenet.yaml");
  EXPECT_NE(error_of([&] { make_dataset(d, TrainConfig{}, rgb); }).find("1-channel inputs (28x28x1)"),
            std::string::npos);
  d.path = "/nonexistent/fmnist";
  EXPECT_THROW(make_dataset(d), ConfigError);
}

// A dataset of synthetic examples (pixel = index + position), with Fashion-MNIST's augmentation
// behaviour stood in for by a crop offset drawn per example: enough to test the stream.
class Synthetic : public Dataset {
 public:
  Synthetic(int n, int h, int w, int pad)
      : Dataset(describe(h, w), make(n, h, w), {}, {}), pad_(pad) {}
  static TaskInfo describe(int h, int w) {
    TaskInfo t;
    t.dataset = "synthetic";
    t.task = "classification";
    t.input = {h, w, 1};
    t.num_classes = 10;
    t.metric = Metric::top1_accuracy();
    return t;
  }
  static Examples make(int n, int h, int w) {
    return {torch::randint(0, 256, {n, 1, h, w}, torch::kUInt8), torch::arange(n, torch::kInt64) % 10};
  }
  at::Tensor prepare(const at::Tensor& u8) const override { return u8.to(torch::kFloat).div(255.0); }
  void augmented(const Examples& set, int64_t k, std::mt19937_64& rng, float* out) const override {
    const int shift = pad_ > 0 ? static_cast<int>(rng() % (2 * pad_ + 1)) : 0;
    if (!out) return;
    const int64_t n = set.inputs[0].numel();
    const uint8_t* src = set.inputs.data_ptr<uint8_t>() + k * n;
    for (int64_t i = 0; i < n; ++i) out[i] = src[(i + shift) % n] / 255.0f;
  }

 private:
  int pad_;
};

TEST(BatchStream, SeededResumableAndAugmented) {
  const Synthetic set(50, 28, 28, 2);
  TrainConfig t;
  t.batch_size = 8;
  BatchStream plain(set, t, 0, 3, 0, 0);
  EXPECT_EQ(plain.steps(), 6);
  Batch b;
  ASSERT_TRUE(plain.next(&b));
  EXPECT_EQ(b.inputs.sizes(), (std::vector<int64_t>{8, 1, 28, 28}));

  std::vector<Batch> all;
  for (int workers : {0, 1}) {
    BatchStream s(set, t, workers, 3, 1, 0);
    int k = 0;
    while (s.next(&b)) {
      if (workers == 0) {
        all.push_back(b);
      } else {
        EXPECT_TRUE(torch::equal(b.inputs, all[k].inputs));  // a background worker changes nothing
        EXPECT_TRUE(torch::equal(b.targets, all[k].targets));
      }
      ++k;
    }
    EXPECT_EQ(k, 6);
  }
  // Starting at step 4 (resume) gives the same batch 4.
  BatchStream resumed(set, t, 1, 3, 1, 4);
  ASSERT_TRUE(resumed.next(&b));
  EXPECT_TRUE(torch::equal(b.inputs, all[4].inputs));
  EXPECT_TRUE(torch::equal(b.targets, all[4].targets));
  // Another epoch shuffles differently.
  BatchStream other(set, t, 0, 3, 2, 0);
  other.next(&b);
  EXPECT_FALSE(torch::equal(b.targets, all[0].targets) && torch::equal(b.inputs, all[0].inputs));
}

// Rank r of w builds the r-th slice of every global batch, with the augmentation the unsharded
// batch gives those examples: the shards are disjoint and together are the unsharded batches.
TEST(BatchStream, ShardsAreDisjointAndTogetherTheUnshardedBatch) {
  const Synthetic set(100, 6, 5, 3);
  TrainConfig t;
  t.batch_size = 12;
  for (int world : {1, 2, 3, 4}) {
    BatchStream whole(set, t, 0, 7, 2, 0);
    std::vector<std::unique_ptr<BatchStream>> shards;
    for (int r = 0; r < world; ++r) {
      shards.push_back(std::make_unique<BatchStream>(set, t, r % 2, 7, 2, 0, Shard{r, world}));
    }
    Batch full;
    int64_t step = 0;
    while (whole.next(&full)) {
      std::vector<at::Tensor> xs, ys;
      std::set<int64_t> seen;
      const std::vector<int64_t> idx = whole.global_indices(step);
      for (int r = 0; r < world; ++r) {
        Batch part;
        ASSERT_TRUE(shards[r]->next(&part));
        EXPECT_EQ(part.targets.size(0), 12 / world);
        xs.push_back(part.inputs);
        ys.push_back(part.targets);
        const Shard sh{r, world};
        for (int64_t i = sh.begin(12); i < sh.end(12); ++i) {
          EXPECT_TRUE(seen.insert(idx[i]).second) << "example " << idx[i] << " in two shards";
        }
      }
      EXPECT_EQ(seen.size(), 12u);
      EXPECT_TRUE(torch::equal(torch::cat(xs), full.inputs)) << world << " ranks, step " << step;
      EXPECT_TRUE(torch::equal(torch::cat(ys), full.targets));
      ++step;
    }
    for (auto& s : shards) {
      Batch rest;
      EXPECT_FALSE(s->next(&rest));
    }
    EXPECT_EQ(step, 8);
  }
  // A global batch that does not split evenly is refused.
  EXPECT_THROW(BatchStream(set, t, 0, 7, 0, 0, Shard{0, 5}), ConfigError);
}

// The step interface without real data: each step moves the position on by one, a shard steps on
// its slice of the global batch, and the schedule ends after epochs x steps.
TEST(Trainer, StepsAndEpochsOnSyntheticData) {
  const SearchSpace space = SearchSpace::load(std::string(TINYNAS_SOURCE_DIR) + "/configs/spaces/tiny.yaml");
  Synthetic data(40, 28, 28, 1);
  TrainConfig t;
  t.epochs = 2;
  t.batch_size = 8;
  t.random_subnets = 0;
  t.bn_calibration_batches = 1;
  t.threads = 1;
  const auto task = make_task(data.info(), t);
  for (int world : {1, 2}) {
    Trainer trainer(space, data, *task, t, setup_torch(t), 0, Shard{world - 1, world});
    EXPECT_EQ(trainer.steps_per_epoch(), 5);
    const auto stream = trainer.batches();
    Batch b;
    ASSERT_TRUE(stream->next(&b));
    EXPECT_EQ(b.targets.size(0), 8 / world);
    const SandwichLoss l = trainer.step(b);
    EXPECT_TRUE(std::isfinite(l.largest));
    EXPECT_EQ(trainer.state().step, 1);
    int rest = 0;
    trainer.run_epoch([&](const SandwichLoss&) { ++rest; });  // the rest of epoch 1
    EXPECT_EQ(rest, 4);
    EXPECT_EQ(trainer.state().epoch, 1);
    trainer.run_epoch();
    EXPECT_TRUE(trainer.finished());
    EXPECT_THROW(trainer.step(b), std::logic_error);
  }
}

// The sandwich: largest, smallest and N random subnets; a space of one member trains it once per
// step; `tinynas train --arch` (TrainConfig::only_arch) trains exactly that subnet and nothing else.
TEST(SubnetSampler, SandwichOneMemberAndOneSubnetAlone) {
  const std::string root = TINYNAS_SOURCE_DIR;
  const SearchSpace space = SearchSpace::load(root + "/configs/spaces/tiny.yaml");
  TrainConfig t;
  t.random_subnets = 2;
  const std::vector<ArchSpec> s = SubnetSampler(space, t).sandwich(0, 3);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0], ArchSpec::largest(space));
  EXPECT_EQ(s[1], ArchSpec::smallest(space));

  const SearchSpace one = SearchSpace::load(root + "/configs/spaces/kws-dscnn.yaml");
  t.random_subnets = 0;
  EXPECT_EQ(SubnetSampler(one, t).sandwich(0, 0).size(), 1u);

  ArchSpec pick = ArchSpec::smallest(space);
  pick.width = space.max_width();
  t.random_subnets = 2;
  t.only_arch = pick;
  for (int step : {0, 1, 7}) {
    const std::vector<ArchSpec> alone = SubnetSampler(space, t).sandwich(1, step);
    ASSERT_EQ(alone.size(), 1u);
    EXPECT_EQ(alone[0], pick);
  }
}

}  // namespace
}  // namespace tinynas
