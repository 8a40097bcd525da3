#include "search_spaces/config_node.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/config_error.h"

#include "search_spaces/search_space.h"

namespace tinynas {
namespace {

using ::testing::HasSubstr;

TEST(ConfigNode, MissingFileNamesThePath) {
  EXPECT_EQ(error_of([] { ConfigNode::load_file("/nonexistent/x.yaml"); }),
            "/nonexistent/x.yaml: file not found");
}

TEST(ConfigNode, ParseErrorNamesFileAndLine) {
  EXPECT_THAT(error_of([] { ConfigNode::parse("a: 1\nb: [1, 2\n", "c.yaml"); }),
              HasSubstr("c.yaml: not valid YAML at line"));
}

TEST(ConfigNode, WrongTypeNamesKeyPathAndLine) {
  const ConfigNode n = ConfigNode::parse("train:\n  lr: fast\n", "c.yaml");
  EXPECT_EQ(error_of([&] { n.at("train").at("lr").as_double(0, 1); }),
            "c.yaml: train.lr: expected a number, got 'fast' (line 2)");
}

TEST(ConfigNode, OutOfRange) {
  const ConfigNode n = ConfigNode::parse("search:\n  population: 0\n", "c.yaml");
  EXPECT_EQ(error_of([&] { n.at("search").at("population").as_int(2, 100000); }),
            "c.yaml: search.population: expected an integer in [2, 100000], got 0 (line 2)");
}

TEST(ConfigNode, MissingRequiredKey) {
  const ConfigNode n = ConfigNode::parse("train:\n  lr: 0.1\n", "c.yaml");
  EXPECT_THAT(error_of([&] { n.at("train").at("epochs"); }),
              HasSubstr("c.yaml: train.epochs: missing required key"));
}

TEST(ConfigNode, UnknownKeySuggestsTheNearest) {
  const ConfigNode n = ConfigNode::parse("train:\n  lerning_rate: 0.1\n  epocs: 3\n", "c.yaml");
  EXPECT_EQ(error_of([&] { n.at("train").check_keys({"epochs", "learning_rate"}); }),
            "c.yaml: train.lerning_rate: unknown key (did you mean 'learning_rate'?) (line 2)");
  const ConfigNode m = ConfigNode::parse("zzzzzz: 1\n", "d.yaml");
  EXPECT_EQ(error_of([&] { m.check_keys({"epochs", "lr"}); }),
            "d.yaml: zzzzzz: unknown key; expected one of: epochs, lr (line 1)");
}

TEST(ConfigNode, ChoiceAndBool) {
  const ConfigNode n = ConfigNode::parse("opt: sgdd\nflag: maybe\n", "c.yaml");
  EXPECT_EQ(error_of([&] { n.at("opt").as_choice({"sgd", "adamw"}); }),
            "c.yaml: opt: expected one of sgd, adamw, got 'sgdd' (line 1)");
  EXPECT_EQ(error_of([&] { n.at("flag").as_bool(); }),
            "c.yaml: flag: expected true or false, got 'maybe' (line 2)");
}

TEST(ConfigNode, RelativePathsResolveAgainstTheFile) {
  const ConfigNode n = ConfigNode::parse("mcu: mcus/a.yaml\nabs: /x/y\n", "configs/main.yaml");
  EXPECT_EQ(n.at("mcu").as_path(), "configs/mcus/a.yaml");
  EXPECT_EQ(n.at("abs").as_path(), "/x/y");
}

TEST(ConfigNode, EditDistance) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

TEST(SearchSpace, RejectsBadSpaces) {
  const char* base =
      "name: t\ninput_channels: 1\nnum_classes: 10\nstem: {channels: 16}\n"
      "stages: [{channels: 16, stride: 2}]\nkernel_sizes: [3, 5]\nexpand_ratios: [3]\n"
      "depths: [1, 2]\nwidth_multipliers: [1.0]\nresolutions: [28]\n";
  EXPECT_NO_THROW(SearchSpace::from_config(ConfigNode::parse(base, "s.yaml")));
  EXPECT_THAT(error_of([&] {
                SearchSpace::from_config(
                    ConfigNode::parse(std::string(base) + "kernel_size: [3]\n", "s.yaml"));
              }),
              HasSubstr("s.yaml: kernel_size: unknown key (did you mean 'kernel_sizes'?)"));
  std::string even = base;
  even.replace(even.find("[3, 5]"), 6, "[3, 4]");
  EXPECT_THAT(error_of([&] { SearchSpace::from_config(ConfigNode::parse(even, "s.yaml")); }),
              HasSubstr("s.yaml: kernel_sizes: kernel sizes must be odd, got 4"));
  std::string stride = base;
  stride.replace(stride.find("stride: 2"), 9, "stride: 3");
  EXPECT_THAT(error_of([&] { SearchSpace::from_config(ConfigNode::parse(stride, "s.yaml")); }),
              HasSubstr("s.yaml: stages[0].stride: expected an integer in [1, 2], got 3"));
}

TEST(SearchSpace, MakeDivisibleMatchesMobileNetV2) {
  EXPECT_EQ(make_divisible(32 * 0.35), 16);  // 11.2 -> 8 is >10% under, so 16
  EXPECT_EQ(make_divisible(24 * 0.5), 16);   // 12 rounds half up
  EXPECT_EQ(make_divisible(32 * 0.75), 24);
  EXPECT_EQ(make_divisible(320 * 1.4), 448);
  EXPECT_EQ(make_divisible(1280 * 1.4), 1792);
  EXPECT_EQ(make_divisible(3), 8);
}

}  // namespace
}  // namespace tinynas
