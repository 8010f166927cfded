// decode_v7_seesaw64.cu -- v7 "seesaw64": the seesaw schedule on whole 64-key pages.
//
// Why (measured, data/gpu-runs/wgmma-rate/profiles/wgmma-rate.txt, H100):
// v5's S stream (m64n32k16, A = Q and B = K both from shared memory) runs at
// 62% of the tensor peak even with nothing else on the SM: every instruction
// re-reads a 2 KB slice of Q for only 32 keys, and shared memory cannot feed
// that. m64n64k16 reaches 83% from one warpgroup and 92% from two; with A in
// registers 100%; the mix "S of one page + PV of two pages" 100%. v6 paid the
// m64n32 price twice (one warpgroup issued each S alone). So v7 computes each
// page's S with m64n64k16 by one warpgroup, and overlaps the two warpgroups'
// softmax with the other's tensor work (FlashMLA's published "seesaw" math).
//
// Adds over v5 (and why):
//  - Pages are taken in pairs (A = even local page, owned by warpgroup 0;
//    B = odd, owned by warpgroup 1). The owner computes S = Q K^T for its
//    whole page (36 x m64n64k16) and its softmax. One running max m:
//      WG0: mA = max(m, rowmax S_A), P_A = exp2(S_A - mA), O_L *= exp2(m - mA),
//           O_L += P_A V_A[:, 0:256]                (P_A from registers, RS)
//      WG1: mB = max(mA, rowmax S_B), P_B = exp2(S_B - mB), O_R *= exp2(m - mB),
//           O_R += (P_A exp2(mA - mB)) V_A[:, 256:512] + P_B V_B[:, 256:512]
//           (P_A read back from smem and rescaled here, both RS; A first, so
//           that stage 0 comes free early)
//      WG0: O_L *= exp2(mA - mB) once its P_A V_A is complete,
//           O_L += P_B V_B[:, 0:256]                (P_B from smem, SS)
//    Each warpgroup's softmax can run while the other's GEMMs use the tensor
//    cores. P_A reaches O_R rounded twice (bf16 P_A, then bf16 of the product).
//  - Q's RoPE columns (512..575) live in registers as wgmma A fragments (16
//    registers) and their 4 k-steps of S use the RS form; only 64 KB of Q stay
//    in shared memory. That frees the 16 KB for the two P slabs:
//    Q 64 KB + 2 page stages 144 KB + P_A, P_B 16 KB = 224 KB.
//  - Stages are handed back to the producer in three parts as soon as their
//    readers are done: the RoPE slab after S, columns 0..255 after the PV of
//    warpgroup 0, columns 256..511 after the PV of warpgroup 1. Each stage has
//    its own producer thread, so a part is reloaded as soon as it is
//    released, and S issues the RoPE slab first.
//  - Hand-offs between the warpgroups on named barriers (arrive / sync):
//    A_READY (mA), PA_READY (P_A in smem), B_READY (mB, exp2(mA - mB), P_B).
//  - Warpgroup-specific code is a template (consumer_piece<ROLE>), called with
//    a warpgroup index broadcast from lane 0 (warp-uniform for ptxas: C7520
//    otherwise), and the softmax works on a copy of the S accumulator (C7515
//    otherwise); either advisory means ptxas serialises every wgmma.
// Measured on the H100 (kernels/PERF.md): correct, faster than v6, slower
// than v5: the two warpgroups still wait on each other and on the reloads of
// the halves released late in each pair.
// Partial last pages are loaded by their owner with zero-filling cp.async, as
// in v5/v6 (no token >= seqlen is read). Same TMA map and fallback as v5.
#include <cuda.h>
#include <stdlib.h>
#include "tile_common.cuh"

namespace mla {
namespace {

constexpr int kThreads = 384;                // 2 consumer warpgroups + 1 producer warpgroup
constexpr int kConsumers = 256;
constexpr int kSlabs = kDK / 64;             // 9 slabs of 64 columns per page
constexpr int kPageBytes = kSlabs * kSlab;   // 73728
constexpr int kQBytes = 8 * kSlab;           // Q columns 0..511 (RoPE part in registers)
constexpr uint32_t kOffKV = kQBytes;                      // 2 page stages
constexpr uint32_t kOffPA = kOffKV + 2 * kPageBytes;      // P_A' slab (written by WG0, read by WG1)
constexpr uint32_t kOffPB = kOffPA + kSlab;               // P_B slab (written by WG1, read by WG0)
constexpr uint32_t kOffRow = kOffPB + kSlab;              // sMA[64], sMB[64], sScaleB[64], sSum[2][64]
constexpr uint32_t kOffBar = kOffRow + 5 * kTileM * 4;    // full[2][9], empty[2][3]
constexpr int kBars = 2 * kSlabs + 2 * 3;
constexpr uint32_t kOffAbort = kOffBar + kBars * 8;
constexpr size_t kSmem = kOffAbort + 8 + 1024;
static_assert(kSmem <= 232448, "v7 shared memory exceeds the sm_90 opt-in limit");

// empty-barrier parts of a stage
constexpr int kRope = 0, kLeft = 1, kRight = 2;

// named barriers: 1 = all consumers (bar_consumers); hand-offs between the two
// consumer warpgroups (256 threads); 5 + wg = one warpgroup (128 threads)
constexpr int kBarAReady = 2, kBarBReady = 3, kBarPAReady = 4;
__device__ __forceinline__ void nb_arrive(int id) { named_bar_arrive<256>(id); }
__device__ __forceinline__ void nb_sync(int id) { named_bar_sync<256>(id); }

__device__ __forceinline__ float safe_max(float m) { return m == -INFINITY ? 0.f : m; }

struct Smem {
  uint32_t q, kv, pa, pb, full, empty;  // shared-window addresses
  unsigned char *gpa, *gpb;             // the P slabs as generic pointers (st/ld.shared)
  float *sMA, *sMB, *sScaleB, *sSum;
  volatile int* abort;
  __device__ uint32_t stage(int s) const { return kv + s * kPageBytes; }
  __device__ uint32_t full_bar(int s, int slab) const { return full + 8 * (s * kSlabs + slab); }
  __device__ uint32_t empty_bar(int s, int part) const { return empty + 8 * (s * 3 + part); }
};

// Everything about the request piece the consumers are working on.
struct PieceCtx {
  Piece pc;
  int cnt;              // pages of the piece
  int64_t bt_row;
  const void* kv_head;  // kv + kvh * kv_sh
  uint32_t base[2];     // pages loaded into each stage before this piece (mbarrier phases)
};

// S(64 x 64 keys of local page n) = Q K^T by one warpgroup: the RoPE slab first
// (A from registers), then slabs 0..7 as the TMA lands them. The owner loads a
// partial last page itself (zero-filled).
template <typename T>
__device__ __forceinline__ void issue_S(const DecodeArgs& a, const Smem& sm, const PieceCtx& px, int n, float (&s)[32],
                                        const uint32_t (&rq)[16], int wg, int wtid) {
  const int st = n & 1;
  const uint32_t par = (px.base[st] + (n >> 1)) & 1;
  const uint32_t sK = sm.stage(st);
  const int blk = px.pc.blk_begin + n;
  const int valid_rows = px.pc.len - blk * kPage;
  if (valid_rows < kPage) {  // partial page: the producer only handed the stage over, part by part
#pragma unroll 1
    for (int c = 0; c < kSlabs; ++c) mbar_wait(sm.full_bar(st, c), par, sm.abort);
    const T* pbase = reinterpret_cast<const T*>(px.kv_head) + (int64_t)a.block_table[px.bt_row + blk] * a.kv_sb;
    load_kv_page<T, 128>(a, reinterpret_cast<const T*>(a.kv), pbase, blk, px.pc.len, wtid,
                         [&](int row, int ch) { return sK + sw128(row, ch); });
    cp_async_commit();
    cp_async_wait<0>();
    fence_async_smem();
    named_bar_sync<128>(5 + wg);
  }
  wgmma_fence();
  mbar_wait(sm.full_bar(st, 8), par, sm.abort);
#pragma unroll
  for (int kk = 0; kk < 4; ++kk)
    WgmmaWide<T>::s64_rs(s, rq + 4 * kk, desc128(sK + 8 * kSlab + kk * 32, 16, 1024), kk);
#pragma unroll
  for (int c = 0; c < 8; ++c) {
    mbar_wait(sm.full_bar(st, c), par, sm.abort);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      const uint32_t o = c * kSlab + kk * 32;
      WgmmaWide<T>::s64(s, desc128(sm.q + o, 16, 1024), desc128(sK + o, 16, 1024), 1);
    }
  }
  wgmma_commit();
}

// Scale to log2 units, mask keys beyond each row's limit, return the row maxima (quad-reduced).
__device__ __forceinline__ void mask_rowmax(float (&s)[32], int tok0, int lim0, int lim1, float scale_log2, int lane,
                                            float& mx0, float& mx1) {
  mx0 = -INFINITY; mx1 = -INFINITY;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int tok = tok0 + j * 8 + (lane % 4) * 2 + e;
      const float v0 = (tok <= lim0) ? s[4 * j + e] * scale_log2 : -INFINITY;
      const float v1 = (tok <= lim1) ? s[4 * j + 2 + e] * scale_log2 : -INFINITY;
      s[4 * j + e] = v0;
      s[4 * j + 2 + e] = v1;
      mx0 = fmaxf(mx0, v0);
      mx1 = fmaxf(mx1, v1);
    }
  }
  mx0 = quad_max(mx0);
  mx1 = quad_max(mx1);
}

// P = exp2(S - m) in place; returns the (thread-partial) row sums.
__device__ __forceinline__ void exp_rows(float (&s)[32], float mu0, float mu1, float& ps0, float& ps1) {
  ps0 = 0.f; ps1 = 0.f;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    s[4 * j + 0] = exp2f(s[4 * j + 0] - mu0); s[4 * j + 1] = exp2f(s[4 * j + 1] - mu0);
    s[4 * j + 2] = exp2f(s[4 * j + 2] - mu1); s[4 * j + 3] = exp2f(s[4 * j + 3] - mu1);
    ps0 += s[4 * j + 0] + s[4 * j + 1];
    ps1 += s[4 * j + 2] + s[4 * j + 3];
  }
}

// This thread's P fragments back from a swizzled P slab (the slots store_p
// wrote for the same thread index of the other warpgroup), times f0 / f1 per row.
template <typename T>
__device__ __forceinline__ void load_p_scaled(const unsigned char* slab, uint32_t (&pb)[16], int row0, int row1, int lane,
                                              float f0, float f1) {
  const int within = (lane % 4) * 4;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const float2 v0 = Pack<T>::unpack(*reinterpret_cast<const uint32_t*>(slab + row0 * 128 + ((j ^ (row0 & 7)) << 4) + within));
    const float2 v1 = Pack<T>::unpack(*reinterpret_cast<const uint32_t*>(slab + row1 * 128 + ((j ^ (row1 & 7)) << 4) + within));
    pb[2 * j + 0] = Pack<T>::pack(v0.x * f0, v0.y * f0);
    pb[2 * j + 1] = Pack<T>::pack(v1.x * f1, v1.y * f1);
  }
}

// One consumer warpgroup's pass over a request piece. ROLE 0 owns the even
// pages (A) and output columns 0..255, ROLE 1 the odd pages (B) and 256..511.
// Every stage part is released right after its last reader completes; on
// return all of this warpgroup's wgmma are complete.
template <typename T, int ROLE>
__device__ __forceinline__ void consumer_piece(const DecodeArgs& a, const Smem& sm, const PieceCtx& px,
                                               const uint32_t (&rq)[16], float (&acc)[128], float& m_run0,
                                               float& m_run1, float& l0, float& l1, int lim0, int lim1, int row0,
                                               int row1, int lane, int wtid) {
  float sacc[32];  // S accumulator: written by wgmma only
  uint32_t pb[16];
  const int cnt = px.cnt;
  const int npairs = (cnt + 1) / 2;
  const uint32_t colofs = (4 * ROLE) * kSlab;  // this warpgroup's 256 V columns inside a stage
  const int tok_base = px.pc.blk_begin * kPage;

  for (int i = 0; i < npairs; ++i) {
    const bool hasB = 2 * i + 1 < cnt;
    // S of this warpgroup's page of the pair (right after the previous pair's
    // PVs of this warpgroup completed).
    if (ROLE == 0 || hasB) issue_S<T>(a, sm, px, 2 * i + ROLE, sacc, rq, ROLE, wtid);
    wgmma_wait<0>();
    keep(sacc);
    // The softmax works on a copy: when non-wgmma instructions also wrote the
    // accumulator registers themselves, ptxas serialised every wgmma of the
    // kernel (C7515, a WARPGROUP.DEPBAR behind each HGMMA: 849 us at h_q=128).
    float s[32];
#pragma unroll
    for (int k = 0; k < 32; ++k) s[k] = sacc[k];
    keep(acc);
    if (ROLE == 0) {
      // S_A(i) is complete: the RoPE slab of stage 0 is free
      if (lane == 0) mbar_arrive(sm.empty_bar(0, kRope));
      float mx0, mx1;
      mask_rowmax(s, tok_base + 2 * i * kPage, lim0, lim1, a.scale_log2, lane, mx0, mx1);
      const float mA0 = fmaxf(m_run0, mx0), mA1 = fmaxf(m_run1, mx1);
      const float u0 = safe_max(mA0), u1 = safe_max(mA1);
      if ((lane & 3) == 0) { sm.sMA[row0] = mA0; sm.sMA[row1] = mA1; }
      nb_arrive(kBarAReady);  // warpgroup 1 can start its softmax
      float ps0, ps1;
      exp_rows(s, u0, u1, ps0, ps1);
      pack_p<T>(s, pb);
      store_p(sm.gpa, pb, row0, row1, lane);  // P_A in the mA frame; warpgroup 1 rescales it
      fence_async_smem();
      nb_arrive(kBarPAReady);
      const float al0 = exp2f(m_run0 - u0), al1 = exp2f(m_run1 - u1);
      scale_rows_128(acc, al0, al1);
      l0 = l0 * al0 + ps0;
      l1 = l1 * al1 + ps1;
      pv_regs<T>(acc, pb, sm.stage(0) + colofs);
      wgmma_wait<0>();
      keep(acc);
      if (lane == 0) mbar_arrive(sm.empty_bar(0, kLeft));
      nb_sync(kBarBReady);  // mB, exp2(mA - mB) and P_B are in smem
      const float f0 = sm.sScaleB[row0], f1 = sm.sScaleB[row1];
      m_run0 = sm.sMB[row0]; m_run1 = sm.sMB[row1];
      scale_rows_128(acc, f0, f1);
      l0 *= f0;
      l1 *= f1;
      if (hasB) {
        pv_smem<T>(acc, sm.pb, sm.stage(1) + colofs);
        wgmma_wait<0>();
        keep(acc);
        if (lane == 0) mbar_arrive(sm.empty_bar(1, kLeft));
      }
    } else {
      // S_B(i) (if any) is complete: the RoPE slab of stage 1 is free
      if (hasB && lane == 0) mbar_arrive(sm.empty_bar(1, kRope));
      nb_sync(kBarAReady);
      const float mA0 = sm.sMA[row0], mA1 = sm.sMA[row1];
      float mB0 = mA0, mB1 = mA1, ps0 = 0.f, ps1 = 0.f;
      if (hasB) {
        float mx0, mx1;
        mask_rowmax(s, tok_base + (2 * i + 1) * kPage, lim0, lim1, a.scale_log2, lane, mx0, mx1);
        mB0 = fmaxf(mA0, mx0); mB1 = fmaxf(mA1, mx1);
        exp_rows(s, safe_max(mB0), safe_max(mB1), ps0, ps1);
        pack_p<T>(s, pb);
        store_p(sm.gpb, pb, row0, row1, lane);
      }
      const float u0 = safe_max(mB0), u1 = safe_max(mB1);
      const float f0 = exp2f(mA0 - u0), f1 = exp2f(mA1 - u1);  // mA frame -> mB frame
      if ((lane & 3) == 0) {
        sm.sMB[row0] = mB0; sm.sMB[row1] = mB1;
        sm.sScaleB[row0] = f0; sm.sScaleB[row1] = f1;
      }
      // P_A' = P_A exp2(mA - mB), from this thread's own fragment slots of the P_A slab
      uint32_t pa[16];
      nb_sync(kBarPAReady);
      load_p_scaled<T>(sm.gpa, pa, row0, row1, lane, f0, f1);
      fence_async_smem();
      nb_arrive(kBarBReady);  // after reading P_A: warpgroup 0 may overwrite it from now on
      const float al0 = exp2f(m_run0 - u0), al1 = exp2f(m_run1 - u1);
      scale_rows_128(acc, al0, al1);
      l0 = l0 * al0 + ps0;
      l1 = l1 * al1 + ps1;
      m_run0 = mB0; m_run1 = mB1;
      // A's columns 256..511 first: they are the last part of stage 0 to come free
      pv_regs<T>(acc, pa, sm.stage(0) + colofs);
      if (hasB) pv_regs<T>(acc, pb, sm.stage(1) + colofs);
      wgmma_wait<0>();
      keep(acc);
      if (lane == 0) {
        mbar_arrive(sm.empty_bar(0, kRight));
        if (hasB) mbar_arrive(sm.empty_bar(1, kRight));
      }
    }
  }
  wgmma_wait<0>();
  keep(acc);
}

template <typename T>
__global__ void __launch_bounds__(kThreads, 1) decode_v7_kernel(const __grid_constant__ CUtensorMap kv_map, DecodeArgs a) {
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  const uint32_t raw = (uint32_t)__cvta_generic_to_shared(smem_raw);
  const uint32_t base = (raw + 1023u) & ~1023u;
  unsigned char* gbase = smem_raw + (base - raw);
  Smem sm;
  sm.q = base; sm.kv = base + kOffKV; sm.pa = base + kOffPA; sm.pb = base + kOffPB;
  sm.gpa = gbase + kOffPA; sm.gpb = gbase + kOffPB;
  sm.full = base + kOffBar; sm.empty = sm.full + 8 * 2 * kSlabs;
  sm.sMA = reinterpret_cast<float*>(gbase + kOffRow);
  sm.sMB = sm.sMA + kTileM; sm.sScaleB = sm.sMB + kTileM; sm.sSum = sm.sScaleB + kTileM;  // sSum [2][64]
  sm.abort = reinterpret_cast<volatile int*>(gbase + kOffAbort);

  const int part = blockIdx.x, kvh = blockIdx.y, tile = blockIdx.z;
  const int tid = threadIdx.x, lane = tid % 32;
  // Broadcast from lane 0: ptxas then knows the warpgroup index is warp-uniform and
  // does not serialise the wgmma of the role-specific paths (advisory C7520, which
  // the plain tid / 128 of v6 triggers).
  const int wg = __shfl_sync(0xffffffffu, tid / 128, 0), wwarp = (tid % 128) / 32;
  const int32_t* sc = a.sched + (int64_t)part * kSchedInts;
  if (sc[5] == 0) return;  // uniform over the CTA
  const int begin_req = sc[0], begin_blk = sc[1], end_req = sc[2], end_blk = sc[3], begin_slot = sc[4];

  if (tid == 0) {
    *sm.abort = 0;
    for (int i = 0; i < 2 * kSlabs; ++i) mbar_init(sm.full + 8 * i, 1);
    for (int i = 0; i < 2 * 3; ++i) mbar_init(sm.empty + 8 * i, 4);  // lane 0 of each warp of one warpgroup
    fence_mbarrier_init();
  }
  __syncthreads();
  griddep_launch_dependents();

  if (wg == 2) {
    // ===================== producers: one thread per stage =====================
    // Warp 8 feeds stage 0 (local pages 0, 2, 4, ... of every piece), warp 9
    // stage 1 (pages 1, 3, ...), each in the order its parts are released
    // (RoPE slab, columns 0..255, columns 256..511), so neither stage's loads
    // wait for the other's releases. (One in-order thread for both stages made
    // the next pair's loads wait for the last release of the current pair:
    // 830 us at h_q=128 in v7's first GPU run; polling both stages from one
    // thread with try_wait was slower still, 918 us.)
    setmaxnreg_dec<24>();
    if (tid != 256 && tid != 288) return;
    const int st = (tid - 256) / 32;
    prefetch_tensormap(&kv_map);
    uint32_t uses = 0;
    for (int req = begin_req; req <= end_req; ++req) {
      const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
      const int64_t bt_row = (int64_t)req * a.bt_sb;
      for (int n = st; n < pc.blk_end - pc.blk_begin; n += 2, ++uses) {
        const int blk = pc.blk_begin + n;
        const uint32_t par = (uses & 1) ^ 1;
        const bool full_page = pc.len - blk * kPage >= kPage;
        const int page = full_page ? a.block_table[bt_row + blk] : 0;
#pragma unroll
        for (int part = 0; part < 3; ++part) {
          mbar_wait(sm.empty_bar(st, part), par, sm.abort);
          const int c0 = (part == kRope) ? 8 : 4 * (part - kLeft), c1 = (part == kRope) ? 9 : c0 + 4;
#pragma unroll
          for (int c = c0; c < c1; ++c) {
            if (full_page) {
              mbar_expect_tx(sm.full_bar(st, c), kSlab);
              tma_load_4d(sm.stage(st) + c * kSlab, &kv_map, c * 64, kvh, 0, page, sm.full_bar(st, c));
            } else {
              mbar_arrive(sm.full_bar(st, c));  // partial page: its owner loads it, zero-filled
            }
          }
        }
      }
    }
    return;
  }

  // ===================== consumer warpgroups =====================
  setmaxnreg_inc<240>();
  const T* q = reinterpret_cast<const T*>(a.q);
  const int row0 = wwarp * 16 + lane / 4, row1 = row0 + 8;
  const int wtid = tid % 128;
  uint32_t base_uses[2] = {0, 0};

  for (int req = begin_req; req <= end_req; ++req) {
    PieceCtx px;
    px.pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
    px.cnt = px.pc.blk_end - px.pc.blk_begin;
    px.bt_row = (int64_t)req * a.bt_sb;
    px.kv_head = reinterpret_cast<const T*>(a.kv) + (int64_t)kvh * a.kv_sh;
    px.base[0] = base_uses[0]; px.base[1] = base_uses[1];

    // Q columns 0..511 -> smem (swizzled), columns 512..575 -> A fragments in registers
    uint32_t rq[16];
    if (px.cnt > 0) {
      load_q_tile_sync<T, kConsumers, 64>(a, q, req, kvh, tile, tid, sm.q,
                                          [&]() { load_q_frags(a, q, req, kvh, tile, row0, row1, lane, 512, rq); });
    }

    const int lim0 = row_limit(a, px.pc.len, tile * kTileM + row0);
    const int lim1 = row_limit(a, px.pc.len, tile * kTileM + row1);
    float m_run0 = -INFINITY, m_run1 = -INFINITY, l0 = 0.f, l1 = 0.f;
    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) acc[i] = 0.f;
    if (wg == 0) consumer_piece<T, 0>(a, sm, px, rq, acc, m_run0, m_run1, l0, l1, lim0, lim1, row0, row1, lane, wtid);
    else consumer_piece<T, 1>(a, sm, px, rq, acc, m_run0, m_run1, l0, l1, lim0, lim1, row0, row1, lane, wtid);
    base_uses[0] += (px.cnt + 1) / 2;
    base_uses[1] += px.cnt / 2;

    epilogue_two_wg<T>(a, px.pc, kvh, tile, wg, lane, row0, row1, acc, l0, l1, m_run0, m_run1, sm.sSum);
  }
}

}  // namespace

cudaError_t launch_decode_v7(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  return launch_tma_rung(decode_v7_kernel<__nv_bfloat16>, decode_v7_kernel<__half>, kThreads, kSmem, kPage, a, dtype, tiles, num_blocks, st);
}

}  // namespace mla
