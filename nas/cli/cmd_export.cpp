// tinynas export: int8 quantisation and generated C for the runtime, verified on the host (and
// on QEMU's Cortex-M7 with --qemu).
#include <fmt/core.h>

#include "nas/cli/arch_arg.h"
#include "nas/cli/cli.h"
#include "nas/cli/export_subnet.h"
#include "nas/export/npy.h"
#include "nas/export/tflite_model.h"

#include <random>
#ifdef TINYNAS_WITH_TORCH
#include "supernet/api.h"
#include "supernet/labelled_images.h"
#endif

namespace tinynas {

#ifdef TINYNAS_WITH_TORCH
ExportReport export_subnet(const Experiment& exp, const SearchSpace& space, const ArchSpec& arch,
                           SupernetEvaluator& evaluator, const ExportOptions& options) {
  if (space.fingerprint() != exp.space.fingerprint()) {
    throw ConfigError("export: " + arch.to_string() + " is not of the config's space " + exp.space.name +
                      " (the supernet's)");
  }
  const std::vector<LayerWeights> weights = evaluator.weights(arch);
  const Shape input = space.input_shape(arch.resolution);
  const LabelledImages calib =
      labelled_images(evaluator.dataset(), Split::Train, exp.export_.calibration_images, space, input);
  const LabelledImages test = labelled_images(evaluator.dataset(), Split::Test, 0, space, input);
  ExportOptions opt = options;
  opt.metric = evaluator.task().metric.name;
  opt.class_names = evaluator.task().class_names;
  opt.firmware_images = exp.export_.firmware_inputs;
  opt.normalization = pixel_normalization(evaluator.dataset());
  const ExportReport r = export_model(space, arch, exp.mcu, weights, calib, test, opt);
  fmt::print("exported {} to {}\n", arch.to_string(), options.out_dir);
  if (r.float_test_accuracy && r.int8_float_agreement) {
    fmt::print("  float test accuracy {:.4f}, int8 {:.4f} ({} images; top-1 agreement {:.4f})\n",
               *r.float_test_accuracy, *r.int8_test_accuracy, r.test_images, *r.int8_float_agreement);
  } else if (r.int8_test_accuracy) {
    fmt::print("  int8 test accuracy {:.4f} ({} images)\n", *r.int8_test_accuracy, r.test_images);
  } else {
    fmt::print("  float / int8 top-1 not measured ({})\n",
               opt.metric != "top1_accuracy" ? "the task's metric is " + opt.metric : "no test images");
  }
  fmt::print("  arena {} B (estimated peak SRAM {} B; image {} the arena), flash {}, {} B estimated\n",
             r.arena_bytes, r.estimated_peak_sram_bytes, r.input_in_arena ? "in" : "outside",
             r.flash_bytes ? fmt::format("{} B measured", *r.flash_bytes) : std::string("not measured"),
             r.estimated_flash_bytes);
  if (r.host_matches) fmt::print("  host build == C++ reference on {}/{} images\n", *r.host_matches, r.firmware_images);
  if (r.frame_matches && r.frame_runs) {
    fmt::print("  camera frames (tinynas_invoke_frame) == the int8 path on {}/{} runs{}\n", *r.frame_matches,
               *r.frame_runs,
               r.frame_api_flash_bytes ? fmt::format(", the frame API adds {} B of flash", *r.frame_api_flash_bytes)
                                       : std::string());
  }
  if (r.qemu_matches) {
    fmt::print("  Cortex-M7 (QEMU) == C++ reference on {}/{} images, == host: {}\n", *r.qemu_matches,
               r.firmware_images, !r.qemu_equals_host ? "not measured" : *r.qemu_equals_host ? "yes" : "NO");
  }
  if (r.qemu_instructions && r.instructions_per_mac) {
    fmt::print("  {} instructions per inference, {:.2f} per MAC\n", *r.qemu_instructions, *r.instructions_per_mac);
  }
  if (r.qemu_front_end_instructions && r.qemu_network_instructions) {
    fmt::print("  of which {} front end ({}), {} network\n", *r.qemu_front_end_instructions, r.front_end,
               *r.qemu_network_instructions);
  }
  return r;
}
#endif

namespace {

struct ExportArgs {
  std::string config, arch, out = "out/export", checkpoint;
  std::string tflite, mcu;  // an imported model instead of a config's subnet
  std::string inputs;       // with --tflite: the firmware test's inputs (.npy); else random ones
  int count = 16;           // with --tflite: how many
  uint64_t seed = 0;
  bool qemu = false, profile = false, test_set = false;
};

bool verified(const ExportReport& r, bool qemu) {
  return r.host_matches == r.firmware_images && r.frame_matches == r.frame_runs &&
         (!qemu || (r.qemu_matches == r.firmware_images && r.qemu_equals_host == true)) &&
         r.arena_bytes == r.estimated_peak_sram_bytes;
}

// An int8 .tflite from another tool: its C, verified on random inputs (seeded) against the C++
// int8 reference on the host and, with --qemu, on the Cortex-M7.
int run_export_tflite(const ExportArgs& args) {
  if (args.mcu.empty()) throw ConfigError("export --tflite: --mcu configs/mcus/<mcu>.yaml is required");
  if (args.count < 1) throw ConfigError(fmt::format("export --tflite: --count {}: expected at least 1", args.count));
  const ImportedTflite m = read_tflite(args.tflite);
  const McuSpec mcu = McuSpec::load(args.mcu);
  const NetGraph& g = m.model.graph;
  const auto per = static_cast<std::size_t>(g.tensors[g.input].bytes());
  std::vector<std::vector<int8_t>> inputs;
  if (!args.inputs.empty()) {
    const NpyInt8 a = read_npy_int8(args.inputs);
    if (a.data.empty() || a.data.size() % per != 0) {
      throw ConfigError(fmt::format("{}: expected int8 inputs of {} values each (the model's input)", args.inputs, per));
    }
    for (std::size_t i = 0; i < a.data.size() / per && static_cast<int>(inputs.size()) < args.count; ++i) {
      inputs.emplace_back(a.data.begin() + i * per, a.data.begin() + (i + 1) * per);
    }
  } else {
    std::mt19937_64 rng(args.seed);
    std::uniform_int_distribution<int> byte(-128, 127);
    inputs.assign(args.count, std::vector<int8_t>(per));
    for (auto& in : inputs) {
      for (auto& v : in) v = static_cast<int8_t>(byte(rng));
    }
  }
  ExportOptions o;
  o.out_dir = args.out;
  o.run_qemu = args.qemu || args.profile;
  o.profile = args.profile;
  o.metric.clear();
  const ExportReport r = export_int8_model(m.model, args.tflite, mcu, inputs, o);
  fmt::print("exported {} ({} operators as {} layers) to {}\n", args.tflite, m.operators, g.layers.size(), args.out);
  fmt::print("  arena {} B (estimated peak SRAM {} B), flash {}, {} B estimated\n", r.arena_bytes,
             r.estimated_peak_sram_bytes,
             r.flash_bytes ? fmt::format("{} B measured", *r.flash_bytes) : std::string("not measured"),
             r.estimated_flash_bytes);
  if (r.host_matches) {
    fmt::print("  host build == C++ reference on {}/{} inputs ({})\n", *r.host_matches, r.firmware_images,
               args.inputs.empty() ? fmt::format("random, seed {}", args.seed) : args.inputs);
  }
  if (r.qemu_matches) {
    fmt::print("  Cortex-M7 (QEMU) == C++ reference on {}/{} inputs, == host: {}\n", *r.qemu_matches,
               r.firmware_images, !r.qemu_equals_host ? "not measured" : *r.qemu_equals_host ? "yes" : "NO");
  }
  if (r.qemu_instructions) fmt::print("  {} instructions per inference\n", *r.qemu_instructions);
  const bool ok = verified(r, o.run_qemu);
  if (!ok) fmt::print(stderr, "export: verification FAILED (see {}/report.json)\n", args.out);
  return ok ? 0 : 1;
}

int run_export(const ExportArgs& args) {
  if (!args.tflite.empty()) {
    if (!args.config.empty() || !args.arch.empty()) throw ConfigError("export: give --tflite or --config, not both");
    return run_export_tflite(args);
  }
  if (args.config.empty() || args.arch.empty()) {
    throw ConfigError("export: give --config and --arch (a subnet), or --tflite and --mcu (an imported model)");
  }
  const Experiment exp = Experiment::load(args.config);
  const LoadedArch la = resolve_arch(args.arch, exp.space);
#ifdef TINYNAS_WITH_TORCH
  SupernetEvaluator evaluator(exp.space, exp.data, exp.train, args.checkpoint);
  ExportOptions o;
  o.out_dir = args.out;
  o.run_qemu = args.qemu || args.profile || exp.export_.run_on_qemu;
  o.profile = args.profile;
  o.input_in_arena = exp.export_.input_in_arena;
  o.write_test_set = args.test_set;
  const ExportReport r = export_subnet(exp, la.space, la.arch, evaluator, o);
  const bool ok = verified(r, o.run_qemu);
  if (!ok) fmt::print(stderr, "export: verification FAILED (see {}/report.json)\n", args.out);
  return ok ? 0 : 1;
#else
  (void)la;
  fmt::print(stderr, "tinynas export: this build has no LibTorch (TINYNAS_WITH_TORCH=OFF)\n");
  return 2;
#endif
}

}  // namespace

void add_export_command(CLI::App& app, CommandFn* run) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* sub = app.add_subcommand("export", "Quantise a subnet to int8 and generate C for the runtime");
  sub->add_option("--config", args->config, "experiment config (YAML)");
  sub->add_option("--arch", args->arch, "ArchSpec file, or largest / smallest");
  sub->add_option("--tflite", args->tflite, "an int8 .tflite model instead of a config's subnet");
  sub->add_option("--mcu", args->mcu, "with --tflite: the MCU config (configs/mcus/<mcu>.yaml)");
  sub->add_option("--inputs", args->inputs, "with --tflite: the test inputs (int8 .npy, N x input); default random");
  sub->add_option("--count", args->count, "with --tflite: how many test inputs")->capture_default_str();
  sub->add_option("--seed", args->seed, "with --tflite: the random inputs' seed")->capture_default_str();
  sub->add_flag("--test-set", args->test_set,
                "also write the test split as .npy: test_inputs (int8), test_labels, test_outputs (int8)");
  sub->add_option("--out", args->out, "output directory")->capture_default_str();
  sub->add_option("--checkpoint", args->checkpoint, "supernet checkpoint (default: train.checkpoint)");
  sub->add_flag("--qemu", args->qemu, "also build for Cortex-M7, run under QEMU, measure flash");
  sub->add_flag("--profile", args->profile, "with --qemu: time every layer, write profile.csv");
  sub->callback([run, args] { *run = [args] { return run_export(*args); }; });
}

}  // namespace tinynas
