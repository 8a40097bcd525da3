// The dataset and task registries, the train/validation split, and the (sharded) batch stream.
#include "supernet/dataset.h"

#include <ATen/ATen.h>
#include <fmt/core.h>

#include <algorithm>
#include <map>

#include "search_spaces/config_node.h"
#include "supernet/task.h"

namespace tinynas {

namespace {

// Function-local statics: registrations run during static initialisation, in any order.
std::map<std::string, DatasetFactory>& factories() {
  static std::map<std::string, DatasetFactory> f;
  return f;
}
std::map<std::string, TaskFactory>& task_factories() {
  static std::map<std::string, TaskFactory> f;
  return f;
}

at::Tensor index_tensor(const std::vector<int64_t>& v) {
  return at::from_blob(const_cast<int64_t*>(v.data()), {static_cast<int64_t>(v.size())}, at::kLong)
      .clone();
}

}  // namespace

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
  // splitmix64 over the words
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL;
  for (uint64_t w : {a, b, c}) {
    h += w + 0x9e3779b97f4a7c15ULL;
    uint64_t z = h;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    h = z ^ (z >> 31);
  }
  return h;
}

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<std::size_t>(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng() % (i + 1)]);
  return order;
}

Examples Examples::subset(const at::Tensor& index) const {
  return {inputs.index_select(0, index), targets.index_select(0, index)};
}

Dataset::Dataset(TaskInfo info, Examples train, Examples val, Examples test)
    : info_(std::move(info)), train_(std::move(train)), val_(std::move(val)), test_(std::move(test)) {}

std::vector<float> Dataset::raw_example(Split, int64_t) const {
  throw ConfigError("'" + info_.dataset + "' has no front end: its examples are the network's input");
}

const Examples& Dataset::split(Split s) const {
  switch (s) {
    case Split::Train: return train_;
    case Split::Val:
      if (val_.size() == 0) throw ConfigError("data.val_size is 0: there is no validation split");
      return val_;
    case Split::Test: return test_;
  }
  return test_;
}

Split parse_split(const std::string& name) {
  if (name == "train") return Split::Train;
  if (name == "val") return Split::Val;
  if (name == "test") return Split::Test;
  throw ConfigError("split: expected train, val or test, got '" + name + "'");
}

const char* split_name(Split s) {
  switch (s) {
    case Split::Train: return "train";
    case Split::Val: return "val";
    case Split::Test: return "test";
  }
  return "?";
}

bool register_dataset(const TaskInfo& info, DatasetFactory factory) {
  register_task_info(info);
  factories()[info.dataset] = std::move(factory);
  return true;
}

bool register_task(const std::string& kind, TaskFactory factory) {
  task_factories()[kind] = std::move(factory);
  return true;
}

std::unique_ptr<Task> make_task(const TaskInfo& info, const TrainConfig& train) {
  const auto it = task_factories().find(info.task);
  if (it == task_factories().end()) {
    std::string known;
    for (const auto& kv : task_factories()) known += (known.empty() ? "" : ", ") + kv.first;
    throw ConfigError("dataset '" + info.dataset + "' needs the task '" + info.task +
                      "', which this build does not have (it has: " + known + ")");
  }
  return it->second(info, train);
}

namespace {

std::unique_ptr<Dataset> create(const DataConfig& data, const TrainConfig& train, int num_classes,
                                int input_channels, const FrontEndSpec& front_end = {},
                                Shape input = {0, 0, 0}) {
  const std::string key = data.where.empty() ? "data.dataset" : data.where;
  if (data.dataset.empty()) {
    std::string known;
    for (const std::string& n : dataset_names()) known += (known.empty() ? "" : ", ") + n;
    throw ConfigError(key + ": missing; expected the dataset's name, one of: " + known);
  }
  const TaskInfo& info = task_info(data.dataset, key);
  // The dataset's own keys (checked here too: a DataConfig read where no dataset was registered
  // could not tell them from typos).
  if (data.node) {
    std::vector<std::string> keys = DataConfig::common_keys();
    keys.insert(keys.end(), info.options.begin(), info.options.end());
    data.node->check_keys(keys);
  }
  return factories().at(info.dataset)(
      {data, train, num_classes, input_channels, front_end, input.h, input.w});
}

}  // namespace

std::unique_ptr<Dataset> make_dataset(const DataConfig& data, const TrainConfig& train,
                                      const SearchSpace& space) {
  const std::string key = data.where.empty() ? "data.dataset" : data.where;
  if (!data.dataset.empty()) {
    // A dataset made for an on-device front end (audio -> features) needs a space that runs it,
    // and an image dataset one that does not.
    const TaskInfo& t = task_info(data.dataset, key);
    if (t.front_end != space.front_end.kind) {
      throw ConfigError(
          t.front_end.empty()
              ? fmt::format("{}: '{}' is images, but the space '{}' ({}) starts with a front_end "
                            "({}); use a space without one", key, t.dataset, space.name, space.origin,
                            space.front_end.kind)
              : fmt::format("{}: '{}' is computed on the device by the '{}' front end; the space "
                            "'{}' ({}) needs front_end: {{kind: {}, scale: ..., zero_point: ...}}",
                            key, t.dataset, t.front_end, space.name, space.origin, t.front_end));
    }
  }
  if (!data.dataset.empty()) {
    // An anomaly task scores reconstructions; every other task reads a classifier's logits.
    const TaskInfo& t = task_info(data.dataset, key);
    const bool reconstructs = space.output == OutputKind::Reconstruction;
    if ((t.task == "anomaly") != reconstructs) {
      throw ConfigError(fmt::format(
          "{}: '{}' is a{} task; the space '{}' ({}) has output: {}{}", key, t.dataset,
          t.task == "anomaly" ? "n anomaly" : " " + t.task, space.name, space.origin,
          output_kind_name(space.output),
          reconstructs ? " (an autoencoder's): use a classifier space" : ": use an autoencoder "
                                                                       "space (output: reconstruction)"));
    }
  }
  std::unique_ptr<Dataset> d = create(data, train, space.num_classes, space.input_channels,
                                      space.front_end, space.input_shape(space.max_resolution()));
  const TaskInfo& info = d->info();
  if (info.input.channels != space.input_channels) {
    throw ConfigError(fmt::format(
        "{}: '{}' has {}-channel inputs ({}), the space '{}' ({}) expects input_channels {}",
        data.where.empty() ? "data.dataset" : data.where, info.dataset, info.input.channels,
        info.input.to_string(), space.name, space.origin, space.input_channels));
  }
  // The space's resolutions keep the input's aspect: a non-square dataset needs a space that
  // says so (input_size), or every subnet would see it squashed to a square.
  const Shape native = space.input_shape(info.input.height);
  if (info.input.height > 0 && info.input.width > 0 &&
      int64_t{native.w} * info.input.height != int64_t{info.input.width} * native.h) {
    throw ConfigError(fmt::format(
        "{}: '{}' has {} inputs, the space '{}' ({}) gives {}x{} at that height: set its "
        "input_size: [{}, {}]",
        data.where.empty() ? "data.dataset" : data.where, info.dataset, info.input.to_string(),
        space.name, space.origin, native.h, native.w, info.input.height, info.input.width));
  }
  return d;
}

std::unique_ptr<Dataset> make_dataset(const DataConfig& data, const TrainConfig& train) {
  const std::string key = data.where.empty() ? "data.dataset" : data.where;
  const TaskInfo* info = data.dataset.empty() ? nullptr : find_task_info(data.dataset);
  const int classes = info ? info->num_classes : 0;
  const int channels = info ? info->input.channels : 0;
  return create(data, train, classes, channels);
}

void split_train_val(const Examples& full, const DataConfig& data, Examples* train, Examples* val) {
  const int64_t n = full.size();
  if (data.val_size >= n) {
    throw ConfigError(fmt::format("data.val_size: {} leaves no training images of {}",
                                  data.val_size, n));
  }
  const std::vector<int64_t> order = seeded_permutation(n, mix_seed(data.split_seed, 0x5917));
  std::vector<int64_t> v(order.begin(), order.begin() + data.val_size);
  std::vector<int64_t> t(order.begin() + data.val_size, order.end());
  std::sort(v.begin(), v.end());
  std::sort(t.begin(), t.end());
  if (data.train_images > 0 && data.train_images < static_cast<int64_t>(t.size())) {
    t.resize(data.train_images);
  }
  *train = full.subset(index_tensor(t));
  *val = data.val_size > 0 ? full.subset(index_tensor(v)) : Examples{};
}

// ---------------------------------------------------------------------------------------------
// BatchStream

int64_t BatchStream::steps_per_epoch(int64_t set_size, int batch_size) {
  return set_size / batch_size;
}

BatchStream::BatchStream(const Dataset& dataset, const TrainConfig& train, int workers,
                         uint64_t seed, int64_t epoch, int64_t first_step, Shard shard)
    : dataset_(dataset),
      set_(dataset.split(Split::Train)),
      batch_size_(train.batch_size),
      workers_(workers),
      seed_(seed),
      epoch_(epoch),
      shard_(shard),
      step_(first_step) {
  if (shard.world_size < 1 || shard.rank < 0 || shard.rank >= shard.world_size ||
      batch_size_ % shard.world_size != 0) {
    throw ConfigError(fmt::format(
        "train.batch_size: {} must split evenly over {} processes (rank {})", batch_size_,
        shard.world_size, shard.rank));
  }
  const int64_t n = set_.size();
  steps_ = steps_per_epoch(n, train.batch_size);
  order_ = seeded_permutation(n, mix_seed(seed, 0x5ff1e, epoch));
  if (workers_ > 0 && step_ < steps_) {
    pending_ = std::async(std::launch::async, [this, s = step_] { return build(s); });
  }
}

BatchStream::~BatchStream() {
  if (pending_.valid()) pending_.wait();
}

std::vector<int64_t> BatchStream::global_indices(int64_t step) const {
  return std::vector<int64_t>(order_.begin() + step * batch_size_,
                              order_.begin() + (step + 1) * batch_size_);
}

Batch BatchStream::build(int64_t step) const {
  // Plain loops and at::empty only: this runs on a worker thread (see Dataset::augmented).
  const int64_t b = batch_size_, begin = shard_.begin(b), end = shard_.end(b);
  std::vector<int64_t> shape = set_.inputs.sizes().vec();
  const int64_t per_example = set_.inputs.numel() / std::max<int64_t>(1, set_.size());
  shape[0] = end - begin;
  Batch out{at::empty(shape, at::kFloat), at::empty({end - begin}, at::kLong)};
  float* dst = out.inputs.data_ptr<float>();
  const int64_t* targets = set_.targets.data_ptr<int64_t>();
  int64_t* targets_out = out.targets.data_ptr<int64_t>();
  // One generator for the global batch, drawn in example order by every shard: a shard's
  // examples get the draws they get in the unsharded batch.
  std::mt19937_64 rng(mix_seed(seed_, 0xa06, epoch_, step));
  for (int64_t i = 0; i < b; ++i) {
    const int64_t k = order_[step * b + i];
    const bool mine = i >= begin && i < end;
    dataset_.augmented(set_, k, rng, mine ? dst + (i - begin) * per_example : nullptr);
    if (mine) targets_out[i - begin] = targets[k];
  }
  return out;
}

bool BatchStream::next(Batch* batch) {
  if (step_ >= steps_) return false;
  Batch next_batch = pending_.valid() ? pending_.get() : build(step_);
  ++step_;
  if (workers_ > 0 && step_ < steps_) {
    pending_ = std::async(std::launch::async, [this, s = step_] { return build(s); });
  }
  *batch = std::move(next_batch);
  return true;
}

}  // namespace tinynas
