// tinynas estimate: what a subnet costs on the config's MCU, layer by layer.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "nas/arch_arg.h"
#include "nas/cli.h"
#include "nas/experiment.h"
#include "search_spaces/net_graph.h"

namespace tinynas {

namespace {

struct EstimateArgs {
  std::string config;
  std::string arch;
  bool json = false;
};

std::string shape_str(const Shape& s) { return fmt::format("{}x{}x{}", s.h, s.w, s.c); }

int run_estimate(const EstimateArgs& args) {
  const Experiment exp = Experiment::load(args.config);
  const LoadedArch la = resolve_arch(args.arch, exp.space);
  const NetGraph g = lower(la.space, la.arch);

  if (args.json) {
    nlohmann::ordered_json j;
    j["arch"] = nlohmann::json::parse(la.arch.to_json());
    j["arch_string"] = la.arch.to_string();
    j["mcu"] = exp.mcu.name;
    j["macs"] = g.macs();
    j["params"] = g.params();
    nlohmann::ordered_json layers = nlohmann::json::array();
    for (const Layer& l : g.layers) {
      nlohmann::ordered_json jl;
      jl["name"] = l.name();
      jl["op"] = op_kind_name(l.kind);
      jl["in"] = {l.in.h, l.in.w, l.in.c};
      jl["out"] = {l.out.h, l.out.w, l.out.c};
      jl["kernel"] = l.kernel;
      jl["stride"] = l.stride;
      jl["macs"] = l.macs;
      jl["params"] = l.params();
      layers.push_back(jl);
    }
    j["layers"] = layers;
    fmt::print("{}\n", j.dump(2));
    return 0;
  }

  fmt::print("arch: {}\nspace: {}   mcu: {}\n\n", la.arch.to_string(), la.space.name, exp.mcu.name);
  fmt::print("{:>3}  {:<14} {:<10} {:>3} {:>2}  {:>13} {:>13} {:>12} {:>10}\n", "#", "layer", "op",
             "k", "s", "input", "output", "MACs", "params");
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    fmt::print("{:>3}  {:<14} {:<10} {:>3} {:>2}  {:>13} {:>13} {:>12} {:>10}\n", i, l.name(),
               op_kind_name(l.kind), l.kernel, l.stride, shape_str(l.in), shape_str(l.out), l.macs,
               l.params());
  }
  fmt::print("\ntotal: {} layers, {:.2f} M MACs, {:.3f} M params\n", g.layers.size(),
             g.macs() / 1e6, g.params() / 1e6);
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
  sub->callback([run, args] { *run = [args] { return run_estimate(*args); }; });
}

}  // namespace tinynas
