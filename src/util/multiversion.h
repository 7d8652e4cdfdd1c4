// MOSS_MULTIVERSION: compile a hot loop once per instruction set (AVX-512, AVX2, the x86-64
// baseline) and let the loader pick one at start-up (GCC function multi-versioning). Not under
// clang (the fuzzing build), whose baseline clone rejects the 512-bit vector helpers some of these
// loops inline; speed does not matter there.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MOSS_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MOSS_MULTIVERSION
#endif
