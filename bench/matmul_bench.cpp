// Micro-benchmarks of one matmul at the shapes of the 1.24B benchmark model (n_embd 2048, n_inner
// 8192): decode GEMV (m = 1), batched decode (m = 2..8) and prefill GEMM (m = 128), per weight type,
// instruction set and thread count; the .../dram variants use 8x the rows, so that the weights come
// from memory rather than L3; q4_0-panels/... and q8_0-panels/... are repacked in 16-row panels as the
// model does at load (kernels/weight_panels.h: q4_0 on AVX2 and AVX-512, q8_0 on AVX-512). Bytes/s counts weight bytes; items/s counts tokens.
//   bench_matmul --benchmark_filter='q4_0/.*'
#include <benchmark/benchmark.h>

#include <random>
#include <span>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"
#include "kernels/weight_panels.h"
#include "tensor/convert.h"
#include "util/thread_pool.h"

namespace moss {
namespace {

void BM_matmul(benchmark::State& st, DType type, Isa isa, int64_t N, int64_t K, int64_t m, int threads, bool panels) {
  if (!isa_supported(isa)) {
    st.SkipWithError("instruction set not supported");
    return;
  }
  force_isa(isa);
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0.0f, 0.02f);
  const size_t rb = row_bytes(type, K);
  // 64-byte aligned, as tensors in a GGUF file written by moss (general.alignment 64) are
  std::vector<uint8_t> storage(rb * static_cast<size_t>(N) + 64);
  uint8_t* const wp = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
  const std::span<uint8_t> w(wp, rb * static_cast<size_t>(N));
  std::vector<float> row(static_cast<size_t>(K));
  for (int r = 0; r < 64; ++r) {
    for (auto& v : row) v = g(rng);
    quantize_row(type, row.data(), w.data() + rb * r, K);
  }
  for (int64_t r = 64; r < N; ++r) std::copy_n(w.data() + rb * (r % 64), rb, w.data() + rb * r);
  std::vector<float> x(static_cast<size_t>(m * K)), y(static_cast<size_t>(m * N));
  for (auto& v : x) v = g(rng) * 50;
  ThreadPool pool(threads);
  WeightMatrix wm{w.data(), type, N, K};
  PanelCopy packed;  // 16-row panels, as the model repacks q4_0 / q8_0 / q4_k at load
  if (panels) {
    if (!panels_pay(wm)) {
      st.SkipWithError("no panel kernels for this type on this CPU");
      return;
    }
    packed = repack_panels(wm, pool);
    wm = packed.matrix;
  }
  for (auto _ : st) {
    matmul(x.data(), m, wm, nullptr, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(w.size()));
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * m);
  st.counters["GFLOPs"] =
      benchmark::Counter(2.0 * static_cast<double>(N * K * m) * static_cast<double>(st.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

int register_all() {
  for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::F16})
    for (Isa isa : kAllIsas)
      for (bool panels : {false, true})
        for (int64_t m : {1, 2, 4, 8, 128})
          for (int threads : {1, 2}) {
            if (isa == Isa::Scalar && m > 1) continue;
            // the model's layout where this CPU's table for the level has panel kernels for the type
            if (panels && !(isa_supported(isa) && matmul_kernels(isa).panels_for(t))) continue;
            // fc_in of the 1.24B shape: 8192 x 2048
            const std::string name = std::string(dtype_name(t)) + (panels ? "-panels/" : "/") + isa_name(isa) + "/m" +
                                     std::to_string(m) + "/t" + std::to_string(threads);
            benchmark::RegisterBenchmark(name.c_str(), BM_matmul, t, isa, 8192, 2048, m, threads, panels)
                ->UseRealTime();
            // 8x the rows: far larger than L3, so the weights stream from DRAM as in a real model
            if (isa == Isa::Avx512 && m <= 8)
              benchmark::RegisterBenchmark((name + "/dram").c_str(), BM_matmul, t, isa, 8 * 8192, 2048, m, threads,
                                           panels)
                  ->UseRealTime();
          }
  return 0;
}
const int registered = register_all();

}  // namespace
}  // namespace moss

BENCHMARK_MAIN();
