// GPTQ unpacking (spec §3.3-3.4): q = (qweight[k/p, n] >> b(k%p)) & maxq,
// z = ((qzeros[g, n/p] >> b(n%p)) & maxq) + 1, W[n, k] = scales[g, n] * (q - z), g = g_idx[k].
#include "formats/gptq.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "tensor/quant_blocks.h"
#include "util/error.h"
#include "util/half.h"

namespace moss {

namespace {

template <typename T>
T load(const TensorView& t, int64_t i) {
  T v;
  std::memcpy(&v, static_cast<const uint8_t*>(t.data) + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

void expect(const TensorView* t, const std::string& what, const std::string& name, DType type,
            std::initializer_list<int64_t> shape) {
  if (!t) fail(name, ": GPTQ tensor ", what, " is missing");
  std::vector<int64_t> want(shape);
  if (t->dtype != type || t->shape != want) {
    std::string s = "[";
    for (size_t i = 0; i < want.size(); ++i) s += (i ? ", " : "") + std::to_string(want[i]);
    fail(name, ": GPTQ tensor ", what, " is ", dtype_name(t->dtype), " ", t->shape_str(), ", expected ",
         dtype_name(type), " ", s, "]");
  }
  if (t->nbytes < static_cast<size_t>(t->numel()) * dtype_traits(type).block_bytes)
    fail(name, ": GPTQ tensor ", what, " holds fewer bytes than its shape needs");
}

}  // namespace

const TensorView& import_gptq_linear(const GptqLinear& in, TensorSet& dst, const std::string& name, GptqTarget target) {
  if (in.bits != 4 && in.bits != 8) fail(name, ": GPTQ bits must be 4 or 8, not ", in.bits);
  if (!in.qweight || !in.g_idx || !in.scales) fail(name, ": GPTQ tensors missing");
  if (in.qweight->shape.size() != 2 || in.g_idx->shape.size() != 1 || in.scales->shape.size() != 2)
    fail(name, ": GPTQ tensors have the wrong number of dimensions");
  const int p = 32 / in.bits;
  const uint32_t maxq = (1u << in.bits) - 1;
  const int64_t K = in.g_idx->shape[0], N = in.qweight->shape[1], G = in.scales->shape[0];
  if (K <= 0 || N <= 0 || G <= 0 || K % p != 0 || N % p != 0)
    fail(name, ": GPTQ shape K=", K, " N=", N, " is not a multiple of ", p);
  expect(in.qweight, "qweight", name, DType::I32, {K / p, N});
  expect(in.qzeros, "qzeros", name, DType::I32, {G, N / p});
  expect(in.scales, "scales", name, DType::F16, {G, N});
  expect(in.g_idx, "g_idx", name, DType::I32, {K});

  std::vector<int32_t> gi(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k) {
    gi[k] = load<int32_t>(*in.g_idx, k);
    if (gi[k] < 0 || gi[k] >= G) fail(name, ": g_idx[", k, "] = ", gi[k], " is outside [0, ", G, ")");
  }
  auto q_at = [&](int64_t k, int64_t n) {
    const auto w = static_cast<uint32_t>(load<int32_t>(*in.qweight, (k / p) * N + n));
    return static_cast<int>((w >> (in.bits * (k % p))) & maxq);
  };
  auto z_at = [&](int64_t g, int64_t n) {
    const auto w = static_cast<uint32_t>(load<int32_t>(*in.qzeros, g * (N / p) + n / p));
    return static_cast<int>((w >> (in.bits * (n % p))) & maxq) + 1;
  };
  auto s_at = [&](int64_t g, int64_t n) { return load<uint16_t>(*in.scales, g * N + n); };

  // Can q8_0 hold it exactly? Each 32-input block must use one group, and q - z must fit int8.
  bool q8_ok = K % 32 == 0;
  for (int64_t k = 0; q8_ok && k < K; ++k) q8_ok = gi[k] == gi[k - k % 32];
  if (q8_ok && in.bits == 8) {
    for (int64_t k = 0; q8_ok && k < K; ++k)
      for (int64_t n = 0; q8_ok && n < N; ++n) {
        const int v = q_at(k, n) - z_at(gi[k], n);
        q8_ok = v >= -128 && v <= 127;
      }
  }
  if (target == GptqTarget::Q8_0 && !q8_ok)
    fail(name, ": GPTQ weights cannot be stored exactly as q8_0 (act-order g_idx or int8 values out of range)");
  const bool as_q8 = target == GptqTarget::Q8_0 || (target == GptqTarget::Auto && q8_ok);

  TensorView out;
  out.name = name;
  out.shape = {N, K};
  out.dtype = as_q8 ? DType::Q8_0 : DType::F16;
  out.nbytes = row_bytes(out.dtype, K) * static_cast<size_t>(N);
  auto* data = static_cast<uint8_t*>(dst.allocate(out.nbytes));
  out.data = data;
  // Columns n in tiles of 16 (one 64-byte line of each qweight row), k inside: qweight is read a line
  // at a time and the 16 output rows are written sequentially, all within L2.
  constexpr int64_t kTile = 16;
  for (int64_t n0 = 0; n0 < N; n0 += kTile) {
    const int64_t n1 = std::min(N, n0 + kTile);
    if (as_q8) {
      auto* blocks = reinterpret_cast<BlockQ8_0*>(data);
      const int64_t nb = K / 32;
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t k = 0; k < K; ++k) {
          const int g = gi[k];
          BlockQ8_0& b = blocks[n * nb + k / 32];
          if (k % 32 == 0) b.d = s_at(g, n);
          b.qs[k % 32] = static_cast<int8_t>(q_at(k, n) - z_at(g, n));
        }
    } else {
      auto* h = reinterpret_cast<uint16_t*>(data);
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t k = 0; k < K; ++k) {
          const int g = gi[k];
          // s * (q - z) is exact in f32 (11 + 9 significant bits), so rounding it once to fp16 gives
          // the fp16 product the Triton kernel computes.
          const float v = fp16_to_f32(s_at(g, n)) * static_cast<float>(q_at(k, n) - z_at(g, n));
          h[n * K + k] = f32_to_fp16(v);
        }
    }
  }
  dst.add(out);
  return dst.get(name);
}

}  // namespace moss
