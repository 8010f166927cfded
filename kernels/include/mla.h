/*
 * mla.h -- C ABI of libmla: MLA (Multi-head Latent Attention, DeepSeek-V3)
 * decoding kernels for NVIDIA Hopper (sm_90a), written from scratch.
 *
 * This header is the single source of truth for the ABI. It is plain C99,
 * usable from koffi (Node), ctypes (Python), Julia ccall, etc.
 *
 * ------------------------------------------------------------------------
 * Conventions
 * ------------------------------------------------------------------------
 *  - Every function returns an int status (mla_status below), 0 = ok, unless
 *    its comment says otherwise. On error, mla_last_error() returns a
 *    human-readable message (thread-local, valid until the next failing call
 *    on the same thread). The library never aborts or exits the process.
 *  - All "device pointers" are raw CUDA device addresses (as returned by
 *    mla_malloc or cudaMalloc). "stream" is a cudaStream_t passed as void*;
 *    NULL means the legacy default stream.
 *  - Strides are in ELEMENTS (not bytes), int64. The last dimension of q,
 *    kvcache and out must be contiguous (stride 1).
 *  - The library uses the current CUDA device of the calling thread
 *    (see mla_set_device).
 *
 * ------------------------------------------------------------------------
 * Semantics of mla_decode
 * ------------------------------------------------------------------------
 *  q           [b, s_q, h_q, 576]           dtype (bf16 or fp16)
 *  kvcache     [num_blocks, 64, h_kv, 576]  dtype; paged, 64 tokens a page
 *  block_table [b, max_blocks_per_seq]      int32
 *  cache_seqlens [b]                        int32 (device)
 *  out         [b, s_q, h_q, 512]           dtype
 *  lse         [b, h_q, s_q]                fp32, CONTIGUOUS
 *
 *  Token t of request i is kvcache[block_table[i][t/64], t%64, kvh, :].
 *  K = all 576 columns, V = first 512 columns of the same rows.
 *  Query head h uses kv head kvh = h / (h_q/h_kv).
 *  logits_j = softmax_scale * q.k_j ; out = softmax(logits) V ;
 *  lse = natural log of sum_j exp(logits_j).
 *  causal (only matters for s_q > 1): query row i (0-based in s_q) sees keys
 *  j <= s_k - s_q + i. A row that sees no key (s_k == 0, or fully masked)
 *  gets out = 0 and lse = +INFINITY.
 *  Only block_table entries with index < ceil(seqlen/64) are read, and no
 *  cache data of tokens >= seqlen is ever loaded.
 *  Preconditions not checkable on the host: 0 <= cache_seqlens[i] <=
 *  max_blocks_per_seq*64 (values outside are clamped into that range), and
 *  the block_table entries that are read lie in [0, num_blocks).
 *  Accumulation is fp32. Every element of out and lse is written.
 *
 * ------------------------------------------------------------------------
 * Typical use
 * ------------------------------------------------------------------------
 *   int parts; mla_get_num_sm_parts(s_q, h_q, h_kv, &parts);
 *   // device buffers: sched int32[parts*MLA_SCHED_INTS], nsplits int32[b+1]
 *   mla_plan(cache_seqlens, b, s_q, h_q, h_kv, parts, sched, nsplits, stream);
 *   size_t ws; mla_workspace_bytes(b, s_q, h_q, h_kv, parts, &ws);
 *   // device buffer workspace of ws bytes (may be NULL when ws == 0)
 *   params.kernel_version = MLA_KERNEL_AUTO;   // or 1..MLA_KERNEL_VERSION_MAX
 *   mla_decode(&params, NULL, sched, nsplits, parts, workspace, ws, stream);  // NULL: default options
 *  The plan depends only on cache_seqlens and the shape; reuse it across
 *  layers / calls while the lengths are unchanged.
 *
 * ------------------------------------------------------------------------
 * Tile-scheduler metadata format (written by mla_plan, device memory)
 * ------------------------------------------------------------------------
 *  sched: int32 [num_sm_parts][MLA_SCHED_INTS]; for partition p:
 *    [0] begin_req     first request of the partition
 *    [1] begin_block   first KV page (index within that request) to process
 *    [2] end_req       last request of the partition (inclusive)
 *    [3] end_block     one past the last KV page of end_req to process
 *    [4] begin_split   global split slot of the piece of begin_req handled
 *                      here (= nsplits[begin_req] + k for the k-th piece)
 *    [5] nonempty      1 when the partition has work, 0 otherwise
 *    [6] [7]           reserved (0)
 *  For a request r in (begin_req, end_req] the piece starts at page 0 and
 *  uses split slot nsplits[r]; for r < end_req it runs to its last page.
 *  nsplits: int32 [b+1] prefix sums of the number of pieces ("splits") of
 *  each request: request r has nsplits[r+1]-nsplits[r] >= 1 pieces. A
 *  request with one piece writes out/lse directly; a request with several
 *  writes fp32 partials into the workspace and the combine kernel merges
 *  them. Work is balanced by cost = pages + MLA_SPLIT_OVERHEAD_BLOCKS per
 *  piece; a request of 0 tokens costs only the overhead and is never split.
 *  num_sm_parts = max(1, sm_count / (h_kv * ceil(s_q*(h_q/h_kv) / 64))).
 *
 *  Workspace layout (fp32): out_accum [b+num_sm_parts][h_kv][R][512] then
 *  lse_accum [b+num_sm_parts][h_kv][R], with R = s_q*h_q/h_kv and query row
 *  m of kv head kvh meaning (s = m / (h_q/h_kv), h = kvh*(h_q/h_kv) + m % (h_q/h_kv)).
 *
 * ------------------------------------------------------------------------
 * Kernel versions (params.kernel_version)
 * ------------------------------------------------------------------------
 *  0 "auto"      the library picks the rung that measured fastest for the
 *                shape (mla_select_kernel says which; kernels/PERF.md gives the
 *                rule and the measurements behind it). Where a TMA rung cannot
 *                describe the KV layout with a tensor map, auto runs v4.
 *  An explicit version runs exactly that kernel, or fails (UNSUPPORTED) with a
 *  message saying why; it never silently runs another.
 *  1 "simt"      scalar fp32 FMA, correctness reference on the GPU
 *  2 "mma_sync"  mma.sync m16n8k16 tensor cores + ldmatrix + cp.async
 *                double-buffered pages. Note: like FlashMLA,
 *                the softmax probabilities are rounded to the input dtype
 *                before the P.V product.
 *  3 "wgmma"     warpgroup MMA (wgmma.mma_async, sm_90a) with operands read
 *                from 128-byte-swizzled shared memory through descriptors;
 *                cp.async double buffering as in v2. Same P rounding.
 *                Each warpgroup computes the full S tile (duplicated work).
 *  4 "wgmma_split" v3 with the S tile split between the two warpgroups
 *                (two accumulator chains each), P exchanged through a
 *                swizzled shared-memory slab (SS wgmma for P V).
 *  5 "tma_ws"    v4 fed by a producer warpgroup: KV pages by TMA bulk tensor
 *                copies (one tensor map over the KV pool) on per-slab
 *                mbarriers, 2 page stages, warp specialisation with
 *                setmaxnreg, m64n256k16 P V. Partial last pages are still
 *                loaded with zero-filling cp.async (no token >= seqlen is
 *                read). Falls back to v4 if the tensor map cannot be
 *                encoded: UNSUPPORTED (auto runs v4 then).
 *  6 "seesaw"    v5 with 32-token units in 4 TMA stages and alternating
 *                ownership: the warpgroup that owns a unit computes its
 *                whole S and softmax while the other warpgroup's next S runs
 *                on the tensor cores; running max and P handed over through
 *                shared memory. Same fallback as v5. Correct but slower
 *                than v5 (kept as a documented step).
 *  7 "seesaw64"  FlashMLA-style seesaw on whole pages: the warpgroup that
 *                owns a page computes its S with m64n64k16 (Q's RoPE columns
 *                as register fragments, RS form) and its softmax; P of the
 *                own page feeds P V from registers, the other warpgroup's P
 *                from shared memory, one running max handed over on named
 *                barriers; page stages released in three parts (RoPE slab,
 *                each half of V) as soon as their readers finish. Same
 *                fallback as v5. Correct but slower than v5 on the H100
 *                (kept as a measured step; see kernels/PERF.md).
 *  8 "ksplit"    v5 with S cut between the warpgroups over the head
 *                dimension instead of the keys: each computes a partial S
 *                of all 64 keys over half of the 576 columns with
 *                m64n64k16 (the last 4 k-steps of each half with Q from
 *                registers, RS form), the halves are added through shared
 *                memory, then v5's softmax and P V; KV loads evict-first in
 *                L2 when one CTA reads each page. Same fallback as v5.
 *  9 "lazy"      v8 with a cheaper page softmax: the running max is raised
 *                only when a row's page maximum passes it by more than 8
 *                (log2 units), so most pages need no O rescale and no
 *                max exchange (one bar.red.or decides, and doubles as the
 *                P barrier); scale folded into one FFMA, ex2.approx,
 *                masking only where needed; each page stage handed back as
 *                soon as its P V completes. Same fallback as v5.
 * 10 "multicast" v9 with the two row tiles of each page (h_q*s_q > 64) in a
 *                thread-block cluster of two CTAs: each page is read once
 *                from L2 and multicast into both CTAs' stages (the two
 *                producers load half of its slabs each); a stage is free
 *                when the consumers of both CTAs have handed it back.
 *                Where the row tiles are not paired, or not all pairs fit
 *                on the GPU at once, v10 is v9.
 * 11 "staggered" each warpgroup owns every other page (whole-page S, the
 *                softmax of its page, its half of O); the two run half a pair
 *                out of phase so that one's softmax overlaps the other's
 *                wgmma, and each part of a page stage is reloaded by TMA as
 *                soon as its last reader is done (no producer warpgroup);
 *                v9's lazy running max.
 *  All versions give the same results up to rounding; all write out/lse
 *  (directly or through the combine kernel) for every row.
 */
#ifndef MLA_H_
#define MLA_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define MLA_API __declspec(dllexport)
#else
#define MLA_API __attribute__((visibility("default")))
#endif

/* ---- status codes ---- */
#define MLA_OK 0
#define MLA_ERR_INVALID_ARGUMENT 1 /* bad pointer / shape / stride / workspace too small */
#define MLA_ERR_CUDA 2             /* a CUDA runtime call or launch failed (message has cudaGetErrorString) */
#define MLA_ERR_NO_DEVICE 3        /* no CUDA driver or no CUDA device */
#define MLA_ERR_UNSUPPORTED 4      /* valid but unsupported (head dims, block size, alignment, version, library missing) */
#define MLA_ERR_OUT_OF_MEMORY 5    /* cudaErrorMemoryAllocation */

/* ---- dtypes ---- */
#define MLA_DTYPE_BF16 0
#define MLA_DTYPE_FP16 1

/* ---- constants ---- */
#define MLA_HEAD_DIM_K 576
#define MLA_HEAD_DIM_V 512
#define MLA_BLOCK_SIZE 64
#define MLA_SCHED_INTS 8
#define MLA_SPLIT_OVERHEAD_BLOCKS 5
#define MLA_KERNEL_AUTO 0
#define MLA_KERNEL_VERSION_MIN 1
#define MLA_KERNEL_VERSION_MAX 11

/* Decode parameters. Layout: 6 pointers, 10 int64, then 14 4-byte fields
 * (13 int32 + 1 float), total 184 bytes, 8-byte aligned, no implicit padding.
 * Offsets: pointers 0..47, int64 strides 48..127, int32/float 128..183. */
typedef struct mla_decode_params {
  const void* q;               /* [b, s_q, h_q, 576] dtype                     */
  const void* kvcache;         /* [num_blocks, 64, h_kv, 576] dtype            */
  const int32_t* block_table;  /* [b, max_blocks_per_seq]                      */
  const int32_t* cache_seqlens;/* [b]                                          */
  void* out;                   /* [b, s_q, h_q, 512] dtype                     */
  float* lse;                  /* [b, h_q, s_q] fp32 contiguous                */
  int64_t q_batch_stride, q_seq_stride, q_head_stride;          /* elements */
  int64_t kv_block_stride, kv_token_stride, kv_head_stride;     /* elements */
  int64_t block_table_batch_stride;                             /* elements */
  int64_t out_batch_stride, out_seq_stride, out_head_stride;    /* elements */
  int32_t dtype;               /* MLA_DTYPE_BF16 or MLA_DTYPE_FP16             */
  int32_t b, s_q, h_q, h_kv;
  int32_t d_k;                 /* must be 576 */
  int32_t d_v;                 /* must be 512 */
  int32_t num_blocks;          /* pages in kvcache */
  int32_t block_size;          /* must be 64 */
  int32_t max_blocks_per_seq;
  int32_t causal;              /* 0 or 1 */
  int32_t kernel_version;      /* MLA_KERNEL_AUTO (0) or 1..MLA_KERNEL_VERSION_MAX */
  float softmax_scale;         /* finite, > 0; callers default to 1/sqrt(576) */
  int32_t reserved;            /* set to 0 */
} mla_decode_params;

/* Options of a decode call. Pass NULL for the defaults, or fill one with
 * mla_default_options and change what you need. 32 bytes. */
typedef struct mla_decode_options {
  int32_t dependent_launch;    /* 1 (default): where it measured faster (v8, v9,
                                * v11, and v10 where it runs as v9), the decode is
                                * launched as a programmatic dependent of the
                                * previous kernel in the stream (its launch and
                                * prologue overlap that kernel's tail; it reads
                                * nothing before that kernel is done, so it is
                                * correct after any kernel). 0: plain launches. */
  int32_t reserved[7];         /* set to 0 */
} mla_decode_options;

/* Device properties (all 8-byte fields first; 256-byte name at the end). */
typedef struct mla_device_props {
  int64_t total_global_mem;    /* bytes */
  int64_t l2_cache_bytes;
  int32_t sm_count;
  int32_t sm_clock_khz;        /* from cudaDeviceGetAttribute(cudaDevAttrClockRate) */
  int32_t mem_clock_khz;       /* cudaDevAttrMemoryClockRate */
  int32_t mem_bus_width_bits;
  int32_t cc_major, cc_minor;
  int32_t driver_version;      /* e.g. 13000 */
  int32_t runtime_version;
  int32_t max_smem_per_block_optin; /* bytes */
  int32_t reserved;
  char name[256];
} mla_device_props;            /* sizeof == 312 */

/* ---- errors / info ---- */
MLA_API const char* mla_last_error(void);        /* never NULL; "" if none */
MLA_API const char* mla_status_string(int status);/* static string */
MLA_API int mla_abi_version(void);               /* returns 2 (not a status) */
MLA_API const char* mla_kernel_name(int kernel_version); /* "auto", "simt", "mma_sync", "wgmma", "wgmma_split", "tma_ws", "seesaw", "seesaw64", "ksplit", "lazy", "multicast", "staggered", or NULL */
MLA_API int mla_sizeof_params(void);             /* returns sizeof(mla_decode_params) = 184 */
MLA_API int mla_sizeof_options(void);            /* returns sizeof(mla_decode_options) = 32 */
MLA_API int mla_default_options(mla_decode_options* options); /* dependent_launch = 1, reserved = 0 */
MLA_API int mla_sizeof_device_props(void);       /* returns sizeof(mla_device_props) = 312 */

/* ---- device helpers ---- */
MLA_API int mla_device_count(int* count);        /* NO_DEVICE status if there is no usable device; the
                                                    message says which: no NVIDIA driver, a driver too old
                                                    for this CUDA runtime, or no device */
MLA_API int mla_set_device(int device);
MLA_API int mla_get_device(int* device);
MLA_API int mla_get_device_props(int device, mla_device_props* props);
MLA_API int mla_malloc(void** dev_ptr, size_t bytes);
MLA_API int mla_free(void* dev_ptr);             /* NULL is ok */
MLA_API int mla_memcpy_h2d(void* dst_dev, const void* src_host, size_t bytes);
MLA_API int mla_memcpy_d2h(void* dst_host, const void* src_dev, size_t bytes);
MLA_API int mla_memcpy_d2d(void* dst_dev, const void* src_dev, size_t bytes);
MLA_API int mla_memset(void* dev_ptr, int byte_value, size_t bytes);
MLA_API int mla_synchronize(void);               /* cudaDeviceSynchronize */
MLA_API int mla_stream_create(void** stream);
MLA_API int mla_stream_destroy(void* stream);
MLA_API int mla_stream_synchronize(void* stream);
MLA_API int mla_event_create(void** event);
MLA_API int mla_event_destroy(void* event);
MLA_API int mla_event_record(void* event, void* stream);
MLA_API int mla_event_synchronize(void* event);
MLA_API int mla_event_elapsed_ms(void* start, void* end, float* ms);

/* ---- planning ---- */
/* num_sm_parts for the current device: max(1, sm_count / (h_kv * ceil(s_q*h_q/h_kv/64))). */
MLA_API int mla_get_num_sm_parts(int s_q, int h_q, int h_kv, int* num_sm_parts);
/* Runs the scheduler kernel on `stream`. cache_seqlens, sched
 * (int32[num_sm_parts*MLA_SCHED_INTS]) and num_splits (int32[b+1]) are device
 * pointers. max_blocks_per_seq clamps the lengths (pass the block table's
 * width). Asynchronous; errors of the launch are reported. */
MLA_API int mla_plan(const int32_t* cache_seqlens, int b, int s_q, int h_q, int h_kv,
                     int max_blocks_per_seq, int num_sm_parts,
                     int32_t* sched, int32_t* num_splits, void* stream);
/* Bytes of fp32 workspace mla_decode needs (out_accum + lse_accum). */
MLA_API int mla_workspace_bytes(int b, int s_q, int h_q, int h_kv, int num_sm_parts, size_t* bytes);

/* ---- decode ---- */
/* The kernel version a call with these params would run: params->kernel_version
 * itself, or for MLA_KERNEL_AUTO the automatic choice for the shape (b, s_q,
 * h_q, h_kv, max_blocks_per_seq) with num_sm_parts partitions on a GPU of
 * sm_count SMs. Needs no device. */
MLA_API int mla_select_kernel(const mla_decode_params* params, int num_sm_parts, int sm_count, int* kernel_version);
/* Validates everything, then launches the decode kernel (params->kernel_version,
 * or the automatic choice) and the combine kernel on `stream`. options: NULL
 * for the defaults. Asynchronous. */
MLA_API int mla_decode(const mla_decode_params* params, const mla_decode_options* options, const int32_t* sched,
                       const int32_t* num_splits, int num_sm_parts, void* workspace, size_t workspace_bytes,
                       void* stream);

/* ---- benchmarking ---- */
/* Times `iters` back-to-back mla_decode calls (decode + combine; the plan is
 * NOT recomputed) between two CUDA events, `trials` times, after `warmup`
 * untimed calls; call i uses params[i % n_params] (each with its own buffers,
 * so that a working set larger than L2 can be cycled through; all share sched,
 * num_splits and the workspace). us_per_call_out[t] = elapsed_us / iters for
 * trial t (the caller takes the median). Every struct is validated before the
 * first launch. Synchronizes the stream. */
MLA_API int mla_bench_decode(const mla_decode_params* params, int n_params, const mla_decode_options* options,
                             const int32_t* sched, const int32_t* num_splits, int num_sm_parts, void* workspace,
                             size_t workspace_bytes, void* stream, int warmup, int iters, int trials,
                             float* us_per_call_out);

/* ---- the two ceilings of the roofline ---- */
/* Device-to-device copy of `bytes` bytes, `iters` times back to back after
 * one warm-up copy; *gbps = 2*bytes*iters / elapsed (bytes read + written). */
MLA_API int mla_measure_copy_bandwidth(size_t bytes, int iters, double* gbps);
/* bf16 GEMM C[m,n] = A[m,k] B[k,n] (fp32 accumulate, bf16 out) through cuBLAS,
 * loaded at run time from cublas_path, or when that is NULL the first of
 * libcublas.so.13, libcublas.so.12, libcublas.so that loads; random inputs;
 * warm-up then `iters` timed calls. *tflops = 2*m*n*k*iters / time.
 * UNSUPPORTED if cuBLAS cannot be loaded. */
MLA_API int mla_measure_gemm_bf16(int m, int n, int k, int iters, const char* cublas_path, double* tflops);

#ifdef __cplusplus
}
#endif

#endif /* MLA_H_ */
