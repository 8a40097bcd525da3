// The space file's stem kernel (an int, or [height, width]) and stage block kinds: what is
// accepted, what is refused with the file and key named, the YAML round trip, and a fingerprint
// that stays what the shipped checkpoints were verified with for spaces that use neither.
#include "search_spaces/search_space.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "search_spaces/arch_spec.h"
#include "tests/config_error.h"

namespace tinynas {
namespace {

using ::testing::HasSubstr;

const std::string kRoot = TINYNAS_SOURCE_DIR;

// A small space with a given stem line and stage line.
std::string space_yaml(const std::string& stem, const std::string& stage) {
  return "name: t\ninput_channels: 1\ninput_size: [49, 10]\nnum_classes: 12\n"
         "stem: " + stem + "\nstages:\n  - " + stage + "\n"
         "kernel_sizes: [3]\nexpand_ratios: [1, 2]\ndepths: [1, 2]\n"
         "width_multipliers: [0.5, 1.0]\nresolutions: [49]\n";
}

SearchSpace parse(const std::string& yaml) {
  return SearchSpace::from_config(ConfigNode::parse(yaml, "s.yaml"));
}

SearchSpace round_trip(const SearchSpace& s) {
  return SearchSpace::from_config(ConfigNode::parse(s.to_yaml(), "again.yaml"));
}

TEST(SearchSpace, FingerprintOfTheShippedSpacesIsUnchanged) {
  // models/fmnist-supernet.json and models/fmnist-rf-supernet.json: the checkpoints' spaces.
  auto hex = [](uint64_t v) {
    char b[17];
    std::snprintf(b, sizeof(b), "%016llx", static_cast<unsigned long long>(v));
    return std::string(b);
  };
  EXPECT_EQ(hex(SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml").fingerprint()),
            "9e16f739385a12f2");
  EXPECT_EQ(hex(SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2-rf.yaml").fingerprint()),
            "98155923182c76c4");
}

TEST(SearchSpace, StemKernelIsAnIntOrHeightAndWidth) {
  const std::string stage = "{channels: 16, stride: 1}";
  const SearchSpace square = parse(space_yaml("{channels: 8, kernel: 5, stride: 2}", stage));
  EXPECT_EQ(square.stem_kernel_h, 5);
  EXPECT_EQ(square.stem_kernel_w, 5);
  EXPECT_THAT(square.to_yaml(), HasSubstr("stem: {channels: 8, kernel: 5, stride: 2}"));
  const SearchSpace also_square = parse(space_yaml("{channels: 8, kernel: [5, 5], stride: 2}", stage));
  EXPECT_EQ(also_square.fingerprint(), square.fingerprint());

  const SearchSpace dscnn = parse(space_yaml("{channels: 8, kernel: [10, 4], stride: 2}", stage));
  EXPECT_EQ(dscnn.stem_kernel_h, 10);
  EXPECT_EQ(dscnn.stem_kernel_w, 4);
  EXPECT_THAT(dscnn.to_yaml(), HasSubstr("stem: {channels: 8, kernel: [10, 4], stride: 2}"));
  const SearchSpace back = round_trip(dscnn);
  EXPECT_EQ(back.stem_kernel_h, 10);
  EXPECT_EQ(back.stem_kernel_w, 4);
  EXPECT_EQ(back.fingerprint(), dscnn.fingerprint());
  // The stem's weights change shape: so does the fingerprint, for either axis.
  EXPECT_NE(dscnn.fingerprint(), parse(space_yaml("{channels: 8, kernel: 10, stride: 2}", stage)).fingerprint());
  EXPECT_NE(dscnn.fingerprint(), parse(space_yaml("{channels: 8, kernel: [10, 5], stride: 2}", stage)).fingerprint());
  // Even square kernels are allowed now (TF SAME padding).
  EXPECT_EQ(parse(space_yaml("{channels: 8, kernel: 4, stride: 2}", stage)).stem_kernel_h, 4);

  EXPECT_THAT(error_of([&] { parse(space_yaml("{channels: 8, kernel: [10], stride: 2}", stage)); }),
              HasSubstr("s.yaml: stem.kernel: expected a kernel size or [height, width]"));
  EXPECT_THAT(error_of([&] { parse(space_yaml("{channels: 8, kernel: [10, 4, 1], stride: 2}", stage)); }),
              HasSubstr("s.yaml: stem.kernel: expected a kernel size or [height, width]"));
  EXPECT_THAT(error_of([&] { parse(space_yaml("{channels: 8, kernel: [0, 4], stride: 2}", stage)); }),
              HasSubstr("s.yaml: stem.kernel"));
  EXPECT_THAT(error_of([&] { parse(space_yaml("{channels: 8, kernel: 12, stride: 2}", stage)); }),
              HasSubstr("s.yaml: stem.kernel"));
}

TEST(SearchSpace, SeparableStagesHaveExpandRatioOne) {
  const std::string stem = "{channels: 8, kernel: 3, stride: 2}";
  const SearchSpace s =
      parse(space_yaml(stem, "{channels: 16, stride: 1, block: separable, expand_ratios: [1]}"));
  EXPECT_EQ(s.stages[0].block, BlockKind::Separable);
  EXPECT_THAT(s.to_yaml(), HasSubstr("block: separable"));
  const SearchSpace back = round_trip(s);
  EXPECT_EQ(back.stages[0].block, BlockKind::Separable);
  EXPECT_EQ(back.fingerprint(), s.fingerprint());

  // The default block is the inverted residual, stated or not; to_yaml() leaves it out.
  const SearchSpace ir = parse(space_yaml(stem, "{channels: 16, stride: 1, expand_ratios: [1]}"));
  EXPECT_EQ(ir.stages[0].block, BlockKind::InvertedResidual);
  EXPECT_EQ(ir.to_yaml().find("block"), std::string::npos);
  EXPECT_EQ(parse(space_yaml(stem, "{channels: 16, stride: 1, block: inverted_residual, expand_ratios: [1]}"))
                .fingerprint(),
            ir.fingerprint());
  // Same weights' shapes, another network: another fingerprint.
  EXPECT_NE(s.fingerprint(), ir.fingerprint());

  EXPECT_EQ(error_of([&] {
              parse(space_yaml(stem, "{channels: 16, stride: 1, block: separable, expand_ratios: [1, 6]}"));
            }),
            "s.yaml: stages[0].expand_ratios: expected [1]: a separable stage has expand ratio 1 "
            "only (depthwise then pointwise, no expansion), got [1, 6] (line 7)");
  // Inherited from the space's expand_ratios [1, 2]: the stage's block key is named.
  EXPECT_THAT(error_of([&] { parse(space_yaml(stem, "{channels: 16, stride: 1, block: separable}")); }),
              HasSubstr("s.yaml: stages[0].block: a separable stage has expand ratio 1 only"));
  EXPECT_THAT(error_of([&] { parse(space_yaml(stem, "{channels: 16, stride: 1, block: separble}")); }),
              HasSubstr("s.yaml: stages[0].block: expected one of inverted_residual, separable, dense, "
                        "got 'separble'"));
}

TEST(SearchSpace, KwsDsCnnSpaceFile) {
  const SearchSpace s = SearchSpace::load(kRoot + "/configs/spaces/kws-dscnn.yaml");
  EXPECT_EQ(s.name, "kws-dscnn");
  EXPECT_EQ(s.input_shape(49), (Shape{49, 10, 1}));
  EXPECT_EQ(s.num_classes, 12);
  EXPECT_EQ(s.stem_channels, 64);
  EXPECT_EQ(s.stem_kernel_h, 10);
  EXPECT_EQ(s.stem_kernel_w, 4);
  EXPECT_EQ(s.stem_stride, 2);
  ASSERT_EQ(s.stages.size(), 1u);
  EXPECT_EQ(s.stages[0].block, BlockKind::Separable);
  EXPECT_EQ(s.stages[0].depths, std::vector<int>{4});
  EXPECT_EQ(s.head_channels, 0);
  EXPECT_EQ(s.head_width(1.0), 0);
  const SearchSpace back = round_trip(s);
  EXPECT_EQ(back.fingerprint(), s.fingerprint());
  EXPECT_EQ(back.to_yaml(), s.to_yaml());
}

}  // namespace
}  // namespace tinynas

namespace tinynas {
namespace {

// A stage's own depths may include 0 (an optional stage); the space-wide depths may not.
TEST(SearchSpace, OptionalStagesAreAStagesOwnDepthZero) {
  const std::string yaml =
      "name: t\ninput_channels: 1\nnum_classes: 4\nstem: {channels: 16, kernel: 3, stride: 2}\n"
      "stages:\n  - {channels: 8, stride: 1}\n  - {channels: 32, stride: 2, depths: [0, 1]}\n"
      "  - {channels: 24, stride: 2, depths: [0, 2]}\n"
      "kernel_sizes: [3]\nexpand_ratios: [1]\ndepths: [1, 2]\nwidth_multipliers: [0.5, 1.0]\n"
      "resolutions: [16]\n";
  const SearchSpace s = parse(yaml);
  EXPECT_EQ(s.stages[1].min_depth(), 0);
  EXPECT_EQ(round_trip(s).fingerprint(), s.fingerprint());
  // What each stage's first block (and the head) can receive: past optional stages, the widest
  // of the stages it may follow.
  EXPECT_EQ(s.max_stage_input(0, 1.0), 16);  // the stem
  EXPECT_EQ(s.max_stage_input(1, 1.0), 8);
  EXPECT_EQ(s.max_stage_input(2, 1.0), 32);  // stage 1 or, skipped, stage 0
  EXPECT_EQ(s.max_stage_input(3, 1.0), 32);  // stage 2 (24), stage 1 (32) or stage 0 (8)
  EXPECT_EQ(s.max_stage_input(3, 0.5), 16);
  // The smallest subnet skips them; ArchSpec names a skipped stage with empty lists.
  const ArchSpec small = ArchSpec::smallest(s);
  EXPECT_EQ(small.to_string(), "r16 w0.5 | 3e1 | - | -");
  EXPECT_EQ(ArchSpec::from_config(ConfigNode::parse(small.to_yaml(), "a.yaml"), s), small);
  EXPECT_EQ(ArchSpec::from_json(small.to_json(), s), small);
  EXPECT_THAT(error_of([&] {
                parse("name: t\ninput_channels: 1\nnum_classes: 4\nstem: {channels: 16, kernel: 3}\n"
                      "stages:\n  - {channels: 8, stride: 1}\nkernel_sizes: [3]\nexpand_ratios: [1]\n"
                      "depths: [0, 1]\nwidth_multipliers: [1.0]\nresolutions: [16]\n");
              }),
              HasSubstr("s.yaml: depths[0]: expected an integer in [1, 16], got 0"));
  // A stage that is not optional refuses an empty list, naming it.
  ArchSpec bad = small;
  bad.stages[0].clear();
  EXPECT_THAT(error_of([&] { bad.validate(s); }),
              HasSubstr("stages[0].kernels: stage depth (list length) must be one of {1, 2}, got 0"));
}

}  // namespace
}  // namespace tinynas
