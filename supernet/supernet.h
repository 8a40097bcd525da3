// The weight-sharing supernet: one LibTorch module holding the largest network of a search space
// (largest width, expand ratio, depth and kernel everywhere), of which every ArchSpec of the space
// is a slice. set_active(arch) selects the subnet; forward() then runs exactly the layers of
// lower(space, arch) (search_spaces/net_graph.h), so shapes never disagree with the estimators.
//
//   width multiplier -> first channels of every layer
//   expand ratio     -> first hidden channels of a block (re-sorted by importance, sort_channels)
//   depth            -> first blocks of each stage
//   kernel size      -> centre of the largest depthwise kernel through a learned transform
//   resolution       -> the input is resized (bilinear) to the space's input_shape(arch.resolution)
#pragma once

#include <torch/torch.h>

#include <vector>

#include "search_spaces/arch_spec.h"
#include "search_spaces/net_graph.h"
#include "search_spaces/search_space.h"
#include "supernet/elastic.h"
#include "ops/layer_weights.h"

namespace tinynas {

// One block at its largest: expand 1x1 (absent when the stage only has expand ratio 1) + BN,
// depthwise k x k + BN, project 1x1 + BN. The activations and the residual add are the lowering's
// (run in NetGraph order): an inverted-residual block's project is linear and adds its input when
// the shapes allow; a separable block (DS-CNN's, `block: separable`) is the same modules without
// expand, its project BN followed by ReLU6 and no residual.
class SupernetBlockImpl : public torch::nn::Module {
 public:
  SupernetBlockImpl(int64_t max_in, int64_t max_hidden, int64_t max_out,
                    std::vector<int64_t> kernel_sizes, int64_t stride, bool has_expand);
  ElasticConv2d expand{nullptr};
  ElasticBatchNorm expand_bn{nullptr};
  ElasticDepthwiseConv dw{nullptr};
  ElasticBatchNorm dw_bn{nullptr};
  ElasticConv2d project{nullptr};
  ElasticBatchNorm project_bn{nullptr};
};
TORCH_MODULE(SupernetBlock);

// One block of a dense stage at its largest: a fully connected layer as a 1x1 convolution over a
// [N, C, 1, 1] tensor (elastic inputs and outputs, batch norm folded as a convolution's) + BN.
class DenseBlockImpl : public torch::nn::Module {
 public:
  DenseBlockImpl(int64_t max_in, int64_t max_out);
  ElasticConv2d fc{nullptr};
  ElasticBatchNorm bn{nullptr};
};
TORCH_MODULE(DenseBlock);

// A change of channel order applied to a parameter (so optimizer state can follow it).
struct ParamPermutation {
  torch::Tensor param;
  int64_t dim = 0;
  torch::Tensor index;  // new[i] = old[index[i]] along dim
};

class SubnetImpl;

class SupernetImpl : public torch::nn::Module {
 public:
  explicit SupernetImpl(const SearchSpace& space);

  const SearchSpace& space() const { return space_; }

  // Selects the subnet forward() runs. Validates `arch` against the space (ConfigError).
  void set_active(const ArchSpec& arch);
  const ArchSpec& active() const { return arch_; }
  const NetGraph& active_graph() const { return graph_; }

  // x: [N, input_channels, H, W], normalised images at any size; resized to the active
  // resolution. Returns logits [N, num_classes]; for a reconstruction output (an autoencoder),
  // each input's reconstruction error [N] (the mean squared error of its values).
  torch::Tensor forward(torch::Tensor x);

  // NHWC activations and weights (faster on CPU with oneDNN); outputs are the same.
  void set_channels_last(bool on);

  // BN recalibration of the active subnet (OFA): resets the running statistics of the active
  // channels, then sets them to the cumulative average of the batch statistics over `batches`.
  // Leaves the module in eval mode.
  void recalibrate_bn(const std::vector<torch::Tensor>& batches);

  // The active-or-given subnet's float parameters in NetGraph layer order (see layer_weights.h).
  std::vector<LayerWeights> extract_weights(const ArchSpec& arch);
  // A standalone module with exactly the subnet's weights (plain Conv2d / BatchNorm2d / Linear);
  // in eval mode its outputs equal this supernet's for `arch`.
  std::shared_ptr<SubnetImpl> extract(const ArchSpec& arch);

  // Re-sorts every block's hidden channels by importance (L1 norm of the project weights that
  // read them), so that the first-k channels a smaller expand ratio keeps are the most important
  // ones (OFA, between progressive-shrinking phases). The largest subnet computes the same
  // function after the sort. Returns what was permuted.
  std::vector<ParamPermutation> sort_channels();

  // Parameters with weight decay (conv and FC weights) and without (BN, biases, transforms).
  std::vector<torch::Tensor> decay_parameters() const;
  std::vector<torch::Tensor> no_decay_parameters() const;

  SupernetBlock block(std::size_t stage, std::size_t index) const { return blocks_[stage][index]; }

 private:
  struct Op {
    const Layer* layer = nullptr;
    ElasticConv2dImpl* conv = nullptr;
    ElasticDepthwiseConvImpl* dw = nullptr;
    ElasticBatchNormImpl* bn = nullptr;
  };
  void for_each_active_bn(const std::function<void(ElasticBatchNormImpl&)>& fn);

  SearchSpace space_;
  ElasticConv2d stem_{nullptr};
  ElasticBatchNorm stem_bn_{nullptr};
  std::vector<std::vector<SupernetBlock>> blocks_;  // empty for a dense stage
  std::vector<std::vector<DenseBlock>> dense_;      // empty for other stages
  ElasticConv2d head_{nullptr};
  ElasticBatchNorm head_bn_{nullptr};
  ElasticLinear fc_{nullptr};     // the classifier
  ElasticLinear recon_{nullptr};  // a reconstruction output after dense stages
  // ... after convolutional ones: a 3x3 convolution with a bias (no batch norm: it is linear).
  ElasticConv2d recon_conv_{nullptr};
  torch::Tensor recon_bias_;
  ArchSpec arch_;
  NetGraph graph_;
  std::vector<Op> plan_;
  bool channels_last_ = false;
};
TORCH_MODULE(Supernet);

// An extracted subnet: plain LibTorch layers built from a NetGraph and its LayerWeights, run in
// NetGraph order. Holds no elastic machinery.
class SubnetImpl : public torch::nn::Module {
 public:
  SubnetImpl(const NetGraph& graph, const std::vector<LayerWeights>& weights);
  torch::Tensor forward(torch::Tensor x);
  const NetGraph& graph() const { return graph_; }
  // What forward() takes: the image, or a front end's features (the dataset computes those).
  const Shape& input_shape() const {
    const Layer& first = graph_.layers.front();
    return first.role == LayerRole::FrontEnd ? first.out : graph_.tensors[graph_.input].shape;
  }

 private:
  NetGraph graph_;
  std::vector<torch::nn::Conv2d> convs_;     // per layer; empty for non-conv layers
  std::vector<torch::nn::BatchNorm2d> bns_;  // per layer; empty for a conv with a bias
  std::vector<torch::nn::Linear> linears_;   // per layer; empty for others
};
TORCH_MODULE(Subnet);

// Bilinear resize (align_corners = false), as torch.nn.functional.interpolate; identity when the
// size already matches.
torch::Tensor resize_to(const torch::Tensor& x, int64_t height, int64_t width);
inline torch::Tensor resize_to(const torch::Tensor& x, int64_t resolution) {
  return resize_to(x, resolution, resolution);
}

}  // namespace tinynas
