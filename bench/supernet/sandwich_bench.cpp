// One sandwich training step (largest + smallest + 2 random subnets, in-place distillation,
// SGD nesterov) of the default space's supernet, batch 128 of 28x28 images, in images per
// second. Writes the step's subnets as JSON lines so the Python peer runs the same ones:
//
//   build/bench/supernet/supernet_bench --archs_out=/tmp/sandwich_archs.jsonl
//   /usr/bin/python3 bench/supernet/sandwich_step.py --channels-last
//       --space configs/spaces/fmnist-mbv2.yaml --archs /tmp/sandwich_archs.jsonl
//
// Options (before Google Benchmark's own): --archs_out=PATH, --space=PATH, --batch=N,
// --profile=PREFIX (one extra step per benchmark under the autograd profiler, written as a
// Chrome trace PREFIX.sandwich.json / PREFIX.largest.json).
// DNNL_VERBOSE=1 shows which oneDNN kernels and layouts each convolution used.
#include <benchmark/benchmark.h>

#include <cstring>
#include <fstream>
#include <thread>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "search_spaces/arch_sampler.h"
#include "search_spaces/arch_spec.h"
#include "supernet/trainer.h"

namespace {

std::string g_space = std::string(TINYNAS_SOURCE_DIR) + "/configs/spaces/fmnist-mbv2.yaml";
std::string g_archs_out = "sandwich_archs.jsonl";
int g_batch = 128;
std::string g_profile;  // when set, one more step runs under the autograd profiler (Chrome trace)

std::vector<tinynas::ArchSpec> sandwich_archs(const tinynas::SearchSpace& space, int randoms) {
  std::vector<tinynas::ArchSpec> archs{tinynas::ArchSpec::largest(space),
                                       tinynas::ArchSpec::smallest(space)};
  tinynas::ArchSampler sampler(space, 0);
  for (int i = 0; i < randoms; ++i) archs.push_back(sampler.sample());
  return archs;
}

void run(benchmark::State& state, const std::vector<tinynas::ArchSpec>& archs, bool channels_last) {
  using namespace tinynas;
  const SearchSpace space = SearchSpace::load(g_space);
  TrainConfig t;
  t.batch_size = g_batch;
  t.lr = 0.01;
  t.channels_last = channels_last;
  setup_torch(t);
  torch::manual_seed(0);
  Supernet net(space);
  net->set_channels_last(channels_last);
  auto opt = make_optimizer(net, t);
  const torch::Tensor x = torch::randn({g_batch, space.input_channels, 28, 28});
  const torch::Tensor y = torch::randint(0, space.num_classes, {g_batch});
  sandwich_step(net, *opt, archs, x, y, t);  // warm-up
  for (auto _ : state) sandwich_step(net, *opt, archs, x, y, t);
  if (!g_profile.empty()) {
    torch::autograd::profiler::RecordProfile guard(g_profile + (archs.size() > 1 ? ".sandwich" : ".largest") + ".json");
    sandwich_step(net, *opt, archs, x, y, t);
  }
  state.counters["images_per_second"] =
      benchmark::Counter(static_cast<double>(g_batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["subnets"] = static_cast<double>(archs.size());
  state.counters["threads"] = torch::get_num_threads();
}

void BM_SandwichStep(benchmark::State& state) {
  const auto space = tinynas::SearchSpace::load(g_space);
  run(state, sandwich_archs(space, 2), state.range(0) != 0);
}
BENCHMARK(BM_SandwichStep)->Arg(1)->ArgName("channels_last")->Iterations(4)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_LargestStep(benchmark::State& state) {
  const auto space = tinynas::SearchSpace::load(g_space);
  run(state, {tinynas::ArchSpec::largest(space)}, state.range(0) != 0);
}
BENCHMARK(BM_LargestStep)->Arg(1)->ArgName("channels_last")->Iterations(4)->Unit(benchmark::kMillisecond)->UseRealTime();

// What the search pays per measured subnet: BN recalibration on 10 batches of 128, then the
// evaluation forward over 5,000 images in batches of 500 (the default eval_batch_size), for the
// largest subnet and a mid-sized one (configs/archs/fmnist-mid.yaml). images_per_second counts
// the evaluated images only.
void eval_subnet(benchmark::State& state, const tinynas::ArchSpec& arch) {
  using namespace tinynas;
  const SearchSpace space = SearchSpace::load(g_space);
  TrainConfig t;
  setup_torch(t);
  torch::manual_seed(0);
  Supernet net(space);
  net->set_channels_last(true);
  const int r = arch.resolution;
  std::vector<torch::Tensor> calib;
  for (int i = 0; i < 10; ++i) calib.push_back(torch::randn({128, space.input_channels, r, r}));
  const int kImages = 5000, kBatch = 500;
  const torch::Tensor x = torch::randn({kBatch, space.input_channels, r, r});
  auto measure = [&] {
    net->set_active(arch);
    net->recalibrate_bn(calib);
    net->eval();
    torch::NoGradGuard no_grad;
    for (int i = 0; i < kImages; i += kBatch) benchmark::DoNotOptimize(net->forward(x));
  };
  measure();  // warm-up
  for (auto _ : state) measure();
  if (!g_profile.empty()) {
    torch::autograd::profiler::RecordProfile guard(g_profile + ".eval.json");
    measure();
  }
  state.counters["images_per_second"] =
      benchmark::Counter(static_cast<double>(kImages), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = torch::get_num_threads();
}

void BM_EvalLargest(benchmark::State& state) {
  eval_subnet(state, tinynas::ArchSpec::largest(tinynas::SearchSpace::load(g_space)));
}
BENCHMARK(BM_EvalLargest)->Iterations(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_EvalMid(benchmark::State& state) {
  const auto space = tinynas::SearchSpace::load(g_space);
  eval_subnet(state, tinynas::load_arch_file(std::string(TINYNAS_SOURCE_DIR) + "/configs/archs/fmnist-mid.yaml", space).arch);
}
BENCHMARK(BM_EvalMid)->Iterations(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--archs_out=", 12) == 0) g_archs_out = argv[i] + 12;
    else if (std::strncmp(argv[i], "--space=", 8) == 0) g_space = argv[i] + 8;
    else if (std::strncmp(argv[i], "--batch=", 8) == 0) g_batch = std::atoi(argv[i] + 8);
    else if (std::strncmp(argv[i], "--profile=", 10) == 0) g_profile = argv[i] + 10;
    else rest.push_back(argv[i]);
  }
  {
    const auto space = tinynas::SearchSpace::load(g_space);
    std::ofstream out(g_archs_out);
    for (const auto& a : sandwich_archs(space, 2)) out << a.to_json() << "\n";
    std::ofstream big(g_archs_out + ".largest");
    big << tinynas::ArchSpec::largest(space).to_json() << "\n";
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
