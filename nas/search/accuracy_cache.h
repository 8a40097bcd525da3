// Measured scores of subnets, keyed by the architecture without its patch schedule (the score
// does not depend on it), the split and the number of validation examples; kept in a CSV that is
// rewritten atomically after each new entry, so a killed search or sweep loses nothing. One
// class for both uses, in two layouts:
//
//   a search's measured.csv (its validation measurements, `images` examples each, with the
//   metric of each half of those examples, empty when not split):
//     hash,val_accuracy,val_first_half,val_second_half,arch
//   (files from before the halves, hash,val_accuracy,arch, still load)
//   a sweep's accuracy_cache.csv (every split and size, shared by its runs, tagged with the
//   supernet that measured them):
//     # scorer: <id>
//     hash,split,images,accuracy,arch
//
// The arch column is the ArchSpec's JSON (quoted). "accuracy" in the headers is the task's
// metric (the scorer's); the names predate other metrics.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

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
  static AccuracyCache validation_log(std::string path, int images);
  static AccuracyCache shared(std::string path, std::string scorer_id);

  // Reads the file when it exists. Throws ConfigError naming the file and line for a malformed
  // one, and (shared) for one measured by another scorer.
  void load(const SearchSpace& space);

  // The saved value, or null; the pointer is valid until the next add().
  const double* find(const ArchSpec& arch, EvalSplit split, int images) const;
  // Adds (first measurement wins) and rewrites the file. A shared cache keeps the value only.
  void add(const ArchSpec& arch, EvalSplit split, int images, double value);
  void add(const ArchSpec& arch, EvalSplit split, int images, const HalvedScore& score);
  // The entry of `arch`, or null; valid until the next add().
  const MeasuredScore* entry(const ArchSpec& arch, EvalSplit split, int images) const;

  const std::vector<MeasuredScore>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  const std::string& path() const { return path_; }

 private:
  using Key = std::tuple<uint64_t, int, int>;
  AccuracyCache(std::string path, bool log_layout, int log_images, std::string scorer_id);
  static Key key(uint64_t hash, EvalSplit split, int images);
  bool insert(MeasuredScore m);
  void save() const;

  std::string path_;
  bool log_layout_;     // measured.csv: validation only, `log_images_` examples each
  int log_images_;
  std::string scorer_id_;
  std::map<Key, std::size_t> index_;  // into entries_
  std::vector<MeasuredScore> entries_;
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
