// ceilings.cu -- the two ceilings the roofline is drawn against, measured on
// the device in use: device-to-device copy bandwidth (bytes read + written)
// and the bf16 GEMM rate of cuBLAS (loaded at run time, no link dependency).
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <dlfcn.h>

#include "../include/mla.h"
#include "../include/mla_bench.h"
#include "status.cuh"

using namespace mla;

extern "C" {

int mla_measure_copy_bandwidth(size_t bytes, int iters, double* gbps) {
  if (!gbps || bytes == 0 || iters < 1)
    return fail(MLA_ERR_INVALID_ARGUMENT, "mla_measure_copy_bandwidth: need bytes > 0, iters >= 1 and a non-NULL gbps");
  int r = ensure_device();
  if (r) return r;
  void *a = NULL, *b = NULL;
  MLA_CK(cudaMalloc(&a, bytes));
  cudaError_t e = cudaMalloc(&b, bytes);
  cudaEvent_t e0 = NULL, e1 = NULL;
  float ms = 0.f;
  if (e == cudaSuccess) e = cudaMemset(a, 0x3c, bytes);
  if (e == cudaSuccess) e = cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);  // warm-up
  if (e == cudaSuccess) e = cudaEventCreate(&e0);
  if (e == cudaSuccess) e = cudaEventCreate(&e1);
  if (e == cudaSuccess) e = cudaEventRecord(e0, 0);
  for (int i = 0; i < iters && e == cudaSuccess; ++i) e = cudaMemcpyAsync((i & 1) ? a : b, (i & 1) ? b : a, bytes, cudaMemcpyDeviceToDevice, 0);
  if (e == cudaSuccess) e = cudaEventRecord(e1, 0);
  if (e == cudaSuccess) e = cudaEventSynchronize(e1);
  if (e == cudaSuccess) e = cudaEventElapsedTime(&ms, e0, e1);
  if (e0) cudaEventDestroy(e0);
  if (e1) cudaEventDestroy(e1);
  cudaFree(a);
  if (b) cudaFree(b);
  if (e != cudaSuccess) return cuda_status(e, "mla_measure_copy_bandwidth");
  *gbps = 2.0 * (double)bytes * iters / (ms * 1e-3) / 1e9;
  return MLA_OK;
}

// cuBLAS loaded at run time (no link-time dependency).
typedef int (*cublasCreate_t)(void**);
typedef int (*cublasDestroy_t)(void*);
typedef int (*cublasGemmEx_t)(void*, int, int, int, int, int, const void*, const void*, int, int, const void*, int, int,
                              const void*, void*, int, int, int, int);

int mla_measure_gemm_bf16(int m, int n, int k, int iters, const char* cublas_path, double* tflops) {
  if (!tflops || m < 1 || n < 1 || k < 1 || iters < 1)
    return fail(MLA_ERR_INVALID_ARGUMENT, "mla_measure_gemm_bf16: need m, n, k, iters >= 1 and a non-NULL tflops");
  int r = ensure_device();
  if (r) return r;
  const char* names[] = {cublas_path, "libcublas.so.13", "libcublas.so.12", "libcublas.so"};
  void* h = NULL;
  for (const char* nmv : names)
    if (nmv && (h = dlopen(nmv, RTLD_NOW | RTLD_LOCAL))) break;
  if (!h) return fail(MLA_ERR_UNSUPPORTED, "mla_measure_gemm_bf16: cannot load cuBLAS (pass its path as cublas_path): %s", dlerror());
  cublasCreate_t create = (cublasCreate_t)dlsym(h, "cublasCreate_v2");
  cublasDestroy_t destroy = (cublasDestroy_t)dlsym(h, "cublasDestroy_v2");
  cublasGemmEx_t gemm = (cublasGemmEx_t)dlsym(h, "cublasGemmEx");
  if (!create || !destroy || !gemm) return fail(MLA_ERR_UNSUPPORTED, "mla_measure_gemm_bf16: cuBLAS symbols missing");
  void* handle = NULL;
  int cs = create(&handle);
  if (cs != 0) return fail(MLA_ERR_CUDA, "mla_measure_gemm_bf16: cublasCreate failed (%d)", cs);
  __nv_bfloat16 *A = NULL, *B = NULL, *C = NULL;
  cudaError_t e = cudaMalloc(&A, (size_t)m * k * 2);
  if (e == cudaSuccess) e = cudaMalloc(&B, (size_t)k * n * 2);
  if (e == cudaSuccess) e = cudaMalloc(&C, (size_t)m * n * 2);
  // random operands (never zeros: they run faster than real data)
  if (e == cudaSuccess && (mla_fill_random(A, (size_t)m * k, MLA_DTYPE_BF16, 1234u, 1.f, NULL) != MLA_OK ||
                           mla_fill_random(B, (size_t)k * n, MLA_DTYPE_BF16, 98765u, 1.f, NULL) != MLA_OK))
    e = cudaErrorLaunchFailure;
  const float alpha = 1.f, beta = 0.f;
  const int R_16BF = 14, COMPUTE_32F = 68, ALGO_DEFAULT = -1, OP_N = 0;
  int gs = 0;
  float ms = 0.f;
  cudaEvent_t e0 = NULL, e1 = NULL;
  // column-major: C[m x n] = A[m x k] * B[k x n]
  auto call = [&]() { return gemm(handle, OP_N, OP_N, m, n, k, &alpha, A, R_16BF, m, B, R_16BF, k, &beta, C, R_16BF, m, COMPUTE_32F, ALGO_DEFAULT); };
  for (int i = 0; i < 3 && e == cudaSuccess && gs == 0; ++i) gs = call();
  if (e == cudaSuccess) e = cudaEventCreate(&e0);
  if (e == cudaSuccess) e = cudaEventCreate(&e1);
  if (e == cudaSuccess) e = cudaEventRecord(e0, 0);
  for (int i = 0; i < iters && e == cudaSuccess && gs == 0; ++i) gs = call();
  if (e == cudaSuccess) e = cudaEventRecord(e1, 0);
  if (e == cudaSuccess) e = cudaEventSynchronize(e1);
  if (e == cudaSuccess) e = cudaEventElapsedTime(&ms, e0, e1);
  if (e0) cudaEventDestroy(e0);
  if (e1) cudaEventDestroy(e1);
  cudaFree(A); cudaFree(B); cudaFree(C);
  destroy(handle);
  if (e != cudaSuccess) return cuda_status(e, "mla_measure_gemm_bf16");
  if (gs != 0) return fail(MLA_ERR_CUDA, "mla_measure_gemm_bf16: cublasGemmEx failed (status %d)", gs);
  *tflops = 2.0 * m * (double)n * k * iters / (ms * 1e-3) / 1e12;
  return MLA_OK;
}

}  // extern "C"
