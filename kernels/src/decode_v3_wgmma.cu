// decode_v3_wgmma.cu -- v3 "wgmma": Hopper warpgroup MMA.
//
// Adds over v2:
//  - Tensor-core work issued with wgmma.mma_async (sm_90a) by 2 warpgroups
//    instead of per-warp mma.sync, operands read straight from shared memory
//    through matrix descriptors (no ldmatrix / register staging for Q, K, V).
//  - Shared memory uses the hardware's 128-byte swizzle: every 576-wide row
//    is cut into 9 column blocks of 64 elements (128 B); block kb of a tile is
//    a [64 rows][128 B] slab at kb*8 KB whose 16-byte chunk c of row r sits at
//    chunk c ^ (r & 7) (slabs 1024-byte aligned). The same slab layout serves
//    K as a K-major B operand (S = Q K^T) and V as an MN-major B operand
//    (O = P V, transposed descriptor), so one cp.async'd page feeds both.
//  - Each warpgroup computes the full 64x64 S = Q K^T (m64n64k16, 36 steps),
//    so the softmax needs only quad shuffles (no shared-memory exchange), then
//    converts P to 16-bit A fragments in registers and issues P V for its
//    own 256 output columns (m64n64k16 with A from registers, 4x4 steps).
//    The duplicated S (576/1088 of the FLOPs) buys freedom from all
//    inter-warpgroup communication inside a page.
//  - cp.async double buffering and the split-KV / masking / epilogue logic are
//    as in v2; a fence.proxy.async makes cp.async data visible to wgmma.
#include "tile_common.cuh"

namespace mla {

constexpr int kV3Threads = 256;
constexpr int kV3Tile = (kDK / 64) * kSlab;  // 73728
constexpr size_t kV3Smem = 3ull * kV3Tile + 1024 /*alignment slack*/ + 2 * kTileM * 4;

template <typename T> struct Wg;
template <> struct Wg<__nv_bfloat16> {
  // D(64x64) += A(smem, K-major) * B(smem, K-major)
  static __device__ __forceinline__ void ss(float* d, uint64_t da, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " MLA_L32 ", %32, %33, p, 1, 1, 0, 0;\n}\n"
                 : MLA_D32(d) : "l"(da), "l"(db), "r"(1));
  }
  // D(64x64) += A(registers) * B(smem, MN-major)
  static __device__ __forceinline__ void rs(float* d, const uint32_t* a, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " MLA_L32 ", {%32,%33,%34,%35}, %36, p, 1, 1, 1;\n}\n"
                 : MLA_D32(d) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
  }
};
template <> struct Wg<__half> {
  static __device__ __forceinline__ void ss(float* d, uint64_t da, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " MLA_L32 ", %32, %33, p, 1, 1, 0, 0;\n}\n"
                 : MLA_D32(d) : "l"(da), "l"(db), "r"(1));
  }
  static __device__ __forceinline__ void rs(float* d, const uint32_t* a, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " MLA_L32 ", {%32,%33,%34,%35}, %36, p, 1, 1, 1;\n}\n"
                 : MLA_D32(d) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
  }
};

template <typename T>
__global__ void __launch_bounds__(kV3Threads, 1) decode_v3_kernel(DecodeArgs a) {
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  const uint32_t raw = (uint32_t)__cvta_generic_to_shared(smem_raw);
  const uint32_t base = (raw + 1023u) & ~1023u;
  const uint32_t sQ = base;
  const uint32_t sKV0 = base + kV3Tile;

  const int part = blockIdx.x, kvh = blockIdx.y, tile = blockIdx.z;
  const int tid = threadIdx.x, lane = tid % 32;
  const int wg = tid / 128, wwarp = (tid % 128) / 32;
  const int32_t* sc = a.sched + (int64_t)part * kSchedInts;
  if (sc[5] == 0) return;
  const int begin_req = sc[0], begin_blk = sc[1], end_req = sc[2], end_blk = sc[3], begin_slot = sc[4];
  const T* q = reinterpret_cast<const T*>(a.q);
  const T* kv = reinterpret_cast<const T*>(a.kv);
  const int row0 = wwarp * 16 + lane / 4, row1 = row0 + 8;

  for (int req = begin_req; req <= end_req; ++req) {
    const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
    const int cnt = pc.blk_end - pc.blk_begin;
    const int64_t bt_row = (int64_t)req * a.bt_sb;
    const T* kv_head = kv + (int64_t)kvh * a.kv_sh;

    auto load_page = [&](int blk, uint32_t dst) {
      const int page = a.block_table[bt_row + blk];
      const T* pbase = kv_head + (int64_t)page * a.kv_sb;
      load_kv_page<T, kV3Threads>(a, kv, pbase, blk, pc.len, tid, [&](int row, int ch) { return dst + sw128(row, ch); });
    };

    if (cnt > 0) start_piece_cp_async<T, kV3Threads>(a, q, req, kvh, tile, tid, sQ, pc.blk_begin, sKV0, load_page);

    const int lim0 = row_limit(a, pc.len, tile * kTileM + row0);
    const int lim1 = row_limit(a, pc.len, tile * kTileM + row1);
    float m_run0 = -INFINITY, m_run1 = -INFINITY, l_run0 = 0.f, l_run1 = 0.f;
    float acc[4][32];
    zero(acc);

    for (int n = 0; n < cnt; ++n) {
      const int blk = pc.blk_begin + n;
      const uint32_t sK = sKV0 + (n & 1) * kV3Tile;
      await_page_cp_async(n, cnt, blk, sKV0 + ((n + 1) & 1) * kV3Tile, load_page);

      // ---- S = Q K^T (64 x 64), full tile in each warpgroup ----
      float s[32];
#pragma unroll
      for (int i = 0; i < 32; ++i) s[i] = 0.f;
      keep(s);
      wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < kDK / 16; ++ks) {
        const uint32_t off = (ks >> 2) * kSlab + (ks & 3) * 32;
        Wg<T>::ss(s, desc128(sQ + off, 16, 1024), desc128(sK + off, 16, 1024));
      }
      wgmma_commit();
      wgmma_wait<0>();
      keep(s);

      // ---- scale, mask, online softmax (rows row0 / row1, quad-shared) ----
      float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int tok = blk * kPage + j * 8 + (lane % 4) * 2 + e;
          s[4 * j + e] = (tok <= lim0) ? s[4 * j + e] * a.scale_log2 : -INFINITY;
          s[4 * j + 2 + e] = (tok <= lim1) ? s[4 * j + 2 + e] * a.scale_log2 : -INFINITY;
          mx0 = fmaxf(mx0, s[4 * j + e]);
          mx1 = fmaxf(mx1, s[4 * j + 2 + e]);
        }
      }
      mx0 = quad_max(mx0);
      mx1 = quad_max(mx1);
      float mu0, mu1;
      const float al0 = move_max(m_run0, fmaxf(m_run0, mx0), mu0), al1 = move_max(m_run1, fmaxf(m_run1, mx1), mu1);
      uint32_t pa[4][4];
      float ps0 = 0.f, ps1 = 0.f;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const float p0 = exp2f(s[4 * j + 0] - mu0), p1 = exp2f(s[4 * j + 1] - mu0);
        const float p2 = exp2f(s[4 * j + 2] - mu1), p3 = exp2f(s[4 * j + 3] - mu1);
        ps0 += p0 + p1;
        ps1 += p2 + p3;
        // A fragment of k-step j/2: regs {row0 k, row1 k, row0 k+8, row1 k+8}
        pa[j >> 1][(j & 1) * 2 + 0] = Pack<T>::pack(p0, p1);
        pa[j >> 1][(j & 1) * 2 + 1] = Pack<T>::pack(p2, p3);
      }
      l_run0 = l_run0 * al0 + ps0;
      l_run1 = l_run1 * al1 + ps1;
#pragma unroll
      for (int c = 0; c < 4; ++c)
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          acc[c][4 * j + 0] *= al0; acc[c][4 * j + 1] *= al0;
          acc[c][4 * j + 2] *= al1; acc[c][4 * j + 3] *= al1;
        }

      // ---- O(64 x 256 of this warpgroup) += P V ----
#pragma unroll
      for (int c = 0; c < 4; ++c) keep(acc[c]);
      wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < kPage / 16; ++ks) {
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          const uint32_t off = (4 * wg + c) * kSlab + ks * 16 * 128;
          Wg<T>::rs(acc[c], pa[ks], desc128(sK + off, kSlab, 1024));
        }
      }
      wgmma_commit();
      wgmma_wait<0>();
#pragma unroll
      for (int c = 0; c < 4; ++c) keep(acc[c]);
      __syncthreads();  // page buffer reused by the next prefetch
    }

    // ---- epilogue ----
    l_run0 = quad_sum(l_run0);
    l_run1 = quad_sum(l_run1);
    store_rows_4x64<T>(a, pc, kvh, tile, wg, lane, row0, row1, acc, l_run0, l_run1, m_run0, m_run1);
    __syncthreads();  // sQ reuse by the next request
  }
}

cudaError_t launch_decode_v3(const DecodeArgs& a, int dtype, int tiles, cudaStream_t st) {
  return launch_by_dtype(decode_v3_kernel<__nv_bfloat16>, decode_v3_kernel<__half>, kV3Threads, kV3Smem, a, dtype, tiles, st);
}

}  // namespace mla
