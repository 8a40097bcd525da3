#include "nas/cli.h"

namespace tinynas {

void add_search_command(CLI::App& app, CommandFn* run) {
  add_pending_command(app, run, "search", "Evolutionary search on the supernet under MCU limits", "the search work (issue 5)");
}

}  // namespace tinynas
