// Autoencoder spaces (output: reconstruction): dense stages, and convolutional ones that
// upsample back to the input's size. What the space file accepts and refuses (file and key
// named), the lowering's layers, shapes and costs, and MLPerf Tiny's anomaly-detection
// autoencoder as a member with its published size.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "search_spaces/arch_spec.h"
#include "search_spaces/net_graph.h"
#include "search_spaces/search_space.h"
#include "tests/config_error.h"

namespace tinynas {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kRoot = TINYNAS_SOURCE_DIR;

// An image autoencoder over 4 x 6 x 2 inputs: encoder (8 or 16 per layer, 1-2 layers),
// bottleneck (4 or 8), decoder (1 layer of 8 or 16).
std::string ae_yaml(const std::string& extra = "", const std::string& first_stage =
                        "{channels: 8, block: dense, depths: [1, 2], expand_ratios: [1, 2]}") {
  return "name: ae\ninput_channels: 2\ninput_size: [4, 6]\noutput: reconstruction\n"
         "stages:\n  - " + first_stage + "\n"
         "  - {channels: 4, block: dense, depths: [1], expand_ratios: [1, 2]}\n"
         "  - {channels: 8, block: dense, depths: [1], expand_ratios: [1, 2]}\n"
         "kernel_sizes: [1]\nexpand_ratios: [1]\ndepths: [1]\nchannel_divisor: 4\n"
         "width_multipliers: [1.0]\nresolutions: [4]\n" + extra;
}

SearchSpace parse(const std::string& yaml) {
  return SearchSpace::from_config(ConfigNode::parse(yaml, "ae.yaml"));
}

std::string error(const std::string& yaml) {
  return error_of([&] { parse(yaml); });
}

TEST(DenseSpace, ParsesAndRoundTrips) {
  const SearchSpace s = parse(ae_yaml());
  EXPECT_EQ(s.output, OutputKind::Reconstruction);
  EXPECT_EQ(s.num_classes, 0);
  EXPECT_EQ(s.stem_channels, 0);
  EXPECT_EQ(s.stages[0].block, BlockKind::Dense);
  EXPECT_EQ(s.input_elements(), 4 * 6 * 2);
  EXPECT_EQ(s.dense_width(0, 1.0, 2), 16);
  EXPECT_EQ(s.stage_max_width(1, 1.0), 8);
  // The first dense layer reads the whole input, later ones the widest layer before them.
  EXPECT_EQ(s.max_stage_input(0, 1.0), 48);
  EXPECT_EQ(s.max_stage_input(1, 1.0), 16);
  const SearchSpace again = SearchSpace::from_config(ConfigNode::parse(s.to_yaml(), "again.yaml"));
  EXPECT_EQ(again.fingerprint(), s.fingerprint());
  EXPECT_EQ(again.to_yaml(), s.to_yaml());
  EXPECT_THAT(s.to_yaml(), HasSubstr("output: reconstruction"));
  EXPECT_THAT(s.to_yaml(), Not(HasSubstr("stem:")));
  // A different output is a different network: the fingerprint says so.
  const std::string classifier = ae_yaml();
  EXPECT_NE(parse(ae_yaml()).fingerprint(),
            SearchSpace::from_config(ConfigNode::parse(
                                         [&] {
                                           std::string y = classifier;
                                           y.replace(y.find("output: reconstruction"), 22,
                                                     "num_classes: 3");
                                           return y;
                                         }(),
                                         "c.yaml"))
                .fingerprint());
}

TEST(DenseSpace, RefusesWhatItCannotBuild) {
  EXPECT_THAT(error(ae_yaml("stem: {channels: 8}\n")), AllOf(HasSubstr("ae.yaml"), HasSubstr("stem"), HasSubstr("has no stem")));
  EXPECT_THAT(error(ae_yaml("", "{channels: 8, block: dense, depths: [1], kernel_sizes: [3]}")), AllOf(HasSubstr("ae.yaml"), HasSubstr("kernel_sizes"), HasSubstr("a dense block has no window")));
  EXPECT_THAT(error(ae_yaml("", "{channels: 8, block: dense, depths: [1], stride: 2}")), AllOf(HasSubstr("ae.yaml"), HasSubstr("stride"), HasSubstr("no stride")));
  // A dense stage after a convolutional one would read a flattened map the supernet does not
  // size for; a convolutional network needs its stem.
  EXPECT_THAT(error(ae_yaml("stem: {channels: 8}\n", "{channels: 8, stride: 1, kernel_sizes: [3]}")),
              HasSubstr("a dense stage is the first stage or follows a dense one"));
  EXPECT_THAT(error("name: c\ninput_channels: 1\nnum_classes: 3\nstages:\n  - {channels: 8}\n"
                    "kernel_sizes: [3]\nexpand_ratios: [1]\ndepths: [1]\n"
                    "width_multipliers: [1.0]\nresolutions: [8]\n"),
              AllOf(HasSubstr("ae.yaml"), HasSubstr("missing key 'stem'")));
  EXPECT_THAT(error(ae_yaml("num_classes: 3\n")), AllOf(HasSubstr("ae.yaml"), HasSubstr("num_classes")));
  std::string two_res = ae_yaml();
  two_res.replace(two_res.find("resolutions: [4]"), 16, "resolutions: [4, 8]");
  EXPECT_THAT(error(two_res), AllOf(HasSubstr("ae.yaml"), HasSubstr("resolutions"), HasSubstr("one resolution")));
  // A convolutional stage after a dense one has no spatial input.
  std::string conv_after = ae_yaml();
  const std::string last = "{channels: 8, block: dense, depths: [1], expand_ratios: [1, 2]}";
  conv_after.replace(conv_after.rfind(last), last.size(), "{channels: 8, depths: [1], kernel_sizes: [3]}");
  EXPECT_THAT(error(conv_after), AllOf(HasSubstr("ae.yaml"), HasSubstr("only dense stages follow a dense stage")));
  // The reconstruction follows a dense stage that is always there.
  std::string optional_last = ae_yaml();
  optional_last.replace(optional_last.rfind(last), last.size(), "{channels: 8, block: dense, depths: [0, 1], expand_ratios: [1, 2]}");
  EXPECT_THAT(error(optional_last), AllOf(HasSubstr("ae.yaml"), HasSubstr("output"), HasSubstr("depth >= 1")));
}

TEST(DenseSpace, LowersToDenseLayersAReconstructionAndItsError) {
  const SearchSpace s = parse(ae_yaml());
  ArchSpec a;
  a.resolution = 4;
  a.width = 1.0;
  a.stages = {{{1, 2}, {1, 1}}, {{1, 1}}, {{1, 2}}};
  a.validate(s);
  EXPECT_EQ(a.to_string(), "r4 w1.0 | 1e2 1e1 | 1e1 | 1e2");
  const NetGraph g = lower(s, a);
  ASSERT_EQ(g.layers.size(), 6u);
  const int widths[] = {16, 8, 4, 16, 48};
  for (int i = 0; i < 5; ++i) {
    const Layer& l = g.layers[i];
    EXPECT_STREQ(l.op->name(), "fc") << i;
    EXPECT_EQ(l.role, i < 4 ? LayerRole::Dense : LayerRole::Reconstruction) << i;
    EXPECT_EQ(l.relu6, i < 4) << i;
    EXPECT_EQ(l.out, (Shape{1, 1, widths[i]})) << i;
    EXPECT_EQ(l.block, i < 4 ? i : 4) << i;
  }
  // The first layer reads the 4 x 6 x 2 input flattened; MACs and weights count all 48 values.
  EXPECT_EQ(g.layers[0].in, (Shape{4, 6, 2}));
  EXPECT_EQ(g.layers[0].macs, 48 * 16);
  EXPECT_EQ(g.layers[0].biases, 16);
  EXPECT_EQ(g.macs(), 48 * 16 + 16 * 8 + 8 * 4 + 4 * 16 + 16 * 48);
  // The error reads the reconstruction and the input, which therefore lives to the end; its one
  // output is an int32 score.
  const Layer& err = g.layers[5];
  EXPECT_STREQ(err.op->name(), "mse");
  EXPECT_EQ(err.role, LayerRole::Error);
  EXPECT_EQ(err.inputs[0], g.layers[4].output);
  EXPECT_EQ(err.inputs[1], g.input);
  EXPECT_EQ(g.tensors[g.input].last_consumer, 5);
  EXPECT_EQ(g.output, err.output);
  EXPECT_EQ(g.tensors[g.output].element_bytes, 4);
  EXPECT_EQ(g.tensors[g.output].shape.elements(), 1);
}

TEST(DenseSpace, MlperfAutoencoderIsAMemberOfTheMachineSpace) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/ae-machine.yaml");
  const LoadedArch m = load_arch_file(kRoot + "/configs/archs/ae-mlperf.yaml", space);
  const NetGraph g = lower(m.space, m.arch);
  // 640-128-128-128-128-8-128-128-128-128-640 after the log-mel front end, then the error.
  ASSERT_EQ(g.layers.size(), 1u + 10u + 1u);
  EXPECT_STREQ(g.layers[0].op->name(), "logmel");
  EXPECT_EQ(g.layers[0].out, (Shape{5, 128, 1}));
  const int widths[] = {128, 128, 128, 128, 8, 128, 128, 128, 128, 640};
  int64_t macs = 0;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(g.layers[1 + i].out.c, widths[i]) << i;
    macs += g.layers[1 + i].macs;
  }
  // MLPerf Tiny's ToyCar autoencoder: 264,192 weights (and MACs); 1,672 biases once its batch
  // norms are folded into the dense layers.
  EXPECT_EQ(macs, 264192);
  EXPECT_EQ(g.weight_count(), 264192);
  EXPECT_EQ(g.bias_count(), 128 * 8 + 8 + 640);
  EXPECT_EQ(g.layers.back().inputs[1], g.layers[0].output);
  // The largest and smallest members bracket it.
  EXPECT_GT(lower(space, ArchSpec::largest(space)).macs(), macs);
  EXPECT_LT(lower(space, ArchSpec::smallest(space)).macs(), macs);
}

// A convolutional autoencoder on 8 x 8 x 1: stem /2, a /2 stage, then two stages upsampling x2.
std::string conv_ae_yaml(const std::string& encoder_depths = "[1, 2]",
                         const std::string& decoder_up = "2") {
  return "name: cae\ninput_channels: 1\noutput: reconstruction\n"
         "stem: {channels: 8, kernel: 3, stride: 2}\nstages:\n"
         "  - {channels: 8, stride: 2, depths: " + encoder_depths + "}\n"
         "  - {channels: 8, upsample: " + decoder_up + ", depths: [1, 2]}\n"
         "  - {channels: 4, upsample: 2, depths: [1]}\n"
         "kernel_sizes: [3]\nexpand_ratios: [1, 2]\ndepths: [1]\n"
         "width_multipliers: [1.0]\nresolutions: [8, 16]\n";
}

TEST(ConvAutoencoderSpace, UpsamplesBackToTheInputAndRoundTrips) {
  const SearchSpace s = parse(conv_ae_yaml());
  EXPECT_EQ(s.stages[1].upsample, 2);
  const SearchSpace again = SearchSpace::from_config(ConfigNode::parse(s.to_yaml(), "again.yaml"));
  EXPECT_EQ(again.fingerprint(), s.fingerprint());
  EXPECT_THAT(s.to_yaml(), HasSubstr("upsample: 2"));
  for (int r : {8, 16}) {
    ArchSpec a = ArchSpec::largest(s);
    a.resolution = r;
    const NetGraph g = lower(s, a);
    // stem 3x3/2, block (expand, dw/2, project), upsample, 2 blocks, upsample, 1 block, the 3x3
    // output conv, the error.
    const Layer& recon = g.layers[g.layers.size() - 2];
    EXPECT_EQ(recon.role, LayerRole::Reconstruction);
    EXPECT_STREQ(recon.op->name(), "conv");
    EXPECT_EQ(recon.kh, 3);
    EXPECT_FALSE(recon.relu6);
    EXPECT_EQ(recon.out, (Shape{r, r, 1}));
    int ups = 0;
    for (const Layer& l : g.layers) {
      if (l.role != LayerRole::Upsample) continue;
      ++ups;
      EXPECT_STREQ(l.op->name(), "upsample");
      EXPECT_EQ(l.out.h, 2 * l.in.h);
      EXPECT_EQ(l.out.w, 2 * l.in.w);
      EXPECT_EQ(l.out.c, l.in.c);
    }
    EXPECT_EQ(ups, 2);
    EXPECT_EQ(g.layers.back().role, LayerRole::Error);
    EXPECT_EQ(g.layers.back().inputs[1], g.input);
  }
}

TEST(ConvAutoencoderSpace, RefusesSizesItCannotRebuild) {
  EXPECT_THAT(error(conv_ae_yaml("[1, 2]", "1")),
              AllOf(HasSubstr("ae.yaml"), HasSubstr("stride by 4 in all, the stages upsample by 2")));
  EXPECT_THAT(error(conv_ae_yaml("[0, 1]")), HasSubstr("cannot be optional"));
  std::string odd = conv_ae_yaml();
  odd.replace(odd.find("resolutions: [8, 16]"), 20, "resolutions: [10]");
  EXPECT_THAT(error(odd), AllOf(HasSubstr("resolutions"), HasSubstr("not divisible by the network's stride 4")));
  std::string both = conv_ae_yaml();
  both.replace(both.find("{channels: 8, upsample: 2"), 25, "{channels: 8, stride: 2, upsample: 2");
  EXPECT_THAT(error(both), HasSubstr("upsamples or strides, not both"));
  // A classifier does not upsample.
  std::string classifier = conv_ae_yaml();
  classifier.replace(classifier.find("output: reconstruction"), 22, "num_classes: 3");
  EXPECT_THAT(error(classifier), HasSubstr("upsampling belongs to an autoencoder"));
}

TEST(ConvAutoencoderSpace, FashionMnistSpaceLowersEveryExtreme) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/ae-fmnist.yaml");
  for (const ArchSpec& a : {ArchSpec::largest(space), ArchSpec::smallest(space)}) {
    const NetGraph g = lower(space, a);
    EXPECT_EQ(g.layers[g.layers.size() - 2].out, (Shape{28, 28, 1})) << a.to_string();
    EXPECT_EQ(g.tensors[g.output].element_bytes, 4);
  }
}

}  // namespace
}  // namespace tinynas
