// Host benchmark of the int8 runtime kernels on MCUNet / MobileNetV2-like
// layers. Counter "MACs/s" = multiply-accumulates per second on the host.
//   bench_runtime_kernels --benchmark_filter=Depthwise
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "runtime/tn_runtime.h"

namespace {

struct Layer {
  tn_conv_params_t p{};
  std::vector<int8_t> in, w, out;
  std::vector<int32_t> bias, mult, shift;
  std::vector<uint64_t> scratch;  // 8-byte aligned (required by conv / pointwise)
  int64_t macs = 0;
};

Layer make(int h, int w, int cin, int cout, int k, int s, bool dw) {
  Layer L;
  std::mt19937 g(1);
  std::uniform_int_distribution<int> b8(-128, 127), w8(-127, 127);
  const int pad = k / 2;
  tn_conv_params_t& p = L.p;
  p.h_in = h; p.w_in = w; p.c_in = cin; p.c_out = dw ? cin : cout;
  p.kh = p.kw = k; p.stride_h = p.stride_w = s;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  p.h_out = (h + 2 * pad - k) / s + 1; p.w_out = (w + 2 * pad - k) / s + 1;
  p.input_zero_point = -3; p.output_zero_point = -128;
  p.act_min = -128; p.act_max = 100;
  L.in.resize((size_t)h * w * cin);
  for (auto& v : L.in) v = (int8_t)b8(g);
  L.w.resize((size_t)(dw ? 1 : p.c_out) * k * k * cin);
  for (auto& v : L.w) v = (int8_t)w8(g);
  L.bias.assign(p.c_out, 1000);
  L.mult.assign(p.c_out, 1518500250);
  L.shift.assign(p.c_out, -8);
  p.out_multiplier = L.mult.data(); p.out_shift = L.shift.data();
  L.out.resize((size_t)p.h_out * p.w_out * p.c_out + (size_t)h * w * cin);
  size_t sb = dw ? tn_depthwise_scratch_bytes_k(h, w, k, k)
                 : (k == 1 ? tn_pointwise_scratch_bytes(cin) : tn_conv2d_scratch_bytes(k, cin));
  L.scratch.assign(sb / 8 + 2, 0);
  L.macs = (int64_t)p.h_out * p.w_out * p.c_out * k * k * (dw ? 1 : cin);
  return L;
}

void finish(benchmark::State& st, const Layer& L) {
  st.counters["MACs/s"] = benchmark::Counter((double)L.macs, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Conv(benchmark::State& st) {
  Layer L = make(st.range(0), st.range(0), st.range(1), st.range(2), 3, st.range(3), false);
  for (auto _ : st) {
    int rc = tn_conv2d_s8(&L.p, L.in.data(), L.w.data(), L.bias.data(), L.out.data(),
                          reinterpret_cast<int16_t*>(L.scratch.data()));
    benchmark::DoNotOptimize(rc);
    benchmark::ClobberMemory();
  }
  finish(st, L);
}
// {size, c_in, c_out, stride}: first layers (grayscale / RGB) and a 3x3 conv
BENCHMARK(BM_Conv)->Args({32, 1, 16, 1})->Args({48, 3, 16, 2})->Args({24, 16, 16, 1});

void BM_Pointwise(benchmark::State& st) {
  Layer L = make(st.range(0), st.range(0), st.range(1), st.range(2), 1, 1, false);
  for (auto _ : st) {
    int rc = tn_pointwise_s8(&L.p, L.in.data(), L.w.data(), L.bias.data(), L.out.data(),
                             reinterpret_cast<int16_t*>(L.scratch.data()));
    benchmark::DoNotOptimize(rc);
    benchmark::ClobberMemory();
  }
  finish(st, L);
}
BENCHMARK(BM_Pointwise)
    ->Args({32, 8, 32})->Args({24, 16, 48})->Args({16, 48, 16})->Args({12, 48, 64})
    ->Args({8, 96, 24})->Args({4, 192, 48})->Args({4, 384, 96});

void BM_Depthwise(benchmark::State& st) {
  Layer L = make(st.range(0), st.range(0), st.range(1), 0, st.range(2), st.range(3), true);
  for (auto _ : st) {  // in place, like the generated code
    int rc = tn_depthwise_s8(&L.p, L.in.data(), L.w.data(), L.bias.data(), L.in.data(),
                             reinterpret_cast<int8_t*>(L.scratch.data()));
    benchmark::DoNotOptimize(rc);
    benchmark::ClobberMemory();
  }
  finish(st, L);
}
// {size, channels, k, stride}
BENCHMARK(BM_Depthwise)
    ->Args({24, 48, 3, 1})->Args({24, 48, 5, 1})->Args({24, 48, 7, 1})->Args({24, 48, 3, 2})
    ->Args({32, 16, 3, 1})->Args({8, 96, 5, 1})->Args({4, 192, 3, 1});

}  // namespace

BENCHMARK_MAIN();
