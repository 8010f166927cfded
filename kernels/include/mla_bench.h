/*
 * mla_bench.h -- benchmark support for libmla, beside the decode ABI in mla.h.
 *
 * Large benchmark inputs (a 128 x 8192-token cache is 1.2 GB) are filled on
 * the device, never generated on the host and copied. Inputs that fit in L2
 * are rotated among several copies so back-to-back launches do not time the
 * cache instead of HBM. Same conventions as mla.h: int status, 0 = ok,
 * message in mla_last_error(), never aborts.
 */
#ifndef MLA_BENCH_H_
#define MLA_BENCH_H_

#include <stddef.h>
#include <stdint.h>
#include "mla.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills n 16-bit elements (dtype MLA_DTYPE_BF16 or MLA_DTYPE_FP16) with
 * pseudo-random values, approximately normal with standard deviation `scale`
 * (sum of four uniforms), from a counter-based hash of (seed, index): the
 * same seed gives the same tensor on every GPU. Asynchronous on `stream`. */
/* Message of the last failing call of this header (mla_last_error() covers mla.h). */
MLA_API const char* mla_bench_last_error(void);

MLA_API int mla_fill_random(void* dev_ptr, size_t n, int dtype, uint64_t seed, float scale, void* stream);

/* Like mla_bench_decode, but launch i uses params[i % n_params] (each with
 * its own buffers), so a working set larger than L2 can be cycled through.
 * All params share sched/num_splits (same lengths) and the workspace. */
MLA_API int mla_bench_decode_rotating(const mla_decode_params* params, int n_params, const int32_t* sched,
                                      const int32_t* num_splits, int num_sm_parts, void* workspace,
                                      size_t workspace_bytes, void* stream, int warmup, int iters, int trials,
                                      float* us_per_call_out);

#ifdef __cplusplus
}
#endif

#endif /* MLA_BENCH_H_ */
