#include "nas/export/exporter.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "estimators/estimate.h"
#include "nas/export/codegen.h"
#include "nas/export/float_model.h"
#include "nas/export/int8_model.h"
#include "nas/export/npy.h"
#include "nas/export/process.h"
#include "nas/export/tflite_model.h"
#include "search_spaces/atomic_file.h"

namespace tinynas {

namespace fs = std::filesystem;

namespace {

// An unmeasured value is null.
template <typename T>
nlohmann::ordered_json measured(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json();
}

}  // namespace

std::string ExportReport::to_json() const {
  nlohmann::ordered_json j;
  j["arch"] = arch;
  j["macs"] = macs;
  j["executed_macs"] = executed_macs;
  j["params"] = params;
  j["arena_bytes"] = arena_bytes;
  j["input_in_arena"] = input_in_arena;
  j["estimated_peak_sram_bytes"] = estimated_peak_sram_bytes;
  j["flash_bytes"] = measured(flash_bytes);
  j["estimated_flash_bytes"] = estimated_flash_bytes;
  j["const_bytes"] = const_bytes;
  j["estimated_latency_ms"] = estimated_latency_ms;
  j["metric"] = metric.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(metric);
  j["float_test_accuracy"] = measured(float_test_accuracy);
  j["int8_test_accuracy"] = measured(int8_test_accuracy);
  j["test_images"] = test_images;
  j["int8_float_agreement"] = measured(int8_float_agreement);
  j["firmware_images"] = firmware_images;
  j["host_matches"] = measured(host_matches);
  j["qemu_matches"] = measured(qemu_matches);
  j["qemu_equals_host"] = measured(qemu_equals_host);
  j["frame_matches"] = measured(frame_matches);
  j["frame_runs"] = measured(frame_runs);
  j["frame_api_flash_bytes"] = measured(frame_api_flash_bytes);
  j["qemu_instructions"] = measured(qemu_instructions);
  j["instructions_per_mac"] = measured(instructions_per_mac);
  j["front_end"] = front_end.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(front_end);
  j["qemu_front_end_instructions"] = measured(qemu_front_end_instructions);
  j["qemu_network_instructions"] = measured(qemu_network_instructions);
  j["tflite_bytes"] = measured(tflite_bytes);
  j["tflite_pads"] = measured(tflite_pads);
  j["tflite_front_end_skipped"] = measured(tflite_front_end_skipped);
  j["seconds"] = seconds;
  return j.dump(2) + "\n";
}

namespace {

#ifndef TINYNAS_SOURCE_DIR
#define TINYNAS_SOURCE_DIR "."
#endif

// Float (unless `with_float` is false) and int8 top-1 on every test image, split over threads;
// with `inputs` / `outputs`, every image's int8 input and output too (image-major).
void accuracy(const FloatModel& fm, const Int8Model& qm, const LabelledImages& test, int threads,
              bool with_float, ExportReport* r, std::vector<int8_t>* inputs = nullptr,
              std::vector<int8_t>* outputs = nullptr) {
  const int64_t n = test.size();
  const int64_t in_size = qm.graph.tensors[qm.graph.input].bytes();
  const int64_t out_size = qm.graph.tensors[qm.graph.output].bytes();
  if (inputs) inputs->assign(static_cast<std::size_t>(n * in_size), 0);
  if (outputs) outputs->assign(static_cast<std::size_t>(n * out_size), 0);
  const int t = std::max(1, threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<int64_t> fc(t), qc(t), agree(t);
  std::vector<std::thread> pool;
  for (int k = 0; k < t; ++k) {
    pool.emplace_back([&, k] {
      for (int64_t i = k; i < n; i += t) {
        const auto img = test.image(i);
        const std::vector<int8_t> x = qm.quantize_input(img);
        const std::vector<int8_t> y = qm.run(x);
        const int q = argmax(y);
        if (inputs) std::copy(x.begin(), x.end(), inputs->begin() + i * in_size);
        if (outputs) std::copy(y.begin(), y.end(), outputs->begin() + i * out_size);
        const int f = with_float ? argmax(fm.run(img)) : q;
        fc[k] += f == test.labels[i];
        qc[k] += q == test.labels[i];
        agree[k] += f == q;
      }
    });
  }
  for (auto& th : pool) th.join();
  int64_t F = 0, Q = 0, A = 0;
  for (int k = 0; k < t; ++k) F += fc[k], Q += qc[k], A += agree[k];
  r->test_images = n;
  if (n == 0) return;  // nothing measured
  r->int8_test_accuracy = static_cast<double>(Q) / n;
  if (!with_float) return;
  r->float_test_accuracy = static_cast<double>(F) / n;
  r->int8_float_agreement = static_cast<double>(A) / n;
}

// The test program's "match k/n" line; empty if it printed none.
std::optional<int> count_matches(const std::string& out) {
  const auto pos = out.rfind("match ");
  if (pos == std::string::npos) return std::nullopt;
  return std::atoi(out.c_str() + pos + 6);
}

// The logits lines, of the int8 path ("out,") and of the frame path ("frame,").
std::string output_lines(const std::string& out) {
  std::istringstream in(out);
  std::string line, keep;
  while (std::getline(in, line)) {
    if (line.rfind("out,", 0) == 0 || line.rfind("frame,", 0) == 0) keep += line + "\n";
  }
  return keep;
}

// "frames_equal k/n" -> (k, n).
std::optional<std::pair<int, int>> frames_equal(const std::string& out) {
  const auto pos = out.rfind("frames_equal ");
  if (pos == std::string::npos) return std::nullopt;
  int k = 0, n = 0;
  if (std::sscanf(out.c_str() + pos + 13, "%d/%d", &k, &n) != 2) return std::nullopt;
  return std::make_pair(k, n);
}

// The part of an export after quantisation, common to a subnet and an imported model: the memory
// plan (the estimators' own) and the generated C.
GeneratedC generate(const Int8Model& qm, const McuSpec& mcu, const ExportOptions& opt, const Normalization* frames,
                    ExportReport* r) {
  EstimateOptions eo;
  eo.plan.input_in_arena = opt.input_in_arena;
  McuSpec m = mcu;
  // A kind the MCU's calibration has not measured (an imported model's softmax): no latency.
  if (const OpDescriptor* k = m.has_latency ? m.latency.uncalibrated_kind(qm.graph) : nullptr) {
    spdlog::warn("export: {} has no latency calibration for {}; latency not estimated", mcu.name, k->name());
    m.has_latency = false;
  }
  Estimator est(m, eo);
  const Estimate& e = est.estimate(qm.graph);
  r->macs = e.macs;
  r->executed_macs = e.executed_macs;
  r->params = e.params;
  r->estimated_peak_sram_bytes = e.peak_sram_bytes;
  r->estimated_flash_bytes = e.flash_bytes;
  if (e.has_latency) r->estimated_latency_ms = e.latency_ms;
  GeneratedC c = generate_model_c(qm, est.plan(), opt.class_names, frames);
  r->arena_bytes = c.arena_bytes;
  r->input_in_arena = est.plan().input_in_arena;
  r->const_bytes = c.const_bytes;
  return c;
}

// Writes model.{h,c}, model.tflite, the test program (when there are inputs) and report.json's
// measurements: host build, QEMU, flash.
void write_and_verify(const Int8Model& qm, const GeneratedC& c, const std::vector<std::vector<int8_t>>& inputs,
                      const std::vector<std::vector<uint8_t>>& fw_frames, const ExportOptions& opt, ExportReport* r) {
  std::vector<std::vector<int8_t>> expected;
  for (const auto& in : inputs) expected.push_back(qm.run(in));
  const int64_t nfw = static_cast<int64_t>(inputs.size());
  r->firmware_images = static_cast<int>(nfw);
  fs::create_directories(opt.out_dir);
  const std::string dir = opt.out_dir;
  write_file_atomic(dir + "/model.h", c.header);
  write_file_atomic(dir + "/model.c", c.source);
  try {
    const TfliteWritten t = write_tflite(qm, dir + "/model.tflite");
    r->tflite_bytes = static_cast<int64_t>(t.bytes.size());
    r->tflite_pads = t.pads;
    r->tflite_front_end_skipped = t.front_end_skipped;
  } catch (const std::invalid_argument& e) {
    spdlog::warn("export: no model.tflite: {}", e.what());
  }
  if (nfw > 0) {
    const GeneratedTest t = generate_test_program(qm, inputs, expected, !opt.class_names.empty(), fw_frames);
    write_file_atomic(dir + "/main.c", t.main_c);
    write_file_atomic(dir + "/test_data.c", t.test_data_c);
  }
  const std::string root = TINYNAS_SOURCE_DIR;
  std::string host_out;
  if (opt.verify_host && nfw > 0) {
    const std::string exe = dir + "/.host_model";
    const ProcessResult cc = run_process(
        "cc -std=c99 -O2 -Wall -Wextra -I" + shell_quote(dir) + " -I" + shell_quote(root + "/runtime") + " " +
        shell_quote(dir + "/model.c") + " " + shell_quote(dir + "/main.c") + " " +
        shell_quote(dir + "/test_data.c") + " " + shell_quote(root) + "/runtime/*.c -o " + shell_quote(exe));
    if (cc.exit_code != 0) throw std::runtime_error("export: the generated C does not compile:\n" + cc.err);
    const ProcessResult run = run_process(shell_quote(exe));
    std::remove(exe.c_str());
    r->host_matches = count_matches(run.out);
    if (const auto fe = frames_equal(run.out)) r->frame_matches = fe->first, r->frame_runs = fe->second;
    host_out = output_lines(run.out);
    spdlog::info("export: host build matches the C++ reference on {}/{} images", r->host_matches.value_or(-1), nfw);
    if (r->frame_matches) {
      spdlog::info("export: camera frames through tinynas_invoke_frame == the int8 path on {}/{} runs",
                   *r->frame_matches, r->frame_runs.value_or(-1));
    }
  }
  if (opt.run_qemu && nfw > 0) {
    std::string cmd = shell_quote(root + "/scripts/run-on-qemu");
    if (opt.profile) cmd = "TN_CFLAGS=-DTN_PROFILE_MAX_LAYERS=4096 " + cmd + " --profile";
    const ProcessResult q = run_process(cmd + " " + shell_quote(dir));
    if (q.exit_code != 0 && q.exit_code != 1) {
      throw std::runtime_error(fmt::format("export: QEMU run failed (exit {}):\n{}", q.exit_code, q.err));
    }
    r->qemu_matches = count_matches(q.out);
    if (!host_out.empty()) r->qemu_equals_host = output_lines(q.out) == host_out;  // else: no host run to compare
    if (opt.profile) {
      const auto pos = q.out.find("op,kh,kw,stride");
      if (pos != std::string::npos) {
        const std::string csv = q.out.substr(pos);
        write_file_atomic(dir + "/profile.csv", csv);
        std::istringstream rows(csv);
        std::string line;
        std::getline(rows, line);
        int64_t total = 0, front = 0;
        while (std::getline(rows, line)) {
          const auto comma = line.rfind(',');
          if (comma == std::string::npos) continue;
          const int64_t n = std::atoll(line.c_str() + comma + 1);
          total += n;
          if (!r->front_end.empty() && line.rfind(r->front_end + ",", 0) == 0) front += n;
        }
        r->qemu_instructions = total;
        if (!r->front_end.empty()) {
          r->qemu_front_end_instructions = front;
          r->qemu_network_instructions = total - front;
        }
        // Per MAC of the network: a front end has none.
        if (r->executed_macs) r->instructions_per_mac = static_cast<double>(total - front) / r->executed_macs;
      }
    }
    const ProcessResult f = run_process(shell_quote(root + "/scripts/measure-flash") + " " + shell_quote(dir));
    if (f.exit_code != 0) throw std::runtime_error("export: flash measurement failed:\n" + f.err);
    const auto pos = f.out.find("model_flash_bytes ");
    if (pos != std::string::npos) r->flash_bytes = std::atoll(f.out.c_str() + pos + 18);
    const auto fpos = f.out.find("frame_api_flash_bytes ");
    if (fpos != std::string::npos) r->frame_api_flash_bytes = std::atoll(f.out.c_str() + fpos + 22);
    spdlog::info("export: QEMU Cortex-M7 matches on {}/{} images, flash {} bytes", r->qemu_matches.value_or(-1), nfw,
                 r->flash_bytes.value_or(-1));
  }
}

}  // namespace

ExportReport export_model(const SearchSpace& space, const ArchSpec& arch, const McuSpec& mcu,
                          const std::vector<LayerWeights>& weights, const LabelledImages& calibration,
                          const LabelledImages& test, const ExportOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  ExportReport r;
  r.arch = arch.to_string();
  const NetGraph g = lower(space, arch);
  const Shape in = g.tensors[g.input].shape;
  r.front_end = space.front_end.kind;
  for (const LabelledImages* set : {&calibration, &test}) {
    if (set->size() > 0 && (set->h != in.h || set->w != in.w || set->c != in.c)) {
      throw ConfigError(fmt::format("export: images are {}x{}x{}, the subnet takes {}x{}x{}", set->h,
                                    set->w, set->c, in.h, in.w, in.c));
    }
  }
  if (calibration.size() == 0) throw ConfigError("export: no calibration images");
  FloatModel fm;
  try {
    fm = FloatModel::fold(g, weights);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("export: the weights do not match ") + r.arch + ": " + e.what());
  }

  spdlog::info("export: calibrating activation ranges on {} training images", calibration.size());
  RangeObserver obs(g);
  for (int64_t i = 0; i < calibration.size(); ++i) obs.observe(fm.run_all(calibration.image(i)));
  const Int8Model qm = Int8Model::quantize(fm, obs.ranges());

  if (opt.metric == "top1_accuracy") {
    spdlog::info("export: {} accuracy on {} test images", opt.float_accuracy ? "float and int8" : "int8",
                 test.size());
    r.metric = opt.metric;
    std::vector<int8_t> inputs, outputs;
    accuracy(fm, qm, test, opt.threads, opt.float_accuracy, &r, opt.write_test_set ? &inputs : nullptr,
             opt.write_test_set ? &outputs : nullptr);
    if (opt.write_test_set && test.size() > 0) {
      fs::create_directories(opt.out_dir);
      const int64_t n = test.size();
      write_npy_int8(opt.out_dir + "/test_inputs.npy", {{n, in.h, in.w, in.c}, inputs});
      write_npy_int8(opt.out_dir + "/test_outputs.npy", {{n, static_cast<int64_t>(outputs.size()) / n}, outputs});
      write_npy_int32(opt.out_dir + "/test_labels.npy", {n},
                      std::vector<int32_t>(test.labels.begin(), test.labels.end()));
    }
  } else {
    spdlog::info("export: the task's metric is {}; float and int8 top-1 not measured", opt.metric);
  }

  // The frame API when the dataset has a pixel normalisation and the test images their frames.
  const bool frames = opt.normalization && !test.frames.empty();
  const GeneratedC c = generate(qm, mcu, opt, frames ? &*opt.normalization : nullptr, &r);
  std::vector<std::vector<int8_t>> inputs;
  std::vector<std::vector<uint8_t>> fw_frames;
  const int64_t nfw = std::min<int64_t>(opt.firmware_images, test.size());
  const std::vector<int8_t> lut =
      c.frame_api ? frame_lut(qm.tensor_quant[g.input], *opt.normalization, in.c) : std::vector<int8_t>();
  for (int64_t i = 0; i < nfw; ++i) {
    if (c.frame_api) {
      // The camera's bytes; the int8 input is what the table makes of them.
      fw_frames.push_back(test.frame(i));
      std::vector<int8_t> q(fw_frames.back().size());
      for (std::size_t k = 0; k < q.size(); ++k) q[k] = lut[(k % in.c) * 256 + fw_frames.back()[k]];
      inputs.push_back(std::move(q));
    } else {
      inputs.push_back(qm.quantize_input(test.image(i)));
    }
  }
  fs::create_directories(opt.out_dir);
  write_file_atomic(opt.out_dir + "/arch.yaml", arch.to_yaml());
  write_and_verify(qm, c, inputs, fw_frames, opt, &r);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_file_atomic(opt.out_dir + "/report.json", r.to_json());
  return r;
}

ExportReport export_int8_model(const Int8Model& qm, const std::string& name, const McuSpec& mcu,
                               const std::vector<std::vector<int8_t>>& inputs, const ExportOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  ExportReport r;
  r.arch = name;
  for (const Layer& l : qm.graph.layers) {
    if (l.op->is_front_end()) r.front_end = l.op->name();
  }
  write_and_verify(qm, generate(qm, mcu, opt, nullptr, &r), inputs, {}, opt, &r);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_file_atomic(opt.out_dir + "/report.json", r.to_json());
  return r;
}

}  // namespace tinynas
