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
//    h_q=128 against 1064 us with 4 chains of 9, 36 bytes of spill);
//    MLA_V6_CHAINS=4 in the environment selects 4 (tuning knob, read once).
//  - Combine by programmatic dependent launch, as in v5.
// Partial units (fewer than 32 valid tokens) are loaded by their S owner with
// zero-filling cp.async (no token >= seqlen is read); the TMA map falls back
// to v4 exactly as in v5.
// smem: Q 72 KB + 4 units 144 KB + P 8 KB + 1 KB (M, row sums) + barriers + 1 KB alignment.
#include <cuda.h>
#include <stdlib.h>
#include "common.cuh"

namespace mla {
namespace {

constexpr int kThreads = 384;                // 2 consumer warpgroups + 1 producer warpgroup
constexpr int kConsumers = 256;
constexpr int kUnit = 32;                    // tokens per pipeline unit (half a page)
constexpr int kSlab = kTileM * 128;          // 8 KB: 64 rows x 64 columns (Q, P)
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

__device__ __forceinline__ uint32_t swz(int row, int chunk) {
  return (uint32_t)((chunk >> 3) * kSlab + row * 128 + (((chunk & 7) ^ (row & 7)) << 4));
}
__device__ __forceinline__ void cpa16(uint32_t dst, const void* src, bool valid) {
  int sz = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(sz) : "memory");
}
__device__ __forceinline__ uint64_t desc(uint32_t saddr, uint32_t lbo, uint32_t sbo) {
  return (uint64_t)((saddr & 0x3FFFF) >> 4) | ((uint64_t)((lbo & 0x3FFFF) >> 4) << 16) |
         ((uint64_t)((sbo & 0x3FFFF) >> 4) << 32) | ((uint64_t)1 << 62);
}
__device__ __forceinline__ void fence_wg() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void commit_wg() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wait_wg0() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
__device__ __forceinline__ void bar_consumers() { asm volatile("bar.sync 1, 256;\n" ::: "memory"); }
// M/P hand-off between the warpgroups: barrier 2 + parity; the owner arrives, the other waits.
__device__ __forceinline__ void bar_handoff_arrive(int par) {
  asm volatile("bar.arrive %0, 256;\n" ::"r"(2 + par) : "memory");
}
__device__ __forceinline__ void bar_handoff_wait(int par) {
  asm volatile("bar.sync %0, 256;\n" ::"r"(2 + par) : "memory");
}
// one warpgroup only (partial-unit loads): barrier 4 + wg
__device__ __forceinline__ void bar_wg(int wg) { asm volatile("bar.sync %0, 128;\n" ::"r"(4 + wg) : "memory"); }
__device__ __forceinline__ void wait_wg1() { asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory"); }
__device__ __forceinline__ void fence_async_smem() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void keep(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}

// ---- mbarriers ----
__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
  asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.shared::cta.b64 st, [%0];\n}\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_expect_tx(uint32_t bar, uint32_t bytes) {
  asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.expect_tx.shared::cta.b64 st, [%0], %1;\n}\n" ::"r"(bar), "r"(bytes)
               : "memory");
}
// Spins until the phase of the given parity has completed. Watchdog: after
// ~2^31 cycles (~1 s) without progress the wait gives up and raises a per-CTA
// abort flag that makes every later wait of the CTA give up at once, so a lost
// arrival (a bug) ends the kernel with wrong results instead of hanging the
// GPU. (A __trap() here made ptxas serialise the wgmma pipeline.)
__device__ __forceinline__ bool mbar_try(uint32_t bar, uint32_t parity) {
  uint32_t ok;
  asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
               : "=r"(ok) : "r"(bar), "r"(parity) : "memory");
  return ok != 0;
}
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity, volatile int* abort_flag) {
  if (mbar_try(bar, parity)) return;
  const long long t0 = clock64();
  for (;;) {
    if (mbar_try(bar, parity) || *abort_flag) return;
    if (clock64() - t0 > (1ll << 31)) { *abort_flag = 1; return; }
  }
}
__device__ __forceinline__ void tma_load_4d(uint32_t dst, const CUtensorMap* map, int c0, int c1, int c2, int c3,
                                            uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], [%6];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar)
      : "memory");
}

#define D128(d) "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
#define L128 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}"
#define D16(d)                                                                                              \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), \
      "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
#define L16 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}"

template <typename T> struct Op;
template <> struct Op<__nv_bfloat16> {
  // S: D(64x32) (+)= A(smem K-major) B(smem K-major); acc == 0 overwrites D
  static __device__ __forceinline__ void s32(float* d, uint64_t da, uint64_t db, int acc) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 " L16 ", %16, %17, p, 1, 1, 0, 0;\n}\n"
                 : D16(d) : "l"(da), "l"(db), "r"(acc));
  }
  // PV: D(64x256) += A(smem K-major) B(smem MN-major)
  static __device__ __forceinline__ void pv(float* d, uint64_t da, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 " L128 ", %128, %129, p, 1, 1, 0, 1;\n}\n"
                 : D128(d) : "l"(da), "l"(db), "r"(1));
  }
};
template <> struct Op<__half> {
  static __device__ __forceinline__ void s32(float* d, uint64_t da, uint64_t db, int acc) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 " L16 ", %16, %17, p, 1, 1, 0, 0;\n}\n"
                 : D16(d) : "l"(da), "l"(db), "r"(acc));
  }
  static __device__ __forceinline__ void pv(float* d, uint64_t da, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 " L128 ", %128, %129, p, 1, 1, 0, 1;\n}\n"
                 : D128(d) : "l"(da), "l"(db), "r"(1));
  }
};

// The piece of request `req` that partition `sc` handles (same for producer and consumers).
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

template <typename T, int NC>
__global__ void __launch_bounds__(kThreads, 1) decode_v6_kernel(const __grid_constant__ CUtensorMap kv_map, DecodeArgs a) {
  static_assert(NC == 3 || NC == 4, "3 or 4 S accumulator chains");
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
  const int wg = tid / 128, wwarp = (tid % 128) / 32;
  const int32_t* sc = a.sched + (int64_t)part * kSchedInts;
  if (sc[5] == 0) return;  // uniform over the CTA
  const int begin_req = sc[0], begin_blk = sc[1], end_req = sc[2], end_blk = sc[3], begin_slot = sc[4];

  volatile int* s_abort = reinterpret_cast<volatile int*>(gbase + kOffAbort);  // watchdog flag (see mbar_wait)
  if (tid == 0) {
    *s_abort = 0;
#pragma unroll
    for (int i = 0; i < kStages * kSlabs; ++i) mbar_init(barFull + 8 * i, 1);
#pragma unroll
    for (int s = 0; s < kStages; ++s) mbar_init(barEmpty + 8 * s, kConsumers / 32);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();  // the only CTA-wide barrier
  // Let the combine kernel (programmatic dependent launch) be scheduled now; it
  // waits for this grid's completion itself (griddepcontrol.wait).
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");

  if (wg == 2) {
    // ===================== producer warpgroup (one thread issues) =====================
    asm volatile("setmaxnreg.dec.sync.aligned.u32 24;\n" ::: "memory");
    if (tid != 256) return;
    asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(&kv_map)) : "memory");
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
  asm volatile("setmaxnreg.inc.sync.aligned.u32 240;\n" ::: "memory");
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

    if (cnt > 0) {
      // Q tile (once per request piece); every GEMM of the previous piece is complete.
      for (int i = tid; i < kTileM * 72; i += kConsumers) {
        int row = i / 72, ch = i % 72;
        int m = tile * kTileM + row;
        bool valid = m < a.rows;
        const T* src = q;
        if (valid) {
          int s_idx = m / a.G, head = kvh * a.G + m % a.G;
          src = q + (int64_t)req * a.q_sb + (int64_t)s_idx * a.q_ss + (int64_t)head * a.q_sh + ch * 8;
        }
        cpa16(sQ + swz(row, ch), src, valid);
      }
      asm volatile("cp.async.commit_group;\n" ::: "memory");
      asm volatile("cp.async.wait_group 0;\n" ::: "memory");
      fence_async_smem();
      bar_consumers();
    }

    const int lim0 = row_limit(a, pc.len, tile * kTileM + row0);
    const int lim1 = row_limit(a, pc.len, tile * kTileM + row1);
    float m_run0 = -INFINITY, m_run1 = -INFINITY, l_run0 = 0.f, l_run1 = 0.f;
    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) acc[i] = 0.f;
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
          cpa16(sK + (ch >> 3) * kSlabU + row * 128 + (((ch & 7) ^ (row & 7)) << 4), src, valid);
        }
        asm volatile("cp.async.commit_group;\n" ::: "memory");
        asm volatile("cp.async.wait_group 0;\n" ::: "memory");
        fence_async_smem();
        bar_wg(wg);
      }
      fence_wg();
#pragma unroll
      for (int c = 0; c < kSlabs; ++c) {
        mbar_wait(full + 8 * c, par,  s_abort);
#pragma unroll
        for (int kk = 0; kk < 4; ++kk)
          Op<T>::s32(sc[(4 * c + kk) % NC], desc(sQ + c * kSlab + kk * 32, 16, 1024),
                     desc(sK + c * kSlabU + kk * 32, 16, 1024), 4 * c + kk >= NC);
      }
    };
    // O(64 x 256 of this warpgroup) += P_u V_u (2 x m64n256k16), left in flight.
    auto issue_PV = [&](int u) {
      const uint32_t sV = sKV + ((gu + u) % kStages) * kUnitBytes + (4 * wg) * kSlabU;
      fence_wg();
#pragma unroll
      for (int ks = 0; ks < kUnit / 16; ++ks)
        Op<T>::pv(acc, desc(sP + (u & 1) * 64 + ks * 32, 16, 1024), desc(sV + ks * 16 * 128, kSlabU, 1024));
      commit_wg();
    };
    auto release = [&](int u) {  // this warpgroup is done with unit u (its PV has completed)
      if (lane == 0) mbar_arrive(barEmpty + 8 * ((gu + u) % kStages));
    };

    if (cnt > 0 && wg == 0) {
      issue_S(0);
      commit_wg();
      commit_wg();  // empty group: own(0) below waits with wait_group 1 like every own(u)
    }
    for (int u = 0; u < cnt; ++u) {
      const int par = u & 1;
      if (par == wg) {
        // ---------------- owner of unit u: softmax, publish M_u and P_u ----------------
        wait_wg1();  // S_u complete (the PV of unit u-1 may still run)
#pragma unroll
        for (int c = 0; c < NC; ++c) keep(sc[c]);
#pragma unroll
        for (int i = 0; i < 16; ++i) {
          float t = sc[1][i];
#pragma unroll
          for (int c = 2; c < NC; ++c) t += sc[c][i];
          s[i] += t;
        }
        const int tok0 = t_begin + u * kUnit;
        float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int tok = tok0 + j * 8 + (lane % 4) * 2 + e;
            const float v0 = (tok <= lim0) ? s[4 * j + e] * a.scale_log2 : -INFINITY;
            const float v1 = (tok <= lim1) ? s[4 * j + 2 + e] * a.scale_log2 : -INFINITY;
            s[4 * j + e] = v0;
            s[4 * j + 2 + e] = v1;
            mx0 = fmaxf(mx0, v0);
            mx1 = fmaxf(mx1, v1);
          }
        }
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
        const float mn0 = fmaxf(m_run0, mx0), mn1 = fmaxf(m_run1, mx1);
        const float mu0 = (mn0 == -INFINITY) ? 0.f : mn0;
        const float mu1 = (mn1 == -INFINITY) ? 0.f : mn1;
        const float al0 = exp2f(m_run0 - mu0), al1 = exp2f(m_run1 - mu1);
        m_run0 = mn0; m_run1 = mn1;
        // P_u -> keys 32*(u&1).. of the P slab. Its previous reader (PV of unit u-2) is complete
        // in both warpgroups: ours by wait_group 1 above, the other's before it published M_{u-1}.
        float ps0 = 0.f, ps1 = 0.f;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const float p0 = exp2f(s[4 * j + 0] - mu0), p1 = exp2f(s[4 * j + 1] - mu0);
          const float p2 = exp2f(s[4 * j + 2] - mu1), p3 = exp2f(s[4 * j + 3] - mu1);
          ps0 += p0 + p1;
          ps1 += p2 + p3;
          const int chunk = par * 4 + j;
          const int within = (lane % 4) * 4;
          *reinterpret_cast<uint32_t*>(pP + row0 * 128 + ((chunk ^ (row0 & 7)) << 4) + within) = Pack<T>::pack(p0, p1);
          *reinterpret_cast<uint32_t*>(pP + row1 * 128 + ((chunk ^ (row1 & 7)) << 4) + within) = Pack<T>::pack(p2, p3);
        }
        if ((lane & 3) == 0) { sM[par * kTileM + row0] = mn0; sM[par * kTileM + row1] = mn1; }
        fence_async_smem();
        wait_wg0();  // our PV of unit u-1 is complete: O may be rescaled, and unit u-1 released
#pragma unroll
        for (int i = 0; i < 128; ++i) asm volatile("" : "+f"(acc[i])::"memory");
        bar_handoff_arrive(par);  // M_u and P_u are visible to the other warpgroup
        if (u > 0) release(u - 1);
        l_run0 = l_run0 * al0 + ps0;
        l_run1 = l_run1 * al1 + ps1;
#pragma unroll
        for (int j = 0; j < 32; ++j) {
          acc[4 * j + 0] *= al0; acc[4 * j + 1] *= al0;
          acc[4 * j + 2] *= al1; acc[4 * j + 3] *= al1;
        }
        bar_wg(wg);  // all four warps' P_u stores are in before our own wgmma reads them
        issue_PV(u);
      } else {
        // ---------------- other warpgroup: next S first, then consume M_u / P_u ----------------
        if (u + 1 < cnt) issue_S(u + 1);  // runs on the tensor cores during the owner's softmax
        commit_wg();                       // (an empty group when there is no next unit)
        bar_handoff_wait(par);
        const float mn0 = sM[par * kTileM + row0], mn1 = sM[par * kTileM + row1];
        const float mu0 = (mn0 == -INFINITY) ? 0.f : mn0;
        const float mu1 = (mn1 == -INFINITY) ? 0.f : mn1;
        const float al0 = exp2f(m_run0 - mu0), al1 = exp2f(m_run1 - mu1);
        m_run0 = mn0; m_run1 = mn1;
        wait_wg1();  // our PV of unit u-1 is complete (S_{u+1} may still run)
#pragma unroll
        for (int i = 0; i < 128; ++i) asm volatile("" : "+f"(acc[i])::"memory");
        if (u > 0) release(u - 1);
        l_run0 *= al0;
        l_run1 *= al1;
#pragma unroll
        for (int j = 0; j < 32; ++j) {
          acc[4 * j + 0] *= al0; acc[4 * j + 1] *= al0;
          acc[4 * j + 2] *= al1; acc[4 * j + 3] *= al1;
        }
        issue_PV(u);
      }
    }
    if (cnt > 0) {
      wait_wg0();
#pragma unroll
      for (int i = 0; i < 128; ++i) asm volatile("" : "+f"(acc[i])::"memory");
      release(cnt - 1);
    }
    gu += cnt;

    // ---- epilogue: row sums of both warpgroups ----
    l_run0 += __shfl_xor_sync(0xffffffffu, l_run0, 1);
    l_run0 += __shfl_xor_sync(0xffffffffu, l_run0, 2);
    l_run1 += __shfl_xor_sync(0xffffffffu, l_run1, 1);
    l_run1 += __shfl_xor_sync(0xffffffffu, l_run1, 2);
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
    bar_consumers();  // sSum / sQ / sM reuse by the next request
  }
}

typedef CUresult (*EncodeTiledFn)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                  const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                  CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

EncodeTiledFn get_encode() {
  static EncodeTiledFn fn = []() -> EncodeTiledFn {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult q;
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess) {
      cudaGetLastError();
      return nullptr;
    }
    return reinterpret_cast<EncodeTiledFn>(p);
  }();
  return fn;
}

// Tensor map over the whole KV pool: {576 columns, h_kv heads, 64 tokens, num_blocks pages}
// (dimensions ordered by increasing stride for the natural [blocks][64][h_kv][576]
// layout). A box of {64 columns, 1 head, kUnit tokens, 1 page} lands in smem as
// kUnit rows of 128 bytes with the 128-byte swizzle.
bool make_kv_map(const DecodeArgs& a, int num_blocks, CUtensorMap* map) {
  EncodeTiledFn enc = get_encode();
  if (!enc) return false;
  const uint64_t head_stride = (a.h_kv > 1) ? (uint64_t)a.kv_sh * 2 : (uint64_t)kDK * 2;
  cuuint64_t dims[4] = {(cuuint64_t)kDK, (cuuint64_t)a.h_kv, (cuuint64_t)kPage, (cuuint64_t)num_blocks};
  cuuint64_t strides[3] = {(cuuint64_t)head_stride, (cuuint64_t)a.kv_st * 2, (cuuint64_t)a.kv_sb * 2};
  cuuint32_t box[4] = {64, 1, (cuuint32_t)kUnit, 1};
  cuuint32_t estr[4] = {1, 1, 1, 1};
  CUresult r = enc(map, CU_TENSOR_MAP_DATA_TYPE_UINT16, 4, const_cast<void*>(a.kv), dims, strides, box, estr,
                   CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                   CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return r == CUDA_SUCCESS;
}

template <typename T, int NC>
cudaError_t launch_v6(const CUtensorMap& map, const DecodeArgs& a, dim3 grid, cudaStream_t st) {
  cudaError_t e = cudaFuncSetAttribute(decode_v6_kernel<T, NC>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)kSmem);
  if (e != cudaSuccess) return e;
  decode_v6_kernel<T, NC><<<grid, kThreads, kSmem, st>>>(map, a);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_decode_v6(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  CUtensorMap map;
  if (!make_kv_map(a, num_blocks, &map)) {
    const char* strict = getenv("MLA_V5_STRICT");  // same switch for v5 and v6
    if (strict && strict[0] == '1') return cudaErrorNotSupported;
    return launch_decode_v4(a, dtype, tiles, st);  // documented fallback
  }
  dim3 grid(a.num_parts, a.h_kv, tiles);
  static const int chains = []() {
    const char* e = getenv("MLA_V6_CHAINS");  // tuning knob: 3 (default) or 4 S accumulator chains
    return (e && e[0] == '4') ? 4 : 3;
  }();
  if (dtype == 0) return chains == 3 ? launch_v6<__nv_bfloat16, 3>(map, a, grid, st) : launch_v6<__nv_bfloat16, 4>(map, a, grid, st);
  return chains == 3 ? launch_v6<__half, 3>(map, a, grid, st) : launch_v6<__half, 4>(map, a, grid, st);
}

}  // namespace mla
