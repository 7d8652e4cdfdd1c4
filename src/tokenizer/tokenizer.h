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

class Tokenizer {
 public:
  // From the tokenizer.* keys of a model (see formats/metadata.h). Throws moss::Error if missing or
  // inconsistent.
  static Tokenizer from_metadata(const Metadata& meta);
  Tokenizer();
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

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
