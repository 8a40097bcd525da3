// Subcommands whose implementation has not landed yet: each says which piece of work fills it
// and exits 2, rather than pretending to work.
#include <cstdio>

#include "nas/cli/cli.h"

namespace tinynas {

void add_pending_command(CLI::App& app, CommandFn* run, const std::string& name,
                         const std::string& description, const std::string& pending) {
  CLI::App* sub = app.add_subcommand(name, description + " [not available yet]");
  sub->allow_extras();
  sub->callback([run, name, pending] {
    *run = [name, pending] {
      std::fprintf(stderr, "tinynas %s: not available yet: %s\n", name.c_str(), pending.c_str());
      return 2;
    };
  });
}

}  // namespace tinynas
