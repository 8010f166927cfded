// decode_v10_multicast.cu -- v10 "multicast": v9 with the two row tiles of a
// page in one thread-block cluster that reads the page once from L2.
//
// Why (measured on the H100, kernels/PERF.md, fourth session): at b=128
// h_q=128 s_q=1 the two 64-row tiles of each KV head are two CTAs that each
// stream every page of their partition. v9's data-movement probe alone (no
// math, MLA_V9_DRY=1) takes 557-592 us there against 399 us on the
// memory-bound grid that reads each page once, and v9 itself takes 601-616
// us: the second stream of every page, served from L2 at ~4.3 TB/s, is what
// holds this grid, not the tensor cores.
// What changes (ksplit.cuh with kCluster = 2, tile_common.cuh's producer):
//  - the CTAs of row tiles 2c and 2c+1 (same partition, same KV head) are
//    launched as a cluster of two (cudaLaunchKernelEx, cluster dims 1x1x2);
//  - each page's 9 column slabs are split between the two producers
//    (slab c by rank c % 2) and each slab is read once and multicast into
//    both CTAs' stages (cp.async.bulk.tensor ... multicast::cluster), so
//    the L2 -> SM traffic of the page stream halves;
//  - a stage is free only when both CTAs' consumers have handed it back:
//    every consumer warp arrives on the empty barrier of both CTAs (mapa +
//    mbarrier.arrive.shared::cluster; with .release.cluster the page stream
//    alone was 1.3x slower, see hopper_ptx.cuh);
//  - stage release after S(n) (v8's order), not before it as v9 does on
//    these grids: with the page stream no longer the limit, the wait for
//    P V(n-1) before S(n) only left a gap on the tensor pipe (except where
//    partitions have few pages, as at b=1: there it stays early);
//  - a cluster barrier after the barrier init (no multicast may land on an
//    uninitialised barrier) and one at the end (no CTA may leave while its
//    partner can still arrive on its barriers).
// Softmax, exchange, P V: v9's. Where the row tiles are not
// paired (h_q*s_q <= 64, the memory-bound grids, or an odd tile count), or
// the GPU cannot hold all the pairs at once (cudaOccupancyMaxActiveClusters),
// v10 is v9: the same launch and the MLA_V9_* knobs. MLA_V10_CLUSTER=1 always
// takes that path, =2 forces pairs; MLA_V10_EARLY and MLA_V10_DRY (the
// data-movement probe with multicast, bf16) are as v9's; PREFETCH and EVICT
// do not apply in pairs. MLA_V10_PAIRS=1 or 2 (in pairs of CTAs only): the
// page-pair schedule experiment (ksplit.cuh consumer_pairs), slower; kept
// so that its measurement can be repeated.
#include "trace.cuh"
MLA_TRACE_DEFINE(v10)
#include "ksplit.cuh"

namespace mla {

cudaError_t launch_decode_v10(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  return launch_ksplit_from_env<10>(a, dtype, tiles, num_blocks, st);
}

}  // namespace mla
