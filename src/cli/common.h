// Options and helpers shared by the subcommands that load a model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace CLI {
class App;
}

namespace moss::cli {

// The KV cache element type the CLI uses when --kv-type is not given: f16 (half the cache memory,
// decode not slower, logits within ~0.6% relative RMS of the f32 cache; measurements in
// bench/README.md). The library default, for tests and other callers, stays f32 (exact).
inline constexpr const char* kDefaultKvType = "f16";

struct ModelOptions {
  std::string model;  // GGUF file or Hugging Face folder
  int threads = 0;    // 0 = all hardware threads
  std::string kv_type = kDefaultKvType;
  void add_to(CLI::App& sub, bool model_required = true);
  // Adds --kv-type f16|f32 (for the commands that keep a KV cache: bench, generate, chat, serve).
  void add_kv_type_to(CLI::App& sub);
  // kv_type parsed; throws moss::Error for anything but f32 / f16.
  DType kv_dtype() const;
};

// The --kv-type option itself, for commands with their own option structs (moss bench).
void add_kv_type_option(CLI::App& sub, std::string& kv_type);

// Parses "1,2,3" (spaces allowed) into ids; throws moss::Error on anything else.
std::vector<int32_t> parse_id_list(const std::string& text);
std::string join_ids(const std::vector<int32_t>& ids);

}  // namespace moss::cli
