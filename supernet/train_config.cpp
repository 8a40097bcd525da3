#include "supernet/train_config.h"

namespace tinynas {

DataConfig DataConfig::from_config(const ConfigNode& node) {
  node.check_keys({"dataset", "path", "val_size", "workers"});
  DataConfig d;
  d.dataset = node.find("dataset") ? node.at("dataset").as_choice({"fashion-mnist"}) : d.dataset;
  if (node.has("path")) d.path = node.at("path").as_path();
  d.val_size = static_cast<int>(node.get_int("val_size", d.val_size, 0, 30000));
  d.workers = static_cast<int>(node.get_int("workers", d.workers, 1, 64));
  return d;
}

TrainConfig TrainConfig::from_config(const ConfigNode& node) {
  node.check_keys({"epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay",
                   "warmup_epochs", "label_smoothing", "random_subnets", "distill",
                   "progressive_shrinking", "bn_calibration_batches", "seed", "device", "threads",
                   "checkpoint"});
  TrainConfig t;
  t.epochs = static_cast<int>(node.get_int("epochs", t.epochs, 1, 10000));
  t.batch_size = static_cast<int>(node.get_int("batch_size", t.batch_size, 1, 65536));
  if (node.has("optimizer")) t.optimizer = node.at("optimizer").as_choice({"sgd", "adamw"});
  t.lr = node.get_double("lr", t.lr, 1e-8, 10.0);
  t.momentum = node.get_double("momentum", t.momentum, 0.0, 0.999);
  t.weight_decay = node.get_double("weight_decay", t.weight_decay, 0.0, 1.0);
  t.warmup_epochs = static_cast<int>(node.get_int("warmup_epochs", t.warmup_epochs, 0, 1000));
  t.label_smoothing = node.get_double("label_smoothing", t.label_smoothing, 0.0, 0.5);
  t.random_subnets = static_cast<int>(node.get_int("random_subnets", t.random_subnets, 0, 16));
  t.distill = node.get_bool("distill", t.distill);
  t.progressive_shrinking = node.get_bool("progressive_shrinking", t.progressive_shrinking);
  t.bn_calibration_batches =
      static_cast<int>(node.get_int("bn_calibration_batches", t.bn_calibration_batches, 1, 10000));
  t.seed = static_cast<uint64_t>(node.get_int("seed", 0, 0, INT64_MAX));
  if (node.has("device")) t.device = node.at("device").as_choice({"cpu", "cuda"});
  t.threads = static_cast<int>(node.get_int("threads", 0, 0, 1024));
  if (node.has("checkpoint")) t.checkpoint = node.at("checkpoint").as_path();
  return t;
}

}  // namespace tinynas
