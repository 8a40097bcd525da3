// Images as plain data (no LibTorch) for the torch-free exporter: normalised exactly as the
// supernet sees them, resized to a subnet's input H x W, HWC.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "search_spaces/search_space.h"
#include "supernet/api.h"
#include "supernet/normalization.h"

namespace tinynas {

struct LabelledImages {
  int h = 0, w = 0, c = 0;
  std::vector<float> pixels;  // size() * h * w * c, HWC per image
  // The same images as uint8 camera frames, HWC, when the dataset stores uint8 pixels with a
  // pixel normalisation (Dataset::pixel_normalization; else empty): the stored pixels, resized to
  // h x w as the float images are (bilinear) and rounded when they are stored at another size.
  // What a camera at the network's resolution would deliver; `pixels` is their normalisation.
  std::vector<uint8_t> frames;
  std::vector<int> labels;
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  std::vector<uint8_t> frame(int64_t i) const {
    const std::size_t n = static_cast<std::size_t>(h) * w * c;
    return std::vector<uint8_t>(frames.begin() + i * n, frames.begin() + (i + 1) * n);
  }
  std::vector<float> image(int64_t i) const {
    const std::size_t n = static_cast<std::size_t>(h) * w * c;
    return std::vector<float>(pixels.begin() + i * n, pixels.begin() + (i + 1) * n);
  }
};

class Dataset;

// The first `max_images` (0 = all) of a split of a loaded dataset (SupernetEvaluator::dataset()),
// prepared (normalised) and resized to the subnet's input H x W (SearchSpace::input_shape) as the
// supernet's forward does. For a space with a front end: the raw samples it takes (1 x samples x
// 1, e.g. int16 PCM values as floats). Needs the LibTorch build (supernet/images.cpp).
LabelledImages labelled_images(const Dataset& dataset, Split split, int64_t max_images,
                               const SearchSpace& space, const Shape& input);

// Dataset::pixel_normalization() for callers that do not include LibTorch (the export command).
std::optional<Normalization> pixel_normalization(const Dataset& dataset);

}  // namespace tinynas
