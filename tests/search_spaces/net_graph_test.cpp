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

}  // namespace
}  // namespace tinynas
