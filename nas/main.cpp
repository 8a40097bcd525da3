// tinynas: find neural networks that fit a microcontroller and ship them to it.
#include <cstdio>
#include <exception>

#include "nas/cli.h"
#include "search_spaces/config_node.h"

int main(int argc, char** argv) {
  CLI::App app{"tinynas: neural architecture search for microcontrollers (TinyNAS + TinyEngine)"};
  app.require_subcommand(1);
  tinynas::CommandFn run;
  tinynas::add_train_command(app, &run);
  tinynas::add_eval_command(app, &run);
  tinynas::add_search_command(app, &run);
  tinynas::add_space_command(app, &run);
  tinynas::add_estimate_command(app, &run);
  tinynas::add_export_command(app, &run);
  tinynas::add_calibrate_command(app, &run);
  tinynas::add_sweep_command(app, &run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  try {
    return run ? run() : 2;
  } catch (const tinynas::ConfigError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
