// The LibTorch subcommands, registered as pending until their implementations land (or when
// tinynas is built without LibTorch).
#include "nas/cli.h"

namespace tinynas {

void add_train_command(CLI::App& app, CommandFn* run) {
  add_pending_command(app, run, "train", "Train the weight-sharing supernet",
                      "the supernet work (issue 4)");
}

void add_eval_command(CLI::App& app, CommandFn* run) {
  add_pending_command(app, run, "eval", "Evaluate a subnet of the trained supernet",
                      "the supernet work (issue 4)");
}

void add_search_command(CLI::App& app, CommandFn* run) {
  add_pending_command(app, run, "search", "Evolutionary search on the supernet under MCU limits",
                      "the search work (issue 5)");
}

void add_export_command(CLI::App& app, CommandFn* run) {
  add_pending_command(app, run, "export", "Quantise to int8 and generate C for the runtime",
                      "the export work (issue 6)");
}

}  // namespace tinynas
