// Data-parallel supernet training over LibTorch's c10d: one process per rank, each with its own
// Trainer holding the same supernet and drawing the same subnets and learning rate from (seed,
// epoch, step), each fed its Shard of every global batch. Per step:
//   - every batch norm normalises with the statistics of the global batch (sync_batch_norm.h),
//   - after the sandwich's backward passes the gradients are all-reduced in buckets and divided
//     by the world size (Trainer's gradient hook), then every rank takes the same optimizer step.
// So N ranks with batch B/N each follow the weights one process with batch B would, up to the
// order of floating-point sums. The process group is Gloo (CPU tensors; a CUDA LibTorch's NCCL is
// not in Debian's build). The rendezvous is a FileStore (one machine) or rank 0's TCPStore.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "supernet/dataset.h"
#include "supernet/distributed_config.h"
#include "supernet/supernet.h"

namespace tinynas {

class DataParallel {
 public:
  // Joins the group (blocks until every rank has); ConfigError if the rendezvous fails.
  explicit DataParallel(const DistributedConfig& config);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return config_.rank; }
  int world_size() const { return config_.world_size; }
  Shard shard() const { return {config_.rank, config_.world_size}; }

  // Rank 0's parameters and buffers to every rank (a fresh start on another rank's seed, or a
  // checkpoint read by one rank only, would otherwise diverge silently).
  void broadcast(Supernet& net);
  // Makes every batch norm of `net` synchronise its statistics through this group.
  void synchronise_batch_norm(Supernet& net);
  // Sums the defined gradients of `net` over the ranks in buckets of ~bucket_bytes, divides them
  // by the world size. Every rank must hold the same set of defined gradients (same subnets).
  void all_reduce_gradients(Supernet& net);
  void barrier();

  // Sums `t` (CPU or device tensor) over the ranks, in place.
  void all_reduce_sum(torch::Tensor& t);

  // Time spent inside collectives, and how many, since construction.
  double communication_seconds() const { return comm_seconds_; }
  int64_t collectives() const { return collectives_; }

  static constexpr int64_t kBucketBytes = 4 << 20;

 private:
  struct Group;  // the c10d store and process group (their headers stay in distributed.cpp)
  DistributedConfig config_;
  std::unique_ptr<Group> group_;
  double comm_seconds_ = 0;
  int64_t collectives_ = 0;
};

}  // namespace tinynas
