// Fashion-MNIST images as plain data for the torch-free exporter, preprocessed exactly as the
// supernet's forward sees them: normalised, then resized bilinearly (align_corners = false).
#include <torch/torch.h>

#include "supernet/data.h"
#include "supernet/labelled_images.h"

namespace tinynas {

LabelledImages load_labelled_images(const DataConfig& data, Split split, int64_t max_images,
                                    int resolution) {
  const Datasets sets = load_datasets(data);
  const ImageSet& set = split_of(sets, split);
  const int64_t n = max_images > 0 ? std::min<int64_t>(max_images, set.size()) : set.size();
  torch::NoGradGuard no_grad;
  torch::Tensor x = normalize_images(set.images.narrow(0, 0, n));
  if (x.size(2) != resolution || x.size(3) != resolution) {
    x = torch::upsample_bilinear2d(x, {resolution, resolution}, /*align_corners=*/false);
  }
  x = x.permute({0, 2, 3, 1}).contiguous().to(torch::kFloat32);  // NHWC
  LabelledImages out;
  out.h = static_cast<int>(x.size(1));
  out.w = static_cast<int>(x.size(2));
  out.c = static_cast<int>(x.size(3));
  out.pixels.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  const torch::Tensor labels = set.labels.narrow(0, 0, n).to(torch::kInt64).contiguous();
  for (int64_t i = 0; i < n; ++i) out.labels.push_back(static_cast<int>(labels[i].item<int64_t>()));
  return out;
}

}  // namespace tinynas
