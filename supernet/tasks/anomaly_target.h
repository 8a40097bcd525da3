// An anomaly-detection example's target (int64, one per example): which clip of its split the
// window comes from, which group (machine id) the clip belongs to, and its label (1 = anomaly),
// packed as
//
//   label | clip << 1 | group << 32        label in {0, 1}, clip in [0, 2^31), group in [0, 2^31)
//
// The dataset (supernet/datasets/machine_sounds.cpp) writes it; the task's accumulator
// (supernet/tasks/anomaly.h) reads it to average the window scores per clip and score each group.
// Plain C++.
#pragma once

#include <cstdint>
#include <stdexcept>

namespace tinynas {

struct AnomalyTarget {
  int label = 0;     // 0 normal, 1 anomaly
  int64_t clip = 0;  // index of the clip within its split
  int group = 0;     // index of the machine id (the dataset's list of ids)
};

constexpr int64_t kAnomalyMaxClips = int64_t{1} << 31;
constexpr int64_t kAnomalyMaxGroups = int64_t{1} << 31;

// Throws std::invalid_argument for a field out of its range.
inline int64_t pack_anomaly_target(const AnomalyTarget& t) {
  if ((t.label != 0 && t.label != 1) || t.clip < 0 || t.clip >= kAnomalyMaxClips || t.group < 0) {
    throw std::invalid_argument("anomaly target out of range (label 0/1, clip < 2^31, group >= 0)");
  }
  return int64_t{t.label} | t.clip << 1 | static_cast<int64_t>(t.group) << 32;
}

inline AnomalyTarget unpack_anomaly_target(int64_t v) {
  AnomalyTarget t;
  t.label = static_cast<int>(v & 1);
  t.clip = (v >> 1) & (kAnomalyMaxClips - 1);
  t.group = static_cast<int>(v >> 32);
  return t;
}

}  // namespace tinynas
