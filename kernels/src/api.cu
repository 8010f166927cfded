// api.cu -- the C ABI of libmla (see kernels/include/mla.h): validation,
// planning, the automatic kernel choice, decode + combine dispatch, device helpers.
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <algorithm>
#include <string>
#include <vector>

#include "../include/mla.h"
#include "common.cuh"
#include "status.cuh"

using namespace mla;

static_assert(sizeof(mla_decode_params) == 184, "mla_decode_params layout changed");
static_assert(sizeof(mla_device_props) == 312, "mla_device_props layout changed");
static_assert(sizeof(mla_decode_options) == 32, "mla_decode_options layout changed");

namespace {

int64_t rows_per_kv(int s_q, int h_q, int h_kv) { return (int64_t)s_q * (h_q / h_kv); }

int check_shape(int b, int s_q, int h_q, int h_kv) {
  if (b < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "b must be >= 1 (got %d)", b);
  if (b > 65535) return fail(MLA_ERR_UNSUPPORTED, "b must be <= 65535 (got %d)", b);
  if (s_q < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "s_q must be >= 1 (got %d)", s_q);
  if (h_q < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "h_q must be >= 1 (got %d)", h_q);
  if (h_kv < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "h_kv must be >= 1 (got %d)", h_kv);
  if (h_q % h_kv != 0) return fail(MLA_ERR_INVALID_ARGUMENT, "h_q (%d) must be a multiple of h_kv (%d)", h_q, h_kv);
  if (h_kv > 65535) return fail(MLA_ERR_UNSUPPORTED, "h_kv must be <= 65535 (got %d)", h_kv);
  int64_t rows = rows_per_kv(s_q, h_q, h_kv);
  if ((rows + kTileM - 1) / kTileM > 65535)
    return fail(MLA_ERR_UNSUPPORTED, "s_q*h_q/h_kv = %lld is too large (max %d)", (long long)rows, 65535 * kTileM);
  if (rows * h_kv > (int64_t)1 << 30) return fail(MLA_ERR_UNSUPPORTED, "s_q*h_q too large");
  return MLA_OK;
}

int64_t slots_for(int b, int num_parts) { return (int64_t)b + num_parts; }

int64_t workspace_need(int b, int s_q, int h_q, int h_kv, int num_parts) {
  int64_t per_slot = (int64_t)h_kv * rows_per_kv(s_q, h_q, h_kv);
  return slots_for(b, num_parts) * per_slot * (kDV + 1) * (int64_t)sizeof(float);
}

}  // namespace

extern "C" {

const char* mla_last_error(void) { return mla::last_error(); }

const char* mla_status_string(int s) {
  switch (s) {
    case MLA_OK: return "ok";
    case MLA_ERR_INVALID_ARGUMENT: return "invalid argument";
    case MLA_ERR_CUDA: return "CUDA error";
    case MLA_ERR_NO_DEVICE: return "no CUDA device";
    case MLA_ERR_UNSUPPORTED: return "unsupported";
    case MLA_ERR_OUT_OF_MEMORY: return "out of device memory";
    default: return "unknown status";
  }
}

int mla_abi_version(void) { return 2; }
int mla_sizeof_params(void) { return (int)sizeof(mla_decode_params); }
int mla_sizeof_device_props(void) { return (int)sizeof(mla_device_props); }
int mla_sizeof_options(void) { return (int)sizeof(mla_decode_options); }

int mla_default_options(mla_decode_options* o) {
  if (!o) return fail(MLA_ERR_INVALID_ARGUMENT, "options is NULL");
  memset(o, 0, sizeof *o);
  o->dependent_launch = 1;
  return MLA_OK;
}

const char* mla_kernel_name(int v) {
  switch (v) {
    case MLA_KERNEL_AUTO: return "auto";
    case 1: return "simt";
    case 2: return "mma_sync";
    case 3: return "wgmma";
    case 4: return "wgmma_split";
    case 5: return "tma_ws";
    case 6: return "seesaw";
    case 7: return "seesaw64";
    case 8: return "ksplit";
    case 9: return "lazy";
    case 10: return "multicast";
    case 11: return "staggered";
    default: return NULL;
  }
}

// ---------------------------------------------------------------- devices
int mla_device_count(int* count) {
  if (!count) return fail(MLA_ERR_INVALID_ARGUMENT, "count is NULL");
  *count = 0;
  const int r = ensure_device();  // the reason, when there is no usable device
  if (r) return r;
  int n = 0;
  MLA_CK(cudaGetDeviceCount(&n));
  *count = n;
  return MLA_OK;
}

int mla_set_device(int d) {
  int r = ensure_device();
  if (r) return r;
  MLA_CK(cudaSetDevice(d));
  return MLA_OK;
}

int mla_get_device(int* d) {
  if (!d) return fail(MLA_ERR_INVALID_ARGUMENT, "device is NULL");
  int r = ensure_device();
  if (r) return r;
  MLA_CK(cudaGetDevice(d));
  return MLA_OK;
}

int mla_get_device_props(int d, mla_device_props* p) {
  if (!p) return fail(MLA_ERR_INVALID_ARGUMENT, "props is NULL");
  int r = ensure_device();
  if (r) return r;
  memset(p, 0, sizeof *p);
  cudaDeviceProp prop;
  MLA_CK(cudaGetDeviceProperties(&prop, d));
  p->total_global_mem = (int64_t)prop.totalGlobalMem;
  p->l2_cache_bytes = prop.l2CacheSize;
  p->sm_count = prop.multiProcessorCount;
  int v = 0;
  MLA_CK(cudaDeviceGetAttribute(&v, cudaDevAttrClockRate, d));
  p->sm_clock_khz = v;
  MLA_CK(cudaDeviceGetAttribute(&v, cudaDevAttrMemoryClockRate, d));
  p->mem_clock_khz = v;
  MLA_CK(cudaDeviceGetAttribute(&v, cudaDevAttrGlobalMemoryBusWidth, d));
  p->mem_bus_width_bits = v;
  p->cc_major = prop.major;
  p->cc_minor = prop.minor;
  MLA_CK(cudaDriverGetVersion(&v));
  p->driver_version = v;
  MLA_CK(cudaRuntimeGetVersion(&v));
  p->runtime_version = v;
  MLA_CK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, d));
  p->max_smem_per_block_optin = v;
  strncpy(p->name, prop.name, sizeof p->name - 1);
  return MLA_OK;
}

int mla_malloc(void** ptr, size_t bytes) {
  if (!ptr) return fail(MLA_ERR_INVALID_ARGUMENT, "ptr is NULL");
  *ptr = NULL;
  int r = ensure_device();
  if (r) return r;
  MLA_CK(cudaMalloc(ptr, bytes));
  return MLA_OK;
}

int mla_free(void* ptr) {
  if (!ptr) return MLA_OK;
  MLA_CK(cudaFree(ptr));
  return MLA_OK;
}

static int copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind k, const char* what) {
  if (bytes == 0) return MLA_OK;
  if (!dst || !src) return fail(MLA_ERR_INVALID_ARGUMENT, "%s: NULL pointer", what);
  int r = ensure_device();
  if (r) return r;
  cudaError_t e = cudaMemcpy(dst, src, bytes, k);
  if (e != cudaSuccess) return cuda_status(e, what);
  return MLA_OK;
}
int mla_memcpy_h2d(void* d, const void* s, size_t n) { return copy(d, s, n, cudaMemcpyHostToDevice, "mla_memcpy_h2d"); }
int mla_memcpy_d2h(void* d, const void* s, size_t n) { return copy(d, s, n, cudaMemcpyDeviceToHost, "mla_memcpy_d2h"); }
int mla_memcpy_d2d(void* d, const void* s, size_t n) { return copy(d, s, n, cudaMemcpyDeviceToDevice, "mla_memcpy_d2d"); }

int mla_memset(void* p, int v, size_t n) {
  if (n == 0) return MLA_OK;
  if (!p) return fail(MLA_ERR_INVALID_ARGUMENT, "mla_memset: NULL pointer");
  int r = ensure_device();
  if (r) return r;
  MLA_CK(cudaMemset(p, v, n));
  return MLA_OK;
}

int mla_synchronize(void) {
  int r = ensure_device();
  if (r) return r;
  MLA_CK(cudaDeviceSynchronize());
  return MLA_OK;
}

int mla_stream_create(void** s) {
  if (!s) return fail(MLA_ERR_INVALID_ARGUMENT, "stream is NULL");
  *s = NULL;
  int r = ensure_device();
  if (r) return r;
  cudaStream_t st;
  MLA_CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  *s = (void*)st;
  return MLA_OK;
}
int mla_stream_destroy(void* s) {
  if (!s) return MLA_OK;
  MLA_CK(cudaStreamDestroy((cudaStream_t)s));
  return MLA_OK;
}
int mla_stream_synchronize(void* s) {
  int r = ensure_device();
  if (r) return r;
  MLA_CK(cudaStreamSynchronize((cudaStream_t)s));
  return MLA_OK;
}
int mla_event_create(void** ev) {
  if (!ev) return fail(MLA_ERR_INVALID_ARGUMENT, "event is NULL");
  *ev = NULL;
  int r = ensure_device();
  if (r) return r;
  cudaEvent_t e;
  MLA_CK(cudaEventCreate(&e));
  *ev = (void*)e;
  return MLA_OK;
}
int mla_event_destroy(void* ev) {
  if (!ev) return MLA_OK;
  MLA_CK(cudaEventDestroy((cudaEvent_t)ev));
  return MLA_OK;
}
int mla_event_record(void* ev, void* s) {
  if (!ev) return fail(MLA_ERR_INVALID_ARGUMENT, "event is NULL");
  MLA_CK(cudaEventRecord((cudaEvent_t)ev, (cudaStream_t)s));
  return MLA_OK;
}
int mla_event_synchronize(void* ev) {
  if (!ev) return fail(MLA_ERR_INVALID_ARGUMENT, "event is NULL");
  MLA_CK(cudaEventSynchronize((cudaEvent_t)ev));
  return MLA_OK;
}
int mla_event_elapsed_ms(void* a, void* b, float* ms) {
  if (!a || !b || !ms) return fail(MLA_ERR_INVALID_ARGUMENT, "NULL argument");
  MLA_CK(cudaEventElapsedTime(ms, (cudaEvent_t)a, (cudaEvent_t)b));
  return MLA_OK;
}

// ---------------------------------------------------------------- planning
int mla_get_num_sm_parts(int s_q, int h_q, int h_kv, int* out) {
  if (!out) return fail(MLA_ERR_INVALID_ARGUMENT, "num_sm_parts is NULL");
  int r = check_shape(1, s_q, h_q, h_kv);
  if (r) return r;
  r = ensure_device();
  if (r) return r;
  int dev = 0, sms = 0;
  MLA_CK(cudaGetDevice(&dev));
  MLA_CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  int64_t tiles = (rows_per_kv(s_q, h_q, h_kv) + kTileM - 1) / kTileM;
  int64_t p = sms / ((int64_t)h_kv * tiles);
  *out = (int)std::max<int64_t>(1, p);
  return MLA_OK;
}

int mla_plan(const int32_t* seqlens, int b, int s_q, int h_q, int h_kv, int max_blocks_per_seq, int num_parts,
             int32_t* sched, int32_t* nsplits, void* stream) {
  if (!seqlens || !sched || !nsplits) return fail(MLA_ERR_INVALID_ARGUMENT, "mla_plan: NULL pointer");
  int r = check_shape(b, s_q, h_q, h_kv);
  if (r) return r;
  if (num_parts < 1 || num_parts > (1 << 20)) return fail(MLA_ERR_INVALID_ARGUMENT, "num_sm_parts out of range (%d)", num_parts);
  if (max_blocks_per_seq < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "max_blocks_per_seq must be >= 1");
  r = ensure_device();
  if (r) return r;
  cudaError_t e = launch_metadata(seqlens, b, max_blocks_per_seq, num_parts, sched, nsplits, (cudaStream_t)stream);
  if (e != cudaSuccess) return cuda_status(e, "metadata kernel launch");
  return MLA_OK;
}

int mla_workspace_bytes(int b, int s_q, int h_q, int h_kv, int num_parts, size_t* bytes) {
  if (!bytes) return fail(MLA_ERR_INVALID_ARGUMENT, "bytes is NULL");
  int r = check_shape(b, s_q, h_q, h_kv);
  if (r) return r;
  if (num_parts < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "num_sm_parts must be >= 1");
  *bytes = (size_t)workspace_need(b, s_q, h_q, h_kv, num_parts);
  return MLA_OK;
}

// ---------------------------------------------------------------- decode
static int validate(const mla_decode_params* p, const int32_t* sched, const int32_t* nsplits, int num_parts,
                    void* ws, size_t ws_bytes) {
  if (!p) return fail(MLA_ERR_INVALID_ARGUMENT, "params is NULL");
  if (!p->q) return fail(MLA_ERR_INVALID_ARGUMENT, "params.q is NULL");
  if (!p->kvcache) return fail(MLA_ERR_INVALID_ARGUMENT, "params.kvcache is NULL");
  if (!p->block_table) return fail(MLA_ERR_INVALID_ARGUMENT, "params.block_table is NULL");
  if (!p->cache_seqlens) return fail(MLA_ERR_INVALID_ARGUMENT, "params.cache_seqlens is NULL");
  if (!p->out) return fail(MLA_ERR_INVALID_ARGUMENT, "params.out is NULL");
  if (!p->lse) return fail(MLA_ERR_INVALID_ARGUMENT, "params.lse is NULL");
  if (!sched || !nsplits) return fail(MLA_ERR_INVALID_ARGUMENT, "metadata (sched / num_splits) is NULL");
  if (p->dtype != MLA_DTYPE_BF16 && p->dtype != MLA_DTYPE_FP16)
    return fail(MLA_ERR_INVALID_ARGUMENT, "dtype must be MLA_DTYPE_BF16 (0) or MLA_DTYPE_FP16 (1), got %d", p->dtype);
  if (p->kernel_version < MLA_KERNEL_AUTO || p->kernel_version > MLA_KERNEL_VERSION_MAX)
    return fail(MLA_ERR_UNSUPPORTED, "kernel_version %d out of range [0 (auto), %d]", p->kernel_version,
                MLA_KERNEL_VERSION_MAX);
  if (p->d_k != kDK || p->d_v != kDV)
    return fail(MLA_ERR_UNSUPPORTED, "head dims must be d_k=576, d_v=512 (got %d, %d)", p->d_k, p->d_v);
  if (p->block_size != kPage) return fail(MLA_ERR_UNSUPPORTED, "block_size must be 64 (got %d)", p->block_size);
  int r = check_shape(p->b, p->s_q, p->h_q, p->h_kv);
  if (r) return r;
  if (p->num_blocks < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "num_blocks must be >= 1");
  if (p->max_blocks_per_seq < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "max_blocks_per_seq must be >= 1");
  if ((int64_t)p->max_blocks_per_seq * kPage > INT32_MAX) return fail(MLA_ERR_UNSUPPORTED, "max_blocks_per_seq too large");
  if (p->causal != 0 && p->causal != 1) return fail(MLA_ERR_INVALID_ARGUMENT, "causal must be 0 or 1");
  if (!(p->softmax_scale > 0.f) || !isfinite(p->softmax_scale))
    return fail(MLA_ERR_INVALID_ARGUMENT, "softmax_scale must be finite and > 0 (got %g)", (double)p->softmax_scale);
  if (num_parts < 1 || num_parts > (1 << 20)) return fail(MLA_ERR_INVALID_ARGUMENT, "num_sm_parts out of range (%d)", num_parts);
  // strides: non-negative; 16-byte alignment of every row start for 16-byte loads
  const int64_t st[] = {p->q_batch_stride, p->q_seq_stride, p->q_head_stride, p->kv_block_stride, p->kv_token_stride,
                        p->kv_head_stride, p->block_table_batch_stride, p->out_batch_stride, p->out_seq_stride,
                        p->out_head_stride};
  const char* nm[] = {"q_batch_stride", "q_seq_stride", "q_head_stride", "kv_block_stride", "kv_token_stride",
                      "kv_head_stride", "block_table_batch_stride", "out_batch_stride", "out_seq_stride",
                      "out_head_stride"};
  for (int i = 0; i < 10; ++i) {
    if (st[i] < 0 || st[i] > ((int64_t)1 << 40)) return fail(MLA_ERR_INVALID_ARGUMENT, "%s out of range (%lld)", nm[i], (long long)st[i]);
    if (i < 6 && st[i] % 8 != 0) return fail(MLA_ERR_UNSUPPORTED, "%s must be a multiple of 8 elements (got %lld)", nm[i], (long long)st[i]);
    if (i >= 7 && st[i] % 2 != 0) return fail(MLA_ERR_UNSUPPORTED, "%s must be even (got %lld)", nm[i], (long long)st[i]);
  }
  if (p->b > 1 && p->block_table_batch_stride < p->max_blocks_per_seq)
    return fail(MLA_ERR_INVALID_ARGUMENT, "block_table_batch_stride (%lld) < max_blocks_per_seq (%d)",
                (long long)p->block_table_batch_stride, p->max_blocks_per_seq);
  if (((uintptr_t)p->q) % 16 || ((uintptr_t)p->kvcache) % 16)
    return fail(MLA_ERR_UNSUPPORTED, "q and kvcache must be 16-byte aligned");
  if (((uintptr_t)p->out) % 4) return fail(MLA_ERR_UNSUPPORTED, "out must be 4-byte aligned");
  if (((uintptr_t)p->lse) % 4 || ((uintptr_t)p->block_table) % 4 || ((uintptr_t)p->cache_seqlens) % 4)
    return fail(MLA_ERR_INVALID_ARGUMENT, "lse / block_table / cache_seqlens must be 4-byte aligned");
  int64_t need = workspace_need(p->b, p->s_q, p->h_q, p->h_kv, num_parts);
  if ((int64_t)ws_bytes < need)
    return fail(MLA_ERR_INVALID_ARGUMENT, "workspace too small: need %lld bytes, got %zu", (long long)need, ws_bytes);
  if (need > 0 && !ws) return fail(MLA_ERR_INVALID_ARGUMENT, "workspace is NULL");
  if (((uintptr_t)ws) % 16) return fail(MLA_ERR_INVALID_ARGUMENT, "workspace must be 16-byte aligned");
  return MLA_OK;
}

static DecodeArgs make_args(const mla_decode_params* p, const int32_t* sched, const int32_t* nsplits, int num_parts,
                            void* ws) {
  DecodeArgs a;
  a.q = p->q; a.kv = p->kvcache; a.block_table = p->block_table; a.seqlens = p->cache_seqlens;
  a.out = p->out; a.lse = p->lse;
  const int64_t rows = rows_per_kv(p->s_q, p->h_q, p->h_kv);
  a.oacc = reinterpret_cast<float*>(ws);
  a.lacc = a.oacc + slots_for(p->b, num_parts) * p->h_kv * rows * kDV;
  a.sched = sched; a.nsplits = nsplits;
  a.q_sb = p->q_batch_stride; a.q_ss = p->q_seq_stride; a.q_sh = p->q_head_stride;
  a.kv_sb = p->kv_block_stride; a.kv_st = p->kv_token_stride; a.kv_sh = p->kv_head_stride;
  a.bt_sb = p->block_table_batch_stride;
  a.o_sb = p->out_batch_stride; a.o_ss = p->out_seq_stride; a.o_sh = p->out_head_stride;
  a.b = p->b; a.s_q = p->s_q; a.h_q = p->h_q; a.h_kv = p->h_kv;
  a.G = p->h_q / p->h_kv; a.rows = (int)rows;
  a.max_blocks = p->max_blocks_per_seq; a.causal = p->causal; a.num_parts = num_parts;
  a.scale_log2 = p->softmax_scale * kLog2e;
  return a;
}

// The automatic choice (kernel_version 0): the rung that measured fastest for
// the shape in the recorded run (H100; kernels/PERF.md, "The automatic
// choice"; test/auto-kernel.test.ts checks it against the recorded run):
//  - v11 where eight or more row tiles read each page (s_q*h_q/h_kv >= 449,
//    e.g. s_q=4 at h_q=128): most of a page's loads are L2 hits there, and
//    v11's softmax under the other warpgroup's tensor work ran ~10% ahead of
//    v9 at s_q=4 h_q=128 (the only such shape measured; 2-13% behind at 2-6 tiles);
//  - v10 where there are several row tiles per KV head and many pages per
//    partition (many_pages): its pairs of row tiles share each page's loads,
//    2-6% ahead of v9 on b=128 at h_q=128 with a mean of 16k-32k tokens;
//  - v9 everywhere else: the one-tile (memory-bound) grids, where v10 is v9,
//    and the grids with fewer pages per partition, where v9 is up to 7% ahead
//    (short contexts, small batches, s_q=3-4 at 4k tokens).
constexpr int64_t kTilesForV11 = 8;
static int select_kernel(const mla_decode_params* p, int num_parts) {
  const int64_t rows = rows_per_kv(p->s_q, p->h_q, p->h_kv);
  const int64_t tiles = (rows + kTileM - 1) / kTileM;
  if (tiles >= kTilesForV11) return 11;
  return (tiles > 1 && many_pages(p->b, p->max_blocks_per_seq, num_parts)) ? 10 : 9;
}

static cudaError_t launch_version(int v, const DecodeArgs& a, int dtype, int tiles, int num_blocks, cudaStream_t st) {
  switch (v) {
    case 1: return launch_decode_v1(a, dtype, tiles, st);
    case 2: return launch_decode_v2(a, dtype, tiles, st);
    case 3: return launch_decode_v3(a, dtype, tiles, st);
    case 4: return launch_decode_v4(a, dtype, tiles, st);
    case 5: return launch_decode_v5(a, dtype, tiles, num_blocks, st);
    case 6: return launch_decode_v6(a, dtype, tiles, num_blocks, st);
    case 7: return launch_decode_v7(a, dtype, tiles, num_blocks, st);
    case 8: return launch_decode_v8(a, dtype, tiles, num_blocks, st);
    case 9: return launch_decode_v9(a, dtype, tiles, num_blocks, st);
    case 10: return launch_decode_v10(a, dtype, tiles, num_blocks, st);
    default: return launch_decode_v11(a, dtype, tiles, num_blocks, st);
  }
}

// Decode + combine of version v (resolved, >= 1) on `st`. A TMA rung whose KV
// layout no tensor map can describe is UNSUPPORTED; under the automatic choice
// (`automatic`) it runs v4 instead.
static int launch_all(const mla_decode_params* p, int v, bool automatic, const DecodeArgs& a, cudaStream_t st) {
  const int tiles = (a.rows + kTileM - 1) / kTileM;
  cudaError_t e = launch_version(v, a, p->dtype, tiles, p->num_blocks, st);
  if (e == cudaErrorNotSupported && v >= 5) {
    cudaGetLastError();
    if (!automatic)
      return fail(MLA_ERR_UNSUPPORTED,
                  "kernel_version %d needs a TMA tensor map of the KV cache, and this layout (strides %lld / %lld / "
                  "%lld elements) cannot be encoded; versions 1-4 or kernel_version 0 (auto) run it",
                  v, (long long)p->kv_block_stride, (long long)p->kv_token_stride, (long long)p->kv_head_stride);
    v = 4;
    e = launch_version(v, a, p->dtype, tiles, p->num_blocks, st);
  }
  if (e != cudaSuccess) return cuda_status(e, "decode kernel launch");
  e = (v >= 5) ? launch_combine_pdl(a, p->dtype, st) : launch_combine(a, p->dtype, st);
  if (e != cudaSuccess) return cuda_status(e, "combine kernel launch");
  return MLA_OK;
}

static int check_options(const mla_decode_options* o) {
  if (!o) return MLA_OK;
  if (o->dependent_launch != 0 && o->dependent_launch != 1)
    return fail(MLA_ERR_INVALID_ARGUMENT, "options.dependent_launch must be 0 or 1 (got %d)", o->dependent_launch);
  for (int i = 0; i < 7; ++i)
    if (o->reserved[i] != 0) return fail(MLA_ERR_INVALID_ARGUMENT, "options.reserved[%d] must be 0 (got %d)", i, o->reserved[i]);
  return MLA_OK;
}

// Everything mla_decode and mla_bench_decode check before the first launch:
// params, options, the device; the resolved version and the kernel arguments.
static int prepare(const mla_decode_params* p, const mla_decode_options* o, const int32_t* sched, const int32_t* nsplits,
                   int num_parts, void* ws, size_t ws_bytes, int* v, DecodeArgs* a) {
  int r = validate(p, sched, nsplits, num_parts, ws, ws_bytes);
  if (!r) r = check_options(o);
  if (!r) r = ensure_device();
  if (r) return r;
  *v = p->kernel_version;
  if (*v == MLA_KERNEL_AUTO) *v = select_kernel(p, num_parts);
  *a = make_args(p, sched, nsplits, num_parts, ws);
  a->dependent_launch = o ? o->dependent_launch : 1;
  return MLA_OK;
}

int mla_select_kernel(const mla_decode_params* p, int num_parts, int sm_count, int* version) {
  if (!p || !version) return fail(MLA_ERR_INVALID_ARGUMENT, "mla_select_kernel: NULL argument");
  int r = check_shape(p->b, p->s_q, p->h_q, p->h_kv);
  if (r) return r;
  if (p->kernel_version < MLA_KERNEL_AUTO || p->kernel_version > MLA_KERNEL_VERSION_MAX)
    return fail(MLA_ERR_UNSUPPORTED, "kernel_version %d out of range [0 (auto), %d]", p->kernel_version, MLA_KERNEL_VERSION_MAX);
  if (num_parts < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "num_sm_parts must be >= 1 (got %d)", num_parts);
  if (sm_count < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "sm_count must be >= 1 (got %d)", sm_count);
  *version = p->kernel_version != MLA_KERNEL_AUTO ? p->kernel_version : select_kernel(p, num_parts);
  return MLA_OK;
}

int mla_decode(const mla_decode_params* p, const mla_decode_options* o, const int32_t* sched, const int32_t* nsplits,
               int num_parts, void* ws, size_t ws_bytes, void* stream) {
  int v = 0;
  DecodeArgs a;
  int r = prepare(p, o, sched, nsplits, num_parts, ws, ws_bytes, &v, &a);
  if (r) return r;
  return launch_all(p, v, p->kernel_version == MLA_KERNEL_AUTO, a, (cudaStream_t)stream);
}

int mla_bench_decode(const mla_decode_params* params, int n_params, const mla_decode_options* o, const int32_t* sched,
                     const int32_t* nsplits, int num_parts, void* ws, size_t ws_bytes, void* stream, int warmup,
                     int iters, int trials, float* us) {
  if (!params || n_params < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "mla_bench_decode: params must point to n_params >= 1 structs");
  if (warmup < 0 || iters < 1 || trials < 1 || !us)
    return fail(MLA_ERR_INVALID_ARGUMENT, "mla_bench_decode: need warmup >= 0, iters >= 1, trials >= 1 and a non-NULL output");
  // every struct prepared (and so validated) before anything is launched
  std::vector<DecodeArgs> args(n_params);
  std::vector<int> versions(n_params);
  for (int i = 0; i < n_params; ++i) {
    const int r = prepare(&params[i], o, sched, nsplits, num_parts, ws, ws_bytes, &versions[i], &args[i]);
    if (r) return fail(r, "mla_bench_decode: params[%d]: %s", i, std::string(mla::last_error()).c_str());
  }
  cudaStream_t st = (cudaStream_t)stream;
  auto call = [&](int i) {
    const int k = i % n_params;
    return launch_all(&params[k], versions[k], params[k].kernel_version == MLA_KERNEL_AUTO, args[k], st);
  };
  int status = MLA_OK;
  for (int i = 0; i < warmup && status == MLA_OK; ++i) status = call(i);
  if (status) return status;
  cudaEvent_t e0, e1;
  MLA_CK(cudaEventCreate(&e0));
  cudaError_t ce = cudaEventCreate(&e1);
  if (ce != cudaSuccess) { cudaEventDestroy(e0); return cuda_status(ce, "cudaEventCreate"); }
  for (int t = 0; t < trials && status == MLA_OK; ++t) {
    ce = cudaEventRecord(e0, st);
    if (ce != cudaSuccess) { status = cuda_status(ce, "cudaEventRecord"); break; }
    for (int i = 0; i < iters && status == MLA_OK; ++i) status = call(i);
    if (status) break;
    ce = cudaEventRecord(e1, st);
    if (ce == cudaSuccess) ce = cudaEventSynchronize(e1);
    float ms = 0.f;
    if (ce == cudaSuccess) ce = cudaEventElapsedTime(&ms, e0, e1);
    if (ce != cudaSuccess) { status = cuda_status(ce, "bench timing"); break; }
    us[t] = ms * 1000.f / iters;
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  return status;
}

}  // extern "C"
