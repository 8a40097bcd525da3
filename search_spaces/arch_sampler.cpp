#include "search_spaces/arch_sampler.h"

#include <algorithm>

namespace tinynas {

BlockChoice ArchSampler::sample_block(const StageSpec& st) {
  BlockChoice b;
  b.kernel = pick_from(st.kernel_sizes);
  b.expand = pick_from(st.expand_ratios);
  return b;
}

ArchSpec ArchSampler::sample() {
  ArchSpec a;
  a.resolution = pick_from(space_.resolutions);
  a.width = pick_from(space_.width_multipliers);
  for (const auto& st : space_.stages) {
    const int d = pick_from(st.depths);
    std::vector<BlockChoice> blocks;
    for (int i = 0; i < d; ++i) blocks.push_back(sample_block(st));
    a.stages.push_back(blocks);
  }
  return a;
}

ArchSpec ArchSampler::mutate(const ArchSpec& parent, double prob) {
  ArchSpec a = parent;
  if (coin(prob)) a.resolution = pick_from(space_.resolutions);
  if (coin(prob)) a.width = pick_from(space_.width_multipliers);
  for (std::size_t s = 0; s < space_.stages.size(); ++s) {
    const StageSpec& st = space_.stages[s];
    auto& blocks = a.stages[s];
    for (auto& b : blocks) {
      if (coin(prob)) b.kernel = pick_from(st.kernel_sizes);
      if (coin(prob)) b.expand = pick_from(st.expand_ratios);
    }
    if (coin(prob)) {
      const int d = pick_from(st.depths);
      while (static_cast<int>(blocks.size()) < d) blocks.push_back(sample_block(st));
      blocks.resize(d);
    }
  }
  a.patch = parent.patch;
  const int max_split = std::min(space_.patch.max_split, a.num_blocks());
  if (a.patch.split > max_split) a.patch.split = max_split;
  if (a.patch.split == 0) a.patch.patches = 1;
  return a;
}

ArchSpec ArchSampler::crossover(const ArchSpec& x, const ArchSpec& y) {
  ArchSpec a;
  a.resolution = coin(0.5) ? x.resolution : y.resolution;
  a.width = coin(0.5) ? x.width : y.width;
  for (std::size_t s = 0; s < space_.stages.size(); ++s) {
    const auto& bx = x.stages[s];
    const auto& by = y.stages[s];
    const std::size_t d = coin(0.5) ? bx.size() : by.size();
    std::vector<BlockChoice> blocks;
    for (std::size_t i = 0; i < d; ++i) {
      // A block both parents have comes from either; a deeper block from the parent that has it.
      const bool from_x = i < bx.size() && (i >= by.size() || coin(0.5));
      blocks.push_back(from_x ? bx[i] : by[i]);
    }
    a.stages.push_back(blocks);
  }
  a.patch = coin(0.5) ? x.patch : y.patch;
  const int max_split = std::min(space_.patch.max_split, a.num_blocks());
  if (a.patch.split > max_split) a.patch.split = max_split;
  if (a.patch.split == 0) a.patch.patches = 1;
  return a;
}

PatchSchedule ArchSampler::sample_patch(const ArchSpec& arch) {
  PatchSchedule p;
  const int max_split = std::min(space_.patch.max_split, arch.num_blocks());
  p.patches = pick_from(space_.patch.patches);
  if (p.patches == 1 || max_split < 1) return PatchSchedule{};
  p.split = 1 + static_cast<int>(pick(static_cast<std::size_t>(max_split)));
  return p;
}

}  // namespace tinynas
