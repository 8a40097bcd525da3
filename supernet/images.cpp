// A dataset's examples as plain data for the torch-free exporter, prepared exactly as the
// supernet's forward sees them: the dataset's normalisation, then the supernet's own resize
// (resize_to, bilinear, align_corners = false).
#include <torch/torch.h>

#include "supernet/dataset.h"
#include "supernet/labelled_images.h"
#include "supernet/supernet.h"

namespace tinynas {

LabelledImages load_labelled_images(const DataConfig& data, Split split, int64_t max_images,
                                    const Shape& input) {
  const std::unique_ptr<Dataset> dataset = make_dataset(data);
  const Examples& set = dataset->split(split);
  const int64_t n = max_images > 0 ? std::min<int64_t>(max_images, set.size()) : set.size();
  torch::NoGradGuard no_grad;
  torch::Tensor x = resize_to(dataset->prepare(set.inputs.narrow(0, 0, n)), input.h, input.w);
  x = x.permute({0, 2, 3, 1}).contiguous().to(torch::kFloat32);  // NHWC
  LabelledImages out;
  out.h = static_cast<int>(x.size(1));
  out.w = static_cast<int>(x.size(2));
  out.c = static_cast<int>(x.size(3));
  out.pixels.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  const torch::Tensor labels = set.targets.narrow(0, 0, n).to(torch::kInt64).contiguous();
  for (int64_t i = 0; i < n; ++i) out.labels.push_back(static_cast<int>(labels[i].item<int64_t>()));
  return out;
}

}  // namespace tinynas
