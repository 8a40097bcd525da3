// NumPy's .npy format for int8 arrays (version 1.0, C order): how int8 inputs and outputs go to
// and from Python tools (an independent TFLite executor, notebooks): `tinynas export --test-set`,
// `tinynas run`, `tinynas export --tflite --inputs`.
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
// Little-endian int32 ('<i4'), e.g. class labels.
void write_npy_int32(const std::string& path, const std::vector<int64_t>& shape, const std::vector<int32_t>& data);

}  // namespace tinynas
