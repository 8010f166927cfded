// decode_v8_ksplit.cu -- v8 "ksplit": v5 with S split over the head dimension
// (m64n64k16 instead of m64n32k16) and an evict-first L2 policy on the KV stream.
//
// Why (measured on the H100, kernels/PERF.md "H100 (second session)"): v5's
// S stream (each warpgroup: 64 rows x its 32 keys x 576, m64n32k16 with both
// operands in shared memory) runs at 62% of the tensor peak even alone, and
// m64n64k16 at 92% (two warpgroups). v7 took whole pages per warpgroup to get
// m64n64 and lost more to the coupling of its seesaw than it gained. v8 keeps
// v5's schedule and only changes how S is cut between the warpgroups:
//  - Each warpgroup computes a partial S over all 64 keys of the page and half
//    of the 576 columns (WG0 k-steps 0..17 = columns 0..287, WG1 k-steps
//    18..35 = columns 288..575): 18 x m64n64k16 each instead of 36 x m64n32k16.
//  - The partials are added through shared memory: each warpgroup writes the
//    half of its partial that belongs to the other's 32 keys (16 floats per
//    thread; a thread's partner, the same thread of the other warpgroup, holds
//    the same C-fragment positions) and adds the other's half to its own. From
//    there on it is v5: each warpgroup owns 32 keys for the softmax.
//    One named barrier more per page than v5 (three instead of two).
//  - Exchange space without a larger footprint: WG1 writes into the RoPE slab
//    of the page's stage (only WG1's S reads it, and P V does not), WG0 into
//    the RoPE slab of Q, which is free because the last 4 k-steps of each
//    warpgroup's half (WG0: Q columns 224..287, WG1: 512..575) take Q from
//    registers as wgmma A fragments (RS form, as in v7). The stage is handed
//    back after a proxy fence (generic writes, then TMA writes).
//  - One code path for both warpgroups, their differences in data: with a
//    template per warpgroup (as v7) ptxas serialised every wgmma (C7514; v6
//    has the same advisory).
//  - KV loads carry an evict-first L2 policy when each page is read by one CTA
//    (one row tile; MLA_V8_EVICT=0/1 overrides). Measured +0.5-1% when memory-bound.
// Knobs kept for the record (read once per process; defaults = the measured best):
//  - MLA_V8_PREFETCH=d (default 0): the producer also asks L2 for the page d
//    places ahead. Measured on the H100: d=1 -7%, d=2 -20%, d=4 -40% when memory-bound.
//  - MLA_V8_EARLY=1 (default 0): hand each stage back right when its P V
//    completes (a wait before S) instead of after the next page's S. Within
//    the run-to-run spread on the compute-bound configs, -1% memory-bound.
// Partial last pages, PDL, fallback: as v5.
// smem: as v5 (Q 72 KB of which the RoPE slab is exchange space, 2 stages 144 KB, P 8 KB).
#include <cuda.h>
#include <stdlib.h>
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
static_assert(kSmem <= 232448, "v8 shared memory exceeds the sm_90 opt-in limit");

struct Hints { int pf_dist, evict_first; };

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

// The consumer loop of warpgroup wg (0 or 1) over all request pieces of the partition.
// One code path for both warpgroups, their differences in data (k-step range,
// exchange addresses): with a template per warpgroup ptxas serialised every
// wgmma of the kernel (C7514, presumably its register analysis mixing the two paths).
template <typename T, bool kEarly>
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
  const int ld_row0 = tid / 72, ld_ch0 = tid % 72;
  // Hands the stage of page gp back to the producer (one arrival per warp). Its
  // RoPE slab was exchange space (generic writes) and TMA writes it next: proxy fence first.
  auto release_stage = [&](uint32_t gp) {
    fence_async_smem();
    __syncwarp();
    if (lane == 0) mbar_arrive(barEmpty + 8 * (gp & 1));
  };
  const int ks0 = 18 * wg;  // first k-step (16 columns) of this warpgroup's half
  uint32_t g = 0;

  for (int req = begin_req; req <= end_req; ++req) {
    const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
    const int cnt = pc.blk_end - pc.blk_begin;
    const int64_t bt_row = (int64_t)req * a.bt_sb;
    const T* kv_head = kv + (int64_t)kvh * a.kv_sh;

    // Q columns 0..511 -> smem; the last 4 k-steps of each warpgroup's half (WG0:
    // columns 224..287, WG1: 512..575) -> registers as RS A fragments
    uint32_t rq[16];
    if (cnt > 0) {
      load_q_tile<T, kConsumers, 64>(a, q, req, kvh, tile, tid, [&](int row, int ch) { return sQ + sw128(row, ch); });
      cp_async_commit();
      load_q_frags(a, q, req, kvh, tile, row0, row1, lane, (ks0 + 14) * 16, rq);
      cp_async_wait<0>();
      fence_async_smem();
      bar_consumers();
    }

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

      if (valid_rows < kPage) {  // partial page: load it here, zero-filling rows >= valid_rows
        mbar_wait(full, par, s_abort);
        const int page = a.block_table[bt_row + blk];
        const T* pbase = kv_head + (int64_t)page * a.kv_sb;
        load_kv_page_256<T>(a, kv, pbase, valid_rows, ld_row0, ld_ch0, sK);
        cp_async_commit();
        cp_async_wait<0>();
        fence_async_smem();
        bar_consumers();
      }

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
      float sa[16];
      {
        const uint32_t mine = (wg == 0) ? sQ + kRopeSlab : sK + kRopeSlab;   // where this warpgroup writes
        const uint32_t other = (wg == 0) ? sK + kRopeSlab : sQ + kRopeSlab;  // where the other one wrote
        // registers 0..15 = keys 0..31 (WG0's), 16..31 = keys 32..63 (WG1's); selects, not
        // indexing by wg (which would put the array in local memory)
        float out[16];
#pragma unroll
        for (int k = 0; k < 16; ++k) { out[k] = wg ? sx[k] : sx[16 + k]; sa[k] = wg ? sx[16 + k] : sx[k]; }
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

      softmax_half_page<T>(a, sa, blk * kPage, wg, lane, row0, row1, lim0, lim1, sMax, pP, m_run0, m_run1, l_run0, l_run1, acc);
      fence_async_smem();
      bar_consumers();

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

template <typename T, bool kEarly>
__global__ void __launch_bounds__(kThreads, 1) decode_v8_kernel(const __grid_constant__ CUtensorMap kv_map, DecodeArgs a,
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
  const int32_t* sc = a.sched + (int64_t)part * kSchedInts;
  if (sc[5] == 0) return;  // uniform over the CTA

  volatile int* s_abort = reinterpret_cast<volatile int*>(gbase + kOffAbort);
  if (tid == 0) init_page_barriers(s_abort, barFull, kStages * kSlabs, barEmpty, kStages, kConsumers / 32);
  __syncthreads();  // the only CTA-wide barrier
  griddep_launch_dependents();

  if (wg == 2) {
    setmaxnreg_dec<24>();
    if (tid != 256) return;
    prefetch_tensormap(&kv_map);
    tma_page_producer<true>(a, &kv_map, kvh, sc, base + kOffKV, kTile, barFull, barEmpty, s_abort, h.pf_dist,
                            h.evict_first != 0);
    return;
  }
  setmaxnreg_inc<240>();
  consumer<T, kEarly>(a, sc, kvh, tile, tid, wg, gbase, base, s_abort);
}

template <typename T, bool kEarly>
cudaError_t launch_v8(const CUtensorMap& map, const DecodeArgs& a, dim3 grid, Hints h, cudaStream_t st) {
  cudaError_t e = cudaFuncSetAttribute(decode_v8_kernel<T, kEarly>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)kSmem);
  if (e != cudaSuccess) return e;
  decode_v8_kernel<T, kEarly><<<grid, kThreads, kSmem, st>>>(map, a, h);
  return cudaGetLastError();
}

// Tuning knob from the environment, read once per process: a digit 0..9, or `dflt`.
int env_digit(const char* name, int dflt) {
  const char* e = getenv(name);
  return (e && e[0] >= '0' && e[0] <= '9' && e[1] == 0) ? e[0] - '0' : dflt;
}

}  // namespace

cudaError_t launch_decode_v8(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  CUtensorMap map;
  if (!make_kv_map(a, num_blocks, kPage, &map)) {
    const char* strict = getenv("MLA_V5_STRICT");  // same switch for v5..v8
    if (strict && strict[0] == '1') return cudaErrorNotSupported;
    return launch_decode_v4(a, dtype, tiles, st);  // documented fallback
  }
  static const int pf = env_digit("MLA_V8_PREFETCH", 0);
  static const int ev = env_digit("MLA_V8_EVICT", -1);
  const Hints h{pf, ev < 0 ? (tiles == 1) : (ev != 0)};
  static const bool early = env_digit("MLA_V8_EARLY", 0) != 0;
  dim3 grid(a.num_parts, a.h_kv, tiles);
  if (dtype == 0)
    return early ? launch_v8<__nv_bfloat16, true>(map, a, grid, h, st) : launch_v8<__nv_bfloat16, false>(map, a, grid, h, st);
  return early ? launch_v8<__half, true>(map, a, grid, h, st) : launch_v8<__half, false>(map, a, grid, h, st);
}

}  // namespace mla
