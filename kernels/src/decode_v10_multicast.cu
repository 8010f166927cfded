// decode_v10_multicast.cu -- v10 "multicast": v9 with the two row tiles of a
// page in one thread-block cluster that reads the page once from L2.
//
// Why (measured on the H100, kernels/PERF.md): at b=128 h_q=128 s_q=1 the two
// 64-row tiles of each KV head are two CTAs that each stream every page of
// their partition. The page stream alone (no math: the lab's page-stream
// probe, kernels/lab/) takes 557-592 us there against 399 us on the
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
// Softmax, exchange, P V: v9's. Where the row tiles are not paired
// (h_q*s_q <= 64, the memory-bound grids, or an odd tile count), or the GPU
// cannot hold all the pairs at once (cudaOccupancyMaxActiveClusters), v10 is
// v9. In pairs it is launched plainly: as a programmatic dependent it measured
// 0.5-1 us slower at b=1 and no different elsewhere.
// v10 = ksplit.cuh's kernel (v9) with kCluster = 2.
#include "ksplit.cuh"

namespace mla {
namespace {

// Host: can `clusters` pairs of CTAs of the cluster kernel all be resident at
// once? (Otherwise the last pairs would run in a second wave.) Asked once per process.
bool pairs_fit(int64_t clusters, cudaStream_t st) {
  static int max_pairs = -1;
  if (max_pairs < 0) {
    auto kernel = decode_ksplit_kernel<__nv_bfloat16, true, true, 2>;
    const ClusterLaunch launch(dim3(1, 1, 2), 2, kThreads, kSmem, st);
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

}  // namespace

cudaError_t launch_decode_v10(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  if (tiles % 2 != 0 || !pairs_fit((int64_t)a.num_parts * a.h_kv * tiles / 2, st))
    return launch_decode_v9(a, dtype, tiles, num_blocks, st);
  CUtensorMap map;
  const cudaError_t e = tma_kv_map(a, num_blocks, kPage, &map);
  if (e != cudaSuccess) return e;
  return few_pages(a.b, a.max_blocks, a.num_parts) ? launch_ksplit<true, true, 2>(map, a, dtype, tiles, false, st)
                      : launch_ksplit<false, true, 2>(map, a, dtype, tiles, false, st);
}

}  // namespace mla
