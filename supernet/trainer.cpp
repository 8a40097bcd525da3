// The sandwich step, the schedule, checkpoints, BN recalibration and evaluation, the Trainer
// built on them, and the torch-free API of api.h (train_supernet, SupernetEvaluator) over it.
#include "supernet/trainer.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "search_spaces/arch_sampler.h"
#include "search_spaces/atomic_file.h"
#include "search_spaces/config_node.h"
#include "supernet/api.h"

namespace tinynas {

// ---------------------------------------------------------------------------------------------
// The step

SandwichLoss sandwich_step(Supernet& net, torch::optim::Optimizer& opt,
                           const std::vector<ArchSpec>& archs, const torch::Tensor& inputs,
                           const torch::Tensor& targets, const Task& task, const TrainConfig& train,
                           const GradientHook& before_update) {
  net->train();
  // Gradients are reset to undefined, not zero: a parameter no subnet of this step used then
  // gets no update (no momentum drift), and a resumed run, whose gradients start undefined,
  // behaves exactly like an uninterrupted one.
  for (auto& g : opt.param_groups()) {
    for (auto& p : g.params()) p.mutable_grad().reset();
  }
  SandwichLoss out;
  net->set_active(archs.at(0));
  const torch::Tensor outputs = net->forward(inputs);
  torch::Tensor loss = task.loss(outputs, targets);
  loss.backward();
  out.largest = loss.item<double>();
  const torch::Tensor soft = task.soft_targets(outputs);
  for (std::size_t i = 1; i < archs.size(); ++i) {
    net->set_active(archs[i]);
    const torch::Tensor o = net->forward(inputs);
    torch::Tensor l = train.distill ? task.distill_loss(o, soft) : task.loss(o, targets);
    l.backward();
    out.children += l.item<double>();
  }
  if (archs.size() > 1) out.children /= static_cast<double>(archs.size() - 1);
  if (before_update) before_update();
  if (train.grad_clip > 0) torch::nn::utils::clip_grad_norm_(net->parameters(), train.grad_clip);
  opt.step();
  return out;
}

SandwichLoss sandwich_step(Supernet& net, torch::optim::Optimizer& opt,
                           const std::vector<ArchSpec>& archs, const torch::Tensor& images,
                           const torch::Tensor& labels, const TrainConfig& train) {
  TaskInfo info;
  info.task = "classification";
  info.num_classes = net->space().num_classes;
  info.metric = Metric::top1_accuracy();
  return sandwich_step(net, opt, archs, images, labels, *make_task(info, train), train);
}

// ---------------------------------------------------------------------------------------------
// Sampling

namespace {

template <typename T>
void keep_largest(std::vector<T>& v) {
  const T m = *std::max_element(v.begin(), v.end());
  v.assign(1, m);
}

}  // namespace

SubnetSampler::SubnetSampler(const SearchSpace& space, const TrainConfig& train)
    : space_(space), train_(train) {
  for (int p = 0; p < kPhases; ++p) {
    SearchSpace s = space;
    if (train.progressive_shrinking) {
      for (StageSpec& st : s.stages) {
        if (p < 1) keep_largest(st.kernel_sizes);
        if (p < 2) keep_largest(st.depths);
        if (p < 3) keep_largest(st.expand_ratios);
      }
      if (p < 3) keep_largest(s.width_multipliers);
    }
    phase_spaces_.push_back(std::move(s));
  }
}

int SubnetSampler::phase(int64_t epoch) const {
  if (!train_.progressive_shrinking) return kPhases - 1;
  return static_cast<int>(std::min<int64_t>(kPhases - 1, epoch * kPhases / train_.epochs));
}

std::vector<ArchSpec> SubnetSampler::sandwich(int64_t epoch, int64_t step) const {
  if (train_.only_arch) return {*train_.only_arch};  // one network, trained alone
  const SearchSpace& s = phase_spaces_[phase(epoch)];
  std::vector<ArchSpec> out;
  out.push_back(ArchSpec::largest(space_));
  // A space of one member (a fixed network, e.g. a baseline) trains it once per step.
  ArchSpec smallest = ArchSpec::smallest(s);
  if (!(smallest == out.front())) out.push_back(std::move(smallest));
  ArchSampler sampler(s, mix_seed(train_.seed, 0x5a3d, epoch, step));
  for (int i = 0; i < train_.random_subnets; ++i) out.push_back(sampler.sample());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Optimisation

double learning_rate(const TrainConfig& train, int64_t global_step, int64_t steps_per_epoch) {
  const double warm = train.warmup_epochs * static_cast<double>(steps_per_epoch);
  const double total = static_cast<double>(train.epochs) * steps_per_epoch;
  const double g = static_cast<double>(global_step);
  if (g < warm) return train.lr * (g + 1) / warm;
  const double span = std::max(1.0, total - warm);
  return train.lr * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, (g - warm) / span)));
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(Supernet& net, const TrainConfig& train) {
  using torch::optim::OptimizerParamGroup;
  std::vector<OptimizerParamGroup> groups;
  if (train.optimizer == "adamw") {
    auto opts = [&](double wd) {
      return std::make_unique<torch::optim::AdamWOptions>(
          torch::optim::AdamWOptions(train.lr).weight_decay(wd));
    };
    groups.emplace_back(net->decay_parameters(), opts(train.weight_decay));
    groups.emplace_back(net->no_decay_parameters(), opts(0.0));
    return std::make_unique<torch::optim::AdamW>(groups,
                                                 torch::optim::AdamWOptions(train.lr));
  }
  auto opts = [&](double wd) {
    return std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(train.lr)
                                                          .momentum(train.momentum)
                                                          .nesterov(train.nesterov)
                                                          .weight_decay(wd));
  };
  groups.emplace_back(net->decay_parameters(), opts(train.weight_decay));
  groups.emplace_back(net->no_decay_parameters(), opts(0.0));
  return std::make_unique<torch::optim::SGD>(
      groups, torch::optim::SGDOptions(train.lr).momentum(train.momentum).nesterov(train.nesterov));
}

void set_learning_rate(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) {
    if (auto* o = dynamic_cast<torch::optim::SGDOptions*>(&g.options())) o->lr(lr);
    if (auto* o = dynamic_cast<torch::optim::AdamWOptions*>(&g.options())) o->lr(lr);
  }
}

void permute_optimizer_state(torch::optim::Optimizer& opt,
                             const std::vector<ParamPermutation>& perms) {
  torch::NoGradGuard no_grad;
  auto fix = [](const torch::Tensor& t, const ParamPermutation& p) {
    if (t.defined() && t.dim() > p.dim && t.size(p.dim) == p.param.size(p.dim)) {
      const_cast<torch::Tensor&>(t).copy_(t.index_select(p.dim, p.index));
    }
  };
  auto& state = opt.state();
  for (const ParamPermutation& p : perms) {
    auto it = state.find(c10::guts::to_string(p.param.unsafeGetTensorImpl()));
    if (it == state.end()) continue;
    if (auto* s = dynamic_cast<torch::optim::SGDParamState*>(it->second.get())) {
      fix(s->momentum_buffer(), p);
    } else if (auto* a = dynamic_cast<torch::optim::AdamWParamState*>(it->second.get())) {
      fix(a->exp_avg(), p);
      fix(a->exp_avg_sq(), p);
      fix(a->max_exp_avg_sq(), p);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

namespace {

torch::Tensor scalar(int64_t v) { return torch::tensor(v, torch::kInt64); }
int64_t read_scalar(torch::serialize::InputArchive& ar, const std::string& key) {
  torch::Tensor t;
  ar.read(key, t);
  return t.item<int64_t>();
}

}  // namespace

void save_checkpoint(const std::string& path, Supernet& net, torch::optim::Optimizer* opt,
                     const CheckpointState& state) {
  torch::serialize::OutputArchive ar;
  net->save(ar);
  ar.write("tinynas.fingerprint", scalar(static_cast<int64_t>(state.fingerprint)));
  ar.write("tinynas.epoch", scalar(state.epoch));
  ar.write("tinynas.step", scalar(state.step));
  ar.write("tinynas.epochs", scalar(state.epochs));
  if (!state.only_arch.empty()) ar.write("tinynas.only_arch", c10::IValue(state.only_arch));
  if (opt) {
    torch::serialize::OutputArchive oar;
    opt->save(oar);
    ar.write("optimizer", oar);
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  const std::string tmp = path + ".tmp";
  ar.save_to(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write checkpoint " + path);
  }
}

CheckpointState load_checkpoint(const std::string& path, Supernet& net,
                                torch::optim::Optimizer* opt) {
  if (!file_exists(path)) {
    throw ConfigError(path + ": no checkpoint there (train one with `tinynas train --config ...`)");
  }
  torch::serialize::InputArchive ar;
  CheckpointState st;
  try {
    ar.load_from(path);
    st.fingerprint = static_cast<uint64_t>(read_scalar(ar, "tinynas.fingerprint"));
    st.epoch = read_scalar(ar, "tinynas.epoch");
    st.step = read_scalar(ar, "tinynas.step");
    st.epochs = read_scalar(ar, "tinynas.epochs");
    c10::IValue only;
    if (ar.try_read("tinynas.only_arch", only)) st.only_arch = only.toStringRef();
  } catch (const c10::Error& e) {
    throw ConfigError(path + ": not a tinynas supernet checkpoint (" +
                      std::string(e.what_without_backtrace()) + ")");
  }
  const SearchSpace& space = net->space();
  if (st.fingerprint != space.fingerprint()) {
    throw ConfigError(fmt::format(
        "{}: checkpoint was trained on a different search space (fingerprint {:016x}) than the "
        "config's space '{}' ({}, fingerprint {:016x}); retrain, or point train.checkpoint "
        "elsewhere",
        path, st.fingerprint, space.name, space.origin, space.fingerprint()));
  }
  try {
    net->load(ar);
    if (opt) {
      torch::serialize::InputArchive oar;
      ar.read("optimizer", oar);
      opt->load(oar);
    }
  } catch (const c10::Error& e) {
    throw ConfigError(path + ": corrupt checkpoint (" + std::string(e.what_without_backtrace()) + ")");
  }
  return st;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

std::vector<torch::Tensor> calibration_batches(const Dataset& dataset, const TrainConfig& train,
                                               const torch::Device& device) {
  const Examples& set = dataset.split(Split::Train);
  const int64_t n = set.size();
  std::vector<int64_t> order = seeded_permutation(n, mix_seed(train.seed, 0xca11b));
  std::vector<torch::Tensor> out;
  const int64_t b = std::min<int64_t>(train.batch_size, n);
  for (int i = 0; i < train.bn_calibration_batches && (i + 1) * b <= n; ++i) {
    torch::Tensor idx = torch::from_blob(order.data() + i * b, {b}, torch::kInt64).clone();
    out.push_back(dataset.prepare(set.inputs.index_select(0, idx)).to(device));
  }
  return out;
}

SplitScore evaluate_halves(Supernet& net, const ArchSpec& arch, const Dataset& dataset, Split split,
                           const Task& task, const std::vector<torch::Tensor>& calib,
                           const TrainConfig& train, const torch::Device& device, int64_t max_examples) {
  const Examples& set = dataset.split(split);
  net->set_active(arch);
  net->recalibrate_bn(calib);
  net->eval();
  torch::NoGradGuard no_grad;
  const int64_t n = max_examples > 0 ? std::min(max_examples, set.size()) : set.size();
  const int64_t half = n / 2;
  const auto whole = task.accumulator(), first = task.accumulator(), second = task.accumulator();
  for (int64_t i = 0; i < n; i += train.eval_batch_size) {
    const int64_t b = std::min<int64_t>(train.eval_batch_size, n - i);
    const torch::Tensor x = dataset.prepare(set.inputs.narrow(0, i, b)).to(device);
    const torch::Tensor out = net->forward(x), target = set.targets.narrow(0, i, b);
    whole->add(out, target);
    // The part of this batch before the halfway mark, and the part after it.
    const int64_t k = std::clamp<int64_t>(half - i, 0, b);
    if (k > 0) first->add(out.narrow(0, 0, k), target.narrow(0, 0, k));
    if (k < b) second->add(out.narrow(0, k, b - k), target.narrow(0, k, b - k));
  }
  SplitScore s;
  s.value = whole->value();
  s.first_half = half > 0 ? first->value() : s.value;
  s.second_half = second->value();
  return s;
}

double evaluate(Supernet& net, const ArchSpec& arch, const Dataset& dataset, Split split,
                const Task& task, const std::vector<torch::Tensor>& calib,
                const TrainConfig& train, const torch::Device& device, int64_t max_examples) {
  return evaluate_halves(net, arch, dataset, split, task, calib, train, device, max_examples).value;
}

torch::Device setup_torch(const TrainConfig& train) {
#if defined(__GLIBC__)
  // glibc serves every activation tensor above its mmap threshold (128 KB at first) with a fresh
  // mmap and unmaps it on free, so each batch faults its pages in again: a third of an
  // evaluation's time went to the kernel. Keeping freed blocks in the heap for reuse took `tinynas
  // eval` of the largest Fashion-MNIST subnet from 14.4 s to 9.6 s (sys 6.8 s -> 0.8 s).
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  torch::set_num_threads(train.threads > 0 ? train.threads : static_cast<int>(cores));
  if (train.device == "cuda") {
    if (!torch::cuda::is_available()) {
      throw ConfigError(
          "train.device: cuda requested, but this LibTorch has no CUDA support or no GPU is "
          "visible; use device: cpu");
    }
    return torch::Device(torch::kCUDA);
  }
  return torch::Device(torch::kCPU);
}

// ---------------------------------------------------------------------------------------------
// Trainer

Trainer::Trainer(const SearchSpace& space, const Dataset& dataset, const Task& task,
                 const TrainConfig& train, torch::Device device, int workers, Shard shard)
    : dataset_(dataset),
      task_(task),
      train_(train),
      device_(device),
      workers_(workers),
      shard_(shard),
      steps_per_epoch_(
          BatchStream::steps_per_epoch(dataset.split(Split::Train).size(), train.batch_size)),
      sampler_(space, train) {
  if (steps_per_epoch_ == 0) {
    throw ConfigError(fmt::format("train.batch_size: {} is larger than the {} training examples",
                                  train.batch_size, dataset.split(Split::Train).size()));
  }
  torch::manual_seed(train.seed);
  net_ = Supernet(space);
  net_->to(device);
  net_->set_channels_last(train.channels_last);
  opt_ = make_optimizer(net_, train);
  calib_ = calibration_batches(dataset, train, device);
  state_.fingerprint = space.fingerprint();
  state_.epochs = train.epochs;
  if (train.only_arch) state_.only_arch = train.only_arch->to_string();
}

std::unique_ptr<BatchStream> Trainer::batches() const {
  return std::make_unique<BatchStream>(dataset_, train_, workers_, train_.seed, state_.epoch,
                                       state_.step, shard_);
}

void Trainer::begin_epoch() {
  const int64_t epoch = state_.epoch;
  if (epoch > 0 && sampler_.phase(epoch) != sampler_.phase(epoch - 1)) {
    fmt::print(stderr, "epoch {}: progressive shrinking phase {}\n", epoch + 1, sampler_.phase(epoch));
    if (sampler_.phase(epoch) == SubnetSampler::kPhases - 1) {
      permute_optimizer_state(*opt_, net_->sort_channels());
    }
  }
}

SandwichLoss Trainer::step(const Batch& batch) {
  if (finished()) throw std::logic_error("Trainer::step: the schedule is finished");
  if (state_.step == 0) begin_epoch();
  const int64_t epoch = state_.epoch;
  const int64_t gstep = epoch * steps_per_epoch_ + state_.step;
  set_learning_rate(*opt_, learning_rate(train_, gstep, steps_per_epoch_));
  const auto archs = sampler_.sandwich(epoch, state_.step);
  // In the parameters' precision (float64 when a test moved the supernet there to check
  // arithmetic that float32's rounding would blur).
  const auto dtype = net_->parameters().front().scalar_type();
  const SandwichLoss l = sandwich_step(net_, *opt_, archs, batch.inputs.to(device_, dtype),
                                       batch.targets.to(device_), task_, train_, hook_);
  if (!std::isfinite(l.largest)) {
    throw std::runtime_error(fmt::format("training diverged at epoch {} step {} (loss {})",
                                         epoch + 1, state_.step, l.largest));
  }
  ++state_.step;
  return l;
}

void Trainer::run_epoch(const StepCallback& on_step) {
  if (finished()) return;
  const auto stream = batches();
  Batch batch;
  while (stream->next(&batch)) {
    const SandwichLoss l = step(batch);
    if (on_step) on_step(l);
  }
  ++state_.epoch;
  state_.step = 0;
}

void Trainer::join(DataParallel& group) {
  if (group.shard().rank != shard_.rank || group.shard().world_size != shard_.world_size) {
    throw std::logic_error(fmt::format("Trainer::join: the trainer reads shard {}/{}, the group is "
                                       "rank {} of {}", shard_.rank, shard_.world_size,
                                       group.rank(), group.world_size()));
  }
  if (train_.sync_batch_norm) group.synchronise_batch_norm(net_);
  hook_ = [this, &group] { group.all_reduce_gradients(net_); };
  group.broadcast(net_);
}

void Trainer::save(const std::string& path) { save_checkpoint(path, net_, opt_.get(), state_); }

void Trainer::load(const std::string& path) {
  const CheckpointState loaded = load_checkpoint(path, net_, opt_.get());
  if (loaded.epochs != train_.epochs) {
    throw ConfigError(fmt::format(
        "{}: checkpoint follows a {}-epoch schedule, the config asks for {} (use --epochs {})",
        path, loaded.epochs, train_.epochs, loaded.epochs));
  }
  // Resuming one network's training with another's would silently mix them.
  if (!loaded.only_arch.empty() && loaded.only_arch != state_.only_arch) {
    throw ConfigError(fmt::format(
        "{}: checkpoint trains {} alone, the run asks for {}; remove it or write elsewhere", path,
        loaded.only_arch, state_.only_arch.empty() ? "the whole supernet" : state_.only_arch));
  }
  state_.epoch = loaded.epoch;
  state_.step = loaded.step;
}

double Trainer::evaluate(const ArchSpec& arch, Split split, int64_t max_examples) {
  return tinynas::evaluate(net_, arch, dataset_, split, task_, calib_, train_, device_, max_examples);
}

// ---------------------------------------------------------------------------------------------
// train_supernet: the driver

namespace {

std::string format_duration(double s) {
  const int64_t t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Progress lines on stderr every train.log_every steps and at each epoch's end: the epoch's mean
// loss of the largest subnet, throughput, and the time left.
class ProgressLog {
 public:
  ProgressLog(const TrainConfig& train, int64_t steps_per_epoch, bool print = true)
      : train_(train), spe_(steps_per_epoch), print_(print),
        start_(std::chrono::steady_clock::now()) {}

  void begin_epoch() {
    loss_sum_ = 0;
    loss_n_ = 0;
    since_log_ = 0;
    t_log_ = std::chrono::steady_clock::now();
  }

  // After a step; `at` is the position after it.
  void step(const CheckpointState& at, const SandwichLoss& l) {
    loss_sum_ += l.largest;
    ++loss_n_;
    ++steps_;
    ++since_log_;
    if (!print_ || (at.step % train_.log_every != 0 && at.step != spe_)) return;
    const double ips = since_log_ * train_.batch_size / std::max(seconds_since(t_log_), 1e-9);
    const int64_t done = at.epoch * spe_ + at.step;
    const double eta = seconds() / steps_ * (static_cast<int64_t>(train_.epochs) * spe_ - done);
    fmt::print(stderr,
               "epoch {}/{} step {}/{} loss {:.4f} (children {:.4f}) lr {:.4f} {:.1f} img/s eta {}\n",
               at.epoch + 1, train_.epochs, at.step, spe_, loss_sum_ / loss_n_, l.children,
               learning_rate(train_, done - 1, spe_), ips, format_duration(eta));
    t_log_ = std::chrono::steady_clock::now();
    since_log_ = 0;
  }

  int64_t steps() const { return steps_; }  // by this run
  double seconds() const { return seconds_since(start_); }

 private:
  const TrainConfig& train_;
  int64_t spe_;
  bool print_;
  std::chrono::steady_clock::time_point start_, t_log_;
  double loss_sum_ = 0;
  int64_t loss_n_ = 0, steps_ = 0, since_log_ = 0;
};

// Fault injection for the tests of a killed rank: TINYNAS_TEST_KILL_AT_STEP=<rank>:<global step>
// makes that rank SIGKILL itself after that step (-1: not this rank, or unset).
int64_t fault_injection_step(int rank) {
  const char* v = std::getenv("TINYNAS_TEST_KILL_AT_STEP");
  if (!v) return -1;
  int r = -1;
  long long step = -1;
  if (std::sscanf(v, "%d:%lld", &r, &step) != 2 || r != rank) return -1;
  return step;
}

// The metrics file next to a finished checkpoint.
std::string metrics_json(const TrainReport& r, const SearchSpace& space, const TrainConfig& train,
                         const TaskInfo& task) {
  nlohmann::ordered_json j;
  j["space"] = space.name;
  j["space_fingerprint"] = fmt::format("{:016x}", space.fingerprint());
  j["checkpoint"] = r.checkpoint;
  j["epochs"] = train.epochs;
  j["batch_size"] = train.batch_size;
  j["subnets_per_step"] = 2 + train.random_subnets;
  j["steps_this_run"] = r.steps;
  j["seconds_this_run"] = r.seconds;
  j["images_per_second"] = r.images_per_second;
  j["threads"] = torch::get_num_threads();
  j["ranks"] = r.world_size;  // data-parallel processes (threads is per rank)
  if (r.world_size > 1) j["rank0_communication_seconds"] = r.communication_seconds;
  j["dataset"] = task.dataset;
  j["metric"] = task.metric.name;
  j["higher_is_better"] = task.metric.higher_is_better;
  // "*_accuracy" is the task's metric (named above); the keys predate other metrics.
  auto score = [](const SubnetScore& s, const ArchSpec& arch) {
    nlohmann::ordered_json o;
    o["val_accuracy"] = s.val;
    o["test_accuracy"] = s.test;
    o["arch"] = nlohmann::json::parse(arch.to_json());
    return o;
  };
  j["largest"] = score(r.largest, ArchSpec::largest(space));
  j["smallest"] = score(r.smallest, ArchSpec::smallest(space));
  return j.dump(2) + "\n";
}

}  // namespace

std::string metrics_path_for(const std::string& checkpoint) {
  const std::size_t slash = checkpoint.find_last_of('/');
  const std::size_t dot = checkpoint.find_last_of('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) {
    return checkpoint.substr(0, dot) + ".json";
  }
  return checkpoint + ".json";
}

TrainReport train_supernet(const SearchSpace& space, const DataConfig& data,
                           const TrainConfig& train_in, const TrainOptions& options) {
  TrainConfig train = train_in;
  if (options.epochs > 0) train.epochs = options.epochs;
  if (train.warmup_epochs > train.epochs) train.warmup_epochs = train.epochs;
  TrainReport report;
  report.checkpoint = options.checkpoint.empty() ? train.checkpoint : options.checkpoint;
  if (report.checkpoint.empty()) {
    throw ConfigError("train.checkpoint: expected a path to write the supernet to");
  }
  const DistributedConfig& dist = options.distributed;
  const bool lead = dist.rank == 0;  // prints, evaluates, writes the checkpoint
  if (dist.distributed() && train.threads == 0) {
    // The machine's cores shared out among the ranks on it.
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    train.threads = std::max(1, cores / std::max(1, dist.local_world_size));
  }
  torch::Device device = setup_torch(train);
  if (device.is_cuda() && dist.distributed()) {
    // One GPU per rank on a machine with several.
    const auto gpus = static_cast<int>(torch::cuda::device_count());
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(dist.local_rank % gpus));
  }
  const std::unique_ptr<Dataset> dataset = make_dataset(data, train, space);
  const std::unique_ptr<Task> task = make_task(dataset->info(), train);
  report.metric = task->metric();
  if (dist.distributed() && train.batch_size % dist.world_size != 0) {
    throw ConfigError(fmt::format("train.batch_size: {} is the global batch and must divide evenly "
                                  "among the {} ranks", train.batch_size, dist.world_size));
  }
  std::unique_ptr<DataParallel> group;
  if (dist.distributed()) group = std::make_unique<DataParallel>(dist);
  report.rank = dist.rank;
  report.world_size = dist.world_size;
  Trainer trainer(space, *dataset, *task, train, device, data.workers,
                  group ? group->shard() : Shard{});
  const int64_t spe = trainer.steps_per_epoch();
  if (options.resume && file_exists(report.checkpoint)) {
    trainer.load(report.checkpoint);
    if (lead) {
      fmt::print(stderr, "resuming {} at epoch {} step {}\n", report.checkpoint,
                 trainer.state().epoch + 1, trainer.state().step);
    }
  } else if (options.resume && lead) {
    fmt::print(stderr, "no checkpoint at {}; starting from scratch\n", report.checkpoint);
  }
  if (group) {
    // Every rank read the same checkpoint (or none); the broadcast makes sure of it.
    trainer.join(*group);
    if (lead) {
      fmt::print(stderr, "data-parallel: {} ranks ({}), batch {} = {} x {}, {} threads each, "
                 "batch norm statistics {}\n", dist.world_size, dist.launcher, train.batch_size,
                 dist.world_size, train.batch_size / dist.world_size, torch::get_num_threads(),
                 train.sync_batch_norm ? "of the global batch" : "per rank");
    }
  }
  const int64_t kill_at = fault_injection_step(dist.rank);
  if (train.only_arch) train.only_arch->validate(space);
  if (lead && train.only_arch) {
    fmt::print(stderr,
               "training the subnet {} of '{}' alone: {} epochs x {} steps, batch {}, {} threads, "
               "{} training images\n",
               train.only_arch->to_string(), space.name, train.epochs, spe, train.batch_size,
               torch::get_num_threads(), dataset->split(Split::Train).size());
  } else if (lead) {
    fmt::print(stderr,
               "training supernet of '{}': {} epochs x {} steps, batch {}, {} subnets per step, "
               "{} threads, {} training images\n",
               space.name, train.epochs, spe, train.batch_size, 2 + train.random_subnets,
               torch::get_num_threads(), dataset->split(Split::Train).size());
  }

  // Alone, "largest" and "smallest" in the reports are that one subnet.
  const ArchSpec big = train.only_arch ? *train.only_arch : ArchSpec::largest(space);
  const ArchSpec small = train.only_arch ? *train.only_arch : ArchSpec::smallest(space);
  ProgressLog log(train, spe, lead);
  for (int epochs_this_run = 0; !trainer.finished(); ++epochs_this_run) {
    if (options.stop_after_epochs > 0 && epochs_this_run >= options.stop_after_epochs) break;
    log.begin_epoch();
    trainer.run_epoch([&](const SandwichLoss& l) {
      log.step(trainer.state(), l);
      const int64_t step = trainer.state().step;
      if (kill_at >= 0 && trainer.state().epoch * spe + step == kill_at) std::raise(SIGKILL);
      if (lead && train.checkpoint_every > 0 && step % train.checkpoint_every == 0 && step < spe) {
        trainer.save(report.checkpoint);
      }
    });
    if (!lead) continue;
    if (data.val_size > 0) {
      report.largest.val = trainer.evaluate(big, Split::Val);
      report.smallest.val = trainer.evaluate(small, Split::Val);
      fmt::print(stderr, "epoch {}/{} done: val {} largest {:.2f}% smallest {:.2f}%\n",
                 trainer.state().epoch, train.epochs, report.metric.label,
                 100 * report.largest.val, 100 * report.smallest.val);
    }
    trainer.save(report.checkpoint);
  }
  report.steps = log.steps();
  report.seconds = log.seconds();
  report.epoch = static_cast<int>(trainer.state().epoch);
  report.finished = trainer.finished();
  report.images_per_second =
      report.seconds > 0 ? report.steps * train.batch_size / report.seconds : 0;
  if (group) report.communication_seconds = group->communication_seconds();
  if (!report.finished || !lead) return report;

  if (data.val_size > 0 && report.largest.val < 0) {
    report.largest.val = trainer.evaluate(big, Split::Val);
    report.smallest.val = trainer.evaluate(small, Split::Val);
  }
  if (options.final_test) {
    report.largest.test = trainer.evaluate(big, Split::Test);
    report.smallest.test = trainer.evaluate(small, Split::Test);
  }
  report.metrics = metrics_path_for(report.checkpoint);
  write_file_atomic(report.metrics, metrics_json(report, space, train, dataset->info()));
  fmt::print(stderr,
             "finished ({}): largest val {:.2f}% test {:.2f}%, smallest val {:.2f}% test {:.2f}%\n",
             report.metric.label, 100 * report.largest.val, 100 * report.largest.test,
             100 * report.smallest.val, 100 * report.smallest.test);
  return report;
}

// ---------------------------------------------------------------------------------------------
// SupernetEvaluator

struct SupernetEvaluator::Impl {
  TrainConfig train;
  torch::Device device{torch::kCPU};
  std::unique_ptr<Dataset> dataset;
  std::unique_ptr<Task> task;
  Supernet net{nullptr};
  std::vector<torch::Tensor> calib;
};

SupernetEvaluator::SupernetEvaluator(const SearchSpace& space, const DataConfig& data,
                                     const TrainConfig& train, const std::string& checkpoint)
    : impl_(std::make_unique<Impl>()) {
  impl_->train = train;
  impl_->device = setup_torch(train);
  const std::string path = checkpoint.empty() ? train.checkpoint : checkpoint;
  if (path.empty()) throw ConfigError("train.checkpoint: expected the trained supernet's path");
  impl_->net = Supernet(space);
  load_checkpoint(path, impl_->net, nullptr);
  impl_->net->to(impl_->device);
  impl_->net->set_channels_last(train.channels_last);
  impl_->dataset = make_dataset(data, train, space);
  impl_->task = make_task(impl_->dataset->info(), train);
  impl_->calib = calibration_batches(*impl_->dataset, train, impl_->device);
}

SupernetEvaluator::~SupernetEvaluator() = default;

const TaskInfo& SupernetEvaluator::task() const { return impl_->task->info(); }

const Dataset& SupernetEvaluator::dataset() const { return *impl_->dataset; }

double SupernetEvaluator::score(const ArchSpec& arch, Split split, int64_t max_examples) {
  return evaluate(impl_->net, arch, *impl_->dataset, split, *impl_->task, impl_->calib,
                  impl_->train, impl_->device, max_examples);
}

std::vector<LayerWeights> SupernetEvaluator::weights(const ArchSpec& arch) {
  impl_->net->set_active(arch);
  impl_->net->recalibrate_bn(impl_->calib);
  return impl_->net->extract_weights(arch);
}

SplitScore SupernetEvaluator::score_halves(const ArchSpec& arch, Split split, int64_t max_examples) {
  return evaluate_halves(impl_->net, arch, *impl_->dataset, split, *impl_->task, impl_->calib,
                         impl_->train, impl_->device, max_examples);
}

int64_t SupernetEvaluator::split_size(Split split) const {
  return impl_->dataset->split(split).size();
}

}  // namespace tinynas
