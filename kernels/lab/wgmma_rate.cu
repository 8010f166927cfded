// wgmma_rate.cu -- how fast do the wgmma streams of the decode kernels run on
// their own? One CTA per SM, operands in 128-byte-swizzled shared memory (the
// layout of v5-v7), nothing else: no loads, no softmax, no barriers. Each
// active warpgroup repeats `reps` times: fence, the instruction stream of one
// 64-key page, commit, wait. The answer bounds what any decode kernel built on
// that stream can reach, and tells which stream shape to build on.
//
// Streams (per warpgroup and page):
//   s32_ss     36 x m64n32k16, A=Q and B=K from smem, 2 accumulator chains (v5's S: 32 keys per warpgroup)
//   s32_ss_mb  the same with an mbarrier try_wait (already complete) after every 4 instructions (v5's slab loop)
//   s64_ss     36 x m64n64k16 SS, 2 chains (S of a whole page by one warpgroup)
//   s64_ss_1c  the same, one chain
//   s64_ss_mb  s64_ss with the mbarrier try_wait of v5's slab loop
//   s64_rs     36 x m64n64k16 with A from registers, 2 chains
//   pv_ss      4 x m64n256k16, A=P from smem, B=V MN-major (v5's PV)
//   pv_rs      4 x m64n256k16, A=P from registers
//   mix        s64_ss then 2 x pv_rs: a seesaw warpgroup's tensor work for two pages
// Each stream runs with 1 and with 2 warpgroups issuing concurrently.
// Output: one CSV line per (stream, warpgroups): TFLOP/s over the whole GPU,
// FLOP per clock per SM (dense bf16 peak: 4096 on H100/H200), clocks per page.
// Usage: wgmma_rate [reps]   (default 2000)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../src/hopper_ptx.cuh"
#include "../src/tile_common.cuh"

using namespace mla;
using T = __nv_bfloat16;

enum Stream { S32_SS, S32_SS_MB, S64_SS, S64_SS_1C, S64_SS_MB, S64_RS, PV_SS, PV_RS, MIX, NSTREAMS };
static const char* kNames[] = {"s32_ss", "s32_ss_mb", "s64_ss", "s64_ss_1c", "s64_ss_mb", "s64_rs", "pv_ss", "pv_rs", "mix"};
constexpr int kSmemBytes = 3 * 9 * kSlab + 1024 + 64;  // Q tile, K page, P slab (+ alignment, mbarrier)

// Every stream returns a sum over its accumulators: ptxas removes wgmma whose results are never read.
template <int N>
__device__ __forceinline__ float total(const float (&r)[N]) {
  float s = 0.f;
#pragma unroll
  for (int i = 0; i < N; ++i) s += r[i];
  return s;
}

__device__ __forceinline__ float stream_s32(uint32_t sQ, uint32_t sK, bool mb, uint32_t bar) {
  float c0[16], c1[16];
  wgmma_fence();
#pragma unroll
  for (int c = 0; c < 9; ++c) {
    if (mb) while (!mbar_try(bar, 0)) {}
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      const uint32_t o = c * kSlab + kk * 32;
      WgmmaS32PV256<T>::s32((kk & 1) ? c1 : c0, desc128(sQ + o, 16, 1024), desc128(sK + o, 16, 1024), 4 * c + kk >= 2);
    }
  }
  wgmma_commit();
  wgmma_wait<0>();
  keep(c0); keep(c1);
  return total(c0) + total(c1);
}

template <int NC>
__device__ __forceinline__ float stream_s64(uint32_t sQ, uint32_t sK, bool mb, uint32_t bar) {
  float c[NC][32];
  wgmma_fence();
#pragma unroll
  for (int s = 0; s < 9; ++s) {
    if (mb) while (!mbar_try(bar, 0)) {}
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      const uint32_t o = s * kSlab + kk * 32;
      WgmmaWide<T>::s64(c[(4 * s + kk) % NC], desc128(sQ + o, 16, 1024), desc128(sK + o, 16, 1024), 4 * s + kk >= NC);
    }
  }
  wgmma_commit();
  wgmma_wait<0>();
  float t = 0.f;
#pragma unroll
  for (int i = 0; i < NC; ++i) { keep(c[i]); t += total(c[i]); }
  return t;
}

__device__ __forceinline__ float stream_s64_rs(const uint32_t* afrag, uint32_t sK) {
  float c0[32], c1[32];
  wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < 36; ++ks)
    WgmmaWide<T>::s64_rs((ks & 1) ? c1 : c0, afrag + 4 * (ks & 3), desc128(sK + (ks / 4) * kSlab + (ks % 4) * 32, 16, 1024), ks >= 2);
  wgmma_commit();
  wgmma_wait<0>();
  keep(c0); keep(c1);
  return total(c0) + total(c1);
}

__device__ __forceinline__ void stream_pv(float* acc, uint32_t sP, uint32_t sV, const uint32_t* afrag, bool rs) {
  wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < 4; ++ks) {
    if (rs) WgmmaWide<T>::pv_rs(acc, afrag + 4 * ks, desc128(sV + ks * 16 * 128, kSlab, 1024));
    else WgmmaS32PV256<T>::pv(acc, desc128(sP + ks * 32, 16, 1024), desc128(sV + ks * 16 * 128, kSlab, 1024));
  }
  wgmma_commit();
  wgmma_wait<0>();
}

template <int S>
__global__ void __launch_bounds__(256, 1) rate_kernel(int reps, int active, long long* cycles, float* sink) {
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  const uint32_t raw = (uint32_t)__cvta_generic_to_shared(smem_raw);
  const uint32_t base = (raw + 1023u) & ~1023u;
  uint16_t* g = reinterpret_cast<uint16_t*>(smem_raw + (base - raw));
  const uint32_t sQ = base, sK = base + 9 * kSlab, sP = base + 18 * kSlab, bar = base + 27 * kSlab;
  // random small bf16 values everywhere (data-dependent power matters for the clocks)
  for (int i = threadIdx.x; i < 27 * kSlab / 2; i += 256) {
    uint32_t h = (i + 1) * 2654435761u ^ blockIdx.x;
    h ^= h >> 13; h *= 0x5bd1e995u; h ^= h >> 15;
    g[i] = (uint16_t)(0x3c00 | (h & 0x01ff)) ^ (uint16_t)((h & 0x10000) ? 0x8000 : 0);  // +-[0.0078, 0.0156)
  }
  if (threadIdx.x == 0) { mbar_init(bar, 1); fence_mbarrier_init(); }
  fence_async_smem();
  __syncthreads();
  if (threadIdx.x == 0) mbar_arrive(bar);  // phase 0 complete: every try_wait(parity 0) succeeds at once
  __syncthreads();
  const int wg = threadIdx.x / 128;
  if (wg >= active) return;
  uint32_t afrag[16];
#pragma unroll
  for (int i = 0; i < 16; ++i) afrag[i] = 0x3c003c00u ^ (threadIdx.x * 0x00010001u * (i + 1) & 0x00ff00ffu);
  float acc[128];
#pragma unroll
  for (int i = 0; i < 128; ++i) acc[i] = 0.f;
  const uint32_t sV = sK + 4 * wg * kSlab;
  float sum = 0.f;
  const long long t0 = clock64();
  for (int r = 0; r < reps; ++r) {
    if (S == S32_SS) sum += stream_s32(sQ, sK, false, bar);
    if (S == S32_SS_MB) sum += stream_s32(sQ, sK, true, bar);
    if (S == S64_SS) sum += stream_s64<2>(sQ, sK, false, bar);
    if (S == S64_SS_1C) sum += stream_s64<1>(sQ, sK, false, bar);
    if (S == S64_SS_MB) sum += stream_s64<2>(sQ, sK, true, bar);
    if (S == S64_RS) sum += stream_s64_rs(afrag, sK);
    if (S == PV_SS) stream_pv(acc, sP, sV, afrag, false);
    if (S == PV_RS) stream_pv(acc, sP, sV, afrag, true);
    if (S == MIX) {
      // no warpgroup-dependent branch: ptxas serialises wgmma behind divergent paths (C7520)
      sum += stream_s64<2>(sQ, sK, false, bar);
      stream_pv(acc, sP, sV, afrag, true);
      stream_pv(acc, sP, sV, afrag, true);
    }
  }
  const long long t1 = clock64();
  float s = sum;
#pragma unroll
  for (int i = 0; i < 128; ++i) s += acc[i];
  if (s == 12345.f) sink[threadIdx.x] = s;  // keeps acc alive
  if (threadIdx.x % 128 == 0) cycles[blockIdx.x * 2 + wg] = t1 - t0;
}

// FLOPs per warpgroup per rep
static double flops_per_rep(int s, int wg) {
  const double s32 = 36.0 * 2 * 64 * 32 * 16, s64 = 36.0 * 2 * 64 * 64 * 16, pv = 4.0 * 2 * 64 * 256 * 16;
  switch (s) {
    case S32_SS: case S32_SS_MB: return s32;
    case PV_SS: case PV_RS: return pv;
    case MIX: return s64 + 2 * pv;
    default: return s64;
  }
}

template <int S>
static void run(int reps, int sms, long long* d_cyc, float* d_sink, int clock_khz) {
  cudaFuncSetAttribute(rate_kernel<S>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes);
  for (int active = 1; active <= 2; ++active) {
    rate_kernel<S><<<sms, 256, kSmemBytes>>>(reps / 10, active, d_cyc, d_sink);  // warm-up
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0); cudaEventCreate(&e1);
    cudaEventRecord(e0);
    rate_kernel<S><<<sms, 256, kSmemBytes>>>(reps, active, d_cyc, d_sink);
    cudaEventRecord(e1);
    cudaError_t err = cudaEventSynchronize(e1);
    if (err != cudaSuccess) { printf("%s,%d,error,%s\n", kNames[S], active, cudaGetErrorString(err)); exit(1); }
    float ms; cudaEventElapsedTime(&ms, e0, e1);
    long long* cyc = (long long*)malloc(sizeof(long long) * sms * 2);
    cudaMemcpy(cyc, d_cyc, sizeof(long long) * sms * 2, cudaMemcpyDeviceToHost);
    double cmax = 0, csum = 0;
    for (int b = 0; b < sms; ++b) {
      long long c = cyc[2 * b];
      if (active == 2 && cyc[2 * b + 1] > c) c = cyc[2 * b + 1];
      csum += c; if (c > cmax) cmax = c;
    }
    double fl_sm = 0;
    for (int w = 0; w < active; ++w) fl_sm += flops_per_rep(S, w) * reps;
    const double tflops = fl_sm * sms / (ms * 1e-3) / 1e12;
    const double cavg = csum / sms;
    printf("%s,%d,%.1f,%.0f,%.0f,%.0f,%.3f\n", kNames[S], active, tflops, fl_sm / cavg, cavg / reps,
           cavg / (ms * 1e-3) / 1e6, ms);
    free(cyc);
    cudaEventDestroy(e0); cudaEventDestroy(e1);
  }
  (void)clock_khz;
}

int main(int argc, char** argv) {
  const int reps = argc > 1 ? atoi(argv[1]) : 2000;
  cudaDeviceProp pr;
  if (cudaGetDeviceProperties(&pr, 0) != cudaSuccess) { printf("no CUDA device\n"); return 1; }
  printf("# device: %s, %d SMs; reps %d; one CTA of 256 threads per SM\n", pr.name, pr.multiProcessorCount, reps);
  printf("stream,warpgroups,tflops,flop_per_clk_sm,clk_per_page_per_wg,mhz_effective,ms\n");
  long long* d_cyc; float* d_sink;
  cudaMalloc(&d_cyc, sizeof(long long) * pr.multiProcessorCount * 2);
  cudaMalloc(&d_sink, 4096);
  const int sms = pr.multiProcessorCount;
  run<S32_SS>(reps, sms, d_cyc, d_sink, 0);
  run<S32_SS_MB>(reps, sms, d_cyc, d_sink, 0);
  run<S64_SS>(reps, sms, d_cyc, d_sink, 0);
  run<S64_SS_1C>(reps, sms, d_cyc, d_sink, 0);
  run<S64_SS_MB>(reps, sms, d_cyc, d_sink, 0);
  run<S64_RS>(reps, sms, d_cyc, d_sink, 0);
  run<PV_SS>(reps, sms, d_cyc, d_sink, 0);
  run<PV_RS>(reps, sms, d_cyc, d_sink, 0);
  run<MIX>(reps, sms, d_cyc, d_sink, 0);
  return 0;
}
