#include "search_spaces/net_graph.h"

#include <gtest/gtest.h>

#include "search_spaces/arch_sampler.h"

namespace tinynas {
namespace {

const std::string kRoot = TINYNAS_SOURCE_DIR;

LoadedArch load(const std::string& rel) {
  const SearchSpace none;
  return load_arch_file(kRoot + "/configs/archs/" + rel, none);
}

TEST(NetGraph, MobileNetV2At224MatchesThePaper) {
  const LoadedArch a = load("mbv2-w1.0-r224.yaml");
  const NetGraph g = lower(a.space, a.arch);
  // torchvision's MobileNetV2: 300.8M multiply-adds, 3,504,872 parameters with batch norm's two
  // per channel; folded into one bias per channel that is 3,504,872 - 17,056 = 3,487,816.
  EXPECT_EQ(g.macs(), 300774272);
  EXPECT_EQ(g.params(), 3487816);
  EXPECT_NEAR(g.macs() / 300e6, 1.0, 0.01);
  EXPECT_GE(g.params(), 3.4e6);
  EXPECT_LE(g.params(), 3.5e6);
  EXPECT_EQ(g.num_blocks, 17);
  EXPECT_EQ(g.layers.front().out, (Shape{112, 112, 32}));
  EXPECT_EQ(g.tensors[g.output].shape, (Shape{1, 1, 1000}));
  // 10 residual adds in MobileNetV2.
  int adds = 0;
  for (const auto& l : g.layers) adds += l.op == &op("add");
  EXPECT_EQ(adds, 10);
}

TEST(NetGraph, MobileNetV2035At144) {
  const LoadedArch a = load("mbv2-w0.35-r144.yaml");
  const NetGraph g = lower(a.space, a.arch);
  // Stem rounds 32*0.35=11.2 up to 16; the head stays 1280 below width 1.
  EXPECT_EQ(g.layers.front().out, (Shape{72, 72, 16}));
  EXPECT_EQ(g.layers[g.layers.size() - 3].out.c, 1280);
  EXPECT_EQ(g.macs(), 26660752);
  EXPECT_EQ(g.params(), 1670088);
  // At 224 it is the published MobileNetV2-0.35: 59M MACs, 1.7M parameters.
  LoadedArch at224 = a;
  at224.arch.resolution = 224;
  EXPECT_NEAR(lower(a.space, at224.arch).macs() / 59e6, 1.0, 0.01);
}

TEST(NetGraph, TensorsAreWiredInOrder) {
  const LoadedArch a = load("fmnist-mid.yaml");
  const NetGraph g = lower(a.space, a.arch);
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    for (int k = 0; k < l.num_inputs(); ++k) {
      const TensorInfo& t = g.tensors[l.inputs[k]];
      EXPECT_LT(t.producer, static_cast<int>(i));
      EXPECT_GE(t.last_consumer, static_cast<int>(i));
    }
    EXPECT_EQ(g.tensors[l.output].producer, static_cast<int>(i));
    if (l.op == &op("add")) {
      EXPECT_EQ(g.tensors[l.inputs[0]].shape, g.tensors[l.inputs[1]].shape);
    }
  }
  EXPECT_EQ(g.tensors[g.output].last_consumer, -1);
}

TEST(NetGraph, PatchStageEndsAfterSplitBlocks) {
  LoadedArch a = load("mbv2-w1.0-r224.yaml");
  a.arch.patch = {4, 6};
  const NetGraph g = lower(a.space, a.arch);
  const int end = g.patch_stage_end();
  ASSERT_GT(end, 0);
  EXPECT_EQ(g.layers[end - 1].block, 5);
  EXPECT_EQ(g.layers[end].block, 6);
  // The patch stage ends at the 8x-downsampled point: 28x28.
  EXPECT_EQ(g.layers[end - 1].out.h, 28);
}


// A space with a native non-square input (a 49 x 10 MFCC map): resolutions scale its height and
// keep the aspect; every layer keeps H and W apart.
TEST(NetGraph, NonSquareInputKeepsHeightAndWidthApart) {
  const std::string yaml =
      "name: kws\ninput_channels: 1\ninput_size: [49, 10]\nnum_classes: 12\n"
      "stem: {channels: 16, kernel: 3, stride: 2}\n"
      "stages:\n  - {channels: 16, stride: 1}\n  - {channels: 24, stride: 2}\n"
      "kernel_sizes: [3, 5]\nexpand_ratios: [1, 2]\ndepths: [1, 2]\n"
      "width_multipliers: [1.0]\nresolutions: [25, 49]\n";
  const SearchSpace space = SearchSpace::from_config(ConfigNode::parse(yaml, "kws.yaml"));
  EXPECT_EQ(space.input_shape(49), (Shape{49, 10, 1}));
  EXPECT_EQ(space.input_shape(25), (Shape{25, 5, 1}));  // 25 * 10 / 49 = 5.1
  EXPECT_EQ(SearchSpace::from_config(ConfigNode::parse(space.to_yaml(), "again.yaml")).input_shape(49),
            (Shape{49, 10, 1}));
  const NetGraph g = lower(space, ArchSpec::largest(space));
  EXPECT_EQ(g.tensors[g.input].shape, (Shape{49, 10, 1}));
  EXPECT_EQ(g.layers.front().out, (Shape{25, 5, 16}));  // stem stride 2: ceil(49/2) x ceil(10/2)
  const Layer* last_dw = nullptr;
  for (const Layer& l : g.layers) {
    if (l.op == &op("depthwise")) last_dw = &l;
  }
  ASSERT_NE(last_dw, nullptr);
  EXPECT_EQ(last_dw->out.h, 13);
  EXPECT_EQ(last_dw->out.w, 3);
  // MACs of the stem: every output pixel of the 25 x 5 map, 3 x 3 x 1 taps, 16 channels.
  EXPECT_EQ(g.layers.front().macs, 25 * 5 * 9 * 16);
  EXPECT_EQ(g.tensors[g.output].shape, (Shape{1, 1, 12}));
  // A square space is unchanged by the new key's absence.
  const SearchSpace square = SearchSpace::load(kRoot + "/configs/spaces/tiny.yaml");
  EXPECT_EQ(square.input_shape(28), (Shape{28, 28, 1}));
  EXPECT_EQ(square.to_yaml().find("input_size"), std::string::npos);
  std::string bad = yaml;
  bad.replace(bad.find("[49, 10]"), 8, "[49]");
  EXPECT_THROW(SearchSpace::from_config(ConfigNode::parse(bad, "bad.yaml")), ConfigError);
}

// An even, non-square stem: TensorFlow SAME padding, the extra row at the bottom.
TEST(NetGraph, EvenStemKernelPadsAsTensorFlowSame) {
  const std::string yaml =
      "name: kws\ninput_channels: 1\ninput_size: [49, 10]\nnum_classes: 12\n"
      "stem: {channels: 16, kernel: [10, 4], stride: 2}\n"
      "stages:\n  - {channels: 16, stride: 1}\n"
      "kernel_sizes: [3]\nexpand_ratios: [1]\ndepths: [1]\n"
      "width_multipliers: [1.0]\nresolutions: [25, 49]\n";
  const SearchSpace space = SearchSpace::from_config(ConfigNode::parse(yaml, "kws.yaml"));
  ArchSpec a = ArchSpec::largest(space);
  const NetGraph g = lower(space, a);
  const Layer& stem = g.layers.front();
  EXPECT_EQ(stem.in, (Shape{49, 10, 1}));
  EXPECT_EQ(stem.kh, 10);
  EXPECT_EQ(stem.kw, 4);
  EXPECT_EQ(stem.out, (Shape{25, 5, 16}));
  // Rows: out 25, total (25 - 1) * 2 + 10 - 49 = 9 -> 4 above, 5 below; columns: out 5, total
  // (5 - 1) * 2 + 4 - 10 = 2 -> 1 and 1.
  EXPECT_EQ(stem.pad_top, 4);
  EXPECT_EQ(stem.pad_left, 1);
  EXPECT_EQ(stem.pad_bottom, 5);
  EXPECT_EQ(stem.pad_right, 1);
  EXPECT_EQ(stem.macs, 25 * 5 * 16 * 40);
  EXPECT_EQ(stem.weights, 16 * 40);
  // The pads follow the input: at resolution 25 (25 x 5), rows total (13 - 1) * 2 + 10 - 25 = 9,
  // columns (3 - 1) * 2 + 4 - 5 = 3 -> 1 left, 2 right.
  a.resolution = 25;
  const Layer small = lower(space, a).layers.front();
  EXPECT_EQ(small.out, (Shape{13, 3, 16}));
  EXPECT_EQ(small.pad_top, 4);
  EXPECT_EQ(small.pad_bottom, 5);
  EXPECT_EQ(small.pad_left, 1);
  EXPECT_EQ(small.pad_right, 2);
  // The odd 3x3 depthwise after it keeps symmetric k/2 pads.
  EXPECT_EQ(g.layers[1].op, &op("depthwise"));
  EXPECT_EQ(g.layers[1].pad_top, 1);
  EXPECT_EQ(g.layers[1].pad_bottom, 1);
}

// MLPerf Tiny's DS-CNN (configs/spaces/kws-dscnn.yaml): the layers, shapes and costs of its
// definition, computed here by hand.
TEST(NetGraph, DsCnnMatchesItsDefinition) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/kws-dscnn.yaml");
  const ArchSpec a = ArchSpec::largest(space);
  EXPECT_EQ(a, ArchSpec::smallest(space));  // a space of one member
  EXPECT_EQ(load("kws-dscnn.yaml").arch, a);  // configs/archs/kws-dscnn.yaml
  const NetGraph g = lower(space, a);
  // The MFCC front end (1 s of 16 kHz int16 samples -> 49 x 10 int8), stem, 4 x (depthwise,
  // pointwise), pool, fc: no residual add.
  ASSERT_EQ(g.layers.size(), 12u);
  EXPECT_EQ(g.layers[0].op, &op("mfcc"));
  EXPECT_EQ(g.tensors[g.input].bytes(), 32000);
  EXPECT_EQ(g.layers[0].out, (Shape{49, 10, 1}));
  EXPECT_EQ(g.layers[0].out_scale, 0.6f);
  EXPECT_EQ(g.layers[0].out_zero_point, 83);
  EXPECT_EQ(g.layers[1].op, &op("conv"));
  EXPECT_EQ(g.layers[1].in, (Shape{49, 10, 1}));
  EXPECT_EQ(g.layers[1].out, (Shape{25, 5, 64}));
  for (int b = 0; b < 4; ++b) {
    const Layer& dw = g.layers[2 + 2 * b];
    const Layer& pw = g.layers[3 + 2 * b];
    EXPECT_EQ(dw.op, &op("depthwise"));
    EXPECT_EQ(dw.kh, 3);
    EXPECT_EQ(dw.stride, 1);
    EXPECT_TRUE(dw.relu6);
    EXPECT_EQ(dw.out, (Shape{25, 5, 64}));
    EXPECT_EQ(pw.op, &op("pointwise"));
    EXPECT_EQ(pw.out, (Shape{25, 5, 64}));
    EXPECT_TRUE(pw.relu6) << "a separable block's pointwise conv is activated";
    EXPECT_EQ(pw.inputs[0], dw.output);
    EXPECT_EQ(dw.inputs[0], g.layers[1 + 2 * b].output);  // the previous block's output, no add
  }
  for (const Layer& l : g.layers) EXPECT_NE(l.op, &op("add")) << l.name();
  EXPECT_EQ(g.layers[10].op, &op("avgpool"));
  EXPECT_EQ(g.layers[11].op, &op("fc"));
  EXPECT_EQ(g.tensors[g.output].shape, (Shape{1, 1, 12}));

  // By hand, batch norm folded into one bias per channel; 25 x 5 = 125 pixels after the stem.
  const int64_t stem_macs = 125 * 64 * (10 * 4 * 1), stem_params = 64 * 10 * 4 + 64;
  const int64_t dw_macs = 125 * 64 * 9, dw_params = 64 * 9 + 64;
  const int64_t pw_macs = 125 * 64 * 64, pw_params = 64 * 64 + 64;
  const int64_t fc_macs = 64 * 12, fc_params = 64 * 12 + 12;
  EXPECT_EQ(stem_macs + 4 * (dw_macs + pw_macs) + fc_macs, 2656768);
  EXPECT_EQ(stem_params + 4 * (dw_params + pw_params) + fc_params, 22604);
  EXPECT_EQ(g.macs(), stem_macs + 4 * (dw_macs + pw_macs) + fc_macs);
  EXPECT_EQ(g.params(), stem_params + 4 * (dw_params + pw_params) + fc_params);  // front end: none
}

}  // namespace
}  // namespace tinynas

namespace tinynas {
namespace {

// A skipped stage takes its stride and channel change with it: the next block reads the output
// of the stage before, at that stage's resolution.
TEST(NetGraph, SkippedStageLeavesNoLayerAndNoStride) {
  const SearchSpace s = SearchSpace::from_config(ConfigNode::parse(
      "name: t\ninput_channels: 1\nnum_classes: 4\nstem: {channels: 16, kernel: 3, stride: 2}\n"
      "stages:\n  - {channels: 8, stride: 1}\n  - {channels: 32, stride: 2, depths: [0, 1]}\n"
      "  - {channels: 24, stride: 2, depths: [0, 1]}\n"
      "kernel_sizes: [3]\nexpand_ratios: [1]\ndepths: [1]\nwidth_multipliers: [1.0]\nresolutions: [16]\n",
      "s.yaml"));
  ArchSpec a = ArchSpec::largest(s);
  a.stages[1].clear();
  const NetGraph g = lower(s, a);
  EXPECT_EQ(g.num_blocks, 2);
  const Layer* first_of_stage2 = nullptr;
  for (const Layer& l : g.layers) {
    EXPECT_NE(l.stage, 1) << l.name();
    if (l.stage == 2 && !first_of_stage2) first_of_stage2 = &l;
  }
  ASSERT_NE(first_of_stage2, nullptr);
  EXPECT_EQ(first_of_stage2->in.c, 8);  // stage 0's output
  EXPECT_EQ(first_of_stage2->in.h, 8);  // after the stem's stride only
  EXPECT_EQ(g.layers.back().in.c, 24);
  a.stages[2].clear();
  EXPECT_EQ(lower(s, a).layers.back().in.c, 8);  // the classifier reads stage 0
}

}  // namespace
}  // namespace tinynas
