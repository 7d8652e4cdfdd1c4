// GPT-2 BPE merge loop; see bpe.h.
#include "tokenizer/bpe.h"

#include <cctype>
#include <functional>
#include <algorithm>

#include "tokenizer/byte_map.h"
#include "util/error.h"

namespace moss {
namespace {
uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
}  // namespace

Bpe::Bpe(const std::unordered_map<std::string, int32_t>& symbol_ids, int32_t n_tokens,
         const std::vector<std::string>& merges, int32_t unk_id)
    : symbols_(symbol_ids), n_tokens_(n_tokens), next_fresh_(n_tokens), unk_id_(unk_id) {
  const ByteMap& bm = ByteMap::get();
  for (int b = 0; b < 256; ++b) byte_symbol_[b] = intern(bm.to_text(static_cast<uint8_t>(b)));
  size_t cap = 16;
  while (cap < 2 * merges.size()) cap *= 2;
  table_.assign(cap, Slot{});
  mask_ = cap - 1;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    // Python: tuple(line.split()); only 2-tuples can ever equal a pair of symbols.
    const std::string& line = merges[rank];
    std::vector<std::string> parts;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      size_t j = i;
      while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
      if (j > i) parts.emplace_back(line.substr(i, j - i));
      i = j;
    }
    if (parts.size() != 2) continue;
    const int32_t a = intern(parts[0]), b = intern(parts[1]);
    const int32_t r = intern(parts[0] + parts[1]);
    set_merge(a, b, Merge{static_cast<int32_t>(rank), r});  // a repeated pair: the last rank wins
  }
}

namespace {
size_t slot_of(uint64_t key, uint64_t mask) { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 17) & mask; }
}  // namespace

const Bpe::Merge* Bpe::find_merge(int32_t left, int32_t right) const {
  const uint64_t key = pair_key(left, right);
  for (size_t i = slot_of(key, mask_);; i = (i + 1) & mask_) {
    const Slot& s = table_[i];
    if (s.key == key) return &s.merge;
    if (s.key == kEmpty) return nullptr;
  }
}

void Bpe::set_merge(int32_t left, int32_t right, Merge m) {
  const uint64_t key = pair_key(left, right);
  for (size_t i = slot_of(key, mask_);; i = (i + 1) & mask_) {
    Slot& s = table_[i];
    if (s.key == key || s.key == kEmpty) {
      s.key = key;
      s.merge = m;
      return;
    }
  }
}

int32_t Bpe::intern(const std::string& text) {
  auto [it, inserted] = symbols_.emplace(text, next_fresh_);
  if (inserted) ++next_fresh_;  // ids >= n_tokens: merge results that are not tokens
  return it->second;
}

void Bpe::encode(std::string_view bytes, std::vector<int32_t>& out) const {
  if (bytes.empty()) return;
  const size_t h = SvHash{}(bytes);
  Shard& shard = cache_[(h >> 7) % kShards];  // not the low bits, which pick the bucket
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.map.find(bytes);
    if (it != shard.map.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = out.size();
  merge(bytes, out);
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.map.size() >= kShardEntries) shard.map.clear();
  shard.map.emplace(std::string(bytes), std::vector<int32_t>(out.begin() + static_cast<std::ptrdiff_t>(first), out.end()));
}

// GPT-2's loop: repeatedly take the lowest-ranked adjacent pair and merge *every* non-overlapping
// occurrence of it, left to right, before looking at the pairs those merges created. Done with a
// heap of (rank, position) so a long pre-token (a paragraph of CJK text, hostile input) costs
// O(n log n) instead of O(n^2): all heap entries of the current rank are applied in position order
// in one pass, and the pairs that pass creates are pushed only after it, which is exactly the
// reference's "merge all occurrences, then recompute pairs".
void Bpe::merge(std::string_view bytes, std::vector<int32_t>& out) const {
  struct Cand {
    int32_t rank, pos, left, right;  // left/right: the symbols when queued (stale check)
    int32_t result;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  // Per-thread scratch buffers: most pre-tokens are a few bytes, and allocating five vectors for
  // each would cost more than the merging itself.
  struct Scratch {
    std::vector<int32_t> sym, prev, next;
    std::vector<Cand> heap, fresh;
  };
  thread_local Scratch sc;
  const size_t n = bytes.size();
  std::vector<int32_t>& sym = sc.sym;
  std::vector<int32_t>& prev = sc.prev;
  std::vector<int32_t>& next = sc.next;
  sym.resize(n);
  prev.resize(n);
  next.resize(n);
  for (size_t i = 0; i < n; ++i) {
    sym[i] = byte_symbol_[static_cast<uint8_t>(bytes[i])];
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
  // A min-heap on (rank, position) kept in the scratch vector.
  std::vector<Cand>& heap = sc.heap;
  heap.clear();
  const auto later = std::greater<Cand>{};
  auto push_pair = [&](std::vector<Cand>& into, int32_t i) {
    if (i < 0 || next[i] < 0) return;
    if (const Merge* m = find_merge(sym[i], sym[next[i]])) into.push_back({m->rank, i, sym[i], sym[next[i]], m->result});
  };
  std::vector<Cand>& fresh = sc.fresh;
  fresh.clear();
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(n); ++i) push_pair(fresh, i);
  for (const Cand& c : fresh) heap.push_back(c);
  std::make_heap(heap.begin(), heap.end(), later);
  size_t live = n;
  while (!heap.empty() && live > 1) {
    const int32_t rank = heap.front().rank;
    fresh.clear();
    while (!heap.empty() && heap.front().rank == rank) {
      std::pop_heap(heap.begin(), heap.end(), later);
      const Cand c = heap.back();
      heap.pop_back();
      // Stale if either symbol changed since the pair was queued (a merge consumed it).
      if (sym[c.pos] != c.left || next[c.pos] < 0 || sym[next[c.pos]] != c.right) continue;
      const int32_t j = next[c.pos];
      sym[c.pos] = c.result;
      sym[j] = -1;  // dead
      next[c.pos] = next[j];
      if (next[j] >= 0) prev[next[j]] = c.pos;
      --live;
      // New pairs around the merged symbol: queued after this pass (see above). The pair to the
      // left may be re-queued with the same position; stale copies are filtered out later.
      push_pair(fresh, prev[c.pos]);
      push_pair(fresh, c.pos);
    }
    for (const Cand& c : fresh) {
      heap.push_back(c);
      std::push_heap(heap.begin(), heap.end(), later);
    }
  }
  for (int32_t i = 0; i >= 0; i = next[i]) {
    int32_t id = sym[i];
    if (id >= n_tokens_) {
      if (unk_id_ < 0) fail("tokenizer: BPE produced a symbol that is not in the vocabulary and there is no unknown token");
      id = unk_id_;
    }
    out.push_back(id);
  }
}

}  // namespace moss
