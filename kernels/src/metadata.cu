// metadata.cu -- tile scheduler ("metadata") kernel.
//
// Splits every request's KV pages over num_parts partitions so that each
// partition gets about the same cost, where cost = pages + kSplitOverhead for
// every piece (a piece = the part of one request handled by one partition).
// A single thread walks the requests greedily (b is small: O(b) work);
// the lengths are first staged in shared memory by the whole block.
// Format: see kernels/include/mla.h ("Tile-scheduler metadata format").
#include "common.cuh"

namespace mla {

constexpr int kMetaThreads = 256;
constexpr int kMetaSmemLens = 8192;  // lengths staged in smem when b <= this

__global__ void __launch_bounds__(kMetaThreads) metadata_kernel(const int32_t* __restrict__ seqlens, int b,
                                                                int max_blocks, int num_parts,
                                                                int32_t* __restrict__ sched,
                                                                int32_t* __restrict__ nsplits) {
  __shared__ int s_nb[kMetaSmemLens];
  const bool staged = b <= kMetaSmemLens;
  if (staged) {
    for (int i = threadIdx.x; i < b; i += blockDim.x) s_nb[i] = (clamp_len(seqlens[i], max_blocks) + kPage - 1) / kPage;
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  auto nb_of = [&](int i) -> long long {
    return staged ? s_nb[i] : (clamp_len(seqlens[i], max_blocks) + kPage - 1) / kPage;
  };
  long long total = 0;
  for (int i = 0; i < b; ++i) total += nb_of(i) + kSplitOverhead;
  const long long payload = (total + num_parts - 1) / num_parts + kSplitOverhead;

  int r = 0;              // current request
  long long blk = 0;      // next page of r to hand out
  int split_local = 0;    // pieces of r handed out so far
  int prefix = 0;         // nsplits[r]
  nsplits[0] = 0;
  for (int p = 0; p < num_parts; ++p) {
    int32_t* s = sched + (size_t)p * kSchedInts;
    if (r >= b) {
      s[0] = b; s[1] = 0; s[2] = b - 1; s[3] = 0; s[4] = 0; s[5] = 0; s[6] = 0; s[7] = 0;
      continue;
    }
    const bool last = (p == num_parts - 1);
    long long remain = last ? (1LL << 62) : payload;
    int begin_req = r, begin_blk = (int)blk, begin_split = prefix + split_local;
    int end_req = r, end_blk = (int)blk;
    while (r < b) {
      long long nb = nb_of(r);
      long long need = kSplitOverhead + (nb - blk);
      if (need <= remain) {  // the rest of request r fits
        remain -= need;
        end_req = r; end_blk = (int)nb;
        prefix += split_local + 1;
        nsplits[r + 1] = prefix;
        ++r; blk = 0; split_local = 0;
      } else {
        long long take = remain - kSplitOverhead;
        if (take > 0) {  // take part of request r (take < nb - blk here)
          blk += take;
          ++split_local;
          end_req = r; end_blk = (int)blk;
        }
        break;
      }
    }
    s[0] = begin_req; s[1] = begin_blk; s[2] = end_req; s[3] = end_blk;
    s[4] = begin_split; s[5] = 1; s[6] = 0; s[7] = 0;
  }
}

cudaError_t launch_metadata(const int32_t* seqlens, int b, int max_blocks, int num_parts, int32_t* sched,
                            int32_t* nsplits, cudaStream_t st) {
  metadata_kernel<<<1, kMetaThreads, 0, st>>>(seqlens, b, max_blocks, num_parts, sched, nsplits);
  return cudaGetLastError();
}

}  // namespace mla
