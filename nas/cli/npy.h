// NumPy's .npy format for int8 arrays (version 1.0, C order): the exchange format of
// `tinynas run` with Python tools (an independent TFLite executor, notebooks).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tinynas {

struct NpyInt8 {
  std::vector<int64_t> shape;
  std::vector<int8_t> data;
};

// Throws ConfigError naming the file unless it is an int8 ('|i1') C-order array.
NpyInt8 read_npy_int8(const std::string& path);
// Atomically (temporary file + rename).
void write_npy_int8(const std::string& path, const NpyInt8& a);

}  // namespace tinynas
