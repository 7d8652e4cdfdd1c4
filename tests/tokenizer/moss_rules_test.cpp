// MOSS-specific tokenizer rules (spec 2.5, 2.6, 8 items 1-2) on the GPT-2 files plus MOSS's 43
// added tokens (placed after GPT-2's 50257 tokens, same order and rules as ids 106029..106071).
// Plain-text parts are checked through the GPT-2 tokenizer, which gpt2_oracle_test validates.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "tok_test_util.h"
#include "util/error.h"

namespace moss {
namespace {

using test::kEndOfText;
using test::kEoc;
using test::kEoh;
using test::kEom;
using test::kEor;
using test::kEot;
using test::spaces_id;
using test::tabs_id;
using Ids = std::vector<int32_t>;

// Concatenation of pieces: a string is GPT-2 BPE of that text, an int is a token id.
struct P {
  P(const char* t) : text(t) {}
  P(int32_t i) : id(i) {}
  std::string text;
  int32_t id = -1;
};
Ids seq(std::initializer_list<P> parts) {
  Ids out;
  for (const P& p : parts) {
    if (p.id >= 0) {
      out.push_back(p.id);
    } else {
      const Ids b = test::gpt2().encode(p.text);
      out.insert(out.end(), b.begin(), b.end());
    }
  }
  return out;
}

// "x" + n spaces + "y" and "a" + n tabs + "b", built by appending (GCC 12 warns, wrongly, with
// -Wrestrict on "literal" + std::string temporaries).
std::string xy(int n) {
  std::string s = "x";
  s.append(static_cast<size_t>(n), ' ');
  return s + "y";
}
std::string ab_tabs(int n) {
  std::string s = "a";
  s.append(static_cast<size_t>(n), '\t');
  return s + "b";
}

Ids enc(std::string_view s, bool special = true) { return test::moss().encode(s, special); }

TEST(MossTokenizer, AddedTokenIdsAndTypes) {
  const Tokenizer& t = test::moss();
  EXPECT_EQ(t.n_tokens(), 50300);
  EXPECT_EQ(t.token_id("  "), spaces_id(2));
  EXPECT_EQ(t.token_id(std::string(31, ' ')), test::kAdded);
  EXPECT_EQ(t.token_id("\t\t\t\t\t\t\t\t\t"), tabs_id(9));
  EXPECT_EQ(t.token_id("<eom>"), kEom);
  EXPECT_EQ(t.token_id("<|endoftext|>"), kEndOfText);
  EXPECT_EQ(t.token_id("Ġthe"), 262);
  EXPECT_EQ(t.token_id("no such token"), -1);
  EXPECT_EQ(t.eos_id(), kEom);
  EXPECT_EQ(t.bos_id(), kEndOfText);
  for (int32_t id : {kEndOfText, kEoh, kEom, kEot, kEoc, kEor}) EXPECT_TRUE(t.is_special(id)) << id;
  for (int32_t id : {spaces_id(2), tabs_id(2), 262, -1, 50300}) EXPECT_FALSE(t.is_special(id)) << id;
  EXPECT_TRUE(t.is_added(spaces_id(4)));
  EXPECT_TRUE(t.is_added(kEoh));
  EXPECT_FALSE(t.is_added(kEndOfText));  // a vocab.json entry, not an added token
  EXPECT_EQ(t.token_bytes(spaces_id(4)), "    ");
  EXPECT_EQ(t.token_bytes(262), " the");
  EXPECT_EQ(t.token_bytes(kEoh), "<eoh>");
  EXPECT_THROW(t.token_bytes(50300), Error);
}

TEST(MossTokenizer, RoleTagsArePlainText) {
  // moss_inference.py: "<|MOSS|>:" -> 27 91 44 18420 91 31175 (low ids shared with GPT-2).
  EXPECT_EQ(enc("<|MOSS|>:"), (Ids{27, 91, 44, 18420, 91, 31175}));
  EXPECT_EQ(enc(" None"), (Ids{6045}));
}

TEST(MossTokenizer, NewlineBeforeIndentationVanishes) {
  EXPECT_EQ(enc("a\n    b"), seq({"a", spaces_id(4), "b"}));
  EXPECT_EQ(enc("def f():\n    return 1\n"), seq({"def f():", spaces_id(4), "return 1\n"}));
  EXPECT_EQ(enc("a\n\tb"), seq({"a\n\tb"}));  // a single tab is not an added token
  EXPECT_EQ(enc("a\n\t\tb"), seq({"a", tabs_id(2), "b"}));
  EXPECT_EQ(enc("a\n \n  b"), seq({"a", spaces_id(2), "b"}));  // str.rstrip(): all the whitespace before
}

TEST(MossTokenizer, SpaceRuns) {
  EXPECT_EQ(enc("x y"), seq({"x y"}));
  EXPECT_EQ(enc("x  y"), seq({"x", spaces_id(2), "y"}));
  EXPECT_EQ(enc("end.  Next"), seq({"end.", spaces_id(2), "Next"}));
  EXPECT_EQ(enc(xy(31)), seq({"x", spaces_id(31), "y"}));
  // More than 31: the rest is the first token's right neighbour and is stripped to nothing.
  for (int n : {32, 33, 40, 61, 62}) EXPECT_EQ(enc(xy(n)), seq({"x", spaces_id(31), "y"})) << n;
  // Beyond 62 the reference loop (applied literally) keeps every other run: 31|31|31|7 -> the
  // 2nd run is emptied by the 1st, so on its own turn it strips nothing; the 3rd then empties the
  // 4th. So "keeps only the first 31" (spec 2.5) holds up to 62 spaces.
  EXPECT_EQ(enc(xy(100)), seq({"x", spaces_id(31), spaces_id(31), "y"}));
  EXPECT_EQ(enc(xy(93)), seq({"x", spaces_id(31), spaces_id(31), "y"}));
  EXPECT_EQ(enc(xy(124)), seq({"x", spaces_id(31), spaces_id(31), "y"}));
  // 31|31|31|31|" y": the 4th run was emptied, so nobody strips the space of " y".
  EXPECT_EQ(enc(xy(125)), seq({"x", spaces_id(31), spaces_id(31), " y"}));
  EXPECT_EQ(enc(xy(155)), seq({"x", spaces_id(31), spaces_id(31), spaces_id(31), "y"}));
  EXPECT_EQ(enc(std::string(40, ' ')), (Ids{spaces_id(31)}));
  EXPECT_EQ(enc("  "), (Ids{spaces_id(2)}));
  EXPECT_EQ(enc(" "), seq({" "}));
  // The stripping also eats a newline after the run, and any whitespace before it.
  EXPECT_EQ(enc("a \n  \n b"), seq({"a", spaces_id(2), "b"}));
  // <|MOSS|>:  Well (two spaces, as in the text2img SFT answers).
  EXPECT_EQ(enc("<|MOSS|>:  Well"), seq({"<|MOSS|>:", spaces_id(2), "Well"}));
}

TEST(MossTokenizer, TabRuns) {
  EXPECT_EQ(enc("\t\tx"), seq({tabs_id(2), "x"}));
  EXPECT_EQ(enc(ab_tabs(9)), seq({"a", tabs_id(9), "b"}));
  EXPECT_EQ(enc(ab_tabs(10)), seq({"a", tabs_id(9), "b"}));
  // A tab run directly followed by a space run loses the space run, and vice versa.
  EXPECT_EQ(enc("a\t\t  b"), seq({"a", tabs_id(2), "b"}));
  EXPECT_EQ(enc("a  \t\tb"), seq({"a", spaces_id(2), "b"}));
  // ...but a third run survives: the emptied middle one strips nothing on its turn.
  EXPECT_EQ(enc("a  \t\t  b"), seq({"a", spaces_id(2), spaces_id(2), "b"}));
}

TEST(MossTokenizer, EndMarkersNeverStrip) {
  EXPECT_EQ(enc("Hi<eom>"), seq({"Hi", kEom}));
  EXPECT_EQ(enc("有谁<eoh>\n<|Inner Thoughts|>: None<eot>\n"),
            seq({"有谁", kEoh, "\n<|Inner Thoughts|>: None", kEot, "\n"}));
  EXPECT_EQ(enc("a <eom> b"), seq({"a ", kEom, " b"}));
  EXPECT_EQ(enc("<eoh><eom><eot><eoc><eor>"), (Ids{kEoh, kEom, kEot, kEoc, kEor}));
  EXPECT_EQ(enc("<eo<eoh>h>"), seq({"<eo", kEoh, "h>"}));
  // Next to whitespace runs: the run strips, the marker does not.
  EXPECT_EQ(enc("a  <eom>  b"), seq({"a", spaces_id(2), kEom, spaces_id(2), "b"}));
  EXPECT_EQ(enc("<eom>\n    x"), seq({kEom, spaces_id(4), "x"}));
  EXPECT_EQ(enc("x \n<eoc>\t\t"), seq({"x \n", kEoc, tabs_id(2)}));
}

TEST(MossTokenizer, EndOfTextStripsItsNeighbours) {
  EXPECT_EQ(enc("a <|endoftext|> b"), seq({"a", kEndOfText, "b"}));
  EXPECT_EQ(enc("a\n<|endoftext|>\nb"), seq({"a", kEndOfText, "b"}));
}

TEST(MossTokenizer, ForgedMarkersAreTextWithoutParseSpecial) {
  for (const char* s : {"<eoh>", "<eom>", "<eot>", "<eoc>", "<eor>", "<|endoftext|>", "x<eom>y", "a <|endoftext|> b"}) {
    const Ids ids = enc(s, false);
    EXPECT_EQ(ids, test::gpt2().encode(s)) << s;
    for (int32_t id : ids) EXPECT_FALSE(test::moss().is_special(id)) << s;
  }
  // Whitespace runs are not special: they still split (and strip) without parse_special.
  EXPECT_EQ(enc("<eom>\n    x", false), seq({"<eom>", spaces_id(4), "x"}));
  EXPECT_EQ(enc("a  b", false), seq({"a", spaces_id(2), "b"}));
}

TEST(MossTokenizer, InvalidUtf8InputIsReplacedFirst) {
  EXPECT_EQ(enc("a\xFF" "b"), enc("a\xEF\xBF\xBD" "b"));
  EXPECT_EQ(enc("\xE4\xB8"), enc("\xEF\xBF\xBD"));
  EXPECT_EQ(enc(std::string("a\0b", 3)), (Ids{64, 188, 65}));  // NUL is an ordinary byte (GPT-2 "Ā" = 188)
}

TEST(MossTokenizer, DecodeSpacing) {
  const Tokenizer& t = test::moss();
  EXPECT_EQ(t.decode(enc("Hi<eom>")), "Hi <eom>");
  EXPECT_EQ(t.decode(enc("Hi<eom>"), true), "Hi");
  EXPECT_EQ(t.decode(seq({"a", spaces_id(2), "b"})), "a    b");
  EXPECT_EQ(t.decode(seq({"a", spaces_id(2), "b"}), true), "a    b");  // whitespace runs are not special
  EXPECT_EQ(t.decode(Ids{kEoh}), "<eoh>");
  EXPECT_EQ(t.decode(Ids{kEoh, kEom}), "<eoh> <eom>");
  EXPECT_EQ(t.decode(Ids{kEoh, kEom}, true), "");
  EXPECT_EQ(t.decode(Ids{}), "");
  // <|endoftext|> is in vocab.json, not an added token: no spaces around it, dropped when skipping.
  EXPECT_EQ(t.decode(seq({"a", kEndOfText, "b"})), "a<|endoftext|>b");
  EXPECT_EQ(t.decode(seq({"a", kEndOfText, "b"}), true), "ab");
  // No clean-up of " ." / " ," etc. (4.25.1 passes clean_up_tokenization_spaces=None).
  EXPECT_EQ(t.decode(enc("a . b , c 's")), "a . b , c 's");
  // A whole SFT-style turn: newline lost before the indentation, spaces around added tokens.
  EXPECT_EQ(t.decode(enc("<|MOSS|>: ok\n    code<eom>\n")), "<|MOSS|>: ok" + std::string(6, ' ') + "code <eom> \n");
}

TEST(MossTokenizer, DecodeRejectsIdsOutsideTheVocabulary) {
  const Tokenizer& t = test::moss();
  EXPECT_THROW(t.decode(Ids{50300}), Error);
  EXPECT_THROW(t.decode(Ids{-1}), Error);
  EXPECT_THROW(t.decode(Ids{1, 2, 107000}, true), Error);
}

TEST(MossTokenizer, InvalidUtf8RoundTrips) {
  const Tokenizer& t = test::moss();
  const std::string R = "\xEF\xBF\xBD";
  // Byte tokens: GPT-2 maps byte 0xE4 to "ä" and 0xB8 to "¸".
  const int32_t e4 = t.token_id("ä"), b8 = t.token_id("¸"), ad = t.token_id("Ń");  // 0xAD -> U+0143
  ASSERT_GE(e4, 0);
  ASSERT_GE(b8, 0);
  ASSERT_GE(ad, 0);
  EXPECT_EQ(t.token_bytes(ad), "\xAD");
  EXPECT_EQ(t.decode(Ids{e4, b8, ad}), "中");
  EXPECT_EQ(t.decode(Ids{e4, b8}), R);                       // cut short: one U+FFFD
  EXPECT_EQ(t.decode(Ids{e4, b8, kEom, ad}), R + " <eom> " + R);  // an added token splits the run
  EXPECT_EQ(t.decode(Ids{e4, b8, kEom, ad}, true), "中");     // a skipped special does not
  EXPECT_EQ(t.decode(Ids{b8, b8}), R + R);                   // stray continuation bytes: one each
  // decode -> encode -> decode is stable once the bytes were replaced.
  const std::string once = t.decode(Ids{e4, b8, 32, b8});
  EXPECT_EQ(once, R + "A" + R);
  EXPECT_EQ(t.decode(t.encode(once)), once);
}

TEST(MossTokenizer, LongSingleWordsFinish) {
  // One pre-token of 256 KiB (letters, then CJK): the merge loop is O(n log n), not O(n^2).
  for (const std::string unit : {"a", "中", "ab1"}) {
    std::string s;
    while (s.size() < (256u << 10)) s += unit;
    const Ids ids = test::moss().encode(s);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ(test::moss().decode(ids), s);
  }
}

TEST(MossTokenizer, Gpt2RoundTripsText) {
  for (const char* s : {"Hello  world\n\n  x", "中文😀 e\xCC\x81", "\t\t\n", "<eom> <|endoftext|>"})
    EXPECT_EQ(test::gpt2().decode(test::gpt2().encode(s)), s);
}

TEST(MossTokenizer, ConcurrentEncodeDecodeAgree) {
  const Tokenizer& t = test::moss();
  const std::vector<std::string> texts = {"中文 text  with\n    code<eom>", "a b c d e f", "😀😀😀 x\t\ty", "end.  Next"};
  std::vector<Ids> want;
  for (const auto& s : texts) want.push_back(t.encode(s, true));
  std::vector<std::thread> th;
  std::atomic<int> bad{0};
  for (int k = 0; k < 4; ++k) {
    th.emplace_back([&, k] {
      for (int r = 0; r < 300; ++r) {
        const size_t i = (k + r) % texts.size();
        if (t.encode(texts[i], true) != want[i]) ++bad;
        if (t.decode(want[i]).empty()) ++bad;
      }
    });
  }
  for (auto& x : th) x.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(TokenTextStream, PiecesAreWholeCharactersAndConcatenateToDecode) {
  const Tokenizer& t = test::moss();
  const int32_t e4 = t.token_id("ä"), b8 = t.token_id("¸"), ad = t.token_id("Ń");
  TokenTextStream s(t);
  EXPECT_EQ(s.push(e4), "");
  EXPECT_EQ(s.push(b8), "");
  EXPECT_EQ(s.push(ad), "中");
  EXPECT_EQ(s.push(kEom), "");  // special, skipped by default
  EXPECT_EQ(s.push(e4), "");
  EXPECT_EQ(s.flush(), "\xEF\xBF\xBD");
  EXPECT_THROW(s.push(50300), Error);

  const Ids ids = enc("你好😀 world\n    x  y<eom>", true);
  TokenTextStream keep(t, false);
  std::string all;
  for (int32_t id : ids) {
    const std::string piece = keep.push(id);
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos);
    all += piece;
  }
  all += keep.flush();
  EXPECT_EQ(all, "你好😀 world    x  y<eom>");
  // decode() differs only by the spaces it puts around added tokens.
  EXPECT_EQ(t.decode(ids), "你好😀 world" + std::string(6, ' ') + "x" + std::string(4, ' ') + "y <eom>");
}

TEST(MossTokenizer, BadVocabulariesAreErrors) {
  TokenizerVocab v;
  EXPECT_THROW(Tokenizer::from_vocab(v), Error);
  v.tokens = {"a", "b"};
  v.types = {1};
  EXPECT_THROW(Tokenizer::from_vocab(v), Error);
  v.types = {1, 4};
  v.tokens[1] = "";
  EXPECT_THROW(Tokenizer::from_vocab(v), Error);
  v.tokens[1] = "a";
  v.bos_id = 7;
  EXPECT_THROW(Tokenizer::from_vocab(v), Error);
  v.bos_id = -1;
  v.strip_neighbor_ids = {2};
  EXPECT_THROW(Tokenizer::from_vocab(v), Error);
  v.strip_neighbor_ids = {};
  v.types = {4, 4};
  EXPECT_THROW(Tokenizer::from_vocab(v), Error);  // two added tokens with the same text
  // A vocabulary without the byte tokens: symbols missing from it become unk, or an error.
  TokenizerVocab w;
  w.tokens = {"a", "<unk>"};
  w.unk_id = 1;
  EXPECT_EQ(Tokenizer::from_vocab(w).encode("ab"), (Ids{0, 1}));
  w.unk_id = -1;
  EXPECT_THROW(Tokenizer::from_vocab(w).encode("b"), Error);
}

}  // namespace
}  // namespace moss

namespace moss {
namespace {

void collect(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_string()) out.push_back(j.get<std::string>());
  else if (j.is_object() || j.is_array())
    for (const auto& x : j) collect(x, out);
}

// All 1,120 SFT conversations (every string field, duplicates included) through a fresh MOSS
// tokenizer with parse_special, as training would. Prints the throughput (no timing assertion);
// checks that the end markers in the data come out as their ids.
TEST(MossTokenizer, EncodesTheSftConversations) {
  std::vector<std::string> strings;
  for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(MOSS_SHARED_DIR) + "/data/moss-003-sft/conversations"))
    if (e.path().extension() == ".json") collect(nlohmann::json::parse(test::read_file(e.path().string())), strings);
  const Tokenizer t = Tokenizer::from_vocab(test::moss_on_gpt2_vocab());
  size_t bytes = 0, tokens = 0, markers_text = 0, markers_ids = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();  // CPU time too: the wall clock of a shared machine says little
  for (const auto& s : strings) {
    const Ids ids = t.encode(s, true);
    bytes += s.size();
    tokens += ids.size();
    for (int32_t id : ids) markers_ids += id >= kEoh && id <= kEor;
  }
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  for (const auto& s : strings)
    for (const char* m : {"<eoh>", "<eom>", "<eot>", "<eoc>", "<eor>"})
      for (size_t p = s.find(m); p != std::string::npos; p = s.find(m, p + 1)) ++markers_text;
  EXPECT_EQ(markers_ids, markers_text);
  EXPECT_GT(markers_text, 0u);
  std::printf("SFT: %zu strings, %.1f MB, %zu tokens in %.3f s wall, %.3f s CPU (cold cache)\n", strings.size(),
              bytes / 1e6, tokens, sec, cpu);
}

}  // namespace
}  // namespace moss
