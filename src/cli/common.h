// Options and helpers shared by the subcommands that load a model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace moss::cli {

struct ModelOptions {
  std::string model;  // GGUF file or Hugging Face folder
  int threads = 0;    // 0 = all hardware threads
  void add_to(CLI::App& sub, bool model_required = true);
};

// Parses "1,2,3" (spaces allowed) into ids; throws moss::Error on anything else.
std::vector<int32_t> parse_id_list(const std::string& text);
std::string join_ids(const std::vector<int32_t>& ids);

}  // namespace moss::cli
