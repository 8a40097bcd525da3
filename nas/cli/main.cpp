// tinynas: find neural networks that fit a microcontroller and ship them to it.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "nas/cli/cli.h"
#include "search_spaces/config_node.h"

namespace {

// LibTorch's OpenMP (libgomp) spins ~300k iterations before a waiting thread sleeps. With a
// thread per core, a second torch process on the same cores (a sweep beside a training run)
// turns that spinning into a standstill: two tiny trainings side by side took 209 s instead of
// ~9 s; with a spin count of 1000, 16 s, and a training run alone is no slower (default config:
// 190 vs 179 images/s). libgomp reads the variable when it is loaded, before main, so the process
// restarts itself once with it set. A value the user set is kept.
void bound_openmp_spinning(char** argv) {
  if (std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("GOMP_SPINCOUNT", "1000", 0) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: run on with the default
}

}  // namespace

int main(int argc, char** argv) {
  bound_openmp_spinning(argv);
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
  tinynas::add_run_command(app, &run);
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
