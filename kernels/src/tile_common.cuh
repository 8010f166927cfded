// tile_common.cuh -- tile-level pieces shared by the decode kernels (not part of
// the ABI): the per-request piece of a partition, the 128-byte-swizzled smem
// layout of the wgmma rungs, the Q-tile load, quad reductions of mma/wgmma C
// fragments and the plain launcher. All device helpers are __forceinline__.
#pragma once
#include "common.cuh"
#include "hopper_ptx.cuh"

namespace mla {

// The piece of request `req` that a partition [begin_req/begin_blk, end_req/end_blk)
// handles (see the metadata format in mla.h).
__device__ __forceinline__ Piece make_piece(const DecodeArgs& a, int req, int begin_req, int begin_blk, int end_req,
                                            int end_blk, int begin_slot) {
  Piece pc;
  pc.req = req;
  pc.len = clamp_len(a.seqlens[req], a.max_blocks);
  const int nb = (pc.len + kPage - 1) / kPage;
  pc.blk_begin = (req == begin_req) ? begin_blk : 0;
  pc.blk_end = (req == end_req) ? end_blk : nb;
  pc.split = (a.nsplits[req + 1] - a.nsplits[req]) > 1;
  pc.slot = (req == begin_req) ? begin_slot : a.nsplits[req];
  return pc;
}

// ---- 128-byte-swizzled tiles (v3..v6) ----
// A 576-wide row is cut into 9 column blocks of 64 elements (128 B); block kb of
// a 64-row tile is a [64 rows][128 B] slab at kb * kSlab whose 16-byte chunk c
// of row r sits at chunk c ^ (r & 7) (the wgmma / TMA 128-byte swizzle).
constexpr int kSlab = kTileM * 128;  // 8 KB: 64 rows x 64 columns x 2 bytes

__device__ __forceinline__ uint32_t sw128(int row, int chunk /*0..71*/) {
  return (uint32_t)((chunk >> 3) * kSlab + row * 128 + (((chunk & 7) ^ (row & 7)) << 4));
}

// Start of query row m (< a.rows) of kv head kvh of request req: row m is
// query position m / G, head kvh * G + m % G.
template <typename T>
__device__ __forceinline__ const T* q_row(const DecodeArgs& a, const T* q, int req, int kvh, int m) {
  const int s_idx = m / a.G, head = kvh * a.G + m % a.G;
  return q + (int64_t)req * a.q_sb + (int64_t)s_idx * a.q_ss + (int64_t)head * a.q_sh;
}

// Q tile (64 rows, the first CH 16-byte chunks of each 576-element row of
// q = a.q; rows >= a.rows zero-filled) of request req, kv head kvh, row tile
// `tile` -> smem by cp.async, NT threads (thread index tid) striding over the
// chunks; dst(row, chunk) is the smem address of a chunk. The caller commits and waits.
template <typename T, int NT, int CH = 72, typename Dst>
__device__ __forceinline__ void load_q_tile(const DecodeArgs& a, const T* q, int req, int kvh, int tile, int tid,
                                            Dst dst) {
  for (int i = tid; i < kTileM * CH; i += NT) {
    int row = i / CH, ch = i % CH;
    int m = tile * kTileM + row;
    bool valid = m < a.rows;
    const T* src = valid ? q_row(a, q, req, kvh, m) + ch * 8 : q;
    cp_async16(dst(row, ch), src, valid);
  }
}

// One 64-token KV page (all 576 columns of kv head pbase of the page) -> smem by
// cp.async, NT threads striding over the 16-byte chunks; tokens >= len (row r
// is token blk * kPage + r) are zero-filled and never read (src = kv).
template <typename T, int NT, typename Dst>
__device__ __forceinline__ void load_kv_page(const DecodeArgs& a, const T* kv, const T* pbase, int blk, int len, int tid,
                                             Dst dst) {
#pragma unroll 2
  for (int i = tid; i < kPage * 72; i += NT) {
    int row = i / 72, ch = i % 72;
    bool valid = blk * kPage + row < len;
    const T* src = valid ? pbase + (int64_t)row * a.kv_st + ch * 8 : kv;
    cp_async16(dst(row, ch), src, valid);
  }
}

// The same with 256 threads and incremental addressing (no div/mod per chunk):
// thread tid starts at row tid / 72, chunk tid % 72 and advances by 256 chunks
// (= 3 rows + 40 chunks) per step; rows >= valid_rows are zero-filled.
template <typename T>
__device__ __forceinline__ void load_kv_page_256(const DecodeArgs& a, const T* kv, const T* pbase, int valid_rows,
                                                 int ld_row0, int ld_ch0, uint32_t dst) {
  int row = ld_row0, ch = ld_ch0;
#pragma unroll 3
  for (int k = 0; k < kPage * 72 / 256; ++k) {
    const bool valid = row < valid_rows;
    const T* src = valid ? pbase + (int64_t)row * a.kv_st + ch * 8 : kv;
    cp_async16(dst + sw128(row, ch), src, valid);
    ch += 40; row += 3;
    if (ch >= 72) { ch -= 72; row += 1; }
  }
}

// ---- C-fragment rows (mma.sync / wgmma: a quad of 4 lanes shares a row) ----
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
  return x;
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  x += __shfl_xor_sync(0xffffffffu, x, 2);
  return x;
}

// Online-softmax rescale of a warpgroup's 64 x 256 fp32 O fragment (m64n256
// C layout: registers 4j, 4j+1 belong to row r0, 4j+2, 4j+3 to row r1).
__device__ __forceinline__ void scale_rows_128(float (&acc)[128], float f0, float f1) {
#pragma unroll
  for (int j = 0; j < 32; ++j) {
    acc[4 * j + 0] *= f0; acc[4 * j + 1] *= f0;
    acc[4 * j + 2] *= f1; acc[4 * j + 3] *= f1;
  }
}

// Epilogue of the kernels whose two consumer warpgroups each hold 256 of the
// 512 output columns for all 64 rows of the tile (v5-v7): add the two
// warpgroups' row sums through sSum[2][64], normalise and store O, and (one
// warpgroup) the lse; m_run0/m_run1 are the final row maxima, the same in both.
// Ends with a consumer barrier: sSum and the tile's smem may be reused after it.
template <typename T>
__device__ __forceinline__ void epilogue_two_wg(const DecodeArgs& a, const Piece& pc, int kvh, int tile, int wg,
                                                int lane, int row0, int row1, const float (&acc)[128], float l_run0,
                                                float l_run1, float m_run0, float m_run1, float* sSum) {
  l_run0 = quad_sum(l_run0);
  l_run1 = quad_sum(l_run1);
  if ((lane & 3) == 0) { sSum[wg * kTileM + row0] = l_run0; sSum[wg * kTileM + row1] = l_run1; }
  bar_consumers();
  const float l0 = l_run0 + sSum[(1 - wg) * kTileM + row0];
  const float l1 = l_run1 + sSum[(1 - wg) * kTileM + row1];
  const float inv0 = (l0 > 0.f) ? 1.f / l0 : 0.f, inv1 = (l1 > 0.f) ? 1.f / l1 : 0.f;
  const int m0 = tile * kTileM + row0, m1 = tile * kTileM + row1;
#pragma unroll
  for (int j = 0; j < 32; ++j) {
    const int col = wg * 256 + j * 8 + (lane % 4) * 2;
    if (m0 < a.rows) store_out_pair<T>(a, pc, kvh, m0, col, acc[4 * j + 0] * inv0, acc[4 * j + 1] * inv0);
    if (m1 < a.rows) store_out_pair<T>(a, pc, kvh, m1, col, acc[4 * j + 2] * inv1, acc[4 * j + 3] * inv1);
  }
  if (wg == 0 && (lane & 3) == 0) {
    if (m0 < a.rows) store_lse(a, pc, kvh, m0, m_run0, l0);
    if (m1 < a.rows) store_lse(a, pc, kvh, m1, m_run1, l1);
  }
  bar_consumers();
}

// Host: launch of a decode kernel templated on the element type only (v1..v4):
// grid (partitions, kv heads, row tiles), `smem` bytes of dynamic shared memory.
inline cudaError_t launch_by_dtype(void (*kernel_bf16)(DecodeArgs), void (*kernel_f16)(DecodeArgs), int threads,
                                   size_t smem, const DecodeArgs& a, int dtype, int tiles, cudaStream_t st) {
  dim3 grid(a.num_parts, a.h_kv, tiles);
  void (*kernel)(DecodeArgs) = (dtype == 0) ? kernel_bf16 : kernel_f16;
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  if (e != cudaSuccess) return e;
  kernel<<<grid, threads, smem, st>>>(a);
  return cudaGetLastError();
}

}  // namespace mla
