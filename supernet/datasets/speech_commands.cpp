// Speech Commands v2 keyword spotting as MLPerf Tiny: 12 classes (ten keywords, silence,
// unknown), 1 s of 16 kHz audio -> the runtime's fixed-point MFCC (49 frames x 10
// coefficients, int8), exactly the bytes the exported firmware computes on the device.
// Classified, scored by top-1 accuracy.
//
// Features are computed once and cached (data.cache): the clean clip of every example, and for
// training data.augment_variants - 1 augmented versions (time shift, background noise), of
// which each training step draws one. The corpus at data.path is the real one or, with
// data.synthesize, scripts/make-speech-corpus's synthetic one, built there on first use.
#include <ATen/ATen.h>
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "search_spaces/atomic_file.h"
#include "search_spaces/hash.h"
#include "supernet/dataset.h"
#include "supernet/datasets/data_script.h"
#include "supernet/datasets/speech_corpus.h"

namespace tinynas {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kCacheVersion = 2;  // 2: tables from the float scale (ops/mfcc_tables.h)

TaskInfo speech_commands_info() {
  TaskInfo t;
  t.dataset = "speech-commands";
  t.task = "classification";
  t.summary = "Speech Commands v2 keyword spotting: 1 s of 16 kHz speech -> 49x10 MFCC, 12 classes "
              "(10 keywords, silence, unknown) as MLPerf Tiny";
  t.input = {kKwsFrames, kKwsCoefficients, 1};
  t.num_classes = 12;
  t.class_names = kws_class_names();
  t.metric = Metric::top1_accuracy();
  t.options = {"synthesize", "cache",  "silence_percentage", "unknown_percentage",
               "augment_variants", "time_shift_ms", "background_frequency", "background_volume"};
  t.front_end = "mfcc";
  return t;
}

struct SpeechOptions {
  SpeechCorpusOptions corpus;
  SpeechAugment augment;
  bool synthesize = false;
  std::string cache;
  int variants = 8;
  double scale = 0;
  int zero_point = 0;
};

// The data.* keys, and the feature quantisation from the space's front end.
SpeechOptions read_options(const DataConfig& data, const FrontEndSpec& fe) {
  SpeechOptions o;
  o.scale = fe.scale;
  o.zero_point = fe.zero_point;
  o.corpus.path = data.path;
  o.corpus.seed = data.split_seed;
  if (!data.node) return o;
  const ConfigNode& n = *data.node;
  o.synthesize = n.get_bool("synthesize", false);
  if (n.has("cache")) o.cache = n.at("cache").as_path();
  o.corpus.silence_percentage = n.get_double("silence_percentage", 10, 0, 1000);
  o.corpus.unknown_percentage = n.get_double("unknown_percentage", 10, 0, 1000);
  o.variants = static_cast<int>(n.get_int("augment_variants", 8, 1, 64));
  o.augment.time_shift = static_cast<int>(
      std::lround(n.get_double("time_shift_ms", 100, 0, 500) * kKwsSampleRate / 1000.0));
  o.augment.background_frequency = n.get_double("background_frequency", 0.8, 0, 1);
  o.augment.background_volume = n.get_double("background_volume", 0.1, 0, 1);
  o.corpus.background_volume = o.augment.background_volume;
  return o;
}

// A digest of everything the cached features depend on: the examples (paths, sizes and
// modification times of their files, silence cuts), the augmentation and the quantisation.
uint64_t cache_key(const SpeechCorpus& c, const SpeechOptions& o) {
  Fnv1a h;
  h.add(static_cast<int64_t>(kCacheVersion)).add(o.variants).add(o.augment.time_shift);
  h.add(static_cast<int64_t>(std::llround(o.augment.background_frequency * 1e9)));
  h.add(static_cast<int64_t>(std::llround(o.augment.background_volume * 1e9)));
  h.add(static_cast<int64_t>(std::llround(o.scale * 1e9))).add(o.zero_point);
  h.add(static_cast<int64_t>(o.corpus.seed));
  auto add_file = [&](const std::string& p) {
    std::error_code ec;
    h.add(p).add(static_cast<int64_t>(fs::file_size(p, ec)));
    h.add(static_cast<int64_t>(fs::last_write_time(p, ec).time_since_epoch().count()));
  };
  for (const std::string& p : c.noise_paths) add_file(p);
  for (const auto& split : c.split) {
    h.add(static_cast<int64_t>(split.size()));
    for (const SpeechExample& e : split) {
      if (e.path.empty()) {
        h.add(e.noise).add(e.offset).add(static_cast<int64_t>(std::llround(e.volume * 1e12)));
      } else {
        add_file(e.path);
      }
      h.add(e.label);
    }
  }
  return h.value();
}

// Per split: features [n][variants][49][10] int8 (variant 0 clean), labels [n].
struct Features {
  std::vector<int8_t> x[3];
  std::vector<int64_t> y[3];
  int variants[3] = {1, 1, 1};
};

std::string serialise(const Features& f, uint64_t key) {
  std::string out = "TNKWSF01";
  auto put = [&](int64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(static_cast<int64_t>(key));
  for (int s = 0; s < 3; ++s) {
    put(static_cast<int64_t>(f.y[s].size()));
    put(f.variants[s]);
    out.append(reinterpret_cast<const char*>(f.y[s].data()), f.y[s].size() * sizeof(int64_t));
    out.append(reinterpret_cast<const char*>(f.x[s].data()), f.x[s].size());
  }
  return out;
}

bool deserialise(const std::string& b, uint64_t key, Features* f) {
  std::size_t at = 8;
  auto get = [&](int64_t* v) {
    if (at + sizeof *v > b.size()) return false;
    std::memcpy(v, b.data() + at, sizeof *v);
    at += sizeof *v;
    return true;
  };
  int64_t k = 0;
  if (b.compare(0, 8, "TNKWSF01") != 0 || !get(&k) || static_cast<uint64_t>(k) != key) return false;
  for (int s = 0; s < 3; ++s) {
    int64_t n = 0, v = 0;
    if (!get(&n) || !get(&v) || n < 0 || v < 1) return false;
    const std::size_t ybytes = n * sizeof(int64_t), xbytes = n * v * kKwsFeatureBytes;
    if (at + ybytes + xbytes > b.size()) return false;
    f->y[s].resize(n);
    std::memcpy(f->y[s].data(), b.data() + at, ybytes);
    at += ybytes;
    f->x[s].assign(b.data() + at, b.data() + at + xbytes);
    at += xbytes;
    f->variants[s] = static_cast<int>(v);
  }
  return at == b.size();
}

// Reads every clip and computes its features (and the training variants) on all cores, with
// progress. A bad clip is a ConfigError naming it: nothing is skipped.
Features compute_features(const SpeechCorpus& c, const SpeechOptions& o) {
  Features f;
  struct Job {
    int split;
    int64_t index;
  };
  std::vector<Job> jobs;
  for (int s = 0; s < 3; ++s) {
    f.variants[s] = s == 0 ? o.variants : 1;
    f.x[s].resize(c.split[s].size() * f.variants[s] * kKwsFeatureBytes);
    f.y[s].resize(c.split[s].size());
    for (std::size_t i = 0; i < c.split[s].size(); ++i) {
      jobs.push_back({s, static_cast<int64_t>(i)});
      f.y[s][i] = c.split[s][i].label;
    }
  }
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::atomic<int64_t> next{0}, done{0};
  std::mutex error_mutex;
  std::string error;
  std::atomic<bool> failed{false};
  const auto start = std::chrono::steady_clock::now();
  auto work = [&]() {
    KwsFrontEnd fe(o.scale, o.zero_point);
    std::vector<int16_t> aug;
    for (int64_t j; !failed && (j = next++) < static_cast<int64_t>(jobs.size());) {
      const Job& job = jobs[j];
      try {
        const SpeechExample& e = c.split[job.split][job.index];
        const std::vector<int16_t> pcm = example_samples(c, e);
        int8_t* out = f.x[job.split].data() + job.index * f.variants[job.split] * kKwsFeatureBytes;
        fe.features(pcm.data(), out);
        std::mt19937_64 rng(mix_seed(o.corpus.seed, 0xa0d10, job.index));
        for (int v = 1; v < f.variants[job.split]; ++v) {
          augment_clip(c, o.augment, rng, pcm, &aug);
          fe.features(aug.data(), out + v * kKwsFeatureBytes);
        }
      } catch (const std::exception& ex) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (error.empty()) error = ex.what();
        failed = true;
      }
      ++done;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  const int64_t total = static_cast<int64_t>(jobs.size());
  auto last = start;
  while (done < total && !failed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(5)) continue;
    last = now;
    const double secs = std::chrono::duration<double>(now - start).count();
    const double rate = done / std::max(secs, 1e-9);
    fmt::print(stderr, "speech-commands features: {}/{} clips ({:.1f}%) {:.0f}/s ETA {:.0f} s\n",
               done.load(), total, 100.0 * done / total, rate, rate > 0 ? (total - done) / rate : 0.0);
  }
  for (auto& t : pool) t.join();
  if (!error.empty()) throw ConfigError(error);
  return f;
}

class SpeechCommands : public Dataset {
 public:
  SpeechCommands(TaskInfo info, Examples train, Examples val, Examples test, at::Tensor variants,
                 double scale, int zero_point, SpeechCorpus corpus,
                 std::vector<int64_t> keep[3])
      : Dataset(std::move(info), std::move(train), std::move(val), std::move(test)),
        variants_(std::move(variants)),
        corpus_(std::move(corpus)) {
    for (int s = 0; s < 3; ++s) keep_[s] = std::move(keep[s]);
    // In float, as the exported model's reference dequantises (QuantParams, Layer::out_scale).
    const float s = static_cast<float>(scale);
    for (int q = -128; q < 128; ++q) lut_[q + 128] = s * static_cast<float>(q - zero_point);
    lut_tensor_ = at::from_blob(lut_, {256}, at::kFloat).clone();
  }

  // The int8 features' real values: scale * (q - zero_point), the network's input quantisation
  // (one table for evaluation and augmentation: the same floats bit for bit).
  at::Tensor prepare(const at::Tensor& q) const override {
    return lut_tensor_.index_select(0, q.to(at::kLong).add_(128).flatten()).view(q.sizes());
  }

  // One of the example's cached versions (clean, or an augmented one) drawn uniformly.
  void augmented(const Examples& set, int64_t k, std::mt19937_64& rng, float* out) const override {
    const int64_t v = variants_.size(1) + 1;
    const int64_t pick = static_cast<int64_t>(rng() % v);
    if (!out) return;
    const bool train = set.inputs.data_ptr() == train_.inputs.data_ptr();
    const int8_t* src = pick == 0 || !train
                            ? set.inputs.data_ptr<int8_t>() + k * kKwsFeatureBytes
                            : variants_.data_ptr<int8_t>() + (k * (v - 1) + pick - 1) * kKwsFeatureBytes;
    for (int i = 0; i < kKwsFeatureBytes; ++i) out[i] = lut_[src[i] + 128];
  }

  // The clip's 1 s of samples (zero-padded), as the device's front end takes it.
  std::vector<float> raw_example(Split s, int64_t k) const override {
    const int i = static_cast<int>(s);
    const SpeechExample& e = corpus_.split[i].at(keep_[i].at(k));
    const std::vector<int16_t> pcm = example_samples(corpus_, e);
    return std::vector<float>(pcm.begin(), pcm.end());
  }

 private:
  at::Tensor variants_;  // int8 [n_train][variants - 1][49][10]
  SpeechCorpus corpus_;
  std::vector<int64_t> keep_[3];  // split example -> corpus example
  float lut_[256];
  at::Tensor lut_tensor_;
};

Examples to_examples(const Features& f, int s, const std::vector<int64_t>& keep) {
  const int64_t n = static_cast<int64_t>(keep.size());
  Examples e;
  e.inputs = at::empty({n, 1, kKwsFrames, kKwsCoefficients}, at::kChar);
  e.targets = at::empty({n}, at::kLong);
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(e.inputs.data_ptr<int8_t>() + i * kKwsFeatureBytes,
                f.x[s].data() + keep[i] * f.variants[s] * kKwsFeatureBytes, kKwsFeatureBytes);
    e.targets.data_ptr<int64_t>()[i] = f.y[s][keep[i]];
  }
  return e;
}

// A seeded permutation of 0..n-1, cut to its first `limit` (limit <= 0 or >= n: all). The
// corpus lists examples word by word; shuffled, the first few of a split (the exporter's
// calibration and firmware clips) cover every class.
std::vector<int64_t> seeded_order(int64_t n, int64_t limit, uint64_t seed) {
  std::vector<int64_t> order = seeded_permutation(n, seed);
  if (limit > 0 && limit < n) order.resize(limit);
  return order;
}

std::unique_ptr<Dataset> load(const DatasetRequest& r) {
  if (r.front_end.kind != "mfcc") {
    throw ConfigError(r.data.where + ": speech-commands is the MFCC front end's output; the space "
                      "needs front_end: {kind: mfcc, scale: ..., zero_point: ...}");
  }
  SpeechOptions o = read_options(r.data, r.front_end);
  if (o.corpus.path.empty()) {
    throw ConfigError(r.data.where + ": speech-commands needs data.path (the Speech Commands v2 "
                      "folder, or where data.synthesize builds the synthetic one)");
  }
  if (!fs::exists(o.corpus.path)) {
    if (!o.synthesize) {
      throw ConfigError(o.corpus.path + ": no such folder (data.path); point it at Speech Commands "
                        "v2, or set data.synthesize: true to build the synthetic corpus there");
    }
    make_data_with_script("make-speech-corpus", {o.corpus.path}, o.corpus.path, "data.synthesize");
  }
  SpeechCorpus corpus = scan_speech_corpus(o.corpus);
  fmt::print(stderr, "speech-commands {}: {}\n", o.corpus.path, corpus.summary());

  const uint64_t key = cache_key(corpus, o);
  std::string cache_dir = o.cache;
  if (cache_dir.empty()) {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    cache_dir = xdg && *xdg ? std::string(xdg) + "/tinynas" : std::string(home ? home : ".") + "/.cache/tinynas";
  }
  const std::string cache_file = fmt::format("{}/speech-commands-{:016x}.bin", cache_dir, key);
  Features f;
  if (!(file_exists(cache_file) && deserialise(read_file(cache_file), key, &f))) {
    f = compute_features(corpus, o);
    std::error_code ec;
    fs::create_directories(cache_dir, ec);
    write_file_atomic(cache_file, serialise(f, key));
    fmt::print(stderr, "speech-commands: features cached in {}\n", cache_file);
  }
  int64_t clipped = 0, total = 0;
  for (int s = 0; s < 3; ++s) {
    for (int8_t q : f.x[s]) clipped += q == -128 || q == 127;
    total += static_cast<int64_t>(f.x[s].size());
  }
  if (total > 0 && clipped > total / 100) {
    fmt::print(stderr, "speech-commands: warning: {:.1f}% of the MFCC values saturate int8; "
               "widen the space's front_end.scale\n", 100.0 * clipped / total);
  }
  for (int s = 0; s < 3; ++s) {
    for (int64_t y : f.y[s]) {
      if (y >= r.num_classes) {
        throw ConfigError(fmt::format("{}: speech-commands has 12 classes; the space predicts {}",
                                      r.data.where, r.num_classes));
      }
    }
  }
  const int64_t n_train = static_cast<int64_t>(f.y[0].size());
  const std::vector<int64_t> keep_train = seeded_order(n_train, r.data.train_images,
                                                       mix_seed(r.data.split_seed, 0x7a1));
  const std::vector<int64_t> keep_val = seeded_order(static_cast<int64_t>(f.y[1].size()),
                                                     r.data.val_size, mix_seed(r.data.split_seed, 0x7a2));
  const std::vector<int64_t> all_test = seeded_order(static_cast<int64_t>(f.y[2].size()), 0,
                                                     mix_seed(r.data.split_seed, 0x7a3));
  Examples train = to_examples(f, 0, keep_train);
  Examples val = r.data.val_size == 0 ? Examples{} : to_examples(f, 1, keep_val);
  Examples test = to_examples(f, 2, all_test);
  const int64_t v = f.variants[0];
  at::Tensor variants = at::empty({static_cast<int64_t>(keep_train.size()), v - 1, kKwsFrames,
                                   kKwsCoefficients}, at::kChar);
  for (std::size_t i = 0; i < keep_train.size(); ++i) {
    std::memcpy(variants.data_ptr<int8_t>() + i * (v - 1) * kKwsFeatureBytes,
                f.x[0].data() + (keep_train[i] * v + 1) * kKwsFeatureBytes, (v - 1) * kKwsFeatureBytes);
  }
  std::vector<int64_t> keep[3] = {keep_train, r.data.val_size == 0 ? std::vector<int64_t>{} : keep_val,
                                  all_test};
  return std::make_unique<SpeechCommands>(speech_commands_info(), std::move(train), std::move(val),
                                          std::move(test), std::move(variants), o.scale, o.zero_point,
                                          std::move(corpus), keep);
}

}  // namespace

TINYNAS_REGISTER_DATASET(speech_commands_info(), load);

}  // namespace tinynas
