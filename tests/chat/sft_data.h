// Test helper: loads the 1,120 SFT conversations from the shared data folder.
#pragma once
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moss::test {

struct SftConversation {
  std::string path;
  bool plugin = false;  // under conversation_with_plugins
  nlohmann::json json;
};

inline const std::vector<SftConversation>& sft_conversations() {
  static const std::vector<SftConversation> all = [] {
    std::vector<SftConversation> v;
    const std::filesystem::path root = std::filesystem::path(MOSS_SHARED_DIR) / "data/moss-003-sft/conversations";
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      if (!e.is_regular_file() || e.path().extension() != ".json") continue;
      std::ifstream f(e.path());
      SftConversation c;
      c.path = e.path().string();
      c.plugin = c.path.find("conversation_with_plugins") != std::string::npos;
      c.json = nlohmann::json::parse(f);
      v.push_back(std::move(c));
    }
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return v;
  }();
  return all;
}

// The turns of a conversation in order (turn_1 .. turn_N).
inline std::vector<nlohmann::json> sft_turns(const nlohmann::json& conv) {
  std::vector<nlohmann::json> turns;
  for (int k = 1; conv["chat"].contains("turn_" + std::to_string(k)); ++k) turns.push_back(conv["chat"]["turn_" + std::to_string(k)]);
  return turns;
}

}  // namespace moss::test
