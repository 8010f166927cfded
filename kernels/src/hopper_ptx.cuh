// hopper_ptx.cuh -- inline-PTX wrappers shared by the decode kernels (sm_90a):
// cp.async, proxy fences, wgmma (fences, groups, descriptors, instructions),
// mbarriers, TMA, and the host-side tensor-map encoder. Internal, not part of
// the ABI. Every wrapper is __forceinline__: the rungs compile to exactly the
// instructions they had with private copies.
#pragma once
#include <cuda.h>
#include "common.cuh"

namespace mla {

// ---- cp.async (sm_80+) ----
// 16-byte global -> shared copy; valid == false zero-fills the 16 bytes
// (src-size 0) and reads nothing from src.
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, bool valid) {
  int sz = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(sz) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

// Makes generic-proxy writes to shared memory (st.shared, cp.async) visible to
// the async proxy (wgmma operand reads, TMA).
__device__ __forceinline__ void fence_async_smem() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// ---- wgmma (sm_90a) ----
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>  // wait until at most N committed wgmma groups are pending
__device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }

// Pins an accumulator array across wgmma issue/wait: the compiler may neither
// move accesses of r across this point nor assume r unchanged.
template <int N>
__device__ __forceinline__ void keep(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}

// wgmma matrix descriptor: start address, leading / stride byte offsets, 128-byte swizzle.
__device__ __forceinline__ uint64_t desc128(uint32_t saddr, uint32_t lbo, uint32_t sbo) {
  return (uint64_t)((saddr & 0x3FFFF) >> 4) | ((uint64_t)((lbo & 0x3FFFF) >> 4) << 16) |
         ((uint64_t)((sbo & 0x3FFFF) >> 4) << 32) | ((uint64_t)1 << 62);
}

// Hides a value's origin from the compiler, so that what is derived from it is
// computed where it is used instead of being hoisted (and kept in registers).
__device__ __forceinline__ void opaque(uint64_t& v) { asm volatile("" : "+l"(v)); }

// Output-operand lists of the fp32 accumulator fragments (16, 32 or 128 registers).
#define MLA_D16(d)                                                                                          \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), \
      "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
#define MLA_D32(d)                                                                                          \
  MLA_D16(d), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]),    \
      "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), \
      "+f"(d[31])
#define MLA_D128(d) "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
#define MLA_L16 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}"
#define MLA_L32                                                                                             \
  "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27," \
  "%28,%29,%30,%31}"
#define MLA_L128 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}"

// S-side and PV-side wgmma of the TMA kernels (v5, v6):
//  s32: D(64x32) (+)= A(smem K-major) B(smem K-major); acc == 0 overwrites D
//  pv:  D(64x256) += A(smem K-major) B(smem MN-major)
template <typename T> struct WgmmaS32PV256;
template <> struct WgmmaS32PV256<__nv_bfloat16> {
  static __device__ __forceinline__ void s32(float* d, uint64_t da, uint64_t db, int acc) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 " MLA_L16 ", %16, %17, p, 1, 1, 0, 0;\n}\n"
                 : MLA_D16(d) : "l"(da), "l"(db), "r"(acc));
  }
  static __device__ __forceinline__ void pv(float* d, uint64_t da, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 " MLA_L128 ", %128, %129, p, 1, 1, 0, 1;\n}\n"
                 : MLA_D128(d) : "l"(da), "l"(db), "r"(1));
  }
};
template <> struct WgmmaS32PV256<__half> {
  static __device__ __forceinline__ void s32(float* d, uint64_t da, uint64_t db, int acc) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 " MLA_L16 ", %16, %17, p, 1, 1, 0, 0;\n}\n"
                 : MLA_D16(d) : "l"(da), "l"(db), "r"(acc));
  }
  static __device__ __forceinline__ void pv(float* d, uint64_t da, uint64_t db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 " MLA_L128 ", %128, %129, p, 1, 1, 0, 1;\n}\n"
                 : MLA_D128(d) : "l"(da), "l"(db), "r"(1));
  }
};

// Wider shapes (v7 and the wgmma rate probe):
//  s64:    D(64x64) (+)= A(smem K-major) B(smem K-major); acc == 0 overwrites D   (SS)
//  s64_rs: D(64x64) (+)= A(registers: 4 x b32 fragment) B(smem K-major)           (RS)
//  pv_rs:  D(64x256) += A(registers) B(smem MN-major)                              (RS)
// The A fragment of an RS wgmma is laid out like a C fragment of m64n16 (per
// thread: rows lane/4 and lane/4+8 of its warp's 16, columns 2*(lane%4)+{0,1}
// and +8), packed two elements per 32-bit register: a softmax'd S accumulator
// converts to it without any data movement.
#define MLA_WGMMA_WIDE(T, TY)                                                                              \
  template <> struct WgmmaWide<T> {                                                                        \
    static __device__ __forceinline__ void s64(float* d, uint64_t da, uint64_t db, int acc) {              \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                                            \
                   "wgmma.mma_async.sync.aligned.m64n64k16.f32" TY " " MLA_L32 ", %32, %33, p, 1, 1, 0, 0;\n}\n" \
                   : MLA_D32(d) : "l"(da), "l"(db), "r"(acc));                                              \
    }                                                                                                      \
    static __device__ __forceinline__ void s64_rs(float* d, const uint32_t* a, uint64_t db, int acc) {     \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"                                            \
                   "wgmma.mma_async.sync.aligned.m64n64k16.f32" TY " " MLA_L32                             \
                   ", {%32, %33, %34, %35}, %36, p, 1, 1, 0;\n}\n"                                          \
                   : MLA_D32(d) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(acc));           \
    }                                                                                                      \
    static __device__ __forceinline__ void pv_rs(float* d, const uint32_t* a, uint64_t db) {               \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %133, 0;\n"                                           \
                   "wgmma.mma_async.sync.aligned.m64n256k16.f32" TY " " MLA_L128                           \
                   ", {%128, %129, %130, %131}, %132, p, 1, 1, 1;\n}\n"                                     \
                   : MLA_D128(d) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));            \
    }                                                                                                      \
  };
template <typename T> struct WgmmaWide;
MLA_WGMMA_WIDE(__nv_bfloat16, ".bf16.bf16")
MLA_WGMMA_WIDE(__half, ".f16.f16")
#undef MLA_WGMMA_WIDE

// ---- warp specialisation, programmatic dependent launch ----
// Re-sizes the register file of this warpgroup (all its warps must execute it).
template <int N>
__device__ __forceinline__ void setmaxnreg_dec() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N) : "memory"); }
template <int N>
__device__ __forceinline__ void setmaxnreg_inc() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N) : "memory"); }
// Lets a programmatic dependent grid (the combine, v5+) be scheduled now.
__device__ __forceinline__ void griddep_launch_dependents() {
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
}
// Waits until the grids this one depends on have completed and their writes are
// visible; a no-op when the grid was not launched as a programmatic dependent.
__device__ __forceinline__ void griddep_wait() { asm volatile("griddepcontrol.wait;\n" ::: "memory"); }

// ---- named barriers ----
// The 2 consumer warpgroups (256 threads) of the warp-specialised kernels (v5-v7), barrier 1.
__device__ __forceinline__ void bar_consumers() { asm volatile("bar.sync 1, 256;\n" ::: "memory"); }
// bar_consumers() that also ORs a predicate over the 256 threads (bar.red.or):
// true in every thread if `pred` was true in any.
__device__ __forceinline__ bool bar_consumers_or(bool pred) {
  uint32_t r;
  asm volatile("{\n.reg .pred p, q;\nsetp.ne.u32 p, %1, 0;\nbar.red.or.pred q, 1, 256, p;\nselp.u32 %0, 1, 0, q;\n}\n"
               : "=r"(r) : "r"((uint32_t)pred) : "memory");
  return r != 0;
}
// 2^x by the SFU alone (ex2.approx.ftz: ~2 ulp, subnormal results flushed to 0),
// without the range handling of exp2f.
__device__ __forceinline__ float ex2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}
// Barrier `id` among N threads: wait for all of them / count this warp's arrival and go on.
template <int N>
__device__ __forceinline__ void named_bar_sync(int id) { asm volatile("bar.sync %0, %1;\n" ::"r"(id), "n"(N) : "memory"); }
template <int N>
__device__ __forceinline__ void named_bar_arrive(int id) { asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "n"(N) : "memory"); }

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
// Makes mbarrier.init visible to the other threads (and the async proxy).
__device__ __forceinline__ void fence_mbarrier_init() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
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

// ---- thread-block clusters (v10) ----
__device__ __forceinline__ uint32_t cluster_ctarank() {
  uint32_t r;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
  return r;
}
// Every thread of every CTA of the cluster meets here (not .aligned: callers
// may be diverged); release/acquire orders shared-memory work across the CTAs.
__device__ __forceinline__ void cluster_sync() {
  asm volatile("barrier.cluster.arrive.release;\nbarrier.cluster.wait.acquire;\n" ::: "memory");
}
// One arrival on the mbarrier at the offset of local `bar` in CTA `rank` of
// the cluster (this CTA included), with the default semantics (release at CTA
// scope), as CUTLASS's remote arrive: what the arrival orders, the stage
// reads of this CTA's wgmma, is complete before it (wgmma.wait_group).
// .release.cluster made each arrival wait until the thread's earlier memory
// operations were visible cluster-wide: measured on an H200, v10's page
// stream alone (MLA_V10_DRY=1, b=128 h_q=128) took 398-403 us with it, 306
// without (the same grid's single-read floor: ~300 us).
__device__ __forceinline__ void mbar_arrive_cluster(uint32_t bar, uint32_t rank) {
  asm volatile(
      "{\n.reg .b32 ra;\nmapa.shared::cluster.u32 ra, %0, %1;\nmbarrier.arrive.shared::cluster.b64 _, [ra];\n}\n" ::"r"(bar),
      "r"(rank)
      : "memory");
}

// ---- TMA ----
// One 4-d box of `map` at coordinates {c0, c1, c2, c3} -> smem dst, completing on mbarrier bar.
__device__ __forceinline__ void tma_load_4d(uint32_t dst, const CUtensorMap* map, int c0, int c1, int c2, int c3,
                                            uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], [%6];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar)
      : "memory");
}

// The same box delivered to every CTA of the cluster named in `mask` (bit i =
// rank i), at the same smem offset, each completing on its own mbarrier at
// the offset of `bar`: one L2 read feeds several SMs (sm_90a).
__device__ __forceinline__ void tma_load_4d_multicast(uint32_t dst, const CUtensorMap* map, int c0, int c1, int c2,
                                                      int c3, uint32_t bar, uint16_t mask) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.multicast::cluster [%0], [%1, {%2, %3, %4, %5}], [%6], %7;\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar), "h"(mask)
      : "memory");
}

// The same with an L2 cache policy (from l2_evict_first_policy) on the global reads.
__device__ __forceinline__ void tma_load_4d_hint(uint32_t dst, const CUtensorMap* map, int c0, int c1, int c2, int c3,
                                                 uint32_t bar, uint64_t policy) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, %3, %4, %5}], [%6], %7;\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar), "l"(policy)
      : "memory");
}
// Asks for one box of `map` to be brought into L2 (no shared memory, no completion).
__device__ __forceinline__ void tma_prefetch_l2_4d(const CUtensorMap* map, int c0, int c1, int c2, int c3) {
  asm volatile("cp.async.bulk.prefetch.tensor.4d.L2.global.tile [%0, {%1, %2, %3, %4}];\n" ::"l"(
                   reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3)
               : "memory");
}
// L2 policy "evict first" for all of an access: data read once leaves L2 before data still wanted.
__device__ __forceinline__ uint64_t l2_evict_first_policy() {
  uint64_t p;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(p));
  return p;
}

__device__ __forceinline__ void prefetch_tensormap(const CUtensorMap* map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}

// Host: tensor map over the whole KV pool, {576 columns, h_kv heads, 64 tokens,
// num_blocks pages} (dimensions ordered by increasing stride for the natural
// [blocks][64][h_kv][576] layout). A box of {64 columns, 1 head, box_tokens
// tokens, 1 page} lands in smem as box_tokens rows of 128 bytes with the
// 128-byte swizzle. False when the driver entry point is missing or the
// strides cannot be encoded.
typedef CUresult (*EncodeTiledFn)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                  const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                  CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

inline EncodeTiledFn get_encode() {
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

inline bool make_kv_map(const DecodeArgs& a, int num_blocks, int box_tokens, CUtensorMap* map) {
  EncodeTiledFn enc = get_encode();
  if (!enc) return false;
  const uint64_t head_stride = (a.h_kv > 1) ? (uint64_t)a.kv_sh * 2 : (uint64_t)kDK * 2;
  cuuint64_t dims[4] = {(cuuint64_t)kDK, (cuuint64_t)a.h_kv, (cuuint64_t)kPage, (cuuint64_t)num_blocks};
  cuuint64_t strides[3] = {(cuuint64_t)head_stride, (cuuint64_t)a.kv_st * 2, (cuuint64_t)a.kv_sb * 2};
  cuuint32_t box[4] = {64, 1, (cuuint32_t)box_tokens, 1};
  cuuint32_t estr[4] = {1, 1, 1, 1};
  CUresult r = enc(map, CU_TENSOR_MAP_DATA_TYPE_UINT16, 4, const_cast<void*>(a.kv), dims, strides, box, estr,
                   CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                   CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return r == CUDA_SUCCESS;
}

}  // namespace mla
