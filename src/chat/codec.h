// How the chat loop turns text into tokens and back. The loop never asks a tokenizer to parse
// special tokens out of text: every piece of text (user input, plugin results, the meta
// instruction, role tags) goes through encode_text, which must never produce a special token, and
// the end markers are inserted by the program as ids. This is what keeps a user or a search
// snippet from injecting "<eoh>"/"<eom>" turn structure (spec 2.5 safety note in tokenizer.h).
// TokenizerCodec adapts the real Tokenizer; ByteCodec is a tiny stand-in for tests.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moss {

class Tokenizer;

enum class Marker { Eoh, Eot, Eoc, Eor, Eom, EndOfText };

class ChatCodec {
 public:
  virtual ~ChatCodec() = default;
  virtual std::vector<int32_t> encode_text(std::string_view text) const = 0;  // no special tokens, ever
  virtual int32_t marker(Marker m) const = 0;
  virtual std::string token_bytes(int32_t id) const = 0;  // raw bytes; a special token's own text
  virtual bool is_special(int32_t id) const = 0;
  virtual int32_t n_tokens() const = 0;  // ids >= this are LM-head padding, never sampled
};

class TokenizerCodec : public ChatCodec {
 public:
  explicit TokenizerCodec(const Tokenizer& tok);
  std::vector<int32_t> encode_text(std::string_view text) const override;
  int32_t marker(Marker m) const override;
  std::string token_bytes(int32_t id) const override;
  bool is_special(int32_t id) const override;
  int32_t n_tokens() const override;

 private:
  const Tokenizer& tok_;
  int32_t markers_[6];
};

// Test codec: ids 0-255 are bytes, 256-261 the markers in Marker order.
class ByteCodec : public ChatCodec {
 public:
  std::vector<int32_t> encode_text(std::string_view text) const override;
  int32_t marker(Marker m) const override { return 256 + static_cast<int32_t>(m); }
  std::string token_bytes(int32_t id) const override;
  bool is_special(int32_t id) const override { return id >= 256; }
  int32_t n_tokens() const override { return 262; }
  // Test helper: text with "<eoh>" etc. written as marker ids (for scripting model output).
  std::vector<int32_t> encode_with_markers(std::string_view text) const;
};

// Assembles token bytes into whole UTF-8 characters for streaming: push() returns what became
// complete; flush() returns the rest with invalid bytes as U+FFFD.
class Utf8Assembler {
 public:
  std::string push(std::string_view bytes);
  std::string flush();

 private:
  std::string pending_;
};

// Replaces invalid UTF-8 sequences by U+FFFD.
std::string sanitize_utf8(std::string_view s);

}  // namespace moss
