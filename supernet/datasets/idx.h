// The IDX format of MNIST and its relatives (Fashion-MNIST, KMNIST, EMNIST): gzip-compressed
// big-endian headers and uint8 payloads. Plain C++ (zlib, no LibTorch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tinynas {

struct IdxImages {
  int64_t count = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;   // count * height * width, row-major per image
  std::vector<int64_t> labels;   // count
};

// Reads one gzip IDX pair (images idx3-ubyte.gz, labels idx1-ubyte.gz); every label must be below
// num_classes. Throws ConfigError naming the path, and `hint` (where the files come from), when a
// file is missing, truncated or malformed.
IdxImages read_idx_pair(const std::string& images_path, const std::string& labels_path,
                        int num_classes, const std::string& hint);

}  // namespace tinynas
