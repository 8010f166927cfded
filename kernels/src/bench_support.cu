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

namespace {

// Messages of this file: read them with mla_bench_last_error() (mla.h keeps its own).
thread_local std::string g_bench_error;

int fail(int status, const std::string& msg) {
  g_bench_error = msg;
  return status;
}

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

extern "C" MLA_API const char* mla_bench_last_error(void) { return g_bench_error.c_str(); }

extern "C" MLA_API int mla_fill_random(void* dev_ptr, size_t n, int dtype, uint64_t seed, float scale, void* stream) {
  if (dev_ptr == nullptr) return fail(MLA_ERR_INVALID_ARGUMENT, "mla_fill_random: dev_ptr is NULL");
  if (dtype != MLA_DTYPE_BF16 && dtype != MLA_DTYPE_FP16)
    return fail(MLA_ERR_INVALID_ARGUMENT, "mla_fill_random: dtype must be MLA_DTYPE_BF16 (0) or MLA_DTYPE_FP16 (1), got " + std::to_string(dtype));
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
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return fail(e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver ? MLA_ERR_NO_DEVICE : MLA_ERR_CUDA,
                                    std::string("mla_fill_random: launch failed: ") + cudaGetErrorString(e));
  return MLA_OK;
}

extern "C" MLA_API int mla_bench_decode_rotating(const mla_decode_params* params, int n_params, const int32_t* sched,
                                                 const int32_t* num_splits, int num_sm_parts, void* workspace,
                                                 size_t workspace_bytes, void* stream, int warmup, int iters, int trials,
                                                 float* us_per_call_out) {
  if (params == nullptr || n_params < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "mla_bench_decode_rotating: params must point to n_params >= 1 structs");
  if (warmup < 0 || iters < 1 || trials < 1 || us_per_call_out == nullptr)
    return fail(MLA_ERR_INVALID_ARGUMENT, "mla_bench_decode_rotating: need warmup >= 0, iters >= 1, trials >= 1 and a non-NULL us_per_call_out");
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  // One validated call per distinct params first, so a bad struct fails before timing.
  for (int i = 0; i < n_params; ++i) {
    int st = mla_decode(&params[i], sched, num_splits, num_sm_parts, workspace, workspace_bytes, stream);
    if (st != MLA_OK) return fail(st, std::string("mla_bench_decode_rotating: params[") + std::to_string(i) + "]: " + mla_last_error());
  }
  for (int i = 0; i < warmup; ++i) {
    int st = mla_decode(&params[i % n_params], sched, num_splits, num_sm_parts, workspace, workspace_bytes, stream);
    if (st != MLA_OK) return fail(st, std::string("mla_bench_decode_rotating: warm-up: ") + mla_last_error());
  }
  cudaEvent_t a, b;
  if (cudaEventCreate(&a) != cudaSuccess || cudaEventCreate(&b) != cudaSuccess)
    return fail(MLA_ERR_CUDA, std::string("mla_bench_decode_rotating: cudaEventCreate: ") + cudaGetErrorString(cudaGetLastError()));
  int status = MLA_OK;
  for (int t = 0; t < trials && status == MLA_OK; ++t) {
    cudaEventRecord(a, s);
    for (int i = 0; i < iters; ++i) {
      int st = mla_decode(&params[i % n_params], sched, num_splits, num_sm_parts, workspace, workspace_bytes, stream);
      if (st != MLA_OK) { status = fail(st, std::string("mla_bench_decode_rotating: ") + mla_last_error()); break; }
    }
    cudaEventRecord(b, s);
    cudaError_t e = cudaEventSynchronize(b);
    float ms = 0.f;
    if (e == cudaSuccess) e = cudaEventElapsedTime(&ms, a, b);
    if (e != cudaSuccess && status == MLA_OK) status = fail(MLA_ERR_CUDA, std::string("mla_bench_decode_rotating: ") + cudaGetErrorString(e));
    us_per_call_out[t] = ms * 1000.f / iters;
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return status;
}
