// The `logmel` front-end kind (ops/kinds/logmel.cpp over runtime/tn_mfcc_s8.c with the anomaly
// tables): its shape (3072 samples -> 5 x 128, MLPerf Tiny's 640 inputs), its sizes, its int8
// output against a double-precision log-mel written here from the definitions (periodic Hann,
// naive DFT, tf.signal's mel matrix, ln(mel + 1e-8)) within the quantisation's rounding, the log
// floor on silence, and that its tables are not the keyword spotter's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ops/mfcc_tables.h"
#include "ops/op.h"

namespace tinynas {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr float kScale = 0.15f;
constexpr int kZeroPoint = 25;

Layer logmel_layer(int samples) {
  Layer l;
  l.op = &op("logmel");
  l.in = {1, samples, 1};
  l.out_scale = kScale;
  l.out_zero_point = kZeroPoint;
  l.set_window(1, 1, 1);
  l.inputs[0] = 0;
  l.op->infer(&l, 1);
  return l;
}

// ln(mel power + 1e-8) of x = pcm / 32768 per frame and band: [frames][128].
std::vector<double> reference_logmel(const std::vector<int16_t>& pcm) {
  const int N = 1024, L = 1024, step = 512, K = N / 2, nm = 128;
  const int frames = 1 + (static_cast<int>(pcm.size()) - L) / step;
  auto mel = [](double f) { return 1127.0 * std::log(1.0 + f / 700.0); };
  const double lo = mel(0.0), hi = mel(8000.0);
  std::vector<double> out(static_cast<std::size_t>(frames) * nm), P(K + 1);
  for (int t = 0; t < frames; ++t) {
    for (int k = 1; k <= K; ++k) {
      double re = 0, im = 0;
      for (int n = 0; n < L; ++n) {
        const double x = pcm[t * step + n] / 32768.0 * (0.5 - 0.5 * std::cos(2 * kPi * n / L));
        re += x * std::cos(2 * kPi * k * n / N);
        im -= x * std::sin(2 * kPi * k * n / N);
      }
      P[k] = re * re + im * im;
    }
    for (int m = 0; m < nm; ++m) {
      const double a = lo + (hi - lo) * m / (nm + 1), b = lo + (hi - lo) * (m + 1) / (nm + 1),
                   e = lo + (hi - lo) * (m + 2) / (nm + 1);
      double s = 0;
      for (int k = 1; k <= K; ++k) {
        const double f = mel(k * 16000.0 / N);
        s += std::max(0.0, std::min((f - a) / (b - a), (e - f) / (e - b))) * P[k];
      }
      out[static_cast<std::size_t>(t) * nm + m] = std::log(s + 1e-8);
    }
  }
  return out;
}

std::vector<int8_t> run_int8(const Layer& l, const std::vector<int16_t>& pcm) {
  QuantParams qin[2] = {}, qout{};
  Int8Layer q;
  l.op->quantize(l, FloatLayer{}, qin, &qout, &q);
  std::vector<int8_t> y(static_cast<std::size_t>(l.out.elements()));
  const int8_t* const x[2] = {reinterpret_cast<const int8_t*>(pcm.data()), nullptr};
  l.op->run_int8(l, q, qin, qout, x, y.data());
  return y;
}

TEST(LogMel, ShapeSizesAndTables) {
  const Layer l = logmel_layer(3072);
  EXPECT_EQ(l.out.h, 5);
  EXPECT_EQ(l.out.w, 128);
  EXPECT_EQ(l.out.c, 1);
  EXPECT_EQ(l.out.elements(), 640);  // MLPerf Tiny's autoencoder input
  EXPECT_EQ(l.in_element_bytes, 2);
  EXPECT_EQ(l.weights, 0);
  EXPECT_EQ(l.macs, 0);
  EXPECT_TRUE(l.op->is_front_end());
  // 10 s of audio: 311 frames.
  EXPECT_EQ(logmel_layer(160000).out.h, 311);

  const tn_mfcc_params_t& p = front_end_params(FrontEndTables::AdLogMel, kScale, kZeroPoint);
  EXPECT_EQ(p.frame_length, 1024);
  EXPECT_EQ(p.frame_step, 512);
  EXPECT_EQ(p.fft_length, 1024);
  EXPECT_EQ(p.num_mel, 128);
  EXPECT_EQ(p.num_out, 128);
  EXPECT_EQ(p.dct, nullptr);
  int64_t weights = 0;
  for (int m = 0; m < p.num_mel; ++m) {
    EXPECT_GT(p.mel_count[m], 0) << "band " << m;  // every band sees at least one bin
    weights += p.mel_count[m];
  }
  EXPECT_EQ(l.const_bytes, 4 * 1024 + 4 * 1024 + 4 * 128 + 2 * weights +
                               static_cast<int64_t>(sizeof(tn_mfcc_params_t)));
  EXPECT_EQ(l.op->scratch_bytes(1, 1, 1, 3072, 1),
            static_cast<int64_t>(tn_mfcc_s8_scratch_bytes(&p)));
  EXPECT_EQ(l.op->scratch_bytes(1, 1, 1, 3072, 1), 513 * 8 + 128 * 4);
  EXPECT_EQ(l.op->default_kernel_code(), op("mfcc").default_kernel_code());  // one kernel

  // Not the keyword spotter's tables (and those are unchanged: 480 / 320 / 512, 40 -> 10).
  const tn_mfcc_params_t& k = kws_mfcc_params(kScale, kZeroPoint);
  EXPECT_NE(&k, &p);
  EXPECT_EQ(k.frame_length, 480);
  EXPECT_EQ(k.frame_step, 320);
  EXPECT_EQ(k.num_mel, 40);
  EXPECT_EQ(k.num_out, 10);
  EXPECT_NE(k.dct, nullptr);
  EXPECT_NE(k.log_floor, p.log_floor);
  Layer m;
  m.op = &op("mfcc");
  m.in = {1, 16000, 1};
  m.op->infer(&m, 1);
  EXPECT_EQ(m.out.h, 49);
  EXPECT_EQ(m.out.w, 10);
  EXPECT_LT(m.const_bytes, l.const_bytes);
}

TEST(LogMel, Int8IsTheDoubleLogMelQuantised) {
  // A chirp over the band with a tone and some noise, at a few levels.
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 300.0);
  std::vector<int16_t> pcm(3072);
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    const double t = static_cast<double>(i) / 16000.0;
    const double v = 9000.0 * std::sin(2 * kPi * (100.0 + 60000.0 * t) * t) +
                     3000.0 * std::sin(2 * kPi * 440.0 * t) + noise(rng);
    pcm[i] = static_cast<int16_t>(std::clamp(std::lround(v * (0.2 + i / 3072.0)), -32768L, 32767L));
  }
  const Layer l = logmel_layer(3072);
  const std::vector<int8_t> q = run_int8(l, pcm);
  const std::vector<double> ref = reference_logmel(pcm);
  ASSERT_EQ(q.size(), ref.size());
  int exact = 0;
  double lo = 1e9, hi = -1e9;
  for (std::size_t i = 0; i < q.size(); ++i) {
    const double r = std::clamp(std::nearbyint(ref[i] / kScale) + kZeroPoint, -128.0, 127.0);
    ASSERT_LE(std::abs(q[i] - r), 1.0) << "frame " << i / 128 << " band " << i % 128 << ": ln "
                                       << ref[i];
    exact += q[i] == r;
    lo = std::min(lo, ref[i]);
    hi = std::max(hi, ref[i]);
  }
  EXPECT_GE(exact, static_cast<int>(q.size() * 95 / 100));
  EXPECT_GT(hi - lo, 8.0);  // the features do vary over the bands

  // The float reference is the int8 output dequantised.
  std::vector<float> x(pcm.begin(), pcm.end()), y(q.size());
  const float* const in[2] = {x.data(), nullptr};
  l.op->run_float(l, FloatLayer{}, in, y.data());
  for (std::size_t i = 0; i < q.size(); ++i) ASSERT_EQ(y[i], kScale * (q[i] - kZeroPoint));
}

TEST(LogMel, SilenceIsTheLogFloor) {
  const Layer l = logmel_layer(3072);
  const std::vector<int8_t> q = run_int8(l, std::vector<int16_t>(3072, 0));
  const int floor_q = static_cast<int>(std::nearbyint(std::log(1e-8) / kScale)) + kZeroPoint;
  for (std::size_t i = 0; i < q.size(); ++i) ASSERT_EQ(q[i], floor_q) << i;
}

class RecordingContext : public EmitContext {
 public:
  std::ostringstream& data() override { return data_; }
  std::ostringstream& body() override { return body_; }
  void array(const std::string& n, const std::vector<int8_t>& v) override { sizes_[n] = v.size(); }
  void array(const std::string& n, const std::vector<int16_t>& v) override { sizes_[n] = v.size(); }
  void array(const std::string& n, const std::vector<int32_t>& v) override { sizes_[n] = v.size(); }
  const QuantParams& quant(int) const override { return q_; }
  std::string scratch(int, bool) const override { return "scratch"; }
  std::string profile_end(int, const std::string&, const std::string&, const std::string&,
                          const std::string&, const std::string&, const std::string&) const override {
    return "";
  }
  std::ostringstream data_, body_;
  std::map<std::string, std::size_t> sizes_;
  QuantParams q_{kScale, kZeroPoint};
};

TEST(LogMel, EmitsItsOwnTables) {
  const Layer l = logmel_layer(3072);
  RecordingContext c;
  const std::string in[2] = {"in", ""};
  l.op->emit_call(c, 0, l, Int8Layer{}, in, "out");
  EXPECT_EQ(c.sizes_.at("logmel0_window"), 1024u);
  EXPECT_EQ(c.sizes_.at("logmel0_twiddle"), 1024u);
  EXPECT_EQ(c.sizes_.at("logmel0_mel_start"), 128u);
  EXPECT_EQ(c.sizes_.count("logmel0_dct"), 0u);
  EXPECT_NE(c.data_.str().find("static const tn_mfcc_params_t logmel0_params = {1024, 512, 1024, 128, 128,"),
            std::string::npos)
      << c.data_.str();
  EXPECT_NE(c.body_.str().find("rc = tn_mfcc_s8(&logmel0_params, (const int16_t *)in, 3072, out, scratch);"),
            std::string::npos)
      << c.body_.str();
}

}  // namespace
}  // namespace tinynas
