// Elastic layers in the Once-for-All style: each holds the weights of its largest configuration
// and runs a slice of them chosen by its `active_*` state. One class per elastic dimension:
//   ElasticConv2d        first-k input and output channels of a kh x kw convolution (stem,
//                        pointwise expand / project / head): covers expand ratio and width.
//   ElasticDepthwiseConv elastic kernel size (the centre of the largest kernel through small
//                        learned linear transforms, 7x7 -> 5x5 -> 3x3) and first-k channels.
//   ElasticBatchNorm     first-k channels; running statistics of the active slice.
//   ElasticLinear        first-k input features.
#pragma once

#include <torch/torch.h>

#include <array>
#include <vector>

#include "supernet/sync_batch_norm.h"

namespace tinynas {

struct ElasticConv2dOptions {
  ElasticConv2dOptions(int64_t max_in, int64_t max_out, int64_t kernel = 1, int64_t stride = 1)
      : max_in_(max_in), max_out_(max_out), kernel_(kernel), kernel_w_(kernel), stride_(stride) {}
  TORCH_ARG(int64_t, max_in);
  TORCH_ARG(int64_t, max_out);
  TORCH_ARG(int64_t, kernel);    // kernel height
  TORCH_ARG(int64_t, kernel_w);  // kernel width: = kernel unless set (a non-square stem)
  TORCH_ARG(int64_t, stride);
};

class ElasticConv2dImpl : public torch::nn::Module {
 public:
  explicit ElasticConv2dImpl(const ElasticConv2dOptions& options);
  void reset_parameters();
  void set_active(int64_t in, int64_t out);
  // Zero padding of the input, top, left, bottom, right: the padding rule of ops/layer.h for the
  // active input, which the supernet sets from its layer (an even kernel's TF SAME padding depends
  // on the input size). kernel / 2 on every side until set.
  void set_padding(int64_t top, int64_t left, int64_t bottom, int64_t right);
  // [active_out, active_in, kh, kw], a view of the full weight.
  torch::Tensor active_weight() const;
  // Symmetric padding is the convolution's own; asymmetric padding is torch::constant_pad_nd
  // ahead of an unpadded convolution (the zeros the int8 kernels read as the zero point).
  torch::Tensor forward(const torch::Tensor& x);
  // The convolution with a batch norm folded in: output channel o's weights times scale[o],
  // plus shift[o] (ElasticBatchNormImpl::folded()).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& shift);

  ElasticConv2dOptions options;
  int64_t active_in = 0, active_out = 0;
  std::array<int64_t, 4> padding{};  // top, left, bottom, right
  bool channels_last = false;  // run with an NHWC weight (oneDNN then produces NHWC outputs)
  torch::Tensor weight;  // [max_out, max_in, kh, kw]
};
TORCH_MODULE(ElasticConv2d);

struct ElasticDepthwiseConvOptions {
  ElasticDepthwiseConvOptions(int64_t max_channels, std::vector<int64_t> kernel_sizes,
                              int64_t stride = 1)
      : max_channels_(max_channels), kernel_sizes_(std::move(kernel_sizes)), stride_(stride) {}
  TORCH_ARG(int64_t, max_channels);
  TORCH_ARG(std::vector<int64_t>, kernel_sizes);  // odd sizes; the largest is stored
  TORCH_ARG(int64_t, stride);
};

class ElasticDepthwiseConvImpl : public torch::nn::Module {
 public:
  explicit ElasticDepthwiseConvImpl(const ElasticDepthwiseConvOptions& options);
  void reset_parameters();
  void set_active(int64_t channels, int64_t kernel);
  int64_t max_kernel() const { return kernel_sizes_.back(); }
  // The effective [active_channels, 1, k, k] kernel: the centre k x k of the largest kernel,
  // passed through the transform matrix of each step down from the largest size (OFA).
  torch::Tensor active_weight() const;
  torch::Tensor forward(const torch::Tensor& x);
  // With a batch norm folded in, as ElasticConv2dImpl's.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& shift);
  // The learned (k'^2 x k'^2) transform from kernel `from` to the next smaller size; identity at
  // initialisation.
  torch::Tensor transform(int64_t from) const;

  ElasticDepthwiseConvOptions options;
  int64_t active_channels = 0, active_kernel = 0;
  bool channels_last = false;  // run with an NHWC weight
  torch::Tensor weight;  // [max_channels, 1, K, K]

 private:
  std::vector<int64_t> kernel_sizes_;  // ascending
  std::vector<torch::Tensor> transforms_;  // transforms_[i]: kernel_sizes_[i+1] -> kernel_sizes_[i]
};
TORCH_MODULE(ElasticDepthwiseConv);

struct ElasticBatchNormOptions {
  explicit ElasticBatchNormOptions(int64_t max_channels) : max_channels_(max_channels) {}
  TORCH_ARG(int64_t, max_channels);
  TORCH_ARG(double, eps) = 1e-5;
  TORCH_ARG(double, momentum) = 0.1;
};

class ElasticBatchNormImpl : public torch::nn::Module {
 public:
  explicit ElasticBatchNormImpl(const ElasticBatchNormOptions& options);
  void reset_parameters();
  void set_active(int64_t channels) { active_channels = channels; }
  // Training: batch statistics, and the active slice of the running statistics is updated.
  // Evaluation: the active slice of the running statistics.
  torch::Tensor forward(const torch::Tensor& x);
  // BN recalibration (OFA): reset the active slice's running statistics, then each forward
  // normalises with batch statistics and folds them into a cumulative average (momentum 1/n),
  // until end_calibration().
  void begin_calibration();
  void end_calibration() { calibrating_ = false; }
  bool calibrating() const { return calibrating_; }
  // Evaluation as an affine map of the active channels, y = x * scale + shift (scale =
  // weight / sqrt(running_var + eps), shift = bias - running_mean * scale), for folding into the
  // convolution before it: {scale, shift}.
  std::pair<torch::Tensor, torch::Tensor> folded() const;

  ElasticBatchNormOptions options;
  int64_t active_channels = 0;
  torch::Tensor weight, bias, running_mean, running_var;
  // Data-parallel training (supernet/distributed.h): sums a tensor over the ranks in place. Set,
  // the training forward normalises with the statistics of the global batch (synchronised BN,
  // supernet/sync_batch_norm.h), so N ranks train as one process with the whole batch would.
  AllReduceSum all_reduce;

 private:
  bool calibrating_ = false;
  int64_t calibration_batches_ = 0;
};
TORCH_MODULE(ElasticBatchNorm);

struct ElasticLinearOptions {
  ElasticLinearOptions(int64_t max_in, int64_t out) : max_in_(max_in), out_(out) {}
  TORCH_ARG(int64_t, max_in);
  TORCH_ARG(int64_t, out);
};

class ElasticLinearImpl : public torch::nn::Module {
 public:
  explicit ElasticLinearImpl(const ElasticLinearOptions& options);
  void reset_parameters();
  void set_active(int64_t in) { active_in = in; }
  torch::Tensor active_weight() const { return weight.narrow(1, 0, active_in); }
  torch::Tensor forward(const torch::Tensor& x);

  ElasticLinearOptions options;
  int64_t active_in = 0;
  torch::Tensor weight, bias;  // [out, max_in], [out]
};
TORCH_MODULE(ElasticLinear);

}  // namespace tinynas
