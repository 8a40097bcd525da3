#include "supernet/data.h"

#include <zlib.h>

#include <fmt/core.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <sys/stat.h>

#include "search_spaces/config_node.h"

namespace tinynas {

namespace {

const char* const kPackageHint =
    "Fashion-MNIST comes from the Debian package dataset-fashion-mnist "
    "(apt-get install dataset-fashion-mnist), or set data.path";

[[noreturn]] void data_error(const std::string& path, const std::string& what) {
  throw ConfigError(path + ": " + what + "; " + kPackageHint);
}

std::string gunzip(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) data_error(path, "not found");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) data_error(path, "cannot open");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err = 0;
      const std::string msg = gzerror(f, &err);
      gzclose(f);
      data_error(path, "corrupt gzip data (" + msg + ")");
    }
    if (n == 0) break;
    out.append(buf, n);
  }
  // gzread returns 0 both at a clean end and on a truncated stream; gzclose tells them apart.
  int err = 0;
  gzerror(f, &err);
  const int rc = gzclose(f);
  if (err != Z_OK && err != Z_STREAM_END) data_error(path, "corrupt gzip data");
  if (rc == Z_BUF_ERROR) data_error(path, "truncated gzip file");
  if (rc != Z_OK) data_error(path, "corrupt gzip data");
  return out;
}

uint32_t be32(const std::string& s, std::size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + at;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
  // splitmix64 over the words
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL;
  for (uint64_t w : {a, b, c}) {
    h += w + 0x9e3779b97f4a7c15ULL;
    uint64_t z = h;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    h = z ^ (z >> 31);
  }
  return h;
}

ImageSet ImageSet::subset(const torch::Tensor& index) const {
  return {images.index_select(0, index), labels.index_select(0, index)};
}

ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path,
                       int num_classes) {
  const std::string img = gunzip(images_path);
  if (img.size() < 16 || be32(img, 0) != 0x00000803) {
    data_error(images_path, "not an IDX image file (expected magic 0x00000803)");
  }
  const int64_t n = be32(img, 4), h = be32(img, 8), w = be32(img, 12);
  if (n <= 0 || h <= 0 || w <= 0 || h > 4096 || w > 4096) {
    data_error(images_path, fmt::format("bad IDX dimensions {}x{}x{}", n, h, w));
  }
  if (img.size() != static_cast<std::size_t>(16 + n * h * w)) {
    data_error(images_path, fmt::format("truncated or oversized: {} bytes for {} images of {}x{}",
                                        img.size(), n, h, w));
  }
  const std::string lab = gunzip(labels_path);
  if (lab.size() < 8 || be32(lab, 0) != 0x00000801) {
    data_error(labels_path, "not an IDX label file (expected magic 0x00000801)");
  }
  const int64_t nl = be32(lab, 4);
  if (nl != n) {
    data_error(labels_path, fmt::format("{} labels for {} images in {}", nl, n, images_path));
  }
  if (lab.size() != static_cast<std::size_t>(8 + nl)) {
    data_error(labels_path, fmt::format("truncated or oversized: {} bytes for {} labels",
                                        lab.size(), nl));
  }
  ImageSet s;
  s.images = torch::empty({n, 1, h, w}, torch::kUInt8);
  std::memcpy(s.images.data_ptr<uint8_t>(), img.data() + 16, n * h * w);
  s.labels = torch::empty({n}, torch::kInt64);
  int64_t* lp = s.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    lp[i] = static_cast<unsigned char>(lab[8 + i]);
    if (lp[i] >= num_classes) {
      data_error(labels_path, fmt::format("label {} of image {} is not below {}", lp[i], i,
                                          num_classes));
    }
  }
  return s;
}

Datasets load_datasets(const DataConfig& data) {
  const std::string dir = data.path.empty() ? "." : data.path;
  Datasets d;
  const ImageSet full = read_idx_pair(dir + "/train-images-idx3-ubyte.gz",
                                      dir + "/train-labels-idx1-ubyte.gz");
  d.test = read_idx_pair(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
  const int64_t n = full.size();
  if (data.val_size >= n) {
    throw ConfigError(fmt::format("data.val_size: {} leaves no training images of {}",
                                  data.val_size, n));
  }
  // Seeded Fisher-Yates with our own index picking: the same split on every standard library.
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(mix_seed(data.split_seed, 0x5917));
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng() % (i + 1)]);
  std::vector<int64_t> val(order.begin(), order.begin() + data.val_size);
  std::vector<int64_t> train(order.begin() + data.val_size, order.end());
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());
  if (data.train_images > 0 && data.train_images < static_cast<int64_t>(train.size())) {
    train.resize(data.train_images);
  }
  auto idx = [](const std::vector<int64_t>& v) {
    return torch::from_blob(const_cast<int64_t*>(v.data()), {static_cast<int64_t>(v.size())},
                            torch::kInt64)
        .clone();
  };
  d.train = full.subset(idx(train));
  d.val = data.val_size > 0 ? full.subset(idx(val)) : ImageSet{};
  return d;
}

Split parse_split(const std::string& name) {
  if (name == "train") return Split::Train;
  if (name == "val") return Split::Val;
  if (name == "test") return Split::Test;
  throw ConfigError("split: expected train, val or test, got '" + name + "'");
}

const char* split_name(Split s) {
  switch (s) {
    case Split::Train: return "train";
    case Split::Val: return "val";
    case Split::Test: return "test";
  }
  return "?";
}

const ImageSet& split_of(const Datasets& d, Split s) {
  switch (s) {
    case Split::Train: return d.train;
    case Split::Val:
      if (d.val.size() == 0) throw ConfigError("data.val_size is 0: there is no validation split");
      return d.val;
    case Split::Test: return d.test;
  }
  return d.test;
}

torch::Tensor normalize_images(const torch::Tensor& u8) {
  return (u8.to(torch::kFloat).div_(255.0).sub_(kFashionMnistMean)).div_(kFashionMnistStd);
}

int64_t BatchStream::steps_per_epoch(int64_t set_size, int batch_size) {
  return set_size / batch_size;
}

BatchStream::BatchStream(const ImageSet& set, const TrainConfig& train, int workers,
                         uint64_t seed, int64_t epoch, int64_t first_step)
    : set_(set), train_(train), workers_(workers), seed_(seed), epoch_(epoch), step_(first_step) {
  steps_ = steps_per_epoch(set.size(), train.batch_size);
  order_.resize(set.size());
  for (int64_t i = 0; i < set.size(); ++i) order_[i] = i;
  std::mt19937_64 rng(mix_seed(seed, 0x5ff1e, epoch));
  for (int64_t i = set.size() - 1; i > 0; --i) std::swap(order_[i], order_[rng() % (i + 1)]);
  if (workers_ > 0 && step_ < steps_) {
    pending_ = std::async(std::launch::async, [this, s = step_] { return build(s); });
  }
}

BatchStream::~BatchStream() {
  if (pending_.valid()) pending_.wait();
}

std::pair<torch::Tensor, torch::Tensor> BatchStream::build(int64_t step) const {
  // Plain loops only: this runs on a worker thread, and a torch op there would start another
  // OpenMP thread team competing with the training step's.
  const int64_t b = train_.batch_size;
  const int64_t h = set_.images.size(2), w = set_.images.size(3), c = set_.images.size(1);
  const int pad = train_.crop_padding;
  float lut[256];
  for (int v = 0; v < 256; ++v) {
    lut[v] = static_cast<float>((v / 255.0 - kFashionMnistMean) / kFashionMnistStd);
  }
  torch::Tensor out = torch::empty({b, c, h, w}, torch::kFloat);
  torch::Tensor labels = torch::empty({b}, torch::kInt64);
  const uint8_t* src = set_.images.data_ptr<uint8_t>();
  float* dst = out.data_ptr<float>();
  const int64_t* lab = set_.labels.data_ptr<int64_t>();
  int64_t* lab_out = labels.data_ptr<int64_t>();
  std::mt19937_64 rng(mix_seed(seed_, 0xa06, epoch_, step));
  for (int64_t i = 0; i < b; ++i) {
    const int64_t k = order_[step * b + i];
    lab_out[i] = lab[k];
    const int dy = pad > 0 ? static_cast<int>(rng() % (2 * pad + 1)) - pad : 0;
    const int dx = pad > 0 ? static_cast<int>(rng() % (2 * pad + 1)) - pad : 0;
    const bool flip = train_.hflip && (rng() & 1);
    for (int64_t ch = 0; ch < c; ++ch) {
      const uint8_t* s = src + ((k * c + ch) * h) * w;
      float* d = dst + ((i * c + ch) * h) * w;
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
  return {out, labels};
}

bool BatchStream::next(torch::Tensor* images, torch::Tensor* labels) {
  if (step_ >= steps_) return false;
  std::pair<torch::Tensor, torch::Tensor> batch;
  if (pending_.valid()) {
    batch = pending_.get();
  } else {
    batch = build(step_);
  }
  ++step_;
  if (workers_ > 0 && step_ < steps_) {
    pending_ = std::async(std::launch::async, [this, s = step_] { return build(s); });
  }
  *images = std::move(batch.first);
  *labels = std::move(batch.second);
  return true;
}

}  // namespace tinynas
