// cpuid / xgetbv probing. AVX state must be enabled by the OS (XCR0 bits 1-2), AVX-512 state too
// (bits 5-7), or using the instructions faults even when cpuid lists them.
#include "kernels/cpu_features.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "util/error.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace moss {

namespace {
CpuFeatures probe() {
  CpuFeatures f;
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27);
  const bool avx = c & (1u << 28);
  f.fma = c & (1u << 12);
  f.f16c = c & (1u << 29);
  if (!osxsave || !avx) return CpuFeatures{};
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const bool ymm_os = (lo & 0x6) == 0x6;
  const bool zmm_os = (lo & 0xE6) == 0xE6;
  if (!ymm_os) return CpuFeatures{};
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = b & (1u << 5);
  unsigned a1, b1, c1, d1;
  if (a >= 1 && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) f.avxvnni = a1 & (1u << 4);
  if (zmm_os) {
    f.avx512f = b & (1u << 16);
    f.avx512dq = b & (1u << 17);
    f.avx512bw = b & (1u << 30);
    f.avx512vl = b & (1u << 31);
    f.avx512vnni = c & (1u << 11);
    f.avx512vbmi = c & (1u << 1);
  }
#endif
  return f;
}

std::atomic<int> g_forced{-1};
}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = probe();
  return f;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx2Vnni:
      return "avx2vnni";
    case Isa::Avx512:
      return "avx512";
  }
  return "?";
}

bool isa_supported(Isa isa) {
  const auto& f = cpu_features();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  switch (isa) {
    case Isa::Scalar:
      return true;
    case Isa::Avx2:
      return avx2;
    case Isa::Avx2Vnni:
      return avx2 && f.avxvnni;
    case Isa::Avx512:
      return avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni;
  }
  return false;
}

Isa best_isa() {
  static const Isa best = [] {
    for (Isa i : {Isa::Avx512, Isa::Avx2Vnni, Isa::Avx2})
      if (isa_supported(i)) return i;
    return Isa::Scalar;
  }();
  return best;
}

// MOSS_ISA=scalar|avx2|avx2vnni|avx512 in the environment forces a level (for tests and benchmarks); an
// unknown or unsupported value is ignored with a warning rather than failing every matmul.
Isa env_or_best_isa() {
  static const Isa isa = [] {
    const char* e = std::getenv("MOSS_ISA");
    if (!e || !*e) return best_isa();
    for (Isa i : kAllIsas)
      if (std::strcmp(e, isa_name(i)) == 0) {
        if (isa_supported(i)) return i;
        std::fprintf(stderr, "moss: MOSS_ISA=%s is not supported by this CPU; using %s\n", e, isa_name(best_isa()));
        return best_isa();
      }
    std::fprintf(stderr, "moss: unknown MOSS_ISA=%s (scalar, avx2, avx2vnni, avx512); using %s\n", e, isa_name(best_isa()));
    return best_isa();
  }();
  return isa;
}

Isa active_isa() {
  const int f = g_forced.load(std::memory_order_relaxed);
  return f < 0 ? env_or_best_isa() : static_cast<Isa>(f);
}

void force_isa(Isa isa) {
  if (!isa_supported(isa)) fail("this CPU does not support the ", isa_name(isa), " kernels");
  g_forced.store(static_cast<int>(isa), std::memory_order_relaxed);
}

Isa isa_from_name(const char* name) {
  for (Isa i : kAllIsas)
    if (std::strcmp(name, isa_name(i)) == 0) return i;
  fail("unknown instruction set '", name, "' (known: scalar, avx2, avx2vnni, avx512)");
}

}  // namespace moss
