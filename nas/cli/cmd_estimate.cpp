// tinynas estimate: what a subnet costs on the config's MCU, layer by layer, with the memory
// plan the code generator will emit.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "estimators/estimate.h"
#include "nas/cli/arch_arg.h"
#include "nas/cli/cli.h"
#include "nas/search/experiment.h"
#include "search_spaces/net_graph.h"

namespace tinynas {

namespace {

struct EstimateArgs {
  std::string config;
  std::string arch;
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

int run_estimate(const EstimateArgs& args) {
  const Experiment exp = Experiment::load(args.config);
  const LoadedArch la = resolve_arch(args.arch, exp.space);
  const NetGraph g = lower(la.space, la.arch);
  EstimateOptions opt = exp.estimate_options();
  if (args.input_outside_arena) opt.plan.input_in_arena = false;
  Estimator estimator(exp.mcu, opt);
  const Estimate& e = estimator.estimate(g);
  const MemoryPlan& plan = estimator.plan();
  std::vector<int> peak_tensors;
  plan.live_tensors(plan.peak_layer, &peak_tensors);

  if (args.json) {
    nlohmann::ordered_json j;
    j["arch"] = nlohmann::json::parse(la.arch.to_json());
    j["arch_string"] = la.arch.to_string();
    j["mcu"] = exp.mcu.name;
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
    if (e.has_latency) j["latency_calibration"] = exp.mcu.latency.source;
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
      jt["name"] = tensor_name(g, static_cast<int>(t));
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
      jl["name"] = l.name();
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
        jl["latency_ms"] = exp.mcu.cycles_to_ms(exp.mcu.latency.layer_cycles(l));
      }
      layers.push_back(jl);
    }
    j["layers"] = layers;
    fmt::print("{}\n", j.dump(2));
    return 0;
  }

  fmt::print("arch: {}\nspace: {}   mcu: {}\n\n", la.arch.to_string(), la.space.name, exp.mcu.name);
  fmt::print("{:>3}  {:<14} {:<10} {:>5} {:>2}  {:>13} {:>13} {:>12} {:>10} {:>10}\n", "#", "layer",
             "op", "k", "s", "input", "output", "MACs", "params", "live KB");
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    const bool peak = static_cast<int>(i) == plan.peak_layer;
    // The kernel as "3" (square) or "10x4" (height x width).
    const std::string k = l.square_kernel() ? std::to_string(l.kh) : fmt::format("{}x{}", l.kh, l.kw);
    fmt::print("{:>3}  {:<14} {:<10} {:>5} {:>2}  {:>13} {:>13} {:>12} {:>10} {:>9.1f}{}\n", i,
               l.name(), l.op->name(), k, l.stride, shape_str(l.in),
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
    fmt::print("  peak at layer {} ({}), live:\n", plan.peak_layer,
               g.layers[plan.peak_layer].name());
    for (int t : peak_tensors) {
      const PlacedBuffer& b = plan.tensors[t];
      const bool per_patch = plan.patched && t > 0 && t < plan.patch.stage_output;
      fmt::print("    {:<16} {:>13} @ {:>8}  {:>8} B{}\n", tensor_name(g, t),
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
    fmt::print("  latency {:.2f} ms at {} MHz{}\n", e.latency_ms, exp.mcu.clock_mhz,
               exp.mcu.latency.fitted_rows == 0 ? " (provisional calibration)" : "");
  } else {
    fmt::print("  latency: no calibration for {}\n", exp.mcu.name);
  }
  std::string why;
  if (!e.fits_sram) why += fmt::format(" sram {:.1f} KB > {:.1f} KB;", kb(e.peak_sram_bytes), kb(e.sram_budget_bytes));
  if (!e.fits_flash) why += fmt::format(" flash {:.1f} KB > {:.1f} KB;", kb(e.flash_bytes), kb(e.flash_budget_bytes));
  if (!e.fits_latency) why += fmt::format(" latency {:.2f} ms > {:.2f} ms;", e.latency_ms, opt.latency_limit_ms);
  if (!e.fits_macs) why += fmt::format(" {} MACs > {};", e.macs, opt.macs_limit);
  if (!why.empty()) why.pop_back();
  fmt::print("fits {}: {}{}\n", exp.mcu.name, e.fits ? "yes" : "no", why.empty() ? "" : " (" + why.substr(1) + ")");
  return 0;
}

}  // namespace

void add_estimate_command(CLI::App& app, CommandFn* run) {
  auto args = std::make_shared<EstimateArgs>();
  CLI::App* sub = app.add_subcommand(
      "estimate", "Estimate a subnet's MACs, parameters, peak SRAM, flash and latency on the MCU");
  sub->add_option("--config", args->config, "experiment config (YAML)")->required();
  sub->add_option("--arch", args->arch, "ArchSpec file, or largest / smallest")->required();
  sub->add_flag("--json", args->json, "print one JSON object");
  sub->add_flag("--input-outside-arena", args->input_outside_arena,
                "plan for an input image kept outside the arena (camera buffer, streamed decode), "
                "as the config's export.input_in_arena: false does");
  sub->callback([run, args] { *run = [args] { return run_estimate(*args); }; });
}

}  // namespace tinynas
