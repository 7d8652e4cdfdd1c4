// Test helpers: tokenizers built from the GPT-2 BPE files in shared/data/gpt2-bpe (encoder.json,
// vocab.bpe), alone or with MOSS's 43 added tokens appended after the GPT-2 vocabulary.
#pragma once
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace moss::test {

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string gpt2_dir() { return std::string(MOSS_SHARED_DIR) + "/data/gpt2-bpe"; }

// The GPT-2 tokenizer as transformers' GPT2Tokenizer loads it: vocab from encoder.json, merges =
// vocab.bpe split on "\n" without the header and the last element; <|endoftext|> (50256) is
// bos/eos/unk and special (type 3, as the Hugging Face importer marks vocab.json specials).
inline TokenizerVocab gpt2_vocab() {
  const auto enc = nlohmann::json::parse(read_file(gpt2_dir() + "/encoder.json"));
  TokenizerVocab v;
  v.tokens.resize(enc.size());
  for (const auto& [text, id] : enc.items()) v.tokens.at(id.get<size_t>()) = text;
  v.types.assign(v.tokens.size(), 1);
  const std::string bpe = read_file(gpt2_dir() + "/vocab.bpe");
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = bpe.find('\n', start)) != std::string::npos; start = nl + 1) lines.push_back(bpe.substr(start, nl - start));
  lines.push_back(bpe.substr(start));
  v.merges.assign(lines.begin() + 1, lines.end() - 1);
  v.bos_id = v.eos_id = v.unk_id = 50256;
  v.types[50256] = 3;
  return v;
}

// MOSS's added tokens in the order of their spec ids (106029..106071), here at 50257..50299:
// 31..2 spaces, 9..2 tabs, <eoh> <eom> <eot> <eoc> <eor>.
constexpr int32_t kAdded = 50257;
inline int32_t spaces_id(int n) { return kAdded + 31 - n; }  // spec: 106060 - n
inline int32_t tabs_id(int n) { return kAdded + 39 - n; }    // spec: 106068 - n
constexpr int32_t kEoh = kAdded + 38, kEom = kAdded + 39, kEot = kAdded + 40, kEoc = kAdded + 41, kEor = kAdded + 42;
constexpr int32_t kEndOfText = 50256;

inline TokenizerVocab moss_on_gpt2_vocab() {
  TokenizerVocab v = gpt2_vocab();
  for (int n = 31; n >= 2; --n) v.tokens.push_back(std::string(n, ' '));
  for (int n = 9; n >= 2; --n) v.tokens.push_back(std::string(n, '\t'));
  for (const char* m : {"<eoh>", "<eom>", "<eot>", "<eoc>", "<eor>"}) v.tokens.push_back(m);
  v.types.resize(v.tokens.size(), 4);
  for (int32_t id = kEoh; id <= kEor; ++id) v.types[id] = 3;
  v.eos_id = kEom;  // MOSS: eos <eom>, bos = unk = <|endoftext|>
  // Plain-string no-split tokens strip their neighbours: the whitespace runs and <|endoftext|>.
  v.strip_neighbor_ids.push_back(kEndOfText);
  for (int32_t id = kAdded; id < kEoh; ++id) v.strip_neighbor_ids.push_back(id);
  return v;
}

inline const Tokenizer& gpt2() {
  static const Tokenizer t = Tokenizer::from_vocab(gpt2_vocab());
  return t;
}
inline const Tokenizer& moss() {
  static const Tokenizer t = Tokenizer::from_vocab(moss_on_gpt2_vocab());
  return t;
}

}  // namespace moss::test
