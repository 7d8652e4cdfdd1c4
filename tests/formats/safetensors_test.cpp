// safetensors: a hand-built valid file and one broken header per rule of checkpoint-formats.md
// (length, JSON, dtype, shape, offsets inside the buffer, size vs shape, overlap, unique names),
// plus every truncation of a valid file.
#include <cstring>

#include "formats/safetensors.h"
#include "support/test_util.h"

namespace moss {
namespace {

std::string make_st(const std::string& header, const std::string& buffer) {
  std::string b;
  const uint64_t n = header.size();
  b.append(reinterpret_cast<const char*>(&n), 8);
  return b + header + buffer;
}

void parse(const std::string& b, TensorSet& ts) { parse_safetensors(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "t.safetensors", ts); }
void parse(const std::string& b) {
  TensorSet ts;
  parse(b, ts);
}

const std::string kGood =
    R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]},)"
    R"("e":{"dtype":"F16","shape":[0,4],"data_offsets":[22,22]},"__metadata__":{"format":"pt"}}  )";

std::string good_buffer() {
  std::string buf;
  for (float f : {1.f, 2.f, 3.f, 4.f}) buf.append(reinterpret_cast<const char*>(&f), 4);
  return buf + std::string("\x80\x3f\x00\x40\x40\x40", 6);  // bf16 1, 2, 3
}

TEST(Safetensors, ParsesValidFile) {
  TensorSet ts;
  const std::string f = make_st(kGood, good_buffer());
  parse(f, ts);
  ASSERT_EQ(ts.size(), 3u);
  const TensorView& a = ts.get("a");
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2}));
  float last;  // the header length is odd here, so the data is unaligned: read with memcpy
  std::memcpy(&last, static_cast<const uint8_t*>(a.data) + 12, 4);
  EXPECT_EQ(last, 4.0f);
  EXPECT_EQ(static_cast<const uint8_t*>(a.data), reinterpret_cast<const uint8_t*>(f.data()) + 8 + kGood.size());  // a view, no copy
  EXPECT_EQ(ts.get("b").dtype, DType::BF16);
  EXPECT_EQ(ts.get("b").nbytes, 6u);
  EXPECT_EQ(ts.get("e").numel(), 0);
}

TEST(Safetensors, HeaderErrors) {
  const std::string buf = good_buffer();
  EXPECT_MOSS_ERROR(parse("abc"), "shorter than the 8-byte header length");
  std::string huge(8, '\xff');
  EXPECT_MOSS_ERROR(parse(huge + "{}"), "exceeds the file size");
  EXPECT_MOSS_ERROR(parse(make_st("[1,2]", "")), "does not start with a JSON object");
  EXPECT_MOSS_ERROR(parse(make_st("{\"a\":", "")), "not valid JSON");
  EXPECT_MOSS_ERROR(parse(make_st(R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", buf)), "unsupported dtype F8_E4M3");
  EXPECT_MOSS_ERROR(parse(make_st(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", buf)), "shape entry must be a non-negative integer");
  EXPECT_MOSS_ERROR(parse(make_st(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", buf)), "shape entry must be");
  EXPECT_MOSS_ERROR(parse(make_st(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", buf)), "too many elements");
  // A zero dimension does not excuse the others (their product would overflow in numel()).
  EXPECT_MOSS_ERROR(parse(make_st(R"({"a":{"dtype":"F32","shape":[0,1099511627776,4294967296],"data_offsets":[0,0]}})", buf)),
                    "out of range");
  EXPECT_MOSS_ERROR(parse(make_st(R"({"a":{"dtype":"F32","shape":[1]}})", buf)), "needs dtype, shape and data_offsets");
  EXPECT_MOSS_ERROR(parse(make_st(R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})", buf)), "are outside the 22-byte buffer");
  EXPECT_MOSS_ERROR(parse(make_st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", buf)), "are outside");
  EXPECT_MOSS_ERROR(parse(make_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", buf)), "holds 4 bytes but shape [2] of F32 needs 8");
  EXPECT_MOSS_ERROR(parse(make_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", buf)),
                    "overlap");
  EXPECT_MOSS_ERROR(parse(make_st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", buf)),
                    "names tensor a twice");
  EXPECT_MOSS_ERROR(parse(make_st(R"({"a":7})", buf)), "entry is not an object");
}

TEST(Safetensors, EveryTruncationIsAnError) {
  const std::string full = make_st(kGood, good_buffer());
  for (size_t cut = 0; cut < full.size(); ++cut) {
    try {
      parse(full.substr(0, cut));
      ADD_FAILURE() << "cut at " << cut << " accepted";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("t.safetensors"));
    }
  }
}

}  // namespace
}  // namespace moss
