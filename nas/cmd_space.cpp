#include "nas/cli.h"

namespace tinynas {

void add_space_command(CLI::App& app, CommandFn* run) {
  add_pending_command(app, run, "space", "Search-space optimisation: pick width and resolution by the FLOPs-CDF rule", "the search work (issue 5)");
}

}  // namespace tinynas
