// `moss bench`: performance figures reported the same way every time (see bench/README.md).
//   moss bench -m MODEL [-p 128] [-n 32] [-t T] [--json]   end to end: prefill and decode tok/s
//   moss bench --kernels [--shape small|moss16b] [--type T] [--layers N] [-p 128] [-n 8] [-t T] [--json]
//                                                           the matmuls of one token alone
//   moss bench --make-model FILE [--shape small|moss16b] [--type T]
//                                                           writes a random-weight GGUF benchmark model
// Every mode also measures the machine's read bandwidth in the same run (all threads summing a buffer
// much larger than the caches) and reports decode efficiency = effective GB/s / measured GB/s, where
// effective = weight bytes read per decoded token x decode tok/s. With --json the last stdout line is
// one JSON object.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "cli/command.h"
#include "formats/metadata.h"
#include "kernels/cpu_features.h"
#include "kernels/matmul.h"
#include "model/model.h"
#include "tensor/convert.h"
#include "tensor/dtype.h"
#include "util/error.h"
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

struct Shape {
  const char* name;
  int64_t n_embd, n_layer, n_head, rotary, vocab, n_inner, n_ctx;
};
constexpr Shape kShapes[] = {
    {"small", 2048, 16, 16, 64, 107008, 8192, 2048},     // MOSS scaled down: 1.24B parameters
    {"moss16b", 6144, 34, 24, 64, 107008, 24576, 2048},  // moss-moon-003: 16.7B parameters
    {"tiny", 256, 2, 4, 16, 512, 1024, 128},             // for tests of the command itself
};
const Shape& shape_by_name(const std::string& s) {
  for (const auto& sh : kShapes)
    if (s == sh.name) return sh;
  fail("unknown --shape '", s, "' (known: small, moss16b, tiny)");
}

// ---- read bandwidth: every thread sums its slice of a buffer (1 GiB by default, far larger than the
// caches); best of 3 passes. ----
double measure_bandwidth_gbs(ThreadPool& pool, size_t bytes) {
  const size_t n = bytes / 8;
  std::unique_ptr<uint64_t[]> buf(new uint64_t[n]);
  pool.parallel_for(static_cast<int64_t>(n), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) buf[i] = static_cast<uint64_t>(i);  // fault the pages in, per thread
  });
  std::vector<uint64_t> sink(static_cast<size_t>(pool.size()) * 8);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = Clock::now();
    pool.run([&](int index, int count) {
      int64_t b, e;
      split_range(static_cast<int64_t>(n), index, count, b, e);
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t i = b;
      for (; i + 4 <= e; i += 4) s0 += buf[i], s1 += buf[i + 1], s2 += buf[i + 2], s3 += buf[i + 3];
      for (; i < e; ++i) s0 += buf[i];
      sink[static_cast<size_t>(index) * 8] = s0 + s1 + s2 + s3;
    });
    best = std::max(best, static_cast<double>(bytes) / seconds_since(t0) / 1e9);
  }
  return best;
}

// ---- random weights: a few hundred distinct random rows per row length, reused cyclically (the
// values do not change the speed; quantizing every row of a 16B model would take minutes). ----
struct RowPool {
  DType type;
  int64_t cols;
  size_t rb;
  std::vector<uint8_t> rows;
  static constexpr int kRows = 61;
  RowPool(DType t, int64_t c, uint32_t seed) : type(t), cols(c), rb(row_bytes(t, c)), rows(rb * kRows) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 0.02f);
    std::vector<float> v(static_cast<size_t>(c));
    for (int r = 0; r < kRows; ++r) {
      for (auto& x : v) x = g(rng);
      quantize_row(t, v.data(), rows.data() + rb * r, c);
    }
  }
  const uint8_t* row(int64_t i) const { return rows.data() + rb * static_cast<size_t>((i * 17) % kRows); }
  void fill(uint8_t* dst, int64_t n_rows) const {
    for (int64_t i = 0; i < n_rows; ++i) std::memcpy(dst + rb * static_cast<size_t>(i), row(i), rb);
  }
};

// ---- GGUF writer for the benchmark model (streams tensors; no Python, no f32 copy in memory) ----
struct GgufOut {
  FILE* f;
  std::string path;
  void raw(const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f) != n) fail("cannot write ", path, ": disk full or I/O error");
  }
  template <typename T>
  void put(T v) {
    raw(&v, sizeof v);
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    raw(s.data(), s.size());
  }
  void kv_u32(const std::string& k, uint32_t v) { str(k), put<uint32_t>(4), put<uint32_t>(v); }
  void kv_f32(const std::string& k, float v) { str(k), put<uint32_t>(6), put<float>(v); }
  void kv_str(const std::string& k, const std::string& v) { str(k), put<uint32_t>(8), str(v); }
  void pad(uint64_t at) {
    static const char zeros[32] = {};
    raw(zeros, (32 - at % 32) % 32);
  }
};

struct PlannedTensor {
  std::string name;
  std::vector<int64_t> shape;  // PyTorch order
  DType type;
  uint64_t nbytes, offset;
};

void make_model(const std::string& path, const Shape& s, DType wt) {
  if (!dtype_traits(wt).quantized && wt != DType::F16 && wt != DType::F32 && wt != DType::BF16)
    fail("--type must be a float or quantized weight type");
  std::vector<PlannedTensor> ts;
  uint64_t off = 0;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, DType t) {
    const uint64_t nb = row_bytes(t, shape.back()) * static_cast<uint64_t>(shape.size() == 2 ? shape[0] : 1);
    ts.push_back({name, std::move(shape), t, nb, off});
    off += (nb + 31) / 32 * 32;
  };
  const int64_t E = s.n_embd, F = s.n_inner, V = s.vocab;
  add("token_embd.weight", {V, E}, wt);
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", {E}, DType::F32);
    add(p + "attn_norm.bias", {E}, DType::F32);
    add(p + "attn_qkv.weight", {3 * E, E}, wt);
    add(p + "attn_output.weight", {E, E}, wt);
    add(p + "ffn_up.weight", {F, E}, wt);
    add(p + "ffn_up.bias", {F}, DType::F32);
    add(p + "ffn_down.weight", {E, F}, wt);
    add(p + "ffn_down.bias", {E}, DType::F32);
  }
  add("output_norm.weight", {E}, DType::F32);
  add("output_norm.bias", {E}, DType::F32);
  add("output.weight", {V, E}, wt);
  add("output.bias", {V}, DType::F32);

  const std::string tmp = path + ".tmp";
  GgufOut o{std::fopen(tmp.c_str(), "wb"), tmp};
  if (!o.f) fail("cannot create ", tmp);
  std::unique_ptr<FILE, int (*)(FILE*)> guard(o.f, std::fclose);
  o.raw("GGUF", 4);
  o.put<uint32_t>(3);
  o.put<uint64_t>(ts.size());
  const bool q = dtype_traits(wt).quantized;
  o.put<uint64_t>(q ? 14 : 13);
  o.kv_str(keys::kArchitecture, "moss");
  o.kv_str(keys::kName, std::string("moss-bench-random-") + s.name);
  o.kv_u32(keys::kAlignment, 32);
  // LLAMA_FTYPE: 0 all f32, 1 f16, 2 q4_0, 7 q8_0, 15 q4_k_m (closest), 32 bf16
  o.kv_u32(keys::kFileType, wt == DType::F32    ? 0
                            : wt == DType::F16  ? 1
                            : wt == DType::Q4_0 ? 2
                            : wt == DType::Q8_0 ? 7
                            : wt == DType::Q4_K ? 15
                                                : 32);
  if (q) o.kv_u32(keys::kQuantVersion, 2);
  o.kv_u32(keys::kContextLength, static_cast<uint32_t>(s.n_ctx));
  o.kv_u32(keys::kEmbeddingLength, static_cast<uint32_t>(E));
  o.kv_u32(keys::kBlockCount, static_cast<uint32_t>(s.n_layer));
  o.kv_u32(keys::kFeedForwardLength, static_cast<uint32_t>(F));
  o.kv_u32(keys::kHeadCount, static_cast<uint32_t>(s.n_head));
  o.kv_f32(keys::kLayerNormEps, 1e-5f);
  o.kv_u32(keys::kRopeDims, static_cast<uint32_t>(s.rotary));
  o.kv_f32(keys::kRopeFreqBase, 10000.0f);
  o.kv_u32(keys::kVocabSize, static_cast<uint32_t>(V));
  uint64_t header = 4 + 4 + 8 + 8;
  for (const auto& t : ts) {
    o.str(t.name);
    o.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (size_t i = t.shape.size(); i-- > 0;) o.put<uint64_t>(static_cast<uint64_t>(t.shape[i]));  // ne[0] innermost
    o.put<uint32_t>(static_cast<uint32_t>(t.type));
    o.put<uint64_t>(t.offset);
  }
  header = static_cast<uint64_t>(std::ftell(o.f));
  o.pad(header);

  RowPool pool_e(wt, E, 1), pool_f(wt, F, 2);
  std::vector<uint8_t> buf;
  uint64_t written = 0;
  for (const auto& t : ts) {
    buf.assign(t.nbytes, 0);
    if (t.shape.size() == 2) {
      (t.shape[1] == E ? pool_e : pool_f).fill(buf.data(), t.shape[0]);
    } else if (t.name.find("norm.weight") != std::string::npos) {
      for (int64_t i = 0; i < t.shape[0]; ++i) {
        const float one = 1.0f;
        std::memcpy(buf.data() + 4 * i, &one, 4);
      }
    }
    o.raw(buf.data(), buf.size());
    o.pad(t.nbytes);
    written += t.nbytes;
    std::fprintf(stderr, "\r  %.2f GB", static_cast<double>(written) / 1e9);
  }
  guard.reset();
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename ", tmp, " to ", path);
  std::fprintf(stderr, "\nwrote %s: %s shape, %s weights, %.2f GB\n", path.c_str(), s.name, dtype_name(wt),
               static_cast<double>(off) / 1e9);
}

struct BenchOptions {
  std::string model, make_model, shape = "small", type = "q4_0", isa;
  int prompt = 128, gen = 32, threads = 0, bandwidth_mib = 1024, layers = 0;
  bool kernels = false, json = false;
};

// ---- kernel-level: the matmuls of one token through the model shape (m = 1) and of a prefill batch. ----
nlohmann::json bench_kernels(const BenchOptions& o, ThreadPool& pool) {
  const Shape& s = shape_by_name(o.shape);
  const DType wt = dtype_from_name(o.type);
  if (!matmul_supports(wt)) fail("no fast matmul for ", o.type);
  const int64_t E = s.n_embd, F = s.n_inner;
  struct Mat {
    int64_t rows, cols;
    std::unique_ptr<uint8_t[]> data;
  };
  std::vector<Mat> mats;
  RowPool pe(wt, E, 1), pf(wt, F, 2);
  uint64_t bytes = 0, params = 0;
  auto add = [&](int64_t r, int64_t c) {
    params += static_cast<uint64_t>(r * c);
    Mat m{r, c, std::unique_ptr<uint8_t[]>(new uint8_t[row_bytes(wt, c) * static_cast<size_t>(r)])};
    (c == E ? pe : pf).fill(m.data.get(), r);
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
      matmul(x.data(), m, WeightMatrix{mt.data.get(), wt, mt.rows, mt.cols}, nullptr, y.data(), pool);
    };
    for (int64_t l = 0; l < s.n_layer; ++l)
      for (int k = 0; k < 4; ++k) mm(mats[static_cast<size_t>((l % distinct) * 4 + k)]);
    mm(mats.back());
  };
  pass(1);  // warm up
  const double c0 = cpu_seconds();
  const auto t0 = Clock::now();
  for (int i = 0; i < o.gen; ++i) pass(1);
  const double decode = o.gen / seconds_since(t0);
  const double c1 = cpu_seconds();
  const auto t1 = Clock::now();
  pass(P);
  const double prefill = static_cast<double>(P) / seconds_since(t1);
  nlohmann::json j;
  j["decode_tok_per_cpu_s"] = o.gen / (c1 - c0);
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
nlohmann::json bench_model(const BenchOptions& o, Model& model) {
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
  const double c0 = cpu_seconds();
  const auto t0 = Clock::now();
  model.forward(cache, prompt);
  const double prefill = o.prompt / seconds_since(t0);
  const double c1 = cpu_seconds();
  int32_t tok = 1;
  const auto t1 = Clock::now();
  for (int i = 0; i < o.gen; ++i) {
    auto logits = model.forward(cache, std::span<const int32_t>(&tok, 1));
    tok = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  const double decode = o.gen / seconds_since(t1);
  nlohmann::json j;
  j["prefill_tok_per_cpu_s"] = o.prompt / (c1 - c0);
  j["decode_tok_per_cpu_s"] = o.gen / (cpu_seconds() - c1);
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
    make_model(o.make_model, shape_by_name(o.shape), dtype_from_name(o.type));
    return 0;
  }
  if (o.prompt < 1 || o.prompt > 8192) fail("-p must be in 1..8192");
  if (o.gen < 1 || o.gen > 8192) fail("-n must be in 1..8192");
  if (o.bandwidth_mib < 1 || o.bandwidth_mib > 65536) fail("--bandwidth-mib must be in 1..65536");
  if (!o.kernels && o.model.empty()) fail("give -m MODEL (or --kernels, or --make-model FILE)");
  const int threads = ThreadPool::clamp_threads(o.threads);
  if (o.threads != 0 && threads != o.threads)
    std::fprintf(stderr, "moss bench: %d threads requested, using %d\n", o.threads, threads);
  nlohmann::json j;
  const double load_before = load_average();
  std::unique_ptr<ThreadPool> own_pool;
  std::unique_ptr<Model> model;
  ThreadPool* pool;
  if (o.kernels) {
    own_pool = std::make_unique<ThreadPool>(threads);
    pool = own_pool.get();
    j = bench_kernels(o, *pool);
    j["type"] = o.type;
  } else {
    model = Model::load(o.model, threads);
    pool = &model->pool();
    j = bench_model(o, *model);
  }
  const double bw = measure_bandwidth_gbs(*pool, static_cast<size_t>(o.bandwidth_mib) << 20);
  const double eff = j["bytes_per_token"].get<double>() * j["decode_tok_s"].get<double>() / 1e9;
  j["effective_gbs"] = eff;
  j["bandwidth_gbs"] = bw;
  j["decode_efficiency"] = eff / bw;
  j["threads"] = pool->size();
  j["isa"] = isa_name(active_isa());
  j["prompt"] = o.prompt;
  j["gen"] = o.gen;
  j["load_average"] = load_before;
  std::printf("%s  threads %d  isa %s\n", j["mode"].get<std::string>().c_str(), pool->size(), isa_name(active_isa()));
  std::printf("  prefill  %8.1f tok/s  (%d tokens)\n", j["prefill_tok_s"].get<double>(), o.prompt);
  std::printf("  decode   %8.2f tok/s  (%d tokens)\n", j["decode_tok_s"].get<double>(), o.gen);
  std::printf("  per CPU-second: prefill %.1f tok, decode %.2f tok  (1-min load average before the run: %.1f)\n",
              j["prefill_tok_per_cpu_s"].get<double>(), j["decode_tok_per_cpu_s"].get<double>(), load_before);
  std::printf(
      "  weights read per token %.1f MB, effective %.2f GB/s, measured read bandwidth %.2f GB/s, "
      "decode efficiency %.0f%%\n",
      j["bytes_per_token"].get<double>() / 1e6, eff, bw, 100.0 * eff / bw);
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
      sub.add_flag("--kernels", o->kernels, "benchmark the matmuls of the --shape alone (no model file)");
      sub.add_option("--make-model", o->make_model, "write a random-weight benchmark model to this GGUF file");
      sub.add_option("--shape", o->shape, "small (1.24B), moss16b (16.7B) or tiny, for --kernels / --make-model");
      sub.add_option("--layers", o->layers,
                     "--kernels: allocate only this many distinct layers and cycle through them");
      sub.add_option("--bandwidth-mib", o->bandwidth_mib, "buffer read to measure the bandwidth (default 1024 MiB)");
      sub.add_option("--type", o->type, "weight type for --kernels / --make-model (q4_0, q8_0, q4_k, f16, ...)");
      sub.add_option("--isa", o->isa, "force kernels: scalar, avx2 or avx512 (default: best for this CPU)");
      return std::function<int()>([o] { return run_bench(*o); });
    }};

}  // namespace
}  // namespace moss::cli
