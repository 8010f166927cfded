// decode_v8_ksplit.cu -- v8 "ksplit": v5 with S split over the head dimension
// (m64n64k16 instead of m64n32k16) and an evict-first L2 policy on the KV stream.
//
// Why (measured on the H100, kernels/PERF.md "1. The two ceilings"): v5's
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
//    (one row tile). Measured +0.5-1% when memory-bound.
// Measured and not kept (kernels/PERF.md): an L2 prefetch of the page d places
// ahead from the producer (d=1 -7%, d=2 -20% memory-bound); handing each stage
// back before the next page's S instead of after it (within the spread
// compute-bound, -1% memory-bound).
// Partial last pages, the combine: as v5. Launched as a programmatic dependent
// of the previous grid when the options allow it (mla_decode_options).
// smem: as v5 (Q 72 KB of which the RoPE slab is exchange space, 2 stages 144 KB, P 8 KB).
#include "ksplit.cuh"

namespace mla {

// v8 = ksplit.cuh's kernel with the plain softmax, the stage handed back after S.
cudaError_t launch_decode_v8(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  CUtensorMap map;
  const cudaError_t e = tma_kv_map(a, num_blocks, kPage, &map);
  if (e != cudaSuccess) return e;
  return launch_ksplit<false, false, 1>(map, a, dtype, tiles, a.dependent_launch != 0, st);
}

}  // namespace mla
