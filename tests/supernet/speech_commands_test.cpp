// The Speech Commands dataset on a small corpus written here: the layout's splits (lists),
// MLPerf Tiny's 12 classes with silence cut from the background noise and unknown words kept by
// percentage, features that are exactly the runtime MFCC's bytes, the feature cache, the
// augmented versions, and every kind of bad corpus refused naming the file.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "search_spaces/atomic_file.h"
#include "ops/op.h"
#include "supernet/dataset.h"
#include "supernet/datasets/speech_corpus.h"
#include "tests/config_error.h"
#include "tests/temp_dir.h"
#include "tests/wav_writer.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;

std::vector<int16_t> tone(double hz, int n, double amplitude, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 200);
  std::vector<int16_t> x(n);
  for (int i = 0; i < n; ++i) {
    x[i] = static_cast<int16_t>(std::lround(amplitude * std::sin(2 * M_PI * hz * i / 16000.0) + noise(rng)));
  }
  return x;
}

void put(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

// Ten keywords and one unknown word ("bed"), four clips each: n0, n1 train, n2 validation,
// n3 test; 0.75 s tones (shorter than 1 s, as some real clips), 2 s of background noise.
void write_corpus(const fs::path& root) {
  std::vector<std::string> words = kws_class_names();
  words.resize(kKwsSilence);
  words.push_back("bed");
  std::string val, test;
  for (std::size_t w = 0; w < words.size(); ++w) {
    for (int n = 0; n < 4; ++n) {
      const std::string rel = words[w] + "/speaker" + std::to_string(n) + "_nohash_0.wav";
      put(root / rel, wav_bytes(tone(200.0 + 150.0 * w, 12000, 3000.0 + 1000 * n, w * 10 + n)));
      if (n == 2) val += rel + "\n";
      if (n == 3) test += rel + "\n";
    }
  }
  put(root / "validation_list.txt", val);
  put(root / "testing_list.txt", test);
  put(root / "_background_noise_" / "white.wav", wav_bytes(tone(50, 32000, 0, 99)));
  put(root / "_background_noise_" / "README.md", "not audio: the real folder has one too\n");
}

DataConfig speech_config(const std::string& root, const std::string& extra = "") {
  const std::string yaml = "data:\n  dataset: speech-commands\n  path: " + root + "\n  cache: " + root +
                           "/../cache\n  augment_variants: 3\n  silence_percentage: 50\n"
                           "  unknown_percentage: 50\n" + extra;
  return DataConfig::from_config(ConfigNode::parse(yaml, "kws.yaml").section("data"));
}

// A keyword-spotting space: the MFCC front end (MLPerf Tiny's int8 range) before a small network.
const SearchSpace& kws_space() {
  static const SearchSpace s = SearchSpace::from_config(ConfigNode::parse(R"(
name: kws-test
input_channels: 1
input_size: [49, 10]
num_classes: 12
front_end: {kind: mfcc, scale: 0.6, zero_point: 83}
stem: {channels: 8, kernel: 3, stride: 2}
stages:
  - {channels: 8, stride: 1}
kernel_sizes: [3]
expand_ratios: [1]
depths: [1]
width_multipliers: [1.0]
resolutions: [49]
)", "kws-test.yaml"));
  return s;
}

std::unique_ptr<Dataset> load_speech(const DataConfig& d) { return make_dataset(d, TrainConfig{}, kws_space()); }

std::vector<int64_t> counts(const Examples& e) {
  std::vector<int64_t> c(12, 0);
  for (int64_t i = 0; i < e.size(); ++i) ++c[e.targets[i].item<int64_t>()];
  return c;
}

TEST(SpeechCommands, SplitsClassesAndFeaturesAreTheRuntimeMfcc) {
  TempDir dir("speech_test");
  const fs::path root = fs::path(dir.path) / "corpus";
  write_corpus(root);
  const auto ds = load_speech(speech_config(root.string()));
  EXPECT_EQ(ds->info().input.to_string(), "49x10x1");
  EXPECT_EQ(ds->info().num_classes, 12);
  EXPECT_EQ(ds->info().class_names.at(kKwsSilence), "silence");
  // Train: 20 keyword clips, both unknown clips (50% of 20 = 10 wanted, 2 exist), 10 silence.
  std::vector<int64_t> train = counts(ds->split(Split::Train));
  EXPECT_EQ(train[0], 2);
  EXPECT_EQ(train[9], 2);
  EXPECT_EQ(train[kKwsUnknown], 2);
  EXPECT_EQ(train[kKwsSilence], 10);
  std::vector<int64_t> val = counts(ds->split(Split::Val));
  EXPECT_EQ(val[3], 1);
  EXPECT_EQ(val[kKwsUnknown], 1);
  EXPECT_EQ(val[kKwsSilence], 5);
  EXPECT_EQ(ds->split(Split::Test).size(), 16);

  // The test split's one "yes" is yes/speaker3: the runtime MFCC of the zero-padded clip.
  const Examples& t = ds->split(Split::Test);
  int64_t yes = -1;
  for (int64_t i = 0; i < t.size(); ++i) {
    if (t.targets[i].item<int64_t>() == 0) yes = i;
  }
  ASSERT_GE(yes, 0);
  std::vector<int16_t> pcm = read_kws_clip((root / "yes/speaker3_nohash_0.wav").string());
  ASSERT_EQ(pcm.size(), 16000u);
  EXPECT_EQ(pcm[15999], 0);
  KwsFrontEnd fe(0.6, 83);
  std::vector<int8_t> expect(kKwsFeatureBytes);
  fe.features(pcm.data(), expect.data());
  const at::Tensor got = t.inputs[yes].contiguous();
  ASSERT_EQ(got.numel(), kKwsFeatureBytes);
  EXPECT_EQ(std::memcmp(got.data_ptr<int8_t>(), expect.data(), kKwsFeatureBytes), 0);
  // And the exported model's front end (the mfcc operator's int8 reference) computes the same.
  Layer mfcc;
  mfcc.op = &op("mfcc");
  mfcc.in = {1, kKwsClipSamples, 1};
  mfcc.op->infer(&mfcc, 1);
  std::vector<int8_t> device(kKwsFeatureBytes);
  const int8_t* const in[2] = {reinterpret_cast<const int8_t*>(pcm.data()), nullptr};
  const QuantParams none[2];
  mfcc.op->run_int8(mfcc, Int8Layer{}, none, QuantParams{0.6f, 83}, in, device.data());
  EXPECT_EQ(device, expect);
  // The tone is not silence: its features vary over the coefficients.
  std::set<int> distinct(expect.begin(), expect.end());
  EXPECT_GT(distinct.size(), 10u);
  // The exporter's input for it: the clip's samples, which the exported front end turns into
  // these features.
  const std::vector<float> raw = ds->raw_example(Split::Test, yes);
  EXPECT_EQ(raw, std::vector<float>(pcm.begin(), pcm.end()));
  // The network sees scale * (q - zero_point).
  const at::Tensor x = ds->prepare(t.inputs.narrow(0, yes, 1));
  EXPECT_FLOAT_EQ(x.flatten()[7].item<float>(), static_cast<float>(0.6 * (expect[7] - 83)));
}

TEST(SpeechCommands, FeaturesAreCachedAndTrainingDrawsTheAugmentedVersions) {
  TempDir dir("speech_cache_test");
  const fs::path root = fs::path(dir.path) / "corpus";
  write_corpus(root);
  const auto a = load_speech(speech_config(root.string()));
  int cached = 0;
  for (const auto& e : fs::directory_iterator(fs::path(dir.path) / "cache")) {
    cached += e.path().filename().string().rfind("speech-commands-", 0) == 0;
  }
  EXPECT_EQ(cached, 1);
  const auto b = load_speech(speech_config(root.string()));
  EXPECT_TRUE(a->split(Split::Train).inputs.equal(b->split(Split::Train).inputs));
  EXPECT_TRUE(a->split(Split::Test).inputs.equal(b->split(Split::Test).inputs));

  // Example 0 of the training split has three versions (augment_variants: 3): the clean one and
  // two shifted / noisy ones; the draws reach them all and nothing else.
  const Examples& train = a->split(Split::Train);
  std::set<std::vector<float>> seen;
  std::mt19937_64 rng(1);
  std::vector<float> out(kKwsFeatureBytes);
  for (int i = 0; i < 60; ++i) {
    a->augmented(train, 0, rng, out.data());
    seen.insert(out);
  }
  EXPECT_EQ(seen.size(), 3u);
  const at::Tensor clean = a->prepare(train.inputs.narrow(0, 0, 1)).flatten();
  EXPECT_TRUE(seen.count(std::vector<float>(clean.data_ptr<float>(), clean.data_ptr<float>() + kKwsFeatureBytes)));

  // A different augmentation is a different cache entry, not a stale one.
  load_speech(speech_config(root.string(), "  time_shift_ms: 50\n"));
  cached = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(fs::path(dir.path) / "cache")) ++cached;
  EXPECT_EQ(cached, 2);
}

TEST(SpeechCommands, BadCorporaAreRefusedNamingTheFile) {
  TempDir dir("speech_bad_test");
  int k = 0;
  // Each case: a fresh corpus, one change, the words the error must contain.
  auto check = [&](const std::function<void(const fs::path&)>& change,
                   const std::vector<std::string>& words) {
    const fs::path root = fs::path(dir.path) / ("c" + std::to_string(k++));
    write_corpus(root);
    change(root);
    const std::string e = error_of([&] { load_speech(speech_config(root.string())); });
    for (const std::string& w : words) EXPECT_NE(e.find(w), std::string::npos) << w << " not in: " << e;
  };
  WavSpec stereo;
  stereo.channels = 2;
  check([&](const fs::path& r) { put(r / "no/speaker0_nohash_0.wav", wav_bytes(tone(300, 2000, 1000, 1), stereo)); },
        {"no/speaker0_nohash_0.wav", "2 channels", "expected 16000 Hz mono"});
  WavSpec rate;
  rate.rate = 8000;
  check([&](const fs::path& r) { put(r / "up/speaker1_nohash_0.wav", wav_bytes(tone(300, 8000, 1000, 1), rate)); },
        {"up/speaker1_nohash_0.wav", "8000 Hz"});
  check([&](const fs::path& r) {
          const std::string b = wav_bytes(tone(300, 8000, 1000, 1));
          put(r / "go/speaker0_nohash_0.wav", b.substr(0, b.size() / 2));
        },
        {"go/speaker0_nohash_0.wav"});
  check([&](const fs::path& r) { put(r / "off/speaker0_nohash_0.wav", "this is not audio at all"); },
        {"off/speaker0_nohash_0.wav"});
  check([&](const fs::path& r) { put(r / "off/speaker0_nohash_0.wav", wav_bytes(tone(300, 17000, 1000, 1))); },
        {"off/speaker0_nohash_0.wav", "at most 16000"});
  check([&](const fs::path& r) { put(r / "left/notes.txt", "x"); }, {"left/notes.txt", "not a .wav"});
  check([&](const fs::path& r) { fs::create_directories(r / "wow"); }, {"wow", "empty word folder"});
  check([&](const fs::path& r) { fs::remove(r / "testing_list.txt"); }, {"testing_list.txt", "missing"});
  check([&](const fs::path& r) {
          fs::remove_all(r / "stop");
          for (const char* list : {"validation_list.txt", "testing_list.txt"}) {
            std::ifstream in(r / list);
            std::string line, kept;
            while (std::getline(in, line)) {
              if (line.rfind("stop/", 0) != 0) kept += line + "\n";
            }
            put(r / list, kept);
          }
        },
        {"no folder 'stop'", "yes, no, up"});
  check([&](const fs::path& r) { fs::remove(r / "down/speaker2_nohash_0.wav"); },
        {"validation_list.txt:4", "down/speaker2_nohash_0.wav", "names no file"});
  check([&](const fs::path& r) { fs::remove(r / "_background_noise_/white.wav"); },
        {"_background_noise_", "no background noise", "silence_percentage: 0"});

  // The space must run the dataset's front end: not without one, not with an image dataset.
  write_corpus(fs::path(dir.path) / "ok");
  SearchSpace plain = kws_space();
  plain.front_end = {};
  const std::string no_fe =
      error_of([&] { make_dataset(speech_config(dir.path + "/ok"), TrainConfig{}, plain); });
  EXPECT_NE(no_fe.find("needs front_end: {kind: mfcc"), std::string::npos) << no_fe;
  DataConfig images;
  images.dataset = "fashion-mnist";
  const std::string image_fe = error_of([&] { make_dataset(images, TrainConfig{}, kws_space()); });
  EXPECT_NE(image_fe.find("'fashion-mnist' is images"), std::string::npos) << image_fe;

  // A missing corpus without data.synthesize says how to get one; a misspelt key is caught.
  const std::string missing = error_of([&] { load_speech(speech_config(dir.path + "/none")); });
  EXPECT_NE(missing.find("data.synthesize: true"), std::string::npos) << missing;
  const std::string typo = error_of([&] { speech_config(dir.path, "  augment_variant: 2\n"); });
  EXPECT_NE(typo.find("augment_variant"), std::string::npos) << typo;
  EXPECT_NE(typo.find("augment_variants"), std::string::npos) << typo;
}

}  // namespace
}  // namespace tinynas
