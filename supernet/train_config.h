// The `data` and `train` sections of an experiment config. Plain C++ (no LibTorch), so the one
// config loader can validate them without pulling in torch.
#pragma once

#include <cstdint>
#include <string>

#include "search_spaces/config_node.h"

namespace tinynas {

struct DataConfig {
  std::string dataset = "fashion-mnist";
  std::string path = "/usr/share/datasets/fashion-mnist";
  int val_size = 5000;  // held out of the training set for search; the test set is for reports
  int workers = 2;      // loader threads

  static DataConfig from_config(const ConfigNode& node);
};

struct TrainConfig {
  int epochs = 10;
  int batch_size = 128;
  std::string optimizer = "sgd";  // sgd | adamw
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 4e-5;
  int warmup_epochs = 1;
  double label_smoothing = 0.1;
  int random_subnets = 2;   // sandwich rule: largest + smallest + N random per step
  bool distill = true;      // in-place distillation from the largest subnet
  bool progressive_shrinking = false;
  int bn_calibration_batches = 10;
  uint64_t seed = 0;
  std::string device = "cpu";  // cpu | cuda
  int threads = 0;             // 0 = one per core
  std::string checkpoint;      // where the trained supernet is written and read

  static TrainConfig from_config(const ConfigNode& node);
};

}  // namespace tinynas
