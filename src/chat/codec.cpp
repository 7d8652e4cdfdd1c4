// See codec.h.
#include "chat/codec.h"

#include "util/utf8.h"

#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace moss {

namespace {
const char* const kMarkerText[6] = {"<eoh>", "<eot>", "<eoc>", "<eor>", "<eom>", "<|endoftext|>"};

}  // namespace

TokenizerCodec::TokenizerCodec(const Tokenizer& tok) : tok_(tok) {
  for (int m = 0; m < 6; ++m) {
    markers_[m] = tok.token_id(kMarkerText[m]);
    if (markers_[m] < 0) fail("tokenizer has no ", kMarkerText[m], " token; not a MOSS tokenizer");
  }
}
std::vector<int32_t> TokenizerCodec::encode_text(std::string_view text) const { return tok_.encode(text, false); }
int32_t TokenizerCodec::marker(Marker m) const { return markers_[static_cast<int>(m)]; }
std::string TokenizerCodec::token_bytes(int32_t id) const { return tok_.token_bytes(id); }
bool TokenizerCodec::is_special(int32_t id) const { return tok_.is_special(id); }
int32_t TokenizerCodec::n_tokens() const { return tok_.n_tokens(); }

std::vector<int32_t> ByteCodec::encode_text(std::string_view text) const {
  std::vector<int32_t> ids;
  for (char c : text) ids.push_back(static_cast<unsigned char>(c));
  return ids;
}

std::string ByteCodec::token_bytes(int32_t id) const {
  if (id >= 0 && id < 256) return std::string(1, static_cast<char>(id));
  if (id >= 256 && id < 262) return kMarkerText[id - 256];
  fail("ByteCodec: token ", id, " outside the vocabulary");
}

std::vector<int32_t> ByteCodec::encode_with_markers(std::string_view text) const {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    for (int m = 0; m < 6 && !matched; ++m) {
      const std::string_view mt = kMarkerText[m];
      if (text.substr(i).starts_with(mt)) {
        ids.push_back(256 + m);
        i += mt.size();
        matched = true;
      }
    }
    if (!matched) ids.push_back(static_cast<unsigned char>(text[i++]));
  }
  return ids;
}

std::string Utf8Assembler::push(std::string_view bytes) {
  pending_ += bytes;
  // Hold back a character cut at the end; everything before it is decoded (invalid bytes -> U+FFFD).
  const size_t ready = pending_.size() - utf8::incomplete_tail(pending_);
  std::string out = utf8::decode_replace(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

std::string Utf8Assembler::flush() {
  std::string out = utf8::decode_replace(pending_);
  pending_.clear();
  return out;
}

std::string sanitize_utf8(std::string_view s) { return utf8::decode_replace(s); }

}  // namespace moss
