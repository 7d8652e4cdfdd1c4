// Matrix multiplication against a weight matrix of any stored type, the one hot operation of the
// model: y[m, n] = sum_k x[m, k] * W[n, k] + bias[n]. W is row-major with N rows of K elements
// (a PyTorch Linear weight as stored), x and y are float32 row-major. m = 1 is the decode GEMV,
// m > 1 the prefill GEMM. Each weight type has a scalar reference and SIMD paths chosen at run time
// (kernels/cpu_features.h; MOSS_ISA=scalar|avx2|avx2vnni|avx512 forces one).
//
// Numerics: f32 / f16 / bf16 weights multiply the f32 activations exactly as stored (f32 FMA, sums in
// a different order than matmul_reference: |diff| <= 2 (K + 8) u sum|x||w|, u = 2^-24).
// q8_0 / q4_0 / q4_k weights multiply activations quantized per 32 values to int8 with an f32 scale
// d = amax/127 (like ggml's vec_dot_*_q8_0): the result differs from matmul_reference by at most
// sum_k |w_k| * d_block(k) * (1/2 + 2^-16) plus f32 rounding (see tests/kernels/matmul_test.cpp),
// i.e. about 0.4% of the activation block's largest value per weight in the worst case.
// Results do not depend on the thread count (each output is computed by one thread in a fixed order).
#pragma once
#include <cstdint>
#include <memory>

#include "tensor/dtype.h"

namespace moss {

class ThreadPool;

// How the rows of a weight matrix lie in memory: as stored in the file (row after row), or (q4_0,
// q8_0) repacked in panels of 16 rows for the panel kernels (kernels/weight_panels.h).
enum class WeightLayout : uint8_t { Rows, Panels16 };

struct WeightMatrix {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int64_t rows = 0;  // N, output features
  int64_t cols = 0;  // K, input features
  WeightLayout layout = WeightLayout::Rows;
};

// bias may be nullptr. x: [m, K], y: [m, N]; y must not alias x.
void matmul(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, ThreadPool& pool);

class AlignedBuffer;

// What MatmulJob applies to each chunk of outputs after the bias, while they are still in L1.
enum class MatmulEpilogue { None, GeluNew };

// Who encodes a MatmulJob's activation rows for the quantized kernels: its constructor (Encode), or
// someone later (FromProducer): the job whose outputs they are, chunk by chunk as it computes them
// (see `feeds`), or the threads of a parallel region through encode_rows once x is complete.
enum class MatmulInput { Encode, FromProducer };

// matmul() in pieces, for running it beside other work in one parallel region (the model computes
// fc_in while attention reads the KV cache). The constructor checks the shapes and encodes the
// activations into `scratch` (with the pool's threads for m >= 4); then any threads call
// run_next_chunk() until it returns false, each call computing one chunk of output rows (bias
// included, then the epilogue: GeluNew gives gelu_new() of each output, as gelu_new over y after
// the matmul would, without another pass and parallel loop). The result is bit-identical to matmul()
// (and gelu_new()). x, w's data, bias, y and scratch must outlive the job, and scratch must not serve
// another job meanwhile.
//
// Chained jobs: a job constructed with MatmulInput::FromProducer does not encode x; a job
// constructed with `feeds` pointing at it (its y being that job's x, its outputs that job's inputs)
// encodes each chunk of outputs for it, after the epilogue, while they are still in L1; its chunks
// then start and end on the encoding's block boundaries. The model's fc_in feeds fc_out this way: the
// 8192-value row was encoded by one thread after fc_in, from lines in the other core's cache (~4 us
// per layer while the other threads waited). The fed job may run chunks only once all of the feeding
// job's chunks are done. Results are bit-identical to unchained jobs.
class MatmulJob {
 public:
  MatmulJob(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, ThreadPool& pool,
            AlignedBuffer& scratch, MatmulEpilogue epilogue = MatmulEpilogue::None,
            MatmulInput input = MatmulInput::Encode, MatmulJob* feeds = nullptr);
  ~MatmulJob();
  MatmulJob(const MatmulJob&) = delete;
  MatmulJob& operator=(const MatmulJob&) = delete;
  // Thread-safe. `thread`: the caller's index in the pool (0 .. threads - 1), whose share of the rows
  // it takes first (decode); any value gives the same result, the right one keeps reads sequential.
  bool run_next_chunk(int thread = 0);
  // For a job made with MatmulInput::FromProducer and fed by no job: encodes its share of the
  // activation rows (x must be complete); every thread of `threads` calls it before any chunk runs.
  void encode_rows(int index, int threads);

  class Impl;  // also what matmul() runs, with the calling thread's reusable buffer

 private:
  std::unique_ptr<Impl> impl_;
};

// Whether matmul() has fast kernels for weights of this type (q8_0, q4_0, q4_k, f32, f16, bf16); other
// readable types go through the slow dequantize-a-row path.
bool matmul_supports(DType t);

// Whether the active instruction set's kernels would run faster on this matrix with another
// layout: q4_0 rows of whole 1024-element periods that are not 64-byte aligned, on a CPU whose
// AVX-512 whole-cache-line q4_0 kernels need that alignment (GGUF files from other tools are often
// 32-byte aligned; `moss convert IN -o OUT --type keep` rewrites them 64-byte aligned).
bool matmul_misses_fast_layout(const WeightMatrix& w);

// The plain scalar version that every fast path is tested against (dequantize each row, then dot
// products in float32, summed in index order).
void matmul_reference(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y);

}  // namespace moss
