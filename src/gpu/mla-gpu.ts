/**
 * The GPU side as TypeScript sees it: device buffers with explicit release,
 * 16-bit uploads, the decode call, and the benchmark and ceiling probes.
 *
 * Every non-zero libmla status becomes a thrown GpuCallError carrying the
 * CUDA or validation message; a missing library or device becomes a
 * GpuUnavailableError that says what to do. Nothing here can take the
 * process down on bad input: the C side validates before it launches.
 */
import { checkInt, MlaArgumentError } from "../errors";
import { checkDtype, HalfDtype } from "../numeric/half";
import { Rng } from "../numeric/rng";
import { blocksFor, BLOCK_SIZE, validatePagedKvCache } from "../paged/cache";
import { DecodeProblem } from "../mla/decode";
import { checkRandomShape, RandomShape } from "../mla/random-problem";
import { check, DTYPE_CODE, GpuUnavailableError, KERNEL_AUTO, loadNative, NativeLib, SCHED_INTS, STATUS } from "./native";

export const KERNEL_HEAD_DIM_K = 576;
export const KERNEL_HEAD_DIM_V = 512;

export interface DeviceProps {
  name: string;
  smCount: number;
  smClockMHz: number;
  memClockMHz: number;
  memBusWidthBits: number;
  l2Bytes: number;
  totalMemBytes: number;
  computeCapability: string;
  driverVersion: number;
  runtimeVersion: number;
}

type Typed = Uint16Array | Int32Array | Float32Array | Uint8Array;

/** A device allocation. Release it explicitly; using it afterwards throws. */
export class DeviceBuffer {
  private p: bigint | null;
  constructor(private readonly lib: NativeLib, ptr: bigint, readonly bytes: number) {
    this.p = ptr;
  }
  get ptr(): bigint {
    if (this.p === null) throw new Error("DeviceBuffer: used after release()");
    return this.p;
  }
  get released(): boolean {
    return this.p === null;
  }
  release(): void {
    if (this.p === null) return;
    const p = this.p;
    this.p = null;
    check(this.lib, "mla_free", this.lib.fn.mla_free(p));
  }
}

export interface KernelVersion {
  version: number;
  name: string;
}

export interface Plan {
  numSmParts: number;
  /** [numSmParts, 8] per-partition schedule (see kernels/include/mla.h) */
  sched: Int32Array;
  /** [b+1] prefix sums of each request's number of splits */
  numSplits: Int32Array;
}

/** Options of a decode call (mla_decode_options; the defaults are the library's). */
export interface DecodeOptions {
  /** 0 (default): the automatic choice for the shape; 1..MLA_KERNEL_VERSION_MAX: that rung */
  kernelVersion?: number;
  /** launch the decode as a programmatic dependent of the previous kernel where that measured faster (default true) */
  dependentLaunch?: boolean;
}

export interface GpuDecodeResult {
  dtype: HalfDtype;
  /** the rung that ran (the automatic choice resolved) */
  kernelVersion: number;
  /** [b, sQ, hQ, 512] bit patterns */
  out: Uint16Array;
  /** [b, hQ, sQ] */
  lse: Float32Array;
}

export class MlaGpu {
  private constructor(readonly lib: NativeLib, readonly device: number) {}

  /** Opens device `device`. Throws GpuUnavailableError when the library or a device is missing. */
  static open(device = 0): MlaGpu {
    const lib = loadNative();
    const count = [0];
    const st = lib.fn.mla_device_count(count);
    // the library's message says which: no NVIDIA driver, a driver too old for its CUDA runtime, or no device
    if (st !== STATUS.OK) throw new GpuUnavailableError(lib.fn.mla_last_error() || `no CUDA device (${lib.fn.mla_status_string(st)})`);
    if (count[0] < 1) throw new GpuUnavailableError("no CUDA device: the driver reports 0 devices");
    checkInt("MlaGpu.open", "device", device, 0, count[0] - 1);
    check(lib, "mla_set_device", lib.fn.mla_set_device(device));
    return new MlaGpu(lib, device);
  }

  props(): DeviceProps {
    const p: Record<string, number | string> = {};
    check(this.lib, "mla_get_device_props", this.lib.fn.mla_get_device_props(this.device, p));
    return {
      name: String(p.name),
      smCount: Number(p.sm_count),
      smClockMHz: Number(p.sm_clock_khz) / 1000,
      memClockMHz: Number(p.mem_clock_khz) / 1000,
      memBusWidthBits: Number(p.mem_bus_width_bits),
      l2Bytes: Number(p.l2_cache_bytes),
      totalMemBytes: Number(p.total_global_mem),
      computeCapability: `${p.cc_major}.${p.cc_minor}`,
      driverVersion: Number(p.driver_version),
      runtimeVersion: Number(p.runtime_version),
    };
  }

  kernelVersions(): KernelVersion[] {
    const out: KernelVersion[] = [];
    for (let v = 1; v < 64; v++) {
      const name = this.lib.fn.mla_kernel_name(v);
      if (!name) break;
      out.push({ version: v, name });
    }
    return out;
  }

  alloc(bytes: number): DeviceBuffer {
    checkInt("MlaGpu.alloc", "bytes", bytes, 1);
    const out: (bigint | null)[] = [null];
    check(this.lib, "mla_malloc", this.lib.fn.mla_malloc(out, bytes));
    return new DeviceBuffer(this.lib, BigInt(out[0] as bigint), bytes);
  }

  upload(host: Typed): DeviceBuffer {
    if (!ArrayBuffer.isView(host)) throw new MlaArgumentError("MlaGpu.upload", "host", "a typed array", host);
    const buf = this.alloc(Math.max(1, host.byteLength));
    try {
      if (host.byteLength > 0) check(this.lib, "mla_memcpy_h2d", this.lib.fn.mla_memcpy_h2d(buf.ptr, host, host.byteLength));
    } catch (e) {
      buf.release();
      throw e;
    }
    return buf;
  }

  download<T extends Typed>(buf: DeviceBuffer, into: T): T {
    if (into.byteLength > buf.bytes) {
      throw new MlaArgumentError("MlaGpu.download", "into", `at most ${buf.bytes} bytes (the buffer's size)`, into);
    }
    check(this.lib, "mla_memcpy_d2h", this.lib.fn.mla_memcpy_d2h(into, buf.ptr, into.byteLength));
    return into;
  }

  /** Fills with 0xFF bytes: NaN in bf16, fp16 and fp32, so unwritten outputs show up. */
  poison(buf: DeviceBuffer): void {
    check(this.lib, "mla_memset", this.lib.fn.mla_memset(buf.ptr, 0xff, buf.bytes));
  }

  fillRandom(buf: DeviceBuffer, dtype: HalfDtype, seed: number, scale = 1): void {
    checkDtype("MlaGpu.fillRandom", "dtype", dtype);
    check(this.lib, "mla_fill_random", this.lib.fn.mla_fill_random(buf.ptr, Math.floor(buf.bytes / 2), DTYPE_CODE[dtype], BigInt(seed), scale, null));
  }

  synchronize(): void {
    check(this.lib, "mla_synchronize", this.lib.fn.mla_synchronize());
  }

  numSmParts(sQ: number, hQ: number, hKv: number): number {
    const out = [0];
    check(this.lib, "mla_get_num_sm_parts", this.lib.fn.mla_get_num_sm_parts(sQ, hQ, hKv, out));
    return out[0];
  }

  /** Runs the tile scheduler on the GPU and reads the schedule back (for inspection and plots). */
  plan(seqlens: Int32Array, sQ: number, hQ: number, hKv: number, maxBlocksPerSeq: number): Plan {
    const fn = "MlaGpu.plan";
    if (!(seqlens instanceof Int32Array) || seqlens.length < 1) throw new MlaArgumentError(fn, "seqlens", "a non-empty Int32Array", seqlens);
    const b = seqlens.length;
    const bufs: DeviceBuffer[] = [];
    try {
      const dev = this.planOnDevice(seqlens, sQ, hQ, hKv, maxBlocksPerSeq, bufs);
      const sched = this.download(dev.sched, new Int32Array(dev.numSmParts * SCHED_INTS));
      const numSplits = this.download(dev.numSplits, new Int32Array(b + 1));
      return { numSmParts: dev.numSmParts, sched, numSplits };
    } finally {
      bufs.forEach((x) => x.release());
    }
  }

  /** Uploads the lengths (or takes them on the device), runs the scheduler, sizes the workspace. Buffers go to `owned`. */
  planOnDevice(seqlens: Int32Array | DeviceBuffer, sQ: number, hQ: number, hKv: number, maxBlocksPerSeq: number, owned: DeviceBuffer[], batch?: number) {
    const b = seqlens instanceof Int32Array ? seqlens.length : batch!;
    const numSmParts = this.numSmParts(sQ, hQ, hKv);
    const sl = seqlens instanceof Int32Array ? this.upload(seqlens) : seqlens;
    if (seqlens instanceof Int32Array) owned.push(sl);
    const sched = this.alloc(numSmParts * SCHED_INTS * 4);
    owned.push(sched);
    const numSplits = this.alloc((b + 1) * 4);
    owned.push(numSplits);
    check(this.lib, "mla_plan", this.lib.fn.mla_plan(sl.ptr, b, sQ, hQ, hKv, maxBlocksPerSeq, numSmParts, sched.ptr, numSplits.ptr, null));
    const ws = [0];
    check(this.lib, "mla_workspace_bytes", this.lib.fn.mla_workspace_bytes(b, sQ, hQ, hKv, numSmParts, ws));
    const workspace = Number(ws[0]) > 0 ? this.alloc(Number(ws[0])) : null;
    if (workspace) owned.push(workspace);
    return { numSmParts, sched, numSplits, seqlens: sl, workspace, workspaceBytes: Number(ws[0]) };
  }

  /**
   * One decode step on the GPU for a host-side problem (the same object the
   * TS reference takes). Outputs are poisoned before the launch.
   */
  decode(problem: DecodeProblem, opts: DecodeOptions = {}): GpuDecodeResult {
    const fn = "MlaGpu.decode";
    if (typeof problem !== "object" || problem === null) throw new MlaArgumentError(fn, "problem", "a DecodeProblem", problem);
    const kernelVersion = opts.kernelVersion ?? KERNEL_AUTO;
    checkInt(fn, "kernelVersion", kernelVersion, KERNEL_AUTO, this.kernelVersions().length);
    const options = this.options(fn, opts);
    const cache = validatePagedKvCache(fn, problem.cache);
    const { b, sQ, hQ } = problem;
    checkInt(fn, "b", b, 1);
    if (b !== cache.batch) throw new MlaArgumentError(fn, "b", `equal to cache.batch (${cache.batch})`, b);
    checkInt(fn, "sQ", sQ, 1);
    checkInt(fn, "hQ", hQ, 1);
    if (hQ % cache.hKv !== 0) throw new MlaArgumentError(fn, "hQ", `divisible by h_kv (${cache.hKv})`, hQ);
    if (cache.headDim !== KERNEL_HEAD_DIM_K) throw new MlaArgumentError(fn, "cache.headDim", `${KERNEL_HEAD_DIM_K} (the kernel's d_k)`, cache.headDim);
    const dV = problem.dV ?? KERNEL_HEAD_DIM_V;
    if (dV !== KERNEL_HEAD_DIM_V) throw new MlaArgumentError(fn, "dV", `${KERNEL_HEAD_DIM_V} (the kernel's d_v)`, dV);
    if (cache.blockSize !== BLOCK_SIZE) throw new MlaArgumentError(fn, "cache.blockSize", `${BLOCK_SIZE}`, cache.blockSize);
    if (!(problem.q instanceof Uint16Array) || problem.q.length !== b * sQ * hQ * KERNEL_HEAD_DIM_K) {
      throw new MlaArgumentError(fn, "q", `a Uint16Array of length b*sQ*hQ*576 = ${b * sQ * hQ * KERNEL_HEAD_DIM_K}`, problem.q);
    }
    if (typeof problem.causal !== "boolean") throw new MlaArgumentError(fn, "causal", "a boolean", problem.causal);
    const scale = problem.softmaxScale ?? 1 / Math.sqrt(KERNEL_HEAD_DIM_K);
    if (!Number.isFinite(scale) || scale <= 0) throw new MlaArgumentError(fn, "softmaxScale", "a finite number > 0", scale);
    const owned: DeviceBuffer[] = [];
    try {
      const q = this.upload(problem.q);
      owned.push(q);
      const kv = this.upload(cache.kvcache);
      owned.push(kv);
      const table = this.upload(cache.blockTable);
      owned.push(table);
      const outBytes = b * sQ * hQ * KERNEL_HEAD_DIM_V * 2;
      const out = this.alloc(outBytes);
      owned.push(out);
      const lse = this.alloc(b * hQ * sQ * 4);
      owned.push(lse);
      this.poison(out);
      this.poison(lse);
      const plan = this.planOnDevice(cache.cacheSeqlens, sQ, hQ, cache.hKv, cache.maxBlocksPerSeq, owned);
      const params = this.params({
        dtype: cache.dtype, b, sQ, hQ, hKv: cache.hKv, numBlocks: cache.numBlocks, maxBlocksPerSeq: cache.maxBlocksPerSeq,
        causal: problem.causal, scale, kernelVersion,
        q: q.ptr, kv: kv.ptr, table: table.ptr, seqlens: plan.seqlens.ptr, out: out.ptr, lse: lse.ptr,
      });
      check(this.lib, "mla_decode", this.lib.fn.mla_decode(params, options, plan.sched.ptr, plan.numSplits.ptr, plan.numSmParts, plan.workspace?.ptr ?? null, plan.workspaceBytes, null));
      this.synchronize();
      return {
        dtype: cache.dtype,
        kernelVersion: this.selectKernel(params, plan.numSmParts),
        out: this.download(out, new Uint16Array(b * sQ * hQ * KERNEL_HEAD_DIM_V)),
        lse: this.download(lse, new Float32Array(b * hQ * sQ)),
      };
    } finally {
      owned.forEach((x) => x.release());
    }
  }

  /** The rung a call with these params runs (kernel_version 0 resolved by the library's rule). */
  selectKernel(params: Record<string, unknown>, numSmParts: number): number {
    const out = [0];
    check(this.lib, "mla_select_kernel", this.lib.fn.mla_select_kernel(params, numSmParts, this.props().smCount, out));
    return out[0];
  }

  /** mla_decode_options from DecodeOptions (validated). */
  options(fn: string, opts: DecodeOptions): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    check(this.lib, "mla_default_options", this.lib.fn.mla_default_options(o));
    if (opts.dependentLaunch !== undefined) {
      if (typeof opts.dependentLaunch !== "boolean") throw new MlaArgumentError(fn, "dependentLaunch", "a boolean", opts.dependentLaunch);
      o.dependent_launch = opts.dependentLaunch ? 1 : 0;
    }
    return o;
  }

  /** The C struct for contiguous FlashMLA layouts. */
  params(a: ParamsArgs): Record<string, unknown> {
    return decodeParams(a);
  }

  /** Device-to-device copy bandwidth, GB/s counting bytes read plus written. */
  probeCopyBandwidth(bytes = 2 ** 30, iters = 20): number {
    const out = [0];
    check(this.lib, "mla_measure_copy_bandwidth", this.lib.fn.mla_measure_copy_bandwidth(bytes, iters, out));
    return out[0];
  }

  /** Dense bf16 GEMM rate through cuBLAS, TFLOP/s. */
  probeGemmBf16(m = 8192, n = 8192, k = 8192, iters = 20): number {
    const out = [0];
    check(this.lib, "mla_measure_gemm_bf16", this.lib.fn.mla_measure_gemm_bf16(m, n, k, iters, null, out));
    return out[0];
  }

  /** Builds a benchmark problem entirely on the device (see DeviceDecode). */
  deviceProblem(shape: DeviceProblemShape): DeviceDecode {
    return new DeviceDecode(this, shape);
  }
}

export interface DeviceProblemShape extends RandomShape {
  /** input copies cycled through so the working set exceeds L2 (default: enough for 2x L2, at most 8) */
  copies?: number;
}

/**
 * A decode problem whose inputs live only on the device: random q and KV
 * filled by a kernel, pages shuffled over the pool. Benchmarks time it
 * without the host in the loop.
 */
export class DeviceDecode {
  readonly b: number;
  readonly copies: number;
  private owned: DeviceBuffer[] = [];
  private structs: Record<string, unknown>[] = [];
  private plan!: { numSmParts: number; sched: DeviceBuffer; numSplits: DeviceBuffer; workspace: DeviceBuffer | null; workspaceBytes: number };

  constructor(private readonly gpu: MlaGpu, readonly shape: DeviceProblemShape) {
    const fn = "MlaGpu.deviceProblem";
    checkRandomShape(fn, shape);
    this.b = shape.seqlens.length;
    const { sQ, hQ, hKv, dtype } = shape;
    const pages = shape.seqlens.map((l) => blocksFor(l));
    const maxBlocks = Math.max(1, ...pages);
    const numBlocks = Math.max(1, pages.reduce((a, x) => a + x, 0));
    const kvElems = numBlocks * BLOCK_SIZE * hKv * KERNEL_HEAD_DIM_K;
    const qElems = this.b * sQ * hQ * KERNEL_HEAD_DIM_K;
    const perCopy = 2 * (kvElems + qElems);
    const l2 = gpu.props().l2Bytes;
    this.copies = shape.copies ?? Math.min(8, Math.max(1, Math.ceil((2 * l2) / perCopy)));
    checkInt(fn, "copies", this.copies, 1, 64);
    try {
      const rng = new Rng(shape.seed);
      const seqlens = gpu.upload(Int32Array.from(shape.seqlens));
      this.owned.push(seqlens);
      for (let c = 0; c < this.copies; c++) {
        const order = rng.shuffle(Array.from({ length: numBlocks }, (_, k) => k));
        const table = new Int32Array(this.b * maxBlocks);
        let next = 0;
        pages.forEach((p, i) => {
          for (let k = 0; k < p; k++) table[i * maxBlocks + k] = order[next++];
        });
        const q = gpu.alloc(qElems * 2);
        this.owned.push(q);
        const kv = gpu.alloc(kvElems * 2);
        this.owned.push(kv);
        gpu.fillRandom(q, dtype, shape.seed * 1000 + 2 * c);
        gpu.fillRandom(kv, dtype, shape.seed * 1000 + 2 * c + 1);
        const tbl = gpu.upload(table);
        this.owned.push(tbl);
        const out = gpu.alloc(this.b * sQ * hQ * KERNEL_HEAD_DIM_V * 2);
        const lse = gpu.alloc(this.b * hQ * sQ * 4);
        this.owned.push(out, lse);
        this.structs.push(
          gpu.params({
            dtype, b: this.b, sQ, hQ, hKv, numBlocks, maxBlocksPerSeq: maxBlocks, causal: shape.causal,
            scale: 1 / Math.sqrt(KERNEL_HEAD_DIM_K), kernelVersion: 1,
            q: q.ptr, kv: kv.ptr, table: tbl.ptr, seqlens: seqlens.ptr, out: out.ptr, lse: lse.ptr,
          }),
        );
      }
      this.plan = gpu.planOnDevice(seqlens, sQ, hQ, hKv, maxBlocks, this.owned, this.b);
      gpu.synchronize();
    } catch (e) {
      this.release();
      throw e;
    }
  }

  /** Median-free raw timings: microseconds per decode step (decode + combine) for each trial. */
  bench(kernelVersion: number, opts: { warmup?: number; iters?: number; trials?: number; dependentLaunch?: boolean } = {}): number[] {
    checkInt("DeviceDecode.bench", "kernelVersion", kernelVersion, KERNEL_AUTO, this.gpu.kernelVersions().length);
    const options = this.gpu.options("DeviceDecode.bench", opts);
    const warmup = opts.warmup ?? 3;
    const iters = opts.iters ?? 20;
    const trials = opts.trials ?? 5;
    const lib = this.gpu.lib;
    const arr = lib.koffi.as(
      this.structs.map((s) => ({ ...s, kernel_version: kernelVersion })),
      lib.koffi.pointer(lib.paramsType),
    );
    const us = new Float32Array(trials);
    check(
      lib,
      "mla_bench_decode",
      lib.fn.mla_bench_decode(arr, this.structs.length, options, this.plan.sched.ptr, this.plan.numSplits.ptr, this.plan.numSmParts,
        this.plan.workspace?.ptr ?? null, this.plan.workspaceBytes, null, warmup, iters, trials, us),
    );
    return Array.from(us);
  }

  /** The rung a bench or decode of this problem runs for `kernelVersion` (0: the automatic choice). */
  selectKernel(kernelVersion: number): number {
    return this.gpu.selectKernel({ ...this.structs[0], kernel_version: kernelVersion }, this.plan.numSmParts);
  }

  release(): void {
    for (const x of this.owned) {
      try {
        x.release();
      } catch {
        /* keep releasing the rest */
      }
    }
    this.owned = [];
  }
}

interface ParamsArgs {
  dtype: HalfDtype; b: number; sQ: number; hQ: number; hKv: number; numBlocks: number; maxBlocksPerSeq: number;
  causal: boolean; scale: number; kernelVersion: number;
  q: bigint; kv: bigint; table: bigint; seqlens: bigint; out: bigint; lse: bigint;
}

/** mla_decode_params for contiguous FlashMLA layouts (MlaGpu.params). */
function decodeParams(a: ParamsArgs): Record<string, unknown> {
  const dK = KERNEL_HEAD_DIM_K;
  const dV = KERNEL_HEAD_DIM_V;
  return {
    q: a.q, kvcache: a.kv, block_table: a.table, cache_seqlens: a.seqlens, out: a.out, lse: a.lse,
    q_batch_stride: a.sQ * a.hQ * dK, q_seq_stride: a.hQ * dK, q_head_stride: dK,
    kv_block_stride: BLOCK_SIZE * a.hKv * dK, kv_token_stride: a.hKv * dK, kv_head_stride: dK,
    block_table_batch_stride: a.maxBlocksPerSeq,
    out_batch_stride: a.sQ * a.hQ * dV, out_seq_stride: a.hQ * dV, out_head_stride: dV,
    dtype: DTYPE_CODE[a.dtype], b: a.b, s_q: a.sQ, h_q: a.hQ, h_kv: a.hKv, d_k: dK, d_v: dV,
    num_blocks: a.numBlocks, block_size: BLOCK_SIZE, max_blocks_per_seq: a.maxBlocksPerSeq,
    causal: a.causal ? 1 : 0, kernel_version: a.kernelVersion, softmax_scale: a.scale, reserved: 0,
  };
}

/** mla_get_num_sm_parts's formula (mla.h) for a GPU of smCount SMs, without asking a device. */
export function numSmPartsFor(sQ: number, hQ: number, hKv: number, smCount: number): number {
  const fn = "numSmPartsFor";
  checkInt(fn, "hKv", hKv, 1);
  checkInt(fn, "hQ", hQ, hKv);
  checkInt(fn, "sQ", sQ, 1);
  checkInt(fn, "smCount", smCount, 1);
  const rows = sQ * Math.floor(hQ / hKv);
  return Math.max(1, Math.floor(smCount / (hKv * Math.ceil(rows / 64))));
}

/**
 * The rung a decode of this shape runs on a GPU of smCount SMs: kernelVersion
 * itself, or for 0 the library's automatic choice (mla_select_kernel). Needs
 * the built libmla (GpuUnavailableError otherwise) but no device.
 */
export function selectKernelFor(
  shape: { dtype?: HalfDtype; b: number; sQ: number; hQ: number; hKv: number; maxBlocksPerSeq: number; causal?: boolean },
  smCount: number,
  kernelVersion = KERNEL_AUTO,
): number {
  const fn = "selectKernelFor";
  if (typeof shape !== "object" || shape === null) throw new MlaArgumentError(fn, "shape", "an object {b, sQ, hQ, hKv, maxBlocksPerSeq}", shape);
  checkInt(fn, "shape.b", shape.b, 1);
  checkInt(fn, "shape.maxBlocksPerSeq", shape.maxBlocksPerSeq, 1);
  const lib = loadNative();
  const params = decodeParams({
    dtype: shape.dtype ?? "bf16", b: shape.b, sQ: shape.sQ, hQ: shape.hQ, hKv: shape.hKv, numBlocks: 1, maxBlocksPerSeq: shape.maxBlocksPerSeq,
    causal: shape.causal ?? false, scale: 1 / Math.sqrt(KERNEL_HEAD_DIM_K), kernelVersion,
    q: 0n, kv: 0n, table: 0n, seqlens: 0n, out: 0n, lse: 0n,
  });
  const out = [0];
  check(lib, "mla_select_kernel", lib.fn.mla_select_kernel(params, numSmPartsFor(shape.sQ, shape.hQ, shape.hKv, smCount), smCount, out));
  return out[0];
}

export type GpuAvailability = { available: true; device: DeviceProps } | { available: false; reason: string };

/** Whether GPU code can run here, and if not, why (for pending tests and notebook fallbacks). */
export function gpuAvailability(): GpuAvailability {
  try {
    const gpu = MlaGpu.open();
    return { available: true, device: gpu.props() };
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}
