#include "nas/search/experiment.h"

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace tinynas {
namespace {

using ::testing::HasSubstr;

const std::string kRoot = TINYNAS_SOURCE_DIR;

// Writes a config next to the shipped ones so its relative paths resolve.
class ConfigFile {
 public:
  explicit ConfigFile(const std::string& text) {
    // The pid keeps parallel test processes (ctest -j) apart.
    path_ = kRoot + "/configs/_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++) + ".yaml";
    std::ofstream(path_) << text;
  }
  ~ConfigFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

std::string error_of(const std::string& text) {
  ConfigFile f(text);
  try {
    Experiment::load(f.path());
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    const auto pos = msg.find(f.path());
    if (pos != std::string::npos) msg.replace(pos, f.path().size(), "C");
    return msg;
  }
  return "(no error)";
}

const std::string kGood = "mcu: mcus/stm32f746.yaml\nspace: spaces/fmnist-mbv2.yaml\n";

TEST(Experiment, TheDefaultConfigLoads) {
  const Experiment e = Experiment::load(kRoot + "/configs/stm32f746.yaml");
  EXPECT_EQ(e.mcu.name, "stm32f746");
  EXPECT_EQ(e.mcu.sram_bytes, 320 * 1024);
  EXPECT_EQ(e.mcu.flash_bytes, 1024 * 1024);
  EXPECT_EQ(e.space.name, "fmnist-mbv2");
  EXPECT_EQ(e.search.population, 100);
  EXPECT_EQ(e.search.parents, 20);
  EXPECT_EQ(e.search.generations, 30);
  EXPECT_DOUBLE_EQ(e.search.mutation_prob, 0.1);
  EXPECT_EQ(e.data.path, "/usr/share/datasets/fashion-mnist");
}

// base: lays another config of the folder under this one, section by section.
TEST(Experiment, ABaseConfigIsLaidUnderSectionBySection) {
  const Experiment main = Experiment::load(kRoot + "/configs/stm32f746.yaml");
  const Experiment ceiling = Experiment::load(kRoot + "/configs/stm32f746-ceiling.yaml");
  EXPECT_GT(main.search.latency_limit_ms, 0);
  EXPECT_EQ(ceiling.search.latency_limit_ms, 0);
  // Everything else is the base's, paths included.
  EXPECT_EQ(ceiling.search.measure_subnets, main.search.measure_subnets);
  EXPECT_EQ(ceiling.search.random_search_runs, main.search.random_search_runs);
  EXPECT_EQ(ceiling.train.checkpoint, main.train.checkpoint);
  EXPECT_EQ(ceiling.train.epochs, main.train.epochs);
  EXPECT_EQ(ceiling.mcu.name, main.mcu.name);
  EXPECT_EQ(ceiling.space.fingerprint(), main.space.fingerprint());
  // A chain: the derived file's own keys win at each level, and bad ones are still caught.
  ConfigFile mid("base: stm32f746-ceiling.yaml\nsearch: {seed: 7}\ntrain: {epochs: 3}\n");
  const Experiment chained = Experiment::load(mid.path());
  EXPECT_EQ(chained.search.seed, 7u);
  EXPECT_EQ(chained.search.latency_limit_ms, 0);
  EXPECT_EQ(chained.train.epochs, 3);
  EXPECT_EQ(chained.train.batch_size, main.train.batch_size);
  EXPECT_THAT(error_of("base: stm32f746.yaml\nsearch: {sed: 1}\n"), HasSubstr("did you mean 'seed'"));
  EXPECT_THAT(error_of("base: mcus/stm32f746.yaml\n"), HasSubstr("same folder"));
  EXPECT_THAT(error_of("base: nope.yaml\n"), HasSubstr("nope.yaml"));
  ConfigFile self("");
  std::ofstream(self.path()) << "base: " << std::filesystem::path(self.path()).filename().string() << "\n";
  try {
    Experiment::load(self.path());
    ADD_FAILURE() << "a config that is its own base loaded";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("at most 8 base configs"));
  }
}

// The keyword-spotting experiments: the MFCC front end before the space's stem, the dataset's own
// keys, DS-CNN as the search's baseline, the tight target's latency limit.
TEST(Experiment, TheKeywordSpottingConfigsLoad) {
  for (const char* f : {"kws-stm32f746.yaml", "kws-stm32f746-half-macs.yaml", "kws-stm32l432.yaml", "kws-dscnn.yaml"}) {
    SCOPED_TRACE(f);
    const Experiment e = Experiment::load(kRoot + "/configs/" + f);
    EXPECT_EQ(e.space.front_end.kind, "mfcc");
    EXPECT_EQ(e.data.dataset, "speech-commands");
    ASSERT_TRUE(e.data.node);
    EXPECT_TRUE(e.data.node->get_bool("synthesize", false));
    EXPECT_EQ(e.export_.firmware_inputs, 48);
  }
  const Experiment l432 = Experiment::load(kRoot + "/configs/kws-stm32l432.yaml");
  EXPECT_DOUBLE_EQ(l432.search.latency_limit_ms, 100);
  EXPECT_TRUE(l432.search.retrain_winner);  // the main job exports the winner trained alone
  EXPECT_EQ(l432.search.to_json()["retrain_winner"], true);
  EXPECT_FALSE(Experiment::load(kRoot + "/configs/stm32f746.yaml").search.retrain_winner);
  EXPECT_NE(l432.search.baseline.find("archs/kws-dscnn-member.yaml"), std::string::npos);
  EXPECT_EQ(l432.search.to_json()["baseline"], l432.search.baseline);
}

TEST(Experiment, EveryMcuConfigLoads) {
  struct Want {
    const char* name;
    int64_t sram_kb, flash_kb;
    double mhz;
  };
  for (const Want& w : {Want{"stm32f412", 256, 1024, 100}, Want{"stm32f746", 320, 1024, 216},
                        Want{"stm32f765", 512, 1024, 216}, Want{"stm32h743", 512, 2048, 480},
                        Want{"nrf52840", 256, 1024, 64}}) {
    const McuSpec m = McuSpec::load(kRoot + "/configs/mcus/" + w.name + ".yaml");
    EXPECT_EQ(m.name, w.name);
    EXPECT_EQ(m.sram_bytes, w.sram_kb * 1024);
    EXPECT_EQ(m.flash_bytes, w.flash_kb * 1024);
    EXPECT_DOUBLE_EQ(m.clock_mhz, w.mhz);
    EXPECT_LT(m.sram_budget(), m.sram_bytes);
  }
}

TEST(Experiment, MisspeltSectionKey) {
  EXPECT_EQ(error_of(kGood + "serch:\n  population: 10\n"),
            "C: serch: unknown key (did you mean 'search'?) (line 3)");
}

TEST(Experiment, MisspeltNestedKey) {
  EXPECT_EQ(error_of(kGood + "search:\n  popluation: 10\n"),
            "C: search.popluation: unknown key (did you mean 'population'?) (line 4)");
}

TEST(Experiment, WrongType) {
  EXPECT_EQ(error_of(kGood + "train:\n  lr: fast\n"),
            "C: train.lr: expected a number, got 'fast' (line 4)");
  EXPECT_EQ(error_of(kGood + "search:\n  generations: [1, 2]\n"),
            "C: search.generations: expected an integer, got a list (line 4)");
}

TEST(Experiment, OutOfRange) {
  EXPECT_EQ(error_of(kGood + "search:\n  mutation_prob: 1.5\n"),
            "C: search.mutation_prob: expected a number in [0, 1], got 1.5 (line 4)");
  EXPECT_EQ(error_of(kGood + "search:\n  population: 10\n  parents: 20\n"),
            "C: search.parents: expected an integer in [1, 10], got 20 (line 5)");
}

TEST(Experiment, RetrainSeedsNeedRetraining) {
  EXPECT_EQ(error_of(kGood + "search:\n  retrain_seeds: 3\n"),
            "C: search.retrain_seeds: expected 1 unless search.retrain_winner is true (only networks "
            "trained alone have seeds to repeat), got 3 (line 4)");
  EXPECT_EQ(error_of(kGood + "search:\n  retrain_winner: true\n  retrain_seeds: 0\n"),
            "C: search.retrain_seeds: expected an integer in [1, 1000], got 0 (line 5)");
  EXPECT_EQ(error_of(kGood + "search:\n  retrain_winner: true\n  retrain_seeds: 3\n"), "(no error)");
}

TEST(Experiment, MissingRequiredKey) {
  EXPECT_THAT(error_of("space: spaces/fmnist-mbv2.yaml\n"), HasSubstr("C: mcu: missing required key"));
}

TEST(Experiment, MissingReferencedFile) {
  EXPECT_EQ(error_of("mcu: mcus/nope.yaml\nspace: spaces/fmnist-mbv2.yaml\n"),
            kRoot + "/configs/mcus/nope.yaml: file not found");
}

TEST(Experiment, BadChoice) {
  EXPECT_EQ(error_of(kGood + "train:\n  optimizer: adam\n"),
            "C: train.optimizer: expected one of sgd, adamw, got 'adam' (line 4)");
}

// Where the image lives is a deployment property: export reads it, and so must every estimate, or
// the search would pick subnets the generated code does not fit.
TEST(Experiment, InputInArenaReachesTheEstimator) {
  ConfigFile def(kGood);
  const Experiment d = Experiment::load(def.path());
  EXPECT_TRUE(d.export_.input_in_arena);
  EXPECT_TRUE(d.estimate_options().plan.input_in_arena);
  ConfigFile out(kGood + "search:\n  latency_limit_ms: 0\nexport:\n  input_in_arena: false\n");
  const Experiment e = Experiment::load(out.path());
  EXPECT_FALSE(e.export_.input_in_arena);
  EXPECT_FALSE(e.estimate_options().plan.input_in_arena);
  EXPECT_EQ(error_of(kGood + "export:\n  input_in_arena: outside\n"),
            "C: export.input_in_arena: expected true or false, got 'outside' (line 4)");
  EXPECT_EQ(error_of(kGood + "export:\n  input_in_arina: false\n"),
            "C: export.input_in_arina: unknown key (did you mean 'input_in_arena'?) (line 4)");
}

TEST(Experiment, NotAMap) {
  EXPECT_EQ(error_of(kGood + "search: 5\n"),
            "C: search: expected a map of keys, got '5' (line 3)");
}

}  // namespace
}  // namespace tinynas
