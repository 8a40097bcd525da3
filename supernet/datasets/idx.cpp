#include "supernet/datasets/idx.h"

#include <zlib.h>

#include <fmt/core.h>

#include <sys/stat.h>

#include "search_spaces/config_node.h"

namespace tinynas {

namespace {

[[noreturn]] void data_error(const std::string& path, const std::string& what,
                             const std::string& hint) {
  throw ConfigError(path + ": " + what + (hint.empty() ? "" : "; " + hint));
}

std::string gunzip(const std::string& path, const std::string& hint) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) data_error(path, "not found", hint);
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) data_error(path, "cannot open", hint);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err = 0;
      const std::string msg = gzerror(f, &err);
      gzclose(f);
      data_error(path, "corrupt gzip data (" + msg + ")", hint);
    }
    if (n == 0) break;
    out.append(buf, n);
  }
  // gzread returns 0 both at a clean end and on a truncated stream; gzclose tells them apart.
  int err = 0;
  gzerror(f, &err);
  const int rc = gzclose(f);
  if (err != Z_OK && err != Z_STREAM_END) data_error(path, "corrupt gzip data", hint);
  if (rc == Z_BUF_ERROR) data_error(path, "truncated gzip file", hint);
  if (rc != Z_OK) data_error(path, "corrupt gzip data", hint);
  return out;
}

uint32_t be32(const std::string& s, std::size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + at;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

IdxImages read_idx_pair(const std::string& images_path, const std::string& labels_path,
                        int num_classes, const std::string& hint) {
  const std::string img = gunzip(images_path, hint);
  if (img.size() < 16 || be32(img, 0) != 0x00000803) {
    data_error(images_path, "not an IDX image file (expected magic 0x00000803)", hint);
  }
  const int64_t n = be32(img, 4), h = be32(img, 8), w = be32(img, 12);
  if (n <= 0 || h <= 0 || w <= 0 || h > 4096 || w > 4096) {
    data_error(images_path, fmt::format("bad IDX dimensions {}x{}x{}", n, h, w), hint);
  }
  if (img.size() != static_cast<std::size_t>(16 + n * h * w)) {
    data_error(images_path,
               fmt::format("truncated or oversized: {} bytes for {} images of {}x{}", img.size(),
                           n, h, w),
               hint);
  }
  const std::string lab = gunzip(labels_path, hint);
  if (lab.size() < 8 || be32(lab, 0) != 0x00000801) {
    data_error(labels_path, "not an IDX label file (expected magic 0x00000801)", hint);
  }
  const int64_t nl = be32(lab, 4);
  if (nl != n) {
    data_error(labels_path, fmt::format("{} labels for {} images in {}", nl, n, images_path), hint);
  }
  if (lab.size() != static_cast<std::size_t>(8 + nl)) {
    data_error(labels_path,
               fmt::format("truncated or oversized: {} bytes for {} labels", lab.size(), nl), hint);
  }
  IdxImages s;
  s.count = n;
  s.height = h;
  s.width = w;
  s.pixels.assign(img.begin() + 16, img.end());
  s.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    s.labels[i] = static_cast<unsigned char>(lab[8 + i]);
    if (s.labels[i] >= num_classes) {
      data_error(labels_path,
                 fmt::format("label {} of image {} is not below {} (the space's num_classes)",
                             s.labels[i], i, num_classes),
                 hint);
    }
  }
  return s;
}

}  // namespace tinynas
