/**
 * The only place the sweep code touches the GPU binding (src/gpu, koffi over
 * kernels/build/libmla.so). It is required lazily so the runner, the figures
 * and their tests load on machines with no CUDA, no libmla.so and no src/gpu
 * at all; then loadGpuBinding() says why instead of throwing at import time.
 *
 * GpuBinding is the narrow interface the runner needs. fromGpuModule() builds
 * it from src/gpu as it exists (MlaGpu.open, props, kernelVersions,
 * deviceProblem -> DeviceDecode.bench/selectKernel/release,
 * probeCopyBandwidth, probeGemmBf16); a module that exports GpuBinding's
 * functions directly is accepted as well (tests use that).
 */
import { MlaArgumentError } from "../errors";
import type { DeviceProps } from "../gpu/mla-gpu";
import type { Dtype, KernelVersionInfo, SweepConfig } from "./definitions";
import type { DeviceFacts } from "./provenance";
import type { ImplRun, RunConfig } from "./plan";
import type { MeasureFn } from "./runner";

/**
 * What src/gpu's MlaGpu.props() returns. A type-only import: it is erased at
 * compile time, so this module still loads where src/gpu cannot.
 */
export type GpuDeviceInfo = DeviceProps;

export interface DecodeProblemRequest {
  dtype: Dtype;
  b: number;
  sQ: number;
  hQ: number;
  hKv: number;
  /** per-request cache lengths, length b */
  seqlens: Int32Array;
  causal: boolean;
  /** page size in tokens (64) */
  pageBlock: number;
  /** seed for the random q / cache contents */
  seed: number;
}

/** An allocated, filled and planned problem on the device; reused across kernel versions and trials. */
export interface DecodeProblemHandle {
  readonly __brand?: "DecodeProblemHandle";
}

export interface GpuBinding {
  /** number of CUDA devices; 0 (not a throw) when there is no driver or device */
  deviceCount(): number;
  deviceInfo(device: number): GpuDeviceInfo;
  /** ascending, e.g. [{version: 1, name: "simt"}, {version: 2, name: "mma_sync"}] (mla_kernel_name) */
  kernelVersions(): KernelVersionInfo[];
  /** allocates q, a paged cache (pages shuffled), block table, out, lse, plan + workspace; fills with random values */
  openDecodeProblem(req: DecodeProblemRequest): DecodeProblemHandle;
  /** mla_bench_decode: microseconds per call, one entry per trial; kernelVersion 0 is the automatic choice */
  benchDecode(handle: DecodeProblemHandle, kernelVersion: number, opts: { warmup: number; iters: number; trials: number }): number[];
  /** mla_select_kernel: the rung a call of kernelVersion runs on this problem (0 resolved) */
  selectKernel(handle: DecodeProblemHandle, kernelVersion: number): number;
  closeDecodeProblem(handle: DecodeProblemHandle): void;
  /** mla_measure_copy_bandwidth: GB/s counting bytes read + written */
  probeCopyBandwidth(bytes: number, iters: number): number;
  /** mla_measure_gemm_bf16: TFLOP/s; throws when cuBLAS cannot be loaded */
  probeGemmBf16(m: number, n: number, k: number, iters: number): number;
  /** why deviceCount() returned 0, when known */
  unavailableReason?(): string;
}

const REQUIRED: (keyof GpuBinding)[] = [
  "deviceCount",
  "deviceInfo",
  "kernelVersions",
  "openDecodeProblem",
  "benchDecode",
  "selectKernel",
  "closeDecodeProblem",
  "probeCopyBandwidth",
  "probeGemmBf16",
];

export type BindingLoad = { ok: true; binding: GpuBinding } | { ok: false; reason: string };

interface MlaGpuLike {
  props(): GpuDeviceInfo;
  kernelVersions(): KernelVersionInfo[];
  deviceProblem(shape: { dtype: Dtype; sQ: number; hQ: number; hKv: number; seqlens: number[]; causal: boolean; seed: number }): {
    bench(kernelVersion: number, opts: { warmup?: number; iters?: number; trials?: number }): number[];
    selectKernel(kernelVersion: number): number;
    release(): void;
  };
  probeCopyBandwidth(bytes: number, iters: number): number;
  probeGemmBf16(m: number, n: number, k: number, iters: number): number;
}

/** Adapts src/gpu (class MlaGpu) to GpuBinding; the device is opened on first use. */
export function fromGpuModule(mod: { MlaGpu: { open(device?: number): MlaGpuLike }; gpuAvailability?: () => { available: boolean; reason?: string } }): GpuBinding {
  if (typeof mod !== "object" || mod === null || typeof mod.MlaGpu?.open !== "function") {
    throw new MlaArgumentError("fromGpuModule", "mod", "the src/gpu module (exporting MlaGpu.open)", mod);
  }
  let gpu: MlaGpuLike | undefined;
  let why = "";
  const get = (): MlaGpuLike => (gpu ??= mod.MlaGpu.open(0));
  type Problem = ReturnType<MlaGpuLike["deviceProblem"]>;
  return {
    deviceCount() {
      // MlaGpu.open throws GpuUnavailableError (no driver, no device, no libmla): that is "0 devices" here.
      try {
        get();
        return 1;
      } catch (e) {
        why = (e as Error).message;
        return 0;
      }
    },
    unavailableReason: () => why,
    deviceInfo: () => get().props(),
    kernelVersions: () => get().kernelVersions(),
    openDecodeProblem(req) {
      if (req.pageBlock !== 64) throw new MlaArgumentError("openDecodeProblem", "req.pageBlock", "64 (libmla's page size)", req.pageBlock);
      return get().deviceProblem({ dtype: req.dtype, sQ: req.sQ, hQ: req.hQ, hKv: req.hKv, seqlens: Array.from(req.seqlens), causal: req.causal, seed: req.seed }) as DecodeProblemHandle;
    },
    benchDecode: (h, v, o) => (h as Problem).bench(v, o),
    selectKernel: (h, v) => (h as Problem).selectKernel(v),
    closeDecodeProblem: (h) => (h as Problem).release(),
    probeCopyBandwidth: (bytes, iters) => get().probeCopyBandwidth(bytes, iters),
    probeGemmBf16: (m, n, k, iters) => get().probeGemmBf16(m, n, k, iters),
  };
}

/**
 * Loads src/gpu (compiled: dist/src/gpu) if present, without throwing.
 * `modulePath` is for tests.
 */
export function loadGpuBinding(modulePath = "../gpu"): BindingLoad {
  if (typeof modulePath !== "string" || modulePath === "") throw new MlaArgumentError("loadGpuBinding", "modulePath", "a module path", modulePath);
  let mod: Record<string, unknown>;
  try {
    // A variable path keeps tsc from resolving (and requiring) a module that may not exist yet.
    mod = require(modulePath);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "MODULE_NOT_FOUND" && String(err.message).includes(modulePath)) {
      return { ok: false, reason: `GPU binding not built (no module ${modulePath} next to src/sweep)` };
    }
    return { ok: false, reason: `GPU binding failed to load: ${err.message}` };
  }
  if (typeof (mod.MlaGpu as { open?: unknown } | undefined)?.open === "function") {
    return { ok: true, binding: fromGpuModule(mod as never) };
  }
  const missing = REQUIRED.filter((k) => typeof mod[k] !== "function");
  if (missing.length === 0) return { ok: true, binding: mod as unknown as GpuBinding };
  return { ok: false, reason: `GPU binding ${modulePath} exports neither MlaGpu.open nor ${missing.join(", ")} (see src/sweep/gpu-adapter.ts)` };
}

/** Number of usable CUDA devices through the binding; 0 with a reason otherwise. */
export function gpuDeviceCount(load: BindingLoad = loadGpuBinding()): { count: number; reason?: string } {
  if (!load.ok) return { count: 0, reason: load.reason };
  try {
    const n = load.binding.deviceCount();
    return n > 0 ? { count: n } : { count: 0, reason: load.binding.unavailableReason?.() || "the binding reports no CUDA device" };
  } catch (e) {
    return { count: 0, reason: `deviceCount() failed: ${(e as Error).message}` };
  }
}

export function deviceFactsFrom(info: GpuDeviceInfo): DeviceFacts {
  if (typeof info !== "object" || info === null) throw new MlaArgumentError("deviceFactsFrom", "info", "a GpuDeviceInfo", info);
  const ver = (v: number): string => (Number.isFinite(v) && v > 0 ? `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}` : "unknown");
  return {
    name: info.name,
    smCount: info.smCount,
    smClockMHz: info.smClockMHz,
    memClockMHz: info.memClockMHz,
    memBusWidthBits: info.memBusWidthBits,
    memoryBytes: info.totalMemBytes,
    l2Bytes: info.l2Bytes,
    computeCapability: info.computeCapability,
    driver: ver(info.driverVersion),
    cudaRuntime: ver(info.runtimeVersion),
  };
}

/**
 * A MeasureFn over the binding. Keeps the problem of the current configuration
 * open, so kernel versions and trials of one configuration share one
 * allocation and one random fill; a new configuration closes the old one.
 * Each measurement says which rung ran (kernel version 0 resolved by the
 * library's automatic choice) and its name.
 */
export class GpuMeasurer {
  private current: { key: string; handle: DecodeProblemHandle } | undefined;
  private names: Map<number, string> | undefined;

  constructor(private readonly binding: GpuBinding) {
    if (typeof binding !== "object" || binding === null) throw new MlaArgumentError("GpuMeasurer", "binding", "a GpuBinding", binding);
  }

  readonly measure: MeasureFn = async (cfg: RunConfig, impl: ImplRun) => {
    if (impl.impl !== "ours") throw new Error(`implementation "${impl.impl}" is not run through the GPU binding (see baselines/)`);
    if (impl.kernelVersion === undefined) throw new MlaArgumentError("GpuMeasurer.measure", "impl.kernelVersion", "a kernel version number", impl.kernelVersion);
    const handle = this.problemFor(cfg);
    const us = this.binding.benchDecode(handle, impl.kernelVersion, { warmup: cfg.warmup, iters: cfg.iters, trials: 1 });
    if (!Array.isArray(us) || us.length < 1 || !(us[0] > 0)) throw new Error(`benchDecode returned no positive time (${JSON.stringify(us)})`);
    const rung = this.binding.selectKernel(handle, impl.kernelVersion);
    this.names ??= new Map(this.binding.kernelVersions().map((k) => [k.version, k.name]));
    return { us: us[0], rung, kernelName: this.names.get(rung) ?? `v${rung}` };
  };

  private problemFor(cfg: RunConfig): DecodeProblemHandle {
    const key = `${cfg.sweep}/${cfg.configId}`;
    if (this.current?.key === key) return this.current.handle;
    this.release();
    const handle = this.binding.openDecodeProblem({
      dtype: cfg.dtype,
      b: cfg.b,
      sQ: cfg.sQ,
      hQ: cfg.hQ,
      hKv: cfg.hKv,
      seqlens: cfg.seqlens,
      causal: cfg.causal,
      pageBlock: cfg.pageBlock,
      seed: cfg.seed,
    });
    this.current = { key, handle };
    return handle;
  }

  /** Frees the open problem (call between configurations and at the end). */
  release(): void {
    if (this.current) {
      const h = this.current.handle;
      this.current = undefined;
      this.binding.closeDecodeProblem(h);
    }
  }

  /** For the runner's onConfigDone hook. */
  readonly configDone = async (_cfg: SweepConfig): Promise<void> => this.release();
}
