// A search space as data: a MobileNetV2-style backbone (stem, stages of inverted-residual or
// depthwise-separable blocks, head) and the choice sets each subnet picks from. Loaded from YAML
// (configs/spaces/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/layer.h"
#include "search_spaces/config_node.h"

namespace tinynas {

// MobileNetV2's channel rounding: nearest multiple of `divisor`, never below it, and never more
// than 10% under the unrounded value.
int make_divisible(double value, int divisor = 8);

// The block a stage repeats (`block:` in the YAML):
//   inverted_residual (default): MobileNetV2's block: expand 1x1 + BN + ReLU6 (absent at expand
//     ratio 1), depthwise k x k + BN + ReLU6, linear project 1x1 + BN, residual add when the
//     stride is 1 and the channels match;
//   separable: DS-CNN's depthwise-separable block: depthwise k x k + BN + ReLU6, pointwise 1x1 to
//     the stage's channels + BN + ReLU6, no residual; its expand ratio is 1 only.
//   dense: a fully connected layer + BN + ReLU6 (an autoencoder's, MLPerf Tiny's anomaly
//     detector); it reads its input flattened (H x W x C order) and has `channels x width x
//     expand` outputs: the block's expand ratio is its own width factor (OFA's elastic width per
//     layer), its kernel size 1 only. Dense stages come first (no stem) and only dense stages
//     follow them.
enum class BlockKind { InvertedResidual, Separable, Dense };
const char* block_kind_name(BlockKind kind);  // the YAML's name

struct StageSpec {
  int channels = 0;  // output channels at width multiplier 1.0
  int stride = 1;    // stride of the stage's first block
  // Nearest-neighbour upsampling by this factor before the first block (a convolutional
  // decoder's stage, `upsample: 2`); 1 = none.
  int upsample = 1;
  BlockKind block = BlockKind::InvertedResidual;
  // Choice sets of this stage; a stage may fix them (MobileNetV2's t=1 first block:
  // depths [1], expand_ratios [1]). A stage's own depths may include 0: the stage is optional
  // (skipped with its stride and channel change).
  std::vector<int> depths;
  std::vector<int> kernel_sizes;
  std::vector<int> expand_ratios;

  int max_depth() const;
  int min_depth() const;
};

struct PatchSpace {
  std::vector<int> patches{1};  // patches per side (p x p); 1 = layer-by-layer
  int max_split = 0;            // most inverted-residual blocks in the patch stage
};

// An on-device front end before the stem (`front_end: {kind: mfcc, scale: 0.6, zero_point: 83}`):
// the network's input is then raw int16 samples, and the front end's int8 output (the stem's
// input, input_size) has this fixed quantisation: its dataset computes the training features
// with exactly these values.
struct FrontEndSpec {
  std::string kind;  // an operator kind (ops/kinds/); "" = none, the input is an image
  int samples = 16000;
  double scale = 0;
  int zero_point = 0;
  bool enabled() const { return !kind.empty(); }
};

// What the network ends in (`output:`):
//   classifier (default): [head 1x1 conv], global average pooling, a fully connected layer to
//     num_classes logits;
//   reconstruction: an autoencoder: a linear layer back to the input's values (its features,
//     after a front end), then their mean squared error against the input: the network's one
//     output, an anomaly score (ops/kinds/mse.cpp). After a dense stage the linear layer is fully
//     connected; after convolutional stages it is a 3x3 convolution to the input's channels, and
//     the stages' upsampling must undo the stem's and the stages' strides.
enum class OutputKind { Classifier, Reconstruction };
const char* output_kind_name(OutputKind kind);  // the YAML's name

struct SearchSpace {
  std::string name;
  std::string origin;  // file it was loaded from
  int input_channels = 3;
  // The native input (`input_size: [h, w]`) whose aspect the resolutions keep: resolution r is an
  // r x round(r * w / h) input (a 49 x 10 MFCC map, a 240 x 320 camera frame). 0 = square, r x r.
  int input_height = 0, input_width = 0;
  int num_classes = 1000;  // 0 for a reconstruction output
  int stem_channels = 32;  // 0: no stem (`stem` absent: the first stage is dense)
  // `kernel: k` (square) or `kernel: [kh, kw]` (DS-CNN's 10 x 4); odd or even, padded by the
  // rule of ops/layer.h (odd: k/2 each side; even: TensorFlow SAME).
  int stem_kernel_h = 3, stem_kernel_w = 3;
  int stem_stride = 2;
  std::vector<StageSpec> stages;
  int head_channels = 0;             // 1x1 conv before pooling; 0 = none
  bool head_width_below_one = false;  // MobileNetV2 keeps 1280 for widths < 1
  int channel_divisor = 8;
  std::vector<double> width_multipliers;
  std::vector<int> resolutions;
  PatchSpace patch;
  FrontEndSpec front_end;
  OutputKind output = OutputKind::Classifier;

  static SearchSpace from_config(const ConfigNode& node);
  static SearchSpace load(const std::string& path);
  // The YAML form from_config() reads back to an equal space.
  std::string to_yaml() const;

  // The network input at resolution r (its height): H x W x input_channels.
  Shape input_shape(int resolution) const;
  // Channels at a width multiplier.
  int stem_width(double width) const;
  int stage_width(std::size_t stage, double width) const;
  // The widest input stage `stage`'s first block can get at this width (stages.size(): what the
  // head, or the pool, gets): the previous stage's output, or, past optional stages (depth 0),
  // an earlier one's or the stem's.
  int max_stage_input(std::size_t stage, double width) const;
  int head_width(double width) const;
  // Hidden channels of an inverted-residual block with `in` inputs and expand ratio `t`.
  int hidden_width(int in, int expand) const;
  // Outputs of a dense block of `stage` with expand ratio (width factor) `t`.
  int dense_width(std::size_t stage, double width, int expand) const;
  // The most channels a stage's blocks can output at this width (a dense stage's at its largest
  // width factor).
  int stage_max_width(std::size_t stage, double width) const;
  // The values the network reads (and a reconstruction output rebuilds) at its largest
  // resolution: the front end's features or the image.
  int64_t input_elements() const;

  int max_blocks() const;  // sum of the stages' largest depths
  double max_width() const;
  double min_width() const;
  int max_resolution() const;
  int min_resolution() const;
  bool has_width(double w) const;
  // A stable digest of everything that shapes the supernet's weights; a checkpoint is only
  // accepted by the space it was trained on.
  uint64_t fingerprint() const;
};

}  // namespace tinynas
