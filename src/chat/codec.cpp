// See codec.h.
#include "chat/codec.h"

#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace moss {

namespace {
const char* const kMarkerText[6] = {"<eoh>", "<eot>", "<eoc>", "<eor>", "<eom>", "<|endoftext|>"};

// Length of the valid UTF-8 sequence starting at s[i], 0 if invalid, -1 if valid so far but cut off.
int utf8_len(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  int n;
  unsigned lo = 0x80, hi = 0xBF;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) n = 3;
  else if (c >= 0xF0 && c <= 0xF4) n = 4;
  else return 0;
  if (c == 0xE0) lo = 0xA0;
  if (c == 0xED) hi = 0x9F;
  if (c == 0xF0) lo = 0x90;
  if (c == 0xF4) hi = 0x8F;
  for (int k = 1; k < n; ++k) {
    if (i + k >= s.size()) return -1;
    const unsigned char d = static_cast<unsigned char>(s[i + k]);
    if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return 0;
  }
  return n;
}
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
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    const int n = utf8_len(pending_, i);
    if (n < 0) break;  // incomplete: wait for more bytes
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(pending_, i, n);
      i += n;
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string Utf8Assembler::flush() {
  std::string out = sanitize_utf8(pending_);
  pending_.clear();
  return out;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const int n = utf8_len(s, i);
    if (n <= 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace moss
