#include "nas/export/npy.h"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <cstring>

#include "search_spaces/atomic_file.h"
#include "search_spaces/config_node.h"

namespace tinynas {

NpyInt8 read_npy_int8(const std::string& path) {
  const std::string s = read_file(path);
  auto bad = [&](const std::string& what) { return ConfigError(path + ": " + what); };
  if (s.size() < 10 || s.compare(0, 6, "\x93NUMPY") != 0) throw bad("not a .npy file");
  const int major = static_cast<unsigned char>(s[6]);
  const std::size_t header_len = major == 1 ? static_cast<unsigned char>(s[8]) | (static_cast<unsigned char>(s[9]) << 8)
                                            : static_cast<std::size_t>(static_cast<unsigned char>(s[8])) |
                                                  (static_cast<std::size_t>(static_cast<unsigned char>(s[9])) << 8) |
                                                  (static_cast<std::size_t>(static_cast<unsigned char>(s[10])) << 16);
  const std::size_t start = (major == 1 ? 10 : 12) + header_len;
  if (start > s.size()) throw bad("truncated header");
  const std::string h = s.substr(major == 1 ? 10 : 12, header_len);
  if (h.find("'descr': '|i1'") == std::string::npos) throw bad("expected an int8 array (dtype '|i1')");
  if (h.find("'fortran_order': False") == std::string::npos) throw bad("expected C order");
  const auto lp = h.find("'shape': (");
  if (lp == std::string::npos) throw bad("no shape in the header");
  NpyInt8 a;
  const char* p = h.c_str() + lp + 10;
  int64_t elements = 1;
  while (*p && *p != ')') {
    char* end = nullptr;
    const long long v = std::strtoll(p, &end, 10);
    if (end == p) break;
    a.shape.push_back(v);
    elements *= v;
    p = end;
    while (*p == ',' || *p == ' ') ++p;
  }
  if (s.size() - start != static_cast<std::size_t>(elements)) {
    throw bad(fmt::format("{} bytes of data for the shape ({})", s.size() - start, fmt::join(a.shape, ", ")));
  }
  a.data.resize(elements);
  std::memcpy(a.data.data(), s.data() + start, elements);
  return a;
}

namespace {

void write_npy(const std::string& path, const std::vector<int64_t>& dims, const char* descr, const void* data,
               std::size_t bytes) {
  std::string shape;
  for (int64_t d : dims) shape += std::to_string(d) + ", ";
  if (dims.size() > 1) shape.resize(shape.size() - 2);  // (n,) keeps its comma
  std::string h = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  // Magic, version, header length, then the header padded with spaces to a multiple of 64.
  const std::size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  out += h;
  out.append(static_cast<const char*>(data), bytes);
  write_file_atomic(path, out);
}

}  // namespace

void write_npy_int8(const std::string& path, const NpyInt8& a) {
  write_npy(path, a.shape, "|i1", a.data.data(), a.data.size());
}

void write_npy_int32(const std::string& path, const std::vector<int64_t>& shape, const std::vector<int32_t>& data) {
  write_npy(path, shape, "<i4", data.data(), data.size() * sizeof(int32_t));  // the host is little-endian
}

}  // namespace tinynas
