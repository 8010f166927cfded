// status.cu -- see status.cuh.
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>

#include "../include/mla.h"
#include "status.cuh"

namespace mla {
namespace {
thread_local char g_err[1024] = "";
}  // namespace

int fail(int code, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_err, sizeof g_err, fmt, ap);
  va_end(ap);
  return code;
}

const char* last_error() { return g_err; }

int cuda_status(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return MLA_OK;
  cudaGetLastError();  // clear the (non-sticky) error state
  int code = MLA_ERR_CUDA;
  if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver || e == cudaErrorInitializationError ||
      e == cudaErrorSystemDriverMismatch || e == cudaErrorCompatNotSupportedOnDevice)
    code = MLA_ERR_NO_DEVICE;
  if (e == cudaErrorMemoryAllocation) code = MLA_ERR_OUT_OF_MEMORY;
  return fail(code, "%s: %s (%s, cudaError %d)", what, cudaGetErrorString(e), cudaGetErrorName(e), (int)e);
}

int ensure_device() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e == cudaSuccess && n > 0) return MLA_OK;
  cudaGetLastError();
  // The CUDA runtime (linked statically) reaches the GPU through the driver's
  // user library; without it there is no NVIDIA driver on this machine at all.
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver)
    return fail(MLA_ERR_NO_DEVICE,
                "no NVIDIA driver: libcuda.so.1 cannot be loaded (%s); this machine cannot run CUDA kernels",
                dlerror());
  dlclose(driver);
  int drv = 0, rt = 0;
  cudaDriverGetVersion(&drv);
  cudaRuntimeGetVersion(&rt);
  if (e == cudaErrorInsufficientDriver)
    return fail(MLA_ERR_NO_DEVICE,
                "NVIDIA driver too old for this CUDA runtime: the driver supports CUDA %d.%d, libmla was built with "
                "CUDA %d.%d; update the driver",
                drv / 1000, (drv % 1000) / 10, rt / 1000, (rt % 1000) / 10);
  if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0))
    return fail(MLA_ERR_NO_DEVICE, "no CUDA device: the NVIDIA driver (CUDA %d.%d) is installed but sees no GPU",
                drv / 1000, (drv % 1000) / 10);
  return fail(MLA_ERR_NO_DEVICE, "no usable CUDA device: cudaGetDeviceCount failed: %s (%s)", cudaGetErrorString(e),
              cudaGetErrorName(e));
}

}  // namespace mla
