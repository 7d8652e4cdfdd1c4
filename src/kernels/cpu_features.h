// What the CPU (and the OS, via XCR0) supports, read once with cpuid, and the instruction-set level
// the kernels use: the best supported one, or a lower one forced for tests and benchmarks.
#pragma once

namespace moss {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avxvnni = false;  // VEX-encoded vpdpbusd on 256-bit vectors (Intel Alder Lake on, AMD Zen 5)
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false;
  bool avx512vbmi = false;  // byte permutes: an optional q4_0 path inside the Avx512 level
};

const CpuFeatures& cpu_features();

// Avx2 = AVX2 + FMA + F16C; Avx2Vnni = that + AVX-VNNI (the AVX2 kernels with vpdpbusd, and panel
// kernels for q8_0 too: the CPUs without AVX-512 that have it); Avx512 = F/BW/VL/DQ + VNNI.
enum class Isa { Scalar = 0, Avx2 = 1, Avx2Vnni = 2, Avx512 = 3 };
// Every level, lowest first (tests and benchmarks go through them all).
inline constexpr Isa kAllIsas[] = {Isa::Scalar, Isa::Avx2, Isa::Avx2Vnni, Isa::Avx512};

const char* isa_name(Isa isa);
bool isa_supported(Isa isa);
Isa best_isa();
// The level matmul uses: best_isa(), unless MOSS_ISA=scalar|avx2|avx2vnni|avx512 is set in the environment or
// force_isa was called. force_isa throws moss::Error if unsupported.
Isa active_isa();
void force_isa(Isa isa);
// Parses "scalar", "avx2", "avx2vnni", "avx512"; throws moss::Error otherwise.
Isa isa_from_name(const char* name);

}  // namespace moss
