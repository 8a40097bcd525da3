// A dataset's pixel normalisation, torch-free: the network sees (x / 255 - mean_c) / std_c of a
// stored uint8 pixel x of channel c. The stored-image datasets train with it
// (supernet/datasets/stored_images.h) and the exporter turns it into the generated firmware's
// camera-frame table (nas/export/codegen.h).
#pragma once

#include <cstddef>
#include <vector>

namespace tinynas {

// Per channel, of x / 255; one value applies to every channel.
struct Normalization {
  std::vector<double> mean, std;
  double mean_of(std::size_t c) const { return mean.size() == 1 ? mean[0] : mean[c]; }
  double std_of(std::size_t c) const { return std.size() == 1 ? std[0] : std[c]; }
};

}  // namespace tinynas
