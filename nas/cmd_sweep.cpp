#include "nas/cli.h"

namespace tinynas {

void add_sweep_command(CLI::App& app, CommandFn* run) {
  add_pending_command(app, run, "sweep", "Run an experiment sweep", "the search work (issue 5)");
}

}  // namespace tinynas
