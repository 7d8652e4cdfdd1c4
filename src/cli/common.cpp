// Shared CLI helpers.
#include "cli/common.h"

#include <CLI/CLI.hpp>

#include "model/kv_cache.h"
#include "util/error.h"

namespace moss::cli {

void ModelOptions::add_to(CLI::App& sub, bool model_required) {
  auto* opt = sub.add_option("-m,--model", model, "model: a .gguf file or a Hugging Face model folder");
  if (model_required) opt->required();
  sub.add_option("-t,--threads", threads, "worker threads (default: all cores; clamped to a sane range)");
}

void ModelOptions::add_kv_type_to(CLI::App& sub) { add_kv_type_option(sub, kv_type); }

DType ModelOptions::kv_dtype() const { return kv_type_from_name(kv_type); }

void add_kv_type_option(CLI::App& sub, std::string& kv_type) {
  sub.add_option("--kv-type", kv_type,
                 std::string("KV cache element type: f16 (half the cache memory, keys/values rounded to half), "
                             "q8_0 (about a quarter: 8-bit blocks of 32 with a scale; head size a multiple of 32) or "
                             "f32 (exact); default ") +
                     kDefaultKvType)
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}));
}

std::vector<int32_t> parse_id_list(const std::string& text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
    if (i >= text.size()) break;
    size_t j = i;
    if (text[j] == '-') ++j;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    if (j == i || (j == i + 1 && text[i] == '-') || (j < text.size() && text[j] != ',' && text[j] != ' '))
      fail("bad token id list near '", text.substr(i, 20), "': expected comma-separated integers");
    const long long v = std::stoll(text.substr(i, j - i));
    if (v < 0 || v > INT32_MAX) fail("token id ", text.substr(i, j - i), " is out of range");
    ids.push_back(static_cast<int32_t>(v));
    i = j;
  }
  return ids;
}

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s;
}

}  // namespace moss::cli
