// MFCC / log-mel front end (runtime/tn_mfcc_s8.c, tables from
// runtime/host/tn_mfcc_tables.c) against a double-precision reference written
// here from the definitions (naive DFT, tf.signal mel matrix and DCT), on
// deterministic synthetic signals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "host/tn_mfcc_tables.h"
#include "tn_runtime.h"
}

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kSamples = 16000;

struct Tables {
  tn_mfcc_tables_t t{};
  explicit Tables(const tn_mfcc_config_t& c) { EXPECT_EQ(tn_mfcc_tables_build(&c, &t), TN_OK); }
  ~Tables() { tn_mfcc_tables_free(&t); }
  Tables(const Tables&) = delete;
  Tables& operator=(const Tables&) = delete;
};

// ---- double reference -----------------------------------------------------
// Returns [frames][num_coeffs] (num_coeffs == 0: [frames][num_mel] log-mel).
std::vector<double> reference(const tn_mfcc_config_t& c, const std::vector<int16_t>& pcm) {
  const int N = c.fft_length, L = c.frame_length, K = N / 2, nm = c.num_mel;
  const int frames = 1 + (static_cast<int>(pcm.size()) - L) / c.frame_step;
  auto mel = [](double f) { return 1127.0 * std::log(1.0 + f / 700.0); };
  std::vector<double> W(static_cast<size_t>(nm) * (K + 1), 0.0);
  const double lo = mel(c.lower_hz), hi = mel(c.upper_hz);
  for (int m = 0; m < nm; ++m) {
    const double a = lo + (hi - lo) * m / (nm + 1), b = lo + (hi - lo) * (m + 1) / (nm + 1),
                 e = lo + (hi - lo) * (m + 2) / (nm + 1);
    for (int k = 1; k <= K; ++k) {
      const double f = mel(k * c.sample_rate / N);
      W[m * (K + 1) + k] = std::max(0.0, std::min((f - a) / (b - a), (e - f) / (e - b)));
    }
  }
  std::vector<double> cs(N), sn(N), win(L);
  for (int i = 0; i < N; ++i) cs[i] = std::cos(2 * kPi * i / N), sn[i] = std::sin(2 * kPi * i / N);
  for (int n = 0; n < L; ++n) win[n] = 0.5 - 0.5 * std::cos(2 * kPi * n / L);
  const int nout = c.num_coeffs ? c.num_coeffs : nm;
  std::vector<double> out(static_cast<size_t>(frames) * nout);
  std::vector<double> x(L), P(K + 1), lm(nm);
  for (int t = 0; t < frames; ++t) {
    for (int n = 0; n < L; ++n) x[n] = pcm[t * c.frame_step + n] / 32768.0 * win[n];
    for (int k = 0; k <= K; ++k) {
      double re = 0, im = 0;
      for (int n = 0; n < L; ++n) {
        const int i = (k * n) % N;
        re += x[n] * cs[i];
        im -= x[n] * sn[i];
      }
      P[k] = re * re + im * im;
    }
    for (int m = 0; m < nm; ++m) {
      double s = 0;
      for (int k = 0; k <= K; ++k) s += W[m * (K + 1) + k] * P[k];
      lm[m] = std::log(s + c.log_floor);
    }
    for (int j = 0; j < nout; ++j) {
      if (!c.num_coeffs) {
        out[t * nout + j] = lm[j];
        continue;
      }
      double s = 0;
      for (int m = 0; m < nm; ++m) s += std::sqrt(2.0 / nm) * std::cos(kPi * j * (m + 0.5) / nm) * lm[m];
      out[t * nout + j] = s;
    }
  }
  return out;
}

// ---- signals --------------------------------------------------------------
int16_t sat16(double v) {
  const double r = std::floor(v + 0.5);
  return static_cast<int16_t>(std::max(-32768.0, std::min(32767.0, r)));
}

std::vector<int16_t> tone(double hz, double amp) {
  std::vector<int16_t> s(kSamples);
  for (int n = 0; n < kSamples; ++n) s[n] = sat16(amp * 32767 * std::sin(2 * kPi * hz * n / 16000.0 + 0.3));
  return s;
}

std::vector<int16_t> chirp(double f0, double f1, double amp) {
  std::vector<int16_t> s(kSamples);
  const double T = kSamples / 16000.0;
  for (int n = 0; n < kSamples; ++n) {
    const double t = n / 16000.0;
    s[n] = sat16(amp * 32767 * std::sin(2 * kPi * (f0 * t + (f1 - f0) * t * t / (2 * T))));
  }
  return s;
}

std::vector<int16_t> noise(double sigma_lsb, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int16_t> s(kSamples);
  for (int n = 0; n < kSamples; ++n) {
    // Box-Muller on mt19937 words (portable, unlike std::normal_distribution).
    const double u1 = (rng() + 1.0) / 4294967297.0, u2 = rng() / 4294967296.0;
    s[n] = sat16(sigma_lsb * std::sqrt(-2 * std::log(u1)) * std::cos(2 * kPi * u2));
  }
  return s;
}

// Speech-like: a voiced source (f0 gliding 110..180 Hz, 30 harmonics) through
// three moving formants, amplitude-modulated by a 4 Hz syllable rhythm, plus breath noise.
std::vector<int16_t> speech_like(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int16_t> s(kSamples);
  double phase = 0;
  for (int n = 0; n < kSamples; ++n) {
    const double t = n / 16000.0;
    const double f0 = 110 + 70 * (0.5 + 0.5 * std::sin(2 * kPi * 1.3 * t));
    phase += 2 * kPi * f0 / 16000.0;
    const double F[3] = {500 + 300 * std::sin(2 * kPi * 2 * t), 1500 + 600 * std::sin(2 * kPi * 1.7 * t + 1),
                         2500 + 300 * std::sin(2 * kPi * 0.9 * t)};
    double v = 0;
    for (int h = 1; h <= 30; ++h) {
      const double fh = h * f0;
      double g = 0;
      for (double fc : F) g += 1.0 / (1.0 + std::pow((fh - fc) / 120.0, 2));
      v += g * std::sin(h * phase) / h;
    }
    const double env = std::pow(std::max(0.0, std::sin(2 * kPi * 4 * t)), 2);
    const double breath = (rng() / 4294967296.0 - 0.5) * 0.02;
    s[n] = sat16(32767 * (0.35 * env * v + breath));
  }
  return s;
}

std::vector<int16_t> clipped(uint32_t seed) {  // a 300 Hz sine at 4x full scale, clipped, plus noise
  std::mt19937 rng(seed);
  std::vector<int16_t> s(kSamples);
  for (int n = 0; n < kSamples; ++n)
    s[n] = sat16(4 * 32767 * std::sin(2 * kPi * 300 * n / 16000.0) + (rng() % 2001) - 1000.0);
  return s;
}

struct Signal {
  std::string name;
  std::vector<int16_t> pcm;
};

std::vector<Signal> signals() {
  std::vector<Signal> v;
  v.push_back({"silence", std::vector<int16_t>(kSamples, 0)});
  v.push_back({"tone1k", tone(1000, 0.5)});
  v.push_back({"tone100_loud", tone(100, 0.99)});
  v.push_back({"tone3k_quiet", tone(3000, 0.001)});
  v.push_back({"chirp", chirp(50, 7000, 0.7)});
  v.push_back({"noise_white", noise(3000, 1)});
  v.push_back({"noise_faint", noise(2, 2)});
  v.push_back({"clipped", clipped(3)});
  v.push_back({"fullscale_square", std::vector<int16_t>(kSamples)});
  for (int n = 0; n < kSamples; ++n) v.back().pcm[n] = (n / 20) % 2 ? 32767 : -32768;
  v.push_back({"dc_min", std::vector<int16_t>(kSamples, -32768)});
  v.push_back({"speech_like", speech_like(4)});
  v.push_back({"impulses", std::vector<int16_t>(kSamples, 0)});
  for (int n = 0; n < kSamples; n += 777) v.back().pcm[n] = 30000;
  return v;
}

struct Stats {
  double mean_err = 0, max_err = 0;  // |scale (q - zp) - ref| over unclamped outputs, in steps
  double max_ref_steps = 0;          // max |q - round(ref / scale) - zp| (clamped reference)
  int64_t count = 0, mismatches = 0;
};

Stats run(const tn_mfcc_config_t& c, const std::vector<int16_t>& pcm, std::vector<int8_t>* out_q = nullptr) {
  Tables T(c);
  const tn_mfcc_params_t& p = T.t.params;
  const int frames = tn_mfcc_num_frames(&p, static_cast<int32_t>(pcm.size()));
  std::vector<int8_t> q(static_cast<size_t>(frames) * p.num_out + 16, 0x5a);
  std::vector<uint64_t> scratch(tn_mfcc_s8_scratch_bytes(&p) / 8 + 4, 0xa5a5a5a5a5a5a5a5ull);
  const size_t guard_at = tn_mfcc_s8_scratch_bytes(&p) / 8;
  EXPECT_EQ(tn_mfcc_s8(&p, pcm.data(), static_cast<int32_t>(pcm.size()), q.data(), scratch.data()), TN_OK);
  for (size_t i = guard_at; i < scratch.size(); ++i) EXPECT_EQ(scratch[i], 0xa5a5a5a5a5a5a5a5ull);
  for (size_t i = static_cast<size_t>(frames) * p.num_out; i < q.size(); ++i) EXPECT_EQ(q[i], 0x5a);
  const std::vector<double> ref = reference(c, pcm);
  Stats s;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double r = ref[i] / c.output_scale + c.output_zero_point;
    const double rq = std::max(-128.0, std::min(127.0, std::floor(r + 0.5)));
    s.max_ref_steps = std::max(s.max_ref_steps, std::fabs(q[i] - rq));
    s.mismatches += q[i] != rq;
    if (r < -128.5 || r > 127.5) {
      EXPECT_EQ(q[i], rq) << "clamped output " << i;
      continue;
    }
    const double e = std::fabs(q[i] - r);
    s.mean_err += e;
    s.max_err = std::max(s.max_err, e);
    ++s.count;
  }
  if (s.count) s.mean_err /= s.count;
  if (out_q) out_q->assign(q.begin(), q.begin() + static_cast<long>(ref.size()));
  return s;
}

// max_mean, max_max: bounds on |q - (ref / scale + zp)| in steps (unclamped outputs;
// 0.5 of it is the output rounding itself). max_differ: bound on the fraction of
// outputs that differ from round(ref / scale) + zp; for reference values spread
// evenly across the grid it is about E|fixed-point error| / step, so it is
// printed as an estimate of the fixed-point error before rounding.
void report_and_check(const char* what, const tn_mfcc_config_t& c, double max_mean, double max_max,
                      double max_differ) {
  double worst_mean = 0, worst_max = 0, worst_ref = 0;
  int64_t n = 0, mism = 0;
  for (const Signal& sig : signals()) {
    const Stats s = run(c, sig.pcm);
    std::printf("[ mfcc ] %-10s %-17s mean %.3f max %.3f steps (n=%lld), differs from rounded ref: %lld, max %g\n",
                what, sig.name.c_str(), s.mean_err, s.max_err, static_cast<long long>(s.count),
                static_cast<long long>(s.mismatches), s.max_ref_steps);
    EXPECT_LT(s.mean_err, max_mean) << sig.name;
    EXPECT_LE(s.max_err, max_max) << sig.name;
    EXPECT_LE(s.max_ref_steps, 1.0) << sig.name;
    worst_mean = std::max(worst_mean, s.mean_err);
    worst_max = std::max(worst_max, s.max_err);
    worst_ref = std::max(worst_ref, s.max_ref_steps);
    n += static_cast<int64_t>(s.count);
    mism += s.mismatches;
  }
  const double frac = static_cast<double>(mism) / static_cast<double>(n);
  std::printf("[ mfcc ] %-10s worst mean %.3f, worst max %.3f steps; %lld of %lld outputs differ from the "
              "rounded reference (by at most %g): fixed-point error ~ %.2g steps = %.2g\n",
              what, worst_mean, worst_max, static_cast<long long>(mism), static_cast<long long>(n), worst_ref, frac,
              frac * c.output_scale);
  EXPECT_LT(frac, max_differ);
}

// ---- tests ------------------------------------------------------------------

// MLPerf Tiny KWS MFCC at a deployment-like quantisation (scale 1, zero point 0:
// c0 spans about [-124, 110]): errors in output steps.
TEST(Mfcc, KwsMatchesDoubleReference) {
  tn_mfcc_config_t c = tn_mfcc_config_kws();
  report_and_check("kws s=1", c, 0.5, 1.0, 0.005);
}

// The same at a 16x finer scale (outputs outside [-8, 8] clamp and are checked
// as clamped): the fixed-point error is visible here.
TEST(Mfcc, KwsFineScaleMatchesDoubleReference) {
  tn_mfcc_config_t c = tn_mfcc_config_kws();
  c.output_scale = 1.0 / 16;
  c.output_zero_point = -10;
  report_and_check("kws s=1/16", c, 0.5, 2.0, 0.02);
}

// 40 log-mel bins (no DCT), fine scale covering the whole range ln(1e-6) .. ln(2^18).
TEST(Mfcc, LogMelMatchesDoubleReference) {
  tn_mfcc_config_t c = tn_mfcc_config_kws();
  c.num_coeffs = 0;
  c.output_scale = 1.0 / 8;
  c.output_zero_point = 0;
  report_and_check("logmel", c, 0.5, 1.0, 0.005);
}

// Another config: 8 kHz, 256-point FFT, 200/80, 32 mel bins 60..3800 Hz, 13 coefficients.
TEST(Mfcc, OtherConfigMatchesDoubleReference) {
  tn_mfcc_config_t c = tn_mfcc_config_kws();
  c.sample_rate = 8000;
  c.frame_length = 200;
  c.frame_step = 80;
  c.fft_length = 256;
  c.num_mel = 32;
  c.lower_hz = 60;
  c.upper_hz = 3800;
  c.num_coeffs = 13;
  c.output_scale = 0.5;
  c.output_zero_point = 5;
  report_and_check("8k/256", c, 0.5, 1.0, 0.005);
}

TEST(Mfcc, SilenceAndFullScaleDoNotOverflow) {
  const tn_mfcc_config_t c = tn_mfcc_config_kws();
  std::vector<int8_t> q;
  run(c, std::vector<int16_t>(kSamples, 0), &q);
  ASSERT_EQ(q.size(), 490u);
  // c0 = sqrt(2/40) * 40 * ln(1e-6) = -123.56; the other coefficients 0.
  for (int t = 0; t < 49; ++t) {
    EXPECT_EQ(q[t * 10], -124);
    for (int j = 1; j < 10; ++j) EXPECT_EQ(q[t * 10 + j], 0);
  }
  for (int16_t v : {int16_t{-32768}, int16_t{32767}}) {
    std::vector<int16_t> pcm(kSamples);
    for (int n = 0; n < kSamples; ++n) pcm[n] = (n % 7) < 3 ? v : static_cast<int16_t>(-1 - v);
    const Stats s = run(c, pcm);
    EXPECT_LE(s.max_ref_steps, 1.0);
  }
}

TEST(Mfcc, ShapesScratchAndBadArguments) {
  Tables T(tn_mfcc_config_kws());
  tn_mfcc_params_t p = T.t.params;
  EXPECT_EQ(tn_mfcc_num_frames(&p, 16000), 49);
  EXPECT_EQ(tn_mfcc_num_frames(&p, 479), 0);
  EXPECT_EQ(tn_mfcc_num_frames(&p, 480), 1);
  EXPECT_EQ(tn_mfcc_s8_scratch_bytes(&p), 257u * 8 + 40 * 4);
  EXPECT_EQ(p.num_out, 10);
  alignas(8) static uint8_t scratch[257 * 8 + 160 + 8];
  std::vector<int16_t> pcm(16000, 0);
  std::vector<int8_t> out(490);
  EXPECT_EQ(tn_mfcc_s8(&p, pcm.data(), 16000, out.data(), scratch), TN_OK);
  EXPECT_EQ(tn_mfcc_s8(&p, pcm.data(), 16000, out.data(), scratch + 4), TN_ERR_ARG);
  EXPECT_EQ(tn_mfcc_s8(&p, pcm.data(), 479, out.data(), scratch), TN_ERR_SHAPE);
  EXPECT_EQ(tn_mfcc_s8(nullptr, pcm.data(), 16000, out.data(), scratch), TN_ERR_ARG);
  EXPECT_EQ(tn_mfcc_s8(&p, nullptr, 16000, out.data(), scratch), TN_ERR_ARG);
  tn_mfcc_params_t b = p;
  b.fft_length = 500;
  EXPECT_EQ(tn_mfcc_s8(&b, pcm.data(), 16000, out.data(), scratch), TN_ERR_ARG);
  b = p;
  b.frame_length = 513;
  EXPECT_EQ(tn_mfcc_s8(&b, pcm.data(), 16000, out.data(), scratch), TN_ERR_ARG);
  b = p;
  b.dct = nullptr;  // log-mel needs num_out == num_mel
  EXPECT_EQ(tn_mfcc_s8(&b, pcm.data(), 16000, out.data(), scratch), TN_ERR_ARG);
  b = p;
  std::vector<int32_t> bad_window(p.window, p.window + 480);
  bad_window[7] = -1;  // windows are >= 0
  b.window = bad_window.data();
  EXPECT_EQ(tn_mfcc_s8(&b, pcm.data(), 16000, out.data(), scratch), TN_ERR_ARG);
  b = p;
  int16_t bad_count[40];
  std::copy(p.mel_count, p.mel_count + 40, bad_count);
  bad_count[39] = 300;
  b.mel_count = bad_count;
  EXPECT_EQ(tn_mfcc_s8(&b, pcm.data(), 16000, out.data(), scratch), TN_ERR_ARG);

  tn_mfcc_config_t c = tn_mfcc_config_kws();
  c.fft_length = 256;  // < frame_length
  tn_mfcc_tables_t t;
  EXPECT_EQ(tn_mfcc_tables_build(&c, &t), TN_ERR_ARG);
  c = tn_mfcc_config_kws();
  c.upper_hz = 9000;
  EXPECT_EQ(tn_mfcc_tables_build(&c, &t), TN_ERR_ARG);
  tn_mfcc_tables_free(&t);
}

TEST(MfccTables, KwsTablesMatchTheirDefinitions) {
  Tables T(tn_mfcc_config_kws());
  const tn_mfcc_params_t& p = T.t.params;
  EXPECT_EQ(p.window[0], 0);
  EXPECT_EQ(p.window[240], INT32_MAX);
  EXPECT_EQ(p.twiddle[0], INT32_MAX);
  EXPECT_EQ(p.twiddle[1], 0);
  EXPECT_EQ(p.twiddle[2 * 128 + 1], INT32_MAX);
  EXPECT_EQ(p.dct_shift, 17);
  EXPECT_EQ(p.log_floor, 17592186u);  // 1e-6 * 2^44
  // Filters: consecutive, inside 20..4000 Hz (bins 1..128), weights <= 1.
  int32_t total = 0;
  for (int m = 0; m < 40; ++m) {
    EXPECT_GE(p.mel_count[m], 1) << m;
    EXPECT_GE(p.mel_start[m], 1);
    EXPECT_LE(p.mel_start[m] + p.mel_count[m], 129);
    if (m) {
      EXPECT_GE(p.mel_start[m], p.mel_start[m - 1]);
    }
    total += p.mel_count[m];
  }
  EXPECT_EQ(total, T.t.num_weights);
  for (int i = 0; i < total; ++i) EXPECT_GT(p.mel_weight[i], 0);
}

// The QEMU firmware (tests/runtime/qemu_mfcc) carries the tables as generated C,
// as a code generator emits them into model.c; it must be what the builder
// writes today (TN_MFCC_REGEN=1 rewrites it).
TEST(MfccTables, QemuFirmwareTablesAreCurrent) {
  Tables T(tn_mfcc_config_kws());
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  ASSERT_NE(f, nullptr);
  std::fprintf(f, "/* Generated by tn_mfcc_tables_write_c(tn_mfcc_config_kws()); do not edit\n"
                  " * (TN_MFCC_REGEN=1 ./runtime_mfcc_test --gtest_filter=MfccTables.* rewrites it). */\n");
  ASSERT_EQ(tn_mfcc_tables_write_c(&T.t, "kws", f), 0);
  std::fclose(f);
  const std::string want(buf, len);
  std::free(buf);
  const std::string path = std::string(TINYNAS_SOURCE_DIR) + "/tests/runtime/qemu_mfcc/mfcc_tables.inc";
  if (std::getenv("TN_MFCC_REGEN")) std::ofstream(path) << want;
  std::ifstream in(path);
  std::stringstream have;
  have << in.rdbuf();
  EXPECT_EQ(have.str(), want) << path << " is stale: rerun with TN_MFCC_REGEN=1";
}

}  // namespace
