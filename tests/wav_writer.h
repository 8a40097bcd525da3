// WAV files as bytes for tests: 16-bit PCM (or a deliberately wrong format, rate or channel
// count), optionally with an odd-sized LIST chunk before "fmt " whose padding must be skipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tinynas {

struct WavSpec {
  uint16_t tag = 1, channels = 1, bits = 16;
  uint32_t rate = 16000;
  bool list_chunk = false;
};

inline void wav_put16(std::string* b, uint16_t v) {
  b->push_back(static_cast<char>(v & 0xff));
  b->push_back(static_cast<char>(v >> 8));
}

inline void wav_put32(std::string* b, uint32_t v) {
  wav_put16(b, static_cast<uint16_t>(v & 0xffff));
  wav_put16(b, static_cast<uint16_t>(v >> 16));
}

inline std::string wav_bytes(const std::vector<int16_t>& samples, const WavSpec& s = {}) {
  std::string body = "WAVE";
  if (s.list_chunk) {
    body += "LIST";
    wav_put32(&body, 5);
    body += "INFOx";
    body.push_back('\0');  // pad byte
  }
  body += "fmt ";
  wav_put32(&body, 16);
  wav_put16(&body, s.tag);
  wav_put16(&body, s.channels);
  wav_put32(&body, s.rate);
  wav_put32(&body, s.rate * s.channels * s.bits / 8);
  wav_put16(&body, static_cast<uint16_t>(s.channels * s.bits / 8));
  wav_put16(&body, s.bits);
  body += "data";
  wav_put32(&body, static_cast<uint32_t>(samples.size() * 2));
  for (int16_t v : samples) wav_put16(&body, static_cast<uint16_t>(v));
  std::string out = "RIFF";
  wav_put32(&out, static_cast<uint32_t>(body.size()));
  return out + body;
}

}  // namespace tinynas
