/**
 * FLOP and byte accounting for one MLA decode step, counted exactly as
 * FlashMLA's benchmark counts them, plus the roofline model that turns the
 * two counts into an attainable rate.
 *
 * FLOPs: every query row does a 576-wide dot product (QK^T) and a 512-wide
 * accumulate (PV) against every key it sees: 2 * (576 + 512) per pair.
 * Bytes: q read once, the KV cache read once (per KV head), out written once,
 * all 16-bit. The LSE output and block tables are ignored, as FlashMLA does.
 */
import { checkFinite, checkInt, MlaArgumentError } from "../errors";

export const D_K = 576; // kv_lora_rank 512 + qk_rope_head_dim 64
export const D_V = 512; // kv_lora_rank

export interface DecodeShape {
  /** batch size (requests) */
  b: number;
  /** query tokens per request (1 = plain decoding, >1 = speculative) */
  sQ: number;
  /** query heads */
  hQ: number;
  /** KV heads (1 for MLA's absorbed form) */
  hKv: number;
  /** mean KV length over the batch, tokens */
  meanSk: number;
}

function checkShape(fn: string, s: DecodeShape): void {
  if (typeof s !== "object" || s === null) throw new MlaArgumentError(fn, "shape", "an object {b, sQ, hQ, hKv, meanSk}", s);
  checkInt(fn, "shape.b", s.b, 1);
  checkInt(fn, "shape.sQ", s.sQ, 1);
  checkInt(fn, "shape.hQ", s.hQ, 1);
  checkInt(fn, "shape.hKv", s.hKv, 1);
  if (s.hQ % s.hKv !== 0) throw new MlaArgumentError(fn, "shape.hQ", `divisible by hKv (${s.hKv})`, s.hQ);
  checkFinite(fn, "shape.meanSk", s.meanSk);
  if (s.meanSk < 0) throw new MlaArgumentError(fn, "shape.meanSk", "a finite number >= 0", s.meanSk);
}

/** FlashMLA: 2 * b * h_q * s_q * mean_s_k * (576 + 512). */
export function decodeFlops(s: DecodeShape): number {
  checkShape("decodeFlops", s);
  return 2 * s.b * s.hQ * s.sQ * s.meanSk * (D_K + D_V);
}

/** FlashMLA: 2 bytes * b * (s_q*h_q*576 + mean_s_k*h_kv*576 + s_q*h_q*512). */
export function decodeBytes(s: DecodeShape): number {
  checkShape("decodeBytes", s);
  return 2 * s.b * (s.sQ * s.hQ * D_K + s.meanSk * s.hKv * D_K + s.sQ * s.hQ * D_V);
}

/** FLOP per byte. For long caches it tends to h_q*s_q/h_kv * 1088/576, about 1.9*h_q*s_q with one KV head. */
export function arithmeticIntensity(s: DecodeShape): number {
  return decodeFlops(s) / decodeBytes(s);
}

export interface Ceilings {
  /** peak (or measured) dense bf16 tensor rate, FLOP/s */
  flops: number;
  /** peak (or measured) memory bandwidth, bytes/s */
  bandwidth: number;
}

function checkCeilings(fn: string, c: Ceilings): void {
  if (typeof c !== "object" || c === null) throw new MlaArgumentError(fn, "ceilings", "an object {flops, bandwidth}", c);
  checkFinite(fn, "ceilings.flops", c.flops, true);
  checkFinite(fn, "ceilings.bandwidth", c.bandwidth, true);
}

/** Attainable FLOP/s at a given intensity: min(peak FLOP/s, intensity * bandwidth). */
export function attainableFlops(intensity: number, c: Ceilings): number {
  checkFinite("attainableFlops", "intensity", intensity);
  if (intensity < 0) throw new MlaArgumentError("attainableFlops", "intensity", "a number >= 0", intensity);
  checkCeilings("attainableFlops", c);
  return Math.min(c.flops, intensity * c.bandwidth);
}

/** Intensity (FLOP/byte) at which the two ceilings meet. */
export function ridgePoint(c: Ceilings): number {
  checkCeilings("ridgePoint", c);
  return c.flops / c.bandwidth;
}

/** Lower bound on the time of one decode step under the roofline, seconds. */
export function rooflineTimeSeconds(s: DecodeShape, c: Ceilings): number {
  checkCeilings("rooflineTimeSeconds", c);
  return Math.max(decodeFlops(s) / c.flops, decodeBytes(s) / c.bandwidth);
}

export interface Datasheet {
  name: string;
  /** dense bf16 tensor-core peak, FLOP/s (no sparsity) */
  bf16Flops: number;
  /** HBM bandwidth, bytes/s */
  bandwidth: number;
  memoryBytes: number;
  smCount: number;
  l2Bytes: number;
  source: string;
}

/**
 * Vendor datasheet figures. These are marketing peaks, kept only for
 * comparison: every figure of this project also shows the ceilings measured
 * on the GPU that produced the data.
 */
export const DATASHEETS: Readonly<Record<"H800-SXM5" | "H100-SXM5" | "H200-SXM", Datasheet>> = {
  "H800-SXM5": {
    name: "NVIDIA H800 SXM5 80GB",
    bf16Flops: 989.4e12,
    bandwidth: 3.35e12,
    memoryBytes: 80e9,
    smCount: 132,
    l2Bytes: 50 * 2 ** 20,
    source: "NVIDIA H800 product brief (dense BF16 989 TFLOPS; 3.35 TB/s HBM3)",
  },
  "H100-SXM5": {
    name: "NVIDIA H100 SXM5 80GB",
    bf16Flops: 989.4e12,
    bandwidth: 3.35e12,
    memoryBytes: 80e9,
    smCount: 132,
    l2Bytes: 50 * 2 ** 20,
    source: "NVIDIA H100 Tensor Core GPU datasheet (SXM: dense BF16 989 TFLOPS; 3.35 TB/s HBM3)",
  },
  "H200-SXM": {
    name: "NVIDIA H200 SXM 141GB",
    bf16Flops: 989.4e12,
    bandwidth: 4.8e12,
    memoryBytes: 141e9,
    smCount: 132,
    l2Bytes: 60 * 2 ** 20,
    source: "NVIDIA H200 Tensor Core GPU datasheet (SXM: dense BF16 989 TFLOPS; 4.8 TB/s HBM3e)",
  },
};

/** Picks the datasheet entry whose name best matches a device name such as "NVIDIA H100 80GB HBM3". */
export function datasheetFor(deviceName: string): Datasheet | undefined {
  if (typeof deviceName !== "string") throw new MlaArgumentError("datasheetFor", "deviceName", "a string", deviceName);
  const n = deviceName.toUpperCase();
  if (n.includes("H800")) return DATASHEETS["H800-SXM5"];
  if (n.includes("H200")) return DATASHEETS["H200-SXM"];
  if (n.includes("H100")) return DATASHEETS["H100-SXM5"];
  return undefined;
}
