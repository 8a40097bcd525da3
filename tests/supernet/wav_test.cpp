// WAV reading for the audio datasets: what the corpora ship reads back exactly, and every kind of
// bad audio is refused with the file named and what was expected.
#include "supernet/datasets/wav.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "search_spaces/atomic_file.h"
#include "search_spaces/config_node.h"
#include "tests/temp_dir.h"
#include "tests/wav_writer.h"

namespace tinynas {
namespace {

using Spec = WavSpec;

std::string error_of(const std::string& bytes) {
  try {
    parse_wav(bytes, "clip.wav");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Wav, ReadsPcmExactlyAndSkipsOtherChunks) {
  const std::vector<int16_t> samples = {0, 1, -1, 32767, -32768, 1234, -4321};
  Spec s;
  s.list_chunk = true;
  const WavAudio w = parse_wav(wav_bytes(samples, s), "clip.wav");
  EXPECT_EQ(w.sample_rate, 16000);
  EXPECT_EQ(w.channels, 1);
  EXPECT_EQ(w.samples, samples);
  Spec stereo;
  stereo.channels = 2;
  EXPECT_EQ(parse_wav(wav_bytes({1, 2, 3, 4}, stereo), "s.wav").frames(), 2);
}

TEST(Wav, BadAudioIsRefusedByName) {
  const std::vector<int16_t> samples(100, 7);
  EXPECT_EQ(error_of("hello, this is not audio"), "clip.wav: not a WAV file (expected a RIFF/WAVE header)");
  Spec f;
  f.tag = 3;
  f.bits = 32;
  EXPECT_EQ(error_of(wav_bytes(samples, f)),
            "clip.wav: IEEE float (format tag 3); expected 16-bit integer PCM");
  Spec b8;
  b8.bits = 8;
  EXPECT_EQ(error_of(wav_bytes(samples, b8)), "clip.wav: 8-bit samples; expected 16-bit integer PCM");
  std::string cut = wav_bytes(samples, Spec{});
  cut.resize(cut.size() - 11);
  EXPECT_EQ(error_of(cut), "clip.wav: truncated: the 'data' chunk declares 200 bytes, the file holds 189");
  EXPECT_EQ(error_of(cut.substr(0, 30)), "clip.wav: truncated 'fmt ' chunk");
}

TEST(Wav, AClipMustBeMonoAtTheRateAndNotLonger) {
  TempDir dir("wav_test");
  std::filesystem::create_directories(dir.path);
  const std::string ok = dir.path + "/ok.wav", stereo = dir.path + "/stereo.wav",
                    fast = dir.path + "/44k.wav", longer = dir.path + "/long.wav",
                    empty = dir.path + "/empty.wav";
  write_file_atomic(ok, wav_bytes(std::vector<int16_t>(8000, 3), Spec{}));
  Spec st;
  st.channels = 2;
  write_file_atomic(stereo, wav_bytes(std::vector<int16_t>(200, 3), st));
  Spec hz;
  hz.rate = 44100;
  write_file_atomic(fast, wav_bytes(std::vector<int16_t>(200, 3), hz));
  write_file_atomic(longer, wav_bytes(std::vector<int16_t>(16001, 3), Spec{}));
  write_file_atomic(empty, wav_bytes({}, Spec{}));
  EXPECT_EQ(read_mono_clip(ok, 16000, 16000).size(), 8000u);
  auto err = [](const std::string& path) {
    try {
      read_mono_clip(path, 16000, 16000);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(err(stereo), stereo + ": 16000 Hz with 2 channels; expected 16000 Hz mono");
  EXPECT_EQ(err(fast), fast + ": 44100 Hz with 1 channel; expected 16000 Hz mono");
  EXPECT_EQ(err(longer), longer + ": 16001 samples (1.000 s); expected at most 16000 (1.000 s)");
  EXPECT_EQ(err(empty), empty + ": no samples");
  EXPECT_EQ(err(dir.path + "/missing.wav"), dir.path + "/missing.wav: no such file");
}

// A file written by another tool (sox, as the corpus script and the real corpora use): its header
// (sox adds a LIST chunk and may write WAVE_FORMAT_EXTENSIBLE) reads as written.
TEST(Wav, ReadsWhatSoxWrites) {
  if (std::system("command -v sox >/dev/null 2>&1") != 0) GTEST_SKIP() << "sox not installed";
  TempDir dir("wav_sox_test");
  std::filesystem::create_directories(dir.path);
  const std::string path = dir.path + "/tone.wav";
  ASSERT_EQ(std::system(("sox -n -r 16000 -c 1 -b 16 -e signed-integer '" + path +
                         "' synth 0.5 sine 440 vol 0.5 2>/dev/null").c_str()), 0);
  const std::vector<int16_t> clip = read_mono_clip(path, 16000, 16000);
  ASSERT_EQ(clip.size(), 8000u);
  int16_t peak = 0;
  for (int16_t v : clip) peak = std::max<int16_t>(peak, v);
  EXPECT_NEAR(peak, 16384, 200);  // half scale
  const std::string stereo = dir.path + "/stereo.wav";
  ASSERT_EQ(std::system(("sox -n -r 44100 -c 2 -b 16 '" + stereo + "' synth 0.1 sine 440 2>/dev/null").c_str()), 0);
  EXPECT_THROW(read_mono_clip(stereo, 16000, 16000), ConfigError);
  EXPECT_EQ(read_wav(stereo).channels, 2);
  EXPECT_EQ(read_wav(stereo).sample_rate, 44100);
}

}  // namespace
}  // namespace tinynas
