#include "nas/search/accuracy_cache.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "nas/search/csv_field.h"
#include "search_spaces/atomic_file.h"
#include "search_spaces/config_node.h"

namespace tinynas {

namespace {

const char* const kScorerTag = "# scorer: ";
const char* const kLogHeader = "hash,val_accuracy,val_first_half,val_second_half,arch";
const char* const kOldLogHeader = "hash,val_accuracy,arch";
const char* const kSharedHeader = "hash,split,images,accuracy,arch";

}  // namespace

ArchSpec without_patch(ArchSpec a) {
  a.patch = PatchSchedule{};
  return a;
}

AccuracyCache::AccuracyCache(ResultsStore& store, std::string path, bool log_layout, int log_images,
                             std::string scorer_id)
    : store_(store),
      path_(std::move(path)),
      log_layout_(log_layout),
      log_images_(log_images),
      scorer_id_(std::move(scorer_id)) {
  if (log_layout_) {
    const std::filesystem::path p(path_);
    search_ = store_.name_of(p.has_parent_path() ? p.parent_path().string() : ".");
    log_ = p.stem().string();
  }
}

AccuracyCache AccuracyCache::validation_log(ResultsStore& store, std::string path, int images) {
  return AccuracyCache(store, std::move(path), true, images, "");
}

AccuracyCache AccuracyCache::shared(ResultsStore& store, std::string path, std::string scorer_id) {
  return AccuracyCache(store, std::move(path), false, 0, std::move(scorer_id));
}

AccuracyCache::Key AccuracyCache::key(uint64_t hash, EvalSplit split, int images) {
  return {hash, split == EvalSplit::Val ? 0 : 1, split == EvalSplit::Val ? images : 0};
}

const MeasuredScore* AccuracyCache::insert(MeasuredScore m) {
  if (m.split == EvalSplit::Test) m.images = 0;
  if (!index_.emplace(key(m.hash, m.split, m.images), entries_.size()).second) return nullptr;
  entries_.push_back(std::move(m));
  return &entries_.back();
}

MeasuredScore AccuracyCache::from_store(const StoredScore& s) const {
  MeasuredScore m;
  m.hash = s.arch_hash;
  m.split = s.split;
  m.images = s.images;
  m.value = s.value;
  m.first_half = s.first_half;
  m.second_half = s.second_half;
  if (!s.arch.empty() && space_) {
    m.arch = without_patch(ArchSpec::from_json(s.arch, *space_));
    m.hash = m.arch->hash();
  }
  return m;
}

// The export's layouts, this version's and earlier ones.
std::vector<MeasuredScore> AccuracyCache::read_old_csv() const {
  std::vector<MeasuredScore> out;
  std::istringstream in(read_file(path_));
  std::string line;
  int n = 0;
  auto bad = [&](const std::string& expected) {
    throw ConfigError(path_ + ": line " + std::to_string(n) + ": expected " + expected +
                      "; delete the file (or use --fresh) to start over");
  };
  std::string scorer = scorer_id_;
  if (!log_layout_) {
    std::getline(in, line);
    ++n;
    if (line.rfind(kScorerTag, 0) != 0) bad(std::string("'") + kScorerTag + "...'");
    scorer = line.substr(std::string(kScorerTag).size());
  }
  std::getline(in, line);  // header
  ++n;
  const bool halves = log_layout_ && line != kOldLogHeader;
  const int fields = log_layout_ ? (halves ? 4 : 2) : 4;  // before the arch, the rest of the line
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::size_t pos = 0;
    for (int i = 0; i < fields; ++i) {
      const auto c = line.find(',', pos);
      if (c == std::string::npos) break;
      f.push_back(line.substr(pos, c - pos));
      pos = c + 1;
    }
    const char* const header = log_layout_ ? (halves ? kLogHeader : kOldLogHeader) : kSharedHeader;
    if (static_cast<int>(f.size()) != fields) bad(header);
    // measured.csv's arch is JSON (bare in files from before the quoting); a sweep cache from
    // before the JSON column holds the arch's short string, which only names it.
    const std::string arch_text = csv_unfield(line.substr(pos));
    MeasuredScore m;
    try {
      m.hash = std::stoull(f[0], nullptr, 16);
      if (log_layout_) {
        m.split = EvalSplit::Val;
        m.images = log_images_;
        m.value = std::stod(f[1]);
        if (halves && !f[2].empty()) m.first_half = std::stod(f[2]);
        if (halves && !f[3].empty()) m.second_half = std::stod(f[3]);
      } else {
        if (f[1] != "val" && f[1] != "test") throw std::invalid_argument("split");
        m.split = f[1] == "val" ? EvalSplit::Val : EvalSplit::Test;
        m.images = std::stoi(f[2]);
        m.value = std::stod(f[3]);
      }
    } catch (const std::exception&) {
      bad(header);
    }
    if (log_layout_ || (!arch_text.empty() && arch_text.front() == '{')) {
      m.arch = without_patch(ArchSpec::from_json(arch_text, *space_));
      m.hash = m.arch->hash();
    }
    out.push_back(std::move(m));
  }
  if (!log_layout_ && scorer != scorer_id_ && !out.empty()) {
    // Kept under the supernet that measured them: they do not answer for this one.
    spdlog::warn("{}: measured with another supernet ({}), not {}: imported under that one", path_, scorer,
                 scorer_id_);
  }
  return out;
}

namespace {

StoredScore to_store(const MeasuredScore& m) {
  StoredScore s;
  s.arch_hash = m.hash;
  s.split = m.split;
  s.images = m.images;
  s.value = m.value;
  s.first_half = m.first_half;
  s.second_half = m.second_half;
  if (m.arch) s.arch = m.arch->to_json();
  return s;
}

// The scorer an old shared export names (its first line), or `fallback`.
std::string tagged_scorer(const std::string& path, const std::string& fallback) {
  std::istringstream in(read_file(path));
  std::string line;
  std::getline(in, line);
  return line.rfind(kScorerTag, 0) == 0 ? line.substr(std::string(kScorerTag).size()) : fallback;
}

}  // namespace

// Outputs from before the store: the export is read in once (one transaction with its mark, so
// processes starting together import it once between them).
void AccuracyCache::import_old_csv() {
  const std::string source = store_.name_of(path_);
  store_.transaction([&] {
    if (store_.imported(source)) return;
    std::vector<MeasuredScore> rows;
    if (file_exists(path_)) rows = read_old_csv();
    const std::string scorer = log_layout_ || rows.empty() ? scorer_id_ : tagged_scorer(path_, scorer_id_);
    for (const MeasuredScore& m : rows) {
      if (log_layout_) {
        store_.add_measurement(search_, log_, to_store(m));
      } else {
        store_.add_score(scorer, to_store(m));
      }
    }
    store_.mark_imported(source, static_cast<int>(rows.size()));
    if (!rows.empty()) spdlog::info("{}: {} measurements imported into {}", path_, rows.size(), store_.path());
  });
}

void AccuracyCache::load(const SearchSpace& space) {
  space_ = &space;
  import_old_csv();
  const std::vector<StoredScore> rows =
      log_layout_ ? store_.measurements(search_, log_, log_images_) : store_.scores(scorer_id_);
  for (const StoredScore& s : rows) insert(from_store(s));
}

void AccuracyCache::clear() {
  if (log_layout_) {
    store_.delete_measurements(search_);
  } else {
    store_.delete_scores(scorer_id_);
  }
  // Cleared, the old export must not come back in as an import.
  store_.mark_imported(store_.name_of(path_), 0);
  std::filesystem::remove(path_);
  index_.clear();
  entries_.clear();
}

const MeasuredScore* AccuracyCache::entry(const ArchSpec& arch, EvalSplit split, int images) {
  const uint64_t hash = without_patch(arch).hash();
  if (split == EvalSplit::Test) images = 0;
  const auto it = index_.find(key(hash, split, images));
  if (it != index_.end()) return &entries_[it->second];
  if (log_layout_) return nullptr;  // one search writes its log: memory holds all of it
  // Another process (an array task, a rank) may have measured it since.
  if (const auto s = store_.score(scorer_id_, hash, split, images)) return insert(from_store(*s));
  return nullptr;
}

const double* AccuracyCache::find(const ArchSpec& arch, EvalSplit split, int images) {
  const MeasuredScore* m = entry(arch, split, images);
  return m ? &m->value : nullptr;
}

const MeasuredScore& AccuracyCache::add(const ArchSpec& arch, EvalSplit split, int images, double value) {
  HalvedScore s;
  s.value = value;
  return add(arch, split, images, s);
}

const MeasuredScore& AccuracyCache::add(const ArchSpec& arch, EvalSplit split, int images, const HalvedScore& score) {
  if (const MeasuredScore* there = entry(arch, split, images)) return *there;
  const ArchSpec a = without_patch(arch);
  MeasuredScore m{a.hash(), a, split, split == EvalSplit::Test ? 0 : images, score.value};
  if (log_layout_) {
    m.first_half = score.first_half;
    m.second_half = score.second_half;
    store_.add_measurement(search_, log_, to_store(m));
    const MeasuredScore* kept = insert(std::move(m));
    export_csv();
    return *kept;
  }
  if (!store_.add_score(scorer_id_, to_store(m))) {
    // Another process measured it first: its value is the one kept.
    if (const auto s = store_.score(scorer_id_, m.hash, split, m.images)) return *insert(from_store(*s));
  }
  return *insert(std::move(m));
}

void AccuracyCache::export_csv() {
  const std::vector<StoredScore> rows =
      log_layout_ ? store_.measurements(search_, log_, log_images_) : store_.scores(scorer_id_);
  std::ostringstream o;
  if (!log_layout_) o << kScorerTag << scorer_id_ << "\n";
  o << (log_layout_ ? kLogHeader : kSharedHeader) << "\n";
  for (const StoredScore& m : rows) {
    o << fmt::format("{:016x}", m.arch_hash) << ",";
    if (!log_layout_) o << split_name(m.split) << "," << m.images << ",";
    o << format_double(m.value) << ",";
    if (log_layout_) {
      for (double h : {m.first_half, m.second_half}) o << (std::isnan(h) ? "" : format_double(h)) << ",";
    }
    o << (m.arch.empty() ? "" : csv_field(m.arch)) << "\n";
  }
  write_file_atomic(path_, o.str());
}

double CachedScorer::score(const ArchSpec& arch, EvalSplit split, int val_images) {
  return score_halves(arch, split, val_images).value;
}

HalvedScore CachedScorer::score_halves(const ArchSpec& arch, EvalSplit split, int val_images) {
  const ArchSpec a = without_patch(arch);
  const int images = split == EvalSplit::Val ? val_images : 0;
  if (const double* v = cache_.find(a, split, images)) {
    ++hits;
    HalvedScore s;
    s.value = *v;
    return s;
  }
  const HalvedScore s = inner_.score_halves(a, split, images);
  const MeasuredScore& kept = cache_.add(a, split, images, s.value);
  ++evaluations;
  if (kept.value != s.value) {  // another process's measurement came first: one answer for all
    HalvedScore k;
    k.value = kept.value;
    return k;
  }
  return s;
}

}  // namespace tinynas
