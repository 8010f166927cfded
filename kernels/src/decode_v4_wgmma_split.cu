// decode_v4_wgmma_split.cu -- v4 "wgmma_split": v3 without the duplicated S.
//
// Adds over v3:
//  - The two warpgroups split the 64 keys of a page for S = Q K^T (WG w takes
//    keys 32w..32w+31, m64n32k16) instead of both computing all 64: half the
//    S tensor work and 3/4 of v3's shared-memory operand traffic for S.
//  - Each warpgroup runs two independent accumulator chains for S (even and
//    odd k-steps, summed at the end), so four wgmma chains of depth 18 are in
//    flight instead of two of depth 36 (small-N wgmma chains are latency-bound).
//  - Row maxima and the row sums are exchanged between the warpgroups through
//    shared memory; P (16-bit, 64x64) is written to one 128-byte-swizzled 8 KB
//    slab and read back by both warpgroups as the K-major A operand of P V
//    (SS wgmma), with fence.proxy.async between the stores and the wgmma.
//  - Page-load address arithmetic is incremental (no div/mod per chunk).
// smem: Q 72 KB + 2 pages 144 KB + P 8 KB + 1 KB reductions + 1 KB alignment.
#include "tile_common.cuh"

namespace mla {
namespace {

constexpr int kThreads = 256;
constexpr int kTile = (kDK / 64) * kSlab;    // 73728
constexpr size_t kSmem = 3ull * kTile + kSlab + 2 * 2 * kTileM * 4 + 1024;
static_assert(kThreads == 256, "load_kv_page_256 strides by 256 chunks");

template <typename T> struct Op;
template <> struct Op<__nv_bfloat16> {
  // S: D(64x32) += A(smem K-major) B(smem K-major)
  static __device__ __forceinline__ void s32(float* d, uint64_t da, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 " MLA_L16 ", %16, %17, p, 1, 1, 0, 0;\n}\n"
                 : MLA_D16(d) : "l"(da), "l"(db), "r"(1));
  }
  // PV: D(64x64) += A(smem K-major) B(smem MN-major)
  static __device__ __forceinline__ void pv(float* d, uint64_t da, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " MLA_L32 ", %32, %33, p, 1, 1, 0, 1;\n}\n"
                 : MLA_D32(d) : "l"(da), "l"(db), "r"(1));
  }
};
template <> struct Op<__half> {
  static __device__ __forceinline__ void s32(float* d, uint64_t da, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 " MLA_L16 ", %16, %17, p, 1, 1, 0, 0;\n}\n"
                 : MLA_D16(d) : "l"(da), "l"(db), "r"(1));
  }
  static __device__ __forceinline__ void pv(float* d, uint64_t da, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " MLA_L32 ", %32, %33, p, 1, 1, 0, 1;\n}\n"
                 : MLA_D32(d) : "l"(da), "l"(db), "r"(1));
  }
};

template <typename T>
__global__ void __launch_bounds__(kThreads, 1) decode_v4_kernel(DecodeArgs a) {
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  const uint32_t raw = (uint32_t)__cvta_generic_to_shared(smem_raw);
  const uint32_t base = (raw + 1023u) & ~1023u;
  unsigned char* gbase = smem_raw + (base - raw);
  const uint32_t sQ = base, sKV0 = base + kTile, sP = base + 3 * kTile;
  unsigned char* pP = gbase + 3 * kTile;
  float* sMax = reinterpret_cast<float*>(gbase + 3 * kTile + kSlab);  // [2][64]
  float* sSum = sMax + 2 * kTileM;                                    // [2][64]

  const int part = blockIdx.x, kvh = blockIdx.y, tile = blockIdx.z;
  const int tid = threadIdx.x, lane = tid % 32;
  const int wg = tid / 128, wwarp = (tid % 128) / 32;
  const int32_t* sc = a.sched + (int64_t)part * kSchedInts;
  if (sc[5] == 0) return;
  const int begin_req = sc[0], begin_blk = sc[1], end_req = sc[2], end_blk = sc[3], begin_slot = sc[4];
  const T* q = reinterpret_cast<const T*>(a.q);
  const T* kv = reinterpret_cast<const T*>(a.kv);
  const int row0 = wwarp * 16 + lane / 4, row1 = row0 + 8;
  const int ld_row0 = tid / 72, ld_ch0 = tid % 72;  // i = tid + 256 k, 256 = 3*72 + 40

  for (int req = begin_req; req <= end_req; ++req) {
    const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
    const int cnt = pc.blk_end - pc.blk_begin;
    const int64_t bt_row = (int64_t)req * a.bt_sb;
    const T* kv_head = kv + (int64_t)kvh * a.kv_sh;

    auto load_page = [&](int blk, uint32_t dst) {
      const int page = a.block_table[bt_row + blk];
      const T* pbase = kv_head + (int64_t)page * a.kv_sb;
      const int valid_rows = pc.len - blk * kPage;  // rows >= this are zero-filled
      load_kv_page_256<T>(a, kv, pbase, valid_rows, ld_row0, ld_ch0, dst);
    };

    if (cnt > 0) start_piece_cp_async<T, kThreads>(a, q, req, kvh, tile, tid, sQ, pc.blk_begin, sKV0, load_page);

    const int lim0 = row_limit(a, pc.len, tile * kTileM + row0);
    const int lim1 = row_limit(a, pc.len, tile * kTileM + row1);
    float m_run0 = -INFINITY, m_run1 = -INFINITY, l_run0 = 0.f, l_run1 = 0.f;
    float acc[4][32];
    zero(acc);

    for (int n = 0; n < cnt; ++n) {
      const int blk = pc.blk_begin + n;
      const uint32_t sK = sKV0 + (n & 1) * kTile;
      await_page_cp_async(n, cnt, blk, sKV0 + ((n + 1) & 1) * kTile, load_page);

      // ---- S(64 x 32 keys of this warpgroup), two accumulator chains ----
      float sa[16], sb[16];
#pragma unroll
      for (int i = 0; i < 16; ++i) { sa[i] = 0.f; sb[i] = 0.f; }
      keep(sa); keep(sb);
      wgmma_fence();
      const uint32_t kofs = wg * 32 * 128;  // key rows 32*wg.. inside each slab (1024-aligned)
#pragma unroll
      for (int ks = 0; ks < kDK / 16; ks += 2) {
        const uint32_t o0 = (ks >> 2) * kSlab + (ks & 3) * 32;
        const uint32_t o1 = ((ks + 1) >> 2) * kSlab + ((ks + 1) & 3) * 32;
        Op<T>::s32(sa, desc128(sQ + o0, 16, 1024), desc128(sK + kofs + o0, 16, 1024));
        Op<T>::s32(sb, desc128(sQ + o1, 16, 1024), desc128(sK + kofs + o1, 16, 1024));
      }
      wgmma_commit();
      wgmma_wait<0>();
      keep(sa); keep(sb);

      // ---- scale, mask, row max (exchanged between warpgroups) ----
#pragma unroll
      for (int k = 0; k < 16; ++k) sa[k] += sb[k];  // the two chains' halves of the k range
      float mx0, mx1;
      scale_mask_half_page(a, sa, blk * kPage + wg * 32, lane, lim0, lim1, mx0, mx1);
      float mu0, mu1, al0, al1;
      exchange_row_max(sMax, wg, lane, row0, row1, mx0, mx1, m_run0, m_run1, mu0, mu1, al0, al1, [] { __syncthreads(); });

      // ---- P -> swizzled smem slab [64 rows][64 keys] ----
      float ps0, ps1;
      store_half_page_p<T>(sa, mu0, mu1, pP, wg, lane, row0, row1, ps0, ps1);
      l_run0 = l_run0 * al0 + ps0;
      l_run1 = l_run1 * al1 + ps1;
#pragma unroll
      for (int c = 0; c < 4; ++c)
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          acc[c][4 * j + 0] *= al0; acc[c][4 * j + 1] *= al0;
          acc[c][4 * j + 2] *= al1; acc[c][4 * j + 3] *= al1;
        }
      fence_async_smem();
      __syncthreads();

      // ---- O(64 x 256 of this warpgroup) += P V ----
#pragma unroll
      for (int c = 0; c < 4; ++c) keep(acc[c]);
      wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < kPage / 16; ++ks) {
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          const uint32_t voff = (4 * wg + c) * kSlab + ks * 16 * 128;
          Op<T>::pv(acc[c], desc128(sP + ks * 32, 16, 1024), desc128(sK + voff, kSlab, 1024));
        }
      }
      wgmma_commit();
      wgmma_wait<0>();
#pragma unroll
      for (int c = 0; c < 4; ++c) keep(acc[c]);
      __syncthreads();  // page buffer, P slab and sMax are reused next page
    }

    // ---- epilogue: row sums of both warpgroups ----
    l_run0 = quad_sum(l_run0);
    l_run1 = quad_sum(l_run1);
    if ((lane & 3) == 0) { sSum[wg * kTileM + row0] = l_run0; sSum[wg * kTileM + row1] = l_run1; }
    __syncthreads();
    const float l0 = l_run0 + sSum[(1 - wg) * kTileM + row0];
    const float l1 = l_run1 + sSum[(1 - wg) * kTileM + row1];
    store_rows_4x64<T>(a, pc, kvh, tile, wg, lane, row0, row1, acc, l0, l1, m_run0, m_run1);
    __syncthreads();  // sSum / sQ reuse by the next request
  }
}

}  // namespace

cudaError_t launch_decode_v4(const DecodeArgs& a, int dtype, int tiles, cudaStream_t st) {
  return launch_by_dtype(decode_v4_kernel<__nv_bfloat16>, decode_v4_kernel<__half>, kThreads, kSmem, a, dtype, tiles, st);
}

}  // namespace mla
