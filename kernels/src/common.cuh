// common.cuh -- internal definitions shared by the libmla kernels (not part of the ABI).
#pragma once
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace mla {

constexpr int kDK = 576;     // K head dim (512 latent + 64 rope)
constexpr int kDV = 512;     // V head dim
constexpr int kPage = 64;    // tokens per KV page
constexpr int kTileM = 64;   // query rows per CTA
constexpr int kSchedInts = 8;
constexpr int kSplitOverhead = 5;
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Everything a decode kernel needs, passed by value.
struct DecodeArgs {
  const void* q;
  const void* kv;
  const int32_t* block_table;
  const int32_t* seqlens;
  void* out;
  float* lse;
  float* oacc;   // [slots][h_kv][rows][512]
  float* lacc;   // [slots][h_kv][rows]
  const int32_t* sched;
  const int32_t* nsplits;
  int64_t q_sb, q_ss, q_sh;
  int64_t kv_sb, kv_st, kv_sh;
  int64_t bt_sb;
  int64_t o_sb, o_ss, o_sh;
  int b, s_q, h_q, h_kv;
  int G;       // h_q / h_kv
  int rows;    // s_q * G  (query rows per kv head)
  int max_blocks;
  int causal;
  int num_parts;
  float scale_log2;  // softmax_scale * log2(e)
  int dependent_launch;  // mla_decode_options: the decode may be a programmatic dependent of the previous grid
};

__device__ __forceinline__ int clamp_len(int len, int max_blocks) {
  long long cap = (long long)max_blocks * kPage;
  if (len < 0) return 0;
  if ((long long)len > cap) return (int)cap;
  return len;
}

// Last key index (inclusive) that query row m may see, or -1.
__device__ __forceinline__ int row_limit(const DecodeArgs& a, int len, int m) {
  if (m >= a.rows) return -1;
  int lim = len - 1;
  if (a.causal) {
    int s_idx = m / a.G;
    int c = len - a.s_q + s_idx;
    lim = c < lim ? c : lim;
  }
  return lim;
}

template <typename T> struct Pack;
template <> struct Pack<__nv_bfloat16> {
  static __device__ __forceinline__ uint32_t pack(float x, float y) {
    __nv_bfloat162 v = __floats2bfloat162_rn(x, y);
    return *reinterpret_cast<uint32_t*>(&v);
  }
  static __device__ __forceinline__ float2 unpack(uint32_t u) {
    __nv_bfloat162 v = *reinterpret_cast<__nv_bfloat162*>(&u);
    return __bfloat1622float2(v);
  }
};
template <> struct Pack<__half> {
  static __device__ __forceinline__ uint32_t pack(float x, float y) {
    __half2 v = __floats2half2_rn(x, y);
    return *reinterpret_cast<uint32_t*>(&v);
  }
  static __device__ __forceinline__ float2 unpack(uint32_t u) {
    __half2 v = *reinterpret_cast<__half2*>(&u);
    return __half22float2(v);
  }
};

// Per-request piece of a partition.
struct Piece {
  int req, blk_begin, blk_end, len;
  bool split;
  int slot;
};

// Where query row m of kv head kvh of piece pc is written: the row of fp32
// partials of a split piece (a.oacc), else the output row in T (a.out). An
// epilogue computes it once per row, so that each of the row's stores is one
// instruction: computing it per store (a division by G and three 64-bit
// products) made v9's epilogue ~60 instructions a store, a quarter of all its
// instructions at s_k=1024 (kernels/PERF.md, section 7).
template <typename T>
__device__ __forceinline__ char* out_row(const DecodeArgs& a, const Piece& pc, int kvh, int m) {
  if (pc.split) return reinterpret_cast<char*>(a.oacc + (((int64_t)pc.slot * a.h_kv + kvh) * a.rows + m) * kDV);
  const int s_idx = m / a.G, head = kvh * a.G + m % a.G;
  return reinterpret_cast<char*>(reinterpret_cast<T*>(a.out) + (int64_t)pc.req * a.o_sb + (int64_t)s_idx * a.o_ss +
                                 (int64_t)head * a.o_sh);
}

// Columns col and col+1 (v0, v1, already normalised by the row sum) of a row
// from out_row: fp32 partials when kSplit, else T.
template <typename T, bool kSplit>
__device__ __forceinline__ void store_pair(char* row, int col, float v0, float v1) {
  if constexpr (kSplit) *reinterpret_cast<float2*>(row + (int64_t)col * sizeof(float)) = make_float2(v0, v1);
  else *reinterpret_cast<uint32_t*>(row + (int64_t)col * sizeof(T)) = Pack<T>::pack(v0, v1);
}

// f(SplitFlag<true>()) for a split piece, else f(SplitFlag<false>()): a loop of
// store_pair calls compiled once per destination, with no branch per store.
template <bool B>
struct SplitFlag {
  static constexpr bool value = B;
};
template <typename F>
__device__ __forceinline__ void with_split(bool split, F&& f) {
  if (split) f(SplitFlag<true>());
  else f(SplitFlag<false>());
}

// One pair of columns of row m, its address computed here (v1, v2: a few stores per row).
template <typename T>
__device__ __forceinline__ void store_out_pair(const DecodeArgs& a, const Piece& pc, int kvh, int m,
                                               int col, float v0, float v1) {
  char* row = out_row<T>(a, pc, kvh, m);
  if (pc.split) store_pair<T, true>(row, col, v0, v1);
  else store_pair<T, false>(row, col, v0, v1);
}

// lse for row m: l == 0 means the row saw no key.
// m2: running max in the log2 domain (already multiplied by scale*log2e).
__device__ __forceinline__ void store_lse(const DecodeArgs& a, const Piece& pc, int kvh, int m,
                                          float m2, float l) {
  if (pc.split) {
    float v = (l > 0.f) ? (m2 + log2f(l)) * kLn2 : -INFINITY;
    a.lacc[((int64_t)pc.slot * a.h_kv + kvh) * a.rows + m] = v;
  } else {
    float v = (l > 0.f) ? (m2 + log2f(l)) * kLn2 : INFINITY;
    int s_idx = m / a.G, head = kvh * a.G + m % a.G;
    a.lse[((int64_t)pc.req * a.h_q + head) * a.s_q + s_idx] = v;
  }
}

// A partition "has few pages" when the block-table width, summed over the
// batch, gives at most 32 pages per partition on average: the latency-bound
// small batches and short contexts (b=1 long contexts, b=128 with 1k tokens).
// v10 hands its stages back early there; the automatic choice runs v9 there.
inline bool few_pages(int b, int max_blocks, int num_parts) {
  return (int64_t)b * max_blocks <= 32 * (int64_t)num_parts;
}

// A partition "has many pages" when the block-table width, summed over the
// batch, gives more than 1024 pages per partition: the long-context batches
// (b=128 with a mean of 16k tokens or more at s_q=1, 8k or more at s_q=2),
// where v10's shared page loads pay for its pairs' synchronisation.
inline bool many_pages(int b, int max_blocks, int num_parts) {
  return (int64_t)b * max_blocks > 1024 * (int64_t)num_parts;
}

// Host-side launchers (defined in the .cu files).
cudaError_t launch_metadata(const int32_t* seqlens, int b, int max_blocks, int num_parts,
                            int32_t* sched, int32_t* nsplits, cudaStream_t st);
cudaError_t launch_decode_v1(const DecodeArgs& a, int dtype, int tiles, cudaStream_t st);
cudaError_t launch_decode_v2(const DecodeArgs& a, int dtype, int tiles, cudaStream_t st);
cudaError_t launch_decode_v3(const DecodeArgs& a, int dtype, int tiles, cudaStream_t st);
cudaError_t launch_decode_v4(const DecodeArgs& a, int dtype, int tiles, cudaStream_t st);
// v5 needs num_blocks for its TMA tensor map over the KV pool.
cudaError_t launch_decode_v5(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st);
cudaError_t launch_decode_v6(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st);
cudaError_t launch_decode_v7(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st);
cudaError_t launch_decode_v8(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st);
cudaError_t launch_decode_v9(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st);
cudaError_t launch_decode_v10(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st);
cudaError_t launch_decode_v11(const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st);
cudaError_t launch_combine(const DecodeArgs& a, int dtype, cudaStream_t st);
cudaError_t launch_combine_pdl(const DecodeArgs& a, int dtype, cudaStream_t st);  // v5+: programmatic dependent launch

}  // namespace mla
