// The Speech Commands v2 layout as plain data (no LibTorch): which clip is in which split with
// which label, MLPerf Tiny's 12 classes (ten keywords, silence, unknown), the background noise,
// and the keyword-spotting front end (the runtime's fixed-point MFCC, so training sees the
// device's bytes). The Dataset (speech_commands.cpp) and the exporter's firmware clips use it.
//
// The layout (the real corpus, or scripts/make-speech-corpus's synthetic one):
//   <word>/<speaker>_nohash_<n>.wav     16 kHz mono 16-bit PCM, at most 1 s
//   validation_list.txt, testing_list.txt   relative paths; every other clip is training
//   _background_noise_/*.wav             long noise recordings ('silence' is cut from them)
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "search_spaces/config_node.h"

namespace tinynas {

constexpr int kKwsSampleRate = 16000;
constexpr int kKwsClipSamples = 16000;  // 1 s
constexpr int kKwsFrames = 49, kKwsCoefficients = 10;
constexpr int kKwsFeatureBytes = kKwsFrames * kKwsCoefficients;

// yes, no, up, down, left, right, on, off, stop, go, silence, unknown (labels 0..11).
const std::vector<std::string>& kws_class_names();
constexpr int kKwsSilence = 10, kKwsUnknown = 11;

struct SpeechCorpusOptions {
  std::string path;
  double silence_percentage = 10;  // silence examples per split, % of its keyword clips
  double unknown_percentage = 10;  // unknown-word clips kept per split, % of its keyword clips
  uint64_t seed = 0;               // which unknown clips are kept, where silence is cut
  double background_volume = 0.1;  // silence: noise at a volume uniform in [0, this]
};

// One example: a clip (path) with its label, or silence (path empty) cut from background noise
// file `noise` at `offset` and scaled by `volume`.
struct SpeechExample {
  std::string path;
  int label = 0;
  int noise = -1;
  int64_t offset = 0;
  double volume = 0;
};

struct SpeechCorpus {
  std::vector<SpeechExample> split[3];  // train, validation, test (Split order)
  std::vector<std::string> noise_paths;
  std::vector<std::vector<int16_t>> noise;  // the background recordings, 16 kHz mono
  int64_t unknown_available[3] = {0, 0, 0};  // unknown-word clips before the percentage cut
  std::string summary() const;               // counts per split and class, for the log
};

// Scans the folder: ConfigError naming the folder or file for a missing path, a missing keyword
// folder, an empty word folder, a file in a word folder that is not a .wav, a list naming a clip
// that does not exist, no background noise when silence is asked for. WAV contents are checked
// when read (read_kws_clip).
SpeechCorpus scan_speech_corpus(const SpeechCorpusOptions& options);

// A clip as the front end takes it: 16 kHz mono, zero-padded at the end to 1 s (ConfigError
// naming the file for another rate, stereo, over 1 s, truncated or not a WAV).
std::vector<int16_t> read_kws_clip(const std::string& path);
// The example's 1 s of samples (a read clip, or a cut of background noise).
std::vector<int16_t> example_samples(const SpeechCorpus& corpus, const SpeechExample& e);

// Training-time augmentation of a 1 s clip, as TensorFlow's speech_commands training: a time
// shift uniform in [-time_shift, time_shift] samples (zero fill), then with probability
// background_frequency a random cut of a random background file added at a volume uniform in
// [0, background_volume], saturated to int16.
struct SpeechAugment {
  int time_shift = 1600;  // 100 ms
  double background_frequency = 0.8;
  double background_volume = 0.1;
};
void augment_clip(const SpeechCorpus& corpus, const SpeechAugment& a, std::mt19937_64& rng,
                  const std::vector<int16_t>& in, std::vector<int16_t>* out);

// The keyword-spotting front end: the runtime's tn_mfcc_s8 with MLPerf Tiny's parameters and an
// int8 output quantisation real = scale * (q - zero_point). One per thread (its scratch).
class KwsFrontEnd {
 public:
  KwsFrontEnd(double scale, int zero_point);
  ~KwsFrontEnd();
  KwsFrontEnd(const KwsFrontEnd&) = delete;
  KwsFrontEnd& operator=(const KwsFrontEnd&) = delete;
  // pcm: kKwsClipSamples samples; out: kKwsFeatureBytes (frame-major, 49 x 10).
  void features(const int16_t* pcm, int8_t* out);
  double scale() const { return scale_; }
  int zero_point() const { return zero_point_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  double scale_;
  int zero_point_;
};

}  // namespace tinynas
