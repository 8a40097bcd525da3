#include "nas/cli.h"

namespace tinynas {

void add_train_command(CLI::App& app, CommandFn* run) {
  add_pending_command(app, run, "train", "Train the weight-sharing supernet", "the supernet work (issue 4)");
}

}  // namespace tinynas
