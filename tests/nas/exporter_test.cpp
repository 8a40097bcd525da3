// The whole export on a random model: int8, generated C, host build bit-exact with the C++
// reference, and (when the Arm toolchain and QEMU are installed) the Cortex-M7 run.
#include "nas/export/exporter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "estimators/estimate.h"
#include "nas/export/process.h"
#include "search_spaces/atomic_file.h"
#include "tests/nas/random_model.h"
#include "search_spaces/arch_spec.h"
#include "tests/wav_writer.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;
const std::string kRoot = TINYNAS_SOURCE_DIR;

LabelledImages random_images(int n, int h, int w, uint64_t seed, int classes = 10) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> pixel(-0.8f, 2.0f);
  LabelledImages s;
  s.h = h;
  s.w = w;
  s.c = 1;
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < h * w; ++p) s.pixels.push_back(pixel(rng));
    s.labels.push_back(static_cast<int>(rng() % classes));
  }
  return s;
}
LabelledImages random_images(int n, int res, uint64_t seed) { return random_images(n, res, res, seed); }

bool have_arm();

struct Case {
  SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  McuSpec mcu = McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml");
  ArchSpec arch;
  std::string dir;
  Case(const std::string& name, PatchSchedule patch) {
    arch = ArchSpec::smallest(space);
    arch.resolution = 32;
    arch.stages[2][0] = {5, 4};
    arch.patch = patch;
    dir = (fs::temp_directory_path() / ("tinynas_export_" + name)).string();
    fs::remove_all(dir);
  }
  // Another space's largest subnet.
  Case(const SearchSpace& other, const std::string& name) : space(other) {
    arch = ArchSpec::largest(space);
    dir = (fs::temp_directory_path() / ("tinynas_export_" + name)).string();
    fs::remove_all(dir);
  }
  ~Case() { fs::remove_all(dir); }
  ExportReport run(bool qemu, bool input_in_arena = true) {
    const NetGraph g = lower(space, arch);
    ExportOptions opt;
    opt.out_dir = dir;
    opt.firmware_images = 4;
    opt.run_qemu = qemu;
    opt.profile = qemu;
    opt.input_in_arena = input_in_arena;
    const Shape in = g.tensors[g.input].shape;
    return export_model(space, arch, mcu, random_weights(g, 5),
                        random_images(16, in.h, in.w, 1, space.num_classes),
                        random_images(40, in.h, in.w, 2, space.num_classes), opt);
  }
};

TEST(Export, HostBuildIsBitExactAndTheReportIsComplete) {
  Case c("host", {});
  const ExportReport r = c.run(false);
  EXPECT_EQ(r.host_matches.value_or(-1), 4);
  EXPECT_EQ(r.arena_bytes, r.estimated_peak_sram_bytes);
  EXPECT_EQ(r.test_images, 40);
  EXPECT_GE(r.int8_float_agreement.value_or(-1), 0.8);
  for (const char* f : {"model.h", "model.c", "main.c", "test_data.c", "arch.yaml", "report.json"}) {
    EXPECT_TRUE(fs::exists(c.dir + "/" + f)) << f;
  }
  const auto j = nlohmann::json::parse(read_file(c.dir + "/report.json"));
  for (const char* k : {"arena_bytes", "estimated_peak_sram_bytes", "flash_bytes", "estimated_flash_bytes",
                        "macs", "float_test_accuracy", "int8_test_accuracy"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["arena_bytes"], j["estimated_peak_sram_bytes"]);
  EXPECT_TRUE(j["input_in_arena"].get<bool>());
  EXPECT_EQ(j["host_matches"], 4);
  EXPECT_TRUE(j["int8_test_accuracy"].is_number());
  // QEMU was not run: what it would measure is null, not -1 / false.
  for (const char* k : {"flash_bytes", "qemu_matches", "qemu_equals_host", "qemu_instructions", "instructions_per_mac"}) {
    EXPECT_TRUE(j.contains(k) && j[k].is_null()) << k << " = " << j[k];
  }
  EXPECT_FALSE(r.flash_bytes);
  EXPECT_FALSE(r.qemu_equals_host);
}

// No test images: the accuracies are not measured (null), not -1.
TEST(Export, AccuracyWithoutTestImagesIsNull) {
  Case c("notest", {});
  const NetGraph g = lower(c.space, c.arch);
  ExportOptions opt;
  opt.out_dir = c.dir;
  opt.verify_host = false;
  const ExportReport r =
      export_model(c.space, c.arch, c.mcu, random_weights(g, 5), random_images(4, 32, 1), random_images(0, 32, 2), opt);
  EXPECT_FALSE(r.float_test_accuracy);
  EXPECT_FALSE(r.int8_float_agreement);
  EXPECT_FALSE(r.host_matches);
  const auto j = nlohmann::json::parse(read_file(c.dir + "/report.json"));
  for (const char* k : {"float_test_accuracy", "int8_test_accuracy", "int8_float_agreement", "host_matches"}) {
    EXPECT_TRUE(j.contains(k) && j[k].is_null()) << k << " = " << j[k];
  }
}

// A task whose metric is not top-1 (an anomaly score, say): the export measures no top-1 of its
// own, and says so with nulls rather than a figure of the wrong kind.
TEST(Export, AnotherMetricLeavesTopOneNull) {
  Case c("auroc", {});
  const NetGraph g = lower(c.space, c.arch);
  ExportOptions opt;
  opt.out_dir = c.dir;
  opt.verify_host = false;
  opt.metric = "auroc";
  const ExportReport r = export_model(c.space, c.arch, c.mcu, random_weights(g, 5),
                                      random_images(4, 32, 1), random_images(6, 32, 2), opt);
  EXPECT_FALSE(r.float_test_accuracy);
  EXPECT_FALSE(r.int8_test_accuracy);
  const auto j = nlohmann::json::parse(read_file(c.dir + "/report.json"));
  EXPECT_TRUE(j["metric"].is_null());
  EXPECT_TRUE(j["int8_test_accuracy"].is_null());
  opt.metric = "top1_accuracy";
  const ExportReport top1 = export_model(c.space, c.arch, c.mcu, random_weights(g, 5),
                                         random_images(4, 32, 1), random_images(6, 32, 2), opt);
  EXPECT_TRUE(top1.int8_test_accuracy);
  EXPECT_EQ(top1.metric, "top1_accuracy");
}

// export.input_in_arena: false: the estimate, the generated arena and the report all leave the
// image out; the host build still matches the C++ reference (and checks the image is untouched).
TEST(Export, ImageOutsideTheArena) {
  Case in("in_arena", {2, 3}), out("outside", {2, 3});
  const ExportReport ri = in.run(false);
  const ExportReport ro = out.run(false, false);
  EXPECT_EQ(ro.host_matches.value_or(-1), 4);
  EXPECT_EQ(ro.arena_bytes, ro.estimated_peak_sram_bytes);
  EXPECT_FALSE(ro.input_in_arena);
  EXPECT_LT(ro.arena_bytes, ri.arena_bytes);
  EXPECT_EQ(ro.executed_macs, ri.executed_macs);
  const auto j = nlohmann::json::parse(read_file(out.dir + "/report.json"));
  EXPECT_FALSE(j["input_in_arena"].get<bool>());
  EXPECT_EQ(j["arena_bytes"], j["estimated_peak_sram_bytes"]);
  EXPECT_NE(read_file(out.dir + "/model.h").find("int tinynas_invoke(const int8_t *input);"),
            std::string::npos);
}

// Camera frames (RGB, the stem reading them through the table, image outside the arena): the
// firmware's test inputs are uint8 frames, their int8 inputs the table's lookups; the test
// program's frame path (RGB888 as given, RGB565 packed from it) equals the int8 path on the host
// and, with the Arm toolchain and QEMU, the Cortex-M7's lines (int8 and frame) equal the host's.
// The accuracy passes still run on the float images.
TEST(Export, RgbFramesOnQemuEqualTheHostAndTheInt8Path) {
  SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml");
  space.input_channels = 3;
  space.stem_stride = 2;
  Case c(space, "rgb_frames");
  c.arch = ArchSpec::smallest(space);
  c.arch.resolution = 32;
  const NetGraph g = lower(space, c.arch);
  const Normalization norm{{0.49, 0.48, 0.45}, {0.25, 0.24, 0.26}};
  auto frames = [&](int n, uint64_t seed) {
    std::mt19937 rng(static_cast<uint32_t>(seed));
    LabelledImages s;
    s.h = s.w = 32;
    s.c = 3;
    for (int i = 0; i < n; ++i) {
      for (int p = 0; p < 32 * 32 * 3; ++p) {
        const uint8_t v = static_cast<uint8_t>(rng() & 255u);
        s.frames.push_back(v);
        s.pixels.push_back(static_cast<float>((v / 255.0 - norm.mean_of(p % 3)) / norm.std_of(p % 3)));
      }
      s.labels.push_back(static_cast<int>(rng() % 10));
    }
    return s;
  };
  ExportOptions opt;
  opt.out_dir = c.dir;
  opt.firmware_images = 4;
  opt.run_qemu = have_arm();
  opt.input_in_arena = false;
  opt.normalization = norm;
  const ExportReport r = export_model(space, c.arch, c.mcu, random_weights(g, 5), frames(8, 1), frames(12, 2), opt);
  EXPECT_EQ(r.host_matches.value_or(-1), 4);
  EXPECT_EQ(r.frame_matches.value_or(-1), 8);
  EXPECT_EQ(r.frame_runs.value_or(-1), 8);
  EXPECT_EQ(r.arena_bytes, r.estimated_peak_sram_bytes);
  EXPECT_EQ(r.test_images, 12);
  EXPECT_TRUE(r.float_test_accuracy);
  EXPECT_NE(read_file(c.dir + "/model.h").find("int tinynas_invoke_frame("), std::string::npos);
  EXPECT_NE(read_file(c.dir + "/model.c").find("tn_conv2d_frame_s8(&p0, frame,"), std::string::npos);
  const auto j = nlohmann::json::parse(read_file(c.dir + "/report.json"));
  EXPECT_EQ(j["frame_matches"], 8);
  if (!opt.run_qemu) GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm not installed";
  EXPECT_EQ(r.qemu_matches.value_or(-1), 4);
  EXPECT_EQ(r.qemu_equals_host, std::optional<bool>(true));
  ASSERT_TRUE(r.frame_api_flash_bytes && r.flash_bytes);
  EXPECT_GT(*r.frame_api_flash_bytes, 768);  // at least the table
  std::printf("RGB frames: flash %lld B (int8 API), the frame API adds %lld B\n",
              static_cast<long long>(*r.flash_bytes), static_cast<long long>(*r.frame_api_flash_bytes));
}

TEST(Export, WeightsOfAnotherArchAreRefused) {
  Case c("bad", {});
  const NetGraph other = lower(c.space, ArchSpec::largest(c.space));
  ExportOptions opt;
  opt.out_dir = c.dir;
  EXPECT_THROW(export_model(c.space, c.arch, c.mcu, random_weights(other, 1), random_images(2, 32, 1),
                            random_images(2, 32, 1), opt),
               ConfigError);
}

bool have_arm() {
  return run_process("command -v arm-none-eabi-gcc && command -v qemu-system-arm").exit_code == 0;
}

TEST(Export, CortexM7UnderQemuEqualsTheHostAndTheFlashEstimate) {
  if (!have_arm()) GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm not installed";
  // Layer by layer also with the image outside the arena: the stem then reads the caller's
  // buffer straight, at the odd address the test program gives it.
  struct Run {
    PatchSchedule patch;
    bool input_in_arena;
  };
  for (Run run : {Run{{}, true}, Run{{2, 3}, true}, Run{{}, false}}) {
    const PatchSchedule p = run.patch;
    Case c("qemu" + std::to_string(p.patches) + (run.input_in_arena ? "" : "_outside"), p);
    const ExportReport r = c.run(true, run.input_in_arena);
    EXPECT_EQ(r.host_matches.value_or(-1), 4);
    EXPECT_EQ(r.qemu_matches.value_or(-1), 4);
    EXPECT_EQ(r.qemu_equals_host, std::optional<bool>(true));
    EXPECT_EQ(r.arena_bytes, r.estimated_peak_sram_bytes);
    ASSERT_TRUE(r.flash_bytes && r.qemu_instructions && r.instructions_per_mac);
    const int64_t flash = *r.flash_bytes;
    EXPECT_GT(flash, 0);
    EXPECT_GT(*r.qemu_instructions, r.executed_macs);
    // The flash estimate is within 2% of the Arm image (issue 6).
    EXPECT_NEAR(static_cast<double>(r.estimated_flash_bytes) / flash, 1.0, 0.02);
    std::printf("patches %d, image %s the arena: flash %lld measured, %lld estimated (%.2f%%); "
                "%.2f instructions/MAC\n",
                p.patches, run.input_in_arena ? "in" : "outside", static_cast<long long>(flash),
                static_cast<long long>(r.estimated_flash_bytes),
                100.0 * (r.estimated_flash_bytes - flash) / flash, *r.instructions_per_mac);
  }
}

// 1 s clips as a keyword spotter's front end takes them (int16 values as floats): tones, chirps
// and noise at several loudnesses, silence included.
LabelledImages random_clips(int n, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<double> noise(0, 1);
  LabelledImages s;
  s.h = s.c = 1;
  s.w = 16000;
  for (int i = 0; i < n; ++i) {
    const double amp = i % 5 == 0 ? 0.0 : 200.0 * std::pow(10.0, (rng() % 200) / 100.0);
    const double f0 = 100 + rng() % 3000, f1 = 100 + rng() % 3000;
    for (int k = 0; k < 16000; ++k) {
      const double t = k / 16000.0;
      const double v = amp * std::sin(2 * M_PI * (f0 + (f1 - f0) * t / 2) * t) + 0.05 * amp * noise(rng);
      s.pixels.push_back(static_cast<float>(std::lround(std::clamp(v, -32768.0, 32767.0))));
    }
    s.labels.push_back(static_cast<int>(rng() % 12));
  }
  return s;
}

// A keyword spotter from samples to labels: the MFCC front end and DS-CNN in one generated C
// model, the clips' int16 bytes in the arena (or the caller's buffer), the host build and the
// Cortex-M7 equal to the C++ reference byte for byte, the arena equal to the estimate, and the
// profile split into the front end's instructions and the network's.
TEST(Export, FrontEndFromSamplesToLabels) {
  const SearchSpace space = SearchSpace::load(kRoot + "/configs/spaces/kws.yaml");
  const McuSpec mcu = McuSpec::load(kRoot + "/configs/mcus/stm32f746.yaml");
  const LoadedArch dscnn = load_arch_file(kRoot + "/configs/archs/kws-dscnn-member.yaml", space);
  const ArchSpec arch = dscnn.arch;
  const NetGraph g = lower(space, arch);
  ASSERT_TRUE(g.layers.front().op->is_front_end());
  const bool arm = have_arm();
  for (bool in_arena : {true, false}) {
    SCOPED_TRACE(in_arena ? "clip in the arena" : "clip in the caller's buffer");
    const std::string dir = (fs::temp_directory_path() / (in_arena ? "tinynas_export_kws" : "tinynas_export_kws_out")).string();
    fs::remove_all(dir);
    ExportOptions opt;
    opt.out_dir = dir;
    opt.firmware_images = 3;
    opt.run_qemu = arm && in_arena;
    opt.profile = opt.run_qemu;
    opt.input_in_arena = in_arena;
    opt.class_names = {"yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "silence", "unknown"};
    const ExportReport r = export_model(space, arch, mcu, random_weights(g, 3), random_clips(8, 1), random_clips(6, 2), opt);
    EXPECT_EQ(r.host_matches.value_or(-1), 3);
    EXPECT_EQ(r.arena_bytes, r.estimated_peak_sram_bytes);
    EXPECT_EQ(r.front_end, "mfcc");
    // In the arena, the 1 s clip (32000 bytes) and the front end's scratch and output are the peak.
    if (in_arena) {
      EXPECT_GE(r.arena_bytes, 32000 + 490 + 2216);
    } else {
      EXPECT_LT(r.arena_bytes, 32000);
    }
    const std::string h = read_file(dir + "/model.h");
    EXPECT_NE(h.find("#define TINYNAS_INPUT_SIZE 32000"), std::string::npos);
    EXPECT_NE(h.find("#define TINYNAS_INPUT_ELEMENT_BYTES 2"), std::string::npos);
    EXPECT_NE(h.find("#define TINYNAS_NUM_LABELS 12"), std::string::npos);
    EXPECT_NE(read_file(dir + "/model.c").find("tn_mfcc_s8(&mfcc0_params"), std::string::npos);
    if (opt.run_qemu) {
      EXPECT_EQ(r.qemu_matches.value_or(-1), 3);
      EXPECT_EQ(r.qemu_equals_host, std::optional<bool>(true));
      ASSERT_TRUE(r.qemu_front_end_instructions && r.qemu_network_instructions && r.flash_bytes);
      // tn_mfcc_s8 over 49 frames: 2.6-2.8 M instructions (tests/runtime MfccQemu); the network
      // runs its 2.66 M MACs at over one instruction each.
      EXPECT_GT(*r.qemu_front_end_instructions, 2500000);
      EXPECT_LT(*r.qemu_front_end_instructions, 3000000);
      EXPECT_GT(*r.qemu_network_instructions, r.macs);
      EXPECT_NEAR(static_cast<double>(r.estimated_flash_bytes) / *r.flash_bytes, 1.0, 0.03);
      // The firmware prints each clip's keyword.
      const ProcessResult q = run_process(shell_quote(kRoot + "/scripts/run-on-qemu") + " " + shell_quote(dir));
      EXPECT_NE(q.out.find("label,0,"), std::string::npos) << q.out;
      EXPECT_NE(q.out.find("label,2,"), std::string::npos) << q.out;
      // The same firmware on WAV files (scripts/run-kws-on-qemu): a short clip (zero-padded to 1 s)
      // and a full one; a stereo file is refused by name.
      const LabelledImages clips = random_clips(2, 9);
      std::vector<int16_t> a(clips.pixels.begin(), clips.pixels.begin() + 12000);
      std::vector<int16_t> b(clips.pixels.begin() + 16000, clips.pixels.begin() + 32000);
      write_file_atomic(dir + "/a.wav", wav_bytes(a));
      write_file_atomic(dir + "/b.wav", wav_bytes(b));
      WavSpec stereo;
      stereo.channels = 2;
      write_file_atomic(dir + "/stereo.wav", wav_bytes(a, stereo));
      const std::string script = shell_quote(kRoot + "/scripts/run-kws-on-qemu") + " " + shell_quote(dir);
      const ProcessResult w = run_process(script + " " + shell_quote(dir + "/a.wav") + " " + shell_quote(dir + "/b.wav"));
      EXPECT_EQ(w.exit_code, 0) << w.out << w.err;
      EXPECT_NE(w.out.find("equals the host on 2/2 clips"), std::string::npos) << w.out;
      const ProcessResult bad = run_process(script + " " + shell_quote(dir + "/stereo.wav"));
      EXPECT_EQ(bad.exit_code, 2);
      EXPECT_NE(bad.err.find("stereo.wav: 16000 Hz, 2 channel(s)"), std::string::npos) << bad.err;
    }
    fs::remove_all(dir);
  }
}

// MLPerf Tiny's DS-CNN (configs/spaces/kws-dscnn.yaml, random weights, 49 x 10 inputs): the
// whole export, the host build bit-exact with the C++ reference and, with the Arm toolchain and
// QEMU, the Cortex-M7 run equal to the host (its 10x4 stem with asymmetric pads takes the Arm
// kernels' c_in = 1 im2col path).
TEST(Export, DsCnnRunsBitExactOnTheHostAndTheCortexM7) {
  Case c([] {  // the network alone, on its 49 x 10 features (the MFCC front end: Export.FrontEnd*)
    SearchSpace s = SearchSpace::load(kRoot + "/configs/spaces/kws-dscnn.yaml");
    s.front_end = {};
    return s;
  }(), "dscnn");
  const bool qemu = have_arm();
  const ExportReport r = c.run(qemu);
  EXPECT_EQ(r.host_matches.value_or(-1), 4);
  EXPECT_EQ(r.arena_bytes, r.estimated_peak_sram_bytes);
  EXPECT_EQ(r.macs, 2656768);
  if (!qemu) GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm not installed: host only";
  EXPECT_EQ(r.qemu_matches.value_or(-1), 4);
  EXPECT_EQ(r.qemu_equals_host, std::optional<bool>(true));
  ASSERT_TRUE(r.instructions_per_mac);
  std::printf("DS-CNN on QEMU M7: %.2f instructions/MAC, arena %lld B\n", *r.instructions_per_mac,
              static_cast<long long>(r.arena_bytes));
}

}  // namespace
}  // namespace tinynas
