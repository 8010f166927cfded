// decode_v11_staggered.cu -- v11 "staggered": each warpgroup owns every other
// page, the two run half a pair out of phase so that one's softmax overlaps the
// other's tensor work, each part of a stage is reloaded by its last reader, and
// the running max is v9's lazy one.
//
// Why: in v8-v10 both warpgroups work on the same page in lock step, so the
// tensor pipe idles while both run the exchange and the softmax (~1250 of the
// ~3900 cycles of a page on the H100, kernels/PERF.md). v7 gave each warpgroup
// its own page but issued both warpgroups' S at the top of each pair and both
// softmaxes after them, so they still idled the pipe together, and a stage was
// reloaded only when both pages of the pair were done. v11 follows the schedule
// of FlashMLA's published "seesaw" write-up (written here from scratch, with
// our own smem plan and the lazy max):
//
// Pages of a request piece come in pairs: A (even piece-local index, stage 0,
// owned by warpgroup 0) and B (odd, stage 1, warpgroup 1). WG0 holds O's
// columns 0..255 (O_L), WG1 columns 256..511 (O_R). One running max M per row
// (log2 units), chained A -> B within a pair. With S_A and S_B computed:
//   WG0  softmax A: M_A = lazy(M, rowmax S_A), f_A = 2^(M - M_A)     -> smem, [A]
//        P_A = 2^(S_A - M_A); O_L = O_L f_A + P_A V_A[:, 0:256]     (P from registers)
//        reload stage 0 columns 0..255 (their last reader is done)
//        [B] P_A f_B -> stage 0's RoPE slab, [PA]; O_L *= f_B
//        [PB] O_L += P_B V_B[:, 0:256] (P from smem)
//        S of the next A page, columns 0..255 first; when P_B V_B is done,
//        reload stage 1 columns 0..255 and the RoPE slab (P_B's)
//   WG1  [A] softmax B: M_B = lazy(M_A, rowmax S_B), f_B = 2^(M_A - M_B) -> smem, [B]
//        P_B = 2^(S_B - M_B) -> stage 1's RoPE slab, [PB]
//        O_R = O_R f_A f_B + P_B V_B[:, 256:512] (P from registers)
//        [PA] O_R += P_A V_A[:, 256:512]; reload stage 1 columns 256..511 and
//        stage 0 columns 256..575 as each P V completes; S of the next B page
// ([X]: WG0 or WG1 hands X over on a named barrier / waits for it.) WG0's
// softmax runs while WG1's S is on the tensor pipe, WG1's while WG0's P_A V_A
// is, and each part of a stage goes back to TMA right after its last reader in
// program order, with no producer warpgroup and no empty barriers: 256 threads
// of up to 255 registers each.
//  - Lazy running max (v9): M moves only where a page's row maximum passes it
//    by more than 2^8; otherwise f = 1 and the O and P_A rescales are skipped
//    (warp-uniform tests).
//  - A page's P goes into its stage's RoPE slab (columns 512..575 of K, read
//    only by its S), so Q stays whole in shared memory and the plan is
//    Q 72 KB + 2 stages of 72 KB, without a P slab of its own.
//  - The reloads cross piece boundaries (each part loads the next page of
//    that stage in the partition), so the next request's first pages are in
//    flight during this request's epilogue and Q load.
//  - A partial last page is not loaded by TMA (the ABI reads no token >=
//    seqlen): the reload points only arrive on its barriers and its owner
//    copies the valid rows with zero-filling cp.async before its S.
//  - Every wgmma wait is unconditional inside each instantiation of a pair (the
//    last pairs are their own instantiations): a wait under a run-time
//    condition makes ptxas serialise every wgmma of the kernel (C7514).
// Launched as a programmatic dependent of the previous grid, as v8-v10.
#include <cuda.h>
#include "tile_common.cuh"

namespace mla {
namespace {

constexpr int kThreads = 256;                           // two warpgroups, no producer
constexpr int kSlabs = kDK / 64;                        // 9 column slabs of 64 per page
constexpr int kPageBytes = kSlabs * kSlab;              // 72 KB
constexpr int kRope = 8;                                // the slab of columns 512..575
constexpr uint32_t kOffKV = kPageBytes;                 // after Q (64 rows x 576)
constexpr uint32_t kOffRow = kOffKV + 2 * kPageBytes;   // sMA, sMB, sFA, sFB [64], sSum [2][64]
constexpr uint32_t kOffBar = kOffRow + 6 * kTileM * 4;  // full [2 stages][9 slabs]
constexpr uint32_t kOffAbort = kOffBar + 2 * kSlabs * 8;
constexpr size_t kSmem = kOffAbort + 8 + 1024;
static_assert(kSmem <= 232448, "v11 shared memory exceeds the sm_90 opt-in limit");

// The slabs each warpgroup reloads (bit c = slab c): the parts of a stage whose
// last reader it is. Stage 0: WG0 reads columns 0..255 last (its P_A V_A), WG1
// the rest (its P_A V_A, and P_A in the RoPE slab). Stage 1: WG0 reads columns
// 0..255 and P_B in the RoPE slab last, WG1 columns 256..511.
constexpr uint32_t kReload[2][2] = {{0x00F, 0x10F}, {0x1F0, 0x0F0}};  // [warpgroup][stage]

// Named barriers (1 is bar_consumers, all 256 threads): the hand-offs of a pair
// (one warpgroup's 128 threads arrive, the other's wait) and one barrier per
// warpgroup for its partial-page copies.
constexpr int kBarA = 2, kBarB = 3, kBarPA = 4, kBarPB = 5, kBarWg = 6;
__device__ __forceinline__ void hand_over(int id) { named_bar_arrive<256>(id); }
__device__ __forceinline__ void take_over(int id) { named_bar_sync<256>(id); }

// The shared-memory plan as offsets from one 1024-aligned base (addresses are
// formed where used, so that none is held in a register across the pairs).
struct Smem {
  uint32_t base;         // shared-window address
  unsigned char* gbase;  // the same as a generic pointer
  __device__ uint32_t q() const { return base; }
  __device__ uint32_t stage(int s) const { return base + kOffKV + s * kPageBytes; }
  __device__ uint32_t p_slab(int s) const { return stage(s) + kRope * kSlab; }
  __device__ unsigned char* p_slab_ptr(int s) const { return gbase + kOffKV + s * kPageBytes + kRope * kSlab; }
  __device__ float* row(int i) const { return reinterpret_cast<float*>(gbase + kOffRow) + i * kTileM; }
  __device__ float* sMA() const { return row(0); }
  __device__ float* sMB() const { return row(1); }
  __device__ float* sFA() const { return row(2); }
  __device__ float* sFB() const { return row(3); }
  __device__ float* sSum() const { return row(4); }  // [2][64]
  __device__ uint32_t full_bar(int s, int slab) const { return base + kOffBar + 8 * (s * kSlabs + slab); }
  __device__ volatile int* abort() const { return reinterpret_cast<volatile int*>(gbase + kOffAbort); }
};

// A shared-memory address hidden from the optimiser: the wgmma descriptors
// derived from it are formed at their wgmma instead of being hoisted into
// registers across the loop (v10's page-pair experiment spilled that way).
__device__ __forceinline__ uint32_t fresh(uint32_t v) {
  asm volatile("" : "+r"(v));
  return v;
}

// What a warpgroup keeps while it works through a piece.
struct Ctx {
  const DecodeArgs& a;
  const CUtensorMap* map;
  const int32_t* sc;
  Smem sm;
  Piece pc;
  int cnt, kvh, lim0, lim1, row0, row1, lane, wtid;
  bool hint;  // evict-first KV loads
};
struct RowState {
  float m0, m1, l0, l1;  // WG0: the running max of rows row0, row1; both: the row sums of the own pages
};

// Loads the slabs kMask of page n of piece pc into its stage (n % 2): thread 0
// of the warpgroup arms each slab's full barrier and issues its TMA box; for a
// partial page it only arrives (the page's owner copies it).
template <uint32_t kMask>
__device__ __forceinline__ void load_parts(const Ctx& x, const Piece& pc, int n) {
  if (x.wtid != 0) return;
  const int stage = n & 1, blk = pc.blk_begin + n;
  const bool whole = pc.len - blk * kPage >= kPage;
  const int page = whole ? x.a.block_table[(int64_t)pc.req * x.a.bt_sb + blk] : 0;
  const uint64_t policy = x.hint ? l2_evict_first_policy() : 0;
#pragma unroll
  for (int c = 0; c < kSlabs; ++c) {
    if (!(kMask >> c & 1)) continue;
    const uint32_t bar = x.sm.full_bar(stage, c), dst = x.sm.stage(stage) + c * kSlab;
    if (!whole) {
      mbar_arrive(bar);
    } else {
      mbar_expect_tx(bar, kSlab);
      if (x.hint) tma_load_4d_hint(dst, x.map, c * 64, x.kvh, 0, page, bar, policy);
      else tma_load_4d(dst, x.map, c * 64, x.kvh, 0, page, bar);
    }
  }
}
// This warpgroup's parts of page n of the piece (stage kStage = n % 2), if the piece has that page.
template <int kWg, int kStage>
__device__ __forceinline__ void reload(const Ctx& x, int n) {
  if (n < x.cnt) load_parts<kReload[kWg][kStage]>(x, x.pc, n);
}
// The first two pages of the first piece from request `from` on that has any.
// At the kernel's start, and after the last pair of each piece (by then all of
// this warpgroup's parts of both stages are free), so that the next piece's
// pages load during this piece's epilogue and the next Q load.
template <int kWg>
__device__ __forceinline__ void load_first_pages(const Ctx& x, int from) {
  for (int req = from; req <= x.sc[2]; ++req) {
    const Piece pc = make_piece(x.a, req, x.sc[0], x.sc[1], x.sc[2], x.sc[3], x.sc[4]);
    const int cnt = pc.blk_end - pc.blk_begin;
    if (cnt == 0) continue;
    load_parts<kReload[kWg][0]>(x, pc, 0);
    if (cnt > 1) load_parts<kReload[kWg][1]>(x, pc, 1);
    return;
  }
}

// A partial page (valid rows < 64) of `stage`: once every part has been handed
// over, its owner warpgroup copies the valid rows (zero-filling the rest) and
// makes them visible to wgmma.
template <typename T>
__device__ __forceinline__ void copy_partial_page(const Ctx& x, int blk, int stage, uint32_t par, int wg) {
#pragma unroll 1
  for (int c = 0; c < kSlabs; ++c) mbar_wait(x.sm.full_bar(stage, c), par, x.sm.abort());
  const T* kv = reinterpret_cast<const T*>(x.a.kv);
  const T* pbase =
      kv + (int64_t)x.kvh * x.a.kv_sh + (int64_t)x.a.block_table[(int64_t)x.pc.req * x.a.bt_sb + blk] * x.a.kv_sb;
  const uint32_t sK = x.sm.stage(stage);
  load_kv_page<T, 128>(x.a, kv, pbase, blk, x.pc.len, x.wtid, [&](int row, int ch) { return sK + sw128(row, ch); });
  cp_async_commit();
  cp_async_wait<0>();
  fence_async_smem();
  named_bar_sync<128>(kBarWg + wg);
}

// S = Q K^T of page n of the piece (stage n % 2): the slabs order[kFirst ..
// kLast-1] as one commit group, each once it has landed (a partial page is
// copied before the first part). 4 x m64n64k16 per slab of 64 columns.
template <typename T, int kFirst, int kLast>
__device__ __forceinline__ void issue_s(const Ctx& x, int n, float (&s)[32], uint32_t par, int wg,
                                        const int (&order)[kSlabs]) {
  const int stage = n & 1, blk = x.pc.blk_begin + n;
  if (kFirst == 0 && x.pc.len - blk * kPage < kPage) copy_partial_page<T>(x, blk, stage, par, wg);
  uint64_t dq = desc128(x.sm.q(), 16, 1024), dk = desc128(x.sm.stage(stage), 16, 1024);
  opaque(dq);
  opaque(dk);
  wgmma_fence();
#pragma unroll
  for (int i = kFirst; i < kLast; ++i) {
    const int c = order[i];
    mbar_wait(x.sm.full_bar(stage, c), par, x.sm.abort());
    uint64_t dqc = dq + ((c * kSlab) >> 4), dkc = dk + ((c * kSlab) >> 4);  // descriptor units of 16 bytes
    opaque(dqc);  // formed after the wait, not all 36 up front
    opaque(dkc);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) WgmmaWide<T>::s64(s, dqc + 2 * kk, dkc + 2 * kk, (i == 0 && kk == 0) ? 0 : 1);
  }
  wgmma_commit();
}
// WG0 takes an A page's columns 0..255 first (its own reload, the earliest);
// WG1 a B page's 256..511 first (its own), then the RoPE slab and 0..255 (WG0's).
__device__ constexpr int kOrderA[kSlabs] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
__device__ constexpr int kOrderB[kSlabs] = {4, 5, 6, 7, 8, 0, 1, 2, 3};

// Does some key of the page lie beyond the limit of some row of the warp?
__device__ __forceinline__ bool page_needs_mask(int tok0, int lim0, int lim1) {
  return __any_sync(0xffffffffu, tok0 + kPage - 1 > min(lim0, lim1));
}

// Row maxima (log2 units, quad-reduced) of a page's raw S, keys beyond each
// row's limit left out. S is only read: it is a wgmma accumulator, and
// non-wgmma writes to one make ptxas serialise every wgmma.
template <bool kMask>
__device__ __forceinline__ void page_rowmax(const float (&s)[32], int tok0, int lim0, int lim1, float c, int lane,
                                            float& mx0, float& mx1) {
  const int key0 = tok0 + (lane % 4) * 2;  // the token of register 4j+e is key0 + 8j + e
  mx0 = -INFINITY;
  mx1 = -INFINITY;
#pragma unroll
  for (int j = 0; j < 8; ++j)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const bool in0 = !kMask || key0 + 8 * j + e <= lim0, in1 = !kMask || key0 + 8 * j + e <= lim1;
      mx0 = fmaxf(mx0, in0 ? s[4 * j + e] : -INFINITY);
      mx1 = fmaxf(mx1, in1 ? s[4 * j + 2 + e] : -INFINITY);
    }
  mx0 = quad_max(mx0) * c;  // c > 0: the maximum of the raw values, scaled once
  mx1 = quad_max(mx1) * c;
}

// P = 2^(S c - m) of a page (0 for the keys left out) as the packed A
// fragments of P V; the thread's row sums.
template <typename T, bool kMask>
__device__ __forceinline__ void page_p(const float (&s)[32], int tok0, int lim0, int lim1, float c, float m0, float m1,
                                       int lane, uint32_t (&pb)[16], float& ps0, float& ps1) {
  const float mu0 = (m0 == -INFINITY) ? 0.f : m0, mu1 = (m1 == -INFINITY) ? 0.f : m1;
  const int key0 = tok0 + (lane % 4) * 2;
  ps0 = 0.f;
  ps1 = 0.f;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    float p[4];
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const bool in0 = !kMask || key0 + 8 * j + e <= lim0, in1 = !kMask || key0 + 8 * j + e <= lim1;
      p[e] = in0 ? ex2_approx(fmaf(s[4 * j + e], c, -mu0)) : 0.f;
      p[2 + e] = in1 ? ex2_approx(fmaf(s[4 * j + 2 + e], c, -mu1)) : 0.f;
    }
    ps0 += p[0] + p[1];
    ps1 += p[2] + p[3];
    pb[2 * j] = Pack<T>::pack(p[0], p[1]);
    pb[2 * j + 1] = Pack<T>::pack(p[2], p[3]);
  }
}

// P fragments times f0 (row0) / f1 (row1), in place (the rare raise of M by the other page).
template <typename T>
__device__ __forceinline__ void scale_p(uint32_t (&pb)[16], float f0, float f1) {
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const float2 v0 = Pack<T>::unpack(pb[2 * j]), v1 = Pack<T>::unpack(pb[2 * j + 1]);
    pb[2 * j] = Pack<T>::pack(v0.x * f0, v0.y * f0);
    pb[2 * j + 1] = Pack<T>::pack(v1.x * f1, v1.y * f1);
  }
}

// The lazy running max (v9): m moves to the page maximum mx only when mx passes
// it by more than kLazyMax; returns f = 2^(m - m_new), which rescales what was
// accumulated against m (0 when m was -inf: nothing was).
__device__ __forceinline__ float lazy_move(float& m, float mx) {
  const float mn = (mx > m + kLazyMax) ? mx : m;
  const float f = (mn == m) ? 1.f : ex2_approx(m - mn);
  m = mn;
  return f;
}
__device__ __forceinline__ bool warp_any_not_one(float f0, float f1) {
  return __any_sync(0xffffffffu, f0 != 1.f || f1 != 1.f);
}

// Warpgroup 0, one pair: A = page n (its S in sacc), B = page n + 1 when kHasB.
// kNext: S of the next A page (n + 2) is issued and complete on return.
template <typename T, bool kHasB, bool kNext>
__device__ __forceinline__ void pair_wg0(const Ctx& x, int n, float (&sacc)[32], float (&acc)[128], RowState& r,
                                         uint32_t& used) {
  const float c = x.a.scale_log2;
  const int tok0 = (x.pc.blk_begin + n) * kPage;
  const bool mask = page_needs_mask(tok0, x.lim0, x.lim1);
  float mx0, mx1;
  if (mask) page_rowmax<true>(sacc, tok0, x.lim0, x.lim1, c, x.lane, mx0, mx1);
  else page_rowmax<false>(sacc, tok0, x.lim0, x.lim1, c, x.lane, mx0, mx1);
  const float fa0 = lazy_move(r.m0, mx0), fa1 = lazy_move(r.m1, mx1);
  if ((x.lane & 3) == 0) {
    x.sm.sMA()[x.row0] = r.m0; x.sm.sMA()[x.row1] = r.m1;
    x.sm.sFA()[x.row0] = fa0; x.sm.sFA()[x.row1] = fa1;
  }
  hand_over(kBarA);
  uint32_t pb[16];
  float p0, p1;
  if (mask) page_p<T, true>(sacc, tok0, x.lim0, x.lim1, c, r.m0, r.m1, x.lane, pb, p0, p1);
  else page_p<T, false>(sacc, tok0, x.lim0, x.lim1, c, r.m0, r.m1, x.lane, pb, p0, p1);
  r.l0 = r.l0 * fa0 + p0;
  r.l1 = r.l1 * fa1 + p1;
  if (warp_any_not_one(fa0, fa1)) scale_rows_128(acc, fa0, fa1);
  pv_regs<T>(acc, pb, fresh(x.sm.stage(0)));  // O_L += P_A V_A[:, 0:256]
  wgmma_wait<0>();
  keep(acc);
  reload<0, 0>(x, n + 2);  // stage 0, columns 0..255: their last reader is done
  take_over(kBarB);  // WG1's M_B and f_B
  const float fb0 = x.sm.sFB()[x.row0], fb1 = x.sm.sFB()[x.row1];
  r.m0 = x.sm.sMB()[x.row0];
  r.m1 = x.sm.sMB()[x.row1];
  const bool raised = warp_any_not_one(fb0, fb1);
  if (raised) scale_p<T>(pb, fb0, fb1);
  store_p(x.sm.p_slab_ptr(0), pb, x.row0, x.row1, x.lane);  // P_A in the M_B frame, for WG1's P_A V_A
  fence_async_smem();
  hand_over(kBarPA);
  if (raised) scale_rows_128(acc, fb0, fb1);
  r.l0 *= fb0;
  r.l1 *= fb1;
  if (kHasB) {
    take_over(kBarPB);
    pv_smem<T>(acc, fresh(x.sm.p_slab(1)), fresh(x.sm.stage(1)));  // O_L += P_B V_B[:, 0:256]
  }
  if (kNext) {
    // columns 0..255 of the next A page first; stage 1 goes back once P_B V_B is done
    const uint32_t par = used++ & 1;
    issue_s<T, 0, 4>(x, n + 2, sacc, par, 0, kOrderA);
    wgmma_wait<1>();
    keep(acc);
    reload<0, 1>(x, n + 3);  // stage 1, columns 0..255 and the RoPE slab (P_B)
    issue_s<T, 4, kSlabs>(x, n + 2, sacc, par, 0, kOrderA);
    wgmma_wait<0>();
    keep(sacc);
    keep(acc);
  } else if (kHasB) {
    wgmma_wait<0>();
    keep(acc);
    reload<0, 1>(x, n + 3);  // stage 1, columns 0..255 and the RoPE slab (P_B)
  }
}

// Warpgroup 1, one pair: A = page n, B = page n + 1 when kHasB (its S in sacc).
// kNext: S of the next B page (n + 3) is issued and complete on return.
template <typename T, bool kHasB, bool kNext>
__device__ __forceinline__ void pair_wg1(const Ctx& x, int n, float (&sacc)[32], float (&acc)[128], RowState& r,
                                         uint32_t& used) {
  const float c = x.a.scale_log2;
  const int tok0 = (x.pc.blk_begin + n + 1) * kPage;
  const bool mask = kHasB && page_needs_mask(tok0, x.lim0, x.lim1);
  take_over(kBarA);  // WG0's M_A and f_A
  float m0 = x.sm.sMA()[x.row0], m1 = x.sm.sMA()[x.row1];
  const float fa0 = x.sm.sFA()[x.row0], fa1 = x.sm.sFA()[x.row1];
  float fb0 = 1.f, fb1 = 1.f;
  if (kHasB) {
    float mx0, mx1;
    if (mask) page_rowmax<true>(sacc, tok0, x.lim0, x.lim1, c, x.lane, mx0, mx1);
    else page_rowmax<false>(sacc, tok0, x.lim0, x.lim1, c, x.lane, mx0, mx1);
    fb0 = lazy_move(m0, mx0);
    fb1 = lazy_move(m1, mx1);
  }
  if ((x.lane & 3) == 0) {
    x.sm.sMB()[x.row0] = m0; x.sm.sMB()[x.row1] = m1;
    x.sm.sFB()[x.row0] = fb0; x.sm.sFB()[x.row1] = fb1;
  }
  hand_over(kBarB);
  uint32_t pb[16];
  float p0 = 0.f, p1 = 0.f;
  if (kHasB) {
    if (mask) page_p<T, true>(sacc, tok0, x.lim0, x.lim1, c, m0, m1, x.lane, pb, p0, p1);
    else page_p<T, false>(sacc, tok0, x.lim0, x.lim1, c, m0, m1, x.lane, pb, p0, p1);
    store_p(x.sm.p_slab_ptr(1), pb, x.row0, x.row1, x.lane);  // for WG0's P_B V_B
    fence_async_smem();
    hand_over(kBarPB);
  }
  const float f0 = fa0 * fb0, f1 = fa1 * fb1;
  r.l0 = r.l0 * f0 + p0;
  r.l1 = r.l1 * f1 + p1;
  if (warp_any_not_one(f0, f1)) scale_rows_128(acc, f0, f1);
  if (kHasB) pv_regs<T>(acc, pb, fresh(x.sm.stage(1) + 4 * kSlab));  // O_R += P_B V_B[:, 256:512]
  take_over(kBarPA);
  pv_smem<T>(acc, fresh(x.sm.p_slab(0)), fresh(x.sm.stage(0) + 4 * kSlab));  // O_R += P_A V_A[:, 256:512]
  if (kHasB) {
    wgmma_wait<1>();
    keep(acc);
    reload<1, 1>(x, n + 3);  // stage 1, columns 256..511
  }
  wgmma_wait<0>();
  keep(acc);
  reload<1, 0>(x, n + 2);  // stage 0, columns 256..575 (the RoPE slab: P_A)
  if (kNext) {
    issue_s<T, 0, kSlabs>(x, n + 3, sacc, used++ & 1, 1, kOrderB);
    wgmma_wait<0>();
    keep(sacc);
    keep(acc);
  }
}

// A warpgroup's pass over one piece: its first S, then the pairs, the last
// ones as their own instantiations.
template <typename T>
__device__ __forceinline__ void piece_wg0(const Ctx& x, float (&acc)[128], RowState& r,
                                          uint32_t& used) {
  float sacc[32];
  issue_s<T, 0, kSlabs>(x, 0, sacc, used++ & 1, 0, kOrderA);
  wgmma_wait<0>();
  keep(sacc);
  int n = 0;
#pragma unroll 1
  for (; n + 2 < x.cnt; n += 2) pair_wg0<T, true, true>(x, n, sacc, acc, r, used);
  if (n + 1 < x.cnt) pair_wg0<T, true, false>(x, n, sacc, acc, r, used);
  else pair_wg0<T, false, false>(x, n, sacc, acc, r, used);
  load_first_pages<0>(x, x.pc.req + 1);
}
template <typename T>
__device__ __forceinline__ void piece_wg1(const Ctx& x, float (&acc)[128], RowState& r,
                                          uint32_t& used) {
  float sacc[32];
  if (x.cnt > 1) {
    issue_s<T, 0, kSlabs>(x, 1, sacc, used++ & 1, 1, kOrderB);
    wgmma_wait<0>();
    keep(sacc);
  }
  int n = 0;
#pragma unroll 1
  for (; n + 3 < x.cnt; n += 2) pair_wg1<T, true, true>(x, n, sacc, acc, r, used);
  if (n + 2 < x.cnt) {  // an odd count: the last B, then the lone last A
    pair_wg1<T, true, false>(x, n, sacc, acc, r, used);
    pair_wg1<T, false, false>(x, n + 2, sacc, acc, r, used);
  } else if (n + 1 < x.cnt) {
    pair_wg1<T, true, false>(x, n, sacc, acc, r, used);
  } else {
    pair_wg1<T, false, false>(x, n, sacc, acc, r, used);
  }
  load_first_pages<1>(x, x.pc.req + 1);
}

template <typename T>
__global__ void __launch_bounds__(kThreads, 1) decode_v11_kernel(const __grid_constant__ CUtensorMap kv_map, DecodeArgs a,
                                                                 int evict_first) {
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  const uint32_t raw = (uint32_t)__cvta_generic_to_shared(smem_raw);
  const uint32_t base = (raw + 1023u) & ~1023u;
  const Smem sm{base, smem_raw + (base - raw)};
  const int kvh = blockIdx.y, tile = blockIdx.z;
  const int tid = threadIdx.x, lane = tid % 32, wtid = tid % 128;
  // the warpgroup index broadcast from lane 0, so that ptxas sees it warp-uniform (C7520 otherwise)
  const int wg = __shfl_sync(0xffffffffu, tid / 128, 0);
  if (tid == 0) {
    *sm.abort() = 0;
    for (int i = 0; i < 2 * kSlabs; ++i) mbar_init(sm.full_bar(0, i), 1);
    fence_mbarrier_init();
  }
  __syncthreads();
  // a programmatic dependent of the previous grid: nothing global is read before it is done
  griddep_wait();
  griddep_launch_dependents();
  const int32_t* sc = a.sched + (int64_t)blockIdx.x * kSchedInts;
  if (sc[5] == 0) return;  // uniform over the CTA
  if (tid == 0) prefetch_tensormap(&kv_map);

  const int row0 = (wtid / 32) * 16 + lane / 4, row1 = row0 + 8;
  {
    const Ctx x0{a, &kv_map, sc, sm, Piece{}, 0, kvh, 0, 0, row0, row1, lane, wtid, evict_first != 0};
    if (wg == 0) load_first_pages<0>(x0, sc[0]);
    else load_first_pages<1>(x0, sc[0]);
  }
  const T* q = reinterpret_cast<const T*>(a.q);
  uint32_t used = 0;  // pages of this warpgroup's stage consumed so far (the phase of its full barriers)
  for (int req = sc[0]; req <= sc[2]; ++req) {
    const Piece pc = make_piece(a, req, sc[0], sc[1], sc[2], sc[3], sc[4]);
    const Ctx x{a, &kv_map, sc, sm, pc, pc.blk_end - pc.blk_begin, kvh,
                row_limit(a, pc.len, tile * kTileM + row0), row_limit(a, pc.len, tile * kTileM + row1),
                row0, row1, lane, wtid, evict_first != 0};
    RowState r{-INFINITY, -INFINITY, 0.f, 0.f};
    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) acc[i] = 0.f;
    if (x.cnt > 0) {
      load_q_tile_sync<T, kThreads>(a, q, req, kvh, tile, tid, sm.q());
      if (wg == 0) piece_wg0<T>(x, acc, r, used);
      else piece_wg1<T>(x, acc, r, used);
    }
    epilogue_two_wg<T>(a, pc, kvh, tile, wg, lane, row0, row1, acc, r.l0, r.l1, r.m0, r.m1, sm.sSum());
  }
}

}  // namespace

// Evict-first KV loads where one row tile reads each page (v8's measured choice).
cudaError_t launch_decode_v11(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  CUtensorMap map;
  const cudaError_t e = tma_kv_map(a, num_blocks, kPage, &map);
  if (e != cudaSuccess) return e;
  const dim3 grid(a.num_parts, a.h_kv, tiles);
  const int evict_first = tiles == 1 ? 1 : 0;
  return (dtype == 0)
             ? launch_in_clusters_pdl(decode_v11_kernel<__nv_bfloat16>, grid, 1, a.dependent_launch != 0, kThreads, kSmem, st, map, a, evict_first)
             : launch_in_clusters_pdl(decode_v11_kernel<__half>, grid, 1, a.dependent_launch != 0, kThreads, kSmem, st, map, a, evict_first);
}

}  // namespace mla
