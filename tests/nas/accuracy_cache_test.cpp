// The one cache of measured scores, kept in the results store: a search's measured.csv and a
// sweep's accuracy_cache.csv (exports of the store).
#include "nas/search/accuracy_cache.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "nas/search/csv_field.h"
#include "nas/search/results_store.h"
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
    ResultsStore store(f.tmp.path + "/results.db");
    AccuracyCache cache = AccuracyCache::shared(store, path, "net-1");
    cache.load(f.space);
    CachedScorer s(inner, cache);
    const double v = s.score(f.patched(), EvalSplit::Val, 100);
    EXPECT_EQ(s.score(ArchSpec::largest(f.space), EvalSplit::Val, 100), v);  // without the patches
    EXPECT_NE(s.score(ArchSpec::largest(f.space), EvalSplit::Val, 200), v);  // another size
    s.score(ArchSpec::largest(f.space), EvalSplit::Test, 100);
    s.score(ArchSpec::largest(f.space), EvalSplit::Test, 0);  // the test split has one size
    EXPECT_EQ(inner.calls, 3);
    EXPECT_EQ(s.hits, 2);
    EXPECT_EQ(s.evaluations, 3);
    cache.export_csv();
  }
  ResultsStore store(f.tmp.path + "/results.db");
  AccuracyCache again = AccuracyCache::shared(store, path, "net-1");
  again.load(f.space);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(*again.entries()[0].arch, ArchSpec::largest(f.space));
  EXPECT_NE(again.find(f.patched(), EvalSplit::Test, 7), nullptr);
  // The export names the supernet and holds the three.
  EXPECT_EQ(read_file(path).rfind("# scorer: net-1\nhash,split,images,accuracy,arch\n", 0), 0u);
  // Another supernet's measurements are its own: they never answer for this one (before the
  // store, a cache of another supernet was refused; a sweep still refuses runs of another).
  AccuracyCache other = AccuracyCache::shared(store, path, "net-2");
  other.load(f.space);
  EXPECT_EQ(other.size(), 0u);
  EXPECT_EQ(other.find(ArchSpec::largest(f.space), EvalSplit::Val, 100), nullptr);
}

// Outputs from before the store: the CSV is imported once, in every earlier layout.
TEST(AccuracyCache, ReadsTheLayoutsOfEarlierVersions) {
  Fixture f;
  const ArchSpec a = ArchSpec::largest(f.space);
  // A sweep cache whose arch column was the short string.
  const std::string sweep = f.tmp.path + "/accuracy_cache.csv";
  write_file_atomic(sweep, "# scorer: x\nhash,split,images,accuracy,arch\n" + a.hash_hex() + ",val,500,0.75,\"" +
                               a.to_string() + "\"\n");
  ResultsStore store(f.tmp.path + "/results.db");
  AccuracyCache s = AccuracyCache::shared(store, sweep, "x");
  s.load(f.space);
  ASSERT_NE(s.find(a, EvalSplit::Val, 500), nullptr);
  EXPECT_EQ(*s.find(a, EvalSplit::Val, 500), 0.75);
  EXPECT_FALSE(s.entries()[0].arch.has_value());
  // A search log with the JSON bare (before the quoting).
  const std::string log = f.tmp.path + "/measured.csv";
  write_file_atomic(log, "hash,val_accuracy,arch\n" + a.hash_hex() + ",0.5," + a.to_json() + "\n");
  AccuracyCache m = AccuracyCache::validation_log(store, log, 300);
  m.load(f.space);
  ASSERT_NE(m.find(a, EvalSplit::Val, 300), nullptr);
  EXPECT_EQ(m.find(a, EvalSplit::Val, 0), nullptr);
  // Once: the file, changed afterwards, is not read again (the store holds it).
  write_file_atomic(log, "hash,val_accuracy,arch\nnonsense\n");
  AccuracyCache m2 = AccuracyCache::validation_log(store, log, 300);
  m2.load(f.space);
  ASSERT_NE(m2.find(a, EvalSplit::Val, 300), nullptr);
  EXPECT_EQ(*m2.find(a, EvalSplit::Val, 300), 0.5);
  // A malformed line names the file and the line.
  const std::string log2 = f.tmp.path + "/other/measured.csv";
  std::filesystem::create_directories(f.tmp.path + "/other");
  write_file_atomic(log2, "hash,val_accuracy,arch\nnonsense\n");
  AccuracyCache bad = AccuracyCache::validation_log(store, log2, 300);
  try {
    bad.load(f.space);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(log2 + ": line 2: expected hash,val_accuracy,arch"), std::string::npos)
        << e.what();
  }
}

// A validation log is its search's: two searches in one store keep theirs apart, and the export
// is rewritten from the store after each new entry.
TEST(AccuracyCache, ValidationLogsOfTwoSearchesShareAStoreApart) {
  Fixture f;
  ResultsStore store(f.tmp.path + "/results.db");
  for (const char* d : {"/a", "/b"}) std::filesystem::create_directories(f.tmp.path + d);
  const ArchSpec big = ArchSpec::largest(f.space), small = ArchSpec::smallest(f.space);
  AccuracyCache a = AccuracyCache::validation_log(store, f.tmp.path + "/a/measured.csv", 100);
  AccuracyCache b = AccuracyCache::validation_log(store, f.tmp.path + "/b/measured.csv", 100);
  a.load(f.space);
  b.load(f.space);
  HalvedScore h;
  h.value = 0.9;
  h.first_half = 0.875;
  h.second_half = 0.925;
  a.add(big, EvalSplit::Val, 100, h);
  a.add(big, EvalSplit::Val, 100, 0.1);  // first measurement wins
  b.add(small, EvalSplit::Val, 100, 0.5);
  EXPECT_EQ(a.entry(big, EvalSplit::Val, 100)->value, 0.9);
  EXPECT_EQ(b.find(big, EvalSplit::Val, 100), nullptr);
  EXPECT_EQ(read_file(f.tmp.path + "/a/measured.csv"),
            "hash,val_accuracy,val_first_half,val_second_half,arch\n" + big.hash_hex() + ",0.9,0.875,0.925," +
                csv_field(big.to_json()) + "\n");
  // Cleared (--fresh): gone from the store and the export with it; b keeps its own.
  a.clear();
  EXPECT_FALSE(std::filesystem::exists(f.tmp.path + "/a/measured.csv"));
  AccuracyCache a2 = AccuracyCache::validation_log(store, f.tmp.path + "/a/measured.csv", 100);
  a2.load(f.space);
  EXPECT_EQ(a2.size(), 0u);
  AccuracyCache b2 = AccuracyCache::validation_log(store, f.tmp.path + "/b/measured.csv", 100);
  b2.load(f.space);
  EXPECT_EQ(b2.size(), 1u);
}

}  // namespace
}  // namespace tinynas
