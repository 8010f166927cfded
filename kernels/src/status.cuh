// status.cuh -- the status and message of libmla's C ABI calls (internal):
// fail() sets the thread's message for mla_last_error(), cuda_status() turns a
// CUDA error into a status, ensure_device() says why no device can be used.
#pragma once
#include <cuda_runtime.h>

namespace mla {

// Sets this thread's message (printf-style) and returns `code`.
int fail(int code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// This thread's message of the last failing call ("" if none).
const char* last_error();
// MLA_OK for cudaSuccess; otherwise the status for `e` (NO_DEVICE, OUT_OF_MEMORY
// or CUDA) with a message naming `what`.
int cuda_status(cudaError_t e, const char* what);
// MLA_OK when a CUDA device can be used; otherwise MLA_ERR_NO_DEVICE with one of
// three reasons: no NVIDIA driver, a driver too old for this CUDA runtime, or
// no device.
int ensure_device();

}  // namespace mla

// Returns the status of a failing CUDA call from the enclosing function.
#define MLA_CK(call)                                                 \
  do {                                                               \
    cudaError_t e_ = (call);                                         \
    if (e_ != cudaSuccess) return ::mla::cuda_status(e_, #call);     \
  } while (0)
