/*
 * mla_bench.h -- benchmark support for libmla, beside the decode ABI in mla.h.
 *
 * Large benchmark inputs (a 128 x 8192-token cache is 1.2 GB) are filled on
 * the device, never generated on the host and copied (mla_bench_decode in
 * mla.h rotates among several such copies where one would fit in L2). Same
 * conventions as mla.h: int status, 0 = ok, message in mla_last_error(),
 * never aborts.
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
MLA_API int mla_fill_random(void* dev_ptr, size_t n, int dtype, uint64_t seed, float scale, void* stream);

#ifdef __cplusplus
}
#endif

#endif /* MLA_BENCH_H_ */
