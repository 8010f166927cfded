// decode_v6_seesaw.cu -- v6 "seesaw": v5 with the softmax taken off the tensor cores' critical path.
//
// Adds over v5 (and why):
//  - Units of 32 tokens (half a page) instead of pages, 4 TMA stages of 36 KB
//    (the same 144 KB): with Q taking 72 KB, two 72 KB page stages were the
//    most that fit, so v5 could start loading page n+1 only once page n-1
//    was fully consumed. Four half-page stages keep ~2 units of loads in flight.
//  - Alternating ownership ("seesaw"): the warpgroup w = u % 2 owns unit u. It
//    alone computes S_u = Q K_u^T (m64n32k16, all 32 keys, so Q is read once
//    per unit, not twice as in v4/v5's key split) and the softmax of S_u. The
//    other warpgroup issues S_{u+1} *before* waiting for the owner, so the
//    tensor cores run S_{u+1} (and the tail of PV_{u-1}) while the owner does
//    its softmax: the softmax leaves the critical path of the tensor pipe.
//  - One running max M for both warpgroups, handed over through smem: the
//    owner of u computes M_u = max(M_{u-1}, rowmax S_u), writes M_u and
//    P_u = exp2(S_u - M_u) (bf16, into its half of the 64-key P slab, so P_u
//    and P_{u-1} coexist) and signals with bar.arrive; the other warpgroup
//    bar.syncs on it. Both rescale their half of O by exp2(M_{u-1} - M_u)
//    and run PV_u (2 x m64n256k16) on their 256 output columns. Row sums are
//    kept per owner and added in the epilogue.
//  - No CTA-wide or consumer-wide barrier per unit any more (v5 had two per
//    page): only the producer/consumer mbarriers and the 2-party hand-off.
//  - S of a unit runs as 3 independent wgmma accumulator chains of 12 k-steps
//    (v5: 2 chains of 18 per warpgroup). Only one warpgroup computes a unit's
//    S, and a single chain of 36 dependent m64n32k16 was latency-bound: the
//    first cut of v6 (GPU run kernels-perf-2026-11-21-1) ran at ~1.9 us per
//    unit, no faster than v4.
//    Default 3 chains of 12 (8 bytes of spill; GPU run 2: 993 us for
//    h_q=128 against 1064 us with 4 chains of 9, 36 bytes of spill).
//  - Combine by programmatic dependent launch, as in v5.
// Partial units (fewer than 32 valid tokens) are loaded by their S owner with
// zero-filling cp.async (no token >= seqlen is read); a KV layout the TMA
// map cannot describe is reported as in v5.
// smem: Q 72 KB + 4 units 144 KB + P 8 KB + 1 KB (M, row sums) + barriers + 1 KB alignment.
#include <cuda.h>
#include "tile_common.cuh"

namespace mla {
namespace {

constexpr int kThreads = 384;                // 2 consumer warpgroups + 1 producer warpgroup
constexpr int kConsumers = 256;
constexpr int kUnit = 32;                    // tokens per pipeline unit (half a page)
constexpr int kSlabU = kUnit * 128;          // 4 KB: 32 tokens x 64 columns (KV unit)
constexpr int kTile = (kDK / 64) * kSlab;    // 73728: Q, 64 rows x 576 columns
constexpr int kSlabs = kDK / 64;             // 9
constexpr int kUnitBytes = kSlabs * kSlabU;  // 36864: one KV unit
constexpr int kStages = 4;                   // 4 units = 2 pages in flight
constexpr uint32_t kOffKV = kTile;
constexpr uint32_t kOffP = kOffKV + kStages * kUnitBytes;
constexpr uint32_t kOffRed = kOffP + kSlab;              // sM[2][64], sSum[2][64]
constexpr uint32_t kOffBar = kOffRed + 4 * kTileM * 4;   // full[4][9], empty[4]
constexpr uint32_t kOffAbort = kOffBar + (kStages * kSlabs + kStages) * 8;  // int: watchdog flag
constexpr size_t kSmem = kOffAbort + 8 + 1024;
static_assert(kSmem <= 232448, "v6 shared memory exceeds the sm_90 opt-in limit");

// M/P hand-off between the warpgroups: barrier 2 + parity; the owner arrives
// (named_bar_arrive<256>), the other waits (named_bar_sync<256>). Barrier 4 + wg:
// one warpgroup only (partial-unit loads).

// S: m64n32k16 (acc == 0 overwrites D), PV: m64n256k16 (see hopper_ptx.cuh)
template <typename T>
using Op = WgmmaS32PV256<T>;

template <typename T, int NC>
__global__ void __launch_bounds__(kThreads, 1) decode_v6_kernel(const __grid_constant__ CUtensorMap kv_map, DecodeArgs a) {
  static_assert(NC == 3, "3 S accumulator chains (4 measured slower)");
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  const uint32_t raw = (uint32_t)__cvta_generic_to_shared(smem_raw);
  const uint32_t base = (raw + 1023u) & ~1023u;
  unsigned char* gbase = smem_raw + (base - raw);
  const uint32_t sQ = base, sKV = base + kOffKV, sP = base + kOffP;
  unsigned char* pP = gbase + kOffP;
  float* sM = reinterpret_cast<float*>(gbase + kOffRed);  // [parity][64]: running max after unit u
  float* sSum = sM + 2 * kTileM;                          // [wg][64]
  const uint32_t barFull = base + kOffBar;                  // [stage][slab]
  const uint32_t barEmpty = barFull + kStages * kSlabs * 8; // [stage]

  const int part = blockIdx.x, kvh = blockIdx.y, tile = blockIdx.z;
  const int tid = threadIdx.x, lane = tid % 32;
  // Broadcast from lane 0 so that ptxas knows the warpgroup index is warp-uniform:
  // with the plain tid / 128 it serialised every wgmma of the role-dependent
  // branches below (advisory C7520), which is what the first measurements of
  // v6 (kernels-perf-2026-11-21-1..3) paid.
  const int wg = __shfl_sync(0xffffffffu, tid / 128, 0), wwarp = (tid % 128) / 32;
  const int32_t* sc = a.sched + (int64_t)part * kSchedInts;
  if (sc[5] == 0) return;  // uniform over the CTA
  const int begin_req = sc[0], begin_blk = sc[1], end_req = sc[2], end_blk = sc[3], begin_slot = sc[4];

  volatile int* s_abort = reinterpret_cast<volatile int*>(gbase + kOffAbort);  // watchdog flag (see mbar_wait)
  start_page_staged(tid, s_abort, barFull, kStages * kSlabs, barEmpty, kStages, kConsumers / 32);

  if (wg == 2) {
    // ===================== producer warpgroup (one thread issues) =====================
    setmaxnreg_dec<24>();
    if (tid != 256) return;
    prefetch_tensormap(&kv_map);
    uint32_t gu = 0;  // global unit counter (same sequence as the consumers)
    for (int req = begin_req; req <= end_req; ++req) {
      const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
      const int64_t bt_row = (int64_t)req * a.bt_sb;
      const int t_end = min(pc.len, pc.blk_end * kPage), t_begin = pc.blk_begin * kPage;
      const int cnt = (t_end > t_begin) ? (t_end - t_begin + kUnit - 1) / kUnit : 0;
      for (int u = 0; u < cnt; ++u, ++gu) {
        const uint32_t stage = gu % kStages, round = gu / kStages;
        mbar_wait(barEmpty + 8 * stage, (round & 1) ^ 1,  s_abort);
        const uint32_t full = barFull + stage * kSlabs * 8;
        const int blk = pc.blk_begin + u / 2, half = u & 1;
        if (pc.len - (blk * kPage + half * kUnit) >= kUnit) {
          const int page = a.block_table[bt_row + blk];
          const uint32_t dst = sKV + stage * kUnitBytes;
#pragma unroll
          for (int c = 0; c < kSlabs; ++c) {
            mbar_expect_tx(full + 8 * c, kSlabU);
            tma_load_4d(dst + c * kSlabU, &kv_map, c * 64, kvh, half * kUnit, page, full + 8 * c);
          }
        } else {
          // partial unit: its S owner loads it (zero-filled); just signal "stage free"
#pragma unroll
          for (int c = 0; c < kSlabs; ++c) mbar_arrive(full + 8 * c);
        }
      }
    }
    return;
  }

  // ===================== consumer warpgroups =====================
  setmaxnreg_inc<240>();
  const T* q = reinterpret_cast<const T*>(a.q);
  const T* kv = reinterpret_cast<const T*>(a.kv);
  const int row0 = wwarp * 16 + lane / 4, row1 = row0 + 8;
  const int wtid = tid % 128;
  uint32_t gu = 0;  // global unit counter of the first unit of the current piece

  for (int req = begin_req; req <= end_req; ++req) {
    const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
    const int t_end = min(pc.len, pc.blk_end * kPage), t_begin = pc.blk_begin * kPage;
    const int cnt = (t_end > t_begin) ? (t_end - t_begin + kUnit - 1) / kUnit : 0;
    const int64_t bt_row = (int64_t)req * a.bt_sb;
    const T* kv_head = kv + (int64_t)kvh * a.kv_sh;

    // Q tile (once per request piece); every GEMM of the previous piece is complete.
    if (cnt > 0) load_q_tile_sync<T, kConsumers>(a, q, req, kvh, tile, tid, sQ);

    const int lim0 = row_limit(a, pc.len, tile * kTileM + row0);
    const int lim1 = row_limit(a, pc.len, tile * kTileM + row1);
    float m_run0 = -INFINITY, m_run1 = -INFINITY, l_run0 = 0.f, l_run1 = 0.f;
    float acc[128];
    zero(acc);
    float sc[NC][16];  // NC independent accumulator chains for S (k-step ks -> chain ks % NC)
    float (&s)[16] = sc[0];

    // S(unit u) = Q K_u^T (64 x 32 keys), issued by the owner of u slab by slab as the TMA lands.
    auto issue_S = [&](int u) {
      const uint32_t g = gu + u, stage = g % kStages, par = (g / kStages) & 1;
      const uint32_t sK = sKV + stage * kUnitBytes;
      const uint32_t full = barFull + stage * kSlabs * 8;
      const int blk = pc.blk_begin + u / 2, half = u & 1;
      const int valid_rows = pc.len - (blk * kPage + half * kUnit);
      if (valid_rows < kUnit) {  // partial unit: this warpgroup loads it, zero-filling rows >= valid_rows
        mbar_wait(full, par,  s_abort);    // the producer has handed this stage over
        const int page = a.block_table[bt_row + blk];
        const T* pbase = kv_head + (int64_t)page * a.kv_sb + (int64_t)(half * kUnit) * a.kv_st;
        for (int i = wtid; i < kUnit * 72; i += 128) {
          const int row = i / 72, ch = i % 72;
          const bool valid = row < valid_rows;
          const T* src = valid ? pbase + (int64_t)row * a.kv_st + ch * 8 : kv;
          cp_async16(sK + (ch >> 3) * kSlabU + row * 128 + (((ch & 7) ^ (row & 7)) << 4), src, valid);
        }
        cp_async_commit();
        cp_async_wait<0>();
        fence_async_smem();
        named_bar_sync<128>(4 + wg);
      }
      wgmma_fence();
#pragma unroll
      for (int c = 0; c < kSlabs; ++c) {
        mbar_wait(full + 8 * c, par,  s_abort);
#pragma unroll
        for (int kk = 0; kk < 4; ++kk)
          Op<T>::s32(sc[(4 * c + kk) % NC], desc128(sQ + c * kSlab + kk * 32, 16, 1024),
                     desc128(sK + c * kSlabU + kk * 32, 16, 1024), 4 * c + kk >= NC);
      }
    };
    // O(64 x 256 of this warpgroup) += P_u V_u (2 x m64n256k16), left in flight.
    auto issue_PV = [&](int u) {
      const uint32_t sV = sKV + ((gu + u) % kStages) * kUnitBytes + (4 * wg) * kSlabU;
      wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < kUnit / 16; ++ks)
        Op<T>::pv(acc, desc128(sP + (u & 1) * 64 + ks * 32, 16, 1024), desc128(sV + ks * 16 * 128, kSlabU, 1024));
      wgmma_commit();
    };
    auto release = [&](int u) {  // this warpgroup is done with unit u (its PV has completed)
      if (lane == 0) mbar_arrive(barEmpty + 8 * ((gu + u) % kStages));
    };

    if (cnt > 0 && wg == 0) {
      issue_S(0);
      wgmma_commit();
      wgmma_commit();  // empty group: own(0) below waits with wait_group 1 like every own(u)
    }
    for (int u = 0; u < cnt; ++u) {
      const int par = u & 1;
      if (par == wg) {
        // ---------------- owner of unit u: softmax, publish M_u and P_u ----------------
        wgmma_wait<1>();  // S_u complete (the PV of unit u-1 may still run)
#pragma unroll
        for (int c = 0; c < NC; ++c) keep(sc[c]);
#pragma unroll
        for (int i = 0; i < 16; ++i) {
          float t = sc[1][i];
#pragma unroll
          for (int c = 2; c < NC; ++c) t += sc[c][i];
          s[i] += t;
        }
        float mx0, mx1;
        scale_mask_half_page(a, s, t_begin + u * kUnit, lane, lim0, lim1, mx0, mx1);
        mx0 = quad_max(mx0);
        mx1 = quad_max(mx1);
        float mu0, mu1;
        const float al0 = move_max(m_run0, fmaxf(m_run0, mx0), mu0), al1 = move_max(m_run1, fmaxf(m_run1, mx1), mu1);
        // P_u -> keys 32*(u&1).. of the P slab. Its previous reader (PV of unit u-2) is complete
        // in both warpgroups: ours by wait_group 1 above, the other's before it published M_{u-1}.
        float ps0, ps1;
        store_half_page_p<T>(s, mu0, mu1, pP, par, lane, row0, row1, ps0, ps1);
        if ((lane & 3) == 0) { sM[par * kTileM + row0] = m_run0; sM[par * kTileM + row1] = m_run1; }
        fence_async_smem();
        wgmma_wait<0>();  // our PV of unit u-1 is complete: O may be rescaled, and unit u-1 released
        keep(acc);
        named_bar_arrive<256>(2 + par);  // M_u and P_u are visible to the other warpgroup
        if (u > 0) release(u - 1);
        l_run0 = l_run0 * al0 + ps0;
        l_run1 = l_run1 * al1 + ps1;
        scale_rows_128(acc, al0, al1);
        named_bar_sync<128>(4 + wg);  // all four warps' P_u stores are in before our own wgmma reads them
        issue_PV(u);
      } else {
        // ---------------- other warpgroup: next S first, then consume M_u / P_u ----------------
        if (u + 1 < cnt) issue_S(u + 1);  // runs on the tensor cores during the owner's softmax
        wgmma_commit();                       // (an empty group when there is no next unit)
        named_bar_sync<256>(2 + par);
        float mu0, mu1;
        const float al0 = move_max(m_run0, sM[par * kTileM + row0], mu0), al1 = move_max(m_run1, sM[par * kTileM + row1], mu1);
        wgmma_wait<1>();  // our PV of unit u-1 is complete (S_{u+1} may still run)
        keep(acc);
        if (u > 0) release(u - 1);
        l_run0 *= al0;
        l_run1 *= al1;
        scale_rows_128(acc, al0, al1);
        issue_PV(u);
      }
    }
    if (cnt > 0) {
      wgmma_wait<0>();
      keep(acc);
      release(cnt - 1);
    }
    gu += cnt;

    epilogue_two_wg<T>(a, pc, kvh, tile, wg, lane, row0, row1, acc, l_run0, l_run1, m_run0, m_run1, sSum);
  }
}

}  // namespace

cudaError_t launch_decode_v6(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  return launch_tma_rung(decode_v6_kernel<__nv_bfloat16, 3>, decode_v6_kernel<__half, 3>, kThreads, kSmem, kUnit, a, dtype, tiles, num_blocks, st);
}

}  // namespace mla
