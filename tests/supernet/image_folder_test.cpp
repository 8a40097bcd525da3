// A user's own images: PNG and JPEG decoding (and what a damaged file says), the class-folder
// layouts, and the image-folder dataset (splits, sizes, channels, normalisation, bad files).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <jpeglib.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <fstream>
#include <set>

#include "search_spaces/config_node.h"
#include "supernet/dataset.h"
#include "supernet/datasets/image_file.h"
#include "supernet/datasets/image_folder_layout.h"
#include "supernet/datasets/stored_images.h"
#include "tests/config_error.h"
#include "tests/temp_dir.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;

void put(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// h x w x c with pixel value (seed + 7y + 3x + 50ch) mod 256.
Image pattern(int h, int w, int c, int seed) {
  Image img{h, w, c, std::vector<uint8_t>(static_cast<std::size_t>(h) * w * c)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < c; ++ch) img.pixels[(y * w + x) * c + ch] = static_cast<uint8_t>(seed + 7 * y + 3 * x + 50 * ch);
  return img;
}

// write_png into a folder made first (as a user's tree would have it).
void png_at(const fs::path& p, const Image& img) {
  fs::create_directories(p.parent_path());
  write_png(p.string(), img);
}

Image flat(int h, int w, int c, uint8_t v) { return {h, w, c, std::vector<uint8_t>(static_cast<std::size_t>(h) * w * c, v)}; }

void write_jpeg(const fs::path& path, const Image& img, int quality) {
  fs::create_directories(path.parent_path());
  jpeg_compress_struct info;
  jpeg_error_mgr err;
  info.err = jpeg_std_error(&err);
  jpeg_create_compress(&info);
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  jpeg_stdio_dest(&info, f);
  info.image_width = img.width;
  info.image_height = img.height;
  info.input_components = img.channels;
  info.in_color_space = img.channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  jpeg_start_compress(&info, TRUE);
  for (int y = 0; y < img.height; ++y) {
    JSAMPROW row = const_cast<uint8_t*>(&img.pixels[static_cast<std::size_t>(y) * img.width * img.channels]);
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  std::fclose(f);
}

std::string image_error(const std::string& path) {
  try {
    read_image(path);
  } catch (const ImageError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ImageFile, PngRoundTripsGreyAndRgbAndConvertsAsPil) {
  TempDir dir("image_file_png");
  fs::create_directories(dir.path);
  const Image grey = pattern(5, 7, 1, 11), rgb = pattern(4, 6, 3, 200);
  write_png(dir.path + "/g.png", grey);
  write_png(dir.path + "/c.PNG", rgb);
  const Image g = read_image(dir.path + "/g.png");
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.height, 5);
  EXPECT_EQ(g.width, 7);
  EXPECT_EQ(g.pixels, grey.pixels);
  EXPECT_EQ(read_image(dir.path + "/c.PNG").pixels, rgb.pixels);
  // Grey to RGB replicates; RGB to grey is PIL's L = (19595 R + 38470 G + 7471 B + 2^15) >> 16.
  const Image g3 = read_image(dir.path + "/g.png", 3);
  ASSERT_EQ(g3.channels, 3);
  EXPECT_EQ(g3.pixels[3 * 9 + 2], grey.pixels[9]);
  const Image red = convert_channels(Image{1, 3, 3, {255, 0, 0, 0, 255, 0, 10, 20, 30}}, 1);
  EXPECT_EQ(red.pixels, (std::vector<uint8_t>{76, 150, 18}));
  EXPECT_TRUE(has_image_extension("a.JPeG"));
  EXPECT_FALSE(has_image_extension("a.gif"));
  EXPECT_FALSE(has_image_extension("png"));
}

TEST(ImageFile, JpegDecodesColourAndGrey) {
  TempDir dir("image_file_jpeg");
  // A smooth colour image survives quality-95 JPEG within a few levels.
  Image smooth{16, 24, 3, {}};
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 24; ++x)
      for (int c = 0; c < 3; ++c) smooth.pixels.push_back(static_cast<uint8_t>(40 + 4 * y + 3 * x + 30 * c));
  write_jpeg(dir.path + "/c.jpg", smooth, 95);
  const Image c = read_image(dir.path + "/c.jpg");
  ASSERT_EQ(c.channels, 3);
  ASSERT_EQ(c.pixels.size(), smooth.pixels.size());
  int worst = 0;
  for (std::size_t i = 0; i < c.pixels.size(); ++i) worst = std::max(worst, std::abs(c.pixels[i] - smooth.pixels[i]));
  EXPECT_LE(worst, 6);
  write_jpeg(dir.path + "/g.jpeg", flat(8, 8, 1, 123), 90);
  const Image g = read_image(dir.path + "/g.jpeg");
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.pixels, std::vector<uint8_t>(64, 123));
}

TEST(ImageFile, DamagedFilesSayWhy) {
  TempDir dir("image_file_bad");
  fs::create_directories(dir.path);
  write_png(dir.path + "/ok.png", pattern(32, 32, 3, 1));
  const std::string png = bytes_of(dir.path + "/ok.png");
  put(dir.path + "/cut.png", png.substr(0, png.size() / 2));
  write_jpeg(dir.path + "/ok.jpg", pattern(64, 64, 3, 5), 90);
  const std::string jpg = bytes_of(dir.path + "/ok.jpg");
  put(dir.path + "/cut.jpg", jpg.substr(0, jpg.size() * 3 / 4));
  put(dir.path + "/headless.jpg", jpg.substr(0, 200));
  put(dir.path + "/text.png", "not an image at all\n");
  put(dir.path + "/empty.jpg", "");
  EXPECT_EQ(image_error(dir.path + "/ok.png"), "(no error)");
  EXPECT_EQ(image_error(dir.path + "/ok.jpg"), "(no error)");
  EXPECT_NE(image_error(dir.path + "/cut.png").find("corrupt PNG"), std::string::npos);
  EXPECT_NE(image_error(dir.path + "/cut.jpg").find("corrupt JPEG (Premature end of JPEG file)"), std::string::npos)
      << image_error(dir.path + "/cut.jpg");
  EXPECT_NE(image_error(dir.path + "/headless.jpg").find("corrupt JPEG ("), std::string::npos);
  EXPECT_EQ(image_error(dir.path + "/text.png"), "neither a PNG nor a JPEG (by its first bytes)");
  EXPECT_EQ(image_error(dir.path + "/empty.jpg"), "empty file");
  EXPECT_EQ(image_error(dir.path + "/missing.png"), "cannot be opened");
}

TEST(ImageFolderLayout, FlatAndSplitLayoutsAndWhatIsSkipped) {
  TempDir dir("image_layout");
  const fs::path flat_root = fs::path(dir.path) / "flat";
  png_at(flat_root / "cat" / "b.png", flat(2, 2, 1, 1));
  png_at(flat_root / "cat" / "sub" / "a.png", flat(2, 2, 1, 1));
  png_at(flat_root / "ant" / "x.png", flat(2, 2, 1, 1));
  put(flat_root / "ant" / "notes.txt", "hi");
  put(flat_root / "ant" / ".DS_Store", "");
  put(flat_root / "labels.csv", "x");
  const ImageFolderLayout f = scan_image_folder(flat_root.string());
  EXPECT_FALSE(f.split_folders);
  EXPECT_EQ(f.classes, (std::vector<std::string>{"ant", "cat"}));
  ASSERT_EQ(f.split[0].size(), 3u);
  EXPECT_EQ(f.split[0][0].label, 0);
  EXPECT_EQ(fs::path(f.split[0][1].path).filename(), "b.png");  // sorted: b.png before sub/
  EXPECT_EQ(f.split[0][2].label, 1);
  ASSERT_EQ(f.skipped.size(), 2u);
  EXPECT_EQ(f.skipped[0], (flat_root / "labels.csv").string() + ": not in a class folder, not read");
  EXPECT_EQ(f.skipped[1], (flat_root / "ant" / "notes.txt").string() + ": not an image (expected .png, .jpg or .jpeg)");
  EXPECT_EQ(f.hidden, 1);  // .DS_Store

  const fs::path s = fs::path(dir.path) / "split";
  for (const char* c : {"a", "b"}) png_at(s / "train" / c / "1.png", flat(2, 2, 1, 1));
  png_at(s / "test" / "b" / "1.png", flat(2, 2, 1, 1));
  put(s / "extra" / "x.png", "");
  const ImageFolderLayout l = scan_image_folder(s.string());
  EXPECT_TRUE(l.split_folders);
  EXPECT_TRUE(l.has_test);
  EXPECT_FALSE(l.has_val);
  EXPECT_EQ(l.split[0].size(), 2u);
  ASSERT_EQ(l.split[2].size(), 1u);
  EXPECT_EQ(l.split[2][0].label, 1);
  EXPECT_EQ(l.skipped, (std::vector<std::string>{(s / "extra").string() + ": not train/, val/ or test/, not read"}));

  // Refusals name the folder.
  png_at(s / "val" / "zebra" / "1.png", flat(2, 2, 1, 1));
  EXPECT_EQ(error_of([&] { scan_image_folder(s.string()); }),
            (s / "val" / "zebra").string() + ": class 'zebra' is not in " + (s / "train").string() +
                " (the classes are the training folders)");
  fs::create_directories(flat_root / "empty");
  put(flat_root / "empty" / "readme.md", "");
  EXPECT_EQ(error_of([&] { scan_image_folder(flat_root.string()); }),
            (flat_root / "empty").string() + ": class 'empty' has no images (.png, .jpg, .jpeg); add some or remove the folder");
  EXPECT_NE(error_of([&] { scan_image_folder(dir.path + "/nowhere"); }).find("/nowhere: no such folder (data.path)"),
            std::string::npos);
  fs::create_directories(fs::path(dir.path) / "bare");
  EXPECT_NE(error_of([&] { scan_image_folder(dir.path + "/bare"); }).find("bare: no class folders"), std::string::npos);
}

SearchSpace space(int channels, int size, int classes) {
  return SearchSpace::from_config(ConfigNode::parse(
      "name: folder-test\ninput_channels: " + std::to_string(channels) + "\nnum_classes: " +
          std::to_string(classes) + "\nstem: {channels: 8, kernel: 3, stride: 2}\nstages:\n"
          "  - {channels: 8, stride: 1}\nkernel_sizes: [3]\nexpand_ratios: [1]\ndepths: [1]\n"
          "width_multipliers: [1.0]\nresolutions: [" + std::to_string(size) + "]\n",
      "folder-test.yaml"));
}

DataConfig folder_config(const std::string& root, const std::string& extra = "") {
  return DataConfig::from_config(
      ConfigNode::parse("data:\n  dataset: image-folder\n  path: " + root + "\n" + extra, "mine.yaml").section("data"));
}

std::vector<int64_t> class_counts(const Examples& e, int classes) {
  std::vector<int64_t> c(classes, 0);
  for (int64_t i = 0; i < e.size(); ++i) ++c[e.targets[i].item<int64_t>()];
  return c;
}

TEST(ImageFolder, SplitsSizesChannelsAndNormalisation) {
  TempDir dir("image_folder");
  const fs::path root = fs::path(dir.path) / "pets";
  // 3 classes x 20 grey 8x8 images (pixel value = class * 60 + index), plus odd ones out.
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 20; ++i)
      png_at(root / ("class" + std::to_string(c)) / (std::to_string(100 + i) + ".png"),
                flat(8, 8, 1, static_cast<uint8_t>(c * 60 + i)));
  png_at(root / "class1" / "big.png", flat(20, 12, 3, 90));       // mixed size, RGB
  write_jpeg(root / "class2" / "photo.jpg", flat(16, 16, 1, 200), 95);           // JPEG
  put(root / "class0" / "broken.png", "\x89PNG\r\n\x1a\n truncated");            // corrupt
  put(root / "class0" / "notes.txt", "a non-image file");

  const auto ds = make_dataset(folder_config(root.string(), "  test_fraction: 0.2\n  val_size: 6\n"),
                               TrainConfig{}, space(1, 8, 3));
  EXPECT_EQ(ds->info().dataset, "image-folder");
  EXPECT_EQ(ds->info().input.to_string(), "8x8x1");
  EXPECT_EQ(ds->info().num_classes, 3);
  EXPECT_EQ(ds->info().class_names, (std::vector<std::string>{"class0", "class1", "class2"}));
  const Examples& train = ds->split(Split::Train);
  const Examples& val = ds->split(Split::Val);
  const Examples& test = ds->split(Split::Test);
  // 62 readable images: test = round(0.2 x 20, 21, 21) = 4 + 4 + 4, 6 held out for validation.
  EXPECT_EQ(class_counts(test, 3), (std::vector<int64_t>{4, 4, 4}));
  EXPECT_EQ(val.size(), 6);
  EXPECT_EQ(train.size(), 62 - 12 - 6);
  EXPECT_EQ(train.inputs.sizes(), (std::vector<int64_t>{44, 1, 8, 8}));
  // Every stored image is its file's bytes (native size) or its one colour (resized, converted).
  std::set<int> values;
  for (const Examples* e : {&train, &val, &test}) {
    for (int64_t k = 0; k < e->size(); ++k) {
      const at::Tensor img = e->inputs[k];
      const int v = img[0][0][0].item<uint8_t>();
      EXPECT_TRUE((img == v).all().item<bool>()) << "example " << k;
      const int label = static_cast<int>(e->targets[k].item<int64_t>());
      if (v == 90) {
        EXPECT_EQ(label, 1);  // the RGB 90 grey is 90 in luma
      } else if (v == 200) {
        EXPECT_EQ(label, 2);
      } else {
        EXPECT_EQ(v / 60, label);
      }
      values.insert(v);
    }
  }
  EXPECT_EQ(values.size(), 62u);
  // Normalised by the training split's statistics.
  const auto* stored = dynamic_cast<const StoredImages*>(ds.get());
  ASSERT_NE(stored, nullptr);
  const at::Tensor x = ds->prepare(train.inputs);
  EXPECT_NEAR(x.mean().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(x.std(/*unbiased=*/false).item<double>(), 1.0, 1e-4);

  // The same folder for an RGB space at 16x16: 3 channels, everything resized.
  const auto rgb = make_dataset(folder_config(root.string(), "  val_size: 0\n  mean: [0.5, 0.5, 0.5]\n  std: 0.25\n"),
                                TrainConfig{}, space(3, 16, 3));
  EXPECT_EQ(rgb->info().input.to_string(), "16x16x3");
  EXPECT_EQ(rgb->split(Split::Train).size() + rgb->split(Split::Test).size(), 62);
  const at::Tensor p = rgb->prepare(rgb->split(Split::Test).inputs.narrow(0, 0, 1));
  const double v0 = rgb->split(Split::Test).inputs[0][0][0][0].item<uint8_t>();
  EXPECT_NEAR(p[0][2][5][5].item<double>(), (v0 / 255.0 - 0.5) / 0.25, 1e-5);

  // The splits do not depend on the number of decoding threads or the run: seeded.
  const auto again = make_dataset(folder_config(root.string(), "  test_fraction: 0.2\n  val_size: 6\n"),
                                  TrainConfig{}, space(1, 8, 3));
  EXPECT_TRUE(again->split(Split::Test).inputs.equal(test.inputs));
  EXPECT_TRUE(again->split(Split::Train).inputs.equal(train.inputs));
}

TEST(ImageFolder, RefusesWhatCannotBeTrained) {
  TempDir dir("image_folder_bad");
  const fs::path root = fs::path(dir.path) / "set";
  for (const char* c : {"a", "b"})
    for (int i = 0; i < 5; ++i) png_at(root / c / (std::to_string(i) + ".png"), flat(4, 4, 1, 7));
  put(root / "a" / "bad.png", "nope");
  const SearchSpace two = space(1, 16, 2);
  // bad_files: fail names the file; the default skips it, and says so.
  const std::string fail = error_of([&] {
    make_dataset(folder_config(root.string(), "  bad_files: fail\n  val_size: 2\n"), TrainConfig{}, two);
  });
  EXPECT_NE(fail.find("1 image files cannot be read (the first: " + (root / "a" / "bad.png").string() +
                      ": neither a PNG nor a JPEG (by its first bytes))"), std::string::npos) << fail;
  testing::internal::CaptureStderr();
  const auto ds = make_dataset(folder_config(root.string(), "  val_size: 2\n"), TrainConfig{}, two);
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("unreadable, left out: " + (root / "a" / "bad.png").string()), std::string::npos) << log;
  EXPECT_NE(log.find("1 unreadable, 0 other files skipped, 0 hidden ignored"), std::string::npos) << log;
  EXPECT_EQ(ds->split(Split::Train).size() + ds->split(Split::Val).size() + ds->split(Split::Test).size(), 10);
  // The space's classes must be the folder's.
  const std::string classes = error_of([&] { make_dataset(folder_config(root.string()), TrainConfig{}, space(1, 16, 3)); });
  EXPECT_EQ(classes, root.string() + ": 2 class folders, the space predicts num_classes 3; make them agree");
  // Options are checked with their key.
  EXPECT_NE(error_of([&] { make_dataset(folder_config(root.string(), "  fit: squash\n"), TrainConfig{}, two); })
                .find("fit"), std::string::npos);
  EXPECT_NE(error_of([&] { make_dataset(folder_config(root.string(), "  mean: [0.1, 0.2]\n  std: 0.2\n"), TrainConfig{}, two); })
                .find("expected one value or one per input channel (1), got 2"), std::string::npos);
  // A class whose only files are unreadable has nothing to learn from.
  for (int i = 0; i < 5; ++i) put(root / "c" / (std::to_string(i) + ".png"), "broken");
  EXPECT_NE(error_of([&] { make_dataset(folder_config(root.string()), TrainConfig{}, space(1, 16, 3)); })
                .find("class 'c' has no readable training image"), std::string::npos);
}

}  // namespace
}  // namespace tinynas

namespace tinynas {
namespace {

void write_gz(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(f);
}

void put32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Fashion-MNIST's four files with n_train + n_test random 28x28 images.
void write_fashion_idx(const fs::path& dir, int n_train, int n_test) {
  std::mt19937 rng(5);
  for (const auto& [prefix, n] : {std::pair<std::string, int>{"train", n_train}, {"t10k", n_test}}) {
    std::string img, lab;
    put32(img, 0x803);
    put32(img, n);
    put32(img, 28);
    put32(img, 28);
    put32(lab, 0x801);
    put32(lab, n);
    for (int i = 0; i < n * 28 * 28; ++i) img.push_back(static_cast<char>(rng() & 0xff));
    for (int i = 0; i < n; ++i) lab.push_back(static_cast<char>(rng() % 10));
    write_gz(dir / (prefix + "-images-idx3-ubyte.gz"), img);
    write_gz(dir / (prefix + "-labels-idx1-ubyte.gz"), lab);
  }
}

// The examples ordered by label, stably: the class folders' order of the IDX files' examples.
Examples by_label(const Examples& e) {
  const at::Tensor order = std::get<1>(e.targets.sort(/*stable=*/true, 0, false));
  return e.subset(order);
}

TEST(ImageFolder, FashionMnistAsPngFoldersIsTheIdxFilesBytes) {
  TempDir dir("image_folder_fmnist");
  const fs::path idx = fs::path(dir.path) / "idx", png = fs::path(dir.path) / "png";
  write_fashion_idx(idx, 90, 40);
  const std::string cmd = std::string(TINYNAS_SOURCE_DIR) + "/scripts/make-image-folder fashion-mnist " +
                          png.string() + " --source " + idx.string() + " --quiet";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const SearchSpace s = space(1, 28, 10);
  const auto from_idx = make_dataset(
      DataConfig::from_config(ConfigNode::parse("data:\n  dataset: fashion-mnist\n  path: " + idx.string() +
                                                    "\n  val_size: 10\n", "idx.yaml").section("data")),
      TrainConfig{}, s);
  const auto from_png = make_dataset(folder_config(png.string(), "  val_size: 10\n  mean: 0.2860\n  std: 0.3530\n"),
                                     TrainConfig{}, s);
  EXPECT_EQ(from_png->info().input.to_string(), "28x28x1");
  EXPECT_EQ(from_png->info().class_names.at(9), "9-ankle-boot");
  // The test split: the same bytes and labels, in class-folder order.
  const Examples a = by_label(from_idx->split(Split::Test)), b = from_png->split(Split::Test);
  ASSERT_EQ(b.size(), 40);
  EXPECT_TRUE(a.targets.equal(b.targets));
  EXPECT_TRUE(a.inputs.equal(b.inputs));
  EXPECT_TRUE(from_idx->prepare(a.inputs).equal(from_png->prepare(b.inputs)));
  // Training + validation: the same pool (the hold-out is drawn in each one's file order).
  auto pool = [](const Dataset& d) {
    const Examples& t = d.split(Split::Train);
    const Examples& v = d.split(Split::Val);
    Examples all{at::cat({t.inputs, v.inputs}), at::cat({t.targets, v.targets})};
    // Sorted by label, then by the image's bytes as a key.
    std::vector<std::pair<int64_t, std::string>> keys;
    for (int64_t k = 0; k < all.size(); ++k) {
      const at::Tensor img = all.inputs[k].contiguous();
      keys.emplace_back(all.targets[k].item<int64_t>(),
                        std::string(reinterpret_cast<const char*>(img.data_ptr<uint8_t>()), img.numel()));
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  };
  EXPECT_EQ(pool(*from_idx), pool(*from_png));
}

}  // namespace
}  // namespace tinynas
