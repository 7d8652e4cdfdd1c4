// A q4_0, q8_0 or q4_k model whose matrices are repacked into 16-row panels at load
// (kernels/weight_panels.h) computes what the same model on the row kernels computes: every matrix of
// the tiny random model fits, all are repacked where the CPU has the panel kernels, and logits and
// greedy tokens agree (q4_k: bit for bit with the scalar table).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "formats/model_file.h"
#include "support/test_util.h"
#include "kernels/matmul_kernels.h"
#include "model/model.h"
#include "model/random_model.h"
#include "tensor/convert.h"
#include "util/half.h"

namespace moss {
namespace {

// Both paths quantize the activations identically and form the same exact integer block sums; they
// differ only in the order of the f32 operations that combine the blocks: per output at most
// 2 (nb + 8) u T (WeightPanels.KernelsMatchScalarTable), with nb <= 32 blocks and u = 6e-8 that is
// <= 5e-6 T, and T (the sum of the terms' magnitudes) is within a small factor of an output's scale
// for these random weights. LayerNorm renormalises after each of the two blocks, so the logits stay
// within ~1e-5 of their scale (measured: 2.3e-7 for q4_0, 1.8e-7 for q8_0). A panel row mapped to
// the wrong output, a mixed-up matrix or a chunk off a panel boundary moves logits by their scale.
constexpr double kRelTol = 1e-5;

class ModelRepack : public ::testing::TestWithParam<DType> {};

TEST_P(ModelRepack, PanelModelMatchesRowModel) {
  const MatmulKernels& kt = matmul_kernels(active_isa());
  const DType t = GetParam();
  if (kt.panels_for(t) == nullptr)
    GTEST_SKIP() << "no " << dtype_name(GetParam()) << " panel kernels in the active table";
  const test::TempDir dir;
  const std::string file = dir.path(std::string("tiny-") + dtype_name(GetParam()) + ".gguf");
  write_random_model(file, random_model_shape("tiny"), GetParam(), 3, "");
  Model packed(open_model(file), 2, DType::F32, true), rows(open_model(file), 2, DType::F32, false);
  const auto& c = packed.config();
  // Every matrix is repacked (the tiny shape's all fit), each copy exactly its own bytes.
  EXPECT_EQ(packed.repacked_matrices(), 4 * c.n_layer + 1);
  EXPECT_EQ(rows.repacked_matrices(), 0);
  const int64_t E = c.n_embd, F = c.n_inner, V = c.n_vocab;
  const size_t per_layer = row_bytes(GetParam(), E) * static_cast<size_t>(3 * E + E + F) +
                           row_bytes(GetParam(), F) * static_cast<size_t>(E);
  EXPECT_EQ(packed.repacked_bytes(), per_layer * static_cast<size_t>(c.n_layer) + row_bytes(GetParam(), E) * static_cast<size_t>(V));

  std::vector<int32_t> prompt = {5, 77, 130, 9, 301, 42, 260, 18};
  KvCache ca = packed.new_cache(64), cb = rows.new_cache(64);
  // q4_k: the panel kernels give the scalar table's bits (WeightPanels.Q4KKernelsGiveTheScalarTableBits)
  // and the other operations of the model are the same on every instruction set, so the repacked
  // model equals the row model on the scalar table exactly. (Against the AVX-512 row kernels it
  // differs: q4_k's level and min sums cancel, and a last-bit difference flipped the int8 rounding
  // of a later layer's activation, which moved the logits by 4e-3 of their scale.)
  const bool exact = t == DType::Q4_K;
  const Isa best = active_isa();
  auto rows_forward = [&](std::span<const int32_t> ids, bool all) {
    if (exact) force_isa(Isa::Scalar);
    auto l = rows.forward(cb, ids, all);
    force_isa(best);
    return l;
  };
  auto la = packed.forward(ca, prompt, true), lb = rows_forward(prompt, true);
  for (int step = 0; step < 16; ++step) {
    ASSERT_EQ(la.size(), lb.size());
    if (exact) {
      for (size_t i = 0; i < la.size(); ++i)
        ASSERT_EQ(f32_to_bits(la[i]), f32_to_bits(lb[i])) << "step " << step << " logit " << i;
    }
    double scale = 0, diff = 0;
    for (size_t i = 0; i < la.size(); ++i) {
      scale = std::max(scale, std::fabs(static_cast<double>(lb[i])));
      diff = std::max(diff, std::fabs(static_cast<double>(la[i]) - lb[i]));
    }
    ASSERT_GT(scale, 0.0);
    ASSERT_LE(diff, kRelTol * scale) << "step " << step;
    const auto last_a = std::span<const float>(la).last(static_cast<size_t>(c.n_vocab));
    const auto last_b = std::span<const float>(lb).last(static_cast<size_t>(c.n_vocab));
    const auto ta = static_cast<int32_t>(std::max_element(last_a.begin(), last_a.end()) - last_a.begin());
    const auto tb = static_cast<int32_t>(std::max_element(last_b.begin(), last_b.end()) - last_b.begin());
    ASSERT_EQ(ta, tb) << "step " << step;
    la = packed.forward(ca, std::span<const int32_t>(&ta, 1));
    lb = rows_forward(std::span<const int32_t>(&tb, 1), false);
  }
}

// The panel kernels give the same bits on every level that has them
// (WeightPanels.PanelKernelsGiveTheSameBitsOnEveryLevel) and the model's other operations are the
// same on every instruction set, so a repacked model's logits are the same bits on AVX2, AVX-VNNI
// and AVX-512: what replicas on different CPUs answer.
TEST_P(ModelRepack, PanelModelGivesTheSameBitsOnEveryLevel) {
  const DType t = GetParam();
  auto has_panels = [&](Isa isa) { return isa_supported(isa) && matmul_kernels(isa).panels_for(t) != nullptr; };
  const Isa best = active_isa();
  if (!has_panels(best)) GTEST_SKIP() << "no " << dtype_name(t) << " panel kernels in the active table";
  const test::TempDir dir;
  const std::string file = dir.path(std::string("tiny-") + dtype_name(t) + ".gguf");
  write_random_model(file, random_model_shape("tiny"), t, 5, "");
  Model packed(open_model(file), 2, DType::F32, true);
  ASSERT_GT(packed.repacked_matrices(), 0);
  const std::vector<int32_t> prompt = {3, 141, 59, 26, 53, 58, 97, 93, 238};
  auto run = [&](Isa isa) {
    force_isa(isa);
    KvCache cache = packed.new_cache(32);
    auto logits = packed.forward(cache, prompt, true);
    std::vector<float> all(logits.begin(), logits.end());
    const int32_t next = 7;
    auto more = packed.forward(cache, std::span<const int32_t>(&next, 1));
    all.insert(all.end(), more.begin(), more.end());
    force_isa(best);
    return all;
  };
  const auto want = run(best);
  int compared = 0;
  for (Isa isa : kAllIsas) {
    if (isa == best || isa == Isa::Scalar || !has_panels(isa)) continue;
    ++compared;
    const auto got = run(isa);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(f32_to_bits(got[i]), f32_to_bits(want[i])) << isa_name(isa) << " vs " << isa_name(best) << " logit " << i;
  }
  if (compared == 0) GTEST_SKIP() << "one level with " << dtype_name(t) << " panels on this CPU";
}

INSTANTIATE_TEST_SUITE_P(PanelTypes, ModelRepack, ::testing::Values(DType::Q4_0, DType::Q8_0, DType::Q4_K),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace moss
