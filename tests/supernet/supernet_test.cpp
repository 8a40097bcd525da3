// The elastic layers and the supernet: every ArchSpec runs with the NetGraph's shapes, extracted
// subnets compute what the supernet computes, the kernel transform, BN recalibration, channel
// sorting and the exporter's weight list.
#include <gtest/gtest.h>

#include "nas/export/float_model.h"
#include "search_spaces/arch_sampler.h"
#include "supernet/supernet.h"

namespace tinynas {
namespace {

const std::string kRoot = TINYNAS_SOURCE_DIR;

SearchSpace tiny_space() { return SearchSpace::load(kRoot + "/configs/spaces/tiny.yaml"); }
SearchSpace default_space() { return SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2.yaml"); }
// Per-stage choice sets: stage 1 takes kernels {3,5} and 1-3 blocks, stages 3-4 up to 5 blocks.
SearchSpace rf_space() { return SearchSpace::load(kRoot + "/configs/spaces/fmnist-mbv2-rf.yaml"); }

// Random, non-trivial batch-norm statistics and affine parameters, so a BN is not the identity.
void randomize_bn(Supernet& net) {
  torch::NoGradGuard g;
  for (auto& m : net->modules(/*include_self=*/false)) {
    if (auto* bn = dynamic_cast<ElasticBatchNormImpl*>(m.get())) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.2, 0.2);
      bn->running_mean.uniform_(-0.2, 0.2);
      bn->running_var.uniform_(0.5, 2.0);
    }
  }
}

std::vector<ArchSpec> some_archs(const SearchSpace& space, int n, uint64_t seed) {
  std::vector<ArchSpec> out{ArchSpec::largest(space), ArchSpec::smallest(space)};
  ArchSampler s(space, seed);
  for (int i = 0; i < n; ++i) out.push_back(s.sample());
  return out;
}

TEST(ElasticLayers, PointwiseTakesFirstChannels) {
  torch::manual_seed(0);
  ElasticConv2d conv(ElasticConv2dOptions(8, 12));
  conv->set_active(5, 7);
  const torch::Tensor x = torch::randn({2, 5, 4, 4});
  const torch::Tensor want =
      torch::conv2d(x, conv->weight.narrow(0, 0, 7).narrow(1, 0, 5).contiguous());
  EXPECT_TRUE(torch::allclose(conv->forward(x), want));
  EXPECT_EQ(conv->forward(x).size(1), 7);
  EXPECT_THROW(conv->set_active(9, 7), c10::Error);
}

TEST(ElasticLayers, LinearTakesFirstInputs) {
  ElasticLinear fc(ElasticLinearOptions(16, 3));
  fc->set_active(10);
  const torch::Tensor x = torch::randn({4, 10});
  EXPECT_TRUE(torch::allclose(fc->forward(x),
                              torch::linear(x, fc->weight.narrow(1, 0, 10), fc->bias)));
}

TEST(ElasticLayers, KernelTransformStartsAsTheCentreAndIsLearned) {
  torch::manual_seed(0);
  ElasticDepthwiseConv dw(ElasticDepthwiseConvOptions(6, {3, 5, 7}));
  dw->set_active(4, 7);
  EXPECT_TRUE(torch::equal(dw->active_weight(), dw->weight.narrow(0, 0, 4)));
  // Identity transforms at initialisation: kernel k is the centre k x k of the 7 x 7 kernel.
  dw->set_active(4, 5);
  EXPECT_TRUE(torch::allclose(dw->active_weight(),
                              dw->weight.narrow(0, 0, 4).narrow(2, 1, 5).narrow(3, 1, 5)));
  dw->set_active(4, 3);
  EXPECT_TRUE(torch::allclose(dw->active_weight(),
                              dw->weight.narrow(0, 0, 4).narrow(2, 2, 3).narrow(3, 2, 3)));
  // A non-identity transform: 3x3 = T(5->3) applied to the centre of T(7->5) applied to the
  // centre of the 7x7 kernel, per channel.
  {
    torch::NoGradGuard g;
    dw->transform(7).add_(torch::randn({25, 25}) * 0.1);
    dw->transform(5).add_(torch::randn({9, 9}) * 0.1);
  }
  const torch::Tensor w7 = dw->weight.narrow(0, 0, 4);
  const torch::Tensor w5 = torch::matmul(w7.narrow(2, 1, 5).narrow(3, 1, 5).reshape({4, 25}),
                                         dw->transform(7).t());
  const torch::Tensor w3 = torch::matmul(w5.view({4, 5, 5}).narrow(1, 1, 3).narrow(2, 1, 3).reshape({4, 9}),
                                         dw->transform(5).t());
  EXPECT_TRUE(torch::allclose(dw->active_weight(), w3.view({4, 1, 3, 3}), 1e-5, 1e-6));
  // Training the 3x3 kernel reaches both transforms and the largest kernel's centre only.
  const torch::Tensor x = torch::randn({2, 4, 6, 6});
  dw->forward(x).pow(2).sum().backward();
  ASSERT_TRUE(dw->transform(7).grad().defined());
  EXPECT_GT(dw->transform(7).grad().abs().sum().item<double>(), 0);
  EXPECT_GT(dw->transform(5).grad().abs().sum().item<double>(), 0);
  EXPECT_EQ(dw->weight.grad().narrow(2, 0, 1).abs().sum().item<double>(), 0);  // outer ring
  EXPECT_EQ(dw->weight.grad().narrow(0, 4, 2).abs().sum().item<double>(), 0);  // inactive
  // Output size keeps "same" padding for every kernel.
  for (int64_t k : {3, 5, 7}) {
    dw->set_active(4, k);
    EXPECT_EQ(dw->forward(x).sizes(), x.sizes());
  }
}

TEST(ElasticLayers, BatchNormUpdatesOnlyTheActiveSlice) {
  ElasticBatchNorm bn(ElasticBatchNormOptions(8));
  bn->set_active(5);
  bn->train();
  const torch::Tensor x = torch::randn({16, 5, 3, 3}) * 2 + 3;
  bn->forward(x);
  EXPECT_GT(bn->running_mean.narrow(0, 0, 5).abs().min().item<double>(), 0.1);
  EXPECT_EQ(bn->running_mean.narrow(0, 5, 3).abs().sum().item<double>(), 0);
  EXPECT_TRUE(torch::equal(bn->running_var.narrow(0, 5, 3), torch::ones({3})));
}

TEST(Supernet, EveryArchRunsWithTheNetGraphShapes) {
  for (const SearchSpace& space : {tiny_space(), default_space(), rf_space()}) {
    torch::manual_seed(0);
    Supernet net(space);
    net->eval();
    torch::NoGradGuard g;
    for (const ArchSpec& arch : some_archs(space, 12, 7)) {
      net->set_active(arch);
      const NetGraph& graph = net->active_graph();
      EXPECT_EQ(graph.layers.size(), lower(space, arch).layers.size());
      const torch::Tensor out = net->forward(torch::randn({2, 1, 28, 28}));
      EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, space.num_classes})) << arch.to_string();
      // The weights of every layer have the NetGraph's parameter counts.
      const auto w = net->extract_weights(arch);
      ASSERT_EQ(w.size(), graph.layers.size());
      for (std::size_t i = 0; i < w.size(); ++i) {
        const Layer& l = graph.layers[i];
        EXPECT_EQ(static_cast<int64_t>(w[i].weight.size()), l.weights) << l.name();
        const int64_t biases = l.op == &op("fc")
                                   ? static_cast<int64_t>(w[i].bias.size())
                                   : static_cast<int64_t>(w[i].bn_beta.size());
        EXPECT_EQ(biases, l.biases) << l.name();
      }
    }
  }
}

TEST(Supernet, RejectsAnArchOutsideTheSpace) {
  const SearchSpace space = tiny_space();
  Supernet net(space);
  ArchSpec a = ArchSpec::largest(space);
  a.stages[1][0].kernel = 7;
  EXPECT_THROW(net->set_active(a), ConfigError);
}

TEST(Supernet, ExtractedSubnetComputesTheSameOutputs) {
  for (const SearchSpace& space : {tiny_space(), default_space(), rf_space()}) {
    torch::manual_seed(1);
    Supernet net(space);
    randomize_bn(net);
    {
      // Non-identity kernel transforms, so smaller kernels are not a plain crop.
      torch::NoGradGuard g;
      for (const auto& p : net->named_parameters()) {
        if (p.key().find("transform_") != std::string::npos) p.value().add_(torch::randn_like(p.value()) * 0.05);
      }
    }
    net->eval();
    torch::NoGradGuard g;
    const torch::Tensor x = torch::randn({3, 1, 28, 28});
    for (const ArchSpec& arch : some_archs(space, 6, 3)) {
      net->set_active(arch);
      const torch::Tensor want = net->forward(x);
      Subnet sub = Subnet(net->extract(arch));
      const torch::Tensor got = sub->forward(x);
      EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-5))
          << arch.to_string() << " max diff " << (got - want).abs().max().item<double>();
      // Exactly the subnet's weights: parameter count = the NetGraph's weights + biases, with
      // batch norm's two affine parameters per channel.
      int64_t params = 0;
      for (const auto& p : sub->parameters()) params += p.numel();
      int64_t want_params = 0;
      for (const Layer& l : sub->graph().layers) {
        want_params += l.weights + (l.op == &op("fc") ? l.biases : 2 * l.biases);
      }
      EXPECT_EQ(params, want_params);
      // The standalone module holds no elastic layer.
      for (const auto& m : sub->modules(false)) {
        EXPECT_EQ(dynamic_cast<ElasticConv2dImpl*>(m.get()), nullptr);
        EXPECT_EQ(dynamic_cast<ElasticBatchNormImpl*>(m.get()), nullptr);
      }
    }
  }
}

TEST(Supernet, ChannelsLastGivesTheSameOutputs) {
  const SearchSpace space = tiny_space();
  torch::manual_seed(2);
  Supernet net(space);
  randomize_bn(net);
  net->eval();
  torch::NoGradGuard g;
  const torch::Tensor x = torch::randn({2, 1, 28, 28});
  for (const ArchSpec& arch : some_archs(space, 3, 5)) {
    net->set_active(arch);
    net->set_channels_last(false);
    const torch::Tensor a = net->forward(x);
    net->set_channels_last(true);
    const torch::Tensor b = net->forward(x);
    EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5));
  }
}

// Evaluation without gradients folds each batch norm into its convolution (the search's
// measurements); with gradients the layers run as they are. Both give the same outputs, in
// either memory format.
TEST(Supernet, EvaluationWithoutGradientsFoldsBatchNormToTheSameOutputs) {
  const SearchSpace space = default_space();
  torch::manual_seed(4);
  Supernet net(space);
  randomize_bn(net);
  net->eval();
  const torch::Tensor x = torch::randn({4, 1, 28, 28});
  for (bool channels_last : {false, true}) {
    net->set_channels_last(channels_last);
    for (const ArchSpec& arch : some_archs(space, 4, 7)) {
      net->set_active(arch);
      const torch::Tensor as_is = net->forward(x).detach();
      torch::NoGradGuard g;
      const torch::Tensor folded = net->forward(x);
      EXPECT_TRUE(torch::allclose(folded, as_is, 1e-4, 1e-5))
          << arch.to_string() << " max diff " << (folded - as_is).abs().max().item<double>();
    }
  }
}

TEST(Supernet, FoldedWeightsEqualConvThenBatchNorm) {
  const SearchSpace space = tiny_space();
  torch::manual_seed(3);
  Supernet net(space);
  randomize_bn(net);
  const auto w = net->extract_weights(ArchSpec::smallest(space));
  const LayerWeights& stem = w.at(0);
  ASSERT_EQ(stem.role, LayerRole::Stem);
  const LayerWeights f = stem.folded();
  EXPECT_FALSE(f.has_bn());
  const torch::Tensor x = torch::randn({2, 1, 9, 9});
  auto t = [](const std::vector<float>& v, std::vector<int64_t> shape) {
    return torch::tensor(v).view(shape);
  };
  const int64_t c = stem.weight_shape[0];
  const torch::Tensor ref = torch::batch_norm(
      torch::conv2d(x, t(stem.weight, stem.weight_shape), {}, 2, 1), t(stem.bn_gamma, {c}),
      t(stem.bn_beta, {c}), t(stem.bn_mean, {c}), t(stem.bn_var, {c}), false, 0.1, stem.bn_eps,
      false);
  const torch::Tensor got = torch::conv2d(x, t(f.weight, f.weight_shape), t(f.bias, {c}), 2, 1);
  EXPECT_TRUE(torch::allclose(ref, got, 1e-4, 1e-5));
}

TEST(Supernet, BatchNormRecalibrationSetsTheAverageBatchStatistics) {
  const SearchSpace space = tiny_space();
  torch::manual_seed(4);
  Supernet net(space);
  randomize_bn(net);
  const ArchSpec arch = ArchSpec::smallest(space);
  net->set_active(arch);
  std::vector<torch::Tensor> batches;
  for (int i = 0; i < 3; ++i) batches.push_back(torch::randn({16, 1, 28, 28}) * 0.8 + 0.3);
  ElasticBatchNormImpl* stem_bn = nullptr;
  ElasticConv2dImpl* stem = nullptr;
  for (const auto& m : net->named_modules()) {
    if (m.key() == "stem_bn") stem_bn = dynamic_cast<ElasticBatchNormImpl*>(m.value().get());
    if (m.key() == "stem") stem = dynamic_cast<ElasticConv2dImpl*>(m.value().get());
  }
  ASSERT_TRUE(stem_bn && stem);
  const int64_t c = stem_bn->active_channels;
  const torch::Tensor before = stem_bn->running_mean.clone();
  // The head's batch norm has channels the smallest subnet does not use.
  ElasticBatchNormImpl* head_bn = nullptr;
  for (const auto& m : net->named_modules()) {
    if (m.key() == "head_bn") head_bn = dynamic_cast<ElasticBatchNormImpl*>(m.value().get());
  }
  ASSERT_TRUE(head_bn);
  const int64_t hc = head_bn->active_channels, hmax = head_bn->options.max_channels();
  ASSERT_LT(hc, hmax);
  const torch::Tensor inactive_var = head_bn->running_var.narrow(0, hc, hmax - hc).clone();
  const torch::Tensor active_var = head_bn->running_var.narrow(0, 0, hc).clone();

  net->recalibrate_bn(batches);
  EXPECT_FALSE(net->is_training());
  // The stem BN's statistics are the average of the per-batch statistics of the stem conv's
  // output at the subnet's resolution (cumulative average, as OFA's set_running_statistics).
  torch::Tensor mean_sum = torch::zeros({c}), var_sum = torch::zeros({c});
  {
    torch::NoGradGuard g;
    for (const auto& b : batches) {
      const torch::Tensor y = stem->forward(resize_to(b, arch.resolution));
      mean_sum += y.mean({0, 2, 3});
      var_sum += y.var({0, 2, 3}, /*unbiased=*/true);
    }
  }
  EXPECT_TRUE(torch::allclose(stem_bn->running_mean.narrow(0, 0, c), mean_sum / 3, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(stem_bn->running_var.narrow(0, 0, c), var_sum / 3, 1e-3, 1e-4));
  EXPECT_FALSE(torch::allclose(stem_bn->running_mean.narrow(0, 0, c), before.narrow(0, 0, c)));
  // Channels the subnet does not use keep their statistics.
  EXPECT_TRUE(torch::equal(head_bn->running_var.narrow(0, hc, hmax - hc), inactive_var));
  EXPECT_FALSE(torch::equal(head_bn->running_var.narrow(0, 0, hc), active_var));
  // Recalibration changes the subnet's eval-mode outputs.
  torch::NoGradGuard g;
  EXPECT_EQ(net->forward(batches[0]).size(0), 16);
}

TEST(Supernet, SortingChannelsKeepsTheLargestSubnetAndOrdersByImportance) {
  const SearchSpace space = tiny_space();
  torch::manual_seed(5);
  Supernet net(space);
  randomize_bn(net);
  net->eval();
  const ArchSpec big = ArchSpec::largest(space);
  net->set_active(big);
  const torch::Tensor x = torch::randn({2, 1, 28, 28});
  torch::Tensor before;
  {
    torch::NoGradGuard g;
    before = net->forward(x);
  }
  const auto perms = net->sort_channels();
  EXPECT_FALSE(perms.empty());
  torch::NoGradGuard g;
  net->set_active(big);
  EXPECT_TRUE(torch::allclose(net->forward(x), before, 1e-4, 1e-5));
  for (std::size_t s = 1; s < space.stages.size(); ++s) {
    const torch::Tensor imp = net->block(s, 0)->project->weight.abs().sum({0, 2, 3});
    const torch::Tensor sorted = std::get<0>(imp.sort(0, /*descending=*/true));
    EXPECT_TRUE(torch::equal(imp, sorted)) << "stage " << s;
  }
}

// MLPerf Tiny's DS-CNN (configs/spaces/kws-dscnn.yaml): the supernet's subnet is the definition
// written out in plain torch (TF SAME padding of the 10x4 stem, ReLU6 after each separable block's
// pointwise conv, no residual), and the exporter's float reference computes the same.
TEST(Supernet, DsCnnIsItsDefinition) {
  const SearchSpace space = [] {  // the network alone, on its 49 x 10 features (the MFCC front end: Export.FrontEnd*)
    SearchSpace s = SearchSpace::load(kRoot + "/configs/spaces/kws-dscnn.yaml");
    s.front_end = {};
    return s;
  }();
  torch::manual_seed(6);
  Supernet net(space);
  randomize_bn(net);
  const ArchSpec arch = ArchSpec::largest(space);
  net->set_active(arch);
  // Modules: a 10x4 stem; separable blocks have no expand conv.
  EXPECT_EQ(net->named_parameters()["stem.weight"].sizes(), (std::vector<int64_t>{64, 1, 10, 4}));
  for (int b = 0; b < 4; ++b) {
    EXPECT_TRUE(net->block(0, b)->expand.is_empty()) << b;
    EXPECT_EQ(net->block(0, b)->dw->active_kernel, 3);
  }
  const torch::Tensor x = torch::randn({3, 1, 49, 10});
  {
    // It trains: gradients reach the stem through the asymmetric padding.
    net->train();
    net->forward(x).square().sum().backward();
    const torch::Tensor grad = net->named_parameters()["stem.weight"].grad();
    ASSERT_TRUE(grad.defined());
    EXPECT_GT(grad.abs().sum().item<double>(), 0.0);
  }
  // Statistics of the data (as after training), so the logits depend on the input: a padding on
  // the wrong side or a missing activation shows. Leaves eval mode.
  net->recalibrate_bn({torch::randn({32, 1, 49, 10})});
  torch::NoGradGuard g;
  const torch::Tensor got = net->forward(x);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{3, 12}));
  ASSERT_GT((got[0] - got[1]).abs().max().item<double>(), 2e-3) << "logits independent of the input";

  const std::vector<LayerWeights> w = net->extract_weights(arch);
  ASSERT_EQ(w.size(), 11u);  // stem, 4 x (depthwise, pointwise), pool, fc
  auto t = [](const std::vector<float>& v, const std::vector<int64_t>& shape) {
    return torch::tensor(v).view(shape);
  };
  auto conv_bn_relu6 = [&](const torch::Tensor& in, const LayerWeights& lw, int64_t stride,
                           int64_t pad, int64_t groups) {
    const int64_t c = lw.weight_shape[0];
    const torch::Tensor y = torch::conv2d(in, t(lw.weight, lw.weight_shape), {}, stride, pad, 1, groups);
    return torch::hardtanh(torch::batch_norm(y, t(lw.bn_gamma, {c}), t(lw.bn_beta, {c}),
                                             t(lw.bn_mean, {c}), t(lw.bn_var, {c}), false, 0.1,
                                             lw.bn_eps, false),
                           0.0, 6.0);
  };
  // Stem: TF SAME on 49 x 10 with 10 x 4 / 2 = 4 rows above, 5 below, 1 column each side.
  EXPECT_EQ(w[0].weight_shape, (std::vector<int64_t>{64, 1, 10, 4}));
  torch::Tensor y = conv_bn_relu6(torch::constant_pad_nd(x, {1, 1, 4, 5}, 0), w[0], 2, 0, 1);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{3, 64, 25, 5}));
  for (int b = 0; b < 4; ++b) {
    y = conv_bn_relu6(y, w[1 + 2 * b], 1, 1, 64);  // depthwise 3x3
    y = conv_bn_relu6(y, w[2 + 2 * b], 1, 0, 1);   // pointwise, activated, no residual
  }
  y = torch::linear(y.mean({2, 3}), t(w[10].weight, w[10].weight_shape), t(w[10].bias, {12}));
  EXPECT_TRUE(torch::allclose(got, y, 1e-4, 1e-5)) << "max diff " << (got - y).abs().max().item<double>();

  // The extracted subnet and the channels-last supernet compute the same.
  Subnet sub = Subnet(net->extract(arch));
  EXPECT_TRUE(torch::allclose(sub->forward(x), got, 1e-4, 1e-5));
  net->set_channels_last(true);
  EXPECT_TRUE(torch::allclose(net->forward(x), got, 1e-4, 1e-5));
  net->set_channels_last(false);

  // The exporter's float reference (nas/export, HWC, batch norm folded): same logits.
  const FloatModel fm = FloatModel::fold(net->active_graph(), w);
  for (int n = 0; n < 3; ++n) {
    const torch::Tensor img = x[n][0].contiguous();  // 49 x 10, C = 1: HWC is this order
    const std::vector<float> in(img.data_ptr<float>(), img.data_ptr<float>() + img.numel());
    const std::vector<float> logits = fm.run(in);
    ASSERT_EQ(logits.size(), 12u);
    for (int k = 0; k < 12; ++k) EXPECT_NEAR(logits[k], got[n][k].item<float>(), 1e-4) << n << " " << k;
  }
}

}  // namespace
}  // namespace tinynas

namespace tinynas {
namespace {

// Optional stages: the first block after a skipped stage, and the classifier after a skipped
// last stage, get a wider input than the stage before would give (the skipped stage's
// predecessor); the supernet sizes its weights for the widest, runs every combination with the
// NetGraph's shapes, and an extracted subnet computes the same.
TEST(Supernet, OptionalStagesRunSkippedOrNot) {
  const SearchSpace space = SearchSpace::from_config(ConfigNode::parse(
      "name: opt\ninput_channels: 1\nnum_classes: 5\nstem: {channels: 16, kernel: 3, stride: 2}\n"
      "stages:\n  - {channels: 24, stride: 1}\n  - {channels: 8, stride: 2, depths: [0, 1]}\n"
      "  - {channels: 16, stride: 2, depths: [0, 1, 2]}\n"
      "kernel_sizes: [3, 5]\nexpand_ratios: [1, 3]\ndepths: [1, 2]\nwidth_multipliers: [0.5, 1.0]\n"
      "resolutions: [16, 20]\n",
      "opt.yaml"));
  torch::manual_seed(3);
  Supernet net(space);
  randomize_bn(net);
  net->eval();
  torch::NoGradGuard g;
  // Stage 2's first block can get stage 0's 24 channels (stage 1 skipped); the classifier too.
  EXPECT_EQ(net->named_parameters()["fc.weight"].size(1), 24);
  const torch::Tensor x = torch::randn({2, 1, 20, 20});
  int skipped = 0;
  for (const ArchSpec& arch : some_archs(space, 24, 11)) {
    skipped += arch.stages[1].empty() + arch.stages[2].empty();
    net->set_active(arch);
    const torch::Tensor want = net->forward(x);
    EXPECT_EQ(want.sizes(), (std::vector<int64_t>{2, 5})) << arch.to_string();
    const torch::Tensor got = Subnet(net->extract(arch))->forward(x);
    EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-5)) << arch.to_string();
  }
  EXPECT_GT(skipped, 4);  // the sample did skip stages
}

}  // namespace
}  // namespace tinynas
