// Byte-level BPE merges (spec 2.4): the GPT-2 merge loop over one pre-token, with symbols interned
// as integers and merge ranks in a hash map keyed by the symbol pair, plus a thread-safe
// per-pre-token cache.
#pragma once
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace moss {

class Bpe {
 public:
  // symbol_ids: token text (byte-level for vocabulary entries, raw for added tokens) -> id; ids
  // are < n_tokens. merges: "a b" in rank order (lines that do not split into exactly two parts
  // keep their rank but never match, as in Python; a repeated pair keeps its last rank, as
  // dict(zip(merges, range(n))) does). unk_id: id for symbols that are not tokens (-1: error).
  Bpe(const std::unordered_map<std::string, int32_t>& symbol_ids, int32_t n_tokens,
      const std::vector<std::string>& merges, int32_t unk_id);

  // Appends the ids of one pre-token given as raw bytes.
  void encode(std::string_view pre_token_bytes, std::vector<int32_t>& out) const;

 private:
  void merge(std::string_view bytes, std::vector<int32_t>& out) const;
  int32_t intern(const std::string& text);

  struct Merge {
    int32_t rank;
    int32_t result;  // interned symbol
  };
  // Merge ranks in an open-addressing table keyed by (left << 32 | right): the lookup is the
  // inner loop of BPE, and a node-based map costs two cache misses per probe.
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{};
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  const Merge* find_merge(int32_t left, int32_t right) const;
  void set_merge(int32_t left, int32_t right, Merge m);

  std::unordered_map<std::string, int32_t> symbols_;  // interned texts (tokens + merge results)
  std::vector<Slot> table_;                           // size: a power of two, at most half full
  uint64_t mask_ = 0;
  std::array<int32_t, 256> byte_symbol_{};            // symbol of each single byte
  int32_t n_tokens_ = 0;                              // interned ids >= n_tokens are not tokens
  int32_t next_fresh_ = 0;
  int32_t unk_id_ = -1;

  // Cache of finished pre-tokens, sharded to keep lock contention low when a server encodes from
  // several threads. A shard is simply cleared when it grows past its bound.
  static constexpr size_t kShards = 16;
  static constexpr size_t kShardEntries = 8192;
  struct SvHash {
    using is_transparent = void;  // lets find() take a string_view without building a string
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, SvHash, std::equal_to<>> map;
  };
  mutable std::array<Shard, kShards> cache_;
};

}  // namespace moss
