// decode_v1_simt.cu -- v1 "simt": correctness first.
//
// What it is: one CTA of 256 threads per (partition, kv head, 64-row q tile).
// The 64x576 Q tile and one 64-token KV page live in shared memory as 16-bit
// (rows padded to 584 elements: conflict-free for the 8 rows a warp reads).
// S = Q K^T (64x64) and O += P V use scalar fp32 FMA; online softmax in the
// log2 domain; each thread owns a 8x16 slice of the 64x512 fp32 accumulator.
// Tokens >= seqlen are never loaded (their smem rows are zero-filled) and are
// masked to -inf before exp. Pieces of split requests go to fp32 partials.
#include "tile_common.cuh"

namespace mla {

constexpr int kV1Threads = 256;
constexpr int kV1Ld = 584;  // padded row length (elements) of sQ / sK
constexpr int kV1SLd = 65;  // padded row length of sS
constexpr size_t kV1Smem = 2ull * kTileM * kV1Ld * 2 + (size_t)kTileM * kV1SLd * 4 + 3 * kTileM * 4;

template <typename T>
__global__ void __launch_bounds__(kV1Threads, 1) decode_v1_kernel(DecodeArgs a) {
  extern __shared__ __align__(16) unsigned char smem[];
  T* sQ = reinterpret_cast<T*>(smem);
  T* sK = sQ + kTileM * kV1Ld;
  float* sS = reinterpret_cast<float*>(sK + kTileM * kV1Ld);
  float* sM = sS + kTileM * kV1SLd;  // running max (log2 domain)
  float* sL = sM + kTileM;           // running sum
  float* sA = sL + kTileM;           // rescale factor of this page

  const int part = blockIdx.x, kvh = blockIdx.y, tile = blockIdx.z;
  const int tid = threadIdx.x, lane = tid % 32, wid = tid / 32;
  const int32_t* sc = a.sched + (int64_t)part * kSchedInts;
  if (sc[5] == 0) return;
  const int begin_req = sc[0], begin_blk = sc[1], end_req = sc[2], end_blk = sc[3], begin_slot = sc[4];
  const T* q = reinterpret_cast<const T*>(a.q);
  const T* kv = reinterpret_cast<const T*>(a.kv);

  for (int req = begin_req; req <= end_req; ++req) {
    const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);

    // Q tile -> smem (rows beyond a.rows are zero)
    for (int i = tid; i < kTileM * (kDK / 8); i += kV1Threads) {
      int row = i / (kDK / 8), ch = i % (kDK / 8);
      int m = tile * kTileM + row;
      uint4 v = make_uint4(0, 0, 0, 0);
      if (m < a.rows) {
        int s_idx = m / a.G, head = kvh * a.G + m % a.G;
        const T* src = q + (int64_t)req * a.q_sb + (int64_t)s_idx * a.q_ss + (int64_t)head * a.q_sh + ch * 8;
        v = *reinterpret_cast<const uint4*>(src);
      }
      *reinterpret_cast<uint4*>(sQ + row * kV1Ld + ch * 8) = v;
    }
    if (tid < kTileM) { sM[tid] = -INFINITY; sL[tid] = 0.f; }

    float acc[8][16];
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
      for (int j = 0; j < 16; ++j) acc[i][j] = 0.f;

    // S-phase mapping: row rs = tid/4, keys (tid%4) + 4*k
    const int rs = tid / 4, kq = tid % 4;
    const int lim_s = row_limit(a, pc.len, tile * kTileM + rs);

    for (int blk = pc.blk_begin; blk < pc.blk_end; ++blk) {
      __syncthreads();  // previous page fully consumed (and Q visible on first pass)
      const int page = a.block_table[(int64_t)req * a.bt_sb + blk];
      for (int i = tid; i < kPage * (kDK / 8); i += kV1Threads) {
        int row = i / (kDK / 8), ch = i % (kDK / 8);
        int tok = blk * kPage + row;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (tok < pc.len) {
          const T* src = kv + (int64_t)page * a.kv_sb + (int64_t)row * a.kv_st + (int64_t)kvh * a.kv_sh + ch * 8;
          v = *reinterpret_cast<const uint4*>(src);
        }
        *reinterpret_cast<uint4*>(sK + row * kV1Ld + ch * 8) = v;
      }
      __syncthreads();

      // S = Q K^T (scaled, masked)
      {
        float s[16];
#pragma unroll
        for (int k = 0; k < 16; ++k) s[k] = 0.f;
        const T* qr = sQ + rs * kV1Ld;
        for (int d = 0; d < kDK; d += 2) {
          float2 qv = Pack<T>::unpack(*reinterpret_cast<const uint32_t*>(qr + d));
#pragma unroll
          for (int k = 0; k < 16; ++k) {
            float2 kk = Pack<T>::unpack(*reinterpret_cast<const uint32_t*>(sK + (kq + 4 * k) * kV1Ld + d));
            s[k] = fmaf(qv.x, kk.x, s[k]);
            s[k] = fmaf(qv.y, kk.y, s[k]);
          }
        }
#pragma unroll
        for (int k = 0; k < 16; ++k) {
          int tok = blk * kPage + kq + 4 * k;
          sS[rs * kV1SLd + kq + 4 * k] = (tok <= lim_s) ? s[k] * a.scale_log2 : -INFINITY;
        }
      }
      __syncthreads();

      // online softmax: 4 threads per row, 16 keys each
      {
        float* srow = sS + rs * kV1SLd + kq * 16;
        const float m_old = sM[rs];
        float mx = -INFINITY;
#pragma unroll
        for (int k = 0; k < 16; ++k) mx = fmaxf(mx, srow[k]);
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float m_new = fmaxf(m_old, mx);
        const float m_use = (m_new == -INFINITY) ? 0.f : m_new;
        float sum = 0.f;
#pragma unroll
        for (int k = 0; k < 16; ++k) {
          float p = exp2f(srow[k] - m_use);  // -inf -> 0
          srow[k] = p;
          sum += p;
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        if (kq == 0) {
          const float alpha = exp2f(m_old - m_use);  // m_old = -inf -> 0
          sA[rs] = alpha;
          sL[rs] = sL[rs] * alpha + sum;
          sM[rs] = m_new;
        }
      }
      __syncthreads();

      // O = O * alpha + P V : rows wid*8..+8, cols c*128 + lane*4 .. +4
      {
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const float al = sA[wid * 8 + i];
#pragma unroll
          for (int j = 0; j < 16; ++j) acc[i][j] *= al;
        }
        for (int j = 0; j < kPage; ++j) {
          float v[16];
#pragma unroll
          for (int c = 0; c < 4; ++c) {
            uint2 u = *reinterpret_cast<const uint2*>(sK + j * kV1Ld + c * 128 + lane * 4);
            float2 f0 = Pack<T>::unpack(u.x), f1 = Pack<T>::unpack(u.y);
            v[c * 4 + 0] = f0.x; v[c * 4 + 1] = f0.y; v[c * 4 + 2] = f1.x; v[c * 4 + 3] = f1.y;
          }
#pragma unroll
          for (int i = 0; i < 8; ++i) {
            const float p = sS[(wid * 8 + i) * kV1SLd + j];
#pragma unroll
            for (int c = 0; c < 16; ++c) acc[i][c] = fmaf(p, v[c], acc[i][c]);
          }
        }
      }
    }
    __syncthreads();  // sM/sL final (also covers the no-page case)

    // epilogue
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const int row = wid * 8 + i;
      const int m = tile * kTileM + row;
      if (m >= a.rows) continue;
      const float l = sL[row];
      const float inv = (l > 0.f) ? 1.f / l : 0.f;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        int col = c * 128 + lane * 4;
        store_out_pair<T>(a, pc, kvh, m, col, acc[i][c * 4 + 0] * inv, acc[i][c * 4 + 1] * inv);
        store_out_pair<T>(a, pc, kvh, m, col + 2, acc[i][c * 4 + 2] * inv, acc[i][c * 4 + 3] * inv);
      }
      if (lane == 0) store_lse(a, pc, kvh, m, sM[row], l);
    }
    __syncthreads();  // before the next request overwrites sQ / sM / sL
  }
}

cudaError_t launch_decode_v1(const DecodeArgs& a, int dtype, int tiles, cudaStream_t st) {
  return launch_by_dtype(decode_v1_kernel<__nv_bfloat16>, decode_v1_kernel<__half>, kV1Threads, kV1Smem, a, dtype, tiles, st);
}

}  // namespace mla
