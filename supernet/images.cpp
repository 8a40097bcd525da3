// A dataset's examples as plain data for the torch-free exporter, prepared exactly as the
// supernet's forward sees them: the dataset's normalisation, then the supernet's own resize
// (resize_to, bilinear, align_corners = false); or, before a front end, the raw samples.
#include <torch/torch.h>

#include "supernet/dataset.h"
#include "supernet/labelled_images.h"
#include "supernet/supernet.h"

namespace tinynas {

LabelledImages labelled_images(const Dataset& dataset, Split split, int64_t max_images,
                               const SearchSpace& space, const Shape& input) {
  const Examples& set = dataset.split(split);
  const int64_t n = max_images > 0 ? std::min<int64_t>(max_images, set.size()) : set.size();
  LabelledImages out;
  if (space.front_end.enabled()) {
    // The device's input: raw samples, which the exported model's front end turns into features.
    out.h = 1;
    out.w = space.front_end.samples;
    out.c = 1;
    out.pixels.reserve(static_cast<std::size_t>(n) * out.w);
    for (int64_t i = 0; i < n; ++i) {
      const std::vector<float> raw = dataset.raw_example(split, i);
      if (static_cast<int64_t>(raw.size()) != out.w) {
        throw ConfigError(dataset.info().dataset + ": example " + std::to_string(i) + " has " +
                          std::to_string(raw.size()) + " samples, the front end takes " +
                          std::to_string(out.w));
      }
      out.pixels.insert(out.pixels.end(), raw.begin(), raw.end());
    }
  } else {
    torch::NoGradGuard no_grad;
    torch::Tensor x = resize_to(dataset.prepare(set.inputs.narrow(0, 0, n)), input.h, input.w);
    x = x.permute({0, 2, 3, 1}).contiguous().to(torch::kFloat32);  // NHWC
    out.h = static_cast<int>(x.size(1));
    out.w = static_cast<int>(x.size(2));
    out.c = static_cast<int>(x.size(3));
    out.pixels.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
    if (dataset.pixel_normalization() && set.inputs.scalar_type() == torch::kByte) {
      torch::Tensor u8 = set.inputs.narrow(0, 0, n);
      if (u8.size(2) != input.h || u8.size(3) != input.w) {
        u8 = resize_to(u8.to(torch::kFloat32), input.h, input.w).round_().clamp_(0, 255).to(torch::kByte);
      }
      u8 = u8.permute({0, 2, 3, 1}).contiguous();
      out.frames.assign(u8.data_ptr<uint8_t>(), u8.data_ptr<uint8_t>() + u8.numel());
    }
  }
  const torch::Tensor labels = set.targets.narrow(0, 0, n).to(torch::kInt64).contiguous();
  for (int64_t i = 0; i < n; ++i) out.labels.push_back(static_cast<int>(labels[i].item<int64_t>()));
  return out;
}

std::optional<Normalization> pixel_normalization(const Dataset& dataset) { return dataset.pixel_normalization(); }

}  // namespace tinynas
