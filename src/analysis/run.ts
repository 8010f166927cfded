/**
 * The analysis of one run folder that the figures (src/figures/paper.ts), the
 * report (src/report/report.ts) and the aggregation (src/sweep/aggregate.ts)
 * share: the one median (and quantile), which rows count as measured, the
 * fastest kernel version per configuration, and the ceilings a run is judged
 * against. Nothing here draws or formats.
 */
import { MlaArgumentError } from "../errors";
import { Ceilings, datasheetFor, Datasheet } from "../roofline/accounting";
import type { CaptionProvenance } from "../figures/style";
import type { AggRow, LoadedRun } from "../sweep/aggregate";

/**
 * The p-quantile of the finite values, linearly interpolated between the two
 * nearest ranks (R-7, as numpy's default): undefined when there is none.
 */
export function quantile(values: readonly number[], p: number): number | undefined {
  if (!Array.isArray(values)) throw new MlaArgumentError("quantile", "values", "an array of numbers", values);
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new MlaArgumentError("quantile", "p", "a number in [0, 1]", p);
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const i = (s.length - 1) * p;
  const i0 = Math.floor(i);
  return i0 + 1 < s.length ? s[i0] + (s[i0 + 1] - s[i0]) * (i - i0) : s[i0];
}

/** The median of the finite values (quantile 0.5); undefined when there is none. */
export function median(values: readonly number[]): number | undefined {
  return quantile(values, 0.5);
}

/** Sweep names as in data/sweeps/*.json. */
export const SWEEPS = {
  grid: "flashmla-grid",
  heads: "heads",
  seqlen: "seqlen",
  batch: "batch",
  speculative: "speculative",
  ladder: "ladder",
  targets: "targets",
} as const;

/** A configuration x implementation with at least one successful trial. */
export function isMeasured(r: AggRow): boolean {
  return r.n > 0 && Number.isFinite(r.usMedian);
}

export function checkRun(fn: string, run: unknown): LoadedRun {
  if (typeof run !== "object" || run === null || !Array.isArray((run as LoadedRun).agg)) throw new MlaArgumentError(fn, "run", "a LoadedRun (src/sweep/aggregate.ts loadRun)", run);
  return run as LoadedRun;
}

export interface RunContext {
  provenance: CaptionProvenance;
  datasheet?: Datasheet;
  /** FLOP/s and bytes/s as measured by the probes in this run, when present */
  measured?: Ceilings;
  /** datasheet ceilings for the run's GPU, when known */
  sheet?: Ceilings;
  /** measured if present, else datasheet: the one used for "% of roofline" */
  best?: Ceilings;
  bestIsMeasured: boolean;
}

export function runContext(run: LoadedRun): RunContext {
  checkRun("runContext", run);
  const p = run.provenance;
  const firstDate = run.trials.map((t) => t.startedAt).filter((d) => d && !Number.isNaN(Date.parse(d))).sort()[0];
  const provenance: CaptionProvenance = {
    gpuName: p?.device?.name ?? "unknown GPU (run.json missing)",
    date: p?.date ?? firstDate ?? new Date(0).toISOString(),
    smCount: p?.device?.smCount,
    runId: run.runId,
    gitCommit: p?.gitCommit && p.gitCommit !== "unknown" ? p.gitCommit : undefined,
    driver: p?.nvidiaSmi?.driver_version,
    cudaRuntime: p?.device?.cudaRuntime,
  };
  const ds = datasheetFor(provenance.gpuName);
  const measured = run.measured.copyGBps && run.measured.gemmTflops ? { bandwidth: run.measured.copyGBps * 1e9, flops: run.measured.gemmTflops * 1e12 } : undefined;
  const sheet = ds ? { bandwidth: ds.bandwidth, flops: ds.bf16Flops } : undefined;
  return { provenance, datasheet: ds, measured, sheet, best: measured ?? sheet, bestIsMeasured: measured !== undefined };
}

/** Fastest kernel version of "ours" per configuration (lowest median time), plus every other implementation. */
export function fastestOurs(rows: AggRow[]): AggRow[] {
  if (!Array.isArray(rows)) throw new MlaArgumentError("fastestOurs", "rows", "an array of AggRow", rows);
  const best = new Map<string, AggRow>();
  const others: AggRow[] = [];
  for (const r of rows) {
    if (r.impl !== "ours") {
      others.push(r);
      continue;
    }
    const k = `${r.sweep}|${r.configId}`;
    const prev = best.get(k);
    if (!prev || r.usMedian < prev.usMedian) best.set(k, r);
  }
  return [...best.values(), ...others];
}
