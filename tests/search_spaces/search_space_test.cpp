// The space file's stem kernel (an int, or [height, width]): what is accepted, what is refused
// with the file and key named, the YAML round trip, and a fingerprint that stays what the shipped
// checkpoints were verified with for spaces that do not use it.
#include "search_spaces/search_space.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace tinynas
