// The `tinynas` command line: each subcommand lives in its own nas/cmd_*.cpp and registers
// itself on the CLI11 app; its callback stores the work to run, so main() can map errors to
// exit codes in one place (bad input: 2).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace tinynas {

using CommandFn = std::function<int()>;

void add_train_command(CLI::App& app, CommandFn* run);
void add_eval_command(CLI::App& app, CommandFn* run);
void add_search_command(CLI::App& app, CommandFn* run);
void add_space_command(CLI::App& app, CommandFn* run);
void add_estimate_command(CLI::App& app, CommandFn* run);
void add_export_command(CLI::App& app, CommandFn* run);
void add_calibrate_command(CLI::App& app, CommandFn* run);
void add_sweep_command(CLI::App& app, CommandFn* run);
void add_run_command(CLI::App& app, CommandFn* run);

// A subcommand that a later piece of work fills: it explains that and exits 2.
void add_pending_command(CLI::App& app, CommandFn* run, const std::string& name,
                         const std::string& description, const std::string& pending);

}  // namespace tinynas
