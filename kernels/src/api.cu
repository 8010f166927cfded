// api.cu -- the C ABI of libmla (see kernels/include/mla.h): validation,
// planning, decode + combine dispatch, device helpers, benchmarks, probes.
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <algorithm>
#include <vector>

#include "../include/mla.h"
#include "common.cuh"

using namespace mla;

static_assert(sizeof(mla_decode_params) == 184, "mla_decode_params layout changed");
static_assert(sizeof(mla_device_props) == 312, "mla_device_props layout changed");

namespace {

thread_local char g_err[1024] = "";

int fail(int code, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_err, sizeof g_err, fmt, ap);
  va_end(ap);
  return code;
}

int cuda_status(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return MLA_OK;
  cudaGetLastError();  // clear sticky-free error state
  int code = MLA_ERR_CUDA;
  if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver || e == cudaErrorInitializationError ||
      e == cudaErrorSystemDriverMismatch || e == cudaErrorCompatNotSupportedOnDevice)
    code = MLA_ERR_NO_DEVICE;
  if (e == cudaErrorMemoryAllocation) code = MLA_ERR_OUT_OF_MEMORY;
  return fail(code, "%s: %s (%s, cudaError %d)", what, cudaGetErrorString(e), cudaGetErrorName(e), (int)e);
}

#define CK(call)                                      \
  do {                                                \
    cudaError_t e_ = (call);                          \
    if (e_ != cudaSuccess) return cuda_status(e_, #call); \
  } while (0)

int ensure_device() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cuda_status(e, "cudaGetDeviceCount");
    return fail(MLA_ERR_NO_DEVICE, "no usable CUDA device: cudaGetDeviceCount failed: %s (%s)", cudaGetErrorString(e),
                cudaGetErrorName(e));
  }
  if (n <= 0) return fail(MLA_ERR_NO_DEVICE, "no CUDA device found");
  return MLA_OK;
}

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

const char* mla_last_error(void) { return g_err; }

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

int mla_abi_version(void) { return 1; }
int mla_sizeof_params(void) { return (int)sizeof(mla_decode_params); }
int mla_sizeof_device_props(void) { return (int)sizeof(mla_device_props); }

const char* mla_kernel_name(int v) {
  switch (v) {
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
    default: return NULL;
  }
}

// ---------------------------------------------------------------- devices
int mla_device_count(int* count) {
  if (!count) return fail(MLA_ERR_INVALID_ARGUMENT, "count is NULL");
  *count = 0;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return fail(MLA_ERR_NO_DEVICE, "no usable CUDA device: cudaGetDeviceCount failed: %s (%s)", cudaGetErrorString(e),
                cudaGetErrorName(e));
  }
  *count = n;
  if (n == 0) return fail(MLA_ERR_NO_DEVICE, "no CUDA device found");
  return MLA_OK;
}

int mla_set_device(int d) {
  int r = ensure_device();
  if (r) return r;
  CK(cudaSetDevice(d));
  return MLA_OK;
}

int mla_get_device(int* d) {
  if (!d) return fail(MLA_ERR_INVALID_ARGUMENT, "device is NULL");
  int r = ensure_device();
  if (r) return r;
  CK(cudaGetDevice(d));
  return MLA_OK;
}

int mla_get_device_props(int d, mla_device_props* p) {
  if (!p) return fail(MLA_ERR_INVALID_ARGUMENT, "props is NULL");
  int r = ensure_device();
  if (r) return r;
  memset(p, 0, sizeof *p);
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, d));
  p->total_global_mem = (int64_t)prop.totalGlobalMem;
  p->l2_cache_bytes = prop.l2CacheSize;
  p->sm_count = prop.multiProcessorCount;
  int v = 0;
  CK(cudaDeviceGetAttribute(&v, cudaDevAttrClockRate, d));
  p->sm_clock_khz = v;
  CK(cudaDeviceGetAttribute(&v, cudaDevAttrMemoryClockRate, d));
  p->mem_clock_khz = v;
  CK(cudaDeviceGetAttribute(&v, cudaDevAttrGlobalMemoryBusWidth, d));
  p->mem_bus_width_bits = v;
  p->cc_major = prop.major;
  p->cc_minor = prop.minor;
  CK(cudaDriverGetVersion(&v));
  p->driver_version = v;
  CK(cudaRuntimeGetVersion(&v));
  p->runtime_version = v;
  CK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, d));
  p->max_smem_per_block_optin = v;
  strncpy(p->name, prop.name, sizeof p->name - 1);
  return MLA_OK;
}

int mla_malloc(void** ptr, size_t bytes) {
  if (!ptr) return fail(MLA_ERR_INVALID_ARGUMENT, "ptr is NULL");
  *ptr = NULL;
  int r = ensure_device();
  if (r) return r;
  CK(cudaMalloc(ptr, bytes));
  return MLA_OK;
}

int mla_free(void* ptr) {
  if (!ptr) return MLA_OK;
  CK(cudaFree(ptr));
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
  CK(cudaMemset(p, v, n));
  return MLA_OK;
}

int mla_synchronize(void) {
  int r = ensure_device();
  if (r) return r;
  CK(cudaDeviceSynchronize());
  return MLA_OK;
}

int mla_stream_create(void** s) {
  if (!s) return fail(MLA_ERR_INVALID_ARGUMENT, "stream is NULL");
  *s = NULL;
  int r = ensure_device();
  if (r) return r;
  cudaStream_t st;
  CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  *s = (void*)st;
  return MLA_OK;
}
int mla_stream_destroy(void* s) {
  if (!s) return MLA_OK;
  CK(cudaStreamDestroy((cudaStream_t)s));
  return MLA_OK;
}
int mla_stream_synchronize(void* s) {
  int r = ensure_device();
  if (r) return r;
  CK(cudaStreamSynchronize((cudaStream_t)s));
  return MLA_OK;
}
int mla_event_create(void** ev) {
  if (!ev) return fail(MLA_ERR_INVALID_ARGUMENT, "event is NULL");
  *ev = NULL;
  int r = ensure_device();
  if (r) return r;
  cudaEvent_t e;
  CK(cudaEventCreate(&e));
  *ev = (void*)e;
  return MLA_OK;
}
int mla_event_destroy(void* ev) {
  if (!ev) return MLA_OK;
  CK(cudaEventDestroy((cudaEvent_t)ev));
  return MLA_OK;
}
int mla_event_record(void* ev, void* s) {
  if (!ev) return fail(MLA_ERR_INVALID_ARGUMENT, "event is NULL");
  CK(cudaEventRecord((cudaEvent_t)ev, (cudaStream_t)s));
  return MLA_OK;
}
int mla_event_synchronize(void* ev) {
  if (!ev) return fail(MLA_ERR_INVALID_ARGUMENT, "event is NULL");
  CK(cudaEventSynchronize((cudaEvent_t)ev));
  return MLA_OK;
}
int mla_event_elapsed_ms(void* a, void* b, float* ms) {
  if (!a || !b || !ms) return fail(MLA_ERR_INVALID_ARGUMENT, "NULL argument");
  CK(cudaEventElapsedTime(ms, (cudaEvent_t)a, (cudaEvent_t)b));
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
  CK(cudaGetDevice(&dev));
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
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
  if (p->kernel_version < MLA_KERNEL_VERSION_MIN || p->kernel_version > MLA_KERNEL_VERSION_MAX)
    return fail(MLA_ERR_UNSUPPORTED, "kernel_version %d out of range [%d, %d]", p->kernel_version, MLA_KERNEL_VERSION_MIN,
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

static int launch_all(const mla_decode_params* p, const DecodeArgs& a, cudaStream_t st) {
  const int tiles = (a.rows + kTileM - 1) / kTileM;
  cudaError_t e = (p->kernel_version == 1)   ? launch_decode_v1(a, p->dtype, tiles, st)
                  : (p->kernel_version == 2) ? launch_decode_v2(a, p->dtype, tiles, st)
                  : (p->kernel_version == 3) ? launch_decode_v3(a, p->dtype, tiles, st)
                  : (p->kernel_version == 4) ? launch_decode_v4(a, p->dtype, tiles, st)
                  : (p->kernel_version == 5) ? launch_decode_v5(a, p->dtype, tiles, p->num_blocks, st)
                  : (p->kernel_version == 6) ? launch_decode_v6(a, p->dtype, tiles, p->num_blocks, st)
                  : (p->kernel_version == 7) ? launch_decode_v7(a, p->dtype, tiles, p->num_blocks, st)
                  : (p->kernel_version == 8) ? launch_decode_v8(a, p->dtype, tiles, p->num_blocks, st)
                  : (p->kernel_version == 9) ? launch_decode_v9(a, p->dtype, tiles, p->num_blocks, st)
                                             : launch_decode_v10(a, p->dtype, tiles, p->num_blocks, st);
  if (e != cudaSuccess) return cuda_status(e, "decode kernel launch");
  e = (p->kernel_version >= 5) ? launch_combine_pdl(a, p->dtype, st) : launch_combine(a, p->dtype, st);
  if (e != cudaSuccess) return cuda_status(e, "combine kernel launch");
  return MLA_OK;
}

int mla_decode(const mla_decode_params* p, const int32_t* sched, const int32_t* nsplits, int num_parts, void* ws,
               size_t ws_bytes, void* stream) {
  int r = validate(p, sched, nsplits, num_parts, ws, ws_bytes);
  if (r) return r;
  r = ensure_device();
  if (r) return r;
  DecodeArgs a = make_args(p, sched, nsplits, num_parts, ws);
  return launch_all(p, a, (cudaStream_t)stream);
}

int mla_bench_decode(const mla_decode_params* p, const int32_t* sched, const int32_t* nsplits, int num_parts, void* ws,
                     size_t ws_bytes, void* stream, int warmup, int iters, int trials, float* us) {
  int r = validate(p, sched, nsplits, num_parts, ws, ws_bytes);
  if (r) return r;
  if (warmup < 0 || iters < 1 || trials < 1 || !us)
    return fail(MLA_ERR_INVALID_ARGUMENT, "bench: need warmup >= 0, iters >= 1, trials >= 1, non-NULL output");
  r = ensure_device();
  if (r) return r;
  cudaStream_t st = (cudaStream_t)stream;
  DecodeArgs a = make_args(p, sched, nsplits, num_parts, ws);
  for (int i = 0; i < warmup; ++i)
    if ((r = launch_all(p, a, st))) return r;
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  cudaError_t ce = cudaEventCreate(&e1);
  if (ce != cudaSuccess) { cudaEventDestroy(e0); return cuda_status(ce, "cudaEventCreate"); }
  int status = MLA_OK;
  for (int t = 0; t < trials && status == MLA_OK; ++t) {
    ce = cudaEventRecord(e0, st);
    if (ce != cudaSuccess) { status = cuda_status(ce, "cudaEventRecord"); break; }
    for (int i = 0; i < iters && status == MLA_OK; ++i) status = launch_all(p, a, st);
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

// ---------------------------------------------------------------- probes
int mla_probe_copy_bandwidth(size_t bytes, int iters, double* gbps) {
  if (!gbps || bytes == 0 || iters < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "probe_copy: bad argument");
  int r = ensure_device();
  if (r) return r;
  void *a = NULL, *b = NULL;
  CK(cudaMalloc(&a, bytes));
  cudaError_t e = cudaMalloc(&b, bytes);
  cudaEvent_t e0 = NULL, e1 = NULL;
  float ms = 0.f;
  if (e == cudaSuccess) e = cudaMemset(a, 0x3c, bytes);
  if (e == cudaSuccess) e = cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);  // warm-up
  if (e == cudaSuccess) e = cudaEventCreate(&e0);
  if (e == cudaSuccess) e = cudaEventCreate(&e1);
  if (e == cudaSuccess) e = cudaEventRecord(e0, 0);
  for (int i = 0; i < iters && e == cudaSuccess; ++i) e = cudaMemcpyAsync((i & 1) ? a : b, (i & 1) ? b : a, bytes, cudaMemcpyDeviceToDevice, 0);
  if (e == cudaSuccess) e = cudaEventRecord(e1, 0);
  if (e == cudaSuccess) e = cudaEventSynchronize(e1);
  if (e == cudaSuccess) e = cudaEventElapsedTime(&ms, e0, e1);
  if (e0) cudaEventDestroy(e0);
  if (e1) cudaEventDestroy(e1);
  cudaFree(a);
  if (b) cudaFree(b);
  if (e != cudaSuccess) return cuda_status(e, "probe_copy");
  *gbps = 2.0 * (double)bytes * iters / (ms * 1e-3) / 1e9;
  return MLA_OK;
}

// cuBLAS loaded at run time (no link-time dependency).
typedef int (*cublasCreate_t)(void**);
typedef int (*cublasDestroy_t)(void*);
typedef int (*cublasGemmEx_t)(void*, int, int, int, int, int, const void*, const void*, int, int, const void*, int, int,
                              const void*, void*, int, int, int, int);

__global__ void fill_random_bf16(__nv_bfloat16* x, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    uint32_t h = (uint32_t)i * 2654435761u ^ seed;
    h ^= h >> 15; h *= 2246822519u; h ^= h >> 13; h *= 3266489917u; h ^= h >> 16;
    float f = ((h & 0xffff) / 65535.f) * 2.f - 1.f;
    if (fabsf(f) < 1e-3f) f = 0.5f;
    x[i] = __float2bfloat16(f);
  }
}

int mla_probe_gemm_bf16(int m, int n, int k, int iters, double* tflops) {
  if (!tflops || m < 1 || n < 1 || k < 1 || iters < 1) return fail(MLA_ERR_INVALID_ARGUMENT, "probe_gemm: bad argument");
  int r = ensure_device();
  if (r) return r;
  const char* env = getenv("MLA_CUBLAS_PATH");
  const char* names[] = {env, "libcublas.so.13", "libcublas.so.12", "libcublas.so"};
  void* h = NULL;
  for (const char* nmv : names)
    if (nmv && (h = dlopen(nmv, RTLD_NOW | RTLD_LOCAL))) break;
  if (!h) return fail(MLA_ERR_UNSUPPORTED, "probe_gemm: cannot dlopen cuBLAS (set MLA_CUBLAS_PATH): %s", dlerror());
  cublasCreate_t create = (cublasCreate_t)dlsym(h, "cublasCreate_v2");
  cublasDestroy_t destroy = (cublasDestroy_t)dlsym(h, "cublasDestroy_v2");
  cublasGemmEx_t gemm = (cublasGemmEx_t)dlsym(h, "cublasGemmEx");
  if (!create || !destroy || !gemm) return fail(MLA_ERR_UNSUPPORTED, "probe_gemm: cuBLAS symbols missing");
  void* handle = NULL;
  int cs = create(&handle);
  if (cs != 0) return fail(MLA_ERR_CUDA, "probe_gemm: cublasCreate failed (%d)", cs);
  __nv_bfloat16 *A = NULL, *B = NULL, *C = NULL;
  cudaError_t e = cudaMalloc(&A, (size_t)m * k * 2);
  if (e == cudaSuccess) e = cudaMalloc(&B, (size_t)k * n * 2);
  if (e == cudaSuccess) e = cudaMalloc(&C, (size_t)m * n * 2);
  if (e == cudaSuccess) {
    fill_random_bf16<<<1024, 256>>>(A, (size_t)m * k, 1234u);
    fill_random_bf16<<<1024, 256>>>(B, (size_t)k * n, 98765u);
    e = cudaGetLastError();
  }
  const float alpha = 1.f, beta = 0.f;
  const int R_16BF = 14, COMPUTE_32F = 68, ALGO_DEFAULT = -1, OP_N = 0;
  int gs = 0;
  float ms = 0.f;
  cudaEvent_t e0 = NULL, e1 = NULL;
  // column-major: C[m x n] = A[m x k] * B[k x n]
  auto call = [&]() { return gemm(handle, OP_N, OP_N, m, n, k, &alpha, A, R_16BF, m, B, R_16BF, k, &beta, C, R_16BF, m, COMPUTE_32F, ALGO_DEFAULT); };
  for (int i = 0; i < 3 && e == cudaSuccess && gs == 0; ++i) gs = call();
  if (e == cudaSuccess) e = cudaEventCreate(&e0);
  if (e == cudaSuccess) e = cudaEventCreate(&e1);
  if (e == cudaSuccess) e = cudaEventRecord(e0, 0);
  for (int i = 0; i < iters && e == cudaSuccess && gs == 0; ++i) gs = call();
  if (e == cudaSuccess) e = cudaEventRecord(e1, 0);
  if (e == cudaSuccess) e = cudaEventSynchronize(e1);
  if (e == cudaSuccess) e = cudaEventElapsedTime(&ms, e0, e1);
  if (e0) cudaEventDestroy(e0);
  if (e1) cudaEventDestroy(e1);
  cudaFree(A); cudaFree(B); cudaFree(C);
  destroy(handle);
  if (e != cudaSuccess) return cuda_status(e, "probe_gemm");
  if (gs != 0) return fail(MLA_ERR_CUDA, "probe_gemm: cublasGemmEx failed (status %d)", gs);
  *tflops = 2.0 * m * (double)n * k * iters / (ms * 1e-3) / 1e12;
  return MLA_OK;
}

}  // extern "C"
