// PyTorch zip checkpoints: real torch.save files (fixtures) and hand-built archives/pickles for
// each failure the reader must report: forbidden globals, legacy format, compressed entries,
// non-contiguous or out-of-storage tensors, truncation anywhere, ZIP64 directories.
#include <cstring>

#include "formats/pickle.h"
#include "formats/torch_zip.h"
#include "formats/zip_reader.h"
#include "support/test_util.h"
#include "util/half.h"

namespace moss {
namespace {

std::string bad(const std::string& name) { return test::fixture_dir() + "/bad/" + name; }

void parse_bytes(const std::string& b, TensorSet& out) {
  parse_torch_zip(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "t.bin", out);
}
void parse_bytes(const std::string& b) {
  TensorSet ts;
  parse_bytes(b, ts);
}

// ---- a minimal STORED zip writer (optionally with ZIP64 records) and pickle builder ----

template <typename T>
void put(std::string& b, T v) {
  b.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries, bool zip64 = false) {
  std::string out, cd;
  for (const auto& [name, data] : entries) {
    const uint32_t local = static_cast<uint32_t>(out.size());
    put<uint32_t>(out, 0x04034b50);
    put<uint16_t>(out, 20);
    put<uint16_t>(out, 0);  // flags
    put<uint16_t>(out, 0);  // STORED
    put<uint32_t>(out, 0);  // time, date
    put<uint32_t>(out, 0);  // crc (not checked by the reader)
    put<uint32_t>(out, static_cast<uint32_t>(data.size()));
    put<uint32_t>(out, static_cast<uint32_t>(data.size()));
    put<uint16_t>(out, static_cast<uint16_t>(name.size()));
    put<uint16_t>(out, 3);  // extra: 3 padding bytes, as torch.save pads to align data
    out += name;
    out += std::string(3, '\0');
    out += data;

    put<uint32_t>(cd, 0x02014b50);
    put<uint16_t>(cd, 45);
    put<uint16_t>(cd, 45);
    put<uint16_t>(cd, 0);
    put<uint16_t>(cd, 0);
    put<uint32_t>(cd, 0);
    put<uint32_t>(cd, 0);
    put<uint32_t>(cd, zip64 ? 0xffffffff : static_cast<uint32_t>(data.size()));
    put<uint32_t>(cd, zip64 ? 0xffffffff : static_cast<uint32_t>(data.size()));
    put<uint16_t>(cd, static_cast<uint16_t>(name.size()));
    put<uint16_t>(cd, zip64 ? 28 : 0);
    put<uint16_t>(cd, 0);  // comment
    put<uint16_t>(cd, 0);  // disk
    put<uint16_t>(cd, 0);
    put<uint32_t>(cd, 0);
    put<uint32_t>(cd, zip64 ? 0xffffffff : local);
    cd += name;
    if (zip64) {
      put<uint16_t>(cd, 1);
      put<uint16_t>(cd, 24);
      put<uint64_t>(cd, data.size());
      put<uint64_t>(cd, data.size());
      put<uint64_t>(cd, local);
    }
  }
  const uint64_t cd_offset = out.size();
  out += cd;
  if (zip64) {
    const uint64_t end64 = out.size();
    put<uint32_t>(out, 0x06064b50);
    put<uint64_t>(out, 44);
    put<uint16_t>(out, 45);
    put<uint16_t>(out, 45);
    put<uint32_t>(out, 0);
    put<uint32_t>(out, 0);
    put<uint64_t>(out, entries.size());
    put<uint64_t>(out, entries.size());
    put<uint64_t>(out, cd.size());
    put<uint64_t>(out, cd_offset);
    put<uint32_t>(out, 0x07064b50);
    put<uint32_t>(out, 0);
    put<uint64_t>(out, end64);
    put<uint32_t>(out, 1);
  }
  put<uint32_t>(out, 0x06054b50);
  put<uint16_t>(out, 0);
  put<uint16_t>(out, 0);
  put<uint16_t>(out, zip64 ? 0xffff : static_cast<uint16_t>(entries.size()));
  put<uint16_t>(out, zip64 ? 0xffff : static_cast<uint16_t>(entries.size()));
  put<uint32_t>(out, zip64 ? 0xffffffff : static_cast<uint32_t>(cd.size()));
  put<uint32_t>(out, zip64 ? 0xffffffff : static_cast<uint32_t>(cd_offset));
  put<uint16_t>(out, 0);
  return out;
}

struct Pickle {
  std::string b = "\x80\x02";
  Pickle& op(const std::string& s) {
    b += s;
    return *this;
  }
  Pickle& str(const std::string& s) {
    b += 'X';
    put<uint32_t>(b, static_cast<uint32_t>(s.size()));
    b += s;
    return *this;
  }
  Pickle& i(int v) {
    b += 'J';
    put<int32_t>(b, v);
    return *this;
  }
  Pickle& global(const std::string& m, const std::string& n) { return op("c" + m + "\n" + n + "\n"); }
  // _rebuild_tensor_v2(persid('storage', cls, key, 'cpu', numel), offset, size, stride, False, OrderedDict())
  Pickle& tensor(const std::string& cls, const std::string& key, int numel, int offset, std::vector<int> size, std::vector<int> stride) {
    global("torch._utils", "_rebuild_tensor_v2");
    op("(").op("(").str("storage").global("torch", cls).str(key).str("cpu").i(numel).op("t").op("Q");
    i(offset);
    op("(");
    for (int s : size) i(s);
    op("t(");
    for (int s : stride) i(s);
    op("t\x89").global("collections", "OrderedDict").op(")R");
    return op("tR");
  }
};

// {name: tensor} with one float storage "0" of `numel` floats holding 0, 1, 2, ...
std::string checkpoint(const std::string& pkl, int storage_floats) {
  std::string data;
  for (int k = 0; k < storage_floats; ++k) put<float>(data, static_cast<float>(k));
  return make_zip({{"archive/data.pkl", pkl}, {"archive/version", "3\n"}, {"archive/data/0", data}});
}

std::string one_tensor_pickle(int numel, int offset, std::vector<int> size, std::vector<int> stride) {
  Pickle p;
  p.op("}").str("w").tensor("FloatStorage", "0", numel, offset, size, stride).op("s.");
  return p.b;
}

// A string literal with embedded NULs, whole.
template <size_t N>
std::string bin(const char (&s)[N]) {
  return std::string(s, N - 1);
}

// ---- tests ----

TEST(TorchZip, ReadsTorchSaveFile) {
  TensorSet ts = read_torch_checkpoint(bad("small_ok.bin"));
  ASSERT_EQ(ts.size(), 2u);
  const TensorView& a = ts.get("a");
  EXPECT_EQ(a.dtype, DType::F16);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  for (int k = 0; k < 6; ++k) EXPECT_EQ(fp16_to_f32(static_cast<const uint16_t*>(a.data)[k]), static_cast<float>(k));
  const TensorView& b = ts.get("b");
  EXPECT_EQ(b.dtype, DType::I32);
  EXPECT_EQ(std::vector<int32_t>(static_cast<const int32_t*>(b.data), static_cast<const int32_t*>(b.data) + 3),
            (std::vector<int32_t>{1, 2, 3}));
}

TEST(TorchZip, HandBuiltArchiveWithOffsetsAndZip64) {
  for (bool zip64 : {false, true}) {
    Pickle p;
    p.op("}").op("(").str("x").tensor("FloatStorage", "0", 10, 4, {2, 3}, {3, 1});
    p.str("y").tensor("FloatStorage", "0", 10, 0, {4}, {1}).op("u.");
    std::string data;
    for (int k = 0; k < 10; ++k) put<float>(data, static_cast<float>(k));
    const std::string zip = make_zip({{"m/data.pkl", p.b}, {"m/data/0", data}}, zip64);
    TensorSet ts;
    parse_bytes(zip, ts);
    const TensorView& x = ts.get("x");
    // make_zip's 3-byte extra field leaves the data unaligned: read elements with memcpy.
    auto at = [](const TensorView& t, size_t k) {
      float f;
      std::memcpy(&f, static_cast<const uint8_t*>(t.data) + 4 * k, 4);
      return f;
    };
    EXPECT_EQ(at(x, 0), 4.0f);  // storage offset 4, shared storage
    EXPECT_EQ(at(x, 5), 9.0f);
    EXPECT_EQ(at(ts.get("y"), 3), 3.0f);
  }
}

TEST(TorchZip, ForbiddenGlobalsAreNamedNeverCalled) {
  EXPECT_MOSS_ERROR(read_torch_checkpoint(bad("evil_os_system.bin")), "forbidden global os.system");
  EXPECT_MOSS_ERROR(read_torch_checkpoint(bad("evil_posix_system.bin")), "forbidden global posix.system");
  EXPECT_MOSS_ERROR(read_torch_checkpoint(bad("evil_eval.bin")), "forbidden global builtins.eval");
  Pickle p;
  p.op("}").str("w").global("torch", "load").op(")R").op("s.");
  EXPECT_MOSS_ERROR(parse_bytes(checkpoint(p.b, 4)), "forbidden global torch.load");
}

TEST(TorchZip, RefusesOtherFormats) {
  EXPECT_MOSS_ERROR(read_torch_checkpoint(bad("legacy.bin")), "legacy (pre-1.6, non-zip) PyTorch checkpoint");
  EXPECT_MOSS_ERROR(read_torch_checkpoint(bad("deflated.bin")), "is compressed (method 8)");
  EXPECT_MOSS_ERROR(parse_bytes("hello"), "not a PyTorch zip checkpoint");
  EXPECT_MOSS_ERROR(parse_bytes(make_zip({{"archive/version", "3"}})), "no <folder>/data.pkl");
}

TEST(TorchZip, TensorChecks) {
  parse_bytes(checkpoint(one_tensor_pickle(4, 0, {2, 2}, {2, 1}), 4));
  EXPECT_MOSS_ERROR(read_torch_checkpoint(bad("strided.bin")), "is not contiguous");
  EXPECT_MOSS_ERROR(parse_bytes(checkpoint(one_tensor_pickle(4, 0, {2, 2}, {1, 2}), 4)), "is not contiguous");
  EXPECT_MOSS_ERROR(parse_bytes(checkpoint(one_tensor_pickle(8, 0, {2, 2}, {2, 1}), 4)), "claims 8 elements but holds 16 bytes");
  EXPECT_MOSS_ERROR(parse_bytes(checkpoint(one_tensor_pickle(4, 1, {2, 2}, {2, 1}), 4)), "does not fit in storage");
  EXPECT_MOSS_ERROR(parse_bytes(checkpoint(one_tensor_pickle(4, 0, {3, 2}, {2, 1}), 4)), "does not fit in storage");
  EXPECT_MOSS_ERROR(parse_bytes(checkpoint(one_tensor_pickle(4, 0, {2, -2}, {2, 1}), 4)), "negative size");
  EXPECT_MOSS_ERROR(parse_bytes(checkpoint(one_tensor_pickle(4, 0, {1 << 30, 1 << 30}, {1 << 30, 1}), 4)), "larger than its storage");
  // An empty tensor whose other dimensions multiply past 64 bits (numel() would overflow on them).
  EXPECT_MOSS_ERROR(parse_bytes(checkpoint(one_tensor_pickle(4, 0, {1 << 30, 1 << 30, 1 << 30, 0}, {0, 0, 0, 1}), 4)),
                    "too many elements");
  // A storage key the archive lacks.
  Pickle p;
  p.op("}").str("w").tensor("FloatStorage", "7", 4, 0, {4}, {1}).op("s.");
  EXPECT_MOSS_ERROR(parse_bytes(checkpoint(p.b, 4)), "uses storage 7, which the archive lacks");
}

TEST(TorchZip, MalformedPickles) {
  auto run = [](const std::string& pkl) { parse_bytes(checkpoint(pkl, 4)); };
  EXPECT_MOSS_ERROR(run("\x80\x02}"), "pickle ends without STOP");
  EXPECT_MOSS_ERROR(run("\x80\x02}0."), "unsupported pickle opcode 0x30");
  EXPECT_MOSS_ERROR(run("\x80\x02s."), "stack underflow");
  EXPECT_MOSS_ERROR(run("\x80\x02h\x05."), "memo entry 5 was never stored");
  EXPECT_MOSS_ERROR(run("\x80\x02]."), "not a state dict");
  EXPECT_MOSS_ERROR(run(bin("\x80\x02}X\x01\x00\x00\x00wK\x01s.")), "entry w is a int, not a tensor");
  EXPECT_MOSS_ERROR(run("\x80\x02X\xff\xff\xff\x7f"), "pickle truncated inside a string");
  EXPECT_MOSS_ERROR(run("\x80\x02}\x8a\x09"), "integer of 9 bytes");
  EXPECT_MOSS_ERROR(run("\x80\x02]}b."), "BUILD on a list");  // only a dict's state (_metadata) is dropped
  // A cycle (a dict stored inside itself) neither leaks nor loops: it is just not a state dict.
  EXPECT_MOSS_ERROR(run(bin("\x80\x02}q\x00X\x01\x00\x00\x00" "ah\x00s.")), "entry a is a dict, not a tensor");
  Pickle p;
  p.op("}").str("w").global("torch._utils", "_rebuild_tensor_v2").op("(K\x01t").op("Rs.");
  EXPECT_MOSS_ERROR(run(p.b), "_rebuild_tensor_v2 called with 1 arguments");
}

TEST(TorchZip, EveryTruncationAndByteFlipIsHandled) {
  const std::string full = test::read_file(bad("small_ok.bin"));
  parse_bytes(full);
  for (size_t cut = 0; cut < full.size(); ++cut) {
    try {
      parse_bytes(full.substr(0, cut));
      ADD_FAILURE() << "cut at " << cut << " accepted";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("t.bin"));
    }
  }
  // Corrupting any single byte either leaves a readable file or gives moss::Error, nothing else.
  for (size_t at = 0; at < full.size(); ++at) {
    std::string b = full;
    b[at] = static_cast<char>(b[at] ^ 0x5a);
    try {
      parse_bytes(b);
    } catch (const Error&) {
    }
  }
}

TEST(ZipReader, DirectoryChecks) {
  EXPECT_MOSS_ERROR(read_zip_directory(reinterpret_cast<const uint8_t*>("PK"), 2, "z"), "too short");
  std::string z = make_zip({{"a/data.pkl", "x"}});
  z[z.size() - 6] = '\x7f';  // directory offset far outside the file
  EXPECT_MOSS_ERROR(read_zip_directory(reinterpret_cast<const uint8_t*>(z.data()), z.size(), "z"), "outside the file");
  std::string dup = make_zip({{"a/x", "1"}, {"a/x", "2"}});
  EXPECT_MOSS_ERROR(read_zip_directory(reinterpret_cast<const uint8_t*>(dup.data()), dup.size(), "z"), "two entries named a/x");
}

}  // namespace
}  // namespace moss
