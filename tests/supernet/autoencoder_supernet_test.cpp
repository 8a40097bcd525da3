// Autoencoder supernets (reconstruction output): every ArchSpec runs and returns one error per
// input. Dense: the error is the mean squared error of a reconstruction computed by hand from the
// extracted weights (the input flattened in H x W x C order, as the runtime stores it), and
// training lowers it. Dense and convolutional (upsampling decoder): the extracted subnet, the
// folded evaluation, channels-last and the exporter's float reference all compute the same.
#include <gtest/gtest.h>

#include "nas/export/float_model.h"
#include "search_spaces/arch_sampler.h"
#include "supernet/supernet.h"

namespace tinynas {
namespace {

// A 4 x 6 x 2 input (two channels: the flattening order matters), encoder of 1-2 layers of 8 or
// 16, bottleneck 4 or 8, decoder of 1-2 layers of 8 or 16.
SearchSpace ae_space() {
  return SearchSpace::from_config(ConfigNode::parse(
      "name: ae\ninput_channels: 2\ninput_size: [4, 6]\noutput: reconstruction\nstages:\n"
      "  - {channels: 8, block: dense, depths: [1, 2], expand_ratios: [1, 2]}\n"
      "  - {channels: 4, block: dense, depths: [1], expand_ratios: [1, 2]}\n"
      "  - {channels: 8, block: dense, depths: [1, 2], expand_ratios: [1, 2]}\n"
      "kernel_sizes: [1]\nexpand_ratios: [1]\ndepths: [1]\nchannel_divisor: 4\n"
      "width_multipliers: [1.0]\nresolutions: [4]\n",
      "ae.yaml"));
}

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

torch::Tensor t(const std::vector<float>& v, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat).clone();
}

std::vector<ArchSpec> archs(const SearchSpace& space) {
  std::vector<ArchSpec> out{ArchSpec::largest(space), ArchSpec::smallest(space)};
  ArchSampler s(space, 5);
  for (int i = 0; i < 6; ++i) out.push_back(s.sample());
  return out;
}

TEST(DenseSupernet, ErrorIsTheMeanSquaredErrorOfTheReconstruction) {
  const SearchSpace space = ae_space();
  torch::manual_seed(3);
  Supernet net(space);
  randomize_bn(net);
  net->eval();
  const torch::Tensor x = torch::rand({5, 2, 4, 6}) * 4 - 2;
  for (const ArchSpec& arch : archs(space)) {
    net->set_active(arch);
    torch::Tensor got;
    {
      // With gradients on, batch norm runs as itself, not folded.
      got = net->forward(x).detach();
    }
    ASSERT_EQ(got.dim(), 1) << arch.to_string();
    ASSERT_EQ(got.size(0), 5);
    const std::vector<LayerWeights> w = net->extract_weights(arch);
    const NetGraph& g = net->active_graph();
    // By hand: flatten H x W x C, dense layers (weights [out, in, 1, 1]) + BN + ReLU6, the linear
    // reconstruction, then the mean of the squared differences.
    const torch::Tensor flat = x.permute({0, 2, 3, 1}).reshape({5, -1});
    torch::Tensor y = flat;
    for (std::size_t i = 0; i < g.layers.size(); ++i) {
      const Layer& l = g.layers[i];
      if (l.role == LayerRole::Dense) {
        y = torch::linear(y, t(w[i].weight, {l.out.c, y.size(1)}));
        y = (y - t(w[i].bn_mean, {l.out.c})) / torch::sqrt(t(w[i].bn_var, {l.out.c}) + w[i].bn_eps) *
                t(w[i].bn_gamma, {l.out.c}) + t(w[i].bn_beta, {l.out.c});
        y = y.clamp(0, 6);
      } else if (l.role == LayerRole::Reconstruction) {
        y = torch::linear(y, t(w[i].weight, {l.out.c, y.size(1)}), t(w[i].bias, {l.out.c}));
      }
    }
    const torch::Tensor want = (y - flat).square().mean(1);
    EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-5))
        << arch.to_string() << " max diff " << (got - want).abs().max().item<double>();

    torch::NoGradGuard no_grad;
    // Folded batch norm (evaluation without gradients), the extracted subnet, channels-last.
    EXPECT_TRUE(torch::allclose(net->forward(x), got, 1e-4, 1e-5)) << arch.to_string();
    Subnet sub = Subnet(net->extract(arch));
    EXPECT_TRUE(torch::allclose(sub->forward(x), got, 1e-4, 1e-5)) << arch.to_string();
    net->set_channels_last(true);
    EXPECT_TRUE(torch::allclose(net->forward(x), got, 1e-4, 1e-5)) << arch.to_string();
    net->set_channels_last(false);
    // The exporter's float reference takes the HWC input and gives the same error.
    const FloatModel fm = FloatModel::fold(g, w);
    for (int n = 0; n < 5; ++n) {
      const torch::Tensor img = x[n].permute({1, 2, 0}).contiguous();
      const std::vector<float> in(img.data_ptr<float>(), img.data_ptr<float>() + img.numel());
      const std::vector<float> out = fm.run(in);
      ASSERT_EQ(out.size(), 1u);
      EXPECT_NEAR(out[0], got[n].item<float>(), 1e-4 * (1 + got[n].item<float>()))
          << arch.to_string() << " " << n;
    }
  }
}

TEST(DenseSupernet, TrainingLowersTheReconstructionError) {
  const SearchSpace space = ae_space();
  torch::manual_seed(4);
  Supernet net(space);
  net->train();
  // Inputs on a 3-dimensional subspace of the 48 values: the bottleneck (4 or more) can hold them.
  const torch::Tensor basis = torch::randn({3, 48});
  const torch::Tensor x = torch::matmul(torch::randn({64, 3}), basis).view({64, 4, 6, 2}).permute({0, 3, 1, 2});
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-2));
  const ArchSpec largest = ArchSpec::largest(space);
  net->set_active(largest);
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    const torch::Tensor loss = net->forward(x).mean();
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  EXPECT_LT(last, 0.1 * first) << first << " -> " << last;
}

// A convolutional autoencoder: stride-2 stem and stage, two stages upsampling x2, the linear 3x3
// output convolution with its bias.
SearchSpace conv_ae_space() {
  return SearchSpace::from_config(ConfigNode::parse(
      "name: cae\ninput_channels: 2\noutput: reconstruction\n"
      "stem: {channels: 8, kernel: 3, stride: 2}\nstages:\n"
      "  - {channels: 8, stride: 2, depths: [1, 2]}\n"
      "  - {channels: 8, upsample: 2, depths: [1, 2]}\n"
      "  - {channels: 4, upsample: 2, depths: [1]}\n"
      "kernel_sizes: [3, 5]\nexpand_ratios: [1, 2]\ndepths: [1]\n"
      "width_multipliers: [0.5, 1.0]\nresolutions: [8, 12]\n",
      "cae.yaml"));
}

TEST(ConvAutoencoderSupernet, EveryPathComputesTheSameError) {
  const SearchSpace space = conv_ae_space();
  torch::manual_seed(6);
  Supernet net(space);
  randomize_bn(net);
  {
    torch::NoGradGuard g;
    for (const auto& p : net->named_parameters()) {
      if (p.key() == "recon_bias") p.value().uniform_(-0.5, 0.5);
    }
  }
  net->eval();
  const torch::Tensor x = torch::rand({3, 2, 12, 12}) * 2 - 1;
  for (const ArchSpec& arch : archs(space)) {
    net->set_active(arch);
    const torch::Tensor got = net->forward(x).detach();  // batch norm as itself
    ASSERT_EQ(got.dim(), 1);
    ASSERT_EQ(got.size(0), 3);
    EXPECT_TRUE((got > 0).all().item<bool>());
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(net->forward(x), got, 1e-4, 1e-5)) << arch.to_string();
    Subnet sub = Subnet(net->extract(arch));
    EXPECT_TRUE(torch::allclose(sub->forward(x), got, 1e-4, 1e-5)) << arch.to_string();
    net->set_channels_last(true);
    EXPECT_TRUE(torch::allclose(net->forward(x), got, 1e-4, 1e-5)) << arch.to_string();
    net->set_channels_last(false);
    const Shape in = space.input_shape(arch.resolution);
    const FloatModel fm = FloatModel::fold(net->active_graph(), net->extract_weights(arch));
    const torch::Tensor resized = resize_to(x, in.h, in.w);
    for (int n = 0; n < 3; ++n) {
      const torch::Tensor img = resized[n].permute({1, 2, 0}).contiguous();
      const std::vector<float> v(img.data_ptr<float>(), img.data_ptr<float>() + img.numel());
      const std::vector<float> out = fm.run(v);
      ASSERT_EQ(out.size(), 1u);
      EXPECT_NEAR(out[0], got[n].item<float>(), 1e-4 * (1 + got[n].item<float>()))
          << arch.to_string() << " " << n;
    }
  }
}

}  // namespace
}  // namespace tinynas
