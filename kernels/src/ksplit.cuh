// ksplit.cuh -- the kernel template of v8 "ksplit", v9 "lazy" and v10
// "multicast" (included by decode_v8_ksplit.cu, decode_v9_lazy.cu and
// decode_v10_multicast.cu, whose header comments tell what each rung changes and why). The including file first says MLA_TRACE_DEFINE(tag)
// (trace.cuh): the kernel records its timeline there when built with -DMLA_TRACE.
//
// Layout (both): 384 threads = 2 consumer warpgroups + 1 TMA producer warpgroup;
// smem Q 72 KB (its RoPE slab is exchange space), 2 page stages 144 KB, P 8 KB.
// Per page: each consumer warpgroup computes a partial S over all 64 keys and
// half of the 576 columns (18 x m64n64k16), the partials are added through
// smem, each warpgroup takes the softmax of its 32 keys, and P V (m64n256)
// updates its 256 output columns.
// Also here: consumer_pairs, the page-pair schedule, a measured experiment on
// v10's paired grids (MLA_V10_PAIRS=1 or 2, kernels/PERF.md seventh session;
// correct, slower than v10 on every grid measured, so not a rung).
#pragma once
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>
#include <type_traits>
#include "tile_common.cuh"
#include "trace.cuh"

namespace mla {
namespace {

constexpr int kThreads = 384;                // 2 consumer warpgroups + 1 producer warpgroup
constexpr int kConsumers = 256;
constexpr int kSlabs = kDK / 64;             // 9
constexpr int kTile = kSlabs * kSlab;        // 73728: 64 rows x 576 columns
constexpr int kStages = 2;
constexpr uint32_t kOffKV = kTile;
constexpr uint32_t kOffP = 3 * kTile;
constexpr uint32_t kOffRed = kOffP + kSlab;              // sMax[2][64], sSum[2][64]
constexpr uint32_t kOffBar = kOffRed + 4 * kTileM * 4;   // full[2][9], empty[2]
constexpr uint32_t kOffAbort = kOffBar + (kStages * kSlabs + kStages) * 8;
constexpr size_t kSmem = kOffAbort + 8 + 1024;
constexpr uint32_t kRopeSlab = 8 * kSlab;    // offset of the RoPE slab inside Q and inside a stage
static_assert(kSmem <= 232448, "ksplit shared memory exceeds the sm_90 opt-in limit");

// hold_cycles: the data-movement probe's stand-in for the math (MLA_V9_HOLD=d: d x 1000 cycles per page)
struct Hints { int pf_dist, evict_first, hold_cycles, burn, pdl; };

// Hands the stage of page gp back to the producer(s): one arrival per consumer
// warp on the stage's empty barrier of every CTA of the cluster (lane r
// arrives in CTA r), since with kCluster > 1 every producer of the cluster
// writes into this CTA's stages.
template <int kCluster>
__device__ __forceinline__ void hand_back_stage(uint32_t barEmpty, uint32_t gp, int lane) {
  if (kCluster == 1) {
    if (lane == 0) mbar_arrive(barEmpty + 8 * (gp & 1));
  } else if (lane < kCluster) {
    mbar_arrive_cluster(barEmpty + 8 * (gp & 1), (uint32_t)lane);
  }
}

// Exchange slot i (0..3, a float4) of thread wtid: consecutive threads hit consecutive 16 bytes.
__device__ __forceinline__ uint32_t xslot(uint32_t buf, int i, int wtid) { return buf + (i * 128 + wtid) * 16; }
__device__ __forceinline__ void st_shared_v4(uint32_t addr, float a, float b, float c, float d) {
  asm volatile("st.shared.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"r"(addr), "f"(a), "f"(b), "f"(c), "f"(d) : "memory");
}
__device__ __forceinline__ float4 ld_shared_v4(uint32_t addr) {
  float4 v;
  asm volatile("ld.shared.v4.f32 {%0, %1, %2, %3}, [%4];\n" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "r"(addr) : "memory");
  return v;
}

// The exchange of the S partials: this warpgroup's full sums for its 32 keys
// (registers 0..15 of s are keys 0..31, WG0's; 16..31 are keys 32..63, WG1's)
// -> sa. It exports the other warpgroup's 32 keys to `mine`, meets it at a
// consumer barrier, and adds what it exported to `other`. Selects, not
// indexing by wg (which would put the array in local memory).
__device__ __forceinline__ void exchange_partials(const float (&s)[32], float (&sa)[16], uint32_t mine, uint32_t other,
                                                  int wg, int wtid) {
  float out[16];
#pragma unroll
  for (int k = 0; k < 16; ++k) { out[k] = wg ? s[k] : s[16 + k]; sa[k] = wg ? s[16 + k] : s[k]; }
#pragma unroll
  for (int i = 0; i < 4; ++i) st_shared_v4(xslot(mine, i, wtid), out[4 * i], out[4 * i + 1], out[4 * i + 2], out[4 * i + 3]);
  bar_consumers();
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float4 v = ld_shared_v4(xslot(other, i, wtid));
    sa[4 * i] += v.x;
    sa[4 * i + 1] += v.y;
    sa[4 * i + 2] += v.z;
    sa[4 * i + 3] += v.w;
  }
}

// v9's page softmax: softmax_half_page (tile_common.cuh) with a lazy running
// max, which leaves two consumer barriers per page instead of three in the
// common case. Same arguments and C layout (sa: this warpgroup's 32 keys, raw
// S); tr(5) marks the end of the common path for the timeline probe.
//  - The running max m (log2 units) is raised only when a row's page maximum
//    exceeds it by more than kLazyMax. Otherwise P = 2^(S*c - m) is computed
//    against the old m (values up to 2^kLazyMax, fine in fp32 and in bf16/fp16
//    P) and O and l need no rescale: the result is the same softmax, since O
//    and l are always relative to the same m. The first page of a piece always
//    raises (m = -inf).
//  - Each warpgroup writes P against the old m before the barrier, and the
//    barrier ORs "some row of mine wants a raise" over both warpgroups
//    (bar.red.or). Nobody: P is final (the common case). Somebody: both
//    warpgroups read the other's row maxima, raise m exactly where the full
//    row maximum passes the threshold (the same decision on both sides, from
//    the same numbers), rewrite P, rescale O and l, and meet at a third barrier.
//  - The scale folds into one FFMA per element (c > 0, so the maximum of the
//    raw S is taken first), 2^x is ex2.approx, and masking runs only on pages
//    where some key of the warp's rows is beyond the row's limit.
// Precondition, as for softmax_half_page: both warpgroups' P V of the previous
// page are complete (here: the exchange barrier), so the P slab is free.
constexpr float kLazyMax = 8.f;

// kPvInFlight (consumer_pairs): the warpgroup's P V of the previous page may still be in
// flight, so the rare path that rescales O waits for it first.
template <typename T, typename Trace, bool kPvInFlight = false>
__device__ __forceinline__ void softmax_half_page_lazy(const DecodeArgs& a, float (&sa)[16], int tok0, int wg, int lane,
                                                       int row0, int row1, int lim0, int lim1, float* sMax,
                                                       unsigned char* pP, float& m_run0, float& m_run1, float& l_run0,
                                                       float& l_run1, float (&acc)[128], Trace tr) {
  const float c = a.scale_log2;
  const int key0 = tok0 + wg * 32 + (lane % 4) * 2;  // token of register 4j+e is key0 + 8j + e
  if (__any_sync(0xffffffffu, tok0 + wg * 32 + 31 > min(lim0, lim1))) {  // some key of the half is masked
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        if (key0 + 8 * j + e > lim0) sa[4 * j + e] = -INFINITY;
        if (key0 + 8 * j + e > lim1) sa[4 * j + 2 + e] = -INFINITY;
      }
  }
  float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    mx0 = fmaxf(mx0, fmaxf(sa[4 * j], sa[4 * j + 1]));
    mx1 = fmaxf(mx1, fmaxf(sa[4 * j + 2], sa[4 * j + 3]));
  }
  mx0 = quad_max(mx0) * c;
  mx1 = quad_max(mx1) * c;
  if ((lane & 3) == 0) { sMax[wg * kTileM + row0] = mx0; sMax[wg * kTileM + row1] = mx1; }
  // P = 2^(S c - m) -> the swizzled P slab; returns the row sums of this thread's values
  auto write_p = [&](float m0, float m1, float& ps0, float& ps1) {
    const float mu0 = (m0 == -INFINITY) ? 0.f : m0, mu1 = (m1 == -INFINITY) ? 0.f : m1;
    ps0 = 0.f;
    ps1 = 0.f;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float p0 = ex2_approx(fmaf(sa[4 * j + 0], c, -mu0)), p1 = ex2_approx(fmaf(sa[4 * j + 1], c, -mu0));
      const float p2 = ex2_approx(fmaf(sa[4 * j + 2], c, -mu1)), p3 = ex2_approx(fmaf(sa[4 * j + 3], c, -mu1));
      ps0 += p0 + p1;
      ps1 += p2 + p3;
      store_p_pair<T>(pP, row0, row1, wg * 4 + j, lane, p0, p1, p2, p3);
    }
  };
  const bool raise = mx0 > m_run0 + kLazyMax || mx1 > m_run1 + kLazyMax;
  float ps0, ps1;
  write_p(m_run0, m_run1, ps0, ps1);
  tr(5);
  fence_async_smem();
  if (!bar_consumers_or(raise)) {  // common case: P is final, O and l keep their scale
    l_run0 += ps0;
    l_run1 += ps1;
    return;
  }
  // some row in the CTA raises: the full row maxima decide, identically in both warpgroups
  const float f0 = fmaxf(mx0, sMax[(1 - wg) * kTileM + row0]), f1 = fmaxf(mx1, sMax[(1 - wg) * kTileM + row1]);
  const float mn0 = (f0 > m_run0 + kLazyMax) ? f0 : m_run0, mn1 = (f1 > m_run1 + kLazyMax) ? f1 : m_run1;
  const float al0 = (mn0 == m_run0) ? 1.f : ex2_approx(m_run0 - mn0);  // m_run = -inf: 0 (O and l are 0)
  const float al1 = (mn1 == m_run1) ? 1.f : ex2_approx(m_run1 - mn1);
  m_run0 = mn0;
  m_run1 = mn1;
  write_p(mn0, mn1, ps0, ps1);
  l_run0 = l_run0 * al0 + ps0;
  l_run1 = l_run1 * al1 + ps1;
  if (__any_sync(0xffffffffu, al0 != 1.f || al1 != 1.f)) {
    if (kPvInFlight) {
      wgmma_wait<0>();
      keep(acc);
    }
    scale_rows_128(acc, al0, al1);
  }
  fence_async_smem();
  bar_consumers();  // P rewritten (the OR above was the same in every thread: all came here)
}

// Q tile of a request piece for the k-split consumers: columns 0..511 -> smem at
// sQ; the last 4 k-steps of warpgroup wg's half (WG0: columns 224..287, WG1:
// 512..575) -> registers rq as RS A fragments.
template <typename T>
__device__ __forceinline__ void load_q_split(const DecodeArgs& a, const T* q, int req, int kvh, int tile, int tid, int wg,
                                             int row0, int row1, int lane, uint32_t sQ, uint32_t (&rq)[16]) {
  load_q_tile_sync<T, kConsumers, 64>(a, q, req, kvh, tile, tid, sQ, [&]() {
    load_q_frags(a, q, req, kvh, tile, row0, row1, lane, (18 * wg + 14) * 16, rq);
  });
}

// The consumer loop of warpgroup wg (0 or 1) over all request pieces of the partition.
// One code path for both warpgroups, their differences in data (k-step range,
// exchange addresses): with a template per warpgroup ptxas serialised every
// wgmma of the kernel (C7514, presumably its register analysis mixing the two paths).
template <typename T, bool kEarly, bool kLazy, int kCluster>
__device__ __forceinline__ void consumer(const DecodeArgs& a, const int32_t* sc, int kvh, int tile, int tid, int wg,
                                         unsigned char* gbase, uint32_t base, volatile int* s_abort) {
  const uint32_t sQ = base, sKV = base + kOffKV, sP = base + kOffP;
  unsigned char* pP = gbase + kOffP;
  float* sMax = reinterpret_cast<float*>(gbase + kOffRed);  // [2][64]
  float* sSum = sMax + 2 * kTileM;                          // [2][64]
  const uint32_t barFull = base + kOffBar;
  const uint32_t barEmpty = barFull + kStages * kSlabs * 8;
  const int begin_req = sc[0], begin_blk = sc[1], end_req = sc[2], end_blk = sc[3], begin_slot = sc[4];
  const int lane = tid % 32, wtid = tid % 128, wwarp = wtid / 32;
  const T* q = reinterpret_cast<const T*>(a.q);
  const T* kv = reinterpret_cast<const T*>(a.kv);
  const int row0 = wwarp * 16 + lane / 4, row1 = row0 + 8;
  // Hands the stage of page gp back to the producer (one arrival per warp). Its
  // RoPE slab was exchange space (generic writes) and TMA writes it next: proxy fence first.
  auto release_stage = [&](uint32_t gp) {
    fence_async_smem();
    __syncwarp();
    hand_back_stage<kCluster>(barEmpty, gp, lane);
  };
  const int ks0 = 18 * wg;  // first k-step (16 columns) of this warpgroup's half
  uint32_t g = 0;
  // timeline probe (-DMLA_TRACE only): event ev of page g by one thread per warpgroup
  auto tr = [&](int ev) { if (wtid == 0) MLA_TRACE_EV(wg, g, ev); };
  if (wtid == 0) MLA_TRACE_START(wg);

  for (int req = begin_req; req <= end_req; ++req) {
    const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
    const int cnt = pc.blk_end - pc.blk_begin;
    const int64_t bt_row = (int64_t)req * a.bt_sb;
    const T* kv_head = kv + (int64_t)kvh * a.kv_sh;

    uint32_t rq[16];
    if (cnt > 0) load_q_split<T>(a, q, req, kvh, tile, tid, wg, row0, row1, lane, sQ, rq);

    const int lim0 = row_limit(a, pc.len, tile * kTileM + row0);
    const int lim1 = row_limit(a, pc.len, tile * kTileM + row1);
    float m_run0 = -INFINITY, m_run1 = -INFINITY, l_run0 = 0.f, l_run1 = 0.f;
    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) acc[i] = 0.f;
    float s[32];  // partial S (64 rows x 64 keys, this warpgroup's half of the columns)

    for (int n = 0; n < cnt; ++n, ++g) {
      const int blk = pc.blk_begin + n;
      const uint32_t stage = g & 1, par = (g >> 1) & 1;
      const uint32_t sK = sKV + stage * kTile;
      const uint32_t full = barFull + stage * kSlabs * 8;
      const int valid_rows = pc.len - blk * kPage;
      tr(0);

      if (valid_rows < kPage)  // partial page: load it here, zero-filling rows >= valid_rows
        load_partial_page_staged<T>(a, kv, kv_head, bt_row, blk, valid_rows, tid, sK, full, par, s_abort);

      // ---- partial S = Q[:, half] K[:, half]^T for all 64 keys, slab by slab as the TMA lands ----
      if (kEarly) {
        // Early release: wait for PV(n-1) alone and hand page n-1's stage back
        // before S(n) instead of after it, so that the load of page n+1 starts one
        // S earlier. (Waiting inside the S chain instead, with part of S(n) queued
        // behind PV(n-1), made ptxas serialise every wgmma: C7514.)
        wgmma_wait<0>();
        keep(acc);
        if (n > 0) release_stage(g - 1);
      }
      wgmma_fence();
#pragma unroll
      for (int i = 0; i < 18; ++i) {  // k-steps ks0 .. ks0+13 from smem, the last 4 with A from registers
        const int ks = ks0 + i;
        if (i == 0 || ks % 4 == 0) mbar_wait(full + 8 * (ks / 4), par, s_abort);
        if (i == 0) tr(1);
        const uint32_t o = (ks / 4) * kSlab + (ks % 4) * 32;
        if (i < 14) WgmmaWide<T>::s64(s, desc128(sQ + o, 16, 1024), desc128(sK + o, 16, 1024), i > 0);
        else WgmmaWide<T>::s64_rs(s, rq + 4 * (i - 14), desc128(sK + o, 16, 1024), 1);
      }
      wgmma_commit();
      tr(2);
      wgmma_wait<0>();  // S(n) (and PV(n-1)) complete
      keep(s);
      keep(acc);
      tr(3);
      // work on a copy: non-wgmma reads of the S accumulator made ptxas serialise every wgmma (C7514)
      float sx[32];
#pragma unroll
      for (int k = 0; k < 32; ++k) sx[k] = s[k];
      if (!kEarly && n > 0) release_stage(g - 1);

      // ---- add the partials: export the other warpgroup's 32 keys, import the own ----
      // WG0 exports into Q's RoPE slab, WG1 into the stage's (both free now)
      float sa[16];
      exchange_partials(sx, sa, (wg == 0) ? sQ + kRopeSlab : sK + kRopeSlab, (wg == 0) ? sK + kRopeSlab : sQ + kRopeSlab,
                        wg, wtid);
      tr(4);

      if (kLazy) {  // v9: two barriers per page in the common case (see softmax_half_page_lazy)
        softmax_half_page_lazy<T>(a, sa, blk * kPage, wg, lane, row0, row1, lim0, lim1, sMax, pP, m_run0, m_run1,
                                  l_run0, l_run1, acc, tr);
      } else {
        softmax_half_page<T>(a, sa, blk * kPage, wg, lane, row0, row1, lim0, lim1, sMax, pP, m_run0, m_run1, l_run0, l_run1, acc);
        tr(5);
        fence_async_smem();
        bar_consumers();
      }
      tr(6);

      // ---- O(64 x 256 of this warpgroup) += P V : 4 x m64n256k16, left in flight ----
      wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < kPage / 16; ++ks)
        WgmmaS32PV256<T>::pv(acc, desc128(sP + ks * 32, 16, 1024), desc128(sK + (4 * wg) * kSlab + ks * 16 * 128, kSlab, 1024));
      wgmma_commit();
      tr(7);
    }
    if (cnt > 0) {
      wgmma_wait<0>();
      keep(acc);
      release_stage(g - 1);  // last page of the piece consumed
    }

    epilogue_two_wg<T>(a, pc, kvh, tile, wg, lane, row0, row1, acc, l_run0, l_run1, m_run0, m_run1, sSum);
  }
  if (wtid == 0) MLA_TRACE_END(wg);
}

// The MLA_V10_PAIRS experiment (seventh session): v10's page (partial S of half the columns, exchange,
// lazy softmax of 32 keys, P V of 256 output columns), with the pages taken in
// pairs (n, n+1) so that the tensor pipe has work during each softmax:
//   top     wait for P V(n-1), hand its stage back (page n+1 loads into it)
//   S(n)    issue; then S(n+1) issued behind it (both stages hold a page)
//   soft(n) once S(n) is done, while S(n+1) runs on the tensor pipe
//   PV(n)   issue; P(n) lives in stage n's RoPE slab (free once S(n) is done)
//   soft(n+1) once S(n+1) is done, while P V(n) runs
//   PV(n+1) issue, after waiting for P V(n) and handing stage n back.
// Two S accumulators; the exchange uses Q's RoPE slab (WG0's export) and the
// P slab of v8-v10 (WG1's export), since P is in the stage.
// kEarlyA (MLA_V10_EARLY=1): stage n goes back right after the exchange of
// S(n+1) instead of after softmax(n+1). kSbLate (PAIRS=2): S(n+1) is issued
// after softmax(n), which then overlaps page n+1's load instead of S(n+1).
// Measured on the H100 (kernels/PERF.md): correct, slower than v10. With two
// stages, page n+1 loads only once P V(n-1) is done; in a pair, its load
// (~2900 cycles to the last slab) and both softmaxes sit on one chain.
template <typename T, int kCluster, bool kEarlyA, bool kSbLate>
__device__ __forceinline__ void consumer_pairs(const DecodeArgs& a, const int32_t* sc, int kvh, int tile, int tid,
                                               int wg, unsigned char* gbase, uint32_t base, volatile int* s_abort) {
  const uint32_t sQ = base, sKV = base + kOffKV;
  float* sMax = reinterpret_cast<float*>(gbase + kOffRed);  // [2][64]
  float* sSum = sMax + 2 * kTileM;                          // [2][64]
  const uint32_t barFull = base + kOffBar;
  const uint32_t barEmpty = barFull + kStages * kSlabs * 8;
  const int begin_req = sc[0], begin_blk = sc[1], end_req = sc[2], end_blk = sc[3], begin_slot = sc[4];
  const int lane = tid % 32, wtid = tid % 128, wwarp = wtid / 32;
  const T* q = reinterpret_cast<const T*>(a.q);
  const T* kv = reinterpret_cast<const T*>(a.kv);
  const int row0 = wwarp * 16 + lane / 4, row1 = row0 + 8;
  const uint32_t xmine = (wg == 0) ? sQ + kRopeSlab : base + kOffP;   // where this warpgroup exports
  const uint32_t xother = (wg == 0) ? base + kOffP : sQ + kRopeSlab;  // where the other one did
  auto release_stage = [&](uint32_t gp) {  // P (generic writes) was in the RoPE slab: proxy fence first
    fence_async_smem();
    __syncwarp();
    hand_back_stage<kCluster>(barEmpty, gp, lane);
  };
  const int ks0 = 18 * wg;
  uint32_t g = 0;
  auto trA = [&](int ev) { if (wtid == 0) MLA_TRACE_EV(wg, g, ev); };
  auto trB = [&](int ev) { if (wtid == 0) MLA_TRACE_EV(wg, g + 1, ev); };
  if (wtid == 0) MLA_TRACE_START(wg);

  for (int req = begin_req; req <= end_req; ++req) {
    const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
    const int cnt = pc.blk_end - pc.blk_begin;
    const int64_t bt_row = (int64_t)req * a.bt_sb;
    const T* kv_head = kv + (int64_t)kvh * a.kv_sh;
    uint32_t rq[16];
    if (cnt > 0) load_q_split<T>(a, q, req, kvh, tile, tid, wg, row0, row1, lane, sQ, rq);
    const int lim0 = row_limit(a, pc.len, tile * kTileM + row0);
    const int lim1 = row_limit(a, pc.len, tile * kTileM + row1);
    float m_run0 = -INFINITY, m_run1 = -INFINITY, l_run0 = 0.f, l_run1 = 0.f;
    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) acc[i] = 0.f;
    float sA[32], sB[32];  // partial S of pages n and n+1

    // partial S(page gp) = Q[:, half] K[:, half]^T, issued and committed (not waited for)
    auto issue_s = [&](float (&s)[32], uint32_t gp, int blk) {
      const uint32_t sK = sKV + (gp & 1) * kTile, full = barFull + (gp & 1) * kSlabs * 8, par = (gp >> 1) & 1;
      const int valid_rows = pc.len - blk * kPage;
      if (valid_rows < kPage)  // partial page: load it here, zero-filling rows >= valid_rows
        load_partial_page_staged<T>(a, kv, kv_head, bt_row, blk, valid_rows, tid, sK, full, par, s_abort);
      // descriptors of k-step i: the page's (Q's) plus the step's offset in 16-byte units
      // (addresses stay below 2^18, so the 14-bit address field never carries); the
      // bases are opaque, or ptxas keeps all 36 descriptors in registers across the loop
      uint64_t dq = desc128(sQ, 16, 1024), dk = desc128(sK, 16, 1024);
      opaque(dq);
      opaque(dk);
      wgmma_fence();
#pragma unroll
      for (int i = 0; i < 18; ++i) {
        const int ks = ks0 + i;
        if (i == 0 || ks % 4 == 0) mbar_wait(full + 8 * (ks / 4), par, s_abort);
        const uint32_t o16 = ((ks / 4) * kSlab + (ks % 4) * 32) >> 4;
        if (i < 14) WgmmaWide<T>::s64(s, dq + o16, dk + o16, i > 0);
        else WgmmaWide<T>::s64_rs(s, rq + 4 * (i - 14), dk + o16, 1);
      }
      wgmma_commit();
    };
    // add the partials of a completed S (export the other warpgroup's 32 keys,
    // import the own), then the lazy softmax; P -> the stage's RoPE slab
    // after_exchange(): run between the exchange and the softmax
    auto softmax_page = [&](float (&s)[32], uint32_t gp, int blk, auto pv_in_flight, auto tr, auto after_exchange) {
      float sa[16];
      exchange_partials(s, sa, xmine, xother, wg, wtid);
      tr(4);
      after_exchange();
      unsigned char* pP = gbase + kOffKV + (gp & 1) * kTile + kRopeSlab;
      softmax_half_page_lazy<T, decltype(tr), decltype(pv_in_flight)::value>(
          a, sa, blk * kPage, wg, lane, row0, row1, lim0, lim1, sMax, pP, m_run0, m_run1, l_run0, l_run1, acc, tr);
      tr(6);
    };
    // O(64 x 256 of this warpgroup) += P V of page gp, issued and committed
    auto issue_pv = [&](uint32_t gp) {
      const uint32_t sK = sKV + (gp & 1) * kTile;
      uint64_t dp = desc128(sK + kRopeSlab, 16, 1024), dv = desc128(sK + (4 * wg) * kSlab, kSlab, 1024);
      opaque(dp);
      opaque(dv);
      wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < kPage / 16; ++ks) WgmmaS32PV256<T>::pv(acc, dp + ks * 2, dv + ks * 128);
      wgmma_commit();
    };

    // Pairs of pages. Every wait of the pair is unconditional, so that ptxas
    // can follow the wgmma groups (a loop with a conditional wait made it
    // serialise every wgmma, C7514).
    int n = 0;
    for (; n + 1 < cnt; n += 2, g += 2) {
      const int blk = pc.blk_begin + n;
      trA(0);
      issue_s(sA, g, blk);
      trA(1);
      if (kSbLate) {  // S(n+1) issued after softmax(n), which then overlaps page n+1's load instead
        trA(2);
        wgmma_wait<0>();
        keep(sA);
        trA(3);
        softmax_page(sA, g, blk, std::false_type(), trA, [] {});
        issue_s(sB, g + 1, blk + 1);
      } else {
        issue_s(sB, g + 1, blk + 1);
        trA(2);
        wgmma_wait<1>();  // S(n) done; S(n+1) in flight
        keep(sA);
        trA(3);
        softmax_page(sA, g, blk, std::false_type(), trA, [] {});
      }
      issue_pv(g);
      trA(7);
      wgmma_wait<1>();  // S(n+1) done; P V(n) in flight
      keep(sB);
      trB(0); trB(1); trB(2); trB(3);
      if (kEarlyA) {
        // P V(n) is done by the time the exchange of S(n+1) is: stage n goes back
        // then (page n+2 loads into it), not after the softmax
        softmax_page(sB, g + 1, blk + 1, std::false_type(), trB, [&] {
          wgmma_wait<0>();
          keep(acc);
          release_stage(g);
        });
      } else {
        softmax_page(sB, g + 1, blk + 1, std::true_type(), trB, [] {});
        wgmma_wait<0>();  // P V(n) done: its stage goes back (page n+2 loads into it)
        keep(acc);
        release_stage(g);
      }
      issue_pv(g + 1);
      trB(7);
      wgmma_wait<0>();  // P V(n+1) done: page n+3 may load
      keep(acc);
      release_stage(g + 1);
    }
    if (n < cnt) {  // the piece's last page, alone
      const int blk = pc.blk_begin + n;
      trA(0); trA(1);
      issue_s(sA, g, blk);
      trA(2);
      wgmma_wait<0>();
      keep(sA);
      trA(3);
      softmax_page(sA, g, blk, std::false_type(), trA, [] {});
      issue_pv(g);
      trA(7);
      wgmma_wait<0>();
      keep(acc);
      release_stage(g);
      ++g;
    }
    epilogue_two_wg<T>(a, pc, kvh, tile, wg, lane, row0, row1, acc, l_run0, l_run1, m_run0, m_run1, sSum);
  }
  if (wtid == 0) MLA_TRACE_END(wg);
}

// Data-movement probe (MLA_V9_DRY=1, bf16; writes no output): the consumers
// only wait for each page's 9 slabs and hand the stage back, so the kernel
// time is what the TMA page stream alone needs with this grid and two stages.
// hold > 0 (MLA_V9_HOLD): the consumers keep each stage that many cycles after
// its last slab landed (a spin, not math): the stream with the stage held as
// long as the math would hold it, but without the math's power and smem traffic.
template <int kCluster>
__device__ __forceinline__ void consumer_dry(const DecodeArgs& a, const int32_t* sc, int tid, uint32_t base,
                                             volatile int* s_abort, int hold, int burn) {
  const uint32_t barFull = base + kOffBar, barEmpty = barFull + kStages * kSlabs * 8;
  uint32_t g = 0;
  for (int req = sc[0]; req <= sc[2]; ++req) {
    const Piece pc = make_piece(a, req, sc[0], sc[1], sc[2], sc[3], sc[4]);
    for (int blk = pc.blk_begin; blk < pc.blk_end; ++blk, ++g) {
      const uint32_t full = barFull + (g & 1) * kSlabs * 8, par = (g >> 1) & 1;
      for (int c = 0; c < kSlabs; ++c) mbar_wait(full + 8 * c, par, s_abort);
      if (hold > 0) {
        const long long t0 = clock64();
        if (burn == 1) {  // FMAs on the way: the math's power, no smem
          float x = (float)tid, y = 1.0001f;
          while (clock64() - t0 < hold) {
#pragma unroll
            for (int k = 0; k < 64; ++k) x = fmaf(x, y, 0.5f);
          }
          if (x == 1.2345f) hold = 0;  // keeps the FMAs
        } else if (burn == 2) {  // shared-memory reads of Q on the way: the math's smem traffic
          float x = 0.f;
          while (clock64() - t0 < hold) {
#pragma unroll
            for (int k = 0; k < 16; ++k) x += ld_shared_v4(base + ((k * 256 + tid) * 16) % kTile).x;
          }
          if (x == 1.2345f) hold = 0;
        } else {
          while (clock64() - t0 < hold) {}
        }
      }
      __syncwarp();
      hand_back_stage<kCluster>(barEmpty, g, tid % 32);
    }
  }
}

// kCluster (v10: 2): the CTAs of tiles 2c and 2c+1 form a cluster that shares
// every page (tma_page_producer's multicast); kCluster == 1 is v8/v9's kernel.
// kPairs (the MLA_V10_PAIRS experiment): consumer_pairs instead of consumer (2: S(n+1) after softmax(n)).
template <typename T, bool kEarly, bool kLazy, bool kDry = false, int kCluster = 1, int kPairs = 0>
__global__ void __launch_bounds__(kThreads, 1) decode_ksplit_kernel(const __grid_constant__ CUtensorMap kv_map, DecodeArgs a,
                                                                Hints h) {
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  const uint32_t raw = (uint32_t)__cvta_generic_to_shared(smem_raw);
  const uint32_t base = (raw + 1023u) & ~1023u;
  unsigned char* gbase = smem_raw + (base - raw);
  const uint32_t barFull = base + kOffBar;
  const uint32_t barEmpty = barFull + kStages * kSlabs * 8;

  const int part = blockIdx.x, kvh = blockIdx.y, tile = blockIdx.z;
  const int tid = threadIdx.x;
  // warpgroup index, broadcast from lane 0 so that ptxas sees it warp-uniform (C7520 otherwise)
  const int wg = __shfl_sync(0xffffffffu, tid / 128, 0);

  volatile int* s_abort = reinterpret_cast<volatile int*>(gbase + kOffAbort);
  if (tid == 0) init_page_barriers(s_abort, barFull, kStages * kSlabs, barEmpty, kStages, kCluster * kConsumers / 32);
  // The only CTA-wide barrier; with a cluster, also no partner may multicast
  // into this CTA or arrive on its barriers before they are initialised.
  if (kCluster > 1) cluster_sync();
  else __syncthreads();
  // The kernel is launched as a programmatic dependent of the previous grid in
  // the stream (launch_ksplit_t): up to here it touched only its own shared
  // memory; nothing of global memory is read or written before that grid is done.
  griddep_wait();
  griddep_launch_dependents();
  const int32_t* sc = a.sched + (int64_t)part * kSchedInts;
  if (sc[5] == 0) return;  // uniform over the CTA (and the cluster: its CTAs share `part`, so both leave here)

  // With a cluster no CTA may leave while a partner can still arrive on its
  // empty barriers (the partners' last hand-backs): all threads meet once
  // more at the end (in each role's branch: a join of the two would cost
  // the consumers registers).
  if (wg == 2) {
    // 2 x 128 x 240 + 128 x 24 = 168 x 384, the registers the CTA got at launch
    // (asking for more makes setmaxnreg.inc wait forever)
    setmaxnreg_dec<24>();
    if (tid == 256) {
      prefetch_tensormap(&kv_map);
      MLA_TRACE_START(2);
      // (the cluster producer takes no L2 hints: with them its 24 registers
      // spill, and prefetching 1-4 pages ahead measured 2-8% slower in pairs)
      tma_page_producer<(kCluster == 1), kCluster>(a, &kv_map, kvh, sc, base + kOffKV, kTile, barFull, barEmpty, s_abort,
                                        h.pf_dist, h.evict_first != 0,
                                        [](uint32_t g, int ev) { MLA_TRACE_EV(2, g, ev); });
      MLA_TRACE_END(2);
    }
    if (kCluster > 1) cluster_sync();
    return;
  }
  setmaxnreg_inc<240>();
  if (kDry) consumer_dry<kCluster>(a, sc, tid, base, s_abort, h.hold_cycles, h.burn);
  else if (kPairs) consumer_pairs<T, kCluster, kEarly, (kPairs == 2)>(a, sc, kvh, tile, tid, wg, gbase, base, s_abort);
  else consumer<T, kEarly, kLazy, kCluster>(a, sc, kvh, tile, tid, wg, gbase, base, s_abort);
  if (kCluster > 1) cluster_sync();
}

template <typename T, bool kEarly, bool kLazy, bool kDry = false, int kCluster = 1, int kPairs = 0>
cudaError_t launch_ksplit_t(const CUtensorMap& map, const DecodeArgs& a, dim3 grid, Hints h, cudaStream_t st) {
  return launch_in_clusters_pdl(decode_ksplit_kernel<T, kEarly, kLazy, kDry, kCluster, kPairs>, grid, kCluster,
                                h.pdl != 0, kThreads, kSmem, st, map, a, h);
}

// Host: the launch of v8 (kLazy false) or v9/v10 (true) with the tensor map
// made; early: the MLA_V*_EARLY knob (stage handed back before S instead of
// after it); cluster: 1, or 2 (v10; tiles even).
template <bool kLazy, int kCluster>
cudaError_t launch_ksplit(const CUtensorMap& map, const DecodeArgs& a, int dtype, int tiles, Hints h, bool early,
                          cudaStream_t st, bool dry) {
  const dim3 grid(a.num_parts, a.h_kv, tiles);
  if (kLazy && dry && dtype == 0) return launch_ksplit_t<__nv_bfloat16, true, kLazy, true, kCluster>(map, a, grid, h, st);
  if (dtype == 0)
    return early ? launch_ksplit_t<__nv_bfloat16, true, kLazy, false, kCluster>(map, a, grid, h, st)
                 : launch_ksplit_t<__nv_bfloat16, false, kLazy, false, kCluster>(map, a, grid, h, st);
  return early ? launch_ksplit_t<__half, true, kLazy, false, kCluster>(map, a, grid, h, st)
               : launch_ksplit_t<__half, false, kLazy, false, kCluster>(map, a, grid, h, st);
}

// Host: can `clusters` pairs of CTAs of the cluster kernel all be resident at
// once? (Otherwise the last pairs would run in a second wave.) Asked once per process.
template <int kCluster = 2>
bool pairs_fit(int64_t clusters, cudaStream_t st) {
  static int max_pairs = -1;
  if (max_pairs < 0) {
    auto kernel = decode_ksplit_kernel<__nv_bfloat16, true, true, false, kCluster>;
    const ClusterLaunch launch(dim3(1, 1, kCluster), kCluster, kThreads, kSmem, st);
    int n = 0;
    if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)kSmem) != cudaSuccess ||
        cudaOccupancyMaxActiveClusters(&n, kernel, &launch.cfg) != cudaSuccess) {
      (void)cudaGetLastError();
      n = 0;
    }
    max_pairs = n;
  }
  return clusters <= max_pairs;
}

// Host: the launcher of v8, v9 and v10 (kVersion): the tensor map (or the
// documented fallback), then the knobs, read once per process from
// MLA_V<kVersion>_*: PREFETCH=d (L2 prefetch d pages ahead, default 0),
// EVICT=0/1 (default: evict-first when one row tile reads each page),
// EARLY=0/1 (default: v8 off; v9 on when several row tiles read each
// page; v10 in pairs on when partitions have few pages), for v9 and v10 DRY=1 (the data-movement probe, bf16; with HOLD=d each stage held d x 1000 cycles), and for v10
// CLUSTER=1/2. v10 runs in pairs where the row tiles come in pairs and all
// the pairs fit on the GPU at once (CLUSTER=2 forces it, CLUSTER=1 never);
// otherwise it is v9 (v9's launch and MLA_V9_* knobs). In pairs, PREFETCH
// and EVICT have no effect (the cluster producer takes no L2 hints).
// MLA_DECODE_PDL (all three versions; default 1): the decode launched as a
// programmatic dependent of the previous grid, for single CTAs (1) or also for
// v10's pairs (2), or never (0). Eighth session: ~3 us off every memory-bound
// call and off v9's b=1 call (kernels/PERF.md).
template <int kVersion>
cudaError_t launch_ksplit_from_env(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  constexpr bool kLazy = kVersion >= 9;
  char name[32];
  auto knob = [&](const char* what, int dflt) {
    snprintf(name, sizeof name, "MLA_V%d_%s", kVersion, what);
    return env_digit(name, dflt);
  };
  if constexpr (kVersion >= 10) {
    static const int cluster_env = knob("CLUSTER", -1);
    const bool pairs = tiles % 2 == 0 && cluster_env != 1 &&
                       (cluster_env == 2 || pairs_fit((int64_t)a.num_parts * a.h_kv * tiles / 2, st));
    if (!pairs) return launch_decode_v9(a, dtype, tiles, num_blocks, st);
  }
  CUtensorMap map;
  cudaError_t fallback;
  if (!tma_map_or_fallback(a, dtype, tiles, num_blocks, kPage, st, &map, &fallback)) return fallback;
  static const int pf = knob("PREFETCH", 0);
  static const int ev = knob("EVICT", -1);
  static const int early_env = knob("EARLY", -1);
  static const bool dry = kLazy && knob("DRY", 0) == 1;
  // early release: v9 on where several row tiles read each page; v10 (in
  // pairs) only where a partition has few pages (at most 32 on average, from
  // the block-table width: the latency-bound small batches; b=1 s_k=32768 on
  // the H100: 45.1 us early, 47.5-48.6 late), since with the page stream no
  // longer the limit the wait for P V(n-1) before S(n) only leaves a gap on
  // the tensor pipe (b=128 h_q=128 s_q=2: 586 us early, 552-583 late)
  const bool few_pages = (int64_t)a.b * a.max_blocks <= 32 * (int64_t)a.num_parts;
  const bool early = early_env >= 0 ? (early_env != 0) : (kVersion >= 10) ? few_pages : (kLazy && tiles > 1);
  static const int hold = knob("HOLD", 0);
  static const int burn = knob("BURN", 0);
  // the decode as a programmatic dependent of the previous launch, so that its
  // launch and prologue overlap the previous grid's tail (the combine of the call
  // before): 1 (default) for launches of single CTAs, 2 also for v10's pairs, 0 never.
  // (In pairs it measured 0.5-1 us slower at b=1 and no different elsewhere.)
  static const int pdl_env = env_digit("MLA_DECODE_PDL", 1);
  const bool pdl = pdl_env == 2 || (pdl_env == 1 && kVersion < 10);  // v10 gets here only in pairs
  const Hints h{pf, ev < 0 ? (tiles == 1) : (ev != 0), dry ? hold * 1000 : 0, burn, pdl ? 1 : 0};
  if constexpr (kVersion >= 10) {
    static const int page_pairs = knob("PAIRS", 0);
    if (page_pairs == 1 || page_pairs == 2) {  // the experiment: pages in pairs (consumer_pairs)
      const dim3 grid(a.num_parts, a.h_kv, tiles);
      if (page_pairs == 2)
        return (dtype == 0) ? launch_ksplit_t<__nv_bfloat16, false, true, false, 2, 2>(map, a, grid, h, st)
                            : launch_ksplit_t<__half, false, true, false, 2, 2>(map, a, grid, h, st);
      if (early_env != 1)
        return (dtype == 0) ? launch_ksplit_t<__nv_bfloat16, false, true, false, 2, 1>(map, a, grid, h, st)
                            : launch_ksplit_t<__half, false, true, false, 2, 1>(map, a, grid, h, st);
      return (dtype == 0) ? launch_ksplit_t<__nv_bfloat16, true, true, false, 2, 1>(map, a, grid, h, st)
                          : launch_ksplit_t<__half, true, true, false, 2, 1>(map, a, grid, h, st);
    }
  }
  return launch_ksplit<kLazy, (kVersion >= 10) ? 2 : 1>(map, a, dtype, tiles, h, early, st, dry);
}

}  // namespace
}  // namespace mla
