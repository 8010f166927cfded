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
// Each thread divides by G once: its chunk i = row * CH + ch advances by NT, i.e.
// by NT / CH rows and NT % CH chunks, and the row's (query position, head) pair
// (s_idx, h) follows incrementally (a division per chunk was 8% of v9's
// instructions at s_k=1024).
template <typename T, int NT, int CH = 72, typename Dst>
__device__ __forceinline__ void load_q_tile(const DecodeArgs& a, const T* q, int req, int kvh, int tile, int tid,
                                            Dst dst) {
  constexpr int kRowStep = NT / CH, kChStep = NT % CH;
  int row = tid / CH, ch = tid % CH;
  int m = tile * kTileM + row;
  int s_idx = m / a.G, h = m % a.G;
  const T* q_req = q + (int64_t)req * a.q_sb + (int64_t)kvh * a.G * a.q_sh;
  while (row < kTileM) {
    const bool valid = m < a.rows;
    const T* src = valid ? q_req + s_idx * a.q_ss + h * a.q_sh + ch * 8 : q;
    cp_async16(dst(row, ch), src, valid);
    int adv = kRowStep;
    ch += kChStep;
    if (kChStep != 0 && ch >= CH) {
      ch -= CH;
      ++adv;
    }
    row += adv;
    m += adv;
    for (h += adv; h >= a.G; h -= a.G) ++s_idx;
  }
}

// The page-staged kernels' (v5..v10) Q tile of a request piece: load_q_tile
// into the 128-byte-swizzled tile at sQ, then every consumer waits for it;
// meanwhile() runs between issuing the copies and waiting for them (v7, v8-v10
// load Q's register fragments there).
struct NoWork {
  __device__ void operator()() const {}
};
template <typename T, int NT, int CH = 72, typename Meanwhile = NoWork>
__device__ __forceinline__ void load_q_tile_sync(const DecodeArgs& a, const T* q, int req, int kvh, int tile, int tid,
                                                 uint32_t sQ, Meanwhile meanwhile = Meanwhile()) {
  load_q_tile<T, NT, CH>(a, q, req, kvh, tile, tid, [&](int row, int ch) { return sQ + sw128(row, ch); });
  cp_async_commit();
  meanwhile();
  cp_async_wait<0>();
  fence_async_smem();
  bar_consumers();
}

// Q columns col0 .. col0+63 of the tile's rows row0 and row1 as the A fragments
// of 4 RS wgmma k-steps (per thread: columns 16kk + 2(lane%4) + {0,1} and the
// same + 8, two 16-bit values per register); rows >= a.rows give zeros.
template <typename T>
__device__ __forceinline__ void load_q_frags(const DecodeArgs& a, const T* q, int req, int kvh, int tile, int row0,
                                             int row1, int lane, int col0, uint32_t (&rq)[16]) {
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int m = tile * kTileM + (r ? row1 : row0);
    const uint32_t* src =
        (m < a.rows) ? reinterpret_cast<const uint32_t*>(q_row(a, q, req, kvh, m) + col0 + (lane % 4) * 2) : nullptr;
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      rq[4 * kk + r] = src ? src[kk * 8] : 0u;
      rq[4 * kk + 2 + r] = src ? src[kk * 8 + 4] : 0u;
    }
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

// The two-buffer cp.async page loop of v3 and v4 (all threads copy; load_page(blk,
// dst) issues one page's copies). start_piece_cp_async: a piece's Q tile and its
// first page, one commit group. await_page_cp_async: before page n (block blk)
// is used, the copies of page n+1 into next_dst go out, page n's are waited for,
// made visible to wgmma, and every thread meets.
template <typename T, int NT, typename LoadPage>
__device__ __forceinline__ void start_piece_cp_async(const DecodeArgs& a, const T* q, int req, int kvh, int tile,
                                                     int tid, uint32_t sQ, int first_blk, uint32_t first_dst,
                                                     LoadPage load_page) {
  load_q_tile<T, NT>(a, q, req, kvh, tile, tid, [&](int row, int ch) { return sQ + sw128(row, ch); });
  load_page(first_blk, first_dst);
  cp_async_commit();
}
template <typename LoadPage>
__device__ __forceinline__ void await_page_cp_async(int n, int cnt, int blk, uint32_t next_dst, LoadPage load_page) {
  if (n + 1 < cnt) {
    load_page(blk + 1, next_dst);
    cp_async_commit();
    cp_async_wait<1>();
  } else {
    cp_async_wait<0>();
  }
  fence_async_smem();
  __syncthreads();
}

// A partial last page in the page-staged TMA kernels (v5, v8-v10): the producer
// does not load it (it only arrives on the stage's first full barrier), so the
// 256 consumer threads (tid 0..255) copy its valid_rows rows into the stage at
// sK, zero-fill the rest, and meet, with the copy made visible to wgmma.
template <typename T>
__device__ __forceinline__ void load_partial_page_staged(const DecodeArgs& a, const T* kv, const T* kv_head,
                                                         int64_t bt_row, int blk, int valid_rows, int tid, uint32_t sK,
                                                         uint32_t full, uint32_t par, volatile int* s_abort) {
  mbar_wait(full, par, s_abort);  // the producer has handed this stage over
  const T* pbase = kv_head + (int64_t)a.block_table[bt_row + blk] * a.kv_sb;
  load_kv_page_256<T>(a, kv, pbase, valid_rows, tid / 72, tid % 72, sK);  // 256 = 3*72 + 40
  cp_async_commit();
  cp_async_wait<0>();
  fence_async_smem();
  bar_consumers();
}

// Kernel prologue of the page-staged TMA kernels (v5, v6, v8), thread 0: clears
// the watchdog flag, inits nfull full barriers (one arrival: the producer's
// expect_tx or, for a partial page, its plain arrive) and nempty empty barriers
// (one arrival per consumer warp), and makes them visible. The caller syncs the CTA.
__device__ __forceinline__ void init_page_barriers(volatile int* abort_flag, uint32_t barFull, int nfull,
                                                   uint32_t barEmpty, int nempty, int consumer_warps) {
  *abort_flag = 0;
  for (int i = 0; i < nfull; ++i) mbar_init(barFull + 8 * i, 1);
  for (int s = 0; s < nempty; ++s) mbar_init(barEmpty + 8 * s, consumer_warps);
  fence_mbarrier_init();
}

// The start of v5's and v6's CTAs: the barriers initialised by thread 0 and
// visible to all (the only CTA-wide barrier), then the combine kernel (a
// programmatic dependent) allowed to be scheduled; it waits for this grid
// itself (griddepcontrol.wait).
__device__ __forceinline__ void start_page_staged(int tid, volatile int* abort_flag, uint32_t barFull, int nfull,
                                                  uint32_t barEmpty, int nempty, int consumer_warps) {
  if (tid == 0) init_page_barriers(abort_flag, barFull, nfull, barEmpty, nempty, consumer_warps);
  __syncthreads();
  griddep_launch_dependents();
}

// ---- the TMA producer of the page-staged kernels (v5, v8-v10) ----
// Page sequence of a partition: request pieces begin_req..end_req in order, the
// pages of each piece in order; g counts them, and page g goes to stage g % 2.
// One thread walks it: waits until the stage is free (empty barrier, one
// arrival per consumer warp), then loads the page's 9 column slabs by TMA, slab
// c completing on full barrier [stage][c]. A partial last page (fewer than 64
// valid tokens) is not loaded: the producer only arrives on its 9 full
// barriers and the consumers load it with zero-filling cp.async (the ABI
// promises that no cache data of tokens >= seqlen is read).
// evict_first (v8-v10 where one row tile reads each page): the loads carry an
// evict-first L2 policy, since that data is read once.
// kCluster > 1 (v10): the kCluster CTAs of a cluster walk the same page
// sequence and share each page: the producer of rank r loads the slabs c with
// c % kCluster == r once from L2 and multicasts them to every CTA of the
// cluster. Each producer still arms all 9 full barriers of its own CTA (a
// partner's bytes may land first: the tx-count goes negative until then), and
// a stage is free only when the consumers of every CTA have handed it back
// (the empty barriers count the arrivals of all kCluster CTAs).
template <int kCluster = 1>
__device__ __forceinline__ void tma_page_producer(const DecodeArgs& a, const CUtensorMap* map, int kvh,
                                                  const int32_t* sc, uint32_t sKV, uint32_t page_bytes,
                                                  uint32_t barFull, uint32_t barEmpty, volatile int* abort,
                                                  bool evict_first = false) {
  constexpr int kSlabs = kDK / 64;
  const int begin_req = sc[0], begin_blk = sc[1], end_req = sc[2], end_blk = sc[3], begin_slot = sc[4];
  const uint64_t policy = evict_first ? l2_evict_first_policy() : 0;
  uint32_t g = 0;  // global page counter (same sequence as the consumers)
  for (int req = begin_req; req <= end_req; ++req) {
    const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
    const int64_t bt_row = (int64_t)req * a.bt_sb;
    for (int blk = pc.blk_begin; blk < pc.blk_end; ++blk, ++g) {
      const uint32_t stage = g & 1, round = g >> 1;
      const bool whole = pc.len - blk * kPage >= kPage;
      // the page's block-table entry is read before the wait for the stage, so
      // that its latency (an L2 round trip) overlaps the wait instead of
      // following it on the way from "stage free" to "page landed"
      const int page = whole ? a.block_table[bt_row + blk] : 0;
      mbar_wait(barEmpty + 8 * stage, (round & 1) ^ 1, abort);
      const uint32_t full = barFull + stage * kSlabs * 8;
      if (whole) {
        const uint32_t dst = sKV + stage * page_bytes;
#pragma unroll
        for (int c = 0; c < kSlabs; ++c) {
          mbar_expect_tx(full + 8 * c, kSlab);
          if (kCluster > 1) {
            if (c % kCluster == (int)cluster_ctarank())  // read again per page: 24 registers hold no more
              tma_load_4d_multicast(dst + c * kSlab, map, c * 64, kvh, 0, page, full + 8 * c, (1u << kCluster) - 1);
          } else if (evict_first) tma_load_4d_hint(dst + c * kSlab, map, c * 64, kvh, 0, page, full + 8 * c, policy);
          else tma_load_4d(dst + c * kSlab, map, c * 64, kvh, 0, page, full + 8 * c);
        }
      } else {
#pragma unroll
        for (int c = 0; c < kSlabs; ++c) mbar_arrive(full + 8 * c);
      }
    }
  }
}

// The lazy running max of v9 and v11: a row's max (log2 units) moves only when a
// page's row maximum passes it by more than this (P stays below 2^8).
constexpr float kLazyMax = 8.f;

// Zeroes an accumulator array (any shape of floats), fully unrolled.
template <int N>
__device__ __forceinline__ void zero(float (&x)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) x[i] = 0.f;
}
template <int M, int N>
__device__ __forceinline__ void zero(float (&x)[M][N]) {
#pragma unroll
  for (int c = 0; c < M; ++c) zero(x[c]);
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

// Online softmax, one row: the running max m_run moves to mn. Returns the factor
// that rescales what was accumulated against the old max, and sets mu, the max
// P is computed against (0 while the row has seen only masked keys, so that
// exp2(-inf - mu) is 0 rather than NaN).
__device__ __forceinline__ float move_max(float& m_run, float mn, float& mu) {
  mu = (mn == -INFINITY) ? 0.f : mn;
  const float al = exp2f(m_run - mu);
  m_run = mn;
  return al;
}

// P of a C-fragment key pair -> the 128-byte-swizzled P slab pP [64 rows][64 keys]:
// (p0, p1) to row0, (p2, p3) to row1, at 16-byte chunk `chunk` (8 keys) of the
// row and bytes 4 (lane % 4) within it, converted to T.
template <typename T>
__device__ __forceinline__ void store_p_pair(unsigned char* pP, int row0, int row1, int chunk, int lane, float p0,
                                             float p1, float p2, float p3) {
  const int within = (lane % 4) * 4;
  *reinterpret_cast<uint32_t*>(pP + row0 * 128 + ((chunk ^ (row0 & 7)) << 4) + within) = Pack<T>::pack(p0, p1);
  *reinterpret_cast<uint32_t*>(pP + row1 * 128 + ((chunk ^ (row1 & 7)) << 4) + within) = Pack<T>::pack(p2, p3);
}

// ---- whole-page P tiles (v7, v11): one warpgroup holds all 64 keys of a page ----
// C fragment of a 64x64 S tile -> A fragments of the 4 k-steps of P V.
template <typename T>
__device__ __forceinline__ void pack_p(const float (&p)[32], uint32_t (&pb)[16]) {
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    pb[2 * j + 0] = Pack<T>::pack(p[4 * j + 0], p[4 * j + 1]);  // row r0, keys 8j + 2q
    pb[2 * j + 1] = Pack<T>::pack(p[4 * j + 2], p[4 * j + 3]);  // row r1
  }
}

// P (as packed fragments) -> the swizzled [64 rows][64 keys] slab an SS wgmma reads.
__device__ __forceinline__ void store_p(unsigned char* slab, const uint32_t (&pb)[16], int row0, int row1, int lane) {
  const int within = (lane % 4) * 4;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    *reinterpret_cast<uint32_t*>(slab + row0 * 128 + ((j ^ (row0 & 7)) << 4) + within) = pb[2 * j + 0];
    *reinterpret_cast<uint32_t*>(slab + row1 * 128 + ((j ^ (row1 & 7)) << 4) + within) = pb[2 * j + 1];
  }
}

// O(64 x 256 of this warpgroup) += P V, P from registers (4 x m64n256k16 RS).
template <typename T>
__device__ __forceinline__ void pv_regs(float (&acc)[128], const uint32_t (&pb)[16], uint32_t sV) {
  wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < 4; ++ks) WgmmaWide<T>::pv_rs(acc, pb + 4 * ks, desc128(sV + ks * 16 * 128, kSlab, 1024));
  wgmma_commit();
}
// The same with P from a swizzled smem slab (SS).
template <typename T>
__device__ __forceinline__ void pv_smem(float (&acc)[128], uint32_t sP, uint32_t sV) {
  wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < 4; ++ks)
    WgmmaS32PV256<T>::pv(acc, desc128(sP + ks * 32, 16, 1024), desc128(sV + ks * 16 * 128, kSlab, 1024));
  wgmma_commit();
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

// The two halves of a page softmax that v4 and softmax_half_page share (two
// warpgroups, each holding 32 of the page's 64 keys for the same 64 rows):
// exchange_row_max: this warpgroup's row maxima (scaled, masked; reduced over
// the quad here) meet the other's through sMax[2][64] at sync(), and the running
// maxima move (al: the rescale of what was accumulated, mu: the max P is taken
// against); store_half_page_p: P = exp2(S - mu) of the warpgroup's 32 keys into
// the swizzled P slab pP, with the thread's row sums.
template <typename Sync>
__device__ __forceinline__ void exchange_row_max(float* sMax, int wg, int lane, int row0, int row1, float mx0, float mx1,
                                                 float& m_run0, float& m_run1, float& mu0, float& mu1, float& al0,
                                                 float& al1, Sync sync) {
  mx0 = quad_max(mx0);
  mx1 = quad_max(mx1);
  if ((lane & 3) == 0) { sMax[wg * kTileM + row0] = mx0; sMax[wg * kTileM + row1] = mx1; }
  sync();
  mx0 = fmaxf(mx0, sMax[(1 - wg) * kTileM + row0]);
  mx1 = fmaxf(mx1, sMax[(1 - wg) * kTileM + row1]);
  al0 = move_max(m_run0, fmaxf(m_run0, mx0), mu0);
  al1 = move_max(m_run1, fmaxf(m_run1, mx1), mu1);
}
template <typename T>
__device__ __forceinline__ void store_half_page_p(const float (&sa)[16], float mu0, float mu1, unsigned char* pP, int wg,
                                                  int lane, int row0, int row1, float& ps0, float& ps1) {
  ps0 = 0.f;
  ps1 = 0.f;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const float p0 = exp2f(sa[4 * j + 0] - mu0), p1 = exp2f(sa[4 * j + 1] - mu0);
    const float p2 = exp2f(sa[4 * j + 2] - mu1), p3 = exp2f(sa[4 * j + 3] - mu1);
    ps0 += p0 + p1;
    ps1 += p2 + p3;
    store_p_pair<T>(pP, row0, row1, wg * 4 + j, lane, p0, p1, p2, p3);  // keys 8 (wg * 4 + j) ..
  }
}

// The first step of a half-page softmax (v4-v6, v8): a warpgroup's raw S values
// sa over 32 keys from key0 on, in the m64n32 C layout described below, scaled
// to log2 units, keys beyond each row's limit masked to -inf; mx0 / mx1: the
// maxima of this thread's values of rows row0 / row1.
__device__ __forceinline__ void scale_mask_half_page(const DecodeArgs& a, float (&sa)[16], int key0, int lane,
                                                     int lim0, int lim1, float& mx0, float& mx1) {
  mx0 = -INFINITY;
  mx1 = -INFINITY;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int tok = key0 + j * 8 + (lane % 4) * 2 + e;
      const float v0 = (tok <= lim0) ? sa[4 * j + e] * a.scale_log2 : -INFINITY;
      const float v1 = (tok <= lim1) ? sa[4 * j + 2 + e] * a.scale_log2 : -INFINITY;
      sa[4 * j + e] = v0;
      sa[4 * j + 2 + e] = v1;
      mx0 = fmaxf(mx0, v0);
      mx1 = fmaxf(mx1, v1);
    }
  }
}

// Online softmax of one page in the kernels whose two consumer warpgroups own
// 32 of its 64 keys each (v5, v8). sa: this warpgroup's raw S values in the
// m64n32 C layout (register 4j+e: row0, 4j+2+e: row1, key wg*32 + 8j +
// 2(lane%4) + e of the page whose first token is tok0). Scales them to log2
// units, masks keys beyond each row's limit, exchanges the row maxima with the
// other warpgroup through sMax[2][64] (one consumer barrier: after it both
// warpgroups' P V of the previous page are complete, so the P slab is free),
// writes P = exp2(S - m) in T into the swizzled P slab pP [64 rows][64 keys],
// and updates the running max, the row sums and the O accumulator. The caller
// fences (generic -> async proxy) and syncs the consumers before its P V.
template <typename T>
__device__ __forceinline__ void softmax_half_page(const DecodeArgs& a, float (&sa)[16], int tok0, int wg, int lane,
                                                  int row0, int row1, int lim0, int lim1, float* sMax,
                                                  unsigned char* pP, float& m_run0, float& m_run1, float& l_run0,
                                                  float& l_run1, float (&acc)[128]) {
  // ---- scale, mask, row max (exchanged between warpgroups) ----
  float mx0, mx1;
  scale_mask_half_page(a, sa, tok0 + wg * 32, lane, lim0, lim1, mx0, mx1);
  // sync(): also, both warpgroups' PV(n-1) are complete -> the P slab is free
  float mu0, mu1, al0, al1;
  exchange_row_max(sMax, wg, lane, row0, row1, mx0, mx1, m_run0, m_run1, mu0, mu1, al0, al1, [] { bar_consumers(); });
  float ps0, ps1;
  store_half_page_p<T>(sa, mu0, mu1, pP, wg, lane, row0, row1, ps0, ps1);
  l_run0 = l_run0 * al0 + ps0;
  l_run1 = l_run1 * al1 + ps1;
  scale_rows_128(acc, al0, al1);
}

// The output rows of v3 and v4 (a warpgroup's 256 columns as 4 accumulators of 64):
// rows row0 and row1 of the tile normalised by the full row sums l0 / l1 and
// stored, and (warpgroup 0) their lse against the final row maxima.
template <typename T>
__device__ __forceinline__ void store_rows_4x64(const DecodeArgs& a, const Piece& pc, int kvh, int tile, int wg, int lane,
                                                int row0, int row1, const float (&acc)[4][32], float l0, float l1,
                                                float m_run0, float m_run1) {
  const float inv0 = (l0 > 0.f) ? 1.f / l0 : 0.f, inv1 = (l1 > 0.f) ? 1.f / l1 : 0.f;
  const int m0 = tile * kTileM + row0, m1 = tile * kTileM + row1;
  const bool ok0 = m0 < a.rows, ok1 = m1 < a.rows;
  char* const out0 = out_row<T>(a, pc, kvh, ok0 ? m0 : 0);
  char* const out1 = out_row<T>(a, pc, kvh, ok1 ? m1 : 0);
  with_split(pc.split, [&](auto split) {
    constexpr bool kSplit = decltype(split)::value;
#pragma unroll
    for (int c = 0; c < 4; ++c)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const int col = wg * 256 + c * 64 + j * 8 + (lane % 4) * 2;
        if (ok0) store_pair<T, kSplit>(out0, col, acc[c][4 * j + 0] * inv0, acc[c][4 * j + 1] * inv0);
        if (ok1) store_pair<T, kSplit>(out1, col, acc[c][4 * j + 2] * inv1, acc[c][4 * j + 3] * inv1);
      }
  });
  if (wg == 0 && (lane & 3) == 0) {
    if (m0 < a.rows) store_lse(a, pc, kvh, m0, m_run0, l0);
    if (m1 < a.rows) store_lse(a, pc, kvh, m1, m_run1, l1);
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
  // row0's stores, then row1's: row1's address is made once row0's 64 values are out of their registers
  with_split(pc.split, [&](auto split) {
    // row m's 32 pairs: acc[4j + e], acc[4j + e + 1] (e = 0 for row0, 2 for row1)
    auto store_row = [&](int m, int e, float inv) {
      if (m >= a.rows) return;
      char* const out = out_row<T>(a, pc, kvh, m);
#pragma unroll
      for (int j = 0; j < 32; ++j)
        store_pair<T, decltype(split)::value>(out, wg * 256 + j * 8 + (lane % 4) * 2, acc[4 * j + e] * inv, acc[4 * j + e + 1] * inv);
    };
    store_row(m0, 0, inv0);
    store_row(m1, 2, inv1);
  });
  if (wg == 0 && (lane & 3) == 0) {
    if (m0 < a.rows) store_lse(a, pc, kvh, m0, m_run0, l0);
    if (m1 < a.rows) store_lse(a, pc, kvh, m1, m_run1, l1);
  }
  bar_consumers();
}

// Host: the KV tensor map of the TMA rungs (v5..v11; boxes of box_tokens
// tokens x 64 columns). When the cache cannot be described by one (strides the
// TMA unit cannot encode), the launch fails with cudaErrorNotSupported, which
// mla_decode reports as MLA_ERR_UNSUPPORTED; the automatic choice
// (kernel_version 0) then runs v4 instead.
inline cudaError_t tma_kv_map(const DecodeArgs& a, int num_blocks, int box_tokens, CUtensorMap* map) {
  return make_kv_map(a, num_blocks, box_tokens, map) ? cudaSuccess : cudaErrorNotSupported;
}

// Host: the launch configuration of a grid in clusters of cluster_z CTAs along
// grid z (the attribute lives beside the configuration that points at it, so
// the pair is neither copied nor moved).
// pdl: also a programmatic dependent of the previous launch in the stream
// (the kernel must begin with griddep_wait() before it reads any input).
struct ClusterLaunch {
  cudaLaunchAttribute attr[2];
  cudaLaunchConfig_t cfg;
  ClusterLaunch(dim3 grid, int cluster_z, int threads, size_t smem, cudaStream_t st, bool pdl = false) : cfg() {
    attr[0].id = cudaLaunchAttributeClusterDimension;
    attr[0].val.clusterDim.x = 1;
    attr[0].val.clusterDim.y = 1;
    attr[0].val.clusterDim.z = cluster_z;
    attr[1].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[1].val.programmaticStreamSerializationAllowed = 1;
    cfg.gridDim = grid;
    cfg.blockDim = dim3(threads);
    cfg.dynamicSmemBytes = smem;
    cfg.stream = st;
    cfg.attrs = attr;
    cfg.numAttrs = pdl ? 2 : 1;
  }
  ClusterLaunch(const ClusterLaunch&) = delete;
  ClusterLaunch& operator=(const ClusterLaunch&) = delete;
};

// Host: launch of any decode kernel with `smem` bytes of dynamic shared memory
// (the opt-in limit is raised to that first), in clusters of cluster_z CTAs
// along grid z when cluster_z > 1 (grid.z a multiple of it); args are the
// kernel's arguments.
template <typename... P, typename... A>
cudaError_t launch_in_clusters_pdl(void (*kernel)(P...), dim3 grid, int cluster_z, bool pdl, int threads, size_t smem,
                                   cudaStream_t st, const A&... args) {
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  if (e != cudaSuccess) return e;
  if (cluster_z == 1 && !pdl) {
    kernel<<<grid, threads, smem, st>>>(args...);
    return cudaGetLastError();
  }
  const ClusterLaunch launch(grid, cluster_z, threads, smem, st, pdl);
  return cudaLaunchKernelEx(&launch.cfg, kernel, args...);
}
template <typename... P, typename... A>
cudaError_t launch_in_clusters(void (*kernel)(P...), dim3 grid, int cluster_z, int threads, size_t smem,
                               cudaStream_t st, const A&... args) {
  return launch_in_clusters_pdl(kernel, grid, cluster_z, false, threads, smem, st, args...);
}
template <typename... P, typename... A>
cudaError_t launch_with_smem(void (*kernel)(P...), dim3 grid, int threads, size_t smem, cudaStream_t st,
                             const A&... args) {
  return launch_in_clusters(kernel, grid, 1, threads, smem, st, args...);
}

// Host: launch of a TMA rung whose kernel takes (CUtensorMap, DecodeArgs) (v5-v7):
// the KV tensor map (boxes of box_tokens tokens; UNSUPPORTED where the layout
// cannot be described), grid (partitions, kv heads, row tiles), `smem` bytes.
template <typename KernelBf16, typename KernelF16>
cudaError_t launch_tma_rung(KernelBf16 kernel_bf16, KernelF16 kernel_f16, int threads, size_t smem, int box_tokens,
                            const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  CUtensorMap map;
  const cudaError_t e = tma_kv_map(a, num_blocks, box_tokens, &map);
  if (e != cudaSuccess) return e;
  const dim3 grid(a.num_parts, a.h_kv, tiles);
  return (dtype == 0) ? launch_with_smem(kernel_bf16, grid, threads, smem, st, map, a)
                      : launch_with_smem(kernel_f16, grid, threads, smem, st, map, a);
}

// Host: launch of a decode kernel templated on the element type only (v1..v4):
// grid (partitions, kv heads, row tiles), `smem` bytes of dynamic shared memory.
inline cudaError_t launch_by_dtype(void (*kernel_bf16)(DecodeArgs), void (*kernel_f16)(DecodeArgs), int threads,
                                   size_t smem, const DecodeArgs& a, int dtype, int tiles, cudaStream_t st) {
  return launch_with_smem((dtype == 0) ? kernel_bf16 : kernel_f16, dim3(a.num_parts, a.h_kv, tiles), threads, smem,
                          st, a);
}

}  // namespace mla
