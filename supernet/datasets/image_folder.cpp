// A user's own images in class folders (image_folder_layout.h): PNG or JPEG, grey or RGB, any
// size. Every image is decoded to the space's input channels and stored as uint8: at the files'
// own size when they all share one no larger than the space's input, else at the space's input
// size at its largest resolution (an antialiased bilinear resize, after a centre crop with
// data.fit: crop); the supernet's own resize takes it to each subnet's resolution. Normalised
// and augmented as every stored-image dataset (stored_images.h). Classified, top-1 accuracy.
//
// Splits: the folder's test/ (else data.test_fraction of each class, seeded), its val/ (else
// data.val_size held out of training, by default a tenth). A file that cannot be decoded is
// named in the log and counted, and skipped (data.bad_files: skip) or refused (fail); nothing
// is dropped silently. data.make builds a folder of data made here (scripts/make-image-folder:
// Fashion-MNIST as PNG, or the synthetic RGB set) at data.path on first use.
#include <ATen/ATen.h>
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "supernet/dataset.h"
#include "supernet/datasets/data_script.h"
#include "supernet/datasets/image_file.h"
#include "supernet/datasets/image_folder_layout.h"
#include "supernet/datasets/stored_images.h"

namespace tinynas {

namespace {

constexpr int kListed = 20;  // bad or skipped files named one by one in the log

TaskInfo image_folder_info() {
  TaskInfo t;
  t.dataset = "image-folder";
  t.task = "classification";
  t.summary = "your own images: data.path/<class>/*.png|jpg (or train/ [val/] [test/] of class "
              "folders), grey or RGB, any size";
  t.metric = Metric::top1_accuracy();
  t.options = {"test_fraction", "fit", "mean", "std", "bad_files", "make"};
  return t;
}

struct FolderOptions {
  double test_fraction = 0.1;
  bool test_fraction_set = false;
  bool crop = false;       // fit: crop (centre crop to the input's aspect) | stretch
  bool fail_on_bad = false;
  std::vector<double> mean, std;
};

FolderOptions read_options(const DataConfig& data, int channels) {
  FolderOptions o;
  if (!data.node) return o;
  const ConfigNode& n = *data.node;
  if (n.has("test_fraction")) {
    o.test_fraction = n.get_double("test_fraction", 0.1, 0.0, 0.9);
    o.test_fraction_set = true;
  }
  if (n.has("fit")) o.crop = n.at("fit").as_choice({"stretch", "crop"}) == "crop";
  if (n.has("bad_files")) o.fail_on_bad = n.at("bad_files").as_choice({"skip", "fail"}) == "fail";
  // One value for every channel, or one per channel; a standard deviation must be positive.
  auto per_channel = [&](const char* key, double min, std::vector<double>* out) {
    if (!n.has(key)) return;
    const ConfigNode v = n.at(key);
    *out = v.is_sequence() ? v.as_double_list(min, 1e6) : std::vector<double>{v.as_double(min, 1e6)};
    if (out->size() != 1 && static_cast<int>(out->size()) != channels) {
      v.fail(fmt::format("expected one value or one per input channel ({}), got {}", channels, out->size()));
    }
  };
  per_channel("mean", -1e6, &o.mean);
  per_channel("std", 1e-6, &o.std);
  if (o.mean.empty() != o.std.empty()) {
    n.at(o.mean.empty() ? "std" : "mean")
        .fail("give data.mean and data.std together (or neither: the training split's statistics)");
  }
  return o;
}

// Decodes `files` on every core; failures become "<path>: <why>" in `bad` (by position).
std::vector<Image> decode_all(const std::vector<ImageFile>& files, int channels,
                              std::vector<std::string>* bad) {
  std::vector<Image> images(files.size());
  std::vector<std::string> errors(files.size());
  std::atomic<std::size_t> next{0}, done{0};
  const auto start = std::chrono::steady_clock::now();
  const unsigned workers = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  auto work = [&] {
    for (std::size_t i; (i = next++) < files.size(); ++done) {
      try {
        images[i] = read_image(files[i].path, channels);
      } catch (const ImageError& e) {
        errors[i] = files[i].path + ": " + e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < workers; ++t) pool.emplace_back(work);
  if (files.size() >= 20000) {
    // Progress for big folders from a watcher, the decoding on the pool and this thread.
    pool.emplace_back([&] {
      for (std::size_t d; (d = done.load()) < files.size();) {
        std::this_thread::sleep_for(std::chrono::seconds(5));
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const std::size_t now = done.load();
        if (now >= files.size()) break;
        fmt::print(stderr, "image-folder: decoded {}/{} files, {:.0f}/s, eta {:.0f}s\n", now,
                   files.size(), now / s, (files.size() - now) / std::max(1.0, now / s));
      }
    });
  }
  work();
  for (auto& t : pool) t.join();
  for (std::string& e : errors) {
    if (!e.empty()) bad->push_back(std::move(e));
  }
  return images;
}

// HWC uint8 -> CHW uint8 at h x w: the centre crop to the target's aspect (fit: crop), then an
// antialiased bilinear resize when the size differs.
void store(const Image& img, int h, int w, bool crop, uint8_t* out) {
  at::Tensor x = at::from_blob(const_cast<uint8_t*>(img.pixels.data()),
                               {img.height, img.width, img.channels}, at::kByte)
                     .permute({2, 0, 1});
  if (crop) {
    // The largest window of the target's aspect, centred.
    const int64_t ch = std::min<int64_t>(img.height, (int64_t{img.width} * h + w / 2) / w);
    const int64_t cw = std::min<int64_t>(img.width, (int64_t{img.height} * w + h / 2) / h);
    x = x.narrow(1, (img.height - ch) / 2, ch).narrow(2, (img.width - cw) / 2, cw);
  }
  if (x.size(1) != h || x.size(2) != w) {
    const std::vector<int64_t> size = {h, w};
    x = at::_upsample_bilinear2d_aa(x.unsqueeze(0).to(at::kFloat), at::IntArrayRef(size),
                                    /*align_corners=*/false)
            .squeeze(0)
            .round_()
            .clamp_(0, 255)
            .to(at::kByte);
  }
  std::memcpy(out, x.contiguous().data_ptr<uint8_t>(), static_cast<std::size_t>(x.numel()));
}

void report(const char* what, const std::vector<std::string>& lines) {
  for (std::size_t i = 0; i < lines.size() && i < static_cast<std::size_t>(kListed); ++i) {
    fmt::print(stderr, "image-folder: {}: {}\n", what, lines[i]);
  }
  if (lines.size() > static_cast<std::size_t>(kListed)) {
    fmt::print(stderr, "image-folder: {}: ... and {} more\n", what, lines.size() - kListed);
  }
}

// The examples of one split list, decoded and stored; the bad ones left out (already reported).
Examples to_examples(const std::vector<ImageFile>& files, const std::vector<Image>& images, int h,
                     int w, int c, bool crop) {
  std::vector<int64_t> keep;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (!images[i].pixels.empty()) keep.push_back(static_cast<int64_t>(i));
  }
  Examples e;
  const int64_t n = static_cast<int64_t>(keep.size());
  e.inputs = at::empty({n, c, h, w}, at::kByte);
  e.targets = at::empty({n}, at::kLong);
  uint8_t* dst = e.inputs.data_ptr<uint8_t>();
  int64_t* t = e.targets.data_ptr<int64_t>();
  for (int64_t k = 0; k < n; ++k) {
    store(images[keep[k]], h, w, crop, dst + k * c * h * w);
    t[k] = files[keep[k]].label;
  }
  return e;
}

std::unique_ptr<Dataset> load(const DatasetRequest& r) {
  const std::string key = r.data.where.empty() ? "data.dataset" : r.data.where;
  if (r.data.path.empty()) {
    throw ConfigError(key + ": image-folder needs data.path (a folder of class folders of images)");
  }
  // data.make: the folders made here (scripts/make-image-folder) when data.path is missing.
  if (r.data.node && r.data.node->has("make")) {
    const std::string kind = r.data.node->at("make").as_choice({"fashion-mnist", "synthetic-rgb"});
    if (!std::filesystem::exists(r.data.path)) {
      make_data_with_script("make-image-folder", {kind, r.data.path}, r.data.path, "data.make");
    }
  }
  ImageFolderLayout layout = scan_image_folder(r.data.path);
  const int classes = static_cast<int>(layout.classes.size());
  if (r.num_classes > 0 && classes != r.num_classes) {
    throw ConfigError(fmt::format("{}: {} class folders, the space predicts num_classes {}; make "
                                  "them agree", r.data.path, classes, r.num_classes));
  }
  const FolderOptions o = read_options(r.data, std::max(1, r.input_channels));
  if (layout.has_test && o.test_fraction_set) {
    r.data.node->at("test_fraction").fail(r.data.path + " has a test/ folder, which is the test split; remove the key");
  }

  // The test split of a folder without test/: data.test_fraction of each class, seeded.
  if (!layout.has_test) {
    std::vector<ImageFile> pool = std::move(layout.split[0]);
    layout.split[0].clear();
    std::vector<std::vector<int64_t>> by_class(classes);
    for (std::size_t i = 0; i < pool.size(); ++i) by_class[pool[i].label].push_back(static_cast<int64_t>(i));
    std::vector<char> is_test(pool.size(), 0);
    for (int c = 0; c < classes; ++c) {
      const auto& idx = by_class[c];
      const int64_t n_test = static_cast<int64_t>(idx.size() * o.test_fraction + 0.5);
      const std::vector<int64_t> order = seeded_permutation(static_cast<int64_t>(idx.size()),
                                                            mix_seed(r.data.split_seed, 0x7e57, c));
      for (int64_t k = 0; k < n_test; ++k) is_test[idx[order[k]]] = 1;
    }
    for (std::size_t i = 0; i < pool.size(); ++i) layout.split[is_test[i] ? 2 : 0].push_back(pool[i]);
  }

  // Decode everything, as stored when the space does not say (then colour wins).
  std::vector<std::string> bad;
  std::vector<Image> decoded[3];
  for (int s = 0; s < 3; ++s) decoded[s] = decode_all(layout.split[s], r.input_channels, &bad);
  int channels = r.input_channels;  // 0: colour if any file is
  std::map<std::pair<int, int>, int64_t> sizes;
  for (const auto& set : decoded) {
    for (const Image& img : set) {
      if (img.pixels.empty()) continue;
      channels = std::max(channels, img.channels);
      ++sizes[{img.height, img.width}];
    }
  }
  report("skipped", layout.skipped);
  report("unreadable, left out", bad);
  if (!bad.empty() && o.fail_on_bad) {
    throw ConfigError(fmt::format("{}: {} image files cannot be read (the first: {}); fix or remove "
                                  "them, or set data.bad_files: skip", r.data.path, bad.size(), bad[0]));
  }
  for (auto& set : decoded) {
    for (Image& img : set) {
      if (!img.pixels.empty()) img = convert_channels(std::move(img), channels);
    }
  }
  // Stored at the files' own size when they share one that is no larger than the space's
  // input (at its largest resolution) and of its aspect: the supernet's resize is then the only
  // one, as for the IDX files. Otherwise at the space's input size.
  int h = r.input_height, w = r.input_width;
  if (sizes.size() == 1) {
    const int h0 = sizes.begin()->first.first, w0 = sizes.begin()->first.second;
    if (h <= 0 || w <= 0 || (h0 <= h && w0 <= w && int64_t{h0} * w == int64_t{w0} * h)) h = h0, w = w0;
  } else if (h <= 0 || w <= 0) {
    throw ConfigError(fmt::format("{}: images of {} sizes and no space to size them to; give a "
                                  "space (its input size at its largest resolution)", r.data.path, sizes.size()));
  }

  Examples parts[3];
  for (int s = 0; s < 3; ++s) parts[s] = to_examples(layout.split[s], decoded[s], h, w, channels, o.crop);
  const at::Tensor per_class = at::bincount(parts[0].targets, {}, classes);
  for (int c = 0; c < classes; ++c) {
    if (per_class[c].item<int64_t>() == 0) {
      throw ConfigError(r.data.path + ": class '" + layout.classes[c] +
                        "' has no readable training image; nothing to learn it from");
    }
  }
  Examples train, val, test = std::move(parts[2]);
  if (layout.has_val) {
    train = std::move(parts[0]);
    val = std::move(parts[1]);
  } else {
    DataConfig d = r.data;
    // A tenth of the training images unless data.val_size says otherwise: the common default
    // (5,000) is Fashion-MNIST's and would swallow a small folder.
    if (!(d.node && d.node->has("val_size"))) d.val_size = static_cast<int>(parts[0].size() / 10);
    split_train_val(parts[0], d, &train, &val);
  }
  if (test.size() == 0) {
    throw ConfigError(r.data.path + ": no test images (an empty test/ folder, or data.test_fraction 0); "
                      "the final reports need some");
  }

  TaskInfo info = image_folder_info();
  info.summary = fmt::format("{}: {} classes of images from {}", info.dataset, classes, r.data.path);
  info.input = {h, w, channels};
  info.num_classes = classes;
  info.class_names = layout.classes;
  Normalization norm{o.mean, o.std};
  if (norm.mean.empty()) norm = channel_statistics(train.inputs);

  std::string size_list;
  for (const auto& [hw, n] : sizes) {
    if (size_list.size() > 200) {
      size_list += ", ...";
      break;
    }
    size_list += fmt::format("{}{}x{} ({})", size_list.empty() ? "" : ", ", hw.second, hw.first, n);
  }
  std::string mean_list, std_list;
  for (double m : norm.mean) mean_list += fmt::format("{}{:.4f}", mean_list.empty() ? "" : " ", m);
  for (double s : norm.std) std_list += fmt::format("{}{:.4f}", std_list.empty() ? "" : " ", s);
  fmt::print(stderr,
             "image-folder: {}: {} classes; train {}, val {}{}, test {}{}; {} unreadable, {} other "
             "files skipped, {} hidden ignored\nimage-folder: sizes (w x h): {}; stored at {}x{}x{} ({}); mean {} std {}{}\n",
             r.data.path, classes, train.size(), val.size(), layout.has_val ? " (val/)" : " (held out)",
             test.size(), layout.has_test ? " (test/)" : fmt::format(" ({:g} of each class)", o.test_fraction),
             bad.size(), layout.skipped.size(), layout.hidden, size_list, w, h, channels,
             sizes.size() == 1 && sizes.begin()->first == std::make_pair(h, w) ? "as the files are"
             : o.crop ? "centre-cropped and resized" : "resized",
             mean_list, std_list, o.mean.empty() ? " (training split)" : " (data.mean, data.std)");
  return std::make_unique<StoredImages>(std::move(info), std::move(train), std::move(val),
                                        std::move(test), r.train, std::move(norm));
}

}  // namespace

TINYNAS_REGISTER_DATASET(image_folder_info(), load);

}  // namespace tinynas
