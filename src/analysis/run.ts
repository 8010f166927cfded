/**
 * The analysis of one run folder that the figures (src/figures/paper.ts), the
 * report (src/report/report.ts), the bench (src/bench) and the aggregation
 * (src/sweep/aggregate.ts) share: the one median (and quantile), which rows
 * count as measured, which row is "ours" on a configuration, the FlashMLA
 * side-by-side pairs, and the ceilings a run is judged against. Nothing here
 * draws or formats.
 *
 * Rows of "ours" come from two harnesses: timing "bench" (libmla's own loop,
 * the TypeScript runner: every rung a sweep asks for, and the automatic
 * choice) and the side-by-side rows ("events", "graph": ours (auto) and
 * FlashMLA in one Python process on the same tensors). Figures and numbers
 * about ours take the former; every comparison with FlashMLA the latter.
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
  bench: "flashmla-bench",
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

/** A row of the side-by-side harness (timed from Python, eagerly or by graph replay), not libmla's own loop. */
export function isSideBySide(r: Pick<AggRow, "timing">): boolean {
  return r.timing === "events" || r.timing === "graph";
}

/** The automatic choice (kernel_version 0), whatever rung it ran. */
export function isAuto(r: Pick<AggRow, "impl" | "kernelVersion">): boolean {
  return r.impl === "ours" && r.kernelVersion === "0";
}

/**
 * "Ours" per configuration, plus every baseline once: of libmla's own rows
 * (timing "bench") the automatic choice where it was measured (what a caller
 * gets by default), else the fastest measured rung (runs from before the
 * automatic choice, or a sweep without it); the side-by-side rows of ours are
 * left out (they belong to the FlashMLA comparison, sideBySide). A baseline
 * timed both ways counts once, by its graph replay where measured (no host
 * launch overhead, like libmla's loop), else eagerly. Give it measured rows
 * (isMeasured): a configuration whose auto row failed falls back to the rungs.
 */
export function oursPerConfig(rows: AggRow[]): AggRow[] {
  if (!Array.isArray(rows)) throw new MlaArgumentError("oursPerConfig", "rows", "an array of AggRow", rows);
  const best = new Map<string, AggRow>();
  const others = new Map<string, AggRow>();
  for (const r of rows) {
    if (r.impl !== "ours") {
      // graph before events, events before anything else
      const k = `${r.sweep}|${r.configId}|${r.impl}`;
      const rank = (x: AggRow): number => (x.timing === "graph" ? 0 : x.timing === "events" ? 1 : 2);
      const prev = others.get(k);
      if (!prev || rank(r) < rank(prev)) others.set(k, r);
      continue;
    }
    if (isSideBySide(r)) continue;
    const k = `${r.sweep}|${r.configId}`;
    const prev = best.get(k);
    if (!prev || (isAuto(r) && !isAuto(prev)) || (isAuto(r) === isAuto(prev) && r.usMedian < prev.usMedian)) best.set(k, r);
  }
  return [...best.values(), ...others.values()];
}

/** One configuration measured side by side: ours (auto) and FlashMLA, same process, same tensors. */
export interface SideBySide {
  sweep: string;
  configId: string;
  /** a row of the pair, for the configuration's fields (b, sQ, hQ, meanSk, ...) */
  config: AggRow;
  ours: { graph?: AggRow; events?: AggRow };
  flashmla: { graph?: AggRow; events?: AggRow };
  /** FlashMLA time / our time, by graph replay and eagerly (above 1: ours is faster); undefined where either failed */
  ratioGraph?: number;
  ratioEvents?: number;
  /** the headline: graph replay where both have it, else eager */
  ratio?: number;
  timing?: "graph" | "events";
  /** the rung ours (auto) ran, and its name */
  rung: string;
  kernelName: string;
  /** max |ours - FlashMLA| / max |FlashMLA| (output, log-sum-exp); NaN where not compared */
  outRelDiff: number;
  lseRelDiff: number;
}

/**
 * The FlashMLA comparison of a run: every configuration with side-by-side
 * rows, in order of first appearance. Only successful rows count
 * (isMeasured); a configuration whose FlashMLA or ours failed keeps its pair
 * without a ratio.
 */
export function sideBySide(rows: AggRow[]): SideBySide[] {
  if (!Array.isArray(rows)) throw new MlaArgumentError("sideBySide", "rows", "an array of AggRow", rows);
  const out = new Map<string, SideBySide>();
  for (const r of rows) {
    if (!isSideBySide(r) || (r.impl !== "ours" && r.impl !== "flashmla")) continue;
    const k = `${r.sweep}|${r.configId}`;
    let p = out.get(k);
    if (!p) {
      p = { sweep: r.sweep, configId: r.configId, config: r, ours: {}, flashmla: {}, rung: "", kernelName: "", outRelDiff: NaN, lseRelDiff: NaN };
      out.set(k, p);
    }
    if (!isMeasured(r)) continue;
    const side = r.impl === "ours" ? p.ours : p.flashmla;
    side[r.timing as "graph" | "events"] = r;
    if (r.impl === "ours") {
      p.rung = r.rung;
      p.kernelName = r.kernelName;
      const worse = (a: number, b: number): number => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b));
      p.outRelDiff = worse(p.outRelDiff, r.outRelDiff);
      p.lseRelDiff = worse(p.lseRelDiff, r.lseRelDiff);
    }
  }
  for (const p of out.values()) {
    const ratio = (t: "graph" | "events"): number | undefined => (p.ours[t] && p.flashmla[t] ? p.flashmla[t]!.usMedian / p.ours[t]!.usMedian : undefined);
    p.ratioGraph = ratio("graph");
    p.ratioEvents = ratio("events");
    p.timing = p.ratioGraph !== undefined ? "graph" : p.ratioEvents !== undefined ? "events" : undefined;
    p.ratio = p.timing === "graph" ? p.ratioGraph : p.ratioEvents;
  }
  return [...out.values()];
}

/** One configuration where libmla's own loop measured several rungs, and the rung the automatic choice picks there. */
export interface AutoChoiceCheck {
  sweep: string;
  configId: string;
  /** the rungs measured (explicit kernel versions >= 1), fastest first */
  rungs: AggRow[];
  /** the rung the automatic choice picks for the shape */
  chosen: number;
  /** its row, when that rung was measured */
  chosenRow?: AggRow;
  /** chosen time / fastest time - 1, when measured */
  over?: number;
  verdict: "within" | "slower" | "not measured";
}

/**
 * The automatic choice against the measurements: for every configuration
 * where libmla's own loop (timing "bench") measured at least two rungs, the
 * rung `choose` says the library picks (mla_select_kernel for the row's
 * shape) and whether its median time is within `tolerance` of the fastest
 * rung's. "not measured": the chosen rung is not among the measured ones.
 */
export function checkAutoChoice(rows: AggRow[], choose: (r: AggRow) => number, tolerance = 0.03): AutoChoiceCheck[] {
  if (!Array.isArray(rows)) throw new MlaArgumentError("checkAutoChoice", "rows", "an array of AggRow", rows);
  if (typeof choose !== "function") throw new MlaArgumentError("checkAutoChoice", "choose", "a function (row) => rung", choose);
  if (typeof tolerance !== "number" || !(tolerance >= 0)) throw new MlaArgumentError("checkAutoChoice", "tolerance", "a number >= 0", tolerance);
  const groups = new Map<string, AggRow[]>();
  for (const r of rows) {
    if (r.impl !== "ours" || isSideBySide(r) || isAuto(r) || !isMeasured(r) || !(Number(r.kernelVersion) >= 1)) continue;
    const k = `${r.sweep}|${r.configId}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: AutoChoiceCheck[] = [];
  for (const rs of groups.values()) {
    if (rs.length < 2) continue;
    const rungs = [...rs].sort((a, b) => a.usMedian - b.usMedian);
    const chosen = choose(rungs[0]);
    const chosenRow = rungs.find((r) => Number(r.kernelVersion) === chosen);
    const over = chosenRow ? chosenRow.usMedian / rungs[0].usMedian - 1 : undefined;
    const verdict = over === undefined ? "not measured" : over <= tolerance ? "within" : "slower";
    out.push({ sweep: rungs[0].sweep, configId: rungs[0].configId, rungs, chosen, chosenRow, over, verdict });
  }
  return out;
}
