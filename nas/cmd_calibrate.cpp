#include "nas/cli.h"

namespace tinynas {

void add_calibrate_command(CLI::App& app, CommandFn* run) {
  add_pending_command(app, run, "calibrate", "Fit the latency model to a measured MCU profile", "the estimators work (issue 3)");
}

}  // namespace tinynas
