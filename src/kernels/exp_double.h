// exp in double precision, written once for one value (T = double, U = uint64_t) and for 8 values
// (GCC vector types ExpVec8d / ExpVec8u): identical IEEE operations in the same order, so vector and
// scalar paths agree bit for bit, at any instruction set, as long as the including file is compiled
// with -ffp-contract=off (no multiply-add fusion). Cody-Waite reduction y = n ln2 + r (ln2's high part
// has 11 trailing zero bits, so n * kLn2Hi is exact for |n| < 2048), a degree-11 Taylor polynomial on
// |r| <= ln2/2 (relative error below 1e-15), and 2^n built from the exponent bits.
// Internal to kernels/ (gelu, softmax).
#pragma once
// The vector versions are always inlined; GCC's note that passing such vectors by value would change
// the ABI without AVX-512 does not apply. (Only kernels/ .cpp files include this header.)
#pragma GCC diagnostic ignored "-Wpsabi"
#include <bit>
#include <cstdint>
#include <type_traits>

namespace moss {

typedef double ExpVec8d __attribute__((vector_size(64)));
typedef uint64_t ExpVec8u __attribute__((vector_size(64)));

template <class T, class U>
[[gnu::always_inline]] inline T bits_to_double(U u) {
  if constexpr (std::is_same_v<T, double>)
    return std::bit_cast<double>(u);
  else
    return (T)u;  // a cast between vector types of one size reinterprets the bits
}
template <class U, class T>
[[gnu::always_inline]] inline U double_to_bits(T d) {
  if constexpr (std::is_same_v<T, double>)
    return std::bit_cast<uint64_t>(d);
  else
    return (U)d;
}

// exp(y) for y in [-708, 708] (callers clamp): relative error below 1e-15.
template <class T, class U>
[[gnu::always_inline]] inline T exp_double(T y) {
  constexpr double kLog2e = 1.4426950408889634, kLn2Hi = 0.6931471805598903, kLn2Lo = 5.497923018708371e-14;
  constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer in the low bits
  const T k = y * kLog2e + kRound;
  const T n = k - kRound;
  const T r = (y - n * kLn2Hi) - n * kLn2Lo;  // |r| <= ln2/2 + tiny
  T p = r * (1.0 / 39916800.0) + 1.0 / 3628800.0;  // Horner, 1/11! .. 1/0!
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // The low bits of k hold n (two's complement, |n| <= 1022): shifting n + 1023 into the exponent
  // field pushes k's own exponent and the 2^51 of kRound out of the word, leaving 2^n.
  const T scale = bits_to_double<T>((double_to_bits<U>(k) + 1023) << 52);
  return p * scale;
}

}  // namespace moss
