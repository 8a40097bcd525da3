// The supernet's torch-free front door, for the CLI (nas/cli/cmd_train.cpp, nas/cli/cmd_eval.cpp), the
// search (fitness = the task's metric of a subnet with inherited weights) and the int8 exporter
// (float weights of a subnet in NetGraph layer order). Nothing here includes LibTorch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "search_spaces/arch_spec.h"
#include "search_spaces/search_space.h"
#include "ops/layer_weights.h"
#include "supernet/distributed_config.h"
#include "supernet/task_info.h"
#include "supernet/train_config.h"

namespace tinynas {

enum class Split { Train, Val, Test };
Split parse_split(const std::string& name);  // "train" | "val" | "test"; else ConfigError
const char* split_name(Split s);

struct TrainOptions {
  bool resume = false;        // continue from train.checkpoint when it exists
  int epochs = 0;             // overrides train.epochs (the schedule's length) when > 0
  int stop_after_epochs = 0;  // end this run after N epochs, as if killed; 0 = run to the end
  std::string checkpoint;     // overrides train.checkpoint when not empty
  bool final_test = true;     // evaluate largest / smallest on the test split at the end
  // One rank of a data-parallel job (supernet/distributed.h) when distributed.world_size > 1:
  // train.batch_size is the global batch, shared out among the ranks; rank 0 alone prints,
  // evaluates and writes the checkpoint and metrics.
  DistributedConfig distributed;
};

struct SubnetScore {
  double val = -1, test = -1;  // the task's metric (TrainReport::metric); -1 = not measured
};

struct TrainReport {
  std::string checkpoint;
  std::string metrics;        // the JSON written next to the checkpoint (when finished)
  bool finished = false;      // every epoch of the schedule is done
  int epoch = 0;              // epochs completed
  int64_t steps = 0;          // sandwich steps run by this invocation
  double seconds = 0;         // wall time of those steps
  double images_per_second = 0;  // training images per second (each through 2 + N subnets)
  int rank = 0, world_size = 1;  // of a data-parallel job
  double communication_seconds = 0;  // of `seconds`, this rank's time in collectives
  Metric metric;              // what largest / smallest report (the dataset's task)
  SubnetScore largest, smallest;
};

// `tinynas train`: sandwich-rule training with in-place distillation on data.dataset (its Task's
// loss and metric), checkpoints written atomically at every epoch end and every
// train.checkpoint_every steps, resumable exactly. Progress goes to stderr. A driver over the
// Trainer of supernet/trainer.h. Throws ConfigError for bad input (missing data, a checkpoint of
// another space, ...).
TrainReport train_supernet(const SearchSpace& space, const DataConfig& data,
                           const TrainConfig& train, const TrainOptions& options = {});

// The task's metric over some examples, and over each half of them (the first n/2, the rest).
struct SplitScore {
  double value = 0, first_half = 0, second_half = 0;
};

// A trained supernet loaded once, answering for many subnets: each query recalibrates the
// subnet's batch norms on train.bn_calibration_batches training batches first.
class Dataset;

class SupernetEvaluator {
 public:
  // Loads the data and the checkpoint (train.checkpoint unless `checkpoint` is given); a
  // missing checkpoint or one trained on another space is a ConfigError.
  SupernetEvaluator(const SearchSpace& space, const DataConfig& data, const TrainConfig& train,
                    const std::string& checkpoint = "");
  ~SupernetEvaluator();
  SupernetEvaluator(const SupernetEvaluator&) = delete;
  SupernetEvaluator& operator=(const SupernetEvaluator&) = delete;

  // The dataset and task it scores with: the metric's name and direction, the input shape.
  const TaskInfo& task() const;
  // The task's metric (task().metric) on the split (its first max_examples when > 0).
  double score(const ArchSpec& arch, Split split, int64_t max_examples = 0);
  // The same measurement, with the metric of each half of the examples as well (one pass).
  SplitScore score_halves(const ArchSpec& arch, Split split, int64_t max_examples = 0);
  // The same, under its older name (the metric was always top-1 accuracy).
  double accuracy(const ArchSpec& arch, Split split, int64_t max_examples = 0) {
    return score(arch, split, max_examples);
  }
  // The subnet's float weights after BN recalibration, one entry per lower(space, arch) layer.
  std::vector<LayerWeights> weights(const ArchSpec& arch);
  int64_t split_size(Split split) const;
  // The data it loaded (for the exporter's images: supernet/labelled_images.h), not loaded again.
  const Dataset& dataset() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The metrics file written next to a checkpoint: "models/x.pt" -> "models/x.json".
std::string metrics_path_for(const std::string& checkpoint);

}  // namespace tinynas
