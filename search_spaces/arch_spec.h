// ArchSpec: one subnet of a search space, as plain data. Canonical (each stage lists only its
// active blocks), so equality and the hash are exact; round-trips through YAML and JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "search_spaces/config_node.h"
#include "search_spaces/search_space.h"

namespace tinynas {

struct BlockChoice {
  int kernel = 3;
  int expand = 6;
  bool operator==(const BlockChoice& o) const { return kernel == o.kernel && expand == o.expand; }
};

// MCUNetV2 patch-based inference: the stem and the first `split` inverted-residual blocks run
// on p x p spatial patches; the rest of the network runs layer by layer.
struct PatchSchedule {
  int patches = 1;  // per side; 1 = no patches
  int split = 0;    // inverted-residual blocks in the patch stage (0 with patches == 1)
  bool enabled() const { return patches > 1; }
  bool operator==(const PatchSchedule& o) const {
    return patches == o.patches && split == o.split;
  }
};

struct ArchSpec {
  int resolution = 224;
  double width = 1.0;
  std::vector<std::vector<BlockChoice>> stages;  // active blocks per stage; depth = size()
  PatchSchedule patch;

  int depth(std::size_t stage) const { return static_cast<int>(stages.at(stage).size()); }
  int num_blocks() const;
  bool operator==(const ArchSpec& o) const;
  bool operator!=(const ArchSpec& o) const { return !(*this == o); }

  // Stable across runs and machines (FNV-1a of the canonical form).
  uint64_t hash() const;
  std::string hash_hex() const;
  // One line, e.g. "r28 w0.75 | 3e1 | 3e6 5e4 | 7e3 3e3 3e6 | ... | p2s3".
  std::string to_string() const;
  std::string to_yaml() const;
  std::string to_json() const;  // one line

  // Throws ConfigError naming the key when the spec is outside the space.
  void validate(const SearchSpace& space, const ConfigNode* where = nullptr) const;

  // Parses the YAML/JSON form (keys: resolution, width, stages[{kernels, expands}], patch,
  // and an optional `space` path that the loader resolves), validating against `space`.
  static ArchSpec from_config(const ConfigNode& node, const SearchSpace& space);
  static ArchSpec from_json(const std::string& json, const SearchSpace& space);

  // The space's extremes: every choice at its largest or smallest.
  static ArchSpec largest(const SearchSpace& space);
  static ArchSpec smallest(const SearchSpace& space);
};

// An ArchSpec file may name its own space (`space: path`), as the fixed MobileNetV2 files in
// configs/archs/ do; otherwise `default_space` is used.
struct LoadedArch {
  SearchSpace space;
  ArchSpec arch;
};
LoadedArch load_arch_file(const std::string& path, const SearchSpace& default_space);

// Shortest decimal form that reads back to the same double ("0.35", not "0.34999999999999998").
std::string format_double(double v);

}  // namespace tinynas
