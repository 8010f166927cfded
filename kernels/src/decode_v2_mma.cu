// decode_v2_mma.cu -- v2 "mma_sync": tensor cores + cp.async double buffering.
//
// Adds over v1:
//  - S = Q K^T and O += P V on tensor cores: inline-PTX mma.sync.m16n8k16
//    (bf16 or f16 in, fp32 accumulate), fragments loaded with ldmatrix
//    (ldmatrix.trans for V, which is stored key-major).
//  - KV pages double-buffered with cp.async (16-byte, .cg): page n+1 streams
//    in while page n is computed. Tokens >= seqlen are zero-filled by
//    cp.async's src-size = 0 form, so their (NaN) cache rows are never read.
//  - 8 warps = 4 along the 64 query rows x 2 along keys (for S) / along the
//    512 output columns (for PV). The two warps of a row group exchange row
//    maxima and the 16x64 probability tile P (rounded to the input dtype)
//    through shared memory, synchronised by a 64-thread named barrier.
//  - Shared-memory rows of 576 elements (72 x 16-byte chunks) are XOR-swizzled
//    (chunk ^ (row & 7)), so ldmatrix and cp.async are bank-conflict free with
//    no padding. smem = Q 72 KB + 2 pages 144 KB + P 8 KB + 1 KB = 230400 B.
//  - The row sum is kept per thread and reduced once at the end.
#include "tile_common.cuh"

namespace mla {

constexpr int kV2Threads = 256;
constexpr int kChunks = kDK / 8;                 // 72 16-byte chunks per row
constexpr int kTileBytes = kTileM * kChunks * 16;  // 73728
constexpr size_t kV2Smem = 3ull * kTileBytes + kTileM * 64 * 2 + 2 * 2 * kTileM * 4;

__device__ __forceinline__ uint32_t swz(int row, int chunk) {  // byte offset
  return (uint32_t)((row * kChunks + (chunk ^ (row & 7))) * 16);
}

__device__ __forceinline__ void ldsm_x4(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr) : "memory");
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr) : "memory");
}

template <typename T> struct Mma;
template <> struct Mma<__nv_bfloat16> {
  static __device__ __forceinline__ void run(float* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                             uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
  }
};
template <> struct Mma<__half> {
  static __device__ __forceinline__ void run(float* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                             uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
  }
};

__device__ __forceinline__ void bar_pair(int id) {  // the 2 warps of one row group
  asm volatile("bar.sync %0, 64;\n" ::"r"(id) : "memory");
}

template <typename T>
__global__ void __launch_bounds__(kV2Threads, 1) decode_v2_kernel(DecodeArgs a) {
  extern __shared__ __align__(128) unsigned char smem[];
  const uint32_t sQ = (uint32_t)__cvta_generic_to_shared(smem);
  const uint32_t sKV0 = sQ + kTileBytes;
  const uint32_t sPu = sQ + 3 * kTileBytes;
  unsigned char* sP = smem + 3 * kTileBytes;
  float* sMax = reinterpret_cast<float*>(smem + 3 * kTileBytes + kTileM * 64 * 2);  // [2][64]
  float* sSum = sMax + 2 * kTileM;                                                   // [2][64]

  const int part = blockIdx.x, kvh = blockIdx.y, tile = blockIdx.z;
  const int tid = threadIdx.x, lane = tid % 32, wid = tid / 32;
  const int wr = wid % 4, wc = wid / 4;
  const int32_t* sc = a.sched + (int64_t)part * kSchedInts;
  if (sc[5] == 0) return;
  const int begin_req = sc[0], begin_blk = sc[1], end_req = sc[2], end_blk = sc[3], begin_slot = sc[4];
  const T* q = reinterpret_cast<const T*>(a.q);
  const T* kv = reinterpret_cast<const T*>(a.kv);

  // per-lane fragment geometry
  const int row0 = wr * 16 + lane / 4;  // rows of the C fragment: row0, row0 + 8
  const int row1 = row0 + 8;
  const int a_row = wr * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;  // ldmatrix A row
  const int a_chk = lane >> 4;
  const int bk_key = wc * 32 + (lane & 7) + (lane >> 4) * 8;  // ldmatrix K row (key)
  const int bk_chk = (lane >> 3) & 1;
  const int v_key = (lane & 7) + ((lane >> 3) & 1) * 8;  // ldmatrix.trans V row (key) within k-step
  const int v_chk = wc * 32 + (lane >> 4);

  for (int req = begin_req; req <= end_req; ++req) {
    const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
    const int cnt = pc.blk_end - pc.blk_begin;
    const int64_t bt_row = (int64_t)req * a.bt_sb;
    const T* kv_head = kv + (int64_t)kvh * a.kv_sh;

    auto load_page = [&](int blk, uint32_t dst) {
      const int page = a.block_table[bt_row + blk];
      const T* base = kv_head + (int64_t)page * a.kv_sb;
      load_kv_page<T, kV2Threads>(a, kv, base, blk, pc.len, tid, [&](int row, int ch) { return dst + swz(row, ch); });
    };

    if (cnt > 0) {
      load_q_tile<T, kV2Threads>(a, q, req, kvh, tile, tid, [&](int row, int ch) { return sQ + swz(row, ch); });
      load_page(pc.blk_begin, sKV0);
      cp_async_commit();
    }

    const int lim0 = row_limit(a, pc.len, tile * kTileM + row0);
    const int lim1 = row_limit(a, pc.len, tile * kTileM + row1);
    float m_run0 = -INFINITY, m_run1 = -INFINITY, l_run0 = 0.f, l_run1 = 0.f;
    float acc[32][4];
#pragma unroll
    for (int i = 0; i < 32; ++i) { acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f; }

    for (int n = 0; n < cnt; ++n) {
      const int blk = pc.blk_begin + n;
      const uint32_t sK = sKV0 + (n & 1) * kTileBytes;
      if (n + 1 < cnt) {
        load_page(blk + 1, sKV0 + ((n + 1) & 1) * kTileBytes);
        cp_async_commit();
        cp_async_wait<1>();
      } else {
        cp_async_wait<0>();
      }
      __syncthreads();

      // ---- S = Q K^T : 16 rows x 32 keys per warp ----
      float s[4][4];
#pragma unroll
      for (int i = 0; i < 4; ++i) { s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f; }
#pragma unroll 4
      for (int ks = 0; ks < kDK / 16; ++ks) {
        uint32_t a0, a1, a2, a3;
        ldsm_x4(sQ + swz(a_row, 2 * ks + a_chk), a0, a1, a2, a3);
#pragma unroll
        for (int nt2 = 0; nt2 < 2; ++nt2) {
          uint32_t b0, b1, b2, b3;
          ldsm_x4(sK + swz(bk_key + nt2 * 16, 2 * ks + bk_chk), b0, b1, b2, b3);
          Mma<T>::run(s[2 * nt2], a0, a1, a2, a3, b0, b1);
          Mma<T>::run(s[2 * nt2 + 1], a0, a1, a2, a3, b2, b3);
        }
      }

      // ---- scale, mask, row max ----
      float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int tok = blk * kPage + wc * 32 + nt * 8 + (lane % 4) * 2 + e;
          s[nt][e] = (tok <= lim0) ? s[nt][e] * a.scale_log2 : -INFINITY;
          s[nt][2 + e] = (tok <= lim1) ? s[nt][2 + e] * a.scale_log2 : -INFINITY;
          mx0 = fmaxf(mx0, s[nt][e]);
          mx1 = fmaxf(mx1, s[nt][2 + e]);
        }
      }
      mx0 = quad_max(mx0);
      mx1 = quad_max(mx1);
      if ((lane & 3) == 0) { sMax[wc * kTileM + row0] = mx0; sMax[wc * kTileM + row1] = mx1; }
      bar_pair(1 + wr);
      mx0 = fmaxf(mx0, sMax[(1 - wc) * kTileM + row0]);
      mx1 = fmaxf(mx1, sMax[(1 - wc) * kTileM + row1]);
      float mu0, mu1;
      const float al0 = move_max(m_run0, fmaxf(m_run0, mx0), mu0), al1 = move_max(m_run1, fmaxf(m_run1, mx1), mu1);

      // ---- P = exp2(S - m), partial row sums, P -> smem ----
      float ps0 = 0.f, ps1 = 0.f;
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
        const float p0 = exp2f(s[nt][0] - mu0), p1 = exp2f(s[nt][1] - mu0);
        const float p2 = exp2f(s[nt][2] - mu1), p3 = exp2f(s[nt][3] - mu1);
        ps0 += p0 + p1;
        ps1 += p2 + p3;
        // the same write as store_p_pair (tile_common.cuh), spelled in elements: with the helper ptxas
        // spills 224 B here instead of 24 B (register pressure at 255 in this rung)
        const int chunk = wc * 4 + nt;
        const int within = (lane % 4) * 2;
        *reinterpret_cast<uint32_t*>(sP + (row0 * 64 + ((chunk ^ (row0 & 7)) * 8) + within) * 2) = Pack<T>::pack(p0, p1);
        *reinterpret_cast<uint32_t*>(sP + (row1 * 64 + ((chunk ^ (row1 & 7)) * 8) + within) * 2) = Pack<T>::pack(p2, p3);
      }
      l_run0 = l_run0 * al0 + ps0;
      l_run1 = l_run1 * al1 + ps1;
#pragma unroll
      for (int i = 0; i < 32; ++i) {
        acc[i][0] *= al0; acc[i][1] *= al0;
        acc[i][2] *= al1; acc[i][3] *= al1;
      }
      bar_pair(1 + wr);

      // ---- O += P V : 16 rows x 256 columns per warp ----
#pragma unroll
      for (int ks = 0; ks < kPage / 16; ++ks) {
        uint32_t a0, a1, a2, a3;
        {
          const int chunk = 2 * ks + a_chk;
          ldsm_x4(sPu + (uint32_t)((a_row * 8 + (chunk ^ (a_row & 7))) * 16), a0, a1, a2, a3);
        }
        const int key = ks * 16 + v_key;
#pragma unroll
        for (int np = 0; np < 16; ++np) {
          uint32_t b0, b1, b2, b3;
          ldsm_x4_t(sK + swz(key, v_chk + np * 2), b0, b1, b2, b3);
          Mma<T>::run(acc[2 * np], a0, a1, a2, a3, b0, b1);
          Mma<T>::run(acc[2 * np + 1], a0, a1, a2, a3, b2, b3);
        }
      }
      __syncthreads();  // page buffer, sP and sMax are reused next iteration
    }

    // ---- epilogue ----
    l_run0 = quad_sum(l_run0);
    l_run1 = quad_sum(l_run1);
    if ((lane & 3) == 0) { sSum[wc * kTileM + row0] = l_run0; sSum[wc * kTileM + row1] = l_run1; }
    bar_pair(1 + wr);
    const float l0 = l_run0 + sSum[(1 - wc) * kTileM + row0];
    const float l1 = l_run1 + sSum[(1 - wc) * kTileM + row1];
    const float inv0 = (l0 > 0.f) ? 1.f / l0 : 0.f, inv1 = (l1 > 0.f) ? 1.f / l1 : 0.f;
    const int m0 = tile * kTileM + row0, m1 = tile * kTileM + row1;
#pragma unroll
    for (int nt = 0; nt < 32; ++nt) {
      const int col = wc * 256 + nt * 8 + (lane % 4) * 2;
      if (m0 < a.rows) store_out_pair<T>(a, pc, kvh, m0, col, acc[nt][0] * inv0, acc[nt][1] * inv0);
      if (m1 < a.rows) store_out_pair<T>(a, pc, kvh, m1, col, acc[nt][2] * inv1, acc[nt][3] * inv1);
    }
    if (wc == 0 && (lane & 3) == 0) {
      if (m0 < a.rows) store_lse(a, pc, kvh, m0, m_run0, l0);
      if (m1 < a.rows) store_lse(a, pc, kvh, m1, m_run1, l1);
    }
    __syncthreads();  // sSum / sQ reuse by the next request
  }
}

cudaError_t launch_decode_v2(const DecodeArgs& a, int dtype, int tiles, cudaStream_t st) {
  return launch_by_dtype(decode_v2_kernel<__nv_bfloat16>, decode_v2_kernel<__half>, kV2Threads, kV2Smem, a, dtype, tiles,
                         st);
}

}  // namespace mla
