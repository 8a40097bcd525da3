// tinynas calibrate: fit the latency model (estimators/latency.h) to a profile measured on the
// MCU (the CSV runtime/tn_profile.h prints) and write the calibration file the MCU config names.
#include <fmt/core.h>

#include <cmath>

#include "estimators/latency.h"
#include "estimators/mcu.h"
#include "nas/cli/cli.h"
#include "search_spaces/atomic_file.h"

namespace tinynas {

namespace {

struct CalibrateArgs {
  std::string profile;
  std::string mcu;
  std::string out;
};

int run_calibrate(const CalibrateArgs& args) {
  // The MCU's current calibration, if any, supplies op kinds the profile has no rows for.
  const McuSpec mcu = McuSpec::load(args.mcu, /*require_calibration=*/false);
  std::string out = args.out.empty() ? mcu.latency_calibration : args.out;
  if (out.empty()) {
    throw ConfigError(args.mcu + ": no latency_calibration key to write the calibration to; "
                      "pass --out FILE (and add `latency_calibration: FILE` to the MCU config)");
  }
  const std::vector<ProfileRow> rows = read_profile_csv(args.profile);
  const Calibration cal = fit_latency_model(rows, args.profile, mcu.has_latency ? &mcu.latency : nullptr);
  LatencyModel model = cal.model;
  model.mcu = mcu.name;
  model.core = mcu.core;
  model.clock_mhz = mcu.clock_mhz;
  std::string carried;
  for (const OpDescriptor* d : all_ops()) {
    if (!cal.ops[d->id()].fitted && model.has(*d)) {
      carried += std::string(carried.empty() ? "" : ", ") + d->name();
    }
  }
  model.source = fmt::format("fitted by tinynas calibrate (NNLS, relative error) to {} rows of {}", rows.size(), args.profile);
  if (!carried.empty()) {
    model.source += "; " + carried + " carried over from the previous calibration: " + mcu.latency.source;
  }

  fmt::print("profile: {} ({} rows)   mcu: {} ({}, {} MHz)\n\n", args.profile, rows.size(), mcu.name,
             mcu.core, mcu.clock_mhz);
  fmt::print("{:<10} {:>5}  {:>9} {:>11} {:>12} {:>12} {:>9}  {:>11} {:>9}\n", "op", "rows", "c/MAC",
             "c/in byte", "c/out byte", "c/weight B", "fixed", "row |err|%", "sum err%");
  for (const OpDescriptor* d : all_ops()) {
    const int k = d->id();
    if (!model.has(*d)) continue;  // neither measured nor carried over
    const OpFit& f = cal.ops[k];
    const auto& c = model.coef[k];
    const std::string err = f.rows > 0 ? fmt::format("{:.2f}", f.row_error_pct) : "-";
    const std::string sum = f.rows > 0 ? fmt::format("{:.2f}", 100.0 * std::abs(f.predicted_cycles - f.measured_cycles) / f.measured_cycles) : "-";
    fmt::print("{:<10} {:>5}  {:>9.4g} {:>11.4g} {:>12.4g} {:>12.4g} {:>9.4g}  {:>11} {:>9}{}\n",
               d->name(), f.rows, c[0], c[1], c[2], c[3], c[4], err, sum,
               f.fitted ? "" : "  (carried over)");
  }
  fmt::print("\nwhole profile: mean |error| per row {:.2f}%, summed-network error {:.2f}%\n",
             cal.row_error_pct, cal.network_error_pct);
  write_file_atomic(out, model.to_yaml());
  fmt::print("wrote {}\n", out);
  return 0;
}

}  // namespace

void add_calibrate_command(CLI::App& app, CommandFn* run) {
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* sub = app.add_subcommand("calibrate", "Fit the latency model to a measured MCU profile");
  sub->add_option("--profile", args->profile,
                  "profile CSV printed by the runtime (op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles)")
      ->required();
  sub->add_option("--mcu", args->mcu, "MCU config (configs/mcus/*.yaml)")->required();
  sub->add_option("--out", args->out,
                  "calibration file to write (default: the MCU config's latency_calibration)");
  sub->callback([run, args] { *run = [args] { return run_calibrate(*args); }; });
}

}  // namespace tinynas
