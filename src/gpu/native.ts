/**
 * koffi bindings for libmla (kernels/include/mla.h and mla_bench.h).
 *
 * Loading is lazy and every failure becomes a GpuUnavailableError that says
 * what is missing and how to get it, so importing this module is always
 * safe, on a laptop with no CUDA as much as on an H100.
 */
import * as fs from "fs";
import * as path from "path";

// koffi ships no default export under CommonJS typings that suit us; require keeps it lazy.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Koffi = any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type NativeFn = (...args: any[]) => any;

export const STATUS = {
  OK: 0,
  INVALID_ARGUMENT: 1,
  CUDA: 2,
  NO_DEVICE: 3,
  UNSUPPORTED: 4,
  OUT_OF_MEMORY: 5,
} as const;

export const DTYPE_CODE = { bf16: 0, fp16: 1 } as const;
/** mla_abi_version() of the libmla this binding is written for (kernels/include/mla.h). */
export const ABI_VERSION = 2;
/** kernel_version 0: the library picks the rung for the shape (mla_select_kernel). */
export const KERNEL_AUTO = 0;
export const SCHED_INTS = 8;

/** No usable library or device: the reason says what to do. */
export class GpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GpuUnavailableError";
  }
}

/** A libmla call returned a non-zero status. */
export class GpuCallError extends Error {
  readonly status: number;
  readonly fn: string;
  constructor(fn: string, status: number, message: string) {
    super(`${fn} failed with status ${status}: ${message}`);
    this.name = "GpuCallError";
    this.status = status;
    this.fn = fn;
  }
}

/** Package root: two levels above dist/src/gpu or src/gpu. */
function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "kernels"))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/** $MLA_LIB, else kernels/build/libmla.so in this checkout. */
export function libraryPath(): string {
  return process.env.MLA_LIB || path.join(packageRoot(), "kernels", "build", "libmla.so");
}

export interface NativeLib {
  path: string;
  koffi: Koffi;
  paramsType: unknown;
  propsType: unknown;
  optionsType: unknown;
  fn: Record<string, NativeFn>;
}

let cached: NativeLib | null = null;
let cachedError: GpuUnavailableError | null = null;

const PROTOTYPES = [
  "const char* mla_last_error()",
  "const char* mla_status_string(int status)",
  "int mla_abi_version()",
  "const char* mla_kernel_name(int kernel_version)",
  "int mla_sizeof_params()",
  "int mla_sizeof_options()",
  "int mla_default_options(_Out_ mla_decode_options* options)",
  "int mla_sizeof_device_props()",
  "int mla_device_count(_Out_ int* count)",
  "int mla_set_device(int device)",
  "int mla_get_device_props(int device, _Out_ mla_device_props* props)",
  "int mla_malloc(_Out_ void** ptr, size_t bytes)",
  "int mla_free(void* ptr)",
  "int mla_memcpy_h2d(void* dst, const void* src, size_t bytes)",
  "int mla_memcpy_d2h(void* dst, const void* src, size_t bytes)",
  "int mla_memset(void* ptr, int value, size_t bytes)",
  "int mla_synchronize()",
  "int mla_get_num_sm_parts(int s_q, int h_q, int h_kv, _Out_ int* parts)",
  "int mla_plan(const void* seqlens, int b, int s_q, int h_q, int h_kv, int max_blocks_per_seq, int parts, void* sched, void* num_splits, void* stream)",
  "int mla_workspace_bytes(int b, int s_q, int h_q, int h_kv, int parts, _Out_ size_t* bytes)",
  "int mla_select_kernel(const mla_decode_params* params, int parts, int sm_count, _Out_ int* kernel_version)",
  "int mla_decode(const mla_decode_params* params, const mla_decode_options* options, const void* sched, const void* num_splits, int parts, void* workspace, size_t workspace_bytes, void* stream)",
  "int mla_bench_decode(const mla_decode_params* params, int n_params, const mla_decode_options* options, const void* sched, const void* num_splits, int parts, void* workspace, size_t workspace_bytes, void* stream, int warmup, int iters, int trials, _Out_ float* us)",
  "int mla_fill_random(void* ptr, size_t n, int dtype, uint64_t seed, float scale, void* stream)",
  "int mla_measure_copy_bandwidth(size_t bytes, int iters, _Out_ double* gbps)",
  "int mla_measure_gemm_bf16(int m, int n, int k, int iters, const char* cublas_path, _Out_ double* tflops)",
];

/** Loads libmla once. Throws GpuUnavailableError with instructions when it cannot. */
export function loadNative(): NativeLib {
  if (cached) return cached;
  if (cachedError) throw cachedError;
  const file = libraryPath();
  try {
    if (!fs.existsSync(file)) {
      throw new GpuUnavailableError(
        `libmla not found at ${file}. Build it with \`make kernels\` (needs nvcc from CUDA 12.3+), or point MLA_LIB at a built libmla.so.`,
      );
    }
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const koffi: Koffi = require("koffi");
    let lib;
    try {
      lib = koffi.load(file);
    } catch (e) {
      throw new GpuUnavailableError(
        `could not load ${file}: ${(e as Error).message}. The library links the CUDA runtime: install the CUDA toolkit or driver libraries (libcudart) where it runs.`,
      );
    }
    const ptr = "void*";
    const paramsType = koffi.struct("mla_decode_params", {
      q: ptr, kvcache: ptr, block_table: ptr, cache_seqlens: ptr, out: ptr, lse: ptr,
      q_batch_stride: "int64_t", q_seq_stride: "int64_t", q_head_stride: "int64_t",
      kv_block_stride: "int64_t", kv_token_stride: "int64_t", kv_head_stride: "int64_t",
      block_table_batch_stride: "int64_t",
      out_batch_stride: "int64_t", out_seq_stride: "int64_t", out_head_stride: "int64_t",
      dtype: "int32_t", b: "int32_t", s_q: "int32_t", h_q: "int32_t", h_kv: "int32_t",
      d_k: "int32_t", d_v: "int32_t", num_blocks: "int32_t", block_size: "int32_t",
      max_blocks_per_seq: "int32_t", causal: "int32_t", kernel_version: "int32_t",
      softmax_scale: "float", reserved: "int32_t",
    });
    const optionsType = koffi.struct("mla_decode_options", {
      dependent_launch: "int32_t", reserved: koffi.array("int32_t", 7),
    });
    const propsType = koffi.struct("mla_device_props", {
      total_global_mem: "int64_t", l2_cache_bytes: "int64_t",
      sm_count: "int32_t", sm_clock_khz: "int32_t", mem_clock_khz: "int32_t", mem_bus_width_bits: "int32_t",
      cc_major: "int32_t", cc_minor: "int32_t", driver_version: "int32_t", runtime_version: "int32_t",
      max_smem_per_block_optin: "int32_t", reserved: "int32_t",
      name: koffi.array("char", 256, "String"),
    });
    const fn: Record<string, NativeFn> = {};
    for (const proto of PROTOTYPES) {
      const name = /\b(mla_\w+)\(/.exec(proto)![1];
      try {
        fn[name] = lib.func(proto);
      } catch (e) {
        throw new GpuUnavailableError(`${file} lacks ${name} (${(e as Error).message}): rebuild it with \`make kernels\`.`);
      }
    }
    // The ABI and the struct layouts must agree with the header, or every call would misread its arguments.
    if (fn.mla_abi_version() !== ABI_VERSION) {
      throw new GpuUnavailableError(`${file} has ABI version ${fn.mla_abi_version()}, this code needs ${ABI_VERSION}: rebuild it with \`make kernels\`.`);
    }
    const cSizes = [fn.mla_sizeof_params(), fn.mla_sizeof_device_props(), fn.mla_sizeof_options()];
    const jsSizes = [koffi.sizeof(paramsType), koffi.sizeof(propsType), koffi.sizeof(optionsType)];
    if (cSizes.some((c, i) => c !== jsSizes[i])) {
      throw new GpuUnavailableError(`struct layout mismatch between ${file} (${cSizes}) and src/gpu/native.ts (${jsSizes}): rebuild the library from this checkout.`);
    }
    cached = { path: file, koffi, paramsType, propsType, optionsType, fn };
    return cached;
  } catch (e) {
    cachedError = e instanceof GpuUnavailableError ? e : new GpuUnavailableError(String((e as Error).message ?? e));
    throw cachedError;
  }
}

/** Throws GpuCallError carrying libmla's message unless status is 0. */
export function check(lib: NativeLib, fn: string, status: number): void {
  if (status === STATUS.OK) return;
  const msg = lib.fn.mla_last_error();
  throw new GpuCallError(fn, status, msg || lib.fn.mla_status_string(status));
}
