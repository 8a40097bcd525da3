// Measured scores of subnets, keyed by the architecture without its patch schedule (the score
// does not depend on it), the split and the number of validation examples; kept in the results
// store (nas/search/results_store.h), so a killed search or sweep loses nothing and processes
// writing at once share them. One class for both uses:
//
//   a search's validation log (its validation measurements, `images` examples each, with the
//   metric of each half of those examples): the store's search_measurements, exported after
//   each new entry to measured.csv (or random_search.csv):
//     hash,val_accuracy,val_first_half,val_second_half,arch
//   a sweep's shared cache (every split and size, shared by its runs and by every process on the
//   same supernet): the store's subnet_scores of one scorer, exported by export_csv() to
//   accuracy_cache.csv:
//     # scorer: <id>
//     hash,split,images,accuracy,arch
//
// An export found where the store has never read it (outputs from before the store) is imported
// once, in the layouts of earlier versions too (measured.csv's hash,val_accuracy,arch; a sweep
// cache's arch as a short string). The arch column is the ArchSpec's JSON (quoted). "accuracy" in
// the headers is the task's metric (the scorer's); the names predate other metrics.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "nas/search/results_store.h"
#include "nas/search/subnet_scorer.h"
#include "search_spaces/search_space.h"

namespace tinynas {

struct MeasuredScore {
  uint64_t hash = 0;            // of the arch without its patch schedule
  std::optional<ArchSpec> arch; // absent only in sweep caches written before the JSON column
  EvalSplit split = EvalSplit::Val;
  int images = 0;               // validation examples (0 = all; always 0 for Test)
  double value = 0;
  // The metric over each half of the examples (HalvedScore); NaN when not measured.
  double first_half = std::numeric_limits<double>::quiet_NaN();
  double second_half = std::numeric_limits<double>::quiet_NaN();
};

class AccuracyCache {
 public:
  // `csv` is the export; the log's rows are the store's under the CSV's directory and stem.
  static AccuracyCache validation_log(ResultsStore& store, std::string csv, int images);
  static AccuracyCache shared(ResultsStore& store, std::string csv, std::string scorer_id);

  // Reads this cache's rows from the store, importing an old export first if the store has never
  // read it. Throws ConfigError naming the file and line for a malformed one.
  void load(const SearchSpace& space);
  // Forgets this cache's rows in the store (a shared cache: every score of its scorer) and
  // removes the export: --fresh.
  void clear();

  // The saved value, or null; a shared cache asks the store for what other processes added. The
  // pointers stay valid as long as the cache.
  const double* find(const ArchSpec& arch, EvalSplit split, int images);
  const MeasuredScore* entry(const ArchSpec& arch, EvalSplit split, int images);
  // Adds unless there (first measurement wins, in this process or another) and returns what is
  // kept. A validation log rewrites its export; a shared cache keeps the value only.
  const MeasuredScore& add(const ArchSpec& arch, EvalSplit split, int images, double value);
  const MeasuredScore& add(const ArchSpec& arch, EvalSplit split, int images, const HalvedScore& score);

  // Rewrites the export (atomically) from the store.
  void export_csv();

  const std::deque<MeasuredScore>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  const std::string& path() const { return path_; }

 private:
  using Key = std::tuple<uint64_t, int, int>;
  AccuracyCache(ResultsStore& store, std::string path, bool log_layout, int log_images, std::string scorer_id);
  static Key key(uint64_t hash, EvalSplit split, int images);
  const MeasuredScore* insert(MeasuredScore m);  // null: the key was there
  MeasuredScore from_store(const StoredScore& s) const;
  std::vector<MeasuredScore> read_old_csv() const;
  void import_old_csv();

  ResultsStore& store_;
  std::string path_;
  bool log_layout_;     // measured.csv: validation only, `log_images_` examples each
  int log_images_;
  std::string scorer_id_;
  std::string search_, log_;  // a log's key in the store
  const SearchSpace* space_ = nullptr;  // set by load()
  std::map<Key, std::size_t> index_;  // into entries_
  std::deque<MeasuredScore> entries_;
};

// A scorer that answers from a cache first and fills it with what it asks `inner` (the runs of a
// sweep share one cache).
class CachedScorer : public SubnetScorer {
 public:
  CachedScorer(SubnetScorer& inner, AccuracyCache& cache) : inner_(inner), cache_(cache) {}
  const Metric& metric() const override { return inner_.metric(); }
  double score(const ArchSpec& arch, EvalSplit split, int val_images) override;
  // The cache keeps values only: a saved answer comes without its halves.
  HalvedScore score_halves(const ArchSpec& arch, EvalSplit split, int val_images) override;
  int64_t split_size(EvalSplit split) const override { return inner_.split_size(split); }
  int hits = 0, evaluations = 0;

 private:
  SubnetScorer& inner_;
  AccuracyCache& cache_;
};

// The architecture as the cache keys it: without its patch schedule.
ArchSpec without_patch(ArchSpec a);

}  // namespace tinynas
