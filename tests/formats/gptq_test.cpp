// GPTQ import against tiny layers packed in Python from the spec's packing
// (tools/make_quant_fixtures.py): the expected weights are the fp16 values the Triton kernel
// computes, fp16(scale * (q - z)).
#include "formats/gptq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tensor/convert.h"
#include "util/error.h"
#include "util/half.h"

namespace moss {
namespace {

std::vector<uint8_t> read(const std::string& name) {
  std::ifstream f(std::string(MOSS_FIXTURE_DIR) + "/quant/gptq_" + name + ".bin", std::ios::binary);
  EXPECT_TRUE(f.good()) << name;
  return {std::istreambuf_iterator<char>(f), {}};
}

struct Layer {
  std::vector<uint8_t> qw, qz, sc, gi, expected;
  TensorView qweight, qzeros, scales, g_idx;
  GptqLinear in;
  int64_t K, N;
  Layer(const std::string& name, int bits, int64_t k, int64_t n) : K(k), N(n) {
    const int p = 32 / bits;
    const int64_t G = (K + 127) / 128;
    qw = read(name + "_qweight"), qz = read(name + "_qzeros"), sc = read(name + "_scales");
    gi = read(name + "_gidx"), expected = read(name + "_expected");
    qweight = {"qweight", DType::I32, {K / p, N}, qw.data(), qw.size()};
    qzeros = {"qzeros", DType::I32, {G, N / p}, qz.data(), qz.size()};
    scales = {"scales", DType::F16, {G, N}, sc.data(), sc.size()};
    g_idx = {"g_idx", DType::I32, {K}, gi.data(), gi.size()};
    in = {&qweight, &qzeros, &scales, &g_idx, bits};
  }
  float want(int64_t n, int64_t k) const {
    uint16_t h;
    std::memcpy(&h, expected.data() + 2 * (n * K + k), 2);
    return fp16_to_f32(h);
  }
};

std::vector<float> dequant(const TensorView& t) {
  std::vector<float> w(static_cast<size_t>(t.numel()));
  const size_t rb = row_bytes(t.dtype, t.shape[1]);
  for (int64_t r = 0; r < t.shape[0]; ++r)
    dequantize_row(t.dtype, static_cast<const uint8_t*>(t.data) + r * rb, w.data() + r * t.shape[1], t.shape[1]);
  return w;
}

// q8_0 holds s * (q - z) exactly; Triton rounds that product to fp16, so they differ by at most half an
// fp16 ulp: |w - fp16(w)| <= 2^-11 |w| (normal range; these scales keep |w| >= 2^-14 or w = 0).
void expect_q8_within_half_ulp(const Layer& l, const TensorView& t) {
  ASSERT_EQ(t.dtype, DType::Q8_0);
  const auto w = dequant(t);
  double max_rel = 0;
  for (int64_t n = 0; n < l.N; ++n)
    for (int64_t k = 0; k < l.K; ++k) {
      const float got = w[n * l.K + k], want = l.want(n, k);
      ASSERT_LE(std::fabs(got - want), std::ldexp(std::fabs(got), -11)) << "n=" << n << " k=" << k;
      ASSERT_EQ(round_fp16(got), want);  // and rounding it the way Triton does gives its weight exactly
      if (want != 0) max_rel = std::max(max_rel, static_cast<double>(std::fabs(got - want) / std::fabs(want)));
    }
  std::printf("max relative difference to the Triton fp16 weight: %.3g\n", max_rel);
}

TEST(Gptq, Int4BecomesExactQ8_0) {
  Layer l("int4", 4, 256, 16);
  TensorSet set;
  const TensorView& t = import_gptq_linear(l.in, set, "blk.0.attn_qkv.weight");
  EXPECT_EQ(t.shape, (std::vector<int64_t>{16, 256}));
  expect_q8_within_half_ulp(l, t);
}

TEST(Gptq, F16IsTheTritonWeightBitForBit) {
  for (auto [name, bits, N] : {std::tuple{"int4", 4, 16}, std::tuple{"int8", 8, 8}, std::tuple{"actorder", 4, 8}}) {
    Layer l(name, bits, 256, N);
    TensorSet set;
    const TensorView& t = import_gptq_linear(l.in, set, "w", GptqTarget::F16);
    ASSERT_EQ(t.dtype, DType::F16);
    ASSERT_EQ(t.nbytes, l.expected.size());
    EXPECT_EQ(std::memcmp(t.data, l.expected.data(), t.nbytes), 0) << name;
  }
}

TEST(Gptq, AutoFallsBackToF16WhenQ8_0CannotBeExact) {
  {
    Layer l("int8", 8, 256, 8);  // q - z reaches beyond int8
    TensorSet set;
    EXPECT_EQ(import_gptq_linear(l.in, set, "w").dtype, DType::F16);
    EXPECT_THROW(import_gptq_linear(l.in, set, "w2", GptqTarget::Q8_0), Error);
  }
  {
    Layer l("actorder", 4, 256, 8);  // 32-input blocks mix groups
    TensorSet set;
    EXPECT_EQ(import_gptq_linear(l.in, set, "w").dtype, DType::F16);
  }
  {
    Layer l("int8fit", 8, 256, 8);
    TensorSet set;
    expect_q8_within_half_ulp(l, import_gptq_linear(l.in, set, "w"));
  }
}

TEST(Gptq, BadInputIsAnError) {
  Layer l("int4", 4, 256, 16);
  TensorSet set;
  GptqLinear bad = l.in;
  bad.bits = 3;
  EXPECT_THROW(import_gptq_linear(bad, set, "w"), Error);
  bad = l.in;
  bad.bits = 8;  // shapes then disagree with p = 4
  EXPECT_THROW(import_gptq_linear(bad, set, "w"), Error);
  std::vector<uint8_t> gi = l.gi;
  int32_t big = 99;
  std::memcpy(gi.data() + 4 * 10, &big, 4);
  TensorView g = l.g_idx;
  g.data = gi.data();
  bad = l.in;
  bad.g_idx = &g;
  EXPECT_THROW(import_gptq_linear(bad, set, "w"), Error);
  TensorView sc = l.scales;
  sc.dtype = DType::F32;
  bad = l.in;
  bad.scales = &sc;
  EXPECT_THROW(import_gptq_linear(bad, set, "w"), Error);
  bad = l.in;
  bad.qzeros = nullptr;
  EXPECT_THROW(import_gptq_linear(bad, set, "w"), Error);
}

}  // namespace
}  // namespace moss
