// tinynas estimate: what a subnet costs on the config's MCU, layer by layer, with the memory
// plan the code generator will emit.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "estimators/estimate.h"
#include "nas/cli/arch_arg.h"
#include "nas/cli/cli.h"
#include "nas/search/experiment.h"
#include "nas/export/tflite_model.h"
#include "search_spaces/net_graph.h"

namespace tinynas {

namespace {

struct EstimateArgs {
  std::string config;
  std::string arch;
  std::string tflite, mcu;  // an imported model instead of a config's subnet
  bool json = false;
  bool input_outside_arena = false;
};

std::string shape_str(const Shape& s) { return fmt::format("{}x{}x{}", s.h, s.w, s.c); }
double kb(int64_t bytes) { return static_cast<double>(bytes) / 1024.0; }

std::string tensor_name(const NetGraph& g, int t) {
  if (t == g.input) return "input";
  return g.layers[g.tensors[t].producer].name();
}

nlohmann::ordered_json buffer_json(const PlacedBuffer& b) {
  nlohmann::ordered_json j;
  j["offset"] = b.offset;
  j["size"] = b.size;
  return j;
}

// What is estimated: a subnet of a config's space, or an imported .tflite.
struct Subject {
  NetGraph graph;
  McuSpec mcu;
  EstimateOptions options;
  std::string title;            // first lines of the table
  nlohmann::ordered_json json;  // first keys of --json
  std::vector<std::string> layer_names;   // empty: the graph's
  std::vector<std::string> tensor_names;  // empty: named after their producers
};

int print_estimate(const Subject& s, bool json);

// The layer-by-layer plan next to every patch schedule: the one of least peak SRAM (fewest
// executed MACs on ties), p x p for p = 2..4, the stage ending at any block.
std::optional<std::pair<PatchSchedule, Estimate>> least_sram_schedule(const Subject& s) {
  Estimator est(s.mcu, s.options);
  NetGraph g = s.graph;
  std::optional<std::pair<PatchSchedule, Estimate>> best;
  for (int p = 2; p <= 4; ++p) {
    for (int split = 1; split <= g.num_blocks; ++split) {
      g.patch = PatchSchedule{p, split};
      const Estimate& e = est.estimate(g);
      if (!e.feasible) continue;
      if (!best || e.peak_sram_bytes < best->second.peak_sram_bytes ||
          (e.peak_sram_bytes == best->second.peak_sram_bytes && e.executed_macs < best->second.executed_macs)) {
        best = std::make_pair(g.patch, e);
      }
    }
  }
  return best;
}

int run_estimate(const EstimateArgs& args) {
  if (args.tflite.empty() == args.config.empty()) {
    throw ConfigError("estimate: give --config and --arch (a subnet), or --tflite and --mcu (an imported model)");
  }
  Subject s;
  if (!args.tflite.empty()) {
    if (args.mcu.empty()) throw ConfigError("estimate --tflite: --mcu configs/mcus/<mcu>.yaml is required");
    const ImportedTflite m = read_tflite(args.tflite);
    s.graph = m.model.graph;
    s.mcu = McuSpec::load(args.mcu);
    const OpDescriptor* k = s.mcu.has_latency ? s.mcu.latency.uncalibrated_kind(s.graph) : nullptr;
    const std::string uncalibrated = k ? k->name() : "";
    if (k) s.mcu.has_latency = false;  // reported below
    for (std::size_t i = 0; i < s.graph.layers.size(); ++i) {
      s.layer_names.push_back(fmt::format("op{}.{}", m.layer_operator[i], s.graph.layers[i].name()));
    }
    s.tensor_names = m.tensor_names;
    const int64_t tflm = tflm_greedy_arena_bytes(m.tflm_tensors);
    s.title = fmt::format("tflite: {} ({} operators: {}; {} PAD folded, {} RESHAPE as views)\nmcu: {}{}\n"
                          "TF-Lite Micro's greedy planner on the file's {} activation tensors: {} B = {:.1f} KB\n",
                          args.tflite, m.operators, fmt::join(m.operator_kinds, ", "), m.folded_pads, m.reshapes,
                          s.mcu.name,
                          uncalibrated.empty() ? "" : fmt::format("  (latency not estimated: {} has no calibration for {})",
                                                                  s.mcu.name, uncalibrated),
                          m.tflm_tensors.size(), tflm, kb(tflm));
    s.json["tflite"] = args.tflite;
    s.json["operators"] = m.operators;
    s.json["operator_kinds"] = m.operator_kinds;
    s.json["tflm_greedy_arena_bytes"] = tflm;
    if (!uncalibrated.empty()) s.json["latency_uncalibrated_kind"] = uncalibrated;
  } else {
    if (args.arch.empty()) throw ConfigError("estimate: --arch is required with --config");
    const Experiment exp = Experiment::load(args.config);
    const LoadedArch la = resolve_arch(args.arch, exp.space);
    s.graph = lower(la.space, la.arch);
    s.mcu = exp.mcu;
    s.options = exp.estimate_options();
    s.title = fmt::format("arch: {}\nspace: {}   mcu: {}\n", la.arch.to_string(), la.space.name, exp.mcu.name);
    s.json["arch"] = nlohmann::json::parse(la.arch.to_json());
    s.json["arch_string"] = la.arch.to_string();
  }
  if (args.input_outside_arena) s.options.plan.input_in_arena = false;
  return print_estimate(s, args.json);
}

int print_estimate(const Subject& s, bool json) {
  const NetGraph& g = s.graph;
  const McuSpec& mcu = s.mcu;
  const EstimateOptions& opt = s.options;
  Estimator estimator(mcu, opt);
  const Estimate& e = estimator.estimate(g);
  const MemoryPlan& plan = estimator.plan();
  auto layer_name = [&](std::size_t i) { return s.layer_names.empty() ? g.layers[i].name() : s.layer_names[i]; };
  // Short names in the table (the producing layer's), the file's own names in the JSON.
  auto short_tensor = [&](int t) { return t == g.input ? std::string("input") : layer_name(g.tensors[t].producer); };
  auto tensor = [&](int t) { return s.tensor_names.empty() ? tensor_name(g, t) : s.tensor_names[t]; };
  std::vector<int> peak_tensors;
  plan.live_tensors(plan.peak_layer, &peak_tensors);

  if (json) {
    nlohmann::ordered_json j = s.json;
    j["mcu"] = mcu.name;
    j["macs"] = g.macs();
    j["params"] = g.params();
    j["executed_macs"] = e.executed_macs;
    j["peak_sram_bytes"] = e.peak_sram_bytes;
    j["analytic_peak_bytes"] = e.analytic_peak_bytes;
    j["flash_bytes"] = e.flash_bytes;
    if (e.has_latency) {
      j["latency_ms"] = e.latency_ms;
    } else {
      j["latency_ms"] = nullptr;
    }
    j["fits"] = e.fits;
    j["fits_detail"] = {{"sram", e.fits_sram},
                        {"flash", e.fits_flash},
                        {"latency", e.fits_latency},
                        {"macs", e.fits_macs},
                        {"patch_schedule", e.feasible}};
    j["sram_budget_bytes"] = e.sram_budget_bytes;
    j["flash_budget_bytes"] = e.flash_budget_bytes;
    j["latency_limit_ms"] = opt.latency_limit_ms;
    if (e.has_latency) j["latency_calibration"] = mcu.latency.source;
    nlohmann::ordered_json mp;
    mp["arena_bytes"] = plan.arena_bytes;
    mp["lower_bound_bytes"] = plan.lower_bound_bytes;
    mp["alignment"] = kArenaAlignment;
    mp["input_in_arena"] = opt.plan.input_in_arena;
    mp["peak_layer"] = plan.peak_layer;
    mp["peak_tensors"] = peak_tensors;
    nlohmann::ordered_json tensors = nlohmann::json::array();
    for (std::size_t t = 0; t < plan.tensors.size(); ++t) {
      const PlacedBuffer& b = plan.tensors[t];
      nlohmann::ordered_json jt;
      jt["id"] = t;
      jt["name"] = tensor(static_cast<int>(t));
      const Shape& s = g.tensors[t].shape;
      jt["shape"] = {s.h, s.w, s.c};
      jt["offset"] = b.offset;
      jt["size"] = b.size;
      jt["first"] = b.first;
      jt["last"] = b.last;
      tensors.push_back(jt);
    }
    mp["tensors"] = tensors;
    j["memory_plan"] = mp;
    if (plan.patched && plan.ok) {
      const PatchPlan& pp = plan.patch;
      nlohmann::ordered_json jp;
      jp["patches"] = pp.patches;
      jp["split"] = g.patch.split;
      jp["stage_end"] = pp.stage_end;
      jp["stage_output"] = pp.stage_output;
      jp["row_bands"] = pp.row_bands;
      jp["col_bands"] = pp.col_bands;
      jp["extra_macs"] = pp.extra_macs;
      jp["stage_peak_bytes"] = pp.stage_peak_bytes;
      jp["rest_peak_bytes"] = pp.rest_peak_bytes;
      jp["sub_arena"] = {{"offset", pp.sub_arena_offset}, {"size", pp.sub_arena_bytes}};
      jp["crop"] = buffer_json(pp.crop);
      jp["tile"] = buffer_json(pp.tile);
      j["patch"] = jp;
    }
    nlohmann::ordered_json layers = nlohmann::json::array();
    for (std::size_t i = 0; i < g.layers.size(); ++i) {
      const Layer& l = g.layers[i];
      nlohmann::ordered_json jl;
      jl["name"] = layer_name(i);
      jl["op"] = l.op->name();
      jl["in"] = {l.in.h, l.in.w, l.in.c};
      jl["out"] = {l.out.h, l.out.w, l.out.c};
      jl["kernel"] = {l.kh, l.kw};
      jl["pads"] = {l.pad_top, l.pad_left, l.pad_bottom, l.pad_right};
      jl["stride"] = l.stride;
      jl["macs"] = l.macs;
      jl["params"] = l.params();
      jl["live_bytes"] = plan.live_bytes[i];
      jl["output_offset"] = plan.tensors[l.output].offset;
      jl["in_place"] = plan.in_place[i] >= 0;
      jl["scratch"] = buffer_json(plan.scratch[i]);
      if (e.has_latency && !(plan.patched && static_cast<int>(i) < plan.patch.stage_end)) {
        jl["latency_ms"] = mcu.cycles_to_ms(mcu.latency.layer_cycles(l));
      }
      layers.push_back(jl);
    }
    j["layers"] = layers;
    if (!g.patch.enabled()) {
      if (const auto best = least_sram_schedule(s)) {
        j["least_sram_patch_schedule"] = {{"patches", best->first.patches},
                                          {"split", best->first.split},
                                          {"peak_sram_bytes", best->second.peak_sram_bytes},
                                          {"executed_macs", best->second.executed_macs}};
      }
    }
    fmt::print("{}\n", j.dump(2));
    return 0;
  }

  fmt::print("{}\n", s.title);
  fmt::print("{:>3}  {:<14} {:<10} {:>5} {:>2}  {:>13} {:>13} {:>12} {:>10} {:>10}\n", "#", "layer",
             "op", "k", "s", "input", "output", "MACs", "params", "live KB");
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    const bool peak = static_cast<int>(i) == plan.peak_layer;
    // The kernel as "3" (square) or "10x4" (height x width).
    const std::string k = l.square_kernel() ? std::to_string(l.kh) : fmt::format("{}x{}", l.kh, l.kw);
    fmt::print("{:>3}  {:<14} {:<10} {:>5} {:>2}  {:>13} {:>13} {:>12} {:>10} {:>9.1f}{}\n", i,
               layer_name(i), l.op->name(), k, l.stride, shape_str(l.in),
               shape_str(l.out), l.macs, l.params(), kb(plan.live_bytes[i]), peak ? "*" : "");
  }
  fmt::print("\ntotal: {} layers, {:.2f} M MACs, {:.3f} M params\n", g.layers.size(),
             g.macs() / 1e6, g.params() / 1e6);

  fmt::print("\nmemory plan ({}-byte aligned arena, input image {}):\n", kArenaAlignment,
             opt.plan.input_in_arena ? "in the arena" : "outside the arena");
  if (!plan.ok) {
    fmt::print("  the patch schedule cannot be cut: the patch-stage output has fewer rows than "
               "patches\n");
  } else {
    fmt::print("  arena {} B = {:.1f} KB (lower bound {:.1f} KB); analytic (MCUNet) {:.1f} KB\n",
               plan.arena_bytes, kb(plan.arena_bytes), kb(plan.lower_bound_bytes),
               kb(e.analytic_peak_bytes));
    fmt::print("  peak at layer {} ({}), live:\n", plan.peak_layer, layer_name(plan.peak_layer));
    for (int t : peak_tensors) {
      const PlacedBuffer& b = plan.tensors[t];
      const bool per_patch = plan.patched && t > 0 && t < plan.patch.stage_output;
      fmt::print("    {:<16} {:>13} @ {:>8}  {:>8} B{}\n", short_tensor(t),
                 shape_str(g.tensors[t].shape), b.offset, b.size,
                 per_patch ? "  (per patch)" : "");
    }
    const PlacedBuffer& s = plan.scratch[plan.peak_layer];
    if (s.size > 0) fmt::print("    {:<16} {:>13} @ {:>8}  {:>8} B\n", "scratch", "", s.offset, s.size);
    if (plan.patched) {
      const PatchPlan& pp = plan.patch;
      fmt::print("  patches: {}x{} over layers 0..{} (blocks 0..{}), stage output {}\n",
                 pp.patches, pp.patches, pp.stage_end - 1, g.patch.split - 1,
                 shape_str(g.tensors[pp.stage_output].shape));
      fmt::print("    patch stage {:.1f} KB (per-patch sub-plan {:.1f} KB), rest {:.1f} KB\n",
                 kb(pp.stage_peak_bytes), kb(pp.sub_arena_bytes), kb(pp.rest_peak_bytes));
      fmt::print("    executed MACs {:.2f} M ({:+.1f}% for overlapping patches)\n",
                 pp.executed_macs / 1e6, 100.0 * pp.extra_macs / g.macs());
    }
  }
  fmt::print("  flash {:.1f} KB of {:.1f} KB\n", kb(e.flash_bytes), kb(e.flash_budget_bytes));
  if (e.has_latency) {
    fmt::print("  latency {:.2f} ms at {} MHz{}\n", e.latency_ms, mcu.clock_mhz,
               mcu.latency.fitted_rows == 0 ? " (provisional calibration)" : "");
  } else {
    fmt::print("  latency: not estimated (no calibration for {} or for one of the model's operator kinds)\n", mcu.name);
  }
  if (!g.patch.enabled()) {
    if (const auto best = least_sram_schedule(s)) {
      fmt::print("  least peak SRAM with patches: {}x{} patches over blocks 0..{}: {:.1f} KB ({:.1f} KB layer by "
                 "layer{}), executed MACs {:+.1f}%\n",
                 best->first.patches, best->first.patches, best->first.split - 1, kb(best->second.peak_sram_bytes),
                 kb(e.peak_sram_bytes),
                 best->second.peak_sram_bytes < e.peak_sram_bytes ? "" : ": no patch schedule lowers the peak",
                 100.0 * (best->second.executed_macs - g.macs()) / std::max<int64_t>(1, g.macs()));
    }
  }
  std::string why;
  if (!e.fits_sram) why += fmt::format(" sram {:.1f} KB > {:.1f} KB;", kb(e.peak_sram_bytes), kb(e.sram_budget_bytes));
  if (!e.fits_flash) why += fmt::format(" flash {:.1f} KB > {:.1f} KB;", kb(e.flash_bytes), kb(e.flash_budget_bytes));
  if (!e.fits_latency) why += fmt::format(" latency {:.2f} ms > {:.2f} ms;", e.latency_ms, opt.latency_limit_ms);
  if (!e.fits_macs) why += fmt::format(" {} MACs > {};", e.macs, opt.macs_limit);
  if (!why.empty()) why.pop_back();
  fmt::print("fits {}: {}{}\n", mcu.name, e.fits ? "yes" : "no", why.empty() ? "" : " (" + why.substr(1) + ")");
  return 0;
}

}  // namespace

void add_estimate_command(CLI::App& app, CommandFn* run) {
  auto args = std::make_shared<EstimateArgs>();
  CLI::App* sub = app.add_subcommand(
      "estimate", "Estimate a subnet's MACs, parameters, peak SRAM, flash and latency on the MCU");
  sub->add_option("--config", args->config, "experiment config (YAML)");
  sub->add_option("--arch", args->arch, "ArchSpec file, or largest / smallest");
  sub->add_option("--tflite", args->tflite, "an int8 .tflite model instead of a config's subnet");
  sub->add_option("--mcu", args->mcu, "with --tflite: the MCU config (configs/mcus/<mcu>.yaml)");
  sub->add_flag("--json", args->json, "print one JSON object");
  sub->add_flag("--input-outside-arena", args->input_outside_arena,
                "plan for an input image kept outside the arena (camera buffer, streamed decode), "
                "as the config's export.input_in_arena: false does");
  sub->callback([run, args] { *run = [args] { return run_estimate(*args); }; });
}

}  // namespace tinynas
