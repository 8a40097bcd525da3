// Batch normalisation over a batch split across data-parallel ranks (SyncBatchNorm): each rank
// holds a slice of the global batch; the mean and variance are of the global batch, and the
// backward pass sums the two per-channel reductions it needs over the ranks as well, so the
// gradients are those of one process holding the whole batch.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace tinynas {

// Sums a tensor over all ranks, in place (c10d all-reduce).
using AllReduceSum = std::function<void(torch::Tensor&)>;

// x: [N, C, H, W] or [N, C]; weight, bias, running_mean, running_var: [C] (the running statistics
// are updated in place with `momentum`, the variance unbiased over the global count, as
// torch::batch_norm does). Forward: one all-reduce of the per-channel sums of x and x^2 (in
// float64, so the variance keeps float32's precision); backward: one of the two sums it needs.
torch::Tensor sync_batch_norm(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias, torch::Tensor running_mean,
                              torch::Tensor running_var, double momentum, double eps,
                              const AllReduceSum& all_reduce);

}  // namespace tinynas
