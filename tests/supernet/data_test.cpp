// Fashion-MNIST loading: the gzip IDX reader (and its errors), the seeded split and the seeded,
// resumable batch stream.
#include <gtest/gtest.h>

#include "tests/config_error.h"
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "search_spaces/config_node.h"
#include "supernet/data.h"
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

TEST(IdxReader, ReadsImagesAndLabels) {
  const std::string d = temp_dir();
  write_idx(d, 7, 4, 5);
  const ImageSet s = read_idx_pair(d + "/img.gz", d + "/lab.gz");
  ASSERT_EQ(s.size(), 7);
  EXPECT_EQ(s.images.sizes(), (std::vector<int64_t>{7, 1, 4, 5}));
  EXPECT_EQ(s.images[3][0][1][2].item<int>(), (3 + 1 * 5 + 2) & 0xff);
  EXPECT_EQ(s.labels[6].item<int64_t>(), 6);
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

TEST(FashionMnist, SeededValidationSplitHeldOutOfTraining) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  DataConfig d;
  d.val_size = 5000;
  const Datasets a = load_datasets(d);
  EXPECT_EQ(a.train.size(), 55000);
  EXPECT_EQ(a.val.size(), 5000);
  EXPECT_EQ(a.test.size(), 10000);
  EXPECT_EQ(a.train.images.sizes(), (std::vector<int64_t>{55000, 1, 28, 28}));
  const Datasets b = load_datasets(d);
  EXPECT_TRUE(torch::equal(a.val.labels, b.val.labels));
  EXPECT_TRUE(torch::equal(a.val.images, b.val.images));
  d.split_seed = 1;
  const Datasets c = load_datasets(d);
  EXPECT_FALSE(torch::equal(a.val.images, c.val.images));
  // Every class is in the validation split.
  EXPECT_EQ(std::get<0>(at::_unique(a.val.labels)).numel(), 10);
  d.train_images = 1000;
  EXPECT_EQ(load_datasets(d).train.size(), 1000);
  d.path = "/nonexistent/fmnist";
  EXPECT_THROW(load_datasets(d), ConfigError);
}

TEST(BatchStream, SeededResumableAndAugmented) {
  const int n = 50;
  ImageSet set;
  set.images = torch::randint(0, 256, {n, 1, 28, 28}, torch::kUInt8);
  set.labels = torch::arange(n, torch::kInt64) % 10;
  TrainConfig t;
  t.batch_size = 8;
  t.crop_padding = 0;
  t.hflip = false;
  // Without augmentation a batch is the normalised images of its labels' indices.
  BatchStream plain(set, t, 0, 3, 0, 0);
  EXPECT_EQ(plain.steps(), 6);
  torch::Tensor x, y;
  ASSERT_TRUE(plain.next(&x, &y));
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{8, 1, 28, 28}));
  EXPECT_NEAR(x.mean().item<double>(),
              normalize_images(set.images).mean().item<double>(), 0.2);

  t.crop_padding = 2;
  t.hflip = true;
  std::vector<torch::Tensor> xs, ys;
  for (int workers : {0, 1}) {
    BatchStream s(set, t, workers, 3, 1, 0);
    int k = 0;
    while (s.next(&x, &y)) {
      if (workers == 0) {
        xs.push_back(x);
        ys.push_back(y);
      } else {
        EXPECT_TRUE(torch::equal(x, xs[k]));  // a background worker changes nothing
        EXPECT_TRUE(torch::equal(y, ys[k]));
      }
      ++k;
    }
    EXPECT_EQ(k, 6);
  }
  // Starting at step 4 (resume) gives the same batch 4.
  BatchStream resumed(set, t, 1, 3, 1, 4);
  ASSERT_TRUE(resumed.next(&x, &y));
  EXPECT_TRUE(torch::equal(x, xs[4]));
  EXPECT_TRUE(torch::equal(y, ys[4]));
  // Another epoch shuffles differently.
  BatchStream other(set, t, 0, 3, 2, 0);
  other.next(&x, &y);
  EXPECT_FALSE(torch::equal(y, ys[0]) && torch::equal(x, xs[0]));
}

}  // namespace
}  // namespace tinynas
