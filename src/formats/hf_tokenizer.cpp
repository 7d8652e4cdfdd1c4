// Tokenizer files -> metadata, following transformers 4.25.1's slow-tokenizer loading:
// - added_tokens.json ids must continue the vocab densely (4.25.1 raises otherwise);
// - special tokens are the values of bos/eos/unk/sep/pad/cls/mask/additional_special_tokens, from
//   tokenizer_config.json overridden per attribute by special_tokens_map.json (setattr after init);
// - a no-split token strips its neighbours unless it is special and given as an AddedToken object
//   (a JSON object with "content") somewhere among the special attributes. AddedTokens with
//   lstrip/rstrip true would strip one side only; MOSS has none, so they count as non-stripping.
#include "formats/hf_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "util/error.h"

namespace moss {

namespace {

using json = nlohmann::json;

json parse_json(const std::string& text, const std::string& source, const char* file) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) fail(source, ": ", file, " is not a JSON object");
    return j;
  } catch (const json::exception& e) {
    fail(source, ": ", file, " is not valid JSON: ", e.what());
  }
}

// token text -> id from a {"text": id} object.
void read_ids(const json& j, const std::string& source, const char* file, std::vector<std::pair<std::string, int64_t>>& out) {
  for (const auto& [tok, id] : j.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= (1 << 24))
      fail(source, ": ", file, ": id of token ", json(tok).dump(), " is not an integer in [0, 2^24)");
    out.emplace_back(tok, id.get<int64_t>());
  }
}

struct SpecialToken {
  std::string content;
  bool added_token = false;  // given as an AddedToken object
};

// Collects the special-token attributes of one file into `attrs` (later files override earlier).
void read_special(const json& j, std::map<std::string, std::vector<SpecialToken>>& attrs, const std::string& source, const char* file) {
  static const char* kAttrs[] = {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
                                 "additional_special_tokens"};
  auto one = [&](const json& v, const char* attr) {
    if (v.is_string()) return SpecialToken{v.get<std::string>(), false};
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return SpecialToken{v["content"].get<std::string>(), true};
    fail(source, ": ", file, ": ", attr, " is neither a string nor an AddedToken object");
  };
  for (const char* attr : kAttrs) {
    auto it = j.find(attr);
    if (it == j.end()) continue;
    std::vector<SpecialToken> toks;
    if (it->is_null()) {
      // an explicit null clears the attribute
    } else if (std::string(attr) == "additional_special_tokens") {
      if (!it->is_array()) fail(source, ": ", file, ": additional_special_tokens is not a list");
      for (const auto& v : *it) toks.push_back(one(v, attr));
    } else {
      toks.push_back(one(*it, attr));
    }
    attrs[attr] = std::move(toks);
  }
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

void hf_tokenizer_to_metadata(const HfTokenizerFiles& f, const std::string& source, Metadata& meta) {
  if (f.vocab_json.empty()) fail(source, ": vocab.json is missing or empty");
  if (f.merges_txt.empty()) fail(source, ": merges.txt is missing or empty");

  std::vector<std::pair<std::string, int64_t>> vocab, added;
  read_ids(parse_json(f.vocab_json, source, "vocab.json"), source, "vocab.json", vocab);
  if (!f.added_tokens_json.empty()) read_ids(parse_json(f.added_tokens_json, source, "added_tokens.json"), source, "added_tokens.json", added);

  // Ids must be exactly 0..n-1 over vocab + added tokens: the tokens array is indexed by id.
  const size_t n = vocab.size() + added.size();
  std::vector<std::string> tokens(n);
  std::vector<char> filled(n, 0);
  std::map<std::string, int64_t> id_of;
  auto place = [&](const std::string& tok, int64_t id, const char* file) {
    if (static_cast<uint64_t>(id) >= n)
      fail(source, ": ", file, ": token ", json(tok).dump(), " has id ", id, " but there are only ", n,
           " tokens; ids must be dense (0..", n - 1, ")");
    if (filled[static_cast<size_t>(id)]) fail(source, ": ", file, ": id ", id, " is used by two tokens");
    if (id_of.count(tok)) fail(source, ": ", file, ": token ", json(tok).dump(), " appears twice");
    filled[static_cast<size_t>(id)] = 1;
    tokens[static_cast<size_t>(id)] = tok;
    id_of[tok] = id;
  };
  for (const auto& [tok, id] : vocab) place(tok, id, "vocab.json");
  for (const auto& [tok, id] : added) place(tok, id, "added_tokens.json");

  std::map<std::string, std::vector<SpecialToken>> attrs;
  if (!f.tokenizer_config_json.empty()) read_special(parse_json(f.tokenizer_config_json, source, "tokenizer_config.json"), attrs, source, "tokenizer_config.json");
  bool add_bos = false;
  if (!f.tokenizer_config_json.empty()) {
    json tc = parse_json(f.tokenizer_config_json, source, "tokenizer_config.json");
    if (auto it = tc.find("add_bos_token"); it != tc.end() && it->is_boolean()) add_bos = it->get<bool>();
  }
  if (!f.special_tokens_map_json.empty())
    read_special(parse_json(f.special_tokens_map_json, source, "special_tokens_map.json"), attrs, source, "special_tokens_map.json");

  std::set<int64_t> special_ids, added_token_objects;
  for (const auto& [attr, toks] : attrs) {
    for (const auto& t : toks) {
      auto it = id_of.find(t.content);
      if (it == id_of.end()) fail(source, ": special token ", json(t.content).dump(), " (", attr, ") is not in the vocabulary");
      special_ids.insert(it->second);
      if (t.added_token) added_token_objects.insert(it->second);
    }
  }

  std::vector<int32_t> types(n, 1);
  std::vector<int32_t> strip;
  std::set<int64_t> no_split = special_ids;
  for (const auto& [tok, id] : added) {
    types[static_cast<size_t>(id)] = 4;
    no_split.insert(id);
  }
  for (int64_t id : special_ids) types[static_cast<size_t>(id)] = 3;
  for (int64_t id : no_split)
    if (!added_token_objects.count(id)) strip.push_back(static_cast<int32_t>(id));

  // merges.txt: split on "\n", drop the first (#version header) and the last element (so a file
  // without a final newline loses its last merge, exactly like the reference), split each line on
  // whitespace. Lines that do not give two symbols can never match a pair in the reference either,
  // and only the relative order of ranks matters, so skipping them is exact. For a pair listed
  // twice the reference keeps the later rank, so the earlier copy is dropped.
  std::vector<std::string> lines;
  {
    size_t start = 0;
    for (;;) {
      const size_t nl = f.merges_txt.find('\n', start);
      if (nl == std::string::npos) {
        lines.push_back(f.merges_txt.substr(start));
        break;
      }
      lines.push_back(f.merges_txt.substr(start, nl - start));
      start = nl + 1;
    }
  }
  std::vector<std::string> pairs;
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    std::vector<std::string> parts;
    const std::string& l = lines[i];
    size_t k = 0;
    while (k < l.size()) {
      while (k < l.size() && is_space(l[k])) ++k;
      size_t e = k;
      while (e < l.size() && !is_space(l[e])) ++e;
      if (e > k) parts.push_back(l.substr(k, e - k));
      k = e;
    }
    pairs.push_back(parts.size() == 2 ? parts[0] + " " + parts[1] : std::string());
  }
  std::vector<std::string> merges;
  std::set<std::string> seen;
  for (size_t i = pairs.size(); i-- > 0;)
    if (!pairs[i].empty() && seen.insert(pairs[i]).second) merges.push_back(pairs[i]);
  std::reverse(merges.begin(), merges.end());

  meta.set(keys::kTokModel, MetaValue::str("gpt2"));
  meta.set(keys::kTokPre, MetaValue::str("moss"));
  meta.set(keys::kTokTokens, MetaValue::str_array(tokens));
  meta.set(keys::kTokTypes, MetaValue::i32_array(types));
  meta.set(keys::kTokMerges, MetaValue::str_array(merges));
  if (auto it = attrs.find("unk_token"); it != attrs.end() && !it->second.empty())
    meta.set(keys::kTokUnk, MetaValue::u32(static_cast<uint32_t>(id_of.at(it->second[0].content))));
  // bos/eos: config.json's ids are authoritative (set by hf_config_to_metadata); the tokenizer's
  // only fill in when they are absent.
  for (const auto& [attr, key] : {std::pair{"bos_token", keys::kTokBos}, std::pair{"eos_token", keys::kTokEos}}) {
    auto it = attrs.find(attr);
    if (!meta.has(key) && it != attrs.end() && !it->second.empty())
      meta.set(key, MetaValue::u32(static_cast<uint32_t>(id_of.at(it->second[0].content))));
  }
  meta.set(keys::kTokAddBos, MetaValue::boolean(add_bos));
  meta.set(keys::kTokStripIds, MetaValue::i32_array(strip));
}

}  // namespace moss
