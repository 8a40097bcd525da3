// Machine sounds for anomaly detection, as MLPerf Tiny's AD benchmark (DCASE 2020 Task 2,
// ToyADMOS / MIMII): one machine type (data.machine_type), its machine ids (data.machine_ids,
// default all), 16 kHz mono 16-bit clips -> the runtime's fixed-point log-mel (128 bands, frame
// 1024, step 512: the `logmel` front end, ops/kinds/logmel.cpp), exactly the bytes the exported
// firmware computes on the device. An example is a window of `frames` consecutive frames (the
// space's input height: 5 frames = 3072 samples = 640 values, MLPerf's autoencoder input); the
// task ("anomaly", supernet/tasks/anomaly.h) scores a clip by the mean of its windows'
// reconstruction errors and reports the AUROC per machine id, averaged.
//
// The layout (the real DCASE 2020 Task 2 development data, or scripts/make-machine-sounds's
// synthetic one, built at data.path on first use with data.synthesize):
//   <machine_type>/train/normal_id_<XX>_<N>.wav            normal clips only
//   <machine_type>/test/{normal,anomaly}_id_<XX>_<N>.wav   labelled test clips
//
// Splits. Training: every train/ clip (normal) of the selected ids, windows every
// data.window_hop frames (data.train_images > 0: a seeded subset of that many windows), the
// clips in a seeded order, a clip's windows together.
// Validation and test are both drawn from test/: per machine id, a seeded half (rounded down)
// of its normal and a seeded half of its anomalous test clips are the validation split (what the
// search optimises), the other halves the test split (final reports), so neither is ever tuned
// on the clips it reports. data.val_size only switches validation off (0: every test clip is in
// the test split); the clip counts are the data's. Validation and test windows hop 1 frame
// (every window, as MLPerf scores), their clips in a seeded order (so any prefix of a split, as
// an evaluation of its first examples takes, mixes ids and labels), a clip's windows together.
//
// Features. Each clip's log-mel frames are computed once with the host build of the runtime's
// tn_mfcc_s8 (tables from ops/mfcc_tables.h at the space's front_end scale / zero point) into
// one int8 frame bank [frames][128], cached in data.cache (a folder; default
// $XDG_CACHE_HOME/tinynas) under a key over the files (path, size, mtime), the tables and the
// quantisation. Windows overlap by frames - 1 frames, so an example does not store its window:
// Examples::inputs holds the index of its first frame in the bank (int64), viewed with
// expand() as [N, 1, frames, 128] (stride 0 beyond the first dimension: no memory) so that code
// reading the stored shape (BatchStream) sees the network's; prepare() and augmented() gather
// the window and dequantise it (real = scale * (q - zero_point)). No augmentation.
//
// Targets (supernet/tasks/anomaly_target.h): label | clip << 1 | group << 32, label 1 = anomaly,
// clip = the clip's index within its split, group = the machine id's index in the sorted list of
// selected ids.
#include <ATen/ATen.h>
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "ops/mfcc_tables.h"
#include "search_spaces/atomic_file.h"
#include "search_spaces/hash.h"
#include "supernet/dataset.h"
#include "supernet/datasets/data_script.h"
#include "supernet/datasets/wav.h"
#include "supernet/tasks/anomaly_target.h"

namespace tinynas {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kCacheVersion = 1;
constexpr int kSampleRate = 16000;
constexpr int kMels = 128;
constexpr int kDefaultFrames = 5;  // MLPerf Tiny: 5 x 128 = 640 inputs
constexpr const char* kFormat = "TNMSF001";

TaskInfo machine_sounds_info(int frames = kDefaultFrames) {
  TaskInfo t;
  t.dataset = "machine-sounds";
  t.task = "anomaly";
  t.summary = "DCASE 2020 Task 2 machine sounds (ToyADMOS / MIMII layout) for anomaly detection as "
              "MLPerf Tiny: 16 kHz clips -> 128-band log-mel windows, trained on train/ (normal), "
              "validation and test = seeded halves of each machine id's normal and anomalous test/ "
              "clips, scored by the clips' AUROC per machine id, averaged";
  t.input = {frames, kMels, 1};
  t.num_classes = 2;
  t.class_names = {"normal", "anomaly"};
  t.metric = Metric::auroc();
  t.options = {"machine_type", "machine_ids", "synthesize", "cache", "window_hop"};
  t.front_end = "logmel";
  return t;
}

struct Clip {
  std::string path;
  int label = 0;  // 1 = anomaly
  int group = 0;  // index of its machine id
};

struct Options {
  std::string path, type, cache;
  std::vector<std::string> ids;  // as written (e.g. "01"); empty = all
  bool synthesize = false;
  // scripts/make-machine-sounds's clip counts per machine id (its defaults: 30 / 10 / 10).
  std::vector<std::string> synth_args;
  int window_hop = 1;
  double scale = 0;
  int zero_point = 0;
};

// The machine types under `root`: its folders holding a train/ or test/ folder.
std::vector<std::string> machine_types(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    if (e.is_directory() && (fs::is_directory(e.path() / "train") || fs::is_directory(e.path() / "test"))) {
      out.push_back(e.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "(none)" : s;
}

// "01", "1", 1, "id_01" name the same machine id.
std::string id_key(std::string id) {
  if (id.rfind("id_", 0) == 0) id = id.substr(3);
  if (!id.empty() && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    id.erase(0, std::min(id.find_first_not_of('0'), id.size() - 1));
  }
  return id;
}

Options read_options(const DataConfig& data, const FrontEndSpec& fe) {
  Options o;
  o.path = data.path;
  o.scale = fe.scale;
  o.zero_point = fe.zero_point;
  const std::string where = data.where.empty() ? "data" : data.where;
  if (!data.node || !data.node->has("machine_type")) {
    std::string found;
    if (!o.path.empty() && fs::is_directory(o.path)) found = "; " + o.path + " has: " + joined(machine_types(o.path));
    throw ConfigError(fmt::format("{}: machine-sounds needs data.machine_type (the folder of one "
                                  "machine type under data.path, e.g. ToyCar){}", where, found));
  }
  const ConfigNode& n = *data.node;
  o.type = n.at("machine_type").as_string();
  if (o.type.empty() || o.type.find('/') != std::string::npos || o.type[0] == '.') {
    n.at("machine_type").fail("expected a machine type's folder name (e.g. ToyCar)");
  }
  if (n.has("machine_ids")) {
    const ConfigNode ids = n.at("machine_ids");
    if (!ids.is_sequence() || ids.size() == 0) ids.fail("expected a non-empty list of machine ids (e.g. [\"01\", \"02\"])");
    for (const ConfigNode& id : ids.items()) o.ids.push_back(id.as_string());
  }
  // synthesize: true, or the corpus's size: {train: 200, test_normal: 60, test_anomaly: 60}
  // (clips per machine id; scripts/make-machine-sounds's --train, --test-normal, --test-anomaly).
  if (n.has("synthesize") && n.at("synthesize").is_map()) {
    const ConfigNode sz = n.at("synthesize");
    sz.check_keys({"train", "test_normal", "test_anomaly"});
    o.synthesize = true;
    for (const auto& [key, flag] : std::vector<std::pair<const char*, const char*>>{
             {"train", "--train"}, {"test_normal", "--test-normal"}, {"test_anomaly", "--test-anomaly"}}) {
      if (sz.has(key)) {
        o.synth_args.push_back(flag);
        o.synth_args.push_back(std::to_string(sz.at(key).as_int(1, 100000)));
      }
    }
  } else {
    o.synthesize = n.get_bool("synthesize", false);
  }
  if (n.has("cache")) o.cache = n.at("cache").as_path();
  o.window_hop = static_cast<int>(n.get_int("window_hop", 1, 1, 10000));
  return o;
}

struct Corpus {
  std::vector<std::string> ids;  // selected machine ids (group order), as in the file names
  std::vector<Clip> train, test;
  std::string summary() const {
    std::string s = fmt::format("{} machine ids ({})", ids.size(), joined(ids));
    for (std::size_t g = 0; g < ids.size(); ++g) {
      int64_t tr = 0, nn = 0, na = 0;
      for (const Clip& c : train) tr += c.group == static_cast<int>(g);
      for (const Clip& c : test) (c.label ? na : nn) += c.group == static_cast<int>(g);
      s += fmt::format("; id {}: {} train, {} normal + {} anomalous test clips", ids[g], tr, nn, na);
    }
    return s;
  }
};

// Scans <path>/<type>/{train,test}: ConfigError naming the folder or file for a missing type
// (listing those found), a missing split folder, a file not named as DCASE names them, an
// anomalous clip in train/, an unknown requested id, an id without training clips or without
// normal or anomalous test clips.
Corpus scan(const Options& o, const std::string& where) {
  const fs::path root(o.path);
  if (!fs::is_directory(root)) {
    throw ConfigError(o.path + ": no such folder (data.path); expected a DCASE 2020 Task 2 layout "
                      "(<machine_type>/train, <machine_type>/test), or set data.synthesize: true");
  }
  const fs::path dir = root / o.type;
  if (!fs::is_directory(dir)) {
    throw ConfigError(fmt::format("{}: data.machine_type '{}' is not a folder of {}; it has: {}", where,
                                  o.type, o.path, joined(machine_types(root))));
  }
  static const std::regex name_re(R"(^(normal|anomaly)_id_([0-9]+)_([0-9]+)\.wav$)");
  std::map<std::string, std::vector<Clip>> by_id[2];  // id -> clips, per split
  for (int s = 0; s < 2; ++s) {
    const fs::path sd = dir / (s == 0 ? "train" : "test");
    if (!fs::is_directory(sd)) {
      throw ConfigError(sd.string() + ": missing; a machine type has train/ (normal clips) and test/ "
                        "(normal and anomalous clips)");
    }
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(sd)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (name[0] == '.') continue;
      const fs::path file = sd / name;
      std::smatch m;
      if (!std::regex_match(name, m, name_re) || !fs::is_regular_file(file)) {
        throw ConfigError(file.string() + ": not a clip named as DCASE names them "
                          "(normal_id_<XX>_<N>.wav or anomaly_id_<XX>_<N>.wav)");
      }
      Clip c;
      c.path = file.string();
      c.label = m[1] == "anomaly";
      if (s == 0 && c.label) {
        throw ConfigError(file.string() + ": an anomalous clip in train/; training data is normal sounds only");
      }
      by_id[s][m[2].str()].push_back(c);
    }
  }
  std::set<std::string> all_ids;
  for (int s = 0; s < 2; ++s) {
    for (const auto& kv : by_id[s]) all_ids.insert(kv.first);
  }
  std::vector<std::string> found(all_ids.begin(), all_ids.end());
  Corpus c;
  if (o.ids.empty()) {
    c.ids = found;
  } else {
    for (const std::string& want : o.ids) {
      const auto it = std::find_if(found.begin(), found.end(),
                                   [&](const std::string& f) { return id_key(f) == id_key(want); });
      if (it == found.end()) {
        throw ConfigError(fmt::format("{}: data.machine_ids: no machine id '{}' in {}; it has: {}", where,
                                      want, dir.string(), joined(found)));
      }
      if (std::find(c.ids.begin(), c.ids.end(), *it) == c.ids.end()) c.ids.push_back(*it);
    }
    std::sort(c.ids.begin(), c.ids.end());
  }
  if (c.ids.empty()) throw ConfigError(dir.string() + ": no clips in train/ or test/");
  for (std::size_t g = 0; g < c.ids.size(); ++g) {
    const std::string& id = c.ids[g];
    int64_t counts[3] = {0, 0, 0};  // train, test normal, test anomaly
    for (int s = 0; s < 2; ++s) {
      const auto it = by_id[s].find(id);
      if (it == by_id[s].end()) continue;
      for (Clip clip : it->second) {
        clip.group = static_cast<int>(g);
        ++counts[s == 0 ? 0 : 1 + clip.label];
        (s == 0 ? c.train : c.test).push_back(clip);
      }
    }
    if (counts[0] == 0 || counts[1] == 0 || counts[2] == 0) {
      throw ConfigError(fmt::format("{}: machine id {} has {} training, {} normal and {} anomalous test "
                                    "clips; each id needs all three (or leave it out: data.machine_ids)",
                                    dir.string(), id, counts[0], counts[1], counts[2]));
    }
  }
  return c;
}

// A clip as the front end takes it: 16 kHz mono (ConfigError naming the file otherwise).
std::vector<int16_t> read_clip(const std::string& path) {
  WavAudio w = read_wav(path);
  if (w.sample_rate != kSampleRate || w.channels != 1) {
    throw ConfigError(fmt::format("{}: {} Hz with {} channels; expected {} Hz mono", path, w.sample_rate,
                                  w.channels, kSampleRate));
  }
  return std::move(w.samples);
}

// The bank: every clip's log-mel frames (train clips, then test clips), [frames][128] int8.
struct Bank {
  std::vector<int8_t> bytes;
  std::vector<int64_t> offset;  // first frame of each clip
  std::vector<int64_t> frames;  // frames of each clip
};

uint64_t cache_key(const Corpus& c, const Options& o, const tn_mfcc_params_t& p) {
  Fnv1a h;
  h.add(static_cast<int64_t>(kCacheVersion)).add(std::string(front_end_tables_name(FrontEndTables::AdLogMel)));
  h.add(static_cast<int64_t>(std::llround(o.scale * 1e9))).add(o.zero_point);
  h.add(p.frame_length).add(p.frame_step).add(p.fft_length).add(p.num_mel).add(static_cast<int64_t>(p.log_floor));
  h.add(p.out_multiplier).add(p.out_shift);
  for (const std::vector<Clip>* set : {&c.train, &c.test}) {
    h.add(static_cast<int64_t>(set->size()));
    for (const Clip& clip : *set) {
      std::error_code ec;
      h.add(clip.path).add(static_cast<int64_t>(fs::file_size(clip.path, ec)));
      h.add(static_cast<int64_t>(fs::last_write_time(clip.path, ec).time_since_epoch().count()));
    }
  }
  return h.value();
}

std::string serialise(const Bank& b, uint64_t key) {
  std::string out = kFormat;
  auto put = [&](int64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(static_cast<int64_t>(key));
  put(static_cast<int64_t>(b.frames.size()));
  for (int64_t f : b.frames) put(f);
  out.append(reinterpret_cast<const char*>(b.bytes.data()), b.bytes.size());
  return out;
}

bool deserialise(const std::string& s, uint64_t key, std::size_t clips, Bank* b) {
  std::size_t at = 8;
  auto get = [&](int64_t* v) {
    if (at + sizeof *v > s.size()) return false;
    std::memcpy(v, s.data() + at, sizeof *v);
    at += sizeof *v;
    return true;
  };
  int64_t k = 0, n = 0;
  if (s.compare(0, 8, kFormat) != 0 || !get(&k) || static_cast<uint64_t>(k) != key || !get(&n) ||
      n != static_cast<int64_t>(clips)) {
    return false;
  }
  b->frames.resize(n);
  b->offset.resize(n);
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!get(&b->frames[i]) || b->frames[i] < 0) return false;
    b->offset[i] = total;
    total += b->frames[i];
  }
  if (at + static_cast<std::size_t>(total) * kMels != s.size()) return false;
  b->bytes.assign(s.data() + at, s.data() + s.size());
  return true;
}

// Reads every clip and computes its frames on all cores, with progress. A bad clip is a
// ConfigError naming it: nothing is skipped.
Bank compute_bank(const std::vector<const Clip*>& clips, const tn_mfcc_params_t& p) {
  const int64_t n = static_cast<int64_t>(clips.size());
  std::vector<std::vector<int8_t>> per_clip(n);
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::atomic<int64_t> next{0}, done{0};
  std::mutex error_mutex;
  std::string error;
  std::atomic<bool> failed{false};
  const auto start = std::chrono::steady_clock::now();
  auto work = [&]() {
    std::vector<uint64_t> scratch((tn_mfcc_s8_scratch_bytes(&p) + 7) / 8);
    for (int64_t j; !failed && (j = next++) < n;) {
      try {
        const std::vector<int16_t> pcm = read_clip(clips[j]->path);
        const int32_t frames = tn_mfcc_num_frames(&p, static_cast<int32_t>(pcm.size()));
        if (frames < 1) {
          throw ConfigError(fmt::format("{}: {} samples; a clip needs at least one frame ({} samples)",
                                        clips[j]->path, pcm.size(), p.frame_length));
        }
        per_clip[j].resize(static_cast<std::size_t>(frames) * kMels);
        const int rc = tn_mfcc_s8(&p, pcm.data(), static_cast<int32_t>(pcm.size()), per_clip[j].data(),
                                  scratch.data());
        if (rc != TN_OK) throw std::runtime_error(fmt::format("{}: tn_mfcc_s8 failed ({})", clips[j]->path, rc));
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
  auto last = start;
  while (done < n && !failed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(5)) continue;
    last = now;
    const double secs = std::chrono::duration<double>(now - start).count();
    const double rate = done / std::max(secs, 1e-9);
    fmt::print(stderr, "machine-sounds features: {}/{} clips ({:.1f}%) {:.1f}/s ETA {:.0f} s\n", done.load(),
               n, 100.0 * done / n, rate, rate > 0 ? (n - done) / rate : 0.0);
  }
  for (auto& t : pool) t.join();
  if (!error.empty()) throw ConfigError(error);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(stderr, "machine-sounds features: {} clips in {:.1f} s ({:.1f} clips/s)\n", n, secs,
             n / std::max(secs, 1e-9));
  Bank b;
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    b.offset.push_back(total);
    b.frames.push_back(static_cast<int64_t>(per_clip[i].size()) / kMels);
    total += b.frames.back();
  }
  b.bytes.reserve(static_cast<std::size_t>(total) * kMels);
  for (auto& v : per_clip) {
    b.bytes.insert(b.bytes.end(), v.begin(), v.end());
    std::vector<int8_t>().swap(v);
  }
  return b;
}

// A split's clips (indices into the bank's clip list) -> its examples: windows of `frames`
// frames every `hop` frames.
Examples windows(const std::vector<int64_t>& clips, const std::vector<const Clip*>& all, const Bank& b,
                 int frames, int hop) {
  std::vector<int64_t> first, target;
  for (std::size_t k = 0; k < clips.size(); ++k) {
    const int64_t c = clips[k];
    if (b.frames[c] < frames) {
      throw ConfigError(fmt::format("{}: {} log-mel frames; a window takes {} (the space's input height)",
                                    all[c]->path, b.frames[c], frames));
    }
    const int64_t t = pack_anomaly_target({all[c]->label, static_cast<int64_t>(k), all[c]->group});
    for (int64_t f = 0; f + frames <= b.frames[c]; f += hop) {
      first.push_back(b.offset[c] + f);
      target.push_back(t);
    }
  }
  const int64_t n = static_cast<int64_t>(first.size());
  Examples e;
  e.inputs = at::empty({n}, at::kLong);
  e.targets = at::empty({n}, at::kLong);
  if (n > 0) {
    std::memcpy(e.inputs.data_ptr<int64_t>(), first.data(), n * sizeof(int64_t));
    std::memcpy(e.targets.data_ptr<int64_t>(), target.data(), n * sizeof(int64_t));
  }
  e.inputs = e.inputs.view({n, 1, 1, 1}).expand({n, 1, frames, kMels});
  return e;
}

class MachineSounds : public Dataset {
 public:
  MachineSounds(TaskInfo info, Examples train, Examples val, Examples test, Bank bank,
                std::vector<int64_t> split_clips[3], Corpus corpus, int frames, const tn_mfcc_params_t& p,
                double scale, int zero_point)
      : Dataset(std::move(info), std::move(train), std::move(val), std::move(test)),
        bank_(std::move(bank)),
        corpus_(std::move(corpus)),
        frames_(frames),
        frame_step_(p.frame_step),
        window_samples_(p.frame_length + (frames - 1) * p.frame_step) {
    // The bank's clip order: train clips, then test clips.
    for (const Clip& c : corpus_.train) clips_.push_back(&c);
    for (const Clip& c : corpus_.test) clips_.push_back(&c);
    for (int s = 0; s < 3; ++s) split_clips_[s] = std::move(split_clips[s]);
    // In float, as the exported model's reference dequantises (QuantParams, Layer::out_scale).
    const float fs = static_cast<float>(scale);
    for (int q = -128; q < 128; ++q) lut_[q + 128] = fs * static_cast<float>(q - zero_point);
  }

  // Window indices (as stored: [n, 1, frames, 128] expanded, or [n]) -> float [n, 1, frames, 128].
  at::Tensor prepare(const at::Tensor& stored) const override {
    const at::Tensor idx = first_frames(stored);
    const int64_t n = idx.size(0), per = int64_t{frames_} * kMels;
    at::Tensor out = at::empty({n, 1, frames_, kMels}, at::kFloat);
    const int64_t* ix = idx.data_ptr<int64_t>();
    float* dst = out.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) gather(ix[i], dst + i * per);
    return out;
  }

  // No augmentation: the window as prepare() makes it (and no draws).
  void augmented(const Examples& set, int64_t k, std::mt19937_64&, float* out) const override {
    if (!out) return;
    gather(set.inputs.data_ptr<int64_t>()[k * set.inputs.stride(0)], out);
  }

  // The window's samples: frame_length + (frames - 1) * frame_step of its clip, from its first
  // frame's sample on.
  std::vector<float> raw_example(Split s, int64_t k) const override {
    const Examples& set = split(s);
    if (k < 0 || k >= set.size()) {
      throw ConfigError(fmt::format("machine-sounds: no example {} in the {} split ({} examples)", k,
                                    split_name(s), set.size()));
    }
    const int64_t first = set.inputs.data_ptr<int64_t>()[k * set.inputs.stride(0)];
    const AnomalyTarget t = unpack_anomaly_target(set.targets.data_ptr<int64_t>()[k]);
    const int64_t clip = split_clips_[static_cast<int>(s)].at(t.clip);
    const int64_t start = (first - bank_.offset[clip]) * frame_step_;
    const std::vector<int16_t> pcm = read_clip(clips_[clip]->path);
    if (start + window_samples_ > static_cast<int64_t>(pcm.size())) {
      throw ConfigError(clips_[clip]->path + ": changed since its features were computed (shorter)");
    }
    return std::vector<float>(pcm.begin() + start, pcm.begin() + start + window_samples_);
  }

 private:
  static at::Tensor first_frames(const at::Tensor& stored) {
    at::Tensor idx = stored;
    while (idx.dim() > 1) idx = idx.select(1, 0);
    return idx.to(at::kLong).contiguous();
  }

  void gather(int64_t first, float* out) const {
    const int8_t* src = bank_.bytes.data() + first * kMels;
    for (int64_t i = 0; i < int64_t{frames_} * kMels; ++i) out[i] = lut_[src[i] + 128];
  }

  Bank bank_;
  Corpus corpus_;
  std::vector<const Clip*> clips_;     // bank order: train clips, then test clips
  std::vector<int64_t> split_clips_[3];  // split clip index -> bank clip
  int frames_, frame_step_, window_samples_;
  float lut_[256];
};

std::unique_ptr<Dataset> load(const DatasetRequest& r) {
  const std::string where = r.data.where.empty() ? "data.dataset" : r.data.where;
  if (r.front_end.kind != "logmel") {
    throw ConfigError(where + ": machine-sounds is the log-mel front end's output; the space needs "
                      "front_end: {kind: logmel, samples: 3072, scale: ..., zero_point: ...}");
  }
  Options o = read_options(r.data, r.front_end);
  const tn_mfcc_params_t* params = nullptr;
  try {
    params = &front_end_params(FrontEndTables::AdLogMel, static_cast<float>(o.scale), o.zero_point);
  } catch (const std::invalid_argument&) {
    throw ConfigError(fmt::format("{}: the space's front_end scale {} and zero point {} are not a valid "
                                  "int8 quantisation (scale > 0, zero point in [-128, 127])",
                                  where, o.scale, o.zero_point));
  }
  const tn_mfcc_params_t& p = *params;
  const int frames = r.input_height > 0 ? r.input_height : kDefaultFrames;
  const int window_samples = p.frame_length + (frames - 1) * p.frame_step;
  if (r.front_end.samples != window_samples) {
    throw ConfigError(fmt::format("{}: the space's front_end.samples is {}, its input {} frames: a window "
                                  "of {} log-mel frames is {} samples", where, r.front_end.samples,
                                  frames, frames, window_samples));
  }
  if (o.path.empty()) {
    throw ConfigError(where + ": machine-sounds needs data.path (the DCASE 2020 Task 2 folder holding "
                      "<machine_type>/, or where data.synthesize builds the synthetic one)");
  }
  if (!fs::exists(o.path)) {
    if (!o.synthesize) {
      throw ConfigError(o.path + ": no such folder (data.path); point it at the DCASE 2020 Task 2 "
                        "data, or set data.synthesize: true to build the synthetic corpus there");
    }
    std::vector<std::string> args = {o.path, "--machine-types", o.type};
    args.insert(args.end(), o.synth_args.begin(), o.synth_args.end());
    make_data_with_script("make-machine-sounds", args, o.path, "data.synthesize");
  }
  Corpus corpus = scan(o, where);
  fmt::print(stderr, "machine-sounds {}/{}: {}\n", o.path, o.type, corpus.summary());

  std::vector<const Clip*> all;
  for (const Clip& c : corpus.train) all.push_back(&c);
  for (const Clip& c : corpus.test) all.push_back(&c);
  const uint64_t key = cache_key(corpus, o, p);
  std::string cache_dir = o.cache;
  if (cache_dir.empty()) {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    cache_dir = xdg && *xdg ? std::string(xdg) + "/tinynas" : std::string(home ? home : ".") + "/.cache/tinynas";
  }
  const std::string cache_file = fmt::format("{}/machine-sounds-{:016x}.bin", cache_dir, key);
  Bank bank;
  if (!(file_exists(cache_file) && deserialise(read_file(cache_file), key, all.size(), &bank))) {
    bank = compute_bank(all, p);
    std::error_code ec;
    fs::create_directories(cache_dir, ec);
    write_file_atomic(cache_file, serialise(bank, key));
    fmt::print(stderr, "machine-sounds: features cached in {}\n", cache_file);
  }
  int64_t clipped = 0;
  for (int8_t q : bank.bytes) clipped += q == -128 || q == 127;
  if (!bank.bytes.empty() && clipped > static_cast<int64_t>(bank.bytes.size() / 100)) {
    fmt::print(stderr, "machine-sounds: warning: {:.1f}% of the log-mel values saturate int8; widen the "
               "space's front_end.scale or move its zero_point\n", 100.0 * clipped / bank.bytes.size());
  }

  // Splits: train = train/ clips; per machine id a seeded half of its normal and of its anomalous
  // test clips = validation, the rest = test.
  // Training clips in a seeded order too: the first windows of a split (the exporter's
  // calibration and firmware inputs) are then not always the first id's first clips.
  std::vector<int64_t> split_clips[3];
  const int64_t n_train = static_cast<int64_t>(corpus.train.size());
  split_clips[0] = seeded_permutation(n_train, mix_seed(r.data.split_seed, 0xad4));
  std::vector<int64_t> val, test;
  for (std::size_t g = 0; g < corpus.ids.size(); ++g) {
    for (int label = 0; label < 2; ++label) {
      std::vector<int64_t> members;
      for (std::size_t i = 0; i < corpus.test.size(); ++i) {
        if (corpus.test[i].group == static_cast<int>(g) && corpus.test[i].label == label) {
          members.push_back(n_train + static_cast<int64_t>(i));
        }
      }
      const std::vector<int64_t> order = seeded_permutation(static_cast<int64_t>(members.size()),
                                                            mix_seed(r.data.split_seed, 0xad5, g, label));
      const std::size_t n_val = r.data.val_size == 0 ? 0 : members.size() / 2;
      for (std::size_t k = 0; k < members.size(); ++k) (k < n_val ? val : test).push_back(members[order[k]]);
    }
  }
  // Clip order within validation and test: seeded, so that any prefix mixes ids and labels.
  auto shuffle = [&](std::vector<int64_t>* set, uint64_t salt) {
    std::sort(set->begin(), set->end());
    const std::vector<int64_t> order = seeded_permutation(static_cast<int64_t>(set->size()),
                                                          mix_seed(r.data.split_seed, salt));
    std::vector<int64_t> shuffled;
    for (int64_t k : order) shuffled.push_back((*set)[k]);
    *set = std::move(shuffled);
  };
  shuffle(&val, 0xad6);
  shuffle(&test, 0xad7);
  split_clips[1] = std::move(val);
  split_clips[2] = std::move(test);

  Examples train = windows(split_clips[0], all, bank, frames, o.window_hop);
  if (r.data.train_images > 0 && r.data.train_images < train.size()) {
    std::vector<int64_t> keep = seeded_permutation(train.size(), mix_seed(r.data.split_seed, 0xad8));
    keep.resize(r.data.train_images);
    std::sort(keep.begin(), keep.end());
    const at::Tensor idx = at::from_blob(keep.data(), {static_cast<int64_t>(keep.size())}, at::kLong).clone();
    const at::Tensor first = train.inputs.select(3, 0).select(2, 0).select(1, 0).index_select(0, idx);
    const int64_t n = idx.size(0);
    train.inputs = first.contiguous().view({n, 1, 1, 1}).expand({n, 1, frames, kMels});
    train.targets = train.targets.index_select(0, idx);
  }
  Examples val_examples = r.data.val_size == 0 ? Examples{} : windows(split_clips[1], all, bank, frames, 1);
  Examples test_examples = windows(split_clips[2], all, bank, frames, 1);
  fmt::print(stderr, "machine-sounds: {} training windows (hop {}), {} validation windows ({} clips), {} test "
             "windows ({} clips) of {} frames\n", train.size(), o.window_hop, val_examples.size(),
             split_clips[1].size(), test_examples.size(), split_clips[2].size(), frames);
  return std::make_unique<MachineSounds>(machine_sounds_info(frames), std::move(train), std::move(val_examples),
                                         std::move(test_examples), std::move(bank), split_clips,
                                         std::move(corpus), frames, p, o.scale, o.zero_point);
}

}  // namespace

TINYNAS_REGISTER_DATASET(machine_sounds_info(), load);

}  // namespace tinynas
