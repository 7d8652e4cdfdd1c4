// GGUF writer/reader: round trips (bytes, shapes, metadata), llama.cpp's layout rules, type
// conversion rules, and rejection of corrupted or forged files.
#include <cstring>

#include "formats/gguf.h"
#include "tensor/convert.h"
#include "support/test_util.h"
#include "util/half.h"

namespace moss {
namespace {

using test::TempDir;

// A small model with a matrix, a vector, an integer tensor and varied metadata.
struct Sample {
  std::vector<float> w;    // [4, 64]
  std::vector<uint16_t> n; // [64] f16
  std::vector<int32_t> idx;  // [3]
  ModelFile model;
  Sample() {
    w.resize(4 * 64);
    for (size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * static_cast<float>(i) - 1.0f;
    for (int i = 0; i < 64; ++i) n.push_back(f32_to_fp16(1.0f + 0.5f * i));
    idx = {7, -3, 1 << 30};
    model.meta.set(keys::kArchitecture, MetaValue::str("moss"));
    model.meta.set(keys::kBlockCount, MetaValue::u32(2));
    model.meta.set(keys::kLayerNormEps, MetaValue::f32(1e-5f));
    model.meta.set(keys::kTokTokens, MetaValue::str_array({"a", "", "\xe4\xbd\xa0", "  "}));
    model.meta.set(keys::kTokTypes, MetaValue::i32_array({1, 1, 1, 4}));
    model.meta.set("test.u64", MetaValue::u64(0xfedcba9876543210ull));
    model.meta.set("test.bool", MetaValue::boolean(true));
    MetaValue nested;
    nested.type = MetaType::ARRAY;
    nested.elem_type = MetaType::ARRAY;
    nested.array = {MetaValue::f32_array({1.5f, -2.f}), MetaValue::f32_array({})};
    model.meta.set("test.nested", nested);
    model.tensors.add({"blk.0.ffn_up.weight", DType::F32, {4, 64}, w.data(), w.size() * 4});
    model.tensors.add({"blk.0.attn_norm.weight", DType::F16, {64}, n.data(), n.size() * 2});
    model.tensors.add({"ids", DType::I32, {3}, idx.data(), idx.size() * 4});
  }
};

TEST(Gguf, RoundTripF32KeepsBytesShapesAndMetadata) {
  TempDir dir;
  Sample s;
  const std::string path = dir.path("m.gguf");
  write_gguf(path, s.model, DType::F32);
  ModelFile back = read_gguf(path);
  ASSERT_EQ(back.tensors.size(), 3u);
  const auto& w = back.tensors.get("blk.0.ffn_up.weight");
  EXPECT_EQ(w.dtype, DType::F32);
  EXPECT_EQ(w.shape, (std::vector<int64_t>{4, 64}));
  ASSERT_EQ(w.nbytes, s.w.size() * 4);
  EXPECT_EQ(std::memcmp(w.data, s.w.data(), w.nbytes), 0);
  // Norms are stored f32 whatever their source type (exact: f16 -> f32 is lossless).
  const auto& n = back.tensors.get("blk.0.attn_norm.weight");
  EXPECT_EQ(n.dtype, DType::F32);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(static_cast<const float*>(n.data)[i], 1.0f + 0.5f * i);
  const auto& ids = back.tensors.get("ids");
  EXPECT_EQ(ids.dtype, DType::I32);
  EXPECT_EQ(std::memcmp(ids.data, s.idx.data(), 12), 0);

  EXPECT_EQ(back.meta.get_string(keys::kArchitecture), "moss");
  EXPECT_EQ(back.meta.get_int(keys::kBlockCount), 2);
  EXPECT_EQ(back.meta.get_float(keys::kLayerNormEps), static_cast<double>(1e-5f));
  EXPECT_EQ(back.meta.get_string_array(keys::kTokTokens), (std::vector<std::string>{"a", "", "\xe4\xbd\xa0", "  "}));
  EXPECT_EQ(back.meta.get_int_array(keys::kTokTypes), (std::vector<int64_t>{1, 1, 1, 4}));
  EXPECT_EQ(static_cast<uint64_t>(back.meta.get_int("test.u64")), 0xfedcba9876543210ull);
  EXPECT_EQ(back.meta.get_int("test.bool"), 1);
  const MetaValue* nested = back.meta.find("test.nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->array.size(), 2u);
  EXPECT_EQ(nested->array[0].array[1].f, -2.0);
  EXPECT_EQ(back.meta.get_int(keys::kFileType), 0);
  EXPECT_EQ(back.meta.get_int(keys::kAlignment), static_cast<int64_t>(kMossWriteAlignment));
  for (const TensorView& t : back.tensors.all())  // tensors start on cache lines (the file is mapped)
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % kMossWriteAlignment, 0u) << t.name;
  EXPECT_FALSE(back.meta.has(keys::kQuantVersion));

  // Writing what was read gives the identical file.
  const std::string again = dir.path("again.gguf");
  write_gguf(again, back, DType::F32);
  EXPECT_EQ(test::read_file(path), test::read_file(again));
}

TEST(Gguf, OffsetsAreRunningPaddedSumsInInfoOrder) {
  // llama.cpp's gguf.cpp requires offset[i] = sum of PAD(nbytes[j], 32) for j < i.
  TempDir dir;
  Sample s;
  const std::string path = dir.path("m.gguf");
  write_gguf(path, s.model, DType::F16);
  const std::string bytes = test::read_file(path);
  ModelFile back = read_gguf(path);
  const auto* base = reinterpret_cast<const uint8_t*>(back.tensors.all()[0].data);
  uint64_t expect = 0;
  for (const auto& t : back.tensors.all()) {
    EXPECT_EQ(static_cast<uint64_t>(static_cast<const uint8_t*>(t.data) - base), expect) << t.name;
    expect += (t.nbytes + 31) / 32 * 32;
  }
  // The data section itself starts aligned, and the file ends with the last tensor's padding.
  EXPECT_EQ((bytes.size() - expect) % 32, 0u);
  EXPECT_EQ(back.meta.get_int(keys::kFileType), 1);
}

TEST(Gguf, QuantizesWeightMatricesRowByRow) {
  TempDir dir;
  Sample s;
  const std::string path = dir.path("q.gguf");
  write_gguf(path, s.model, DType::Q8_0);
  ModelFile back = read_gguf(path);
  const auto& w = back.tensors.get("blk.0.ffn_up.weight");
  ASSERT_EQ(w.dtype, DType::Q8_0);
  // Each row must equal quantize_row applied to the source row.
  std::vector<uint8_t> expect(row_bytes(DType::Q8_0, 64));
  for (int r = 0; r < 4; ++r) {
    quantize_row(DType::Q8_0, s.w.data() + r * 64, expect.data(), 64);
    EXPECT_EQ(std::memcmp(static_cast<const uint8_t*>(w.data) + r * expect.size(), expect.data(), expect.size()), 0);
  }
  EXPECT_EQ(back.tensors.get("blk.0.attn_norm.weight").dtype, DType::F32);
  EXPECT_EQ(back.meta.get_int(keys::kFileType), 7);
  EXPECT_EQ(back.meta.get_int(keys::kQuantVersion), 2);

  // Same-type copy of a quantized file is fine and byte-identical; a different quantized type is refused.
  write_gguf(dir.path("q2.gguf"), back, DType::Q8_0);
  EXPECT_EQ(test::read_file(path), test::read_file(dir.path("q2.gguf")));
  EXPECT_MOSS_ERROR(write_gguf(dir.path("q3.gguf"), back, DType::Q4_0), "already quantized as q8_0");
  EXPECT_FALSE(std::filesystem::exists(dir.path("q3.gguf")));
  // Dequantizing to f16 is allowed.
  write_gguf(dir.path("f.gguf"), back, DType::F16);
}

TEST(Gguf, RefusesRowsNotDivisibleByBlock) {
  TempDir dir;
  std::vector<float> w(3 * 40, 1.0f);
  ModelFile m;
  m.tensors.add({"x.weight", DType::F32, {3, 40}, w.data(), w.size() * 4});
  EXPECT_MOSS_ERROR(write_gguf(dir.path("x.gguf"), m, DType::Q4_0), "block size 32");
  EXPECT_FALSE(std::filesystem::exists(dir.path("x.gguf")));
}

TEST(Gguf, ProgressReachesTotal) {
  TempDir dir;
  Sample s;
  uint64_t last = 0, total = 0;
  write_gguf(dir.path("p.gguf"), s.model, DType::F16, [&](uint64_t d, uint64_t t) {
    EXPECT_GE(d, last);
    last = d;
    total = t;
  });
  EXPECT_EQ(last, total);
  EXPECT_GT(total, 0u);
}

// ---- hostile files ----

std::string sample_bytes() {
  TempDir dir;
  Sample s;
  write_gguf(dir.path("s.gguf"), s.model, DType::F16);
  return test::read_file(dir.path("s.gguf"));
}

void parse(const std::string& bytes) {
  Metadata meta;
  TensorSet ts;
  parse_gguf(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "t.gguf", meta, ts);
}

TEST(GgufHostile, EveryTruncationIsAnError) {
  const std::string full = sample_bytes();
  Metadata meta;
  TensorSet ts;
  const auto* base = reinterpret_cast<const uint8_t*>(full.data());
  parse_gguf(base, full.size(), "t.gguf", meta, ts);
  const TensorView& last = ts.all().back();
  // Only the zero padding after the last tensor may be cut; every shorter prefix (inside the
  // header, the infos or any tensor's data) must be refused cleanly.
  const size_t end = static_cast<size_t>(static_cast<const uint8_t*>(last.data) - base) + last.nbytes;
  ASSERT_LT(end, full.size());
  parse(full.substr(0, end));
  for (size_t cut = 0; cut < end; ++cut) {
    try {
      parse(full.substr(0, cut));
      ADD_FAILURE() << "cut at " << cut << " accepted";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("t.gguf"));
    }
  }
}

std::string header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
  std::string b = "GGUF";
  b.append(reinterpret_cast<const char*>(&version), 4);
  b.append(reinterpret_cast<const char*>(&n_tensors), 8);
  b.append(reinterpret_cast<const char*>(&n_kv), 8);
  return b;
}
template <typename T>
void put(std::string& b, T v) {
  b.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
void put_str(std::string& b, const std::string& s) {
  put<uint64_t>(b, s.size());
  b += s;
}

TEST(GgufHostile, HeaderChecks) {
  EXPECT_MOSS_ERROR(parse("GGUX"), "bad magic");
  EXPECT_MOSS_ERROR(parse(header(2, 0, 0)), "unsupported GGUF version 2");
  EXPECT_MOSS_ERROR(parse(header(3u << 16, 0, 0)), "big-endian");
  EXPECT_MOSS_ERROR(parse(header(3, 0, 1ull << 60)), "key/value count");
  EXPECT_MOSS_ERROR(parse(header(3, ~0ull, 0)), "tensor count");
  parse(header(3, 0, 0));  // an empty file is valid
}

TEST(GgufHostile, KeyValueChecks) {
  std::string b = header(3, 0, 1);
  put_str(b, "k");
  put<uint32_t>(b, 8);
  put<uint64_t>(b, 1ull << 62);  // absurd string length
  EXPECT_MOSS_ERROR(parse(b), "truncated");

  b = header(3, 0, 1);
  put_str(b, "k");
  put<uint32_t>(b, 13);
  EXPECT_MOSS_ERROR(parse(b), "unknown value type 13");

  b = header(3, 0, 1);
  put_str(b, "arr");
  put<uint32_t>(b, 9);
  put<uint32_t>(b, 6);
  put<uint64_t>(b, 1ull << 40);  // absurd array count
  EXPECT_MOSS_ERROR(parse(b), "claims 1099511627776 elements");

  b = header(3, 0, 1);
  put_str(b, "deep");
  for (int i = 0; i < 20; ++i) {
    put<uint32_t>(b, 9);
    put<uint64_t>(b, 1);
  }
  b.resize(b.size() + 64, '\0');
  // First element type is written above as part of the next "u32 9"; the parser must stop at depth 8.
  std::string d = header(3, 0, 1);
  put_str(d, "deep");
  put<uint32_t>(d, 9);
  for (int i = 0; i < 20; ++i) {
    put<uint32_t>(d, 9);
    put<uint64_t>(d, 1);
  }
  d.resize(d.size() + 64, '\0');
  EXPECT_MOSS_ERROR(parse(d), "nested deeper");

  b = header(3, 0, 2);
  for (int i = 0; i < 2; ++i) {
    put_str(b, "dup");
    put<uint32_t>(b, 4);
    put<uint32_t>(b, 1);
  }
  EXPECT_MOSS_ERROR(parse(b), "duplicate key dup");

  b = header(3, 0, 1);
  put_str(b, "general.alignment");
  put<uint32_t>(b, 4);
  put<uint32_t>(b, 12);
  EXPECT_MOSS_ERROR(parse(b), "general.alignment 12");
}

std::string one_tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data_bytes) {
  std::string b = header(3, 1, 0);
  put_str(b, name);
  put<uint32_t>(b, static_cast<uint32_t>(ne.size()));
  for (auto n : ne) put<uint64_t>(b, n);
  put<uint32_t>(b, type);
  put<uint64_t>(b, offset);
  b.resize((b.size() + 31) / 32 * 32 + data_bytes, '\0');
  return b;
}

TEST(GgufHostile, TensorInfoChecks) {
  parse(one_tensor("t", {64, 2}, 0, 0, 512));
  EXPECT_MOSS_ERROR(parse(one_tensor("t", {64, 2}, 0, 0, 511)), "lies outside the file");
  EXPECT_MOSS_ERROR(parse(one_tensor("t", {64, 2}, 0, 32, 512)), "lies outside the file");
  EXPECT_MOSS_ERROR(parse(one_tensor("t", {64, 2}, 0, 16, 600)), "not a multiple of the alignment");
  EXPECT_MOSS_ERROR(parse(one_tensor("t", {64, 2}, 4, 0, 512)), "unknown or unsupported ggml type 4");
  EXPECT_MOSS_ERROR(parse(one_tensor("t", {64, 2}, 1000, 0, 512)), "unknown or unsupported ggml type 1000");
  EXPECT_MOSS_ERROR(parse(one_tensor("t", {1, 1, 1, 1, 1}, 0, 0, 64)), "5 dims");
  EXPECT_MOSS_ERROR(parse(one_tensor("t", {48, 2}, 2, 0, 512)), "not a multiple of the q4_0 block size 32");
  EXPECT_MOSS_ERROR(parse(one_tensor("t", {1ull << 40, 1ull << 40}, 0, 0, 64)), "more elements than fit");
  EXPECT_MOSS_ERROR(parse(one_tensor("t", {1ull << 63}, 0, 0, 64)), "negative dimension");
  // A zero dimension holds no element, but must not let the others overflow (a libFuzzer find:
  // TensorView::numel() multiplied 2^40 by 2^32 before reaching the 0).
  EXPECT_MOSS_ERROR(parse(one_tensor("t", {0, 1ull << 40, 1ull << 32}, 0, 0, 64)), "does not fit in 64 bits");
  parse(one_tensor("t", {0, 1ull << 20, 1ull << 20}, 0, 0, 64));  // in range: an empty tensor
  EXPECT_MOSS_ERROR(parse(one_tensor("t", {1ull << 40}, 0, 0, 64)), "larger than the file");
  EXPECT_MOSS_ERROR(parse(one_tensor(std::string(64, 'n'), {8}, 0, 0, 64)), "longer than 63");

  std::string b = header(3, 2, 0);
  for (int i = 0; i < 2; ++i) {
    put_str(b, "same");
    put<uint32_t>(b, 1);
    put<uint64_t>(b, 8);
    put<uint32_t>(b, 0);
    put<uint64_t>(b, 0);
  }
  b.resize(256, '\0');
  EXPECT_MOSS_ERROR(parse(b), "duplicate tensor name same");
}

TEST(Gguf, OpenModelDispatch) {
  TempDir dir;
  Sample s;
  write_gguf(dir.path("m.gguf"), s.model, DType::F16);
  EXPECT_EQ(open_model(dir.path("m.gguf")).tensors.size(), 3u);
  test::write_file(dir.path("junk.bin"), "hello world");
  EXPECT_MOSS_ERROR(open_model(dir.path("junk.bin")), "neither a GGUF file nor a Hugging Face model folder");
  EXPECT_MOSS_ERROR(open_model(dir.path("missing")), "cannot open model");
}

}  // namespace
}  // namespace moss

namespace moss {
namespace {

// A GGUF file written by tools/make_format_fixtures.py's independent Python writer.
TEST(Gguf, ReadsPythonWrittenFile) {
  ModelFile m = read_gguf(test::fixture_dir() + "/seed/tiny.gguf");
  const Metadata& md = m.meta;
  EXPECT_EQ(md.get_string(keys::kArchitecture), "moss");
  EXPECT_EQ(md.get_int("test.u8"), 200);
  EXPECT_EQ(md.get_int("test.i8"), -100);
  EXPECT_EQ(md.get_int("test.u16"), 60000);
  EXPECT_EQ(md.get_int("test.i16"), -30000);
  EXPECT_EQ(md.get_int("test.i32"), -2000000000);
  EXPECT_EQ(md.get_float("test.f32"), 0.5);
  EXPECT_EQ(md.get_int("test.bool"), 1);
  EXPECT_EQ(static_cast<uint64_t>(md.get_int("test.u64")), (1ull << 63) + 5);
  EXPECT_EQ(md.get_int("test.i64"), -(int64_t{1} << 62));
  EXPECT_EQ(md.get_float("test.f64"), 0.1);
  EXPECT_EQ(md.get_int_array("test.ints"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(md.get_string_array("test.strs"), (std::vector<std::string>{"a", "", "\xe4\xbd\xa0\xe5\xa5\xbd"}));
  EXPECT_EQ(md.find("test.nested")->array[0].array[0].f, 1.5);

  const TensorView& w = m.tensors.get("w");
  EXPECT_EQ(w.shape, (std::vector<int64_t>{2, 32}));  // ne = [32, 2] reversed
  EXPECT_EQ(static_cast<const float*>(w.data)[63], 63 * 0.25f);
  const TensorView& n = m.tensors.get("n");
  EXPECT_EQ(n.dtype, DType::F16);
  EXPECT_EQ(fp16_to_f32(static_cast<const uint16_t*>(n.data)[31]), 32.0f);
  const TensorView& q = m.tensors.get("q");
  EXPECT_EQ(q.dtype, DType::Q8_0);
  EXPECT_EQ(q.nbytes, 34u);
  float row[32];
  dequantize_row(DType::Q8_0, q.data, row, 32);
  for (int k = 0; k < 32; ++k) EXPECT_EQ(row[k], (k - 16) * 0.5f);
  // Written back by the C++ writer: tensors not named *.weight keep float bytes as f32 and
  // quantized bytes as they are; the f16 vector is widened to f32.
  test::TempDir dir;
  write_gguf(dir.path("again.gguf"), m, DType::Q8_0);
  ModelFile again = read_gguf(dir.path("again.gguf"));
  EXPECT_EQ(again.tensors.get("w").dtype, DType::F32);
  EXPECT_EQ(std::memcmp(again.tensors.get("w").data, w.data, w.nbytes), 0);
  EXPECT_EQ(again.tensors.get("q").dtype, DType::Q8_0);
  EXPECT_EQ(std::memcmp(again.tensors.get("q").data, q.data, 34), 0);
  EXPECT_EQ(again.tensors.get("n").dtype, DType::F32);
  EXPECT_EQ(static_cast<const float*>(again.tensors.get("n").data)[31], 32.0f);
  EXPECT_EQ(again.meta.get_string_array("test.strs"), md.get_string_array("test.strs"));
}

}  // namespace
}  // namespace moss
