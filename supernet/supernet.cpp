// Elastic layers, the supernet and extracted subnets: one translation unit, since every file that
// includes LibTorch costs ~30 s to compile.
#include "supernet/supernet.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <stdexcept>

namespace tinynas {

namespace F = torch::nn::functional;

// ---------------------------------------------------------------------------------------------
// Elastic layers

namespace {

// Zero padding (top, left, bottom, right) ahead of an unpadded convolution: the asymmetric case of
// ops/layer.h's padding rule, which a convolution's own padding cannot express.
torch::Tensor pad_input(const torch::Tensor& x, int64_t top, int64_t left, int64_t bottom,
                        int64_t right) {
  return torch::constant_pad_nd(x, {left, right, top, bottom}, 0);
}
torch::Tensor pad_input(const torch::Tensor& x, const Layer& l) {
  return pad_input(x, l.pad_top, l.pad_left, l.pad_bottom, l.pad_right);
}

}  // namespace

ElasticConv2dImpl::ElasticConv2dImpl(const ElasticConv2dOptions& o) : options(o) {
  weight = register_parameter(
      "weight", torch::empty({o.max_out(), o.max_in(), o.kernel(), o.kernel_w()}));
  active_in = o.max_in();
  active_out = o.max_out();
  set_padding(o.kernel() / 2, o.kernel_w() / 2, o.kernel() / 2, o.kernel_w() / 2);
  reset_parameters();
}

void ElasticConv2dImpl::set_padding(int64_t top, int64_t left, int64_t bottom, int64_t right) {
  padding = {top, left, bottom, right};
}

void ElasticConv2dImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(weight, 0.0, torch::kFanOut, torch::kReLU);
}

void ElasticConv2dImpl::set_active(int64_t in, int64_t out) {
  TORCH_CHECK(in >= 1 && in <= options.max_in() && out >= 1 && out <= options.max_out(),
              "ElasticConv2d: active channels ", in, "->", out, " outside ", options.max_in(),
              "->", options.max_out());
  active_in = in;
  active_out = out;
}

torch::Tensor ElasticConv2dImpl::active_weight() const {
  return weight.narrow(0, 0, active_out).narrow(1, 0, active_in);
}

torch::Tensor ElasticConv2dImpl::forward(const torch::Tensor& x) { return forward(x, {}, {}); }

torch::Tensor ElasticConv2dImpl::forward(const torch::Tensor& x, const torch::Tensor& scale,
                                         const torch::Tensor& shift) {
  TORCH_CHECK(x.size(1) == active_in, "ElasticConv2d: input has ", x.size(1), " channels, active ",
              active_in);
  torch::Tensor w = active_weight();
  if (scale.defined()) w = w * scale.view({-1, 1, 1, 1});
  w = w.contiguous(channels_last ? torch::MemoryFormat::ChannelsLast : x.suggest_memory_format());
  const auto& p = padding;
  const bool symmetric = p[0] == p[2] && p[1] == p[3];
  const std::array<int64_t, 2> conv_pad = {symmetric ? p[0] : 0, symmetric ? p[1] : 0};
  torch::Tensor y = torch::conv2d(symmetric ? x : pad_input(x, p[0], p[1], p[2], p[3]), w, shift,
                                  options.stride(), torch::IntArrayRef(conv_pad));
  // A 1-channel input (the stem's) and its [out, 1, k, k] weight have no channel stride to tell
  // NHWC from NCHW, and oneDNN then answers NCHW; every layer after would follow, through
  // blocked-format reorders and gemm kernels ~2x slower than the NHWC (brgemm) ones.
  if (channels_last) y = y.contiguous(torch::MemoryFormat::ChannelsLast);
  return y;
}

ElasticDepthwiseConvImpl::ElasticDepthwiseConvImpl(const ElasticDepthwiseConvOptions& o)
    : options(o), kernel_sizes_(o.kernel_sizes()) {
  TORCH_CHECK(!kernel_sizes_.empty(), "ElasticDepthwiseConv: no kernel sizes");
  std::sort(kernel_sizes_.begin(), kernel_sizes_.end());
  for (int64_t k : kernel_sizes_) TORCH_CHECK(k % 2 == 1, "ElasticDepthwiseConv: even kernel ", k);
  const int64_t kmax = kernel_sizes_.back();
  weight = register_parameter("weight", torch::empty({o.max_channels(), 1, kmax, kmax}));
  for (std::size_t i = 0; i + 1 < kernel_sizes_.size(); ++i) {
    const int64_t to = kernel_sizes_[i];
    const std::string name =
        "transform_" + std::to_string(kernel_sizes_[i + 1]) + "to" + std::to_string(to);
    transforms_.push_back(register_parameter(name, torch::eye(to * to)));
  }
  active_channels = o.max_channels();
  active_kernel = kmax;
  reset_parameters();
}

void ElasticDepthwiseConvImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(weight, 0.0, torch::kFanOut, torch::kReLU);
  for (auto& t : transforms_) t.copy_(torch::eye(t.size(0)));
}

void ElasticDepthwiseConvImpl::set_active(int64_t channels, int64_t kernel) {
  TORCH_CHECK(channels >= 1 && channels <= options.max_channels(),
              "ElasticDepthwiseConv: active channels ", channels, " outside 1..",
              options.max_channels());
  TORCH_CHECK(std::find(kernel_sizes_.begin(), kernel_sizes_.end(), kernel) != kernel_sizes_.end(),
              "ElasticDepthwiseConv: kernel ", kernel, " not a choice");
  active_channels = channels;
  active_kernel = kernel;
}

torch::Tensor ElasticDepthwiseConvImpl::transform(int64_t from) const {
  for (std::size_t i = 0; i + 1 < kernel_sizes_.size(); ++i) {
    if (kernel_sizes_[i + 1] == from) return transforms_[i];
  }
  throw std::invalid_argument("ElasticDepthwiseConv: no transform from kernel " +
                              std::to_string(from));
}

torch::Tensor ElasticDepthwiseConvImpl::active_weight() const {
  torch::Tensor w = weight.narrow(0, 0, active_channels);
  const int64_t c = active_channels;
  // Step down from the largest kernel: centre crop, then the learned (k^2 x k^2) transform.
  for (std::size_t i = kernel_sizes_.size() - 1; i > 0 && kernel_sizes_[i] > active_kernel; --i) {
    const int64_t src = kernel_sizes_[i], dst = kernel_sizes_[i - 1];
    const int64_t off = (src - dst) / 2;
    torch::Tensor centre = w.narrow(2, off, dst).narrow(3, off, dst).reshape({c, dst * dst});
    w = torch::linear(centre, transforms_[i - 1]).view({c, 1, dst, dst});
  }
  return w;
}

torch::Tensor ElasticDepthwiseConvImpl::forward(const torch::Tensor& x) { return forward(x, {}, {}); }

torch::Tensor ElasticDepthwiseConvImpl::forward(const torch::Tensor& x, const torch::Tensor& scale,
                                                const torch::Tensor& shift) {
  TORCH_CHECK(x.size(1) == active_channels, "ElasticDepthwiseConv: input has ", x.size(1),
              " channels, active ", active_channels);
  torch::Tensor w = active_weight();
  if (scale.defined()) w = w * scale.view({-1, 1, 1, 1});
  w = w.contiguous(channels_last ? torch::MemoryFormat::ChannelsLast : x.suggest_memory_format());
  return torch::conv2d(x, w, shift, options.stride(), active_kernel / 2, 1, active_channels);
}

ElasticBatchNormImpl::ElasticBatchNormImpl(const ElasticBatchNormOptions& o) : options(o) {
  weight = register_parameter("weight", torch::ones({o.max_channels()}));
  bias = register_parameter("bias", torch::zeros({o.max_channels()}));
  running_mean = register_buffer("running_mean", torch::zeros({o.max_channels()}));
  running_var = register_buffer("running_var", torch::ones({o.max_channels()}));
  active_channels = o.max_channels();
}

void ElasticBatchNormImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  weight.fill_(1);
  bias.zero_();
  running_mean.zero_();
  running_var.fill_(1);
}

torch::Tensor ElasticBatchNormImpl::forward(const torch::Tensor& x) {
  const int64_t c = active_channels;
  TORCH_CHECK(x.size(1) == c, "ElasticBatchNorm: input has ", x.size(1), " channels, active ", c);
  // Narrowed views of the running statistics: batch_norm updates the active slice in place.
  torch::Tensor rm = running_mean.narrow(0, 0, c), rv = running_var.narrow(0, 0, c);
  torch::Tensor w = weight.narrow(0, 0, c), b = bias.narrow(0, 0, c);
  if (calibrating_) {
    ++calibration_batches_;
    return torch::batch_norm(x, w, b, rm, rv, /*training=*/true,
                             1.0 / static_cast<double>(calibration_batches_), options.eps(),
                             /*cudnn_enabled=*/true);
  }
  if (all_reduce && is_training()) {
    return sync_batch_norm(x, w, b, rm, rv, options.momentum(), options.eps(), all_reduce);
  }
  return torch::batch_norm(x, w, b, rm, rv, is_training(), options.momentum(), options.eps(),
                           /*cudnn_enabled=*/true);
}

std::pair<torch::Tensor, torch::Tensor> ElasticBatchNormImpl::folded() const {
  const int64_t c = active_channels;
  const torch::Tensor scale =
      weight.narrow(0, 0, c) * torch::rsqrt(running_var.narrow(0, 0, c) + options.eps());
  return {scale, bias.narrow(0, 0, c) - running_mean.narrow(0, 0, c) * scale};
}

void ElasticBatchNormImpl::begin_calibration() {
  torch::NoGradGuard no_grad;
  running_mean.narrow(0, 0, active_channels).zero_();
  running_var.narrow(0, 0, active_channels).fill_(1);
  calibrating_ = true;
  calibration_batches_ = 0;
}

ElasticLinearImpl::ElasticLinearImpl(const ElasticLinearOptions& o) : options(o) {
  weight = register_parameter("weight", torch::empty({o.out(), o.max_in()}));
  bias = register_parameter("bias", torch::zeros({o.out()}));
  active_in = o.max_in();
  reset_parameters();
}

void ElasticLinearImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(weight, 0.0, 0.01);
  bias.zero_();
}

torch::Tensor ElasticLinearImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.size(1) == active_in, "ElasticLinear: input has ", x.size(1), " features, active ",
              active_in);
  return torch::linear(x, active_weight(), bias);
}

// ---------------------------------------------------------------------------------------------
// Supernet

SupernetBlockImpl::SupernetBlockImpl(int64_t max_in, int64_t max_hidden, int64_t max_out,
                                     std::vector<int64_t> kernel_sizes, int64_t stride,
                                     bool has_expand) {
  if (has_expand) {
    expand = register_module("expand", ElasticConv2d(ElasticConv2dOptions(max_in, max_hidden)));
    expand_bn = register_module("expand_bn", ElasticBatchNorm(ElasticBatchNormOptions(max_hidden)));
  }
  dw = register_module(
      "dw", ElasticDepthwiseConv(ElasticDepthwiseConvOptions(max_hidden, kernel_sizes, stride)));
  dw_bn = register_module("dw_bn", ElasticBatchNorm(ElasticBatchNormOptions(max_hidden)));
  project = register_module("project", ElasticConv2d(ElasticConv2dOptions(max_hidden, max_out)));
  project_bn = register_module("project_bn", ElasticBatchNorm(ElasticBatchNormOptions(max_out)));
}

DenseBlockImpl::DenseBlockImpl(int64_t max_in, int64_t max_out) {
  fc = register_module("fc", ElasticConv2d(ElasticConv2dOptions(max_in, max_out)));
  bn = register_module("bn", ElasticBatchNorm(ElasticBatchNormOptions(max_out)));
}

namespace {

template <typename F>
int max_over_widths(const SearchSpace& space, F f) {
  int m = 0;
  for (double w : space.width_multipliers) m = std::max(m, f(w));
  return m;
}

std::vector<int64_t> to_i64(const std::vector<int>& v) { return {v.begin(), v.end()}; }

}  // namespace

SupernetImpl::SupernetImpl(const SearchSpace& space) : space_(space) {
  const SearchSpace& sp = space_;
  if (sp.stem_channels > 0) {
    const int stem_max = max_over_widths(sp, [&](double w) { return sp.stem_width(w); });
    stem_ = register_module(
        "stem", ElasticConv2d(ElasticConv2dOptions(sp.input_channels, stem_max, sp.stem_kernel_h,
                                                   sp.stem_stride)
                                  .kernel_w(sp.stem_kernel_w)));
    stem_bn_ = register_module("stem_bn", ElasticBatchNorm(ElasticBatchNormOptions(stem_max)));
  }
  for (std::size_t s = 0; s < sp.stages.size(); ++s) {
    const StageSpec& st = sp.stages[s];
    if (st.block == BlockKind::Dense) {
      std::vector<DenseBlock> stage;
      for (int i = 0; i < st.max_depth(); ++i) {
        const int in_max = max_over_widths(sp, [&](double w) {
          return i == 0 ? sp.max_stage_input(s, w) : sp.stage_max_width(s, w);
        });
        const int out_max = max_over_widths(sp, [&](double w) { return sp.stage_max_width(s, w); });
        stage.push_back(register_module("s" + std::to_string(s) + "d" + std::to_string(i),
                                        DenseBlock(in_max, out_max)));
      }
      dense_.push_back(std::move(stage));
      blocks_.emplace_back();
      continue;
    }
    dense_.emplace_back();
    const int out_max = max_over_widths(sp, [&](double w) { return sp.stage_width(s, w); });
    const bool has_expand = std::any_of(st.expand_ratios.begin(), st.expand_ratios.end(),
                                        [](int e) { return e != 1; });
    std::vector<SupernetBlock> stage;
    for (int i = 0; i < st.max_depth(); ++i) {
      int hidden_max = 0, in_max = 0;
      for (double w : sp.width_multipliers) {
        const int in = i == 0 ? sp.max_stage_input(s, w) : sp.stage_width(s, w);
        in_max = std::max(in_max, in);
        for (int e : st.expand_ratios) hidden_max = std::max(hidden_max, sp.hidden_width(in, e));
      }
      auto block = SupernetBlock(in_max, hidden_max, out_max, to_i64(st.kernel_sizes),
                                 i == 0 ? st.stride : 1, has_expand);
      stage.push_back(register_module("s" + std::to_string(s) + "b" + std::to_string(i), block));
    }
    blocks_.push_back(std::move(stage));
  }
  // Past optional last stages the head (or the classifier) may get an earlier stage's output.
  const int last_max =
      max_over_widths(sp, [&](double w) { return sp.max_stage_input(sp.stages.size(), w); });
  int feat_max = last_max;
  if (sp.head_channels > 0) {
    const int head_max = max_over_widths(sp, [&](double w) { return sp.head_width(w); });
    head_ = register_module("head", ElasticConv2d(ElasticConv2dOptions(last_max, head_max)));
    head_bn_ = register_module("head_bn", ElasticBatchNorm(ElasticBatchNormOptions(head_max)));
    feat_max = head_max;
  }
  if (sp.output == OutputKind::Reconstruction && sp.stages.back().block == BlockKind::Dense) {
    recon_ = register_module(
        "recon", ElasticLinear(ElasticLinearOptions(feat_max, sp.input_elements())));
  } else if (sp.output == OutputKind::Reconstruction) {
    recon_conv_ = register_module(
        "recon", ElasticConv2d(ElasticConv2dOptions(feat_max, sp.input_channels, 3, 1)));
    recon_bias_ = register_parameter("recon_bias", torch::zeros({sp.input_channels}));
  } else {
    fc_ = register_module("fc", ElasticLinear(ElasticLinearOptions(feat_max, sp.num_classes)));
  }
  set_active(ArchSpec::largest(space_));
}

void SupernetImpl::set_active(const ArchSpec& arch) {
  arch.validate(space_);
  arch_ = arch;
  lower(space_, arch_, &graph_);
  // Global block index -> (stage, index in stage).
  std::vector<std::pair<int, int>> where;
  for (std::size_t s = 0; s < arch_.stages.size(); ++s) {
    for (std::size_t i = 0; i < arch_.stages[s].size(); ++i) where.emplace_back(s, i);
  }
  plan_.clear();
  for (const Layer& l : graph_.layers) {
    Op op;
    op.layer = &l;
    switch (l.role) {
      case LayerRole::Stem:
        op.conv = stem_.get();
        op.bn = stem_bn_.get();
        break;
      case LayerRole::Expand:
      case LayerRole::Depthwise:
      case LayerRole::Project: {
        const auto [s, i] = where.at(l.block);
        SupernetBlockImpl& b = *blocks_[s][i];
        if (l.role == LayerRole::Expand) {
          op.conv = b.expand.get();
          op.bn = b.expand_bn.get();
        } else if (l.role == LayerRole::Depthwise) {
          op.dw = b.dw.get();
          op.bn = b.dw_bn.get();
        } else {
          op.conv = b.project.get();
          op.bn = b.project_bn.get();
        }
        break;
      }
      case LayerRole::Head:
        op.conv = head_.get();
        op.bn = head_bn_.get();
        break;
      case LayerRole::Classifier:
        fc_->set_active(l.in.c);
        break;
      case LayerRole::Dense: {
        const auto [s, i] = where.at(l.block);
        op.conv = dense_[s][i]->fc.get();
        op.bn = dense_[s][i]->bn.get();
        break;
      }
      case LayerRole::Reconstruction:
        if (recon_conv_) {
          op.conv = recon_conv_.get();
        } else {
          recon_->set_active(l.in.elements());
        }
        break;
      case LayerRole::FrontEnd:
      case LayerRole::Residual:
      case LayerRole::Pool:
      case LayerRole::Error:
      case LayerRole::Upsample:
      case LayerRole::Softmax:  // never lowered from a space (imported models only)
        break;
    }
    if (op.conv) {
      // A dense layer reads its input flattened (run_graph): H x W x C values as channels.
      op.conv->set_active(l.role == LayerRole::Dense ? l.in.elements() : l.in.c, l.out.c);
      op.conv->set_padding(l.pad_top, l.pad_left, l.pad_bottom, l.pad_right);
    }
    if (op.dw) op.dw->set_active(l.out.c, l.kh);
    if (op.bn) op.bn->set_active(l.out.c);
    plan_.push_back(op);
  }
}

namespace {

// Runs `g` layer by layer from input `x`. `weighted(i, in)` computes layer i when it has weights
// (conv, pointwise, depthwise with their BN; fully connected): the supernet and an extracted
// subnet differ only there. Add, pool, the reconstruction error and ReLU6 are shared, and each
// tensor is released after its last consumer. A dense layer gets its input as [N, H*W*C, 1, 1],
// a reconstruction layer as [N, H*W*C], both in the runtime's H x W x C order.
torch::Tensor run_graph(const NetGraph& g, torch::Tensor x,
                        const std::function<torch::Tensor(std::size_t, const torch::Tensor&)>& weighted) {
  // The parameter-free operators the space's lowering uses, in torch; every other layer is a
  // module of the supernet (or of the extracted subnet).
  static const OpDescriptor* const add_op = &op("add");
  static const OpDescriptor* const avgpool_op = &op("avgpool");
  static const OpDescriptor* const fc_op = &op("fc");
  // Values of [N, C, H, W] in HWC order, as the int8 runtime stores them.
  const auto flat = [](const torch::Tensor& t) {
    return t.dim() == 2 ? t : t.permute({0, 2, 3, 1}).reshape({t.size(0), -1});
  };
  std::vector<torch::Tensor> values(g.tensors.size());
  values[g.input] = std::move(x);
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    const torch::Tensor& in = values[l.inputs[0]];
    torch::Tensor y;
    if (l.role == LayerRole::FrontEnd) {
      y = in;  // x is already its output: the dataset runs the same C front end
    } else if (l.op == add_op) {
      y = in + values[l.inputs[1]];
    } else if (l.op == avgpool_op) {
      // sum() then divide, not mean() or adaptive_avg_pool2d(): sum's backward hands an expanded
      // (stride 0) gradient to the layers below, which their NHWC backward kernels take as it
      // is; the others materialise an NCHW gradient and the convolutions' backward runs 2-3x
      // slower.
      y = in.sum({2, 3}).div(static_cast<double>(in.size(2) * in.size(3)));
    } else if (l.role == LayerRole::Error) {
      // The mean squared error of the reconstruction against the input (ops/kinds/mse.cpp).
      y = (flat(in) - flat(values[l.inputs[1]])).square().mean(1);
    } else if (l.role == LayerRole::Upsample) {
      y = torch::upsample_nearest2d(in, {in.size(2) * l.stride, in.size(3) * l.stride});
    } else if (l.role == LayerRole::Dense) {
      y = weighted(i, flat(in).view({in.size(0), -1, 1, 1}));
    } else if (l.role == LayerRole::Reconstruction && l.op == fc_op) {
      y = weighted(i, flat(in));
    } else {
      y = weighted(i, in);
    }
    if (l.relu6) y = torch::hardtanh_(y, 0.0, 6.0);
    for (int t : l.inputs) {
      if (t >= 0 && g.tensors[t].last_consumer == static_cast<int>(i)) values[t].reset();
    }
    values[l.output] = std::move(y);
  }
  return values[g.output];
}

}  // namespace

torch::Tensor resize_to(const torch::Tensor& x, int64_t height, int64_t width) {
  if (x.size(2) == height && x.size(3) == width) return x;
  return torch::upsample_bilinear2d(x, {height, width}, /*align_corners=*/false);
}

torch::Tensor SupernetImpl::forward(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == space_.input_channels, "Supernet: expected [N, ",
              space_.input_channels, ", H, W] input, got ", x.sizes());
  if (channels_last_) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  const Shape in = space_.input_shape(arch_.resolution);
  x = resize_to(x, in.h, in.w);
  // Evaluation without gradients (the search's measurements, the export's float pass) folds each
  // batch norm into its convolution, as the deployed network does: the separate batch-norm pass
  // over every activation was a third of a measurement's time. Training, BN recalibration and
  // anything differentiated run the layers as they are.
  const bool fold = !is_training() && !torch::GradMode::is_enabled();
  return run_graph(graph_, std::move(x), [this, fold](std::size_t i, const torch::Tensor& in) {
    const Op& op = plan_[i];
    if (fold && op.bn && !op.bn->calibrating()) {
      const auto [scale, shift] = op.bn->folded();
      return op.dw ? op.dw->forward(in, scale, shift) : op.conv->forward(in, scale, shift);
    }
    if (op.dw) return op.bn->forward(op.dw->forward(in));
    if (op.conv && !op.bn) return op.conv->forward(in, {}, recon_bias_);  // the linear output conv
    if (op.conv) return op.bn->forward(op.conv->forward(in));
    return op.layer->role == LayerRole::Reconstruction ? recon_->forward(in) : fc_->forward(in);
  });
}

void SupernetImpl::set_channels_last(bool on) {
  channels_last_ = on;
  for (auto& m : modules(/*include_self=*/false)) {
    torch::NoGradGuard no_grad;
    const auto fmt = on ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    if (auto* c = dynamic_cast<ElasticConv2dImpl*>(m.get())) {
      c->channels_last = on;
      c->weight.set_data(c->weight.contiguous(fmt));
    }
    if (auto* d = dynamic_cast<ElasticDepthwiseConvImpl*>(m.get())) {
      d->channels_last = on;
      d->weight.set_data(d->weight.contiguous(fmt));
    }
  }
}

void SupernetImpl::for_each_active_bn(const std::function<void(ElasticBatchNormImpl&)>& fn) {
  for (const Op& op : plan_) {
    if (op.bn) fn(*op.bn);
  }
}

void SupernetImpl::recalibrate_bn(const std::vector<torch::Tensor>& batches) {
  torch::NoGradGuard no_grad;
  for_each_active_bn([](ElasticBatchNormImpl& bn) { bn.begin_calibration(); });
  train(false);  // the calibration mode normalises with batch statistics regardless
  try {
    for (const auto& b : batches) forward(b);
  } catch (...) {
    for_each_active_bn([](ElasticBatchNormImpl& bn) { bn.end_calibration(); });
    throw;
  }
  for_each_active_bn([](ElasticBatchNormImpl& bn) { bn.end_calibration(); });
}

namespace {

std::vector<float> to_floats(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

torch::Tensor from_floats(const std::vector<float>& v, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat).clone();
}

}  // namespace

std::vector<LayerWeights> SupernetImpl::extract_weights(const ArchSpec& arch) {
  set_active(arch);
  std::vector<LayerWeights> out;
  out.reserve(plan_.size());
  for (const Op& op : plan_) {
    const Layer& l = *op.layer;
    LayerWeights lw;
    lw.op = l.op;
    lw.role = l.role;
    torch::Tensor w;
    if (op.conv) w = op.conv->active_weight();
    if (op.dw) w = op.dw->active_weight();
    if (l.role == LayerRole::Reconstruction && recon_conv_) {
      lw.bias = to_floats(recon_bias_);
    } else if (l.role == LayerRole::Classifier || l.role == LayerRole::Reconstruction) {
      const ElasticLinear& linear = l.role == LayerRole::Classifier ? fc_ : recon_;
      w = linear->active_weight();
      lw.bias = to_floats(linear->bias);
    }
    if (w.defined()) {
      lw.weight_shape.assign(w.sizes().begin(), w.sizes().end());
      lw.weight = to_floats(w);
    }
    if (op.bn) {
      const int64_t c = op.bn->active_channels;
      lw.bn_gamma = to_floats(op.bn->weight.narrow(0, 0, c));
      lw.bn_beta = to_floats(op.bn->bias.narrow(0, 0, c));
      lw.bn_mean = to_floats(op.bn->running_mean.narrow(0, 0, c));
      lw.bn_var = to_floats(op.bn->running_var.narrow(0, 0, c));
      lw.bn_eps = op.bn->options.eps();
    }
    out.push_back(std::move(lw));
  }
  return out;
}

std::shared_ptr<SubnetImpl> SupernetImpl::extract(const ArchSpec& arch) {
  std::vector<LayerWeights> w = extract_weights(arch);
  return std::make_shared<SubnetImpl>(graph_, w);
}

std::vector<ParamPermutation> SupernetImpl::sort_channels() {
  torch::NoGradGuard no_grad;
  std::vector<ParamPermutation> done;
  auto permute = [&](torch::Tensor& t, int64_t dim, const torch::Tensor& idx, bool is_param) {
    t.copy_(t.index_select(dim, idx));
    if (is_param) done.push_back({t, dim, idx});
  };
  for (auto& stage : blocks_) {
    for (auto& b : stage) {
      if (!b->expand) continue;  // hidden channels are the block's input channels
      const torch::Tensor importance = b->project->weight.abs().sum({0, 2, 3});
      const torch::Tensor idx =
          std::get<1>(importance.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
      permute(b->expand->weight, 0, idx, true);
      for (ElasticBatchNormImpl* bn : {b->expand_bn.get(), b->dw_bn.get()}) {
        permute(bn->weight, 0, idx, true);
        permute(bn->bias, 0, idx, true);
        permute(bn->running_mean, 0, idx, false);
        permute(bn->running_var, 0, idx, false);
      }
      permute(b->dw->weight, 0, idx, true);
      permute(b->project->weight, 1, idx, true);
    }
  }
  return done;
}

std::vector<torch::Tensor> SupernetImpl::decay_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : named_parameters()) {
    const std::string& n = p.key();
    const bool is_bn = n.find("bn.") != std::string::npos;
    const bool is_weight = n.size() >= 6 && n.compare(n.size() - 6, 6, "weight") == 0;
    if (is_weight && !is_bn) out.push_back(p.value());
  }
  return out;
}

std::vector<torch::Tensor> SupernetImpl::no_decay_parameters() const {
  std::vector<torch::Tensor> decay = decay_parameters();
  std::vector<torch::Tensor> out;
  for (const auto& p : parameters()) {
    const bool in_decay = std::any_of(decay.begin(), decay.end(), [&](const torch::Tensor& d) {
      return d.unsafeGetTensorImpl() == p.unsafeGetTensorImpl();
    });
    if (!in_decay) out.push_back(p);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Extracted subnet

SubnetImpl::SubnetImpl(const NetGraph& graph, const std::vector<LayerWeights>& weights)
    : graph_(graph) {
  TORCH_CHECK(weights.size() == graph_.layers.size(), "Subnet: ", weights.size(),
              " layer weights for ", graph_.layers.size(), " layers");
  convs_.resize(graph_.layers.size(), nullptr);
  bns_.resize(graph_.layers.size(), nullptr);
  linears_.resize(graph_.layers.size(), nullptr);
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < graph_.layers.size(); ++i) {
    const Layer& l = graph_.layers[i];
    const LayerWeights& w = weights[i];
    const std::string name = "l" + std::to_string(i);
    // The weights' shape says what the layer is: OIHW [out, in / groups, k, k] a convolution,
    // [out, in] a linear layer.
    if (w.weight_shape.size() == 4) {
      // A dense layer is a 1x1 convolution over its flattened input.
      const int64_t in = l.role == LayerRole::Dense ? l.in.elements() : l.in.c;
      const int64_t groups = in / w.weight_shape[1];
      // Symmetric padding is the convolution's own; asymmetric padding (an even kernel's TF SAME,
      // ops/layer.h) is applied in forward() before an unpadded convolution.
      const bool symmetric = l.symmetric_padding();
      auto conv = torch::nn::Conv2d(
          torch::nn::Conv2dOptions(in, l.out.c, {l.kh, l.kw})
              .stride(l.stride)
              .padding(symmetric ? torch::ExpandingArray<2>({l.pad_top, l.pad_left})
                                 : torch::ExpandingArray<2>(0))
              .groups(groups)
              .bias(!w.has_bn()));
      conv->weight.copy_(from_floats(w.weight, w.weight_shape));
      convs_[i] = register_module(name + "_conv", conv);
      if (!w.has_bn()) {
        // A linear convolution with a bias (an autoencoder's output).
        conv->bias.copy_(from_floats(w.bias, {l.out.c}));
        continue;
      }
      auto bn = torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(l.out.c).eps(w.bn_eps));
      bn->weight.copy_(from_floats(w.bn_gamma, {l.out.c}));
      bn->bias.copy_(from_floats(w.bn_beta, {l.out.c}));
      bn->running_mean.copy_(from_floats(w.bn_mean, {l.out.c}));
      bn->running_var.copy_(from_floats(w.bn_var, {l.out.c}));
      bns_[i] = register_module(name + "_bn", bn);
    } else if (w.weight_shape.size() == 2) {
      auto linear = torch::nn::Linear(w.weight_shape[1], l.out.c);
      linear->weight.copy_(from_floats(w.weight, w.weight_shape));
      linear->bias.copy_(from_floats(w.bias, {l.out.c}));
      linears_[i] = register_module(l.role == LayerRole::Classifier ? "fc" : name + "_fc", linear);
    }
  }
  eval();
}

torch::Tensor SubnetImpl::forward(torch::Tensor x) {
  x = resize_to(x, input_shape().h, input_shape().w);
  return run_graph(graph_, std::move(x), [this](std::size_t i, const torch::Tensor& in) {
    if (convs_[i]) {
      const Layer& l = graph_.layers[i];
      const torch::Tensor y = convs_[i]->forward(l.symmetric_padding() ? in : pad_input(in, l));
      return bns_[i] ? bns_[i]->forward(y) : y;
    }
    return linears_[i]->forward(in);
  });
}

}  // namespace tinynas
