#include "supernet/datasets/speech_corpus.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "supernet/datasets/wav.h"

#include "ops/mfcc_tables.h"

namespace tinynas {

namespace fs = std::filesystem;

const std::vector<std::string>& kws_class_names() {
  static const std::vector<std::string> names = {"yes", "no",   "up",   "down",    "left",   "right",
                                                 "on",  "off",  "stop", "go",      "silence", "unknown"};
  return names;
}

namespace {

const char* const kNoiseFolder = "_background_noise_";

std::set<std::string> read_list(const fs::path& root, const std::string& name) {
  const fs::path p = root / name;
  std::ifstream in(p);
  if (!in) {
    throw ConfigError(p.string() + ": missing; a Speech Commands folder lists its validation and "
                      "test clips in validation_list.txt and testing_list.txt");
  }
  std::set<std::string> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    if (!fs::is_regular_file(root / line)) {
      throw ConfigError(fmt::format("{}:{}: '{}' names no file under {}", p.string(), n, line,
                                    root.string()));
    }
    out.insert(line);
  }
  return out;
}

std::vector<std::string> sorted_entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string SpeechCorpus::summary() const {
  static const char* const names[3] = {"train", "validation", "test"};
  std::string s;
  for (int k = 0; k < 3; ++k) {
    std::vector<int64_t> count(kws_class_names().size(), 0);
    for (const SpeechExample& e : split[k]) ++count[e.label];
    s += fmt::format("{}{}: {} examples (", k ? "; " : "", names[k], split[k].size());
    for (std::size_t c = 0; c < count.size(); ++c) {
      s += fmt::format("{}{} {}", c ? ", " : "", kws_class_names()[c], count[c]);
    }
    s += fmt::format("; unknown kept of {})", unknown_available[k]);
  }
  return s;
}

SpeechCorpus scan_speech_corpus(const SpeechCorpusOptions& o) {
  const fs::path root(o.path);
  if (!fs::is_directory(root)) {
    throw ConfigError(o.path + ": no such folder; expected a Speech Commands v2 layout (a folder "
                      "per word, validation_list.txt, testing_list.txt, _background_noise_/)");
  }
  const std::set<std::string> val = read_list(root, "validation_list.txt");
  const std::set<std::string> test = read_list(root, "testing_list.txt");

  SpeechCorpus c;
  std::vector<std::string> unknown[3];
  std::map<std::string, int> keyword_label;
  for (int i = 0; i < kKwsSilence; ++i) keyword_label[kws_class_names()[i]] = i;
  std::set<std::string> seen_keywords;
  for (const std::string& word : sorted_entries(root)) {
    const fs::path dir = root / word;
    if (!fs::is_directory(dir) || word[0] == '.' || word[0] == '_') continue;
    const auto kw = keyword_label.find(word);
    int clips = 0;
    for (const std::string& name : sorted_entries(dir)) {
      if (name[0] == '.') continue;
      const fs::path file = dir / name;
      if (file.extension() != ".wav" || !fs::is_regular_file(file)) {
        throw ConfigError(file.string() + ": not a .wav file; a word folder holds only its clips");
      }
      const std::string rel = word + "/" + name;
      const int s = val.count(rel) ? 1 : test.count(rel) ? 2 : 0;
      if (kw != keyword_label.end()) {
        SpeechExample e;
        e.path = file.string();
        e.label = kw->second;
        c.split[s].push_back(e);
      } else {
        unknown[s].push_back(file.string());
      }
      ++clips;
    }
    if (clips == 0) throw ConfigError(dir.string() + ": empty word folder; expected its .wav clips");
    if (kw != keyword_label.end()) seen_keywords.insert(word);
  }
  for (int i = 0; i < kKwsSilence; ++i) {
    if (!seen_keywords.count(kws_class_names()[i])) {
      throw ConfigError(fmt::format("{}: no folder '{}'; the 12-class task needs the ten keywords "
                                    "yes, no, up, down, left, right, on, off, stop, go",
                                    o.path, kws_class_names()[i]));
    }
  }

  const fs::path noise_dir = root / kNoiseFolder;
  if (fs::is_directory(noise_dir)) {
    for (const std::string& name : sorted_entries(noise_dir)) {
      const fs::path file = noise_dir / name;
      if (name[0] == '.' || file.extension() != ".wav") continue;  // the real folder has a README
      WavAudio w = read_wav(file.string());
      if (w.sample_rate != kKwsSampleRate || w.channels != 1) {
        throw ConfigError(fmt::format("{}: {} Hz with {} channels; expected {} Hz mono", file.string(),
                                      w.sample_rate, w.channels, kKwsSampleRate));
      }
      if (w.frames() < kKwsClipSamples) {
        throw ConfigError(fmt::format("{}: {} samples; background noise must be at least 1 s ({})",
                                      file.string(), w.frames(), kKwsClipSamples));
      }
      c.noise_paths.push_back(file.string());
      c.noise.push_back(std::move(w.samples));
    }
  }
  if (c.noise.empty() && o.silence_percentage > 0) {
    throw ConfigError(noise_dir.string() + ": no background noise .wav files; 'silence' examples "
                      "are cut from them (or set data.silence_percentage: 0)");
  }

  for (int s = 0; s < 3; ++s) {
    std::mt19937_64 rng(o.seed * 0x9E3779B97F4A7C15ull + 0x5eec + s);
    const int64_t keywords = static_cast<int64_t>(c.split[s].size());
    c.unknown_available[s] = static_cast<int64_t>(unknown[s].size());
    // As TensorFlow's speech_commands input_data: a seeded shuffle of the unknown clips, of
    // which percentage% of the keyword count are kept.
    std::vector<std::string>& u = unknown[s];
    for (int64_t i = static_cast<int64_t>(u.size()) - 1; i > 0; --i) {
      std::swap(u[i], u[rng() % (i + 1)]);
    }
    const int64_t n_unknown = std::min<int64_t>(
        static_cast<int64_t>(u.size()),
        static_cast<int64_t>(std::ceil(keywords * o.unknown_percentage / 100.0)));
    std::sort(u.begin(), u.begin() + n_unknown);
    for (int64_t i = 0; i < n_unknown; ++i) {
      SpeechExample e;
      e.path = u[i];
      e.label = kKwsUnknown;
      c.split[s].push_back(e);
    }
    const int64_t n_silence = static_cast<int64_t>(std::ceil(keywords * o.silence_percentage / 100.0));
    std::uniform_real_distribution<double> vol(0.0, o.background_volume);
    for (int64_t i = 0; i < n_silence; ++i) {
      SpeechExample e;
      e.label = kKwsSilence;
      e.noise = static_cast<int>(rng() % c.noise.size());
      e.offset = static_cast<int64_t>(rng() % (c.noise[e.noise].size() - kKwsClipSamples + 1));
      e.volume = vol(rng);
      c.split[s].push_back(e);
    }
  }
  return c;
}

std::vector<int16_t> read_kws_clip(const std::string& path) {
  std::vector<int16_t> x = read_mono_clip(path, kKwsSampleRate, kKwsClipSamples);
  x.resize(kKwsClipSamples, 0);
  return x;
}

namespace {

int16_t saturate16(double v) {
  return static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
}

}  // namespace

std::vector<int16_t> example_samples(const SpeechCorpus& corpus, const SpeechExample& e) {
  if (!e.path.empty()) return read_kws_clip(e.path);
  std::vector<int16_t> x(kKwsClipSamples);
  const int16_t* src = corpus.noise.at(e.noise).data() + e.offset;
  for (int i = 0; i < kKwsClipSamples; ++i) x[i] = saturate16(src[i] * e.volume);
  return x;
}

void augment_clip(const SpeechCorpus& corpus, const SpeechAugment& a, std::mt19937_64& rng,
                  const std::vector<int16_t>& in, std::vector<int16_t>* out) {
  out->assign(kKwsClipSamples, 0);
  const int shift = a.time_shift > 0 ? static_cast<int>(rng() % (2 * a.time_shift + 1)) - a.time_shift : 0;
  for (int i = 0; i < kKwsClipSamples; ++i) {
    const int j = i - shift;
    if (j >= 0 && j < static_cast<int>(in.size())) (*out)[i] = in[j];
  }
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (corpus.noise.empty() || unit(rng) >= a.background_frequency) return;
  const std::vector<int16_t>& n = corpus.noise[rng() % corpus.noise.size()];
  const int64_t offset = static_cast<int64_t>(rng() % (n.size() - kKwsClipSamples + 1));
  const double volume = unit(rng) * a.background_volume;
  for (int i = 0; i < kKwsClipSamples; ++i) {
    (*out)[i] = saturate16((*out)[i] + n[offset + i] * volume);
  }
}

// The operator's own tables (ops/mfcc_tables.h), with the scale rounded to the float a layer's
// quantisation holds: the exported model computes these very bytes.
struct KwsFrontEnd::Impl {
  const tn_mfcc_params_t* params = nullptr;
  std::vector<uint64_t> scratch;  // 8-byte aligned, as tn_mfcc_s8 requires
};

KwsFrontEnd::KwsFrontEnd(double scale, int zero_point)
    : impl_(std::make_unique<Impl>()), scale_(scale), zero_point_(zero_point) {
  try {
    impl_->params = &kws_mfcc_params(static_cast<float>(scale), zero_point);
  } catch (const std::invalid_argument&) {
    throw ConfigError(fmt::format("MFCC front end: output scale {} and zero point {} are not a "
                                  "valid int8 quantisation (scale > 0, zero point in [-128, 127])",
                                  scale, zero_point));
  }
  impl_->scratch.resize((tn_mfcc_s8_scratch_bytes(impl_->params) + 7) / 8);
}

KwsFrontEnd::~KwsFrontEnd() = default;

void KwsFrontEnd::features(const int16_t* pcm, int8_t* out) {
  const int rc = tn_mfcc_s8(impl_->params, pcm, kKwsClipSamples, out, impl_->scratch.data());
  if (rc != 0) throw std::runtime_error(fmt::format("tn_mfcc_s8 failed ({})", rc));
}

}  // namespace tinynas
