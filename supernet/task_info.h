// What a task is, without LibTorch: the dataset's name and input shape, the number of classes
// it labels, and the metric the search optimises and every report prints (its name and
// direction). nas/ reads this (search, summary.json, sweep, plots); the torch side (Dataset,
// Task in supernet/dataset.h, supernet/task.h) implements it.
//
// Each dataset registers its TaskInfo from its own file (supernet/datasets/<name>.cpp) at static
// initialisation; DataConfig::from_config checks data.dataset against the registered names.
#pragma once

#include <limits>
#include <string>
#include <vector>

namespace tinynas {

// Input of the network, H x W x C; audio features are not square (49 x 10 x 1 MFCC).
struct InputShape {
  int height = 0, width = 0, channels = 0;
  std::string to_string() const;  // "28x28x1"
};

// A scalar quality of a subnet on a split: its name in files, its label in plots and printed
// lines, and which way is better.
struct Metric {
  std::string name;   // machine name: "top1_accuracy", "auroc"
  std::string label;  // for people: "top-1 accuracy"
  bool higher_is_better = true;

  bool better(double a, double b) const { return higher_is_better ? a > b : a < b; }
  // As a fitness to maximise (the evolution and the predictor rank by it).
  double fitness(double value) const { return higher_is_better ? value : -value; }
  double worst() const {
    return higher_is_better ? -std::numeric_limits<double>::infinity()
                            : std::numeric_limits<double>::infinity();
  }

  static Metric top1_accuracy();  // classification: fraction of argmax == label, in [0, 1]
  // anomaly detection: area under the ROC curve of the anomaly scores, in [0, 1] (0.5: chance)
  static Metric auroc();
};

// Inputs that arrive already quantised: the dataset stores int8 values q whose real value is
// scale * (q - zero_point) (an on-device front end's output, e.g. the MFCC's), so the exported
// network's input quantisation is this one, not a calibrated one.
struct InputQuant {
  double scale = 0;
  int zero_point = 0;
};

struct TaskInfo {
  std::string dataset;  // its data.dataset name
  std::string task;     // the Task that trains and scores it (supernet/task.h): "classification"
  std::string summary;  // one line for people: what the data is and where it comes from
  InputShape input;     // as stored, before a subnet's resolution resizes it
  int num_classes = 0;  // labels are 0 .. num_classes - 1
  std::vector<std::string> class_names;  // label -> name (empty: unnamed)
  Metric metric;
  // The dataset's own data.* keys besides the common ones (DataConfig), accepted by
  // DataConfig::from_config and read by the dataset from DataConfig::node.
  std::vector<std::string> options;
  // The front end that makes the network's input on the device from raw samples ("" = none:
  // the input is an image); "mfcc-kws": 1 s of 16 kHz int16 PCM -> 49 x 10 int8 MFCC.
  std::string front_end;
};

// The registry. register_task_info() is for a dataset's own file (see TINYNAS_REGISTER_DATASET
// in supernet/dataset.h); a second registration of a name is a programming error (abort).
void register_task_info(const TaskInfo& info);
// nullptr when no dataset of that name is registered.
const TaskInfo* find_task_info(const std::string& dataset);
// Throws ConfigError naming `key` (e.g. "configs/x.yaml: data.dataset") and the known names.
const TaskInfo& task_info(const std::string& dataset, const std::string& key = "data.dataset");
std::vector<std::string> dataset_names();  // sorted

}  // namespace tinynas
