// `moss quality`: how close quantized models are to a reference, on real conversation text.
//   moss quality --ref REF.gguf --model Q.gguf [--model Q2.gguf ...] [--texts N] [--tokens-per-text T]
//                [--sft-dir DIR | --texts-file FILE] [-t T] [--json]
// Tokenizes N MOSS-003 SFT conversations (text = meta_instruction + every field of every turn, in
// the file's order; markers such as <eoh> are special tokens), takes a window of T tokens from each,
// runs the reference and every model over each window in one prefill, and reports per model the
// relative RMS error of the logits, top-1 agreement, mean KL(ref || model) and top-1 agreement over
// the positions the reference decides by at least --margin (model/quality.h).
// The window starts where the turns begin (the meta instruction is the same in every file, so
// windows over it would all be one text), or earlier if the text is shorter. With --texts-file
// each line is one JSON string, evaluated from its first token. With --json the last stdout line
// is one JSON object.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/command.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/quality.h"
#include "model/random_model.h"
#include "util/paths.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace moss::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct QualityArgs {
  std::string ref, sft_dir, texts_file;
  std::string kv_type = "f32";  // KV cache of the compared models (the reference always uses f32)
  std::vector<std::string> models;
  int texts = 8, tokens = 64, threads = 0;
  double margin = 0.1;
  bool json_out = false;
};

struct Text {
  std::string name, prefix, body;  // the window starts at the first token of `body`
};

json read_json_file(const fs::path& p) {
  std::ifstream f(p);
  if (!f) fail("cannot read ", p.string());
  try {
    return json::parse(f);
  } catch (const json::exception& e) {
    fail(p.string(), " is not valid JSON: ", e.what());
  }
}

// N conversations spread evenly over the sorted file list (deterministic, all categories).
std::vector<Text> sft_texts(const std::string& dir, int n) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
  if (ec) fail("cannot list ", dir, ": ", ec.message());
  if (files.empty()) fail("no conversation files (*.json) under ", dir);
  std::sort(files.begin(), files.end());
  std::vector<Text> out;
  const size_t count = std::min(files.size(), static_cast<size_t>(n));
  for (size_t i = 0; i < count; ++i) {
    const fs::path& p = files[i * files.size() / count];
    const json c = read_json_file(p);
    Text t;
    try {
      t = {p.filename().string(), c.value("meta_instruction", std::string()), {}};
      if (!c.contains("chat") || !c["chat"].is_object()) fail(p.string(), ": no \"chat\" object");
      for (int k = 1; c["chat"].contains("turn_" + std::to_string(k)); ++k) {
        const json& turn = c["chat"]["turn_" + std::to_string(k)];
        if (!turn.is_object()) fail(p.string(), ": turn_", k, " is not an object");
        // The fields in MOSS's turn order, not the file's key order (nlohmann::json sorts keys);
        // conversations without plugins have Human and MOSS only.
        for (const char* field : {"Human", "Inner Thoughts", "Commands", "Tool Responses", "MOSS"})
          if (turn.contains(field) && turn[field].is_string()) t.body += turn[field].get<std::string>();
      }
    } catch (const json::exception& e) {  // a field of the wrong JSON type
      fail(p.string(), ": not a MOSS SFT conversation: ", e.what());
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<Text> file_texts(const std::string& path, int n) {
  std::ifstream f(path);
  if (!f) fail("cannot read ", path);
  std::vector<Text> out;
  std::string line;
  for (int lineno = 1; std::getline(f, line) && static_cast<int>(out.size()) < n; ++lineno) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      fail(path, ":", lineno, ": not a JSON string: ", e.what());
    }
    if (!j.is_string()) fail(path, ":", lineno, ": not a JSON string");
    out.push_back({path + ":" + std::to_string(lineno), {}, j.get<std::string>()});
  }
  if (out.empty()) fail(path, ": no texts");
  return out;
}

int run_quality(const QualityArgs& a) {
  if (a.models.empty()) fail("give at least one --model to compare with the reference");
  if (a.texts < 1 || a.texts > 100000) fail("--texts must be in 1..100000");
  if (a.tokens < 1) fail("--tokens-per-text must be at least 1");
  if (!(a.margin >= 0)) fail("--margin must be >= 0");
  std::vector<Text> texts;
  if (!a.texts_file.empty()) {
    texts = file_texts(a.texts_file, a.texts);
  } else {
    std::string dir = a.sft_dir.empty() ? find_beside_checkout("shared/data/moss-003-sft/conversations") : a.sft_dir;
    if (dir.empty()) fail("no SFT conversations found beside the checkout: give --sft-dir or --texts-file");
    texts = sft_texts(dir, a.texts);
  }

  auto ref = Model::load(a.ref, a.threads);
  const int64_t V = ref->config().n_vocab;
  const Tokenizer tok = Tokenizer::from_metadata(ref->file().meta);
  std::vector<std::vector<int32_t>> windows;
  std::vector<std::vector<float>> ref_logits;
  int64_t positions = 0;
  for (const auto& t : texts) {
    const std::vector<int32_t> prefix = tok.encode(t.prefix, /*parse_special=*/true);
    const std::vector<int32_t> all = tok.encode(t.prefix + t.body, /*parse_special=*/true);
    if (all.empty()) fail(t.name, ": the text has no tokens");
    const size_t T = std::min(all.size(), static_cast<size_t>(a.tokens));
    const size_t start = std::min(prefix.size(), all.size() - T);
    windows.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(start),
                         all.begin() + static_cast<std::ptrdiff_t>(start + T));
    if (static_cast<int64_t>(T) > ref->config().n_ctx)
      fail("--tokens-per-text ", a.tokens, " does not fit the reference's context length ", ref->config().n_ctx);
    ref_logits.push_back(prefill_logits(*ref, windows.back()));
    positions += static_cast<int64_t>(T);
  }
  ref.reset();  // one model in memory at a time

  json report = {{"reference", a.ref},
                 {"texts", texts.size()},
                 {"positions", positions},
                 {"margin", a.margin},
                 {"models", json::array()}};
  std::printf(
      "reference %s: %zu texts, %lld positions, %lld logits each; 'decided' = top-1 over the positions\n"
      "where the reference's best logit leads the runner-up by >= %g\n",
      a.ref.c_str(), texts.size(), static_cast<long long>(positions), static_cast<long long>(V), a.margin);
  std::printf("%-40s %10s %8s %11s %9s %s\n", "model", "rel. RMS", "top-1", "mean KL", "decided", "(positions)");
  for (const auto& path : a.models) {
    auto m = Model::load(path, a.threads, kv_type_from_name(a.kv_type));
    if (m->config().n_vocab != V)
      fail(path, " has ", m->config().n_vocab, " vocabulary rows, the reference ", V, ": not the same model");
    QualityStats s;
    for (size_t i = 0; i < windows.size(); ++i) {
      if (static_cast<int64_t>(windows[i].size()) > m->config().n_ctx)
        fail("--tokens-per-text ", a.tokens, " does not fit the context length ", m->config().n_ctx, " of ", path);
      accumulate_quality(ref_logits[i], prefill_logits(*m, windows[i]), V, s, a.margin);
    }
    char decided[32] = "      n/a";  // no position decided: no figure rather than a vacuous 100%
    if (s.decided_positions > 0) std::snprintf(decided, sizeof decided, "%8.2f%%", 100.0 * s.decided_top1_agreement());
    std::printf("%-40s %10.6f %7.2f%% %11.3e %s (%lld)\n", path.c_str(), s.rel_rms(), 100.0 * s.top1_agreement(),
                s.mean_kl(), decided, static_cast<long long>(s.decided_positions));
    std::fflush(stdout);
    report["models"].push_back({{"model", path},
                                {"kv_type", a.kv_type},
                                {"rel_rms", s.rel_rms()},
                                {"top1_agreement", s.top1_agreement()},
                                {"mean_kl", s.mean_kl()},
                                {"positions", s.positions},
                                {"decided_top1_agreement", s.decided_top1_agreement()},
                                {"decided_positions", s.decided_positions}});
  }
  if (a.json_out) std::printf("%s\n", report.dump().c_str());
  return 0;
}

const CommandRegistration reg(
    "quality", "compare models' logits with a reference model's on SFT texts (rel. RMS, top-1, KL)", [](CLI::App& sub) {
      auto a = std::make_shared<QualityArgs>();
      sub.add_option("--ref", a->ref, "reference model (e.g. the f32 or f16 GGUF)")->required();
      sub.add_option("-m,--model", a->models, "model to compare (repeatable)")->required();
      sub.add_option("--texts", a->texts, "number of texts (default 8)");
      sub.add_option("--tokens-per-text", a->tokens, "tokens evaluated per text (default 64)");
      auto* sft = sub.add_option("--sft-dir", a->sft_dir,
                                 "folder of MOSS-003 SFT conversation JSON files (default: "
                                 "shared/data/moss-003-sft/conversations beside the checkout)");
      sub.add_option("--texts-file", a->texts_file, "texts instead: one JSON string per line")->excludes(sft);
      sub.add_option(
          "--margin", a->margin,
          "top-1 'decided': only positions where the reference's top-1 logit leads by this much (default 0.1)");
      sub.add_option("-t,--threads", a->threads, "worker threads (default: all cores)");
      sub.add_flag("--json", a->json_out, "print one JSON object as the last line");
      sub.add_option("--kv-type", a->kv_type,
                     "KV cache of the compared models: f32 (default), f16 or q8_0; the reference keeps f32, so "
                     "'--ref M -m M --kv-type q8_0' measures the cache alone")
          ->check(CLI::IsMember({"f32", "f16", "q8_0"}));
      return [a] { return run_quality(*a); };
    });

}  // namespace
}  // namespace moss::cli
