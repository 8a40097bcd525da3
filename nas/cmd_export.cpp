#include "nas/cli.h"

namespace tinynas {

void add_export_command(CLI::App& app, CommandFn* run) {
  add_pending_command(app, run, "export", "Quantise to int8 and generate C for the runtime", "the export work (issue 6)");
}

}  // namespace tinynas
