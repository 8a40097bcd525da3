// The machine-sounds dataset (anomaly detection, DCASE 2020 Task 2 layout) on a tiny corpus
// written here: two machine ids of ToyCar with two training clips and two normal and two
// anomalous test clips each (0.5 s: 14 log-mel frames, 10 windows of 5), plus a `fan` type.
// Loading, the splits (validation and test both from test/, half of each id's normal and
// anomalous clips each, seeded and disjoint), the window counts, prepare() = the runtime
// log-mel's bytes dequantised, raw_example() through the front end reproducing the stored
// window, index-valued inputs through BatchStream / subset / augmented, the cache, the targets'
// packing, and bad corpora refused naming the file or key.
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "ops/mfcc_tables.h"
#include "ops/op.h"
#include "supernet/dataset.h"
#include "supernet/tasks/anomaly_target.h"
#include "tests/config_error.h"
#include "tests/temp_dir.h"
#include "tests/wav_writer.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;

const std::string kRoot = TINYNAS_SOURCE_DIR;
constexpr int kClipSamples = 8000;  // 0.5 s: 1 + (8000 - 1024) / 512 = 14 frames
constexpr int kClipFrames = 14;
constexpr int kFrames = 5;          // the space's window: 3072 samples
constexpr int kWindowsPerClip = kClipFrames - kFrames + 1;

std::vector<int16_t> machine(double hz, int n, double amplitude, bool anomaly, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 300);
  std::vector<int16_t> x(n);
  for (int i = 0; i < n; ++i) {
    double v = amplitude * std::sin(2 * M_PI * hz * i / 16000.0) + noise(rng);
    if (anomaly) v += 2000.0 * std::sin(2 * M_PI * 3100.0 * i / 16000.0) * ((i / 400) % 2);
    x[i] = static_cast<int16_t>(std::lround(v));
  }
  return x;
}

void put(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string clip_name(const std::string& kind, const std::string& id, int n) {
  return fmt::format("{}_id_{}_{:08d}.wav", kind, id, n);
}

// ToyCar ids 01 and 02: train/ 2 normal clips, test/ 2 normal + 2 anomalous clips each; fan id 00.
void write_corpus(const fs::path& root) {
  const std::vector<std::string> ids = {"01", "02"};
  for (std::size_t g = 0; g < ids.size(); ++g) {
    const double hz = 300.0 + 200.0 * g;
    for (int n = 0; n < 2; ++n) {
      put(root / "ToyCar/train" / clip_name("normal", ids[g], n),
          wav_bytes(machine(hz, kClipSamples, 4000 + 500 * n, false, 100 * g + n)));
      put(root / "ToyCar/test" / clip_name("normal", ids[g], n),
          wav_bytes(machine(hz, kClipSamples, 4200 + 500 * n, false, 100 * g + 10 + n)));
      put(root / "ToyCar/test" / clip_name("anomaly", ids[g], n),
          wav_bytes(machine(hz, kClipSamples, 4100 + 500 * n, true, 100 * g + 20 + n)));
    }
  }
  put(root / "fan/train" / clip_name("normal", "00", 0), wav_bytes(machine(120, kClipSamples, 3000, false, 7)));
  put(root / "fan/test" / clip_name("normal", "00", 0), wav_bytes(machine(120, kClipSamples, 3000, false, 8)));
}

const SearchSpace& ae_space() {
  static const SearchSpace s = SearchSpace::load(kRoot + "/configs/spaces/ae-machine.yaml");
  return s;
}

DataConfig ms_config(const fs::path& root, const std::string& extra = "  machine_type: ToyCar\n",
                     const std::string& hop = "  window_hop: 3\n") {
  const std::string yaml = "data:\n  dataset: machine-sounds\n  path: " + root.string() + "\n  cache: " +
                           (root.parent_path() / "cache").string() + "\n" + hop + extra;
  return DataConfig::from_config(ConfigNode::parse(yaml, "ad.yaml").section("data"));
}

std::unique_ptr<Dataset> load(const DataConfig& d) { return make_dataset(d, TrainConfig{}, ae_space()); }

// The clip each window's samples come from: the file whose samples at `offset` are the window's.
struct ClipFiles {
  std::map<std::string, std::vector<int16_t>> samples;  // test/ and train/ file name -> samples
  explicit ClipFiles(const fs::path& root) {
    for (const char* s : {"train", "test"}) {
      for (const auto& e : fs::directory_iterator(root / "ToyCar" / s)) {
        const std::string b = [&] {
          std::ifstream in(e.path(), std::ios::binary);
          return std::string(std::istreambuf_iterator<char>(in), {});
        }();
        std::vector<int16_t> x((b.size() - 44) / 2);
        std::memcpy(x.data(), b.data() + 44, x.size() * 2);
        samples[std::string(s) + "/" + e.path().filename().string()] = x;
      }
    }
  }
  // The file and the window's first frame.
  std::pair<std::string, int> find(const std::vector<float>& raw) const {
    for (const auto& [name, x] : samples) {
      for (int f = 0; f < kClipFrames; ++f) {
        if (f * 512 + raw.size() > x.size()) break;
        if (std::equal(raw.begin(), raw.end(), x.begin() + f * 512,
                       [](float a, int16_t b) { return a == static_cast<float>(b); })) {
          return {name, f};
        }
      }
    }
    return {"", -1};
  }
};

// Per split: clip index (the targets') -> file.
std::map<int64_t, std::string> clip_files(const Dataset& d, Split s, const ClipFiles& files) {
  const Examples& e = d.split(s);
  std::map<int64_t, std::string> out;
  for (int64_t k = 0; k < e.size(); ++k) {
    const AnomalyTarget t = unpack_anomaly_target(e.targets[k].item<int64_t>());
    const auto [name, frame] = files.find(d.raw_example(s, k));
    EXPECT_FALSE(name.empty()) << split_name(s) << " example " << k;
    if (out.count(t.clip)) {
      EXPECT_EQ(out[t.clip], name) << "clip " << t.clip << " of " << split_name(s);
    }
    out[t.clip] = name;
    // The name says its label and id.
    EXPECT_EQ(name.find("anomaly") != std::string::npos, t.label == 1) << name;
    EXPECT_NE(name.find(t.group == 0 ? "_id_01_" : "_id_02_"), std::string::npos) << name;
  }
  return out;
}

std::vector<int8_t> front_end(const std::vector<float>& raw, const SearchSpace& space) {
  Layer l;
  l.op = &op("logmel");
  l.in = {1, static_cast<int>(raw.size()), 1};
  l.out_scale = static_cast<float>(space.front_end.scale);
  l.out_zero_point = space.front_end.zero_point;
  l.op->infer(&l, 1);
  std::vector<int16_t> pcm(raw.begin(), raw.end());
  std::vector<int8_t> q(static_cast<std::size_t>(l.out.elements()));
  const int8_t* const in[2] = {reinterpret_cast<const int8_t*>(pcm.data()), nullptr};
  const QuantParams none[2];
  l.op->run_int8(l, Int8Layer{}, none, QuantParams{l.out_scale, l.out_zero_point}, in, q.data());
  return q;
}

TEST(MachineSounds, SplitsWindowsAndTargets) {
  TempDir dir("machine_sounds_test");
  const fs::path root = fs::path(dir.path) / "corpus";
  write_corpus(root);
  const auto ds = load(ms_config(root));
  const TaskInfo& info = ds->info();
  EXPECT_EQ(info.task, "anomaly");
  EXPECT_EQ(info.front_end, "logmel");
  EXPECT_EQ(info.input.to_string(), "5x128x1");
  EXPECT_EQ(info.num_classes, 2);
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"normal", "anomaly"}));
  EXPECT_EQ(info.metric.name, "auroc");
  EXPECT_TRUE(info.metric.higher_is_better);

  // Train: 4 clips, windows every 3 frames (0, 3, 6, 9); validation and test: 4 clips each (one
  // normal and one anomalous per id), every window.
  const Examples& train = ds->split(Split::Train);
  const Examples& val = ds->split(Split::Val);
  const Examples& test = ds->split(Split::Test);
  EXPECT_EQ(train.size(), 4 * 4);
  EXPECT_EQ(val.size(), 4 * kWindowsPerClip);
  EXPECT_EQ(test.size(), 4 * kWindowsPerClip);
  EXPECT_EQ(train.inputs.sizes(), (std::vector<int64_t>{16, 1, kFrames, 128}));
  for (int64_t k = 0; k < train.size(); ++k) EXPECT_EQ(unpack_anomaly_target(train.targets[k].item<int64_t>()).label, 0);

  const ClipFiles files(root);
  const auto tr = clip_files(*ds, Split::Train, files);
  const auto v = clip_files(*ds, Split::Val, files);
  const auto t = clip_files(*ds, Split::Test, files);
  EXPECT_EQ(tr.size(), 4u);
  ASSERT_EQ(v.size(), 4u);
  ASSERT_EQ(t.size(), 4u);
  std::set<std::string> vs, ts;
  for (const auto& kv : tr) EXPECT_EQ(kv.second.rfind("train/", 0), 0u) << kv.second;
  for (const auto& kv : v) vs.insert(kv.second);
  for (const auto& kv : t) ts.insert(kv.second);
  EXPECT_EQ(vs.size(), 4u);
  for (const std::string& f : vs) {
    EXPECT_EQ(ts.count(f), 0u) << f << " in validation and test";
    EXPECT_EQ(f.rfind("test/", 0), 0u) << f;
  }
  // One clip of each (id, label) in each split.
  for (const auto* set : {&vs, &ts}) {
    for (const char* kind : {"normal_id_01", "normal_id_02", "anomaly_id_01", "anomaly_id_02"}) {
      EXPECT_EQ(std::count_if(set->begin(), set->end(), [&](const std::string& f) { return f.find(kind) != std::string::npos; }), 1)
          << kind;
    }
  }
  // A clip's windows are consecutive, hop 1 frame, from frame 0.
  for (int64_t k = 0; k < kWindowsPerClip; ++k) {
    const auto [name, frame] = files.find(ds->raw_example(Split::Test, k));
    EXPECT_EQ(name, t.at(0));
    EXPECT_EQ(frame, k);
    EXPECT_EQ(unpack_anomaly_target(test.targets[k].item<int64_t>()).clip, 0);
  }

  // Seeded: the same seed splits the same; some other seed splits otherwise.
  const auto again = load(ms_config(root));
  EXPECT_TRUE(again->split(Split::Val).targets.equal(val.targets));
  EXPECT_EQ(clip_files(*again, Split::Val, files), v);
  bool differs = false;
  for (int seed = 1; seed <= 8 && !differs; ++seed) {
    const auto other = load(ms_config(root, "  machine_type: ToyCar\n  split_seed: " + std::to_string(seed) + "\n"));
    std::set<std::string> ov;
    for (const auto& kv : clip_files(*other, Split::Val, files)) ov.insert(kv.second);
    differs = ov != vs;
  }
  EXPECT_TRUE(differs);

  // val_size 0: no validation, every test clip is in the test split.
  const auto no_val = load(ms_config(root, "  machine_type: ToyCar\n  val_size: 0\n"));
  EXPECT_EQ(no_val->split(Split::Test).size(), 8 * kWindowsPerClip);
  EXPECT_THROW(no_val->split(Split::Val), ConfigError);
  // One machine id; a cap on the training windows.
  const auto one = load(ms_config(root, "  machine_type: ToyCar\n  machine_ids: [2]\n  train_images: 5\n"));
  EXPECT_EQ(one->split(Split::Train).size(), 5);
  EXPECT_EQ(one->split(Split::Test).size(), 2 * kWindowsPerClip);
  for (int64_t k = 0; k < one->split(Split::Test).size(); ++k) {
    EXPECT_EQ(unpack_anomaly_target(one->split(Split::Test).targets[k].item<int64_t>()).group, 0);
  }
  EXPECT_EQ(one->split(Split::Train).inputs.sizes(), (std::vector<int64_t>{5, 1, kFrames, 128}));

  // The features were computed once: one cache file.
  int cached = 0;
  for (const auto& e : fs::directory_iterator(fs::path(dir.path) / "cache")) {
    cached += e.path().filename().string().rfind("machine-sounds-", 0) == 0;
  }
  EXPECT_EQ(cached, 2);  // all ids; id 02 alone (another file list)
}

TEST(MachineSounds, WindowsAreTheRuntimeLogMelDequantised) {
  TempDir dir("machine_sounds_fe_test");
  const fs::path root = fs::path(dir.path) / "corpus";
  write_corpus(root);
  const auto ds = load(ms_config(root));
  const SearchSpace& space = ae_space();
  const float scale = static_cast<float>(space.front_end.scale);
  const int zp = space.front_end.zero_point;
  for (Split s : {Split::Train, Split::Val, Split::Test}) {
    const Examples& e = ds->split(s);
    for (int64_t k : {int64_t{0}, int64_t{3}, e.size() - 1}) {
      // raw_example -> the device's front end -> exactly the stored window.
      const std::vector<float> raw = ds->raw_example(s, k);
      ASSERT_EQ(raw.size(), 3072u);
      const std::vector<int8_t> q = front_end(raw, space);
      ASSERT_EQ(q.size(), 640u);
      const at::Tensor x = ds->prepare(e.inputs.narrow(0, k, 1));
      ASSERT_EQ(x.sizes(), (std::vector<int64_t>{1, 1, kFrames, 128}));
      std::set<int> distinct;
      for (int i = 0; i < 640; ++i) {
        ASSERT_EQ(x.flatten()[i].item<float>(), scale * static_cast<float>(q[i] - zp))
            << split_name(s) << " " << k << " value " << i;
        distinct.insert(q[i]);
      }
      EXPECT_GT(distinct.size(), 10u);
    }
  }
  // augmented(): the same floats, no draws; subset() (calibration batches) and BatchStream keep
  // the stored window indices usable.
  const Examples& train = ds->split(Split::Train);
  std::mt19937_64 rng(3), untouched(3);
  std::vector<float> out(640);
  ds->augmented(train, 7, rng, out.data());
  EXPECT_EQ(rng(), untouched());
  const at::Tensor p7 = ds->prepare(train.inputs.narrow(0, 7, 1)).flatten();
  EXPECT_EQ(std::vector<float>(p7.data_ptr<float>(), p7.data_ptr<float>() + 640), out);
  const Examples sub = train.subset(torch::tensor({7, 2}, torch::kLong));
  const at::Tensor ps = ds->prepare(sub.inputs);
  EXPECT_TRUE(ps[0].flatten().equal(p7));
  EXPECT_TRUE(ps[1].equal(ds->prepare(train.inputs.narrow(0, 2, 1))[0]));
  TrainConfig tc;
  tc.batch_size = 4;
  BatchStream stream(*ds, tc, 0, 1, 0, 0);
  Batch b;
  int64_t seen = 0;
  while (stream.next(&b)) {
    ASSERT_EQ(b.inputs.sizes(), (std::vector<int64_t>{4, 1, kFrames, 128}));
    const std::vector<int64_t> idx = stream.global_indices(stream.position() - 1);
    for (int i = 0; i < 4; ++i) {
      EXPECT_TRUE(b.inputs[i].equal(ds->prepare(train.inputs.narrow(0, idx[i], 1))[0]));
      EXPECT_EQ(b.targets[i].item<int64_t>(), train.targets[idx[i]].item<int64_t>());
    }
    seen += 4;
  }
  EXPECT_EQ(seen, 16);
}

TEST(MachineSounds, BadCorporaAndKeysAreRefusedByName) {
  TempDir dir("machine_sounds_bad_test");
  int k = 0;
  auto check = [&](const std::function<void(const fs::path&)>& change, const std::string& extra,
                   const std::vector<std::string>& words) {
    const fs::path root = fs::path(dir.path) / ("c" + std::to_string(k++));
    write_corpus(root);
    change(root);
    const std::string e = error_of([&] { load(ms_config(root, extra)); });
    for (const std::string& w : words) EXPECT_NE(e.find(w), std::string::npos) << w << " not in: " << e;
  };
  const std::string toycar = "  machine_type: ToyCar\n";
  auto none = [](const fs::path&) {};
  check(none, "", {"data.machine_type", "ToyCar, fan"});
  check(none, "  machine_type: slider\n", {"'slider'", "ToyCar, fan"});
  check(none, toycar + "  machine_ids: [\"03\"]\n", {"data.machine_ids", "'03'", "01, 02"});
  const std::string hop0 = error_of([&] { load(ms_config(fs::path(dir.path) / "c0", toycar, "  window_hop: 0\n")); });
  EXPECT_NE(hop0.find("data.window_hop"), std::string::npos) << hop0;
  check([](const fs::path& r) { put(r / "ToyCar/test/notes.txt", "x"); }, toycar,
        {"ToyCar/test/notes.txt", "normal_id_<XX>_<N>.wav"});
  check([](const fs::path& r) { put(r / "ToyCar/train" / clip_name("anomaly", "01", 5), wav_bytes(machine(300, 8000, 1, true, 1))); },
        toycar, {"anomaly_id_01_00000005.wav", "normal sounds only"});
  WavSpec stereo;
  stereo.channels = 2;
  check([&](const fs::path& r) { put(r / "ToyCar/test" / clip_name("normal", "02", 1), wav_bytes(machine(300, 8000, 1, false, 1), stereo)); },
        toycar, {"normal_id_02_00000001.wav", "2 channels", "16000 Hz mono"});
  check([](const fs::path& r) { put(r / "ToyCar/train" / clip_name("normal", "01", 0), wav_bytes(machine(300, 2000, 1000, false, 1))); },
        toycar, {"normal_id_01_00000000.wav", "a window takes 5"});
  check([](const fs::path& r) {
          for (int n = 0; n < 2; ++n) fs::remove(r / "ToyCar/test" / clip_name("anomaly", "02", n));
        },
        toycar, {"machine id 02", "0 anomalous"});
  check([](const fs::path& r) { fs::remove_all(r / "ToyCar/test"); }, toycar, {"ToyCar/test: missing"});
  const std::string missing = error_of([&] { load(ms_config(fs::path(dir.path) / "none")); });
  EXPECT_NE(missing.find("data.synthesize: true"), std::string::npos) << missing;
  const std::string typo = error_of([&] { ms_config(fs::path(dir.path), "  machine_typ: ToyCar\n"); });
  EXPECT_NE(typo.find("machine_type"), std::string::npos) << typo;
  // The space must run the log-mel front end.
  write_corpus(fs::path(dir.path) / "ok");
  SearchSpace wrong = ae_space();
  wrong.front_end.samples = 4096;
  const std::string samples = error_of([&] { make_dataset(ms_config(fs::path(dir.path) / "ok"), TrainConfig{}, wrong); });
  EXPECT_NE(samples.find("3072 samples"), std::string::npos) << samples;
}

TEST(AnomalyTarget, PacksLabelClipAndGroup) {
  for (const AnomalyTarget t : {AnomalyTarget{0, 0, 0}, AnomalyTarget{1, 5, 3},
                                AnomalyTarget{1, kAnomalyMaxClips - 1, 7}, AnomalyTarget{0, 12345, 2000000000}}) {
    const int64_t v = pack_anomaly_target(t);
    const AnomalyTarget u = unpack_anomaly_target(v);
    EXPECT_EQ(u.label, t.label);
    EXPECT_EQ(u.clip, t.clip);
    EXPECT_EQ(u.group, t.group);
    EXPECT_GE(v, 0);
  }
  EXPECT_EQ(pack_anomaly_target({1, 2, 3}), 1 | 2 << 1 | int64_t{3} << 32);
  EXPECT_THROW(pack_anomaly_target({2, 0, 0}), std::invalid_argument);
  EXPECT_THROW(pack_anomaly_target({0, kAnomalyMaxClips, 0}), std::invalid_argument);
  EXPECT_THROW(pack_anomaly_target({0, -1, 0}), std::invalid_argument);
  EXPECT_THROW(pack_anomaly_target({0, 0, -1}), std::invalid_argument);
}

}  // namespace
}  // namespace tinynas
