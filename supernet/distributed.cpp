#include "supernet/distributed.h"

#include <fmt/core.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdlib>

#include "search_spaces/config_node.h"

namespace tinynas {

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    // A peer that died (killed, crashed) surfaces here as a closed connection or a timeout.
    throw std::runtime_error(fmt::format("data-parallel {} failed (another rank stopped?): {}",
                                         what, e.what()));
  }
}

}  // namespace

DataParallel::DataParallel(const DistributedConfig& config)
    : config_(config), group_(std::make_unique<Group>()) {
  const std::chrono::milliseconds timeout(int64_t{config.timeout_seconds} * 1000);
  try {
    if (!config.store_file.empty()) {
      group_->store = c10::make_intrusive<c10d::FileStore>(config.store_file, config.world_size);
    } else {
      c10d::TCPStoreOptions o;
      o.port = static_cast<uint16_t>(config.master_port);
      o.isServer = config.rank == 0;
      o.numWorkers = config.world_size;
      o.timeout = timeout;
      group_->store = c10::make_intrusive<c10d::TCPStore>(config.master_addr, o);
    }
    group_->store->setTimeout(timeout);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // Loopback when the ranks share a FileStore (one machine); otherwise the interface named by
    // GLOO_SOCKET_IFNAME, or the one this host's name resolves to.
    if (!config.store_file.empty()) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    options->threads = 1;
    group_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(
        c10::make_intrusive<c10d::PrefixStore>("tinynas", group_->store), config.rank,
        config.world_size, options);
  } catch (const std::exception& e) {
    const std::string where = config.store_file.empty()
                                  ? fmt::format("{}:{}", config.master_addr, config.master_port)
                                  : config.store_file;
    throw ConfigError(fmt::format("rank {} of {} could not join the training group at {} ({}): {}",
                                  config.rank, config.world_size, where, config.launcher, e.what()));
  }
}

DataParallel::~DataParallel() = default;

void DataParallel::all_reduce_sum(torch::Tensor& t) {
  const auto t0 = std::chrono::steady_clock::now();
  // Gloo reduces CPU tensors; a device tensor goes through the host.
  std::vector<torch::Tensor> v{t.is_cpu() ? t.contiguous() : t.to(torch::kCPU).contiguous()};
  wait(group_->pg->allreduce(v), "all-reduce");
  if (!v[0].is_same(t)) t.copy_(v[0]);
  comm_seconds_ += seconds_since(t0);
  ++collectives_;
}

void DataParallel::broadcast(Supernet& net) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> all;
  for (const auto& p : net->parameters()) all.push_back(p);
  for (const auto& b : net->buffers()) all.push_back(b);
  for (auto& t : all) {
    std::vector<torch::Tensor> v{t.is_cpu() ? t.contiguous() : t.to(torch::kCPU).contiguous()};
    c10d::BroadcastOptions o;
    o.rootRank = 0;
    wait(group_->pg->broadcast(v, o), "broadcast");
    if (!v[0].is_same(t)) t.copy_(v[0]);
  }
}

void DataParallel::synchronise_batch_norm(Supernet& net) {
  for (const auto& m : net->modules(/*include_self=*/false)) {
    if (auto* bn = m->as<ElasticBatchNormImpl>()) {
      bn->all_reduce = [this](torch::Tensor& t) { all_reduce_sum(t); };
    }
  }
}

void DataParallel::all_reduce_gradients(Supernet& net) {
  torch::NoGradGuard no_grad;
  // Parameters in registration order, the same on every rank; a bucket is flattened into one
  // tensor so each collective moves megabytes, not the hundreds of small tensors of a supernet.
  std::vector<torch::Tensor> grads;
  for (const auto& p : net->parameters()) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  const double scale = 1.0 / config_.world_size;
  std::size_t i = 0;
  while (i < grads.size()) {
    std::size_t j = i;
    int64_t bytes = 0;
    std::vector<torch::Tensor> flat;
    while (j < grads.size() && (j == i || bytes + static_cast<int64_t>(grads[j].nbytes()) <= kBucketBytes) &&
           grads[j].scalar_type() == grads[i].scalar_type()) {
      bytes += static_cast<int64_t>(grads[j].nbytes());
      flat.push_back(grads[j].reshape(-1));
      ++j;
    }
    torch::Tensor bucket = torch::cat(flat);
    all_reduce_sum(bucket);
    bucket.mul_(scale);
    int64_t offset = 0;
    for (std::size_t k = i; k < j; ++k) {
      const int64_t n = grads[k].numel();
      grads[k].copy_(bucket.narrow(0, offset, n).view_as(grads[k]));
      offset += n;
    }
    i = j;
  }
}

void DataParallel::barrier() {
  torch::Tensor t = torch::zeros({1});
  all_reduce_sum(t);
}

}  // namespace tinynas
