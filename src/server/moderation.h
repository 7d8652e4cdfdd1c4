// Optional moderation hook: a word-list file (one word or phrase per line, '#' comments, ASCII
// case-insensitive). Mode "block" refuses prompts that contain a listed word (400, code
// "sensitive", like the hosted MOSS API); mode "mask" replaces them by '*' in the prompt. In both
// modes listed words in answers are masked, also while streaming (StreamMasker).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace moss::server {

class Moderator {
 public:
  enum class Mode { block, mask };
  // Loads the list; throws moss::Error when the file is unreadable or the mode unknown.
  Moderator(const std::string& word_file, const std::string& mode);
  Moderator(std::vector<std::string> words, Mode mode);

  Mode mode() const { return mode_; }
  bool contains(std::string_view text) const;
  std::string mask(std::string_view text) const;
  size_t longest_word() const { return longest_; }

 private:
  void normalise();
  std::vector<std::string> words_;  // lowercase
  Mode mode_;
  size_t longest_ = 0;
};

// Masks a stream of pieces: holds back the last longest_word-1 bytes (a word may straddle two
// pieces) and releases text only at UTF-8 character boundaries.
class StreamMasker {
 public:
  explicit StreamMasker(const Moderator* m) : m_(m) {}
  std::string feed(std::string_view piece);  // the text that is safe to emit now
  std::string flush();                       // everything left

 private:
  const Moderator* m_;
  std::string buf_;
};

}  // namespace moss::server
