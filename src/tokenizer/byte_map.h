// GPT-2's reversible byte <-> unicode map (spec 2.2): byte-level BPE works on strings where every
// byte is one printable character. Bytes 33-126, 161-172, 174-255 map to themselves; the other 68
// bytes, in increasing order, map to U+0100.. U+0143.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace moss {

class ByteMap {
 public:
  ByteMap();
  uint32_t to_unicode(uint8_t b) const { return to_cp_[b]; }
  // The UTF-8 text of the character byte b maps to.
  const std::string& to_text(uint8_t b) const { return to_text_[b]; }
  // Byte-level text (UTF-8) -> raw bytes. A character outside the map (impossible in a GPT-2 style
  // vocabulary; Python would raise KeyError) is kept as its own UTF-8 bytes.
  std::string to_bytes(std::string_view byte_level_text) const;
  // Raw bytes -> byte-level text.
  std::string to_byte_level(std::string_view bytes) const;

  static const ByteMap& get();

 private:
  std::array<uint32_t, 256> to_cp_{};
  std::array<std::string, 256> to_text_;
  std::array<int16_t, 0x144> from_cp_{};  // code point -> byte, -1 if none
};

}  // namespace moss
