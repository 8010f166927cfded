// Benchmark support: device-side random fill and rotating-input timing.
// Built into libmla beside the decode kernels; see include/mla_bench.h.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cmath>
#include <cstdio>
#include <string>

#include "../include/mla.h"
#include "../include/mla_bench.h"
#include "status.cuh"

using mla::fail;

namespace {

__device__ __forceinline__ uint32_t mix32(uint64_t x) {
  // splitmix64 finaliser, folded to 32 bits
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  return static_cast<uint32_t>(x ^ (x >> 32));
}

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <>
__device__ __forceinline__ __half from_float<__half>(float v) { return __float2half_rn(v); }

template <typename T>
__global__ void fill_random_kernel(T* p, size_t n, uint64_t seed, float scale) {
  // Sum of four uniforms on [-1,1): variance 4/3, so scale by sqrt(3/4).
  const float norm = scale * 0.8660254f;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    uint64_t base = seed * 0x100000001B3ull ^ (i * 4);
    float s = 0.f;
#pragma unroll
    for (int k = 0; k < 4; ++k) s += (mix32(base + k) >> 8) * (2.0f / 16777216.0f) - 1.0f;
    p[i] = from_float<T>(s * 0.5f * norm);
  }
}

}  // namespace

extern "C" MLA_API int mla_fill_random(void* dev_ptr, size_t n, int dtype, uint64_t seed, float scale, void* stream) {
  if (dev_ptr == nullptr) return fail(MLA_ERR_INVALID_ARGUMENT, "mla_fill_random: dev_ptr is NULL");
  if (dtype != MLA_DTYPE_BF16 && dtype != MLA_DTYPE_FP16)
    return fail(MLA_ERR_INVALID_ARGUMENT, "mla_fill_random: dtype must be MLA_DTYPE_BF16 (0) or MLA_DTYPE_FP16 (1), got %d", dtype);
  if (!std::isfinite(scale)) return fail(MLA_ERR_INVALID_ARGUMENT, "mla_fill_random: scale must be finite");
  if (n == 0) return MLA_OK;
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  const int threads = 256;
  const size_t want = (n + threads - 1) / threads;
  const int blocks = static_cast<int>(want < 65536 ? want : 65536);
  if (dtype == MLA_DTYPE_BF16)
    fill_random_kernel<<<blocks, threads, 0, s>>>(static_cast<__nv_bfloat16*>(dev_ptr), n, seed, scale);
  else
    fill_random_kernel<<<blocks, threads, 0, s>>>(static_cast<__half*>(dev_ptr), n, seed, scale);
  return mla::cuda_status(cudaGetLastError(), "mla_fill_random: launch");
}

