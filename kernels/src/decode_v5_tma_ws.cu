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
//    point), the launcher falls back to v4 (or fails when MLA_V5_STRICT=1).
//  - The combine kernel is launched as a programmatic dependent (PDL): the
//    decode grid triggers launch_dependents at its start, the combine waits
//    with griddepcontrol.wait, and its launch latency hides behind the decode
//    tail (added after GPU run kernels-perf-2026-11-21-1; v5 and v6 both).
//  - MLA_V5_CHAINS=3 or 4 in the environment: 3 or 4 S accumulator chains
//    per warpgroup instead of 2 of 18 (tuning knob, read once per process).
// Still serial inside a page: S -> softmax -> PV (no softmax/GEMM overlap yet).
// smem: Q 72 KB + 2 pages 144 KB + P 8 KB + 1 KB reductions + barriers + 1 KB alignment.
#include <cuda.h>
#include <stdlib.h>
#include "common.cuh"

namespace mla {
namespace {

constexpr int kThreads = 384;                // 2 consumer warpgroups + 1 producer warpgroup
constexpr int kConsumers = 256;
constexpr int kSlab = kTileM * 128;          // 8 KB: 64 rows x 64 columns x 2 bytes
constexpr int kTile = (kDK / 64) * kSlab;    // 73728: 64 rows x 576 columns
constexpr int kSlabs = kDK / 64;             // 9
constexpr int kStages = 2;
constexpr uint32_t kOffKV = kTile;
constexpr uint32_t kOffP = 3 * kTile;
constexpr uint32_t kOffRed = kOffP + kSlab;              // sMax[2][64], sSum[2][64]
constexpr uint32_t kOffBar = kOffRed + 4 * kTileM * 4;   // full[2][9], empty[2]
constexpr uint32_t kOffAbort = kOffBar + (kStages * kSlabs + kStages) * 8;  // int: watchdog flag
constexpr size_t kSmem = kOffAbort + 8 + 1024;
static_assert(kSmem <= 232448, "v5 shared memory exceeds the sm_90 opt-in limit");

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
    // ===================== producer warp (one thread issues) =====================
    asm volatile("setmaxnreg.dec.sync.aligned.u32 24;\n" ::: "memory");
    if (tid != 256) return;
    asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(&kv_map)) : "memory");
    uint32_t g = 0;  // global page counter (same sequence as the consumers)
    for (int req = begin_req; req <= end_req; ++req) {
      const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
      const int64_t bt_row = (int64_t)req * a.bt_sb;
      for (int blk = pc.blk_begin; blk < pc.blk_end; ++blk, ++g) {
        const uint32_t stage = g & 1, round = g >> 1;
        mbar_wait(barEmpty + 8 * stage, (round & 1) ^ 1,  s_abort);
        const uint32_t full = barFull + stage * kSlabs * 8;
        if (pc.len - blk * kPage >= kPage) {
          const int page = a.block_table[bt_row + blk];
          const uint32_t dst = sKV + stage * kTile;
#pragma unroll
          for (int c = 0; c < kSlabs; ++c) {
            mbar_expect_tx(full + 8 * c, kSlab);
            tma_load_4d(dst + c * kSlab, &kv_map, c * 64, kvh, 0, page, full + 8 * c);
          }
        } else {
          // partial last page: the consumers load it (zero-filled); just signal "stage free"
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
  const int ld_row0 = tid / 72, ld_ch0 = tid % 72;  // consumer tid 0..255; 256 = 3*72 + 40
  uint32_t g = 0;

  for (int req = begin_req; req <= end_req; ++req) {
    const Piece pc = make_piece(a, req, begin_req, begin_blk, end_req, end_blk, begin_slot);
    const int cnt = pc.blk_end - pc.blk_begin;
    const int64_t bt_row = (int64_t)req * a.bt_sb;
    const T* kv_head = kv + (int64_t)kvh * a.kv_sh;

    if (cnt > 0) {
      // Q tile (once per request piece); the previous piece's GEMMs are all complete.
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
    float sc[NC][16];  // NC independent S accumulator chains (k-step ks -> chain ks % NC)
    float (&sa)[16] = sc[0];

    for (int n = 0; n < cnt; ++n, ++g) {
      const int blk = pc.blk_begin + n;
      const uint32_t stage = g & 1, par = (g >> 1) & 1;
      const uint32_t sK = sKV + stage * kTile;
      const uint32_t full = barFull + stage * kSlabs * 8;
      const int valid_rows = pc.len - blk * kPage;

      if (valid_rows < kPage) {  // partial page: load it here, zero-filling rows >= valid_rows
        mbar_wait(full, par,  s_abort);   // the producer has handed this stage over
        const int page = a.block_table[bt_row + blk];
        const T* pbase = kv_head + (int64_t)page * a.kv_sb;
        int row = ld_row0, ch = ld_ch0;
#pragma unroll 3
        for (int k = 0; k < kPage * 72 / kConsumers; ++k) {
          const bool valid = row < valid_rows;
          const T* src = valid ? pbase + (int64_t)row * a.kv_st + ch * 8 : kv;
          cpa16(sK + swz(row, ch), src, valid);
          ch += 40; row += 3;
          if (ch >= 72) { ch -= 72; row += 1; }
        }
        asm volatile("cp.async.commit_group;\n" ::: "memory");
        asm volatile("cp.async.wait_group 0;\n" ::: "memory");
        fence_async_smem();
        bar_consumers();
      }

      // ---- S(64 x 32 keys of this warpgroup) = Q K^T, issued slab by slab as the TMA lands ----
      fence_wg();
      const uint32_t kofs = wg * 32 * 128;  // key rows 32*wg.. inside each slab (1024-aligned)
#pragma unroll
      for (int c = 0; c < kSlabs; ++c) {
        mbar_wait(full + 8 * c, par,  s_abort);
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
          const uint32_t o = c * kSlab + kk * 32;
          Op<T>::s32(sc[(4 * c + kk) % NC], desc(sQ + o, 16, 1024), desc(sK + kofs + o, 16, 1024), 4 * c + kk >= NC);
        }
      }
      commit_wg();
      wait_wg0();  // S(n) and PV(n-1) complete
#pragma unroll
      for (int i = 0; i < NC; ++i) keep(sc[i]);
#pragma unroll
      for (int i = 0; i < 16; ++i) {
        float t = sc[1][i];
#pragma unroll
        for (int c = 2; c < NC; ++c) t += sc[c][i];
        sa[i] += t;
      }
#pragma unroll
      for (int i = 0; i < 128; ++i) asm volatile("" : "+f"(acc[i])::"memory");
      if (n > 0 && lane == 0) mbar_arrive(barEmpty + 8 * ((g - 1) & 1));  // page n-1 fully consumed

      // ---- scale, mask, row max (exchanged between warpgroups) ----
      float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int tok = blk * kPage + wg * 32 + j * 8 + (lane % 4) * 2 + e;
          float v0 = sa[4 * j + e];
          float v1 = sa[4 * j + 2 + e];
          v0 = (tok <= lim0) ? v0 * a.scale_log2 : -INFINITY;
          v1 = (tok <= lim1) ? v1 * a.scale_log2 : -INFINITY;
          sa[4 * j + e] = v0;
          sa[4 * j + 2 + e] = v1;
          mx0 = fmaxf(mx0, v0);
          mx1 = fmaxf(mx1, v1);
        }
      }
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
      if ((lane & 3) == 0) { sMax[wg * kTileM + row0] = mx0; sMax[wg * kTileM + row1] = mx1; }
      bar_consumers();  // also: both warpgroups' PV(n-1) are complete -> the P slab is free
      mx0 = fmaxf(mx0, sMax[(1 - wg) * kTileM + row0]);
      mx1 = fmaxf(mx1, sMax[(1 - wg) * kTileM + row1]);
      const float mn0 = fmaxf(m_run0, mx0), mn1 = fmaxf(m_run1, mx1);
      const float mu0 = (mn0 == -INFINITY) ? 0.f : mn0;
      const float mu1 = (mn1 == -INFINITY) ? 0.f : mn1;
      const float al0 = exp2f(m_run0 - mu0), al1 = exp2f(m_run1 - mu1);
      m_run0 = mn0; m_run1 = mn1;

      // ---- P -> swizzled smem slab [64 rows][64 keys] ----
      float ps0 = 0.f, ps1 = 0.f;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float p0 = exp2f(sa[4 * j + 0] - mu0), p1 = exp2f(sa[4 * j + 1] - mu0);
        const float p2 = exp2f(sa[4 * j + 2] - mu1), p3 = exp2f(sa[4 * j + 3] - mu1);
        ps0 += p0 + p1;
        ps1 += p2 + p3;
        const int chunk = wg * 4 + j;       // 16-byte chunk of the key = 8 keys
        const int within = (lane % 4) * 4;  // bytes
        *reinterpret_cast<uint32_t*>(pP + row0 * 128 + ((chunk ^ (row0 & 7)) << 4) + within) = Pack<T>::pack(p0, p1);
        *reinterpret_cast<uint32_t*>(pP + row1 * 128 + ((chunk ^ (row1 & 7)) << 4) + within) = Pack<T>::pack(p2, p3);
      }
      l_run0 = l_run0 * al0 + ps0;
      l_run1 = l_run1 * al1 + ps1;
#pragma unroll
      for (int j = 0; j < 32; ++j) {
        acc[4 * j + 0] *= al0; acc[4 * j + 1] *= al0;
        acc[4 * j + 2] *= al1; acc[4 * j + 3] *= al1;
      }
      fence_async_smem();
      bar_consumers();

      // ---- O(64 x 256 of this warpgroup) += P V : 4 x m64n256k16, left in flight ----
      fence_wg();
#pragma unroll
      for (int ks = 0; ks < kPage / 16; ++ks)
        Op<T>::pv(acc, desc(sP + ks * 32, 16, 1024), desc(sK + (4 * wg) * kSlab + ks * 16 * 128, kSlab, 1024));
      commit_wg();
    }
    if (cnt > 0) {
      wait_wg0();
#pragma unroll
      for (int i = 0; i < 128; ++i) asm volatile("" : "+f"(acc[i])::"memory");
      if (lane == 0) mbar_arrive(barEmpty + 8 * ((g - 1) & 1));  // last page of the piece consumed
    }

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
    bar_consumers();  // sSum / sQ reuse by the next request
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
// layout). A box of {64 columns, 1 head, kPage tokens, 1 page} lands in smem as
// kPage rows of 128 bytes with the 128-byte swizzle.
bool make_kv_map(const DecodeArgs& a, int num_blocks, CUtensorMap* map) {
  EncodeTiledFn enc = get_encode();
  if (!enc) return false;
  const uint64_t head_stride = (a.h_kv > 1) ? (uint64_t)a.kv_sh * 2 : (uint64_t)kDK * 2;
  cuuint64_t dims[4] = {(cuuint64_t)kDK, (cuuint64_t)a.h_kv, (cuuint64_t)kPage, (cuuint64_t)num_blocks};
  cuuint64_t strides[3] = {(cuuint64_t)head_stride, (cuuint64_t)a.kv_st * 2, (cuuint64_t)a.kv_sb * 2};
  cuuint32_t box[4] = {64, 1, (cuuint32_t)kPage, 1};
  cuuint32_t estr[4] = {1, 1, 1, 1};
  CUresult r = enc(map, CU_TENSOR_MAP_DATA_TYPE_UINT16, 4, const_cast<void*>(a.kv), dims, strides, box, estr,
                   CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                   CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return r == CUDA_SUCCESS;
}

template <typename T, int NC>
cudaError_t launch_v5(const CUtensorMap& map, const DecodeArgs& a, dim3 grid, cudaStream_t st) {
  cudaError_t e = cudaFuncSetAttribute(decode_v5_kernel<T, NC>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)kSmem);
  if (e != cudaSuccess) return e;
  decode_v5_kernel<T, NC><<<grid, kThreads, kSmem, st>>>(map, a);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_decode_v5(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  CUtensorMap map;
  if (!make_kv_map(a, num_blocks, &map)) {
    const char* strict = getenv("MLA_V5_STRICT");
    if (strict && strict[0] == '1') return cudaErrorNotSupported;
    return launch_decode_v4(a, dtype, tiles, st);  // documented fallback
  }
  dim3 grid(a.num_parts, a.h_kv, tiles);
  static const int chains = []() {
    const char* e = getenv("MLA_V5_CHAINS");  // tuning knob: 2 (default) or 4 S accumulator chains
    return (e && e[0] >= '2' && e[0] <= '4') ? e[0] - '0' : 2;
  }();
  if (dtype == 0)
    return chains == 4   ? launch_v5<__nv_bfloat16, 4>(map, a, grid, st)
           : chains == 3 ? launch_v5<__nv_bfloat16, 3>(map, a, grid, st)
                         : launch_v5<__nv_bfloat16, 2>(map, a, grid, st);
  return chains == 4 ? launch_v5<__half, 4>(map, a, grid, st)
         : chains == 3 ? launch_v5<__half, 3>(map, a, grid, st)
                       : launch_v5<__half, 2>(map, a, grid, st);
}

}  // namespace mla
