#include "supernet/datasets/wav.h"

#include <fmt/core.h>

#include <cstring>

#include "search_spaces/atomic_file.h"
#include "search_spaces/config_node.h"

namespace tinynas {

namespace {

uint32_t le32(const std::string& b, std::size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(b[at])) |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3])) << 24;
}

uint16_t le16(const std::string& b, std::size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) | static_cast<uint8_t>(b[at + 1]) << 8);
}

const char* format_name(uint16_t tag) {
  switch (tag) {
    case 1: return "integer PCM";
    case 3: return "IEEE float";
    case 6: return "A-law";
    case 7: return "mu-law";
    case 0x11: return "IMA ADPCM";
    case 0x55: return "MP3";
    default: return "an unknown encoding";
  }
}

}  // namespace

WavAudio parse_wav(const std::string& b, const std::string& origin) {
  auto fail = [&](const std::string& what) -> void {
    throw ConfigError(origin + ": " + what);
  };
  if (b.size() < 12 || b.compare(0, 4, "RIFF") != 0 || b.compare(8, 4, "WAVE") != 0) {
    fail("not a WAV file (expected a RIFF/WAVE header)");
  }
  bool have_fmt = false;
  uint16_t channels = 0, bits = 0;
  uint32_t rate = 0;
  std::size_t at = 12;
  while (at + 8 <= b.size()) {
    const std::string id = b.substr(at, 4);
    const uint64_t size = le32(b, at + 4);
    const std::size_t body = at + 8;
    if (id == "fmt ") {
      if (size < 16 || body + 16 > b.size()) fail("truncated 'fmt ' chunk");
      uint16_t tag = le16(b, body);
      channels = le16(b, body + 2);
      rate = le32(b, body + 4);
      bits = le16(b, body + 14);
      if (tag == 0xFFFE && size >= 40 && body + 26 <= b.size()) tag = le16(b, body + 24);
      if (tag != 1) {
        fail(fmt::format("{} (format tag {}); expected 16-bit integer PCM", format_name(tag), tag));
      }
      if (bits != 16) fail(fmt::format("{}-bit samples; expected 16-bit integer PCM", bits));
      if (channels == 0) fail("0 channels");
      if (rate == 0) fail("a sample rate of 0 Hz");
      have_fmt = true;
    } else if (id == "data") {
      if (!have_fmt) fail("the 'data' chunk comes before any 'fmt ' chunk");
      if (body + size > b.size()) {
        fail(fmt::format("truncated: the 'data' chunk declares {} bytes, the file holds {}", size,
                         b.size() - body));
      }
      const uint64_t frame_bytes = uint64_t{2} * channels;
      if (size % frame_bytes != 0) {
        fail(fmt::format("the 'data' chunk's {} bytes are not whole {}-channel 16-bit frames", size,
                         channels));
      }
      WavAudio w;
      w.sample_rate = static_cast<int>(rate);
      w.channels = channels;
      w.samples.resize(size / 2);
      for (std::size_t i = 0; i < w.samples.size(); ++i) {
        w.samples[i] = static_cast<int16_t>(le16(b, body + 2 * i));
      }
      return w;
    }
    at = body + size + (size & 1);  // chunks are padded to an even size
  }
  fail(have_fmt ? "no 'data' chunk" : "no 'fmt ' chunk");
  return {};
}

WavAudio read_wav(const std::string& path) {
  if (!file_exists(path)) throw ConfigError(path + ": no such file");
  return parse_wav(read_file(path), path);
}

std::vector<int16_t> read_mono_clip(const std::string& path, int sample_rate, int64_t max_samples) {
  WavAudio w = read_wav(path);
  if (w.sample_rate != sample_rate || w.channels != 1) {
    throw ConfigError(fmt::format("{}: {} Hz with {} channel{}; expected {} Hz mono", path,
                                  w.sample_rate, w.channels, w.channels == 1 ? "" : "s",
                                  sample_rate));
  }
  if (w.frames() == 0) throw ConfigError(path + ": no samples");
  if (w.frames() > max_samples) {
    throw ConfigError(fmt::format("{}: {} samples ({:.3f} s); expected at most {} ({:.3f} s)", path,
                                  w.frames(), static_cast<double>(w.frames()) / sample_rate,
                                  max_samples, static_cast<double>(max_samples) / sample_rate));
  }
  return std::move(w.samples);
}

}  // namespace tinynas
