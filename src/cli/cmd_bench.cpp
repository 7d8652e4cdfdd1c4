// `moss bench`: performance figures reported the same way every time (see bench/README.md).
//   moss bench -m MODEL [-p 128] [-n 32] [-t T] [--kv-type f16|f32|q8_0] [--batch B] [--json]
//                                                           end to end: prefill and decode tok/s
//   moss bench --kernels [--shape small|moss16b] [--type T] [--layers N] [-p 128] [-n 8] [-t T] [--json]
//                                                           the matmuls of one token alone
//   moss bench --make-model FILE [--shape small|moss16b|tiny|tiny-chat|tiny-gpt2] [--type T] [--vocab-dir DIR|builtin] [--seed S]
//                                                           writes a random-weight GGUF benchmark model
//                                                           with a working tokenizer (model/random_model.h)
// Every mode also measures the machine's read bandwidth in the same run (cli/read_probe.h: all threads
// summing a buffer much larger than the caches) right after every decoded token, and reports decode
// efficiency = effective GB/s / that paired read bandwidth, where effective = weight bytes read per
// decoded token x decode tok/s; the figure against reads right before and after the run is reported
// beside it. With --json the last stdout line is one JSON object.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <numeric>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/progress_line.h"
#include "cli/read_probe.h"
#include "formats/metadata.h"
#include "kernels/argmax.h"
#include "kernels/cpu_features.h"
#include "kernels/matmul.h"
#include "kernels/weight_panels.h"
#include "model/model.h"
#include "model/random_model.h"
#include "util/paths.h"
#include "tensor/convert.h"
#include "tensor/dtype.h"
#include "util/error.h"
#include "util/huge_pages.h"
#include "util/thread_pool.h"

namespace moss::cli {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// CPU seconds used by the whole process (all threads): on a shared machine wall-clock figures depend
// on the other load, so the report also gives tokens per CPU-second.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The 1-minute load average (other processes competing for the cores), or -1 if unknown.
double load_average() {
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return -1;
  double l = -1;
  if (std::fscanf(f, "%lf", &l) != 1) l = -1;
  std::fclose(f);
  return l;
}

using Shape = RandomModelShape;
const Shape& shape_by_name(const std::string& s) { return random_model_shape(s); }

// Decode timed token by token, each token's time paired with a read of the probe taken right after
// it (best of a plain and a prefetched pass): on a host whose bandwidth moves by 2x within seconds,
// a reference read before or after the run can fall in another phase than the decode (one run read
// 30 GB/s before and 59 after), while a pair is milliseconds apart.
struct PairedDecode {
  std::vector<double> token_s, read_s;
  double read_cpu_s = 0;  // CPU time of the reads, which the decode's tokens per CPU-second exclude
  template <class Step>
  void run(int tokens, ReadProbe& probe, Step&& step) {
    for (int i = 0; i < tokens; ++i) {
      const auto t0 = Clock::now();
      step();
      token_s.push_back(seconds_since(t0));
      const double c0 = cpu_seconds();
      read_s.push_back(probe.best_seconds(2));
      read_cpu_s += cpu_seconds() - c0;
    }
  }
  double decode_seconds() const { return std::accumulate(token_s.begin(), token_s.end(), 0.0); }
  double read_seconds() const { return std::accumulate(read_s.begin(), read_s.end(), 0.0); }
};

// --make-model: the model file itself is written by model/random_model. The tokenizer is GPT-2's BPE
// from --vocab-dir; by default the shared/data/gpt2-bpe folder beside the checkout when it exists
// and the shape has room for it, else (or with --vocab-dir builtin) the small built-in vocabulary.
void make_model(const std::string& path, const Shape& s, DType wt, uint32_t seed, std::string vocab_dir) {
  if (vocab_dir == "builtin") {
    vocab_dir.clear();
  } else if (vocab_dir.empty()) {
    const std::string found = find_beside_checkout("shared/data/gpt2-bpe");
    if (!found.empty() && s.vocab >= 50257 + 43) vocab_dir = found;
  }
  const auto t0 = Clock::now();
  {
    ProgressLine line("", 64u << 20, false);
    write_random_model(path, s, wt, seed, vocab_dir, [&](uint64_t done, uint64_t total) { line.update(done, total); });
  }
  uint64_t bytes = 0;
  std::error_code ec;
  bytes = std::filesystem::file_size(path, ec);
  std::fprintf(stderr, "wrote %s: %s shape, %s weights, %s tokenizer, %.2f GB in %.1f s\n", path.c_str(), s.name,
               dtype_name(wt), vocab_dir.empty() ? "built-in" : vocab_dir.c_str(), static_cast<double>(bytes) / 1e9,
               seconds_since(t0));
}

struct BenchOptions {
  std::string model, make_model, shape = "small", type = "q4_0", isa, vocab_dir, kv_type = kDefaultKvType;
  uint32_t seed = 1;
  int prompt = 128, gen = 32, threads = 0, bandwidth_mib = 1024, layers = 0, batch = 1;
  bool kernels = false, json = false;
};

// ---- kernel-level: the matmuls of one token through the model shape (m = 1) and of a prefill batch. ----
nlohmann::json bench_kernels(const BenchOptions& o, ThreadPool& pool, ReadProbe& probe, PairedDecode& timing) {
  const Shape& s = shape_by_name(o.shape);
  const DType wt = dtype_from_name(o.type);
  if (!matmul_supports(wt)) fail("no fast matmul for ", o.type);
  const int64_t E = s.n_embd, F = s.n_inner;
  struct Mat {
    int64_t rows, cols;
    std::unique_ptr<uint8_t[]> data;
    PanelCopy packed = {};  // repacked into 16-row panels, as Model does at load
    WeightMatrix wm = {};
  };
  std::vector<Mat> mats;
  RandomRows pe(wt, E, 1), pf(wt, F, 2);
  uint64_t bytes = 0, params = 0;
  auto add = [&](int64_t r, int64_t c) {
    params += static_cast<uint64_t>(r * c);
    Mat m{r, c, std::unique_ptr<uint8_t[]>(new uint8_t[row_bytes(wt, c) * static_cast<size_t>(r)])};
    (c == E ? pe : pf).fill(m.data.get(), r);
    m.wm = WeightMatrix{m.data.get(), wt, r, c};
    if (panels_pay(m.wm)) {
      m.packed = repack_panels(m.wm, pool);
      m.wm = m.packed.matrix;
      m.data.reset();
    }
    bytes += row_bytes(wt, c) * static_cast<uint64_t>(r);
    mats.push_back(std::move(m));
  };
  // --layers N allocates only N distinct layers and cycles through them for the shape's layer count:
  // the MOSS-16B shape then runs in ~1 GB (two q4_0 layers, 510 MB, still far beyond the caches).
  const int64_t distinct = o.layers > 0 ? std::min<int64_t>(o.layers, s.n_layer) : s.n_layer;
  for (int64_t l = 0; l < distinct; ++l) add(3 * E, E), add(E, E), add(F, E), add(E, F);
  const uint64_t layer_bytes = bytes / static_cast<uint64_t>(distinct),
                 layer_params = params / static_cast<uint64_t>(distinct);
  add(s.vocab, E);
  bytes += layer_bytes * static_cast<uint64_t>(s.n_layer - distinct);
  params += layer_params * static_cast<uint64_t>(s.n_layer - distinct);
  const int64_t P = o.prompt;
  std::vector<float> x(static_cast<size_t>(P * F), 0.5f), y(static_cast<size_t>(P * std::max(s.vocab, 3 * F)));
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  for (auto& v : x) v = g(rng);
  auto pass = [&](int64_t m) {
    auto mm = [&](const Mat& mt) {
      matmul(x.data(), m, mt.wm, nullptr, y.data(), pool);
    };
    for (int64_t l = 0; l < s.n_layer; ++l)
      for (int k = 0; k < 4; ++k) mm(mats[static_cast<size_t>((l % distinct) * 4 + k)]);
    mm(mats.back());
  };
  pass(1);  // warm up
  const double c0 = cpu_seconds();
  timing.run(o.gen, probe, [&] { pass(1); });
  const double decode = o.gen / timing.decode_seconds();
  const double c1 = cpu_seconds();
  const auto t1 = Clock::now();
  pass(P);
  const double prefill = static_cast<double>(P) / seconds_since(t1);
  nlohmann::json j;
  j["decode_tok_per_cpu_s"] = o.gen / (c1 - c0 - timing.read_cpu_s);
  j["prefill_tok_per_cpu_s"] = static_cast<double>(P) / (cpu_seconds() - c1);
  j["mode"] = "kernels";
  j["shape"] = s.name;
  j["distinct_layers"] = distinct;
  j["bytes_per_token"] = bytes;
  j["decode_tok_s"] = decode;
  j["prefill_tok_s"] = prefill;
  j["prefill_gflops"] = 2.0 * static_cast<double>(params) * prefill / 1e9;
  return j;
}

// ---- end to end through the model ----
nlohmann::json bench_model(const BenchOptions& o, Model& model, ReadProbe& probe, PairedDecode& timing) {
  const auto& c = model.config();
  if (o.prompt + o.gen + 1 > c.n_ctx) fail("-p + -n must fit the context length ", c.n_ctx);
  uint64_t bytes = 0;
  for (const auto& t : model.file().tensors.all()) {
    if (t.name == "token_embd.weight")
      bytes += t.nbytes / static_cast<uint64_t>(c.n_vocab);  // one row per token
    else
      bytes += t.nbytes;
  }
  std::mt19937 rng(5);
  std::vector<int32_t> prompt(static_cast<size_t>(o.prompt));
  for (auto& t : prompt) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(c.n_vocab));
  {
    KvCache warm = model.new_cache(8);
    model.forward(warm, std::span<const int32_t>(prompt.data(), 1));
  }
  KvCache cache = model.new_cache(o.prompt + o.gen + 1);
  // Prefill timed kPrefillRuns times over the same cache (emptied in between), the median reported:
  // timed once, it scattered between 380 and 630 tok/s with the host's phases, and it took the
  // cache's first page commits. The last run leaves the prompt in the cache for the decode.
  constexpr int kPrefillRuns = 3;
  std::vector<double> prefill_s;
  const double c0 = cpu_seconds();
  for (int r = 0; r < kPrefillRuns; ++r) {
    cache.truncate(0);
    const auto t0 = Clock::now();
    model.forward(cache, prompt);
    prefill_s.push_back(seconds_since(t0));
  }
  const double c1 = cpu_seconds();
  std::sort(prefill_s.begin(), prefill_s.end());
  const double prefill = o.prompt / prefill_s[kPrefillRuns / 2];
  int32_t tok = 1;
  timing.run(o.gen, probe, [&] {
    // The batch form leaves the logits in the model (no 0.4 MB copy per token, as the server reads them).
    SeqBatch step{&cache, std::span<const int32_t>(&tok, 1)};
    model.forward(std::span<SeqBatch>(&step, 1));
    tok = argmax_first(step.logits);
  });
  const double decode = o.gen / timing.decode_seconds();
  const double c2 = cpu_seconds() - timing.read_cpu_s;
  nlohmann::json j;
  if (o.batch > 1) {
    // What continuous batching can give at most: B sequences decoded in lockstep, one batched
    // forward per step (the server adds sampling, detokenizing and streaming on top). Each sequence
    // is prefilled with the same prompt first, all in one batched forward.
    std::vector<KvCache> caches;
    for (int b = 0; b < o.batch; ++b) caches.push_back(model.new_cache(o.prompt + o.gen + 1));
    std::vector<SeqBatch> batch(static_cast<size_t>(o.batch));
    for (int b = 0; b < o.batch; ++b) batch[static_cast<size_t>(b)] = SeqBatch{&caches[static_cast<size_t>(b)], prompt};
    model.forward(batch);
    std::vector<int32_t> toks(static_cast<size_t>(o.batch), 1);
    // Timed like the single sequence above, each step followed by a read of the probe, so that both
    // start every step with the same (cold) caches and batch_speedup compares like with like.
    PairedDecode batch_timing;
    batch_timing.run(o.gen, probe, [&] {
      for (int b = 0; b < o.batch; ++b)
        batch[static_cast<size_t>(b)] = SeqBatch{&caches[static_cast<size_t>(b)], std::span<const int32_t>(&toks[static_cast<size_t>(b)], 1)};
      model.forward(batch);
      for (int b = 0; b < o.batch; ++b) {
        const auto l = batch[static_cast<size_t>(b)].logits;
        toks[static_cast<size_t>(b)] = argmax_first(l);
      }
    });
    const double batch_decode = static_cast<double>(o.batch) * o.gen / batch_timing.decode_seconds();
    j["batch"] = o.batch;
    j["batch_decode_tok_s"] = batch_decode;
    j["batch_speedup"] = batch_decode / decode;
  }
  // KV cache bytes the decode steps read, per step on average (step i attends to P + i + 1
  // positions): not part of bytes_per_token, which stays the weights alone.
  j["kv_type"] = dtype_name(cache.type());
  j["kv_bytes_per_token"] =
      static_cast<double>(cache.bytes_per_position()) * (o.prompt + (o.gen + 1) / 2.0);
  j["prefill_tok_per_cpu_s"] = kPrefillRuns * o.prompt / (c1 - c0);
  j["prefill_runs"] = kPrefillRuns;
  j["prefill_tok_s_min"] = o.prompt / prefill_s.back();
  j["prefill_tok_s_max"] = o.prompt / prefill_s.front();
  j["decode_tok_per_cpu_s"] = o.gen / (c2 - c1);
  // How much of the weights lies in 2 MiB pages: the panel copies of repacked matrices always
  // (anonymous memory, Model::repack_weights), the file mapping where the page cache holds the file
  // in 2 MiB folios (util/mapped_file.cpp: files written by moss are, files cached in 4 KiB pages are
  // not).
  const auto* lo = reinterpret_cast<const uint8_t*>(UINTPTR_MAX);
  const uint8_t* hi = nullptr;
  if (model.repacked_matrices() > 0) {
    lo = model.repacked_data(), hi = lo + model.repacked_bytes();
  } else {
    for (const auto& t : model.file().tensors.all()) {
      const auto* p = static_cast<const uint8_t*>(t.data);
      if (!p || t.nbytes == 0) continue;
      lo = std::min(lo, p), hi = std::max(hi, p + t.nbytes);
    }
  }
  if (hi) {
    const ResidentPages rp = resident_pages(lo, hi);
    if (rp.resident_bytes > 0)
      j["weights_in_huge_pages"] = static_cast<double>(rp.huge_page_bytes) / static_cast<double>(rp.resident_bytes);
  }
  j["repacked_matrices"] = model.repacked_matrices();
  j["mode"] = "model";
  j["model"] = o.model;
  j["bytes_per_token"] = bytes;
  j["decode_tok_s"] = decode;
  j["prefill_tok_s"] = prefill;
  return j;
}

int run_bench(const BenchOptions& o) {
  if (!o.isa.empty()) force_isa(isa_from_name(o.isa.c_str()));
  if (!o.make_model.empty()) {
    make_model(o.make_model, shape_by_name(o.shape), dtype_from_name(o.type), o.seed, o.vocab_dir);
    return 0;
  }
  if (o.prompt < 1 || o.prompt > 8192) fail("-p must be in 1..8192");
  if (o.gen < 1 || o.gen > 8192) fail("-n must be in 1..8192");
  if (o.bandwidth_mib < 1 || o.bandwidth_mib > 65536) fail("--bandwidth-mib must be in 1..65536");
  if (o.batch < 1 || o.batch > 64) fail("--batch must be in 1..64");
  if (o.batch > 1 && o.kernels) fail("--batch measures the model end to end: give -m MODEL, not --kernels");
  if (!o.kernels && o.model.empty()) fail("give -m MODEL (or --kernels, or --make-model FILE)");
  const int threads = ThreadPool::clamp_threads(o.threads);
  if (o.threads != 0 && threads != o.threads)
    std::fprintf(stderr, "moss bench: %d threads requested, using %d\n", o.threads, threads);
  nlohmann::json j;
  const double load_before = load_average();
  std::unique_ptr<ThreadPool> own_pool;
  std::unique_ptr<Model> model;
  ThreadPool* pool;
  // The reference read bandwidth: paired with every decoded token (PairedDecode), and also read
  // right before and right after the timed work (best of 6 passes each) for comparison.
  const size_t probe_bytes = static_cast<size_t>(o.bandwidth_mib) << 20;
  std::unique_ptr<ReadProbe> probe;
  PairedDecode timing;
  double bw_before = 0;
  if (o.kernels) {
    own_pool = std::make_unique<ThreadPool>(threads);
    pool = own_pool.get();
    probe = std::make_unique<ReadProbe>(*pool, probe_bytes);
    bw_before = probe->gbs(probe->best_seconds(6));
    j = bench_kernels(o, *pool, *probe, timing);
    j["type"] = o.type;
  } else {
    model = Model::load(o.model, threads, kv_type_from_name(o.kv_type));
    if (const std::string hint = model->layout_hint(); !hint.empty()) std::fprintf(stderr, "moss bench: %s\n", hint.c_str());
    pool = &model->pool();
    probe = std::make_unique<ReadProbe>(*pool, probe_bytes);
    bw_before = probe->gbs(probe->best_seconds(6));
    j = bench_model(o, *model, *probe, timing);
  }
  const double bw_after = probe->gbs(probe->best_seconds(6));
  const double bytes = j["bytes_per_token"].get<double>();
  const double eff = bytes * j["decode_tok_s"].get<double>() / 1e9;
  const double bw = probe->gbs(timing.read_seconds() / static_cast<double>(timing.read_s.size()));
  std::vector<double> per_token;  // each token's efficiency against its own paired read
  for (size_t i = 0; i < timing.token_s.size(); ++i)
    per_token.push_back((bytes / timing.token_s[i]) / probe->gbs(timing.read_s[i]) / 1e9);
  std::sort(per_token.begin(), per_token.end());
  j["bandwidth_before_gbs"] = bw_before;
  j["bandwidth_after_gbs"] = bw_after;
  j["effective_gbs"] = eff;
  j["bandwidth_gbs"] = bw;
  j["decode_efficiency"] = eff / bw;
  j["decode_efficiency_min"] = per_token.front();
  j["decode_efficiency_median"] = per_token[per_token.size() / 2];
  j["decode_efficiency_max"] = per_token.back();
  j["decode_efficiency_vs_before_after"] = eff / std::max(bw_before, bw_after);
  j["threads"] = pool->size();
  j["isa"] = isa_name(active_isa());
  j["prompt"] = o.prompt;
  j["gen"] = o.gen;
  j["load_average"] = load_before;
  std::printf("%s  threads %d  isa %s\n", j["mode"].get<std::string>().c_str(), pool->size(), isa_name(active_isa()));
  if (j.contains("prefill_runs"))
    std::printf("  prefill  %8.1f tok/s  (%d tokens; median of %d runs, %.1f-%.1f)\n", j["prefill_tok_s"].get<double>(),
                o.prompt, j["prefill_runs"].get<int>(), j["prefill_tok_s_min"].get<double>(),
                j["prefill_tok_s_max"].get<double>());
  else
    std::printf("  prefill  %8.1f tok/s  (%d tokens)\n", j["prefill_tok_s"].get<double>(), o.prompt);
  std::printf("  decode   %8.2f tok/s  (%d tokens)\n", j["decode_tok_s"].get<double>(), o.gen);
  if (j.contains("batch"))
    std::printf("  decode of %d sequences in lockstep: %8.2f tok/s in all, %.2fx one sequence\n", j["batch"].get<int>(),
                j["batch_decode_tok_s"].get<double>(), j["batch_speedup"].get<double>());
  if (j.value("repacked_matrices", 0) > 0)
    std::printf("  matrices repacked into 16-row panels at load: %d\n", j["repacked_matrices"].get<int>());
  if (j.contains("weights_in_huge_pages")) {
    const double share = j["weights_in_huge_pages"].get<double>();
    std::printf("  weights mapped in 2 MiB pages: %.0f%% of those resident%s\n", 100.0 * share,
                share < 0.5 && j["bytes_per_token"].get<double>() > 256e6 ? " (the page cache holds the file in small pages; a copy written by "
                              "`moss convert FILE -o COPY --type keep` reads ~10% faster)"
                            : "");
  }
  if (j.contains("kv_type"))
    std::printf("  KV cache %s, %.1f MB read per decode step (average)\n", j["kv_type"].get<std::string>().c_str(),
                j["kv_bytes_per_token"].get<double>() / 1e6);
  std::printf("  per CPU-second: prefill %.1f tok, decode %.2f tok  (1-min load average before the run: %.1f)\n",
              j["prefill_tok_per_cpu_s"].get<double>(), j["decode_tok_per_cpu_s"].get<double>(), load_before);
  std::printf(
      "  weights read per token %.1f MB, effective %.2f GB/s, read bandwidth paired with the tokens %.2f GB/s,\n"
      "  decode efficiency %.0f%% (per token: min %.0f%%, median %.0f%%, max %.0f%%)\n"
      "  read bandwidth before %.2f GB/s, after %.2f GB/s: efficiency against the higher %.0f%%\n",
      bytes / 1e6, eff, bw, 100.0 * eff / bw, 100.0 * per_token.front(), 100.0 * per_token[per_token.size() / 2],
      100.0 * per_token.back(), bw_before, bw_after, 100.0 * eff / std::max(bw_before, bw_after));
  if (o.json) std::printf("%s\n", j.dump().c_str());
  return 0;
}

const CommandRegistration kRegister{
    "bench", "measure prefill/decode speed and decode efficiency against the measured memory bandwidth",
    [](CLI::App& sub) {
      auto o = std::make_shared<BenchOptions>();
      sub.add_option("-m,--model", o->model, "model (.gguf or Hugging Face folder) for the end-to-end figures");
      sub.add_option("-p,--prompt", o->prompt, "prefill tokens (default 128)");
      sub.add_option("-n,--gen", o->gen, "decoded tokens (default 32)");
      sub.add_option("-t,--threads", o->threads, "threads (default: all cores; clamped)");
      sub.add_flag("--json", o->json, "print one JSON object as the last line");
      sub.add_option("--batch", o->batch,
                     "also decode this many sequences in lockstep (batched forward) and report the aggregate tok/s");
      sub.add_flag("--kernels", o->kernels, "benchmark the matmuls of the --shape alone (no model file)");
      sub.add_option("--make-model", o->make_model, "write a random-weight benchmark model to this GGUF file");
      sub.add_option("--shape", o->shape,
                     "small (1.24B), moss16b (16.7B), tiny, tiny-chat or tiny-gpt2, for --kernels / --make-model");
      sub.add_option("--layers", o->layers,
                     "--kernels: allocate only this many distinct layers and cycle through them");
      sub.add_option("--bandwidth-mib", o->bandwidth_mib, "buffer read to measure the bandwidth (default 1024 MiB)");
      sub.add_option("--type", o->type, "weight type for --kernels / --make-model (q4_0, q8_0, q4_k, f16, ...)");
      sub.add_option("--vocab-dir", o->vocab_dir,
                     "--make-model: folder with GPT-2's encoder.json + vocab.bpe, or 'builtin' (default: "
                     "shared/data/gpt2-bpe beside the checkout if present and the shape has room)");
      sub.add_option("--seed", o->seed, "--make-model: random seed of the weights (default 1)");
      add_kv_type_option(sub, o->kv_type);
      sub.add_option("--isa", o->isa, "force kernels: scalar, avx2, avx2vnni or avx512 (default: best for this CPU)");
      return std::function<int()>([o] { return run_bench(*o); });
    }};

}  // namespace
}  // namespace moss::cli
