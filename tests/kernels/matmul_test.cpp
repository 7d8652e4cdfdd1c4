// matmul kernels: every SIMD table against the scalar table, the scalar table against
// matmul_reference (dequantize + f32 dot), and matmul() (threads, chunking, bias) against the table it
// dispatches to. Tolerances are derived below; unsupported instruction sets are skipped at run time.
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cfloat>
#include <cmath>
#include <random>
#include <span>
#include <vector>

#include "kernels/gelu.h"
#include "kernels/matmul_kernels.h"
#include "kernels/weight_panels.h"
#include "support/matmul_cases.h"
#include "tensor/convert.h"
#include "tensor/quant_blocks.h"
#include "util/aligned_buffer.h"
#include "util/error.h"
#include "util/half.h"
#include "util/thread_pool.h"

namespace moss {
namespace {

using namespace moss::test;

const Case kCases[] = {
    {DType::Q8_0, 1, 37, 256},
    {DType::Q8_0, 5, 16, 512},
    {DType::Q8_0, 9, 8, 768},
    {DType::Q8_0, 3, 5, 96},
    {DType::Q4_0, 1, 37, 256},
    {DType::Q4_0, 6, 16, 512},
    {DType::Q4_0, 3, 8, 768},
    {DType::Q4_0, 5, 4, 32},
    {DType::Q4_K, 1, 37, 256},
    {DType::Q4_K, 7, 16, 512},
    {DType::Q4_K, 4, 8, 768},
    // 8-row x 2-weight-row tiles of the AVX-512 GEMM, with odd weight-row and block counts left over
    {DType::Q4_0, 8, 5, 512},
    {DType::Q8_0, 12, 7, 96},
    {DType::Q4_K, 9, 3, 256},
    {DType::Q4_0, 17, 3, 32},
    // decode GEMV: an odd block count (a pair, then one block alone) and a long row
    {DType::Q4_0, 1, 5, 96},
    {DType::Q8_0, 1, 5, 96},
    {DType::Q4_0, 1, 3, 2048},
    // q4_0 rows of whole 32-block periods on 64-byte boundaries: the AVX-512 whole-line kernels
    // (where the CPU has VBMI), as decode GEMV, every tile height and two periods per row; then the
    // same shapes 32 bytes off a line boundary, which must take the pair kernels
    {DType::Q4_0, 1, 9, 1024},
    {DType::Q4_0, 1, 4, 2048},
    {DType::Q4_0, 2, 5, 1024},
    {DType::Q4_0, 3, 5, 1024},
    {DType::Q4_0, 4, 6, 1024},
    {DType::Q4_0, 6, 5, 1024},
    {DType::Q4_0, 8, 5, 2048},
    {DType::Q4_0, 13, 3, 1024},
    {DType::Q4_0, 1, 3, 1024, 32},
    {DType::Q4_0, 8, 3, 1024, 32},
    {DType::F32, 1, 13, 300},
    {DType::F32, 5, 16, 64},
    {DType::F16, 1, 37, 256},
    {DType::F16, 6, 9, 261},
    {DType::BF16, 1, 37, 256},
    {DType::BF16, 4, 5, 128},
};

// SIMD table vs scalar table. Quantized types: both compute the same exact integer block sums I_b and
// combine them with f32 products and sums, each result within gamma_(nb+8) * T of the exact value
// (T = sum_k |xhat_k| * A_k bounds every term; nb+8 covers the block count, the scale product, the
// 8-lane reduction and the offset term), so they differ by at most 2 * (nb + 8) * u * T.
// Plain types: two f32 dot products of K terms in different orders: 2 * (K + 8) * u * sum |x||w|.
TEST(Matmul, SimdTablesMatchScalar) {
  for (Isa isa : kAllIsas) {
    if (isa == Isa::Scalar) continue;
    if (!isa_supported(isa)) {
      std::printf("skipping %s: not supported by this CPU\n", isa_name(isa));
      continue;
    }
    for (const Case& c : kCases) {
      const Data d = make(c, 7);
      const auto want = run_table(matmul_kernels_scalar(), c, d);
      const auto got = run_table(matmul_kernels(isa), c, d);
      const auto xh = is_quant(c.type) ? quantized_x(c, d) : d.x;
      const size_t rb = row_bytes(c.type, c.k);
      for (int64_t n = 0; n < c.n; ++n) {
        std::vector<float> a(static_cast<size_t>(c.k));
        if (is_quant(c.type)) {
          a = weight_magnitudes(c.type, d.w.data() + n * rb, c.k);
        } else {
          dequantize_row(c.type, d.w.data() + n * rb, a.data(), c.k);
          for (auto& v : a) v = std::fabs(v);
        }
        for (int64_t i = 0; i < c.m; ++i) {
          double t = 0;
          for (int64_t k = 0; k < c.k; ++k) t += std::fabs(xh[i * c.k + k]) * a[k];
          const double terms = is_quant(c.type) ? c.k / 32 + 8 : c.k + 8;
          const double bound = 2 * terms * kEps * t + 1e-30;
          ASSERT_LE(std::fabs(got[i * c.n + n] - want[i * c.n + n]), bound)
              << isa_name(isa) << " " << dtype_name(c.type) << " m=" << c.m << " n=" << n << " i=" << i;
        }
      }
    }
  }
}

// The AVX-VNNI table's row kernels are the AVX2 table's with each u8 x i8 dot product in one vpdpbusd
// (the same exact integers; AVX2's vpmaddubsw operands never saturate): the same bits, every type.
TEST(Matmul, AvxVnniTableGivesTheAvx2Bits) {
  if (!isa_supported(Isa::Avx2Vnni)) GTEST_SKIP() << "no AVX-VNNI on this CPU";
  for (const Case& c : kCases) {
    const Data d = make(c, 19);
    const auto want = run_table(matmul_kernels(Isa::Avx2), c, d);
    const auto got = run_table(matmul_kernels(Isa::Avx2Vnni), c, d);
    for (size_t j = 0; j < got.size(); ++j)
      ASSERT_EQ(f32_to_bits(got[j]), f32_to_bits(want[j])) << dtype_name(c.type) << " m=" << c.m << " at " << j;
  }
}

// Scalar table vs matmul_reference (f32 x, dequantized W). The kernels quantize x per block of 32:
// |x - xhat| <= d/2 + 2*127*u*d (d = amax/127; the 127u term is the rounding of x*(1/d)), so
// |y - yhat| <= sum_k |w_k| |x_k - xhat_k| + the f32 rounding of both sides: (K + 2) u sum|w||x| for the
// reference and (nb + 8) u T for the kernel. Plain types: both are f32 sums: 2 (K + 8) u sum|w||x|.
TEST(Matmul, ScalarTableMatchesReference) {
  for (const Case& c : kCases) {
    const Data d = make(c, 11);
    const auto got = run_table(matmul_kernels_scalar(), c, d);
    std::vector<float> want(got.size());
    matmul_reference(d.x.data(), c.m, d.wm, nullptr, want.data());
    const size_t rb = row_bytes(c.type, c.k);
    const auto xh = is_quant(c.type) ? quantized_x(c, d) : d.x;
    for (int64_t n = 0; n < c.n; ++n) {
      std::vector<float> wr(static_cast<size_t>(c.k));
      dequantize_row(c.type, d.w.data() + n * rb, wr.data(), c.k);
      const auto a = is_quant(c.type) ? weight_magnitudes(c.type, d.w.data() + n * rb, c.k) : std::vector<float>();
      for (int64_t i = 0; i < c.m; ++i) {
        double wx = 0, xerr = 0, t = 0;
        for (int64_t b = 0; b < c.k / 32 * 32; b += 32) {
          float amax = 0;
          for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(d.x[i * c.k + b + j]));
          const double dx = amax / 127.0;
          for (int j = 0; j < 32; ++j) xerr += std::fabs(wr[b + j]) * dx * (0.5 + 2 * 127 * kEps);
        }
        for (int64_t k = 0; k < c.k; ++k) {
          wx += std::fabs(wr[k] * d.x[i * c.k + k]);
          if (is_quant(c.type)) t += std::fabs(xh[i * c.k + k]) * a[k];
        }
        const double bound =
            is_quant(c.type) ? xerr + (c.k + 2) * kEps * wx + (c.k / 32 + 8) * kEps * t : 2 * (c.k + 8) * kEps * wx;
        ASSERT_LE(std::fabs(got[i * c.n + n] - want[i * c.n + n]), bound + 1e-30)
            << dtype_name(c.type) << " m=" << c.m << " n=" << n << " i=" << i;
      }
    }
  }
}

// matmul() = the active table + bias, whatever the thread count and chunking: bit-identical, since
// every output element is computed by the same instructions in the same order.
TEST(Matmul, ThreadedDispatchIsExact) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (const Case& c : kCases) {
      const Data d = make(c, 13);
      auto want = run_table(matmul_kernels(active_isa()), c, d);
      for (int64_t i = 0; i < c.m; ++i)
        for (int64_t n = 0; n < c.n; ++n) want[i * c.n + n] += d.bias[n];
      std::vector<float> got(want.size(), NAN);
      matmul(d.x.data(), c.m, d.wm, d.bias.data(), got.data(), pool);
      for (size_t j = 0; j < got.size(); ++j)
        ASSERT_EQ(got[j], want[j]) << dtype_name(c.type) << " threads=" << threads;
    }
  }
}

// The whole-line q4_0 kernels are chosen exactly where their layout holds, so the cases above cover them.
TEST(Matmul, Q4_0WholeLineKernelsApplyToAlignedPeriodRows) {
  if (!isa_supported(Isa::Avx512) || !cpu_features().avx512vbmi) GTEST_SKIP() << "no AVX-512 VBMI on this CPU";
  alignas(64) static uint8_t w[64 + 32];
  EXPECT_TRUE(avx512_q4_0_whole_lines(w, 1024));
  EXPECT_TRUE(avx512_q4_0_whole_lines(w, 2048));
  EXPECT_FALSE(avx512_q4_0_whole_lines(w + 32, 1024));
  EXPECT_FALSE(avx512_q4_0_whole_lines(w, 512));
  EXPECT_FALSE(avx512_q4_0_whole_lines(w, 1024 + 128));
}

// matmul_misses_fast_layout: only q4_0 rows of whole periods that sit off a cache line, and only
// where the whole-line kernels exist.
TEST(Matmul, MissesFastLayoutOnlyForMisalignedPeriodRowsOnVbmi) {
  alignas(64) static uint8_t w[64 + 32];
  const bool vbmi = active_isa() == Isa::Avx512 && cpu_features().avx512vbmi;
  EXPECT_FALSE(matmul_misses_fast_layout(WeightMatrix{w, DType::Q4_0, 4, 1024}));
  EXPECT_EQ(matmul_misses_fast_layout(WeightMatrix{w + 32, DType::Q4_0, 4, 1024}), vbmi);
  EXPECT_FALSE(matmul_misses_fast_layout(WeightMatrix{w + 32, DType::Q4_0, 4, 512}));
  EXPECT_FALSE(matmul_misses_fast_layout(WeightMatrix{w + 32, DType::Q8_0, 4, 1024}));
}

// MatmulJob run by every thread of a pool gives matmul()'s bits; so does one thread alone, whatever
// index it gives (it takes its own share of the decode rows, then the others' from their backs),
// and so do threads that all give the same index.
TEST(Matmul, JobEqualsMatmul) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (const Case& c : kCases) {
      const Data d = make(c, 19);
      std::vector<float> want(static_cast<size_t>(c.m * c.n), NAN);
      matmul(d.x.data(), c.m, d.wm, d.bias.data(), want.data(), pool);
      for (bool same_index : {false, true}) {
        std::vector<float> got(want.size(), NAN);
        AlignedBuffer scratch;
        MatmulJob job(d.x.data(), c.m, d.wm, d.bias.data(), got.data(), pool, scratch);
        pool.run([&](int index, int) {
          while (job.run_next_chunk(same_index ? 0 : index)) {
          }
        });
        ASSERT_EQ(got, want) << dtype_name(c.type) << " m=" << c.m << " threads=" << threads << " same " << same_index;
      }
      for (int index : {0, threads - 1, threads + 4, -3}) {
        std::vector<float> alone(want.size(), NAN);
        AlignedBuffer solo_scratch;
        MatmulJob solo(d.x.data(), c.m, d.wm, d.bias.data(), alone.data(), pool, solo_scratch);
        while (solo.run_next_chunk(index)) {
        }
        ASSERT_EQ(alone, want) << dtype_name(c.type) << " m=" << c.m << " one thread, index " << index;
      }
    }
  }
}

// A decode job with a thread that starts late (as the model's thread 0 does after attention): the
// others take its whole share, from the back, and it finds nothing left; every row is computed once.
TEST(Matmul, JobLateThreadFindsItsShareTaken) {
  const Case c{DType::Q4_0, 1, 1000, 64};
  const Data d = make(c, 29);
  ThreadPool pool(2);
  std::vector<float> want(static_cast<size_t>(c.n), NAN), got(want.size(), NAN);
  matmul(d.x.data(), c.m, d.wm, d.bias.data(), want.data(), pool);
  AlignedBuffer scratch;
  MatmulJob job(d.x.data(), c.m, d.wm, d.bias.data(), got.data(), pool, scratch);
  int late_chunks = 0;
  while (job.run_next_chunk(1)) {
  }
  while (job.run_next_chunk(0)) ++late_chunks;
  EXPECT_EQ(late_chunks, 0);
  EXPECT_EQ(got, want);
}

// The GeluNew epilogue gives gelu_new() over matmul()'s outputs, bit for bit, whichever thread
// computes which chunk (each chunk passes through gelu on its own).
TEST(Matmul, JobGeluEpilogueEqualsMatmulThenGelu) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (const Case& c : kCases) {
      const Data d = make(c, 23);
      std::vector<float> want(static_cast<size_t>(c.m * c.n), NAN), got(want.size(), NAN);
      matmul(d.x.data(), c.m, d.wm, d.bias.data(), want.data(), pool);
      gelu_new_range(want.data(), 0, static_cast<int64_t>(want.size()));
      AlignedBuffer scratch;
      MatmulJob job(d.x.data(), c.m, d.wm, d.bias.data(), got.data(), pool, scratch, MatmulEpilogue::GeluNew);
      pool.run([&](int, int) {
        while (job.run_next_chunk()) {
        }
      });
      ASSERT_EQ(got, want) << dtype_name(c.type) << " m=" << c.m << " threads=" << threads;
    }
  }
}

// Chained jobs (fc_in feeding fc_out, as the model runs them): the feeding job encodes each chunk of
// its outputs as the fed job's input, so the fed job's results equal matmul() over the finished
// outputs, bit for bit. Fed matrices of every quantized type, in rows and (where this CPU has the
// kernels) in panels, and float; feeding rows that end off the 128-value encoding groups; decode and
// batch row counts; 1 to 3 threads.
TEST(Matmul, ChainedJobsEqualMatmulOverTheFinishedOutputs) {
  struct Chain {
    DType fed_type;
    int64_t m, k, mid, n;  // x [m, k] -> fc_in [mid, k] -> fc_out [n, mid]
  };
  const Chain chains[] = {{DType::Q4_0, 1, 64, 576, 32},  {DType::Q8_0, 1, 96, 576, 48}, {DType::Q4_K, 1, 64, 768, 32},
                          {DType::Q4_0, 3, 64, 320, 16},  {DType::Q8_0, 6, 32, 448, 32}, {DType::Q4_K, 5, 64, 512, 16},
                          {DType::F32, 1, 64, 200, 16},   {DType::Q4_0, 9, 64, 1024, 32}};
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (const Chain& ch : chains) {
      const Data up = make(Case{DType::Q8_0, ch.m, ch.mid, ch.k}, 41);
      const Data down = make(Case{ch.fed_type, ch.m, ch.n, ch.mid}, 43);
      std::vector<WeightMatrix> layouts = {down.wm};
      PanelCopy panels;
      if (panels_fit(down.wm) && matmul_kernels(active_isa()).panels_for(ch.fed_type)) {
        panels = repack_panels(down.wm, pool);
        layouts.push_back(panels.matrix);
      }
      for (const WeightMatrix& wd : layouts) {
        std::vector<float> mid(static_cast<size_t>(ch.m * ch.mid), NAN), want(static_cast<size_t>(ch.m * ch.n), NAN);
        matmul(up.x.data(), ch.m, up.wm, up.bias.data(), mid.data(), pool);
        gelu_new_range(mid.data(), 0, static_cast<int64_t>(mid.size()));
        matmul(mid.data(), ch.m, wd, down.bias.data(), want.data(), pool);

        std::vector<float> got_mid(mid.size(), NAN), got(want.size(), NAN);
        AlignedBuffer up_scratch, down_scratch;
        MatmulJob fed(got_mid.data(), ch.m, wd, down.bias.data(), got.data(), pool, down_scratch, MatmulEpilogue::None,
                      MatmulInput::FromProducer);
        MatmulJob feeding(up.x.data(), ch.m, up.wm, up.bias.data(), got_mid.data(), pool, up_scratch,
                          MatmulEpilogue::GeluNew, MatmulInput::Encode, &fed);
        pool.run([&](int index, int) {
          while (feeding.run_next_chunk(index)) {
          }
        });
        pool.run([&](int index, int) {
          while (fed.run_next_chunk(index)) {
          }
        });
        const std::string what = std::string(dtype_name(ch.fed_type)) + (wd.layout == WeightLayout::Panels16 ? " panels" : " rows") +
                                 " m=" + std::to_string(ch.m) + " threads=" + std::to_string(threads);
        ASSERT_EQ(got_mid, mid) << what;
        ASSERT_EQ(got, want) << what;
        // The same fed job with its rows encoded by the region's threads (encode_rows) instead.
        std::vector<float> later(want.size(), NAN);
        AlignedBuffer later_scratch;
        MatmulJob encoded_later(mid.data(), ch.m, wd, down.bias.data(), later.data(), pool, later_scratch,
                                MatmulEpilogue::None, MatmulInput::FromProducer);
        std::atomic<int> encoded{0};
        pool.run([&](int index, int count) {
          encoded_later.encode_rows(index, count);
          encoded.fetch_add(1);
          while (encoded.load() < count) {
          }
          while (encoded_later.run_next_chunk(index)) {
          }
        });
        ASSERT_EQ(later, want) << what << " (encode_rows)";
      }
    }
  }
}

// A job can only feed a FromProducer job whose input is its output.
TEST(Matmul, ChainedJobsRejectAMismatchedPair) {
  const Data up = make(Case{DType::Q8_0, 1, 128, 64}, 3), down = make(Case{DType::Q4_0, 1, 16, 128}, 5);
  ThreadPool pool(1);
  std::vector<float> mid(128), out(16), other(128);
  AlignedBuffer a, b, c;
  MatmulJob fed(mid.data(), 1, down.wm, nullptr, out.data(), pool, a, MatmulEpilogue::None, MatmulInput::FromProducer);
  EXPECT_THROW(MatmulJob(up.x.data(), 1, up.wm, nullptr, other.data(), pool, b, MatmulEpilogue::None,
                         MatmulInput::Encode, &fed),
               Error);
  MatmulJob encodes_itself(mid.data(), 1, down.wm, nullptr, out.data(), pool, c);
  EXPECT_THROW(MatmulJob(up.x.data(), 1, up.wm, nullptr, mid.data(), pool, b, MatmulEpilogue::None,
                         MatmulInput::Encode, &encodes_itself),
               Error);
}

TEST(Matmul, LargeRowCountUsesAllChunks) {
  const Case c{DType::Q4_0, 2, 1000, 64};
  const Data d = make(c, 17);
  ThreadPool pool(2);
  std::vector<float> got(static_cast<size_t>(c.m * c.n), NAN), want(got.size());
  matmul(d.x.data(), c.m, d.wm, nullptr, got.data(), pool);
  want = run_table(matmul_kernels(active_isa()), c, d);
  EXPECT_EQ(got, want);
}

TEST(Matmul, BadShapesAreErrors) {
  ThreadPool pool(1);
  std::vector<float> x(64), y(64);
  std::vector<uint8_t> w(1024);
  EXPECT_THROW(matmul(x.data(), 1, WeightMatrix{w.data(), DType::Q8_0, 1, 33}, nullptr, y.data(), pool), Error);
  EXPECT_THROW(matmul(x.data(), 1, WeightMatrix{w.data(), DType::Q4_K, 1, 128}, nullptr, y.data(), pool), Error);
  EXPECT_THROW(matmul(x.data(), 1, WeightMatrix{nullptr, DType::F32, 2, 2}, nullptr, y.data(), pool), Error);
  EXPECT_THROW(matmul(x.data(), 1, WeightMatrix{w.data(), DType::Q5_0, 1, 32}, nullptr, y.data(), pool), Error);
}

TEST(Matmul, ForcingAnUnsupportedIsaIsAnError) {
  for (Isa isa : kAllIsas) {
    if (isa_supported(isa)) {
      force_isa(isa);
      EXPECT_EQ(active_isa(), isa);
    } else {
      EXPECT_THROW(force_isa(isa), Error);
    }
  }
  force_isa(best_isa());
  EXPECT_THROW(isa_from_name("sse9"), Error);
}

TEST(ThreadPoolClamp, ZeroAndHugeCountsAreClamped) {
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(ThreadPool(0).size(), hw);
  EXPECT_LE(ThreadPool(1000).size(), 4 * hw);
  EXPECT_GE(ThreadPool(-5).size(), 1);
}

}  // namespace
}  // namespace moss
