// combine.cu -- merges the fp32 partial results of split requests.
//
// For a request with n > 1 pieces and a query row, piece s holds
// o_s = (sum_{j in s} e^{x_j} v_j) / (sum_{j in s} e^{x_j}) and
// lse_s = log(sum_{j in s} e^{x_j})  (-inf when piece s saw no key).
// Result: lse = log(sum_s e^{lse_s}), out = sum_s e^{lse_s - lse} o_s, which is
// exactly the single-pass softmax. All pieces -inf -> out 0, lse +inf.
// One warp per (request, kv head, query row); each lane owns 16 columns.
#include "hopper_ptx.cuh"

namespace mla {

constexpr int kCombineWarps = 8;

template <typename T>
__global__ void __launch_bounds__(kCombineWarps * 32) combine_kernel(DecodeArgs a) {
  // When launched as a programmatic dependent of the decode kernel (v5+), wait
  // until that grid has completed and its writes are visible; a no-op otherwise.
  griddep_wait();
  griddep_launch_dependents();  // the next decode, launched as this grid's dependent, may start (it waits for us first)
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

// ---------------------------------------------------------------------------
// combine2 (v5+): same result, parallel over the splits. The one-warp-per-row
// kernel above walks the n splits of a row one after the other, each step a
// dependent ~1 us DRAM round trip: with b=1 and ~64 splits per request it took
// most of a ~75 us decode step. Here one 256-thread block owns one row: warp g
// takes splits g, g+8, g+16, ... (each lane 16 columns), the 8 partial rows
// are summed through shared memory, and the lse reductions are block-wide.
constexpr int kC2Warps = 8;

template <typename T>
__global__ void __launch_bounds__(kC2Warps * 32) combine2_kernel(DecodeArgs a) {
  griddep_wait();
  griddep_launch_dependents();  // the next decode, launched as this grid's dependent, may start (it waits for us first)
  const int req = blockIdx.y;
  const int first = a.nsplits[req];
  const int n = a.nsplits[req + 1] - first;
  if (n <= 1) return;  // written directly by the decode kernel
  const int idx = blockIdx.x;  // kvh * rows + m
  const int kvh = idx / a.rows, m = idx % a.rows;
  const int64_t lstride = (int64_t)a.h_kv * a.rows;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  __shared__ float red[kC2Warps];
  __shared__ float part[kC2Warps][kDV];

  float mx = -INFINITY;
  for (int s = tid; s < n; s += blockDim.x) mx = fmaxf(mx, a.lacc[(int64_t)(first + s) * lstride + idx]);
  for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  if (lane == 0) red[warp] = mx;
  __syncthreads();
  mx = red[0];
#pragma unroll
  for (int w = 1; w < kC2Warps; ++w) mx = fmaxf(mx, red[w]);
  __syncthreads();
  float sum = 0.f;
  if (mx != -INFINITY)
    for (int s = tid; s < n; s += blockDim.x) {
      const float l = a.lacc[(int64_t)(first + s) * lstride + idx];
      if (l != -INFINITY) sum += expf(l - mx);
    }
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (lane == 0) red[warp] = sum;
  __syncthreads();
  sum = 0.f;
#pragma unroll
  for (int w = 0; w < kC2Warps; ++w) sum += red[w];
  const bool empty = (mx == -INFINITY);
  const float lse = empty ? INFINITY : mx + logf(sum);

  float acc[16];
#pragma unroll
  for (int i = 0; i < 16; ++i) acc[i] = 0.f;
  if (!empty) {
#pragma unroll 2
    for (int s = warp; s < n; s += kC2Warps) {
      const float l = a.lacc[(int64_t)(first + s) * lstride + idx];
      if (l == -INFINITY) continue;  // empty piece: contributes nothing
      const float w = expf(l - lse);
      const float* src = a.oacc + ((int64_t)(first + s) * lstride + idx) * kDV;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float4 v = *reinterpret_cast<const float4*>(src + c * 128 + lane * 4);
        acc[c * 4 + 0] += w * v.x; acc[c * 4 + 1] += w * v.y;
        acc[c * 4 + 2] += w * v.z; acc[c * 4 + 3] += w * v.w;
      }
    }
  }
#pragma unroll
  for (int c = 0; c < 4; ++c)
    *reinterpret_cast<float4*>(&part[warp][c * 128 + lane * 4]) =
        make_float4(acc[c * 4 + 0], acc[c * 4 + 1], acc[c * 4 + 2], acc[c * 4 + 3]);
  __syncthreads();
  const int s_idx = m / a.G, head = kvh * a.G + m % a.G;
  T* dst = reinterpret_cast<T*>(a.out) + (int64_t)req * a.o_sb + (int64_t)s_idx * a.o_ss + (int64_t)head * a.o_sh;
  {
    const int col = tid * 2;  // 256 threads x 2 columns = 512
    float v0 = 0.f, v1 = 0.f;
#pragma unroll
    for (int w = 0; w < kC2Warps; ++w) { v0 += part[w][col]; v1 += part[w][col + 1]; }
    // out rows are only guaranteed 4-byte aligned: one 4-byte store of 2 values
    *reinterpret_cast<uint32_t*>(dst + col) = Pack<T>::pack(v0, v1);
  }
  if (tid == 0) a.lse[((int64_t)req * a.h_q + head) * a.s_q + s_idx] = lse;
}

// Programmatic dependent launch (v5+) of combine2: the combine grid is launched while the
// decode grid still runs (the decode kernels trigger launch_dependents early),
// so its launch latency overlaps the decode tail; griddepcontrol.wait above
// orders it after the decode grid's completion.
// combine2 when the plan has on average >= 4 pieces per request (few requests,
// long ones: b=1 gets ~64), the warp-per-row combine otherwise (b=128: ~2).
cudaError_t launch_combine_pdl(const DecodeArgs& a, int dtype, cudaStream_t st) {
  const int64_t items = (int64_t)a.h_kv * a.rows;
  const bool wide = (int64_t)a.num_parts >= 4 * (int64_t)a.b;
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = wide ? dim3((unsigned)items, (unsigned)a.b)  // one block per row
                     : dim3((unsigned)((items + kCombineWarps - 1) / kCombineWarps), (unsigned)a.b);
  cfg.blockDim = dim3(wide ? kC2Warps * 32 : kCombineWarps * 32);
  cfg.dynamicSmemBytes = 0;
  cfg.stream = st;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  if (wide) {
    if (dtype == 0) return cudaLaunchKernelEx(&cfg, combine2_kernel<__nv_bfloat16>, a);
    return cudaLaunchKernelEx(&cfg, combine2_kernel<__half>, a);
  }
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
