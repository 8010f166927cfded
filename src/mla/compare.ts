/**
 * How far a 16-bit kernel output is from the float64 reference, and whether
 * that is within what 16-bit rounding allows. The GPU suite and notebook 4
 * judge kernels with these same functions.
 */
import { MlaArgumentError } from "../errors";
import { decodeHalf, HalfDtype, unitRoundoff } from "../numeric/half";
import { DecodeResult } from "./decode";

export interface ErrorStats {
  /** ||out - ref|| / ||ref|| over the finite entries of out */
  relErr: number;
  /** 1 - cos(out, ref) */
  cosDist: number;
  maxAbsErr: number;
  /** entries of out that are NaN or infinite (unwritten or contaminated outputs) */
  nonFinite: number;
}

export function errorStats(out: ArrayLike<number>, ref: ArrayLike<number>): ErrorStats {
  if (!out || !ref || typeof out.length !== "number" || out.length !== ref.length) {
    throw new MlaArgumentError("errorStats", "out", `an array as long as ref (${ref?.length})`, out);
  }
  let num = 0, den = 0, dot = 0, nrm = 0, maxAbs = 0, nonFinite = 0;
  for (let i = 0; i < ref.length; i++) {
    const o = out[i];
    if (!Number.isFinite(o)) {
      nonFinite++;
      continue;
    }
    const d = o - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
    dot += o * ref[i];
    nrm += o * o;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  const relErr = den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
  const cosDist = den > 0 && nrm > 0 ? 1 - dot / Math.sqrt(den * nrm) : 0;
  return { relErr, cosDist, maxAbsErr: maxAbs, nonFinite };
}

export interface Comparison extends ErrorStats {
  lseMaxRelErr: number;
  /** lse entries where exactly one side is +inf (an empty row seen as non-empty, or the reverse) */
  infMismatch: number;
}

/** Compares a GPU decode (out as dtype bits, lse fp32) with the float64 reference. */
export function compareWithReference(dtype: HalfDtype, out: Uint16Array, lse: Float32Array, ref: DecodeResult): Comparison {
  const stats = errorStats(decodeHalf(dtype, out), ref.out);
  if (!(lse instanceof Float32Array) || lse.length !== ref.lse.length) {
    throw new MlaArgumentError("compareWithReference", "lse", `a Float32Array of length ${ref.lse.length}`, lse);
  }
  let lseMax = 0, infMismatch = 0, nonFinite = stats.nonFinite;
  for (let i = 0; i < lse.length; i++) {
    const r = ref.lse[i];
    if (r === Infinity || lse[i] === Infinity) {
      if (r !== lse[i]) infMismatch++;
      continue;
    }
    if (!Number.isFinite(lse[i])) {
      nonFinite++;
      continue;
    }
    lseMax = Math.max(lseMax, Math.abs(lse[i] - r) / Math.max(1, Math.abs(r)));
  }
  return { ...stats, nonFinite, lseMaxRelErr: lseMax, infMismatch };
}

/**
 * The suite's tolerances: out within 16-bit rounding of float64 (relative L2
 * error <= 2u, max abs error <= 8u * max|ref|), lse within 1e-5 relative, no
 * non-finite values, empty rows agreeing. Returns null when within, else why not.
 */
export function withinTolerance(dtype: HalfDtype, c: Comparison, maxAbsRef: number): string | null {
  const u = unitRoundoff(dtype);
  if (c.nonFinite > 0) return `${c.nonFinite} non-finite values (unwritten or NaN-contaminated outputs)`;
  if (c.infMismatch > 0) return `${c.infMismatch} lse entries disagree on +inf (empty rows)`;
  if (c.relErr > 2 * u) return `relative L2 error ${c.relErr.toExponential(2)} > ${(2 * u).toExponential(2)}`;
  if (c.maxAbsErr > 8 * u * Math.max(maxAbsRef, 1e-30)) return `max abs error ${c.maxAbsErr.toExponential(2)} > 8u*max|ref|`;
  if (c.lseMaxRelErr > 1e-5) return `lse relative error ${c.lseMaxRelErr.toExponential(2)} > 1e-5`;
  return null;
}
