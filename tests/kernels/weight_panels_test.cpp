// q4_0 and q8_0 panels (kernels/weight_panels.h): the repacking is lossless, the panel GEMMs (AVX-512,
// AVX2) agree with the scalar table within the bound derived in matmul_test.cpp, matmul() and MatmulJob give
// the panel GEMM's bits at any thread count, each output is independent of how many activation rows
// share the call, and shapes that do not fit are errors.
#include "kernels/weight_panels.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/matmul.h"
#include "support/matmul_cases.h"
#include "util/aligned_buffer.h"
#include "support/test_util.h"
#include "util/error.h"
#include "util/half.h"
#include "util/thread_pool.h"

namespace moss {
namespace {

using namespace moss::test;


// The panel GEMM of a table for this type, or nullptr (no such kernel, or the CPU lacks the set).
QuantGemm panel_gemm(Isa isa, DType t) {
  if (!isa_supported(isa)) return nullptr;
  const MatmulKernels& kt = matmul_kernels(isa);
  return kt.panels_for(t);
}

// A table's panel GEMM over the whole matrix (no bias), like run_table for rows.
std::vector<float> run_panels(Isa isa, const Case& c, const Data& d, const PanelCopy& p) {
  const MatmulKernels& kt = matmul_kernels(isa);
  const size_t stride = kt.act_bytes(c.k);
  std::vector<uint8_t> xq(stride * static_cast<size_t>(c.m));
  for (int64_t i = 0; i < c.m; ++i) kt.quantize_act(d.x.data() + i * c.k, xq.data() + i * stride, c.k);
  std::vector<float> y(static_cast<size_t>(c.m * c.n));
  panel_gemm(isa, c.type)(xq.data(), stride, c.m, static_cast<const uint8_t*>(p.matrix.data), c.k, 0, c.n, y.data(), c.n);
  return y;
}

// Every tile height (1..8 rows, then a second tile), one and several panels, 1 to 32 block pairs
// (q4_k: 1 to 8 super-blocks).
const Case kPanelCases[] = {
    {DType::Q4_0, 1, 16, 64},   {DType::Q4_0, 2, 32, 128},  {DType::Q4_0, 3, 16, 2048},     {DType::Q4_0, 4, 48, 256},
    {DType::Q4_0, 5, 16, 192},  {DType::Q4_0, 7, 32, 64},   {DType::Q4_0, 8, 48, 1024},     {DType::Q4_0, 9, 16, 128},
    {DType::Q4_0, 16, 32, 256}, {DType::Q4_0, 17, 16, 2048, 32},
    {DType::Q8_0, 1, 16, 64},   {DType::Q8_0, 3, 32, 2048}, {DType::Q8_0, 6, 48, 192},      {DType::Q8_0, 8, 16, 1024},
    {DType::Q8_0, 11, 32, 128}, {DType::Q8_0, 16, 16, 256, 32},
    {DType::Q4_K, 1, 16, 256},  {DType::Q4_K, 2, 32, 512},  {DType::Q4_K, 3, 16, 2048},     {DType::Q4_K, 5, 48, 256},
    {DType::Q4_K, 4, 16, 256},  {DType::Q4_K, 6, 32, 512},  {DType::Q4_K, 7, 16, 256},      {DType::Q4_K, 8, 16, 768},
    {DType::Q4_K, 9, 32, 256},  {DType::Q4_K, 13, 16, 1024, 32},
};

bool any_panel_kernels() {
  for (Isa isa : kAllIsas)
    if (panel_gemm(isa, DType::Q4_0)) return true;
  return false;
}

TEST(WeightPanels, RepackingIsLossless) {
  ThreadPool pool(2);
  for (const Case& c : kPanelCases) {
    const Data d = make(c, 3);
    const PanelCopy p = repack_panels(d.wm, pool);
    EXPECT_EQ(p.matrix.layout, WeightLayout::Panels16);
    EXPECT_NE(std::memcmp(p.matrix.data, d.w.data(), d.w.size()), 0) << "the layout changed";
    const size_t rb = row_bytes(c.type, c.k);
    std::vector<uint8_t> row(rb);
    for (int64_t n = 0; n < c.n; ++n) {
      panel_row(p.matrix, n, row.data());
      ASSERT_EQ(std::memcmp(row.data(), d.w.data() + n * rb, rb), 0)
          << dtype_name(c.type) << " row " << n << " of " << c.n << " x " << c.k;
    }
    // The reference path reads panel matrices too, with the same dequantized values.
    std::vector<float> want(static_cast<size_t>(c.m * c.n)), got(want.size());
    matmul_reference(d.x.data(), c.m, d.wm, d.bias.data(), want.data());
    matmul_reference(d.x.data(), c.m, p.matrix, d.bias.data(), got.data());
    EXPECT_EQ(got, want);
  }
}

// Same exact integer block sums as the scalar table, combined with f32 products and sums: the bound
// of Matmul.SimdTablesMatchScalar, 2 * (nb + 8) * u * T. Every table with panel kernels (AVX-512 and
// AVX-VNNI: q4_0 and q8_0, AVX2: q4_0), on this CPU.
TEST(WeightPanels, KernelsMatchScalarTable) {
  if (!any_panel_kernels()) GTEST_SKIP() << "no panel kernels on this CPU";
  ThreadPool pool(1);
  int tested = 0;
  for (Isa isa : kAllIsas)
    for (const Case& c : kPanelCases) {
      if (!panel_gemm(isa, c.type)) continue;
      ++tested;
      const Data d = make(c, 5);
      const PanelCopy p = repack_panels(d.wm, pool);
      const auto want = run_table(matmul_kernels_scalar(), c, d);
      const auto got = run_panels(isa, c, d, p);
      const auto xh = quantized_x(c, d);
      const size_t rb = row_bytes(c.type, c.k);
      for (int64_t n = 0; n < c.n; ++n) {
        const auto a = weight_magnitudes(c.type, d.w.data() + n * rb, c.k);
        for (int64_t i = 0; i < c.m; ++i) {
          double t = 0;
          for (int64_t k = 0; k < c.k; ++k) t += std::fabs(xh[i * c.k + k]) * a[k];
          const double bound = 2 * (c.k / 32 + 8) * kEps * t + 1e-30;
          ASSERT_LE(std::fabs(got[i * c.n + n] - want[i * c.n + n]), bound)
              << isa_name(isa) << " " << dtype_name(c.type) << " m=" << c.m << " n=" << n << " i=" << i;
        }
      }
    }
  EXPECT_GT(tested, 0);
}

// matmul() and MatmulJob on a panel matrix: the panel GEMM plus bias, bit for bit, at 1 to 3 threads
// (chunks fall on panel boundaries); and an output does not depend on the other rows in the call.
TEST(WeightPanels, DispatchIsExactAndRowIndependent) {
  if (!any_panel_kernels()) GTEST_SKIP() << "no panel kernels on this CPU";
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (const Case& c : kPanelCases) {
      if (!panel_gemm(active_isa(), c.type)) continue;
      const Data d = make(c, 13);
      const PanelCopy p = repack_panels(d.wm, pool);
      auto want = run_panels(active_isa(), c, d, p);
      for (int64_t i = 0; i < c.m; ++i)
        for (int64_t n = 0; n < c.n; ++n) want[i * c.n + n] += d.bias[n];
      std::vector<float> got(want.size(), NAN), job_out(want.size(), NAN);
      matmul(d.x.data(), c.m, p.matrix, d.bias.data(), got.data(), pool);
      ASSERT_EQ(got, want) << dtype_name(c.type) << " m=" << c.m << " threads=" << threads;
      AlignedBuffer scratch;
      MatmulJob job(d.x.data(), c.m, p.matrix, d.bias.data(), job_out.data(), pool, scratch);
      pool.run([&](int, int) {
        while (job.run_next_chunk()) {
        }
      });
      ASSERT_EQ(job_out, want) << "m=" << c.m << " threads=" << threads;
      for (int64_t i = 0; i < c.m; ++i) {  // each row alone gives its row of the batch
        std::vector<float> one(static_cast<size_t>(c.n));
        matmul(d.x.data() + i * c.k, 1, p.matrix, d.bias.data(), one.data(), pool);
        ASSERT_EQ(0, std::memcmp(one.data(), got.data() + i * c.n, one.size() * sizeof(float))) << "row " << i;
      }
    }
  }
}

// The q4_k panel kernels do the scalar table's operations in its order (matmul_panels_avx512.cpp):
// equal bits, every table that has them.
TEST(WeightPanels, Q4KKernelsGiveTheScalarTableBits) {
  ThreadPool pool(1);
  int tested = 0;
  for (Isa isa : kAllIsas)
    for (const Case& c : kPanelCases) {
      if (c.type != DType::Q4_K || !panel_gemm(isa, c.type)) continue;
      ++tested;
      const Data d = make(c, 23);
      const PanelCopy p = repack_panels(d.wm, pool);
      const auto want = run_table(matmul_kernels_scalar(), c, d);
      const auto got = run_panels(isa, c, d, p);
      for (size_t j = 0; j < got.size(); ++j)
        ASSERT_EQ(f32_to_bits(got[j]), f32_to_bits(want[j])) << isa_name(isa) << " m=" << c.m << " at " << j;
    }
  if (tested == 0) GTEST_SKIP() << "no q4_k panel kernels on this CPU";
}

// Every table's panel kernels for a type perform the same steps on the same values (the exact
// integer block sums, then convert, multiply and FMA, or q4_k's separate multiplies and adds, in
// block order per output), so a repacked model computes the same bits on AVX2, AVX-VNNI and AVX-512:
// each table against the AVX-512 one (or, without AVX-512 here, against any other that has the type).
TEST(WeightPanels, PanelKernelsGiveTheSameBitsOnEveryLevel) {
  ThreadPool pool(1);
  int compared = 0;
  for (const Case& c : kPanelCases) {
    std::vector<Isa> levels;
    for (Isa isa : {Isa::Avx512, Isa::Avx2Vnni, Isa::Avx2})
      if (panel_gemm(isa, c.type)) levels.push_back(isa);
    if (levels.size() < 2) continue;
    const Data d = make(c, 17);
    const PanelCopy p = repack_panels(d.wm, pool);
    const auto want = run_panels(levels[0], c, d, p);
    for (size_t l = 1; l < levels.size(); ++l) {
      ++compared;
      const auto got = run_panels(levels[l], c, d, p);
      for (size_t j = 0; j < got.size(); ++j)
        ASSERT_EQ(f32_to_bits(got[j]), f32_to_bits(want[j]))
            << isa_name(levels[l]) << " vs " << isa_name(levels[0]) << " " << dtype_name(c.type) << " m=" << c.m << " at " << j;
    }
  }
  if (compared == 0) GTEST_SKIP() << "fewer than two levels with panel kernels on this CPU";
}

TEST(WeightPanels, ShapesThatDoNotFitAreErrors) {
  ThreadPool pool(1);
  std::vector<uint8_t> w(64 * 1024), dst(w.size());
  const WeightMatrix ok{w.data(), DType::Q4_0, 32, 128};
  EXPECT_TRUE(panels_fit(ok));
  EXPECT_FALSE(panels_fit(WeightMatrix{w.data(), DType::Q4_0, 24, 128}));  // not whole panels
  EXPECT_FALSE(panels_fit(WeightMatrix{w.data(), DType::Q4_0, 32, 96}));   // odd block count
  EXPECT_TRUE(panels_fit(WeightMatrix{w.data(), DType::Q8_0, 32, 128}));
  EXPECT_TRUE(panels_fit(WeightMatrix{w.data(), DType::Q4_K, 32, 256}));
  EXPECT_FALSE(panels_fit(WeightMatrix{w.data(), DType::Q4_K, 24, 256}));  // not whole panels
  EXPECT_FALSE(panels_fit(WeightMatrix{w.data(), DType::F16, 32, 256}));   // no panel type
  EXPECT_THROW(repack_panels(WeightMatrix{w.data(), DType::Q4_0, 24, 128}, dst.data(), pool), Error);
  const WeightMatrix packed = repack_panels(ok, dst.data(), pool);
  EXPECT_FALSE(panels_pay(packed));                                           // already repacked
  EXPECT_THROW(repack_panels(packed, w.data(), pool), Error);
  EXPECT_FALSE(matmul_misses_fast_layout(packed));
  std::vector<float> x(128), y(64);
  WeightMatrix bad = packed;
  bad.rows = 24;
  EXPECT_THROW(matmul(x.data(), 1, bad, nullptr, y.data(), pool), Error);
  bad = packed;
  bad.dtype = DType::Q4_K;
  EXPECT_THROW(matmul(x.data(), 1, bad, nullptr, y.data(), pool), Error);
  // A panel matrix on a table without panel kernels (the scalar one) is a clear error, not a wrong
  // result from the row kernels reading panels.
  const Isa was = active_isa();
  force_isa(Isa::Scalar);
  EXPECT_MOSS_ERROR(matmul(x.data(), 1, packed, nullptr, y.data(), pool), "panel layout");
  force_isa(was);
}

}  // namespace
}  // namespace moss
