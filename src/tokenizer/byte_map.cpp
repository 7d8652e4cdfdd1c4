// The GPT-2 byte <-> unicode map; see byte_map.h.
#include "tokenizer/byte_map.h"

#include "util/utf8.h"

namespace moss {

ByteMap::ByteMap() {
  from_cp_.fill(-1);
  uint32_t extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    to_cp_[b] = printable ? static_cast<uint32_t>(b) : 256 + extra++;
  }
  for (int b = 0; b < 256; ++b) {
    from_cp_[to_cp_[b]] = static_cast<int16_t>(b);
    utf8::append(to_text_[b], to_cp_[b]);
  }
}

const ByteMap& ByteMap::get() {
  static const ByteMap map;
  return map;
}

std::string ByteMap::to_bytes(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    const uint32_t cp = utf8::next(text, i);
    if (cp < from_cp_.size() && from_cp_[cp] >= 0) {
      out += static_cast<char>(from_cp_[cp]);
    } else {
      out.append(text.substr(start, i - start));
    }
  }
  return out;
}

std::string ByteMap::to_byte_level(std::string_view bytes) const {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += to_text_[static_cast<uint8_t>(c)];
  return out;
}

}  // namespace moss
