// Word-list moderation (see moderation.h).
#include "server/moderation.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include "util/error.h"

namespace moss::server {

namespace {
std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}
}  // namespace

Moderator::Moderator(const std::string& word_file, const std::string& mode) {
  if (mode == "block") mode_ = Mode::block;
  else if (mode == "mask") mode_ = Mode::mask;
  else fail("unknown moderation mode '", mode, "': use block or mask");
  std::ifstream in(word_file);
  if (!in) fail("cannot read moderation word list '", word_file, "'");
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#') continue;
    words_.push_back(line.substr(b));
  }
  normalise();
}

Moderator::Moderator(std::vector<std::string> words, Mode mode) : words_(std::move(words)), mode_(mode) { normalise(); }

void Moderator::normalise() {
  std::vector<std::string> kept;
  for (auto& w : words_)
    if (!w.empty()) kept.push_back(lower(w));
  words_ = std::move(kept);
  for (auto& w : words_) longest_ = std::max(longest_, w.size());
}

bool Moderator::contains(std::string_view text) const {
  const std::string t = lower(text);
  for (const auto& w : words_)
    if (t.find(w) != std::string::npos) return true;
  return false;
}

std::string Moderator::mask(std::string_view text) const {
  std::string out(text);
  const std::string t = lower(text);
  for (const auto& w : words_)
    for (size_t at = t.find(w); at != std::string::npos; at = t.find(w, at + 1))
      for (size_t i = 0; i < w.size(); ++i) out[at + i] = '*';
  return out;
}

std::string StreamMasker::feed(std::string_view piece) {
  if (!m_) return std::string(piece);
  buf_ += piece;
  buf_ = m_->mask(buf_);
  const size_t hold = m_->longest_word() > 0 ? m_->longest_word() - 1 : 0;
  if (buf_.size() <= hold) return {};
  size_t cut = buf_.size() - hold;
  // Do not split a UTF-8 character: back up over continuation bytes (10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(buf_[cut]) & 0xC0) == 0x80) --cut;
  std::string out = buf_.substr(0, cut);
  buf_.erase(0, cut);
  return out;
}

std::string StreamMasker::flush() {
  std::string out = m_ ? m_->mask(buf_) : buf_;
  buf_.clear();
  return out;
}

}  // namespace moss::server
