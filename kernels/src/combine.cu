// combine.cu -- merges the fp32 partial results of split requests.
//
// For a request with n > 1 pieces and a query row, piece s holds
// o_s = (sum_{j in s} e^{x_j} v_j) / (sum_{j in s} e^{x_j}) and
// lse_s = log(sum_{j in s} e^{x_j})  (-inf when piece s saw no key).
// Result: lse = log(sum_s e^{lse_s}), out = sum_s e^{lse_s - lse} o_s, which is
// exactly the single-pass softmax. All pieces -inf -> out 0, lse +inf.
// One warp per (request, kv head, query row); each lane owns 16 columns.
#include "common.cuh"

namespace mla {

constexpr int kCombineWarps = 8;

template <typename T>
__global__ void __launch_bounds__(kCombineWarps * 32) combine_kernel(DecodeArgs a) {
  // When launched as a programmatic dependent of the decode kernel (v5+), wait
  // until that grid has completed and its writes are visible; a no-op otherwise.
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
  const int req = blockIdx.y;
  const int first = a.nsplits[req];
  const int n = a.nsplits[req + 1] - first;
  if (n <= 1) return;  // written directly by the decode kernel
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int idx = blockIdx.x * kCombineWarps + warp;  // kvh * rows + m
  if (idx >= a.h_kv * a.rows) return;
  const int kvh = idx / a.rows, m = idx % a.rows;
  const int64_t lstride = (int64_t)a.h_kv * a.rows;

  float mx = -INFINITY;
  for (int s = lane; s < n; s += 32) mx = fmaxf(mx, a.lacc[(int64_t)(first + s) * lstride + idx]);
  for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  float sum = 0.f;
  if (mx != -INFINITY) {
    for (int s = lane; s < n; s += 32) {
      float l = a.lacc[(int64_t)(first + s) * lstride + idx];
      if (l != -INFINITY) sum += expf(l - mx);
    }
  }
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  const bool empty = (mx == -INFINITY);
  const float lse = empty ? INFINITY : mx + logf(sum);

  float acc[16];
#pragma unroll
  for (int i = 0; i < 16; ++i) acc[i] = 0.f;
  if (!empty) {
    for (int s = 0; s < n; ++s) {
      float l = a.lacc[(int64_t)(first + s) * lstride + idx];
      if (l == -INFINITY) continue;  // empty piece: contributes nothing
      float w = expf(l - lse);
      const float* src = a.oacc + ((int64_t)(first + s) * lstride + idx) * kDV;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        float4 v = *reinterpret_cast<const float4*>(src + c * 128 + lane * 4);
        acc[c * 4 + 0] += w * v.x; acc[c * 4 + 1] += w * v.y;
        acc[c * 4 + 2] += w * v.z; acc[c * 4 + 3] += w * v.w;
      }
    }
  }
  const int s_idx = m / a.G, head = kvh * a.G + m % a.G;
  T* dst = reinterpret_cast<T*>(a.out) + (int64_t)req * a.o_sb + (int64_t)s_idx * a.o_ss + (int64_t)head * a.o_sh;
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    uint2 u;
    u.x = Pack<T>::pack(acc[c * 4 + 0], acc[c * 4 + 1]);
    u.y = Pack<T>::pack(acc[c * 4 + 2], acc[c * 4 + 3]);
    // out rows are only guaranteed 4-byte aligned: two 4-byte stores
    uint32_t* d = reinterpret_cast<uint32_t*>(dst + c * 128 + lane * 4);
    d[0] = u.x; d[1] = u.y;
  }
  if (lane == 0) a.lse[((int64_t)req * a.h_q + head) * a.s_q + s_idx] = lse;
}

// Programmatic dependent launch (v5+): the combine grid is launched while the
// decode grid still runs (the decode kernels trigger launch_dependents early),
// so its launch latency overlaps the decode tail; griddepcontrol.wait above
// orders it after the decode grid's completion.
cudaError_t launch_combine_pdl(const DecodeArgs& a, int dtype, cudaStream_t st) {
  int64_t items = (int64_t)a.h_kv * a.rows;
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3((unsigned)((items + kCombineWarps - 1) / kCombineWarps), (unsigned)a.b);
  cfg.blockDim = dim3(kCombineWarps * 32);
  cfg.dynamicSmemBytes = 0;
  cfg.stream = st;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  if (dtype == 0) return cudaLaunchKernelEx(&cfg, combine_kernel<__nv_bfloat16>, a);
  return cudaLaunchKernelEx(&cfg, combine_kernel<__half>, a);
}

cudaError_t launch_combine(const DecodeArgs& a, int dtype, cudaStream_t st) {
  int64_t items = (int64_t)a.h_kv * a.rows;
  dim3 grid((unsigned)((items + kCombineWarps - 1) / kCombineWarps), (unsigned)a.b);
  if (dtype == 0) combine_kernel<__nv_bfloat16><<<grid, kCombineWarps * 32, 0, st>>>(a);
  else combine_kernel<__half><<<grid, kCombineWarps * 32, 0, st>>>(a);
  return cudaGetLastError();
}

}  // namespace mla
