#include "nas/cli.h"

namespace tinynas {

void add_eval_command(CLI::App& app, CommandFn* run) {
  add_pending_command(app, run, "eval", "Evaluate a subnet of the trained supernet", "the supernet work (issue 4)");
}

}  // namespace tinynas
