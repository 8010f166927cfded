// decode_v5_tma_ws.cu -- v5 "tma_ws": v4 fed by a TMA producer warpgroup.
//
// Adds over v4 (and why):
//  - Warp specialisation: 2 consumer warpgroups + 1 producer warpgroup (384
//    threads, 168 registers at entry; setmaxnreg.dec 24 in the producer,
//    setmaxnreg.inc 240 in the consumers, which hold the 128-register O
//    accumulator). A 288-thread variant without setmaxnreg was also capped at
//    168 by ptxas (caps are sized by whole warpgroups) and spilled 2.5 KB.
//    One producer thread issues all loads; WG0/WG1 only do tensor-core work
//    and softmax. In v4 every thread issued 18 cp.async + address math per
//    page and the whole CTA met at a __syncthreads before each page could start.
//  - KV pages arrive by TMA (cp.async.bulk.tensor.4d over one tensor map that
//    covers the whole KV pool: {576 cols, h_kv, 64 tokens, num_blocks}; the
//    page coordinate comes from the block table), one 64x64 box (8 KB,
//    128-byte swizzle = the layout the wgmma descriptors expect) per 64-column
//    slab, each slab completing on its own mbarrier: QK^T starts on slab 0
//    while slabs 1..8 are still in flight (fine-grained TMA -> GEMM).
//  - Two page stages with full/empty mbarriers; a stage is handed back to the
//    producer as soon as the PV GEMM that reads it has completed, so the load
//    of page n+1 overlaps the softmax and PV of page n.
//  - PV with m64n256k16 (4 wgmma per warpgroup and page instead of 16 of
//    m64n64k16): P is re-read from smem 4x less, fewer instructions.
//  - The S GEMM of page n is issued right behind the PV GEMM of page n-1, with
//    no barrier in between: the tensor pipe sees PV(n-1), S(n) back to back.
//  - Consumer-only named barriers (bar.sync 1, 256) replace __syncthreads.
//  - The last page of a request when partial (fewer than 64 valid tokens) is
//    still loaded by the consumers with zero-filling cp.async (as v4): the ABI
//    promises that no cache data of tokens >= seqlen is read, which a 64-row
//    TMA box would violate. The producer only signals that the stage is free.
//  - If the tensor map cannot be encoded (unusual strides, no driver entry
//    point), the launch reports MLA_ERR_UNSUPPORTED (the automatic choice
//    then runs v4).
//  - The combine kernel is launched as a programmatic dependent (PDL): the
//    decode grid triggers launch_dependents at its start, the combine waits
//    with griddepcontrol.wait, and its launch latency hides behind the decode
//    tail (added after GPU run kernels-perf-2026-11-21-1; v5 and v6 both).
//  - S as 2 accumulator chains of 18 k-steps per warpgroup (NC): 3 or 4
//    chains spilled 104-280 B and were no faster (kernels/PERF.md).
// Still serial inside a page: S -> softmax -> PV (no softmax/GEMM overlap yet).
// smem: Q 72 KB + 2 pages 144 KB + P 8 KB + 1 KB reductions + barriers + 1 KB alignment.
#include <cuda.h>
#include "tile_common.cuh"

namespace mla {
namespace {

constexpr int kThreads = 384;                // 2 consumer warpgroups + 1 producer warpgroup
constexpr int kConsumers = 256;
constexpr int kTile = (kDK / 64) * kSlab;    // 73728: 64 rows x 576 columns
constexpr int kSlabs = kDK / 64;             // 9
constexpr int kStages = 2;
constexpr uint32_t kOffKV = kTile;
constexpr uint32_t kOffP = 3 * kTile;
constexpr uint32_t kOffRed = kOffP + kSlab;              // sMax[2][64], sSum[2][64]
constexpr uint32_t kOffBar = kOffRed + 4 * kTileM * 4;   // full[2][9], empty[2]
constexpr uint32_t kOffAbort = kOffBar + (kStages * kSlabs + kStages) * 8;  // int: watchdog flag
constexpr size_t kSmem = kOffAbort + 8 + 1024;
static_assert(kConsumers == 256, "load_kv_page_256 strides by 256 chunks");
static_assert(kSmem <= 232448, "v5 shared memory exceeds the sm_90 opt-in limit");

// S: m64n32k16 (acc == 0 overwrites D), PV: m64n256k16 (see hopper_ptx.cuh)
template <typename T>
using Op = WgmmaS32PV256<T>;

template <typename T, int NC>
__global__ void __launch_bounds__(kThreads, 1) decode_v5_kernel(const __grid_constant__ CUtensorMap kv_map, DecodeArgs a) {
  static_assert(NC >= 2 && NC <= 4, "2..4 S accumulator chains per warpgroup");
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  const uint32_t raw = (uint32_t)__cvta_generic_to_shared(smem_raw);
  const uint32_t base = (raw + 1023u) & ~1023u;
  unsigned char* gbase = smem_raw + (base - raw);
  const uint32_t sQ = base, sKV = base + kOffKV, sP = base + kOffP;
  unsigned char* pP = gbase + kOffP;
  float* sMax = reinterpret_cast<float*>(gbase + kOffRed);  // [2][64]
  float* sSum = sMax + 2 * kTileM;                          // [2][64]
  const uint32_t barFull = base + kOffBar;                  // [stage][slab], 8 bytes each
  const uint32_t barEmpty = barFull + kStages * kSlabs * 8; // [stage]

  const int part = blockIdx.x, kvh = blockIdx.y, tile = blockIdx.z;
  const int tid = threadIdx.x, lane = tid % 32;
  const int wg = tid / 128, wwarp = (tid % 128) / 32;
  const int32_t* sc = a.sched + (int64_t)part * kSchedInts;
  if (sc[5] == 0) return;  // uniform over the CTA
  const int begin_req = sc[0], begin_blk = sc[1], end_req = sc[2], end_blk = sc[3], begin_slot = sc[4];

  volatile int* s_abort = reinterpret_cast<volatile int*>(gbase + kOffAbort);  // watchdog flag (see mbar_wait)
  start_page_staged(tid, s_abort, barFull, kStages * kSlabs, barEmpty, kStages, kConsumers / 32);

  if (wg == 2) {
    // ===================== producer warp (one thread issues) =====================
    setmaxnreg_dec<24>();
    if (tid != 256) return;
    prefetch_tensormap(&kv_map);
    tma_page_producer(a, &kv_map, kvh, sc, sKV, kTile, barFull, barEmpty, s_abort);
    return;
  }

  // ===================== consumer warpgroups =====================
  setmaxnreg_inc<240>();
  const T* q = reinterpret_cast<const T*>(a.q);
  const T* kv = reinterpret_cast<const T*>(a.kv);
  const int row0 = wwarp * 16 + lane / 4, row1 = row0 + 8;
  uint32_t g = 0;

  for (int req = begin_req; req <= end_req; ++req) {
    const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
    const int cnt = pc.blk_end - pc.blk_begin;
    const int64_t bt_row = (int64_t)req * a.bt_sb;
    const T* kv_head = kv + (int64_t)kvh * a.kv_sh;

    // Q tile (once per request piece); the previous piece's GEMMs are all complete.
    if (cnt > 0) load_q_tile_sync<T, kConsumers>(a, q, req, kvh, tile, tid, sQ);

    const int lim0 = row_limit(a, pc.len, tile * kTileM + row0);
    const int lim1 = row_limit(a, pc.len, tile * kTileM + row1);
    float m_run0 = -INFINITY, m_run1 = -INFINITY, l_run0 = 0.f, l_run1 = 0.f;
    float acc[128];
    zero(acc);
    float sc[NC][16];  // NC independent S accumulator chains (k-step ks -> chain ks % NC)
    float (&sa)[16] = sc[0];

    for (int n = 0; n < cnt; ++n, ++g) {
      const int blk = pc.blk_begin + n;
      const uint32_t stage = g & 1, par = (g >> 1) & 1;
      const uint32_t sK = sKV + stage * kTile;
      const uint32_t full = barFull + stage * kSlabs * 8;
      const int valid_rows = pc.len - blk * kPage;

      if (valid_rows < kPage)  // partial page: load it here, zero-filling rows >= valid_rows
        load_partial_page_staged<T>(a, kv, kv_head, bt_row, blk, valid_rows, tid, sK, full, par, s_abort);

      // ---- S(64 x 32 keys of this warpgroup) = Q K^T, issued slab by slab as the TMA lands ----
      wgmma_fence();
      const uint32_t kofs = wg * 32 * 128;  // key rows 32*wg.. inside each slab (1024-aligned)
#pragma unroll
      for (int c = 0; c < kSlabs; ++c) {
        mbar_wait(full + 8 * c, par,  s_abort);
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
          const uint32_t o = c * kSlab + kk * 32;
          Op<T>::s32(sc[(4 * c + kk) % NC], desc128(sQ + o, 16, 1024), desc128(sK + kofs + o, 16, 1024), 4 * c + kk >= NC);
        }
      }
      wgmma_commit();
      wgmma_wait<0>();  // S(n) and PV(n-1) complete
#pragma unroll
      for (int i = 0; i < NC; ++i) keep(sc[i]);
#pragma unroll
      for (int i = 0; i < 16; ++i) {
        float t = sc[1][i];
#pragma unroll
        for (int c = 2; c < NC; ++c) t += sc[c][i];
        sa[i] += t;
      }
      keep(acc);
      if (n > 0 && lane == 0) mbar_arrive(barEmpty + 8 * ((g - 1) & 1));  // page n-1 fully consumed

      softmax_half_page<T>(a, sa, blk * kPage, wg, lane, row0, row1, lim0, lim1, sMax, pP, m_run0, m_run1, l_run0, l_run1, acc);
      fence_async_smem();
      bar_consumers();

      // ---- O(64 x 256 of this warpgroup) += P V : 4 x m64n256k16, left in flight ----
      wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < kPage / 16; ++ks)
        Op<T>::pv(acc, desc128(sP + ks * 32, 16, 1024), desc128(sK + (4 * wg) * kSlab + ks * 16 * 128, kSlab, 1024));
      wgmma_commit();
    }
    if (cnt > 0) {
      wgmma_wait<0>();
      keep(acc);
      if (lane == 0) mbar_arrive(barEmpty + 8 * ((g - 1) & 1));  // last page of the piece consumed
    }

    epilogue_two_wg<T>(a, pc, kvh, tile, wg, lane, row0, row1, acc, l_run0, l_run1, m_run0, m_run1, sSum);
  }
}

}  // namespace

cudaError_t launch_decode_v5(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  return launch_tma_rung(decode_v5_kernel<__nv_bfloat16, 2>, decode_v5_kernel<__half, 2>, kThreads, kSmem, kPage, a, dtype, tiles, num_blocks, st);
}

}  // namespace mla
