// Sampler micro-benchmark (Google Benchmark): one next-token choice over a MOSS-sized row (107,008
// logits) with the official demo settings (T 0.7, top-p 0.8, repetition penalty 1.02 over a
// 1,000-token sequence) and greedy, on a flat row (what random benchmark weights give: top-p keeps
// most of the vocabulary) and on a peaked one (a trained model: a few hundred candidates).
// Every server stream pays this once per token, so it bounds batched decoding (issue 5).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "generate/sampler.h"

namespace {

constexpr int kVocab = 107008;

std::vector<float> make_row(bool peaked) {
  std::mt19937 rng(7);
  std::normal_distribution<float> n01(0.0f, 1.0f);
  std::vector<float> row(kVocab);
  // Flat: sd 0.3 (random weights). Peaked: sd 3, so exp() spreads over many orders of magnitude.
  for (float& v : row) v = n01(rng) * (peaked ? 3.0f : 0.3f);
  return row;
}

void run(benchmark::State& state, bool peaked, bool greedy) {
  const std::vector<float> base = make_row(peaked);
  std::vector<int32_t> seq(1000);
  std::mt19937 rng(3);
  for (int32_t& t : seq) t = static_cast<int32_t>(rng() % kVocab);
  moss::SamplingParams p;
  p.greedy = greedy;
  p.seed = 1;
  moss::Sampler sampler(p);
  std::vector<float> row;
  for (auto _ : state) {
    row = base;
    benchmark::DoNotOptimize(sampler.sample(row, seq));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SampleFlat(benchmark::State& s) { run(s, false, false); }
void BM_SamplePeaked(benchmark::State& s) { run(s, true, false); }
void BM_Greedy(benchmark::State& s) { run(s, false, true); }
BENCHMARK(BM_SampleFlat)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SamplePeaked)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Greedy)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
