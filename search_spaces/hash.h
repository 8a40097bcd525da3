// FNV-1a, 64 bit: a hash that is the same on every machine and every run, so ArchSpec hashes
// can key caches and files.
#pragma once

#include <cstdint>
#include <string>

namespace tinynas {

class Fnv1a {
 public:
  Fnv1a& add_bytes(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * 1099511628211ull;
    return *this;
  }
  Fnv1a& add(int64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(static_cast<uint64_t>(v) >> (8 * i));
    return add_bytes(b, 8);
  }
  Fnv1a& add(const std::string& s) { return add_bytes(s.data(), s.size()); }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 14695981039346656037ull;
};

}  // namespace tinynas
