#include "search_spaces/arch_spec.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "search_spaces/hash.h"

namespace tinynas {

std::string format_double(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

int ArchSpec::num_blocks() const {
  int n = 0;
  for (const auto& st : stages) n += static_cast<int>(st.size());
  return n;
}

bool ArchSpec::operator==(const ArchSpec& o) const {
  return resolution == o.resolution && width == o.width && stages == o.stages && patch == o.patch;
}

uint64_t ArchSpec::hash() const { return Fnv1a().add(to_string()).value(); }

std::string ArchSpec::hash_hex() const {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(hash()));
  return buf;
}

std::string ArchSpec::to_string() const {
  std::ostringstream ss;
  ss << "r" << resolution << " w" << format_double(width);
  for (const auto& st : stages) {
    ss << " |";
    if (st.empty()) ss << " -";  // an optional stage, skipped
    for (const auto& b : st) ss << " " << b.kernel << "e" << b.expand;
  }
  if (patch.enabled()) ss << " | p" << patch.patches << "s" << patch.split;
  return ss.str();
}

namespace {

template <typename F>
std::string join(const std::vector<BlockChoice>& blocks, F field) {
  std::string s;
  for (const auto& b : blocks) s += (s.empty() ? "" : ", ") + std::to_string(field(b));
  return s;
}

}  // namespace

std::string ArchSpec::to_yaml() const {
  std::ostringstream ss;
  ss << "resolution: " << resolution << "\n";
  ss << "width: " << format_double(width) << "\n";
  ss << "stages:\n";
  for (const auto& st : stages) {
    ss << "  - {kernels: [" << join(st, [](const BlockChoice& b) { return b.kernel; })
       << "], expands: [" << join(st, [](const BlockChoice& b) { return b.expand; }) << "]}\n";
  }
  ss << "patch: {patches: " << patch.patches << ", split: " << patch.split << "}\n";
  return ss.str();
}

std::string ArchSpec::to_json() const {
  std::ostringstream ss;
  ss << "{\"resolution\": " << resolution << ", \"width\": " << format_double(width)
     << ", \"stages\": [";
  for (std::size_t i = 0; i < stages.size(); ++i) {
    ss << (i ? ", " : "") << "{\"kernels\": ["
       << join(stages[i], [](const BlockChoice& b) { return b.kernel; }) << "], \"expands\": ["
       << join(stages[i], [](const BlockChoice& b) { return b.expand; }) << "]}";
  }
  ss << "], \"patch\": {\"patches\": " << patch.patches << ", \"split\": " << patch.split << "}}";
  return ss.str();
}

void ArchSpec::validate(const SearchSpace& space, const ConfigNode* where) const {
  auto fail = [&](const std::string& key, const std::string& what) {
    if (where) {
      // Point at the offending key when it exists in the file.
      ConfigNode n = *where;
      std::string rest = key;
      while (!rest.empty()) {
        const auto dot = rest.find('.');
        std::string part = rest.substr(0, dot);
        rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
        const auto br = part.find('[');
        const std::string name = part.substr(0, br);
        if (!n.has(name)) break;
        n = n.at(name);
        if (br != std::string::npos) {
          const std::size_t idx = std::stoul(part.substr(br + 1));
          if (!n.is_sequence() || idx >= n.size()) break;
          n = n[idx];
        }
      }
      n.fail(what);
    }
    throw ConfigError("ArchSpec " + to_string() + ": " + key + ": " + what);
  };
  auto list = [](const std::vector<int>& v) {
    std::string s;
    for (int x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
    return "{" + s + "}";
  };
  if (std::find(space.resolutions.begin(), space.resolutions.end(), resolution) ==
      space.resolutions.end()) {
    fail("resolution", "expected one of the space's resolutions " + list(space.resolutions) +
                           ", got " + std::to_string(resolution));
  }
  if (!space.has_width(width)) {
    std::string ws;
    for (double w : space.width_multipliers) ws += (ws.empty() ? "" : ", ") + format_double(w);
    fail("width", "expected one of the space's width multipliers {" + ws + "}, got " +
                      format_double(width));
  }
  if (stages.size() != space.stages.size()) {
    fail("stages", "expected " + std::to_string(space.stages.size()) + " stages, got " +
                       std::to_string(stages.size()));
  }
  for (std::size_t s = 0; s < stages.size(); ++s) {
    const StageSpec& ss = space.stages[s];
    const std::string key = "stages[" + std::to_string(s) + "]";
    const int d = depth(s);
    if (std::find(ss.depths.begin(), ss.depths.end(), d) == ss.depths.end()) {
      fail(key + ".kernels", "stage depth (list length) must be one of " + list(ss.depths) +
                                 ", got " + std::to_string(d));
    }
    for (int b = 0; b < d; ++b) {
      const BlockChoice& bc = stages[s][b];
      if (std::find(ss.kernel_sizes.begin(), ss.kernel_sizes.end(), bc.kernel) ==
          ss.kernel_sizes.end()) {
        fail(key + ".kernels[" + std::to_string(b) + "]",
             "expected a kernel size in " + list(ss.kernel_sizes) + ", got " +
                 std::to_string(bc.kernel));
      }
      if (std::find(ss.expand_ratios.begin(), ss.expand_ratios.end(), bc.expand) ==
          ss.expand_ratios.end()) {
        fail(key + ".expands[" + std::to_string(b) + "]",
             "expected an expand ratio in " + list(ss.expand_ratios) + ", got " +
                 std::to_string(bc.expand));
      }
    }
  }
  if (patch.patches != 1 || patch.split != 0) {
    if (std::find(space.patch.patches.begin(), space.patch.patches.end(), patch.patches) ==
        space.patch.patches.end()) {
      fail("patch.patches", "expected one of the space's patch counts " +
                                list(space.patch.patches) + ", got " +
                                std::to_string(patch.patches));
    }
    const int max_split = std::min(space.patch.max_split, num_blocks());
    if (patch.patches == 1 ? patch.split != 0 : (patch.split < 1 || patch.split > max_split)) {
      fail("patch.split", patch.patches == 1
                              ? "expected 0 without patches, got " + std::to_string(patch.split)
                              : "expected a split in [1, " + std::to_string(max_split) +
                                    "] blocks, got " + std::to_string(patch.split));
    }
  }
}

ArchSpec ArchSpec::from_config(const ConfigNode& node, const SearchSpace& space) {
  node.check_keys({"space", "resolution", "width", "stages", "patch"});
  ArchSpec a;
  a.resolution = static_cast<int>(node.at("resolution").as_int(1, 4096));
  a.width = node.at("width").as_double(0.0, 16.0);
  for (const ConfigNode& st : node.at("stages").items()) {
    st.check_keys({"kernels", "expands"});
    // Empty lists: an optional stage skipped (validate() checks the stage allows depth 0).
    std::vector<int64_t> ks, es;
    for (const ConfigNode& k : st.at("kernels").items()) ks.push_back(k.as_int(1, 15));
    for (const ConfigNode& e : st.at("expands").items()) es.push_back(e.as_int(1, 16));
    if (ks.size() != es.size()) {
      st.at("expands").fail("expected as many expand ratios as kernels (" +
                            std::to_string(ks.size()) + "), got " + std::to_string(es.size()));
    }
    std::vector<BlockChoice> blocks;
    for (std::size_t i = 0; i < ks.size(); ++i) {
      blocks.push_back({static_cast<int>(ks[i]), static_cast<int>(es[i])});
    }
    a.stages.push_back(blocks);
  }
  if (const auto p = node.find("patch")) {
    p->check_keys({"patches", "split"});
    a.patch.patches = static_cast<int>(p->get_int("patches", 1, 1, 16));
    a.patch.split = static_cast<int>(p->get_int("split", 0, 0, 256));
  }
  a.validate(space, &node);
  return a;
}

ArchSpec ArchSpec::from_json(const std::string& json, const SearchSpace& space) {
  return from_config(ConfigNode::parse(json, "<ArchSpec JSON>"), space);
}

namespace {

ArchSpec extreme(const SearchSpace& space, bool largest) {
  ArchSpec a;
  a.resolution = largest ? space.max_resolution() : space.min_resolution();
  a.width = largest ? space.max_width() : space.min_width();
  for (const auto& st : space.stages) {
    const int k = largest ? st.kernel_sizes.back() : st.kernel_sizes.front();
    const int e = largest ? st.expand_ratios.back() : st.expand_ratios.front();
    a.stages.emplace_back(largest ? st.max_depth() : st.min_depth(), BlockChoice{k, e});
  }
  return a;
}

}  // namespace

ArchSpec ArchSpec::largest(const SearchSpace& space) { return extreme(space, true); }
ArchSpec ArchSpec::smallest(const SearchSpace& space) { return extreme(space, false); }

LoadedArch load_arch_file(const std::string& path, const SearchSpace& default_space) {
  const ConfigNode root = ConfigNode::load_file(path);
  root.expect_map();
  LoadedArch out{default_space, {}};
  if (const auto sp = root.find("space")) out.space = SearchSpace::load(sp->as_path());
  out.arch = ArchSpec::from_config(root, out.space);
  return out;
}

}  // namespace tinynas
