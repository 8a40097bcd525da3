#include "supernet/sync_batch_norm.h"

namespace tinynas {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Per-channel sums over every dimension but 1, and the shape that broadcasts [C] against x.
std::vector<int64_t> reduce_dims(const torch::Tensor& x) {
  std::vector<int64_t> d{0};
  for (int64_t i = 2; i < x.dim(); ++i) d.push_back(i);
  return d;
}
std::vector<int64_t> channel_shape(const torch::Tensor& x) {
  std::vector<int64_t> s(static_cast<std::size_t>(x.dim()), 1);
  s[1] = x.size(1);
  return s;
}

struct SyncBatchNormFn : torch::autograd::Function<SyncBatchNormFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               torch::Tensor running_mean, torch::Tensor running_var,
                               double momentum, double eps, const AllReduceSum* all_reduce) {
    const auto dims = reduce_dims(x);
    const auto shape = channel_shape(x);
    const int64_t c = x.size(1);
    // One all-reduce of the sums of x and x^2 and the count, accumulated in float64: the
    // variance E[x^2] - E[x]^2 then loses nothing to cancellation that float32's two passes
    // would keep (relative error ~1e-16 * mean^2 / var), at one collective instead of two.
    const torch::Tensor xd = x.to(torch::kDouble);
    torch::Tensor sums = torch::cat({xd.sum(dims), xd.square().sum(dims),
                                     torch::full({1}, static_cast<double>(x.numel() / c),
                                                 xd.options())});
    (*all_reduce)(sums);
    const double n = sums[2 * c].item<double>();
    const torch::Tensor mean_d = sums.narrow(0, 0, c) / n;
    const torch::Tensor var_d = (sums.narrow(0, c, c) / n - mean_d.square()).clamp_min(0);
    const torch::Tensor mean = mean_d.to(x.scalar_type());
    const torch::Tensor var = var_d.to(x.scalar_type());
    const torch::Tensor xmu = x - mean.view(shape);
    const torch::Tensor invstd = torch::rsqrt(var + eps);
    {
      torch::NoGradGuard no_grad;
      running_mean.mul_(1 - momentum).add_(mean, momentum);
      running_var.mul_(1 - momentum).add_(var * (n / std::max(1.0, n - 1)), momentum);
    }
    ctx->save_for_backward({xmu, invstd, weight});
    ctx->saved_data["n"] = n;
    ctx->saved_data["all_reduce"] = reinterpret_cast<int64_t>(all_reduce);
    return xmu * (invstd * weight).view(shape) + bias.view(shape);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &xmu = saved[0], &invstd = saved[1], &weight = saved[2];
    const double n = ctx->saved_data["n"].toDouble();
    const auto* all_reduce = reinterpret_cast<const AllReduceSum*>(ctx->saved_data["all_reduce"].toInt());
    const torch::Tensor& dy = grad[0];
    const auto dims = reduce_dims(xmu);
    const auto shape = channel_shape(xmu);
    const int64_t c = xmu.size(1);
    const torch::Tensor sum_dy = dy.sum(dims);
    const torch::Tensor sum_dy_xmu = (dy * xmu).sum(dims);
    // The weight's and bias's gradients are this rank's share; the trainer all-reduces them with
    // every other parameter's. The input's gradient needs the global sums now.
    const torch::Tensor grad_weight = sum_dy_xmu * invstd;
    const torch::Tensor grad_bias = sum_dy;
    torch::Tensor sums = torch::cat({sum_dy, sum_dy_xmu});
    (*all_reduce)(sums);
    const torch::Tensor mean_dy = sums.narrow(0, 0, c) / n;
    const torch::Tensor mean_dy_xmu = sums.narrow(0, c, c) / n;
    const torch::Tensor grad_x =
        (dy - mean_dy.view(shape) - xmu * (invstd.square() * mean_dy_xmu).view(shape)) *
        (invstd * weight).view(shape);
    return {grad_x, grad_weight, grad_bias, torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor sync_batch_norm(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias, torch::Tensor running_mean,
                              torch::Tensor running_var, double momentum, double eps,
                              const AllReduceSum& all_reduce) {
  // The function object outlives the graph: it is the batch norm module's member.
  return SyncBatchNormFn::apply(x, weight, bias, running_mean, running_var, momentum, eps,
                                &all_reduce);
}

}  // namespace tinynas
