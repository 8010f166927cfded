// decode_v9_lazy.cu -- v9 "lazy": v8 with a cheaper page softmax (lazy running
// max, two barriers per page instead of three) and early stage release.
//
// v9 = ksplit.cuh's kernel (v8) with kLazy: its page softmax is
// softmax_half_page_lazy (ksplit.cuh), and the stage is handed back early where
// several row tiles read each page.
//
// Why (measured on the H100 with a timeline probe, at b=128
// h_q=128 s_k=8192; kernels/PERF.md, "4. The rungs", v9): a v8 page takes ~3800
// cycles per warpgroup. ~2200 of them are the tensor phase (P V of the page
// before, then S), which runs at the full wgmma rate; ~1500 are the page's
// softmax phase, in which the tensor pipe idles: the exchange of the S
// partials (~250), the softmax itself (~1230: a max-exchange barrier, 128
// FMUL of the O rescale, exp2f with its range handling, per-element masking)
// and the P barrier. The page's data was not late (~130 cycles of waiting for
// its first slab). So v9 shortens the softmax (ksplit.cuh,
// softmax_half_page_lazy; measured ~1230 -> ~550 cycles):
//  - lazy running max (threshold 2^8): no O rescale and no max-exchange
//    barrier on pages that do not raise a row maximum by more than 8 in log2
//    units, which after a piece's first page is the rare case; the decision is
//    one bar.red.or that doubles as the P barrier;
//  - the softmax scale folded into one FFMA per element, ex2.approx, masking
//    only on pages that need it.
//  - Early stage release when a page is read by several row tiles (tiles > 1,
//    the compute-bound grids): wait for P V(n-1) alone and hand its stage back
//    before issuing S(n). Measured: b=1 48.0 -> 45.8 us, h_q=128 within the
//    run-to-run spread, memory-bound grids 1% slower (so there it stays off).
// Everything else (layout, exchange, producer) is v8's.
#include "ksplit.cuh"

namespace mla {

cudaError_t launch_decode_v9(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  CUtensorMap map;
  const cudaError_t e = tma_kv_map(a, num_blocks, kPage, &map);
  if (e != cudaSuccess) return e;
  const bool pdl = a.dependent_launch != 0;
  return tiles > 1 ? launch_ksplit<true, true, 1>(map, a, dtype, tiles, pdl, st)
                   : launch_ksplit<false, true, 1>(map, a, dtype, tiles, pdl, st);
}

}  // namespace mla
