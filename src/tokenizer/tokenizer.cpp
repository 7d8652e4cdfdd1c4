// The MOSS tokenizer: ties the added-token split, the GPT-2 pre-tokenizer and BPE together and
// implements the transformers 4.25.1 decode rules (spec 2.5-2.6). See tokenizer.h.
#include "tokenizer/tokenizer.h"

#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "formats/metadata.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/byte_map.h"
#include "tokenizer/pretokenizer.h"
#include "util/utf8.h"
#include "util/error.h"

namespace moss {

namespace {
constexpr int32_t kTypeControl = 3;
constexpr int32_t kTypeUserDefined = 4;
}  // namespace

struct Tokenizer::Impl {
  std::vector<std::string> text;   // token text as stored
  std::vector<std::string> bytes;  // raw bytes each token stands for
  std::vector<uint8_t> added, special;
  std::unordered_map<std::string, int32_t> lookup;  // text -> id (added tokens take precedence)
  int32_t bos = -1, eos = -1, unk = -1;
  PreTokenizer pre;
  std::optional<Bpe> bpe;
  AddedTokenSplitter split_all;    // parse_special = true: every no-split token
  AddedTokenSplitter split_plain;  // parse_special = false: non-special added tokens only

  void check_id(int32_t id) const {
    if (id < 0 || id >= static_cast<int32_t>(text.size()))
      fail("token id ", id, " is outside the vocabulary (0..", static_cast<int64_t>(text.size()) - 1, ")");
  }
};

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::from_vocab(const TokenizerVocab& v) {
  const auto n = static_cast<int64_t>(v.tokens.size());
  if (n == 0) fail("tokenizer: the vocabulary is empty");
  if (n > INT32_MAX / 2) fail("tokenizer: the vocabulary has too many tokens (", n, ")");
  if (!v.types.empty() && static_cast<int64_t>(v.types.size()) != n)
    fail("tokenizer: ", v.types.size(), " token types for ", n, " tokens");
  auto check = [&](int32_t id, const char* what, bool allow_none) {
    if ((allow_none && id == -1) || (id >= 0 && id < n)) return;
    fail("tokenizer: ", what, " id ", id, " is outside the vocabulary of ", n, " tokens");
  };
  check(v.bos_id, "bos", true);
  check(v.eos_id, "eos", true);
  check(v.unk_id, "unknown-token", true);
  for (int32_t id : v.strip_neighbor_ids) check(id, "strip-neighbour token", false);

  Tokenizer tok;
  tok.impl_ = std::make_unique<Impl>();
  Impl& m = *tok.impl_;
  m.text = v.tokens;
  m.bytes.resize(n);
  m.added.assign(n, 0);
  m.special.assign(n, 0);
  m.bos = v.bos_id;
  m.eos = v.eos_id;
  m.unk = v.unk_id;
  const ByteMap& bm = ByteMap::get();
  std::unordered_map<std::string, int32_t> normal;
  int32_t first_user_defined = static_cast<int32_t>(n);  // see the type rules in tokenizer.h
  for (int32_t id = static_cast<int32_t>(n) - 1; id >= 0; --id)
    if (!v.types.empty() && v.types[id] == kTypeUserDefined) first_user_defined = id;
  for (int32_t id = 0; id < n; ++id) {
    const int32_t type = v.types.empty() ? 1 : v.types[id];
    if (type == kTypeControl) m.special[id] = 1;
    if (type == kTypeUserDefined || (type == kTypeControl && id >= first_user_defined)) {
      if (v.tokens[id].empty()) fail("tokenizer: added token ", id, " has empty text");
      if (!utf8::is_valid(v.tokens[id])) fail("tokenizer: added token ", id, " is not valid UTF-8");
      m.added[id] = 1;
      m.bytes[id] = v.tokens[id];
    } else {
      m.bytes[id] = bm.to_bytes(v.tokens[id]);
      normal.emplace(v.tokens[id], id);  // first id wins for (invalid) duplicate texts
    }
  }
  for (int32_t id : {v.bos_id, v.eos_id, v.unk_id})
    if (id >= 0) m.special[id] = 1;

  // Symbol lookup as convert_tokens_to_ids does it: added tokens first, then vocab.json.
  m.lookup = normal;
  std::vector<std::pair<std::string, int32_t>> all, plain;
  for (int32_t id = 0; id < n; ++id) {
    if (!m.added[id] && !m.special[id]) continue;
    const std::string& t = m.added[id] ? v.tokens[id] : m.bytes[id];
    if (t.empty()) continue;
    if (m.added[id]) {
      auto [it, inserted] = m.lookup.emplace(t, id);
      if (!inserted && m.added[it->second]) fail("tokenizer: added tokens ", it->second, " and ", id, " have the same text");
      it->second = id;
    }
    all.emplace_back(t, id);
    if (!m.special[id]) plain.emplace_back(t, id);
  }
  std::unordered_set<int32_t> strip(v.strip_neighbor_ids.begin(), v.strip_neighbor_ids.end());
  m.split_all.init(all, strip);
  m.split_plain.init(plain, strip);
  m.bpe.emplace(m.lookup, static_cast<int32_t>(n), v.merges, v.unk_id);
  return tok;
}

Tokenizer Tokenizer::from_metadata(const Metadata& meta) {
  TokenizerVocab v;
  const std::string model = meta.get_string(keys::kTokModel, "gpt2");
  if (model != "gpt2") fail("tokenizer: unsupported tokenizer model '", model, "' (only gpt2 byte-level BPE)");
  v.tokens = meta.get_string_array(keys::kTokTokens);
  if (meta.has(keys::kTokTypes)) {
    for (int64_t t : meta.get_int_array(keys::kTokTypes)) v.types.push_back(static_cast<int32_t>(t));
  }
  if (meta.has(keys::kTokMerges)) v.merges = meta.get_string_array(keys::kTokMerges);
  auto id_key = [&](const char* key) -> int32_t {
    const int64_t id = meta.get_int(key, -1);
    if (id < -1 || id > INT32_MAX) fail("tokenizer: ", key, " = ", id, " is not a token id");
    return static_cast<int32_t>(id);
  };
  v.bos_id = id_key(keys::kTokBos);
  v.eos_id = id_key(keys::kTokEos);
  v.unk_id = id_key(keys::kTokUnk);
  if (meta.has(keys::kTokStripIds)) {
    for (int64_t id : meta.get_int_array(keys::kTokStripIds)) {
      if (id < 0 || id > INT32_MAX) fail("tokenizer: ", keys::kTokStripIds, " holds ", id, ", not a token id");
      v.strip_neighbor_ids.push_back(static_cast<int32_t>(id));
    }
  }
  return from_vocab(v);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  if (!impl_) fail("tokenizer: not loaded");
  const Impl& m = *impl_;
  std::string fixed;
  if (!utf8::is_valid(text)) {
    fixed = utf8::decode_replace(text);
    text = fixed;
  }
  std::vector<int32_t> ids;
  std::vector<std::string_view> pre;
  for (const auto& piece : (parse_special ? m.split_all : m.split_plain).split(text)) {
    if (piece.id >= 0) {
      ids.push_back(piece.id);
      continue;
    }
    pre.clear();
    m.pre.split(piece.text, pre);
    for (std::string_view p : pre) m.bpe->encode(p, ids);
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  if (!impl_) fail("tokenizer: not loaded");
  const Impl& m = *impl_;
  // transformers 4.25.1 _decode: runs of ordinary tokens become one segment (bytes decoded with
  // errors="replace"); every added token is a segment of its own; segments are joined with one
  // space (spaces_between_special_tokens); no clean-up (clean_up_tokenization_spaces=None).
  std::string out, run;
  bool first = true;
  auto emit = [&](const std::string& seg) {
    if (!first) out += ' ';
    out += seg;
    first = false;
  };
  for (int32_t id : ids) {
    m.check_id(id);
    if (skip_special && m.special[id]) continue;
    if (m.added[id]) {
      if (!run.empty()) emit(utf8::decode_replace(run));
      run.clear();
      emit(m.bytes[id]);
    } else {
      run += m.bytes[id];
    }
  }
  if (!run.empty()) emit(utf8::decode_replace(run));
  return out;
}

std::string Tokenizer::token_bytes(int32_t id) const {
  if (!impl_) fail("tokenizer: not loaded");
  impl_->check_id(id);
  return impl_->bytes[id];
}

int32_t Tokenizer::n_tokens() const { return impl_ ? static_cast<int32_t>(impl_->text.size()) : 0; }

bool Tokenizer::is_special(int32_t id) const {
  return impl_ && id >= 0 && id < n_tokens() && impl_->special[id];
}

bool Tokenizer::is_added(int32_t id) const { return impl_ && id >= 0 && id < n_tokens() && impl_->added[id]; }

int32_t Tokenizer::token_id(std::string_view token_text) const {
  if (!impl_) return -1;
  auto it = impl_->lookup.find(std::string(token_text));
  return it == impl_->lookup.end() ? -1 : it->second;
}

int32_t Tokenizer::eos_id() const { return impl_ ? impl_->eos : -1; }
int32_t Tokenizer::bos_id() const { return impl_ ? impl_->bos : -1; }

// ---- streaming ----

std::string TokenTextStream::push(int32_t id) {
  if (skip_special_ && tok_.is_special(id)) {
    tok_.token_bytes(id);  // still reject ids outside the vocabulary
    return {};
  }
  if (tok_.is_added(id)) {
    // An added token closes the byte run, as in decode(): held-back bytes can no longer complete.
    std::string out = utf8::decode_replace(pending_);
    pending_.clear();
    return out + tok_.token_bytes(id);
  }
  pending_ += tok_.token_bytes(id);
  const size_t keep = utf8::incomplete_tail(pending_);
  std::string out = utf8::decode_replace(std::string_view(pending_).substr(0, pending_.size() - keep));
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string TokenTextStream::flush() {
  std::string out = utf8::decode_replace(pending_);
  pending_.clear();
  return out;
}

}  // namespace moss
