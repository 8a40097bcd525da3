#include "nas/search/accuracy_cache.h"

#include <fmt/core.h>

#include <cmath>
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

AccuracyCache::AccuracyCache(std::string path, bool log_layout, int log_images, std::string scorer_id)
    : path_(std::move(path)), log_layout_(log_layout), log_images_(log_images), scorer_id_(std::move(scorer_id)) {}

AccuracyCache AccuracyCache::validation_log(std::string path, int images) {
  return AccuracyCache(std::move(path), true, images, "");
}

AccuracyCache AccuracyCache::shared(std::string path, std::string scorer_id) {
  return AccuracyCache(std::move(path), false, 0, std::move(scorer_id));
}

AccuracyCache::Key AccuracyCache::key(uint64_t hash, EvalSplit split, int images) {
  return {hash, split == EvalSplit::Val ? 0 : 1, split == EvalSplit::Val ? images : 0};
}

bool AccuracyCache::insert(MeasuredScore m) {
  if (m.split == EvalSplit::Test) m.images = 0;
  if (!index_.emplace(key(m.hash, m.split, m.images), entries_.size()).second) return false;
  entries_.push_back(std::move(m));
  return true;
}

void AccuracyCache::load(const SearchSpace& space) {
  if (!file_exists(path_)) return;
  std::istringstream in(read_file(path_));
  std::string line;
  int n = 0;
  auto bad = [&](const std::string& expected) {
    throw ConfigError(path_ + ": line " + std::to_string(n) + ": expected " + expected +
                      "; delete the file (or use --fresh) to start over");
  };
  if (!log_layout_) {
    std::getline(in, line);
    ++n;
    if (line.rfind(kScorerTag, 0) != 0) bad(std::string("'") + kScorerTag + "...'");
    const std::string saved = line.substr(std::string(kScorerTag).size());
    if (saved != scorer_id_) {
      throw ConfigError(path_ + ": measured with another supernet (" + saved + "), not " + scorer_id_ +
                        ": use --fresh or another --out");
    }
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
      m.arch = without_patch(ArchSpec::from_json(arch_text, space));
      m.hash = m.arch->hash();
    }
    insert(std::move(m));
  }
}

const MeasuredScore* AccuracyCache::entry(const ArchSpec& arch, EvalSplit split, int images) const {
  const auto it = index_.find(key(without_patch(arch).hash(), split, images));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const double* AccuracyCache::find(const ArchSpec& arch, EvalSplit split, int images) const {
  const MeasuredScore* m = entry(arch, split, images);
  return m ? &m->value : nullptr;
}

void AccuracyCache::add(const ArchSpec& arch, EvalSplit split, int images, double value) {
  HalvedScore s;
  s.value = value;
  add(arch, split, images, s);
}

void AccuracyCache::add(const ArchSpec& arch, EvalSplit split, int images, const HalvedScore& score) {
  const ArchSpec a = without_patch(arch);
  MeasuredScore m{a.hash(), a, split, images, score.value};
  if (log_layout_) {
    m.first_half = score.first_half;
    m.second_half = score.second_half;
  }
  if (!insert(std::move(m))) return;
  save();
}

void AccuracyCache::save() const {
  std::ostringstream o;
  if (!log_layout_) o << kScorerTag << scorer_id_ << "\n";
  o << (log_layout_ ? kLogHeader : kSharedHeader) << "\n";
  for (const MeasuredScore& m : entries_) {
    o << fmt::format("{:016x}", m.hash) << ",";
    if (!log_layout_) o << (m.split == EvalSplit::Val ? "val" : "test") << "," << m.images << ",";
    o << format_double(m.value) << ",";
    if (log_layout_) {
      for (double h : {m.first_half, m.second_half}) o << (std::isnan(h) ? "" : format_double(h)) << ",";
    }
    o << (m.arch ? csv_field(m.arch->to_json()) : "") << "\n";
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
  cache_.add(a, split, images, s.value);
  ++evaluations;
  return s;
}

}  // namespace tinynas
