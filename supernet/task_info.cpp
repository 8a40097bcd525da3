#include "supernet/task_info.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "search_spaces/config_node.h"

namespace tinynas {

namespace {

// A function-local static: registrations run during static initialisation, in any order.
std::map<std::string, TaskInfo>& registry() {
  static std::map<std::string, TaskInfo> r;
  return r;
}

}  // namespace

std::string InputShape::to_string() const {
  return std::to_string(height) + "x" + std::to_string(width) + "x" + std::to_string(channels);
}

Metric Metric::top1_accuracy() { return {"top1_accuracy", "top-1 accuracy", true}; }
Metric Metric::auroc() { return {"auroc", "AUROC", true}; }

void register_task_info(const TaskInfo& info) {
  if (!registry().emplace(info.dataset, info).second) {
    std::fprintf(stderr, "tinynas: dataset '%s' registered twice\n", info.dataset.c_str());
    std::abort();
  }
}

const TaskInfo* find_task_info(const std::string& dataset) {
  const auto it = registry().find(dataset);
  return it == registry().end() ? nullptr : &it->second;
}

const TaskInfo& task_info(const std::string& dataset, const std::string& key) {
  if (const TaskInfo* t = find_task_info(dataset)) return *t;
  std::string known;
  for (const std::string& n : dataset_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError(key + ": unknown dataset '" + dataset + "'; expected one of: " +
                    (known.empty() ? "(none in this build)" : known));
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> out;
  for (const auto& kv : registry()) out.push_back(kv.first);
  return out;
}

}  // namespace tinynas
