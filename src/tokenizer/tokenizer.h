// The MOSS tokenizer: GPT-2 byte-level BPE plus MOSS's added tokens, behaving exactly like
// MossTokenizer under transformers 4.25.1 (spec 2.1-2.6): no-split added tokens (the 38 whitespace
// runs, <|endoftext|>, <eoh> <eom> <eot> <eoc> <eor>) found leftmost-longest, neighbour stripping
// for the plain-string ones, the GPT-2 pre-tokenizer regex, merges by rank, and decoding that joins
// added-token segments with single spaces.
//
// Safety: text a user types never becomes a special token (<eoh>, <|endoftext|>, ...) unless the
// caller passes parse_special = true. The whitespace-run tokens are not special and always split,
// as in the reference.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moss {

class Metadata;

// Everything the tokenizer is built from, as explicit lists (what from_metadata reads from the
// tokenizer.* keys; tests build it from the GPT-2 files directly).
//
// Token types (GGUF): 1 normal, 3 control (special), 4 user-defined (added, not special); any other
// type counts as normal. Mirroring the transformers 4.25.1 slow tokenizer:
//   all_special_ids = type 3 plus bos/eos/unk;
//   added tokens (added_tokens.json: no-split, raw UTF-8 text, own segment in decode()) = type 4
//     plus the type-3 tokens at or after the first type-4 id. A type-3 token before it is a
//     vocab.json entry made special (<|endoftext|>, 106028 / GPT-2's 50256): byte-level text, and
//     it decodes as ordinary text, as in the reference. (Added tokens follow vocab.json densely,
//     so this is exact whenever the added tokens include a non-special one, as MOSS's do.)
//   no-split tokens = added + special; with parse_special = false only the non-special ones.
struct TokenizerVocab {
  std::vector<std::string> tokens;  // id -> text
  std::vector<int32_t> types;       // id -> type (empty: all normal)
  std::vector<std::string> merges;  // "a b", by rank
  int32_t bos_id = -1, eos_id = -1, unk_id = -1;  // -1: none
  std::vector<int32_t> strip_neighbor_ids;        // spec 2.5 stripping (plain-string no-split tokens)
};

class Tokenizer {
 public:
  // From the tokenizer.* keys of a model (see formats/metadata.h). Throws moss::Error if missing or
  // inconsistent.
  static Tokenizer from_metadata(const Metadata& meta);
  // From explicit lists. Throws moss::Error if inconsistent (ids out of range, duplicate added
  // tokens, empty added-token text).
  static Tokenizer from_vocab(const TokenizerVocab& vocab);
  Tokenizer();
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Invalid UTF-8 in `text` is first replaced by U+FFFD (as if the bytes had been decoded with
  // errors="replace"), since the reference only ever sees Python strings.
  std::vector<int32_t> encode(std::string_view text, bool parse_special = false) const;
  // Invalid UTF-8 in the decoded bytes becomes U+FFFD (errors="replace"). Ids outside the
  // vocabulary (e.g. LM-head padding rows) throw moss::Error.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  // The raw bytes one token stands for (byte-level BPE undone; added tokens' own text). For
  // streaming and for constrained decoding.
  std::string token_bytes(int32_t id) const;
  int32_t n_tokens() const;                   // len(tokenizer): vocabulary + added tokens
  bool is_special(int32_t id) const;          // all_special_ids
  int32_t token_id(std::string_view token_text) const;  // added token or vocab entry; -1 if none
  int32_t eos_id() const;
  int32_t bos_id() const;
  bool is_added(int32_t id) const;  // an added token (types 3/4): its own segment in decode()

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Turns a stream of token ids into text pieces that are always whole UTF-8 characters, for
// streaming output: bytes of a character split across tokens are held back until complete. The
// concatenation of the pieces equals decode(all ids) (without the spaces that decode() inserts
// around added tokens, which is what a chat stream wants).
class TokenTextStream {
 public:
  explicit TokenTextStream(const Tokenizer& tok, bool skip_special = true) : tok_(tok), skip_special_(skip_special) {}
  std::string push(int32_t id);  // text that became complete with this token (may be empty)
  std::string flush();           // whatever is held back, with invalid bytes as U+FFFD

 private:
  const Tokenizer& tok_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace moss
