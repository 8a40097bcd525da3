// tinynas space: MCUNet's search-space optimisation on the config's MCU.
#include <fmt/core.h>

#include <cmath>
#include <filesystem>

#include "nas/cli/cli.h"
#include "nas/search/experiment.h"
#include "nas/search/space_optimizer.h"
#include "search_spaces/atomic_file.h"

namespace tinynas {

namespace {

struct SpaceArgs {
  std::string config;
  std::string out = "out/space";
  std::string space;  // another space file for the config's MCU (to compare spaces)
  double sram_budget_kb = 0, flash_budget_kb = 0;  // 0: the MCU's own
  bool patches = false;
};

int run_space(const SpaceArgs& args) {
  Experiment exp = Experiment::load(args.config);
  if (!args.space.empty()) exp.space = SearchSpace::load(args.space);
  // Budgets as a sweep run states them: what the model may use, on top of what is reserved.
  if (args.sram_budget_kb > 0) {
    exp.mcu.sram_bytes = exp.mcu.reserved_sram_bytes + std::llround(args.sram_budget_kb * 1024);
  }
  if (args.flash_budget_kb > 0) {
    exp.mcu.flash_bytes = exp.mcu.reserved_flash_bytes + std::llround(args.flash_budget_kb * 1024);
  }
  const EstimateOptions eo = exp.estimate_options();
  fmt::print("{} on {}: {:.1f} KB SRAM, {:.1f} KB flash for the model{}{}\n", exp.space.name,
             exp.mcu.name, exp.mcu.sram_budget() / 1024.0, exp.mcu.flash_budget() / 1024.0,
             eo.latency_limit_ms > 0 ? fmt::format(", at most {:g} ms", eo.latency_limit_ms) : "",
             args.patches ? ", patch-based inference allowed" : "");
  const SpaceOptimization r = optimize_space(exp.space, exp.mcu, exp.space_search, args.patches, eo);
  std::filesystem::create_directories(args.out);
  write_file_atomic(args.out + "/space.csv", r.to_csv());
  write_file_atomic(args.out + "/space_cdf.csv", r.cdf_csv());
  write_file_atomic(args.out + "/space_cdf.svg", r.to_svg(exp.mcu.name));
  if (args.patches) {
    // How many fit only thanks to patches, and what the overlap costs them.
    fmt::print("{:>6} {:>5} {:>8} {:>10} {:>9} {:>8}\n", "width", "res", "fit %", "mean MMACs",
               "patched %", "overlap");
  } else {
    fmt::print("{:>6} {:>5} {:>8} {:>10}\n", "width", "res", "fit %", "mean MMACs");
  }
  for (std::size_t i = 0; i < r.candidates.size(); ++i) {
    const auto& c = r.candidates[i];
    fmt::print("{:>6} {:>5} {:>7.1f}% {:>10.2f}", format_double(c.width), c.resolution,
               100 * c.fitting_fraction(), c.mean_macs / 1e6);
    if (args.patches) {
      fmt::print(" {:>8.1f}% {:>+7.1f}%", 100.0 * c.fitting_with_patches / std::max(c.samples, 1),
                 100 * c.mean_patch_overhead);
    }
    fmt::print("{}\n", static_cast<int>(i) == r.best ? "  <- chosen"
                       : c.fitting > 0 && !c.eligible ? "  (too few fit)" : "");
  }
  fmt::print("\n{} subnets estimated in {:.3f} s ({:.0f}/s)\n", r.subnets_estimated, r.seconds,
             r.subnets_estimated / std::max(r.seconds, 1e-9));
  if (r.best < 0) {
    fmt::print(stderr, "no subnet of any grid point fits {} (SRAM budget {} B, flash budget {} B)\n",
               exp.mcu.name, exp.mcu.sram_budget(), exp.mcu.flash_budget());
    return 1;
  }
  const auto& b = r.candidates[r.best];
  if (r.fallback()) {
    fmt::print(stderr,
               "warning: in no space do {:.0f}% of the subnets fit (space_search.min_fitting_fraction); "
               "chose the one where most fit\n",
               100 * exp.space_search.min_fitting_fraction);
  }
  write_file_atomic(args.out + "/space.yaml", restricted_space_yaml(exp.space, b.width, b.resolution));
  fmt::print("chosen: width {} resolution {} ({:.1f}% fit, mean {:.2f} MMACs)\n", format_double(b.width),
             b.resolution, 100 * b.fitting_fraction(), b.mean_macs / 1e6);
  fmt::print("wrote {0}/space.csv, {0}/space_cdf.csv, {0}/space_cdf.svg, {0}/space.yaml\n", args.out);
  return 0;
}

}  // namespace

void add_space_command(CLI::App& app, CommandFn* run) {
  auto args = std::make_shared<SpaceArgs>();
  CLI::App* sub = app.add_subcommand(
      "space", "Search-space optimisation: pick width and resolution by the FLOPs-CDF rule");
  sub->add_option("--config", args->config, "experiment config (YAML)")->required();
  sub->add_option("--out", args->out, "output directory")->capture_default_str();
  sub->add_option("--space", args->space, "search space file to use instead of the config's");
  sub->add_option("--sram-budget-kb", args->sram_budget_kb,
                  "SRAM the model may use, overriding the MCU's (KB)")
      ->check(CLI::Range(1.0, 1e7));
  sub->add_option("--flash-budget-kb", args->flash_budget_kb,
                  "flash the model may use, overriding the MCU's (KB)")
      ->check(CLI::Range(1.0, 1e7));
  sub->add_flag("--patches", args->patches,
                "let subnets that do not fit layer by layer use patch-based inference");
  sub->callback([run, args] { *run = [args] { return run_space(*args); }; });
}

}  // namespace tinynas
