// RIFF/WAVE reading for the audio datasets (Speech Commands, DCASE/ToyADMOS layouts): 16-bit PCM
// as the corpora ship it. Plain C++ (no LibTorch). Every refusal is a ConfigError naming the file
// and what was expected, so that a corpus with one bad clip is reported, never skipped silently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tinynas {

struct WavAudio {
  int sample_rate = 0;
  int channels = 0;
  std::vector<int16_t> samples;  // interleaved, frames * channels
  int64_t frames() const { return channels > 0 ? static_cast<int64_t>(samples.size()) / channels : 0; }
};

// Parses a WAV file's bytes: the RIFF/WAVE header, a "fmt " chunk of 16-bit integer PCM (format
// tag 1, or WAVE_FORMAT_EXTENSIBLE with the PCM sub-format) and its "data" chunk; other chunks
// (LIST, fact, ...) are skipped. `origin` names the file in errors.
WavAudio parse_wav(const std::string& bytes, const std::string& origin);
WavAudio read_wav(const std::string& path);

// A clip as a keyword-spotting front end takes it: mono at `sample_rate`, at most `max_samples`
// samples (the real corpus has clips shorter than 1 s; longer ones are refused, not cut).
std::vector<int16_t> read_mono_clip(const std::string& path, int sample_rate, int64_t max_samples);

}  // namespace tinynas
