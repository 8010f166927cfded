// trace.cuh -- optional per-page timeline probe of a decode kernel (compiled in
// only with -DMLA_TRACE; `make -C kernels trace` builds build/trace/).
//
// Why: Nsight Compute gives stall reasons summed over the whole kernel; the
// question "where do a page's ~4300 cycles go" needs the order of events on
// one SM. One thread per role (consumer warpgroup 0, 1, producer) writes
// clock64() at fixed points of each of the first kPages pages of its CTA, plus
// clock64() and %globaltimer at its start and end (the SM clock rate follows).
// Layout: buf[cta][role][page][event], page kPages = the start/end calibration
// row (event 0 clock, 1 globaltimer at the start; 2, 3 at the end).
// kernels/tools/trace_summary.py reduces a dump to per-phase medians.
#pragma once
#ifdef MLA_TRACE
#include <cuda_runtime.h>
namespace mla {
namespace trace {
constexpr int kCtas = 132, kRoles = 3, kPages = 64, kEvents = 8;
constexpr size_t kWords = (size_t)kCtas * kRoles * (kPages + 1) * kEvents;
__device__ __forceinline__ unsigned long long gtimer() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}
__device__ __forceinline__ int cta_id() { return blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z); }
}  // namespace trace
}  // namespace mla
// One buffer per translation unit (kernels are compiled without -rdc), so a .cu
// file says MLA_TRACE_DEFINE(v9) before it includes the kernel templates that
// record, and exports the reader mla_trace_read_v9(dst) (kWords u64 to host memory).
#define MLA_TRACE_DEFINE(tag)                                                                        \
  static __device__ unsigned long long mla_trace_buf[mla::trace::kWords];                            \
  extern "C" __attribute__((visibility("default"))) int mla_trace_read_##tag(void* dst) {            \
    return (int)cudaMemcpyFromSymbol(dst, mla_trace_buf, sizeof(unsigned long long) * mla::trace::kWords); \
  }
#define MLA_TRACE_AT(role, page, ev, value)                                                           \
  do {                                                                                                \
    const int c_ = mla::trace::cta_id();                                                              \
    if (c_ < mla::trace::kCtas && (page) <= mla::trace::kPages)                                        \
      mla_trace_buf[(((size_t)c_ * mla::trace::kRoles + (role)) * (mla::trace::kPages + 1) + (page)) *  \
                        mla::trace::kEvents + (ev)] = (value);                                        \
  } while (0)
// event ev of page g (g < kPages only), written by the calling thread
#define MLA_TRACE_EV(role, g, ev) \
  do { if ((g) < (unsigned)mla::trace::kPages) MLA_TRACE_AT(role, g, ev, (unsigned long long)clock64()); } while (0)
#define MLA_TRACE_START(role)                                                 \
  do { MLA_TRACE_AT(role, mla::trace::kPages, 0, (unsigned long long)clock64()); \
       MLA_TRACE_AT(role, mla::trace::kPages, 1, mla::trace::gtimer()); } while (0)
#define MLA_TRACE_END(role)                                                   \
  do { MLA_TRACE_AT(role, mla::trace::kPages, 2, (unsigned long long)clock64()); \
       MLA_TRACE_AT(role, mla::trace::kPages, 3, mla::trace::gtimer()); } while (0)
#else
#define MLA_TRACE_DEFINE(tag)
#define MLA_TRACE_EV(role, g, ev) do {} while (0)
#define MLA_TRACE_START(role) do {} while (0)
#define MLA_TRACE_END(role) do {} while (0)
#endif
