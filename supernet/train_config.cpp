#include "supernet/train_config.h"

#include "supernet/task_info.h"

namespace tinynas {

const std::vector<std::string>& DataConfig::common_keys() {
  static const std::vector<std::string> keys = {"dataset", "path", "val_size", "split_seed",
                                                "train_images", "workers"};
  return keys;
}

DataConfig DataConfig::from_config(const ConfigNode& node) {
  std::vector<std::string> keys = common_keys();
  if (const auto n = node.find("dataset")) {
    if (const TaskInfo* t = find_task_info(n->as_string())) {
      keys.insert(keys.end(), t->options.begin(), t->options.end());
    }
  }
  // Without LibTorch no dataset registers itself, so its own keys cannot be told from typos;
  // nothing reads data in such a build.
  if (!dataset_names().empty()) node.check_keys(keys);
  DataConfig d;
  d.node = node;
  d.where = node.file() + ": " + (node.key_path().empty() ? "" : node.key_path() + ".") + "dataset";
  if (const auto n = node.find("dataset")) {
    d.dataset = n->as_string();
    // The datasets register themselves with the LibTorch part; a build without it reads no data
    // and has none to check against (the dataset is checked again when it loads).
    if (!dataset_names().empty() && !find_task_info(d.dataset)) {
      std::string known;
      for (const std::string& k : dataset_names()) known += (known.empty() ? "" : ", ") + k;
      n->fail("unknown dataset '" + d.dataset + "'; expected one of: " + known);
    }
  }
  if (node.has("path")) d.path = node.at("path").as_path();
  d.val_size = static_cast<int>(node.get_int("val_size", d.val_size, 0, 100000000));
  d.split_seed = static_cast<uint64_t>(node.get_int("split_seed", 0, 0, INT64_MAX));
  d.train_images = static_cast<int>(node.get_int("train_images", d.train_images, 0, 100000000));
  d.workers = static_cast<int>(node.get_int("workers", d.workers, 0, 64));
  return d;
}

TrainConfig TrainConfig::from_config(const ConfigNode& node) {
  node.check_keys({"epochs", "batch_size", "optimizer", "lr", "momentum", "nesterov",
                   "weight_decay", "warmup_epochs", "label_smoothing", "random_subnets", "distill",
                   "progressive_shrinking", "bn_calibration_batches", "eval_batch_size",
                   "crop_padding", "hflip", "grad_clip", "channels_last", "sync_batch_norm", "seed", "device",
                   "threads", "log_every", "checkpoint_every", "checkpoint"});
  TrainConfig t;
  t.epochs = static_cast<int>(node.get_int("epochs", t.epochs, 1, 10000));
  t.batch_size = static_cast<int>(node.get_int("batch_size", t.batch_size, 1, 65536));
  if (node.has("optimizer")) t.optimizer = node.at("optimizer").as_choice({"sgd", "adamw"});
  t.lr = node.get_double("lr", t.lr, 1e-8, 10.0);
  t.momentum = node.get_double("momentum", t.momentum, 0.0, 0.999);
  t.nesterov = node.get_bool("nesterov", t.nesterov);
  t.weight_decay = node.get_double("weight_decay", t.weight_decay, 0.0, 1.0);
  t.warmup_epochs = node.get_double("warmup_epochs", t.warmup_epochs, 0.0, 1000.0);
  if (t.warmup_epochs > t.epochs) {
    node.at("warmup_epochs").fail("expected at most train.epochs (" + std::to_string(t.epochs) + ")");
  }
  t.label_smoothing = node.get_double("label_smoothing", t.label_smoothing, 0.0, 0.5);
  t.random_subnets = static_cast<int>(node.get_int("random_subnets", t.random_subnets, 0, 16));
  t.distill = node.get_bool("distill", t.distill);
  t.progressive_shrinking = node.get_bool("progressive_shrinking", t.progressive_shrinking);
  t.bn_calibration_batches =
      static_cast<int>(node.get_int("bn_calibration_batches", t.bn_calibration_batches, 1, 10000));
  t.eval_batch_size = static_cast<int>(node.get_int("eval_batch_size", t.eval_batch_size, 1, 65536));
  t.crop_padding = static_cast<int>(node.get_int("crop_padding", t.crop_padding, 0, 16));
  t.hflip = node.get_bool("hflip", t.hflip);
  t.grad_clip = node.get_double("grad_clip", t.grad_clip, 0.0, 1e6);
  t.channels_last = node.get_bool("channels_last", t.channels_last);
  t.sync_batch_norm = node.get_bool("sync_batch_norm", t.sync_batch_norm);
  t.seed = static_cast<uint64_t>(node.get_int("seed", 0, 0, INT64_MAX));
  if (node.has("device")) t.device = node.at("device").as_choice({"cpu", "cuda"});
  t.threads = static_cast<int>(node.get_int("threads", 0, 0, 1024));
  t.log_every = static_cast<int>(node.get_int("log_every", t.log_every, 1, 1000000));
  t.checkpoint_every =
      static_cast<int>(node.get_int("checkpoint_every", t.checkpoint_every, 0, 100000000));
  if (node.has("checkpoint")) t.checkpoint = node.at("checkpoint").as_path();
  return t;
}

}  // namespace tinynas
