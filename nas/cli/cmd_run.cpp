// tinynas run: the int8 reference (bit for bit the runtime's arithmetic, checked on the host and
// QEMU by every export) on inputs from a .npy file: a model's outputs for another tool to compare.
#include <fmt/core.h>

#include <filesystem>

#include "nas/cli/cli.h"
#include "nas/export/npy.h"
#include "nas/export/tflite_model.h"
#include "search_spaces/config_node.h"

namespace tinynas {

namespace {

struct RunArgs {
  std::string tflite, inputs, out, tensors;
};

int run_run(const RunArgs& a) {
  const ImportedTflite m = read_tflite(a.tflite);
  const NetGraph& g = m.model.graph;
  const NpyInt8 in = read_npy_int8(a.inputs);
  const int64_t per = g.tensors[g.input].bytes();
  if (in.shape.empty() || static_cast<int64_t>(in.data.size()) != in.shape[0] * per) {
    throw ConfigError(fmt::format("{}: expected int8 inputs of shape (N, ...) with {} values each (the model's "
                                  "input {}x{}x{})", a.inputs, per, g.tensors[g.input].shape.h,
                                  g.tensors[g.input].shape.w, g.tensors[g.input].shape.c));
  }
  const int64_t n = in.shape[0];
  if (!a.tensors.empty()) std::filesystem::create_directories(a.tensors);
  std::vector<NpyInt8> tensors(g.tensors.size());
  for (std::size_t t = 0; t < g.tensors.size(); ++t) tensors[t].shape = {n, g.tensors[t].shape.elements()};
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int8_t> x(in.data.begin() + i * per, in.data.begin() + (i + 1) * per);
    const auto all = m.model.run_all(x);
    for (std::size_t t = 0; t < all.size(); ++t) {
      if (a.tensors.empty() && static_cast<int>(t) != g.output) continue;
      tensors[t].data.insert(tensors[t].data.end(), all[t].begin(), all[t].end());
    }
  }
  write_npy_int8(a.out, tensors[g.output]);
  // Layer i's output is the output of the file's operator layer_operator[i].
  for (std::size_t i = 0; i < g.layers.size() && !a.tensors.empty(); ++i) {
    write_npy_int8(fmt::format("{}/op{}.npy", a.tensors, m.layer_operator[i]), tensors[g.layers[i].output]);
  }
  fmt::print("ran {} on {} inputs: outputs in {}{}\n", a.tflite, n, a.out,
             a.tensors.empty() ? "" : ", every tensor in " + a.tensors);
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, CommandFn* run) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* sub = app.add_subcommand("run", "Run an int8 .tflite with tinynas's int8 arithmetic on .npy inputs");
  sub->add_option("--tflite", args->tflite, "the int8 model")->required();
  sub->add_option("--inputs", args->inputs, "int8 .npy of shape (N, ...)")->required();
  sub->add_option("--out", args->out, "the outputs, int8 .npy of shape (N, outputs)")->required();
  sub->add_option("--tensors", args->tensors,
                  "also write every layer's output: DIR/op<k>.npy for the file's operator k");
  sub->callback([run, args] { *run = [args] { return run_run(*args); }; });
}

}  // namespace tinynas
