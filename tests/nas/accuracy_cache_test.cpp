// The one cache of measured scores: a search's measured.csv and a sweep's accuracy_cache.csv.
#include "nas/search/accuracy_cache.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "search_spaces/atomic_file.h"
#include "search_spaces/config_node.h"
#include "tests/temp_dir.h"

namespace tinynas {
namespace {

const std::string kRoot = TINYNAS_SOURCE_DIR;

class Counting : public SubnetScorer {
 public:
  const Metric& metric() const override { return metric_; }
  double score(const ArchSpec& a, EvalSplit split, int images) override {
    EXPECT_FALSE(a.patch.enabled());
    ++calls;
    return (split == EvalSplit::Val ? 0.5 : 0.4) + 1e-4 * images + 1e-3 * a.resolution;
  }
  int calls = 0;

 private:
  Metric metric_ = Metric::top1_accuracy();
};

struct Fixture {
  SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/tiny.yaml");
  TempDir tmp{"accuracy_cache_test"};
  Fixture() { std::filesystem::create_directories(tmp.path); }
  ArchSpec patched() const {
    ArchSpec a = ArchSpec::largest(space);
    a.patch.patches = 2;
    a.patch.split = 1;
    return a;
  }
};

TEST(AccuracyCache, KeysBySplitAndSizeIgnoringThePatchScheduleAndSurvivesReloading) {
  Fixture f;
  const std::string path = f.tmp.path + "/cache.csv";
  Counting inner;
  {
    AccuracyCache cache = AccuracyCache::shared(path, "net-1");
    CachedScorer s(inner, cache);
    const double v = s.score(f.patched(), EvalSplit::Val, 100);
    EXPECT_EQ(s.score(ArchSpec::largest(f.space), EvalSplit::Val, 100), v);  // without the patches
    EXPECT_NE(s.score(ArchSpec::largest(f.space), EvalSplit::Val, 200), v);  // another size
    s.score(ArchSpec::largest(f.space), EvalSplit::Test, 100);
    s.score(ArchSpec::largest(f.space), EvalSplit::Test, 0);  // the test split has one size
    EXPECT_EQ(inner.calls, 3);
    EXPECT_EQ(s.hits, 2);
    EXPECT_EQ(s.evaluations, 3);
  }
  AccuracyCache again = AccuracyCache::shared(path, "net-1");
  again.load(f.space);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(*again.entries()[0].arch, ArchSpec::largest(f.space));
  EXPECT_NE(again.find(f.patched(), EvalSplit::Test, 7), nullptr);
  // Another supernet's measurements are refused.
  AccuracyCache other = AccuracyCache::shared(path, "net-2");
  EXPECT_THROW(other.load(f.space), ConfigError);
}

TEST(AccuracyCache, ReadsTheLayoutsOfEarlierVersions) {
  Fixture f;
  const ArchSpec a = ArchSpec::largest(f.space);
  // A sweep cache whose arch column was the short string.
  const std::string sweep = f.tmp.path + "/accuracy_cache.csv";
  write_file_atomic(sweep, "# scorer: x\nhash,split,images,accuracy,arch\n" + a.hash_hex() + ",val,500,0.75,\"" +
                               a.to_string() + "\"\n");
  AccuracyCache s = AccuracyCache::shared(sweep, "x");
  s.load(f.space);
  ASSERT_NE(s.find(a, EvalSplit::Val, 500), nullptr);
  EXPECT_EQ(*s.find(a, EvalSplit::Val, 500), 0.75);
  EXPECT_FALSE(s.entries()[0].arch.has_value());
  // A search log with the JSON bare (before the quoting).
  const std::string log = f.tmp.path + "/measured.csv";
  write_file_atomic(log, "hash,val_accuracy,arch\n" + a.hash_hex() + ",0.5," + a.to_json() + "\n");
  AccuracyCache m = AccuracyCache::validation_log(log, 300);
  m.load(f.space);
  ASSERT_NE(m.find(a, EvalSplit::Val, 300), nullptr);
  EXPECT_EQ(m.find(a, EvalSplit::Val, 0), nullptr);
  // A malformed line names the file and the line.
  write_file_atomic(log, "hash,val_accuracy,arch\nnonsense\n");
  AccuracyCache bad = AccuracyCache::validation_log(log, 300);
  try {
    bad.load(f.space);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(log + ": line 2: expected hash,val_accuracy,arch"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace tinynas
