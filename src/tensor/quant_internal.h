// The per-type reference quantizers registered in quant.cpp (one quant_<type>.cpp each).
#pragma once
#include <cstdint>

namespace moss {

void quantize_q8_0_ref(const float* src, void* dst, int64_t n);
void dequantize_q8_0(const void* src, float* dst, int64_t n);
void quantize_q4_0_ref(const float* src, void* dst, int64_t n);
void dequantize_q4_0(const void* src, float* dst, int64_t n);
void quantize_q4_k_ref(const float* src, void* dst, int64_t n);
void dequantize_q4_k(const void* src, float* dst, int64_t n);

}  // namespace moss
