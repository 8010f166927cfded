// ksplit.cuh -- the page loop of v8 "ksplit", v9 "lazy" and v10 "multicast"
// (decode_v8_ksplit.cu, decode_v9_lazy.cu, decode_v10_multicast.cu say what
// each rung sets and why): one kernel template, decode_ksplit_kernel<T, early
// release, lazy softmax, cluster size>, its launch, and the pieces only it uses.
//
// Layout: 384 threads = 2 consumer warpgroups + 1 TMA producer warpgroup;
// smem Q 72 KB (its RoPE slab is exchange space), 2 page stages 144 KB, P 8 KB.
// Per page: each consumer warpgroup computes a partial S over all 64 keys and
// half of the 576 columns (18 x m64n64k16), the partials are added through
// smem, each warpgroup takes the softmax of its 32 keys, and P V (m64n256)
// updates its 256 output columns.
#pragma once
#include <cuda.h>
#include <stdio.h>
#include <type_traits>
#include "tile_common.cuh"

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
// S).
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

template <typename T>
__device__ __forceinline__ void softmax_half_page_lazy(const DecodeArgs& a, float (&sa)[16], int tok0, int wg, int lane,
                                                       int row0, int row1, int lim0, int lim1, float* sMax,
                                                       unsigned char* pP, float& m_run0, float& m_run1, float& l_run0,
                                                       float& l_run1, float (&acc)[128]) {
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
  if (__any_sync(0xffffffffu, al0 != 1.f || al1 != 1.f)) scale_rows_128(acc, al0, al1);
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
        const uint32_t o = (ks / 4) * kSlab + (ks % 4) * 32;
        if (i < 14) WgmmaWide<T>::s64(s, desc128(sQ + o, 16, 1024), desc128(sK + o, 16, 1024), i > 0);
        else WgmmaWide<T>::s64_rs(s, rq + 4 * (i - 14), desc128(sK + o, 16, 1024), 1);
      }
      wgmma_commit();
      wgmma_wait<0>();  // S(n) (and PV(n-1)) complete
      keep(s);
      keep(acc);
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

      if (kLazy) {  // v9: two barriers per page in the common case (see softmax_half_page_lazy)
        softmax_half_page_lazy<T>(a, sa, blk * kPage, wg, lane, row0, row1, lim0, lim1, sMax, pP, m_run0, m_run1,
                                  l_run0, l_run1, acc);
      } else {
        softmax_half_page<T>(a, sa, blk * kPage, wg, lane, row0, row1, lim0, lim1, sMax, pP, m_run0, m_run1, l_run0, l_run1, acc);
        fence_async_smem();
        bar_consumers();
      }

      // ---- O(64 x 256 of this warpgroup) += P V : 4 x m64n256k16, left in flight ----
      wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < kPage / 16; ++ks)
        WgmmaS32PV256<T>::pv(acc, desc128(sP + ks * 32, 16, 1024), desc128(sK + (4 * wg) * kSlab + ks * 16 * 128, kSlab, 1024));
      wgmma_commit();
    }
    if (cnt > 0) {
      wgmma_wait<0>();
      keep(acc);
      release_stage(g - 1);  // last page of the piece consumed
    }

    epilogue_two_wg<T>(a, pc, kvh, tile, wg, lane, row0, row1, acc, l_run0, l_run1, m_run0, m_run1, sSum);
  }
}

// kCluster (v10: 2): the CTAs of tiles 2c and 2c+1 form a cluster that shares
// every page (tma_page_producer's multicast); kCluster == 1 is v8/v9's kernel.
template <typename T, bool kEarly, bool kLazy, int kCluster>
__global__ void __launch_bounds__(kThreads, 1) decode_ksplit_kernel(const __grid_constant__ CUtensorMap kv_map, DecodeArgs a,
                                                                int evict_first) {
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
  // When launched as a programmatic dependent of the previous grid in the
  // stream: up to here the kernel touched only its own shared memory; nothing
  // of global memory is read or written before that grid is done.
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
      // (the cluster producer takes no L2 hint: with one its 24 registers spill)
      tma_page_producer<kCluster>(a, &kv_map, kvh, sc, base + kOffKV, kTile, barFull, barEmpty, s_abort,
                                  kCluster == 1 && evict_first != 0);
    }
    if (kCluster > 1) cluster_sync();
    return;
  }
  setmaxnreg_inc<240>();
  consumer<T, kEarly, kLazy, kCluster>(a, sc, kvh, tile, tid, wg, gbase, base, s_abort);
  if (kCluster > 1) cluster_sync();
}

// Host: one launch of the template, the element type chosen at run time.
template <bool kEarly, bool kLazy, int kCluster>
cudaError_t launch_ksplit(const CUtensorMap& map, const DecodeArgs& a, int dtype, int tiles, bool pdl, cudaStream_t st) {
  const dim3 grid(a.num_parts, a.h_kv, tiles);
  const int evict_first = tiles == 1;  // each page read by one CTA: keep it out of L2 (+0.5-1% memory-bound)
  return launch_in_clusters_pdl(dtype == 0 ? decode_ksplit_kernel<__nv_bfloat16, kEarly, kLazy, kCluster>
                                           : decode_ksplit_kernel<__half, kEarly, kLazy, kCluster>,
                                grid, kCluster, pdl, kThreads, kSmem, st, map, a, evict_first);
}

}  // namespace
}  // namespace mla
