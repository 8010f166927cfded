/**
 * Reads a run folder (results*.csv from our runner and the baselines,
 * ceilings.csv, run.json) and reduces trials to one row per configuration x
 * implementation: median and spread (min, max, quartiles, IQR).
 *
 * Medians, not means: a GPU timing distribution has a long right tail (a
 * clock dip, another process), and the median is what FlashMLA reports too.
 */
import * as fs from "fs";
import * as path from "path";
import { MlaArgumentError } from "../errors";
import { median, quantile } from "../analysis/run";
import { arithmeticIntensity } from "../roofline/accounting";
import { readCsvFile, resultKey, RESULT_COLUMNS, Timing } from "./csv";
import { readSidecar, RunProvenance } from "./provenance";

/** One trial as parsed from CSV (numbers converted, booleans from "true"/"false"). */
export interface TrialRow {
  sweep: string;
  configId: string;
  impl: string;
  /** asked for: "0" the automatic choice, "1".."N" a rung, "" a baseline */
  kernelVersion: string;
  /** the rung that ran ("" unknown or a baseline) */
  rung: string;
  kernelName: string;
  dtype: string;
  b: number;
  sQ: number;
  hQ: number;
  hKv: number;
  meanSk: number;
  skDist: string;
  seed: number;
  causal: boolean;
  actualMeanSk: number;
  maxSk: number;
  pageBlock: number;
  warmup: number;
  iters: number;
  timing: Timing;
  trial: number;
  us: number;
  gbps: number;
  tflops: number;
  /** side by side: max |ours - FlashMLA| / max |FlashMLA| of the output; NaN where not compared */
  outRelDiff: number;
  /** the same of the log-sum-exp */
  lseRelDiff: number;
  status: string;
  error: string;
  startedAt: string;
  /** which CSV file of the run folder the row came from */
  source: string;
}

/** The configuration a trial row and its aggregate share. */
type ConfigColumns = Pick<
  TrialRow,
  "sweep" | "configId" | "impl" | "kernelVersion" | "rung" | "kernelName" | "dtype" | "b" | "sQ" | "hQ" | "hKv" | "meanSk" | "actualMeanSk" | "maxSk" | "skDist" | "causal" | "timing"
>;

export interface AggRow extends ConfigColumns {
  /** legend label: "ours v2 (mma_sync)", "torch" */
  label: string;
  /** FLOP per byte (accounting.ts, with the actual mean length) */
  intensity: number;
  n: number;
  nError: number;
  /** the last error message, when every trial failed */
  error: string;
  usMedian: number;
  usMin: number;
  usMax: number;
  usQ1: number;
  usQ3: number;
  usIqr: number;
  gbpsMedian: number;
  gbpsMin: number;
  gbpsMax: number;
  tflopsMedian: number;
  tflopsMin: number;
  tflopsMax: number;
  /** the largest output / log-sum-exp difference to FlashMLA over the ok trials (side-by-side rows of ours); NaN otherwise */
  outRelDiff: number;
  lseRelDiff: number;
  source: string;
}

const NUMERIC = ["b", "sQ", "hQ", "hKv", "meanSk", "seed", "actualMeanSk", "maxSk", "pageBlock", "warmup", "iters", "trial", "us", "gbps", "tflops", "outRelDiff", "lseRelDiff"] as const;

/**
 * Parses CSV records into typed trial rows. Missing numbers become NaN. A
 * file written before a column existed (csv.ts ADDED_COLUMNS) reads with
 * what that column stood for then: rung = kernelVersion (no automatic choice
 * yet), timing "bench" for ours (the runner's loop) and "events" for a baseline.
 */
export function toTrialRows(records: Record<string, string>[], source: string): TrialRow[] {
  if (!Array.isArray(records)) throw new MlaArgumentError("toTrialRows", "records", "an array of CSV records", records);
  if (typeof source !== "string") throw new MlaArgumentError("toTrialRows", "source", "a string", source);
  return records.map((r) => {
    const o: Record<string, unknown> = { ...r, source };
    for (const k of NUMERIC) o[k] = r[k] === undefined || r[k] === "" ? NaN : Number(r[k]);
    o.causal = r.causal === "true" || r.causal === "1" || r.causal === "True";
    o.kernelVersion = r.kernelVersion ?? "";
    o.rung = r.rung || (r.impl === "ours" && r.kernelVersion !== "0" ? (r.kernelVersion ?? "") : "");
    o.timing = r.timing || (r.impl === "ours" ? "bench" : "events");
    o.kernelName = r.kernelName ?? "";
    o.error = r.error ?? "";
    return o as unknown as TrialRow;
  });
}

/** Keeps the last row for each key (a retried error is superseded by its re-measurement). */
export function latestPerKey(rows: TrialRow[]): TrialRow[] {
  if (!Array.isArray(rows)) throw new MlaArgumentError("latestPerKey", "rows", "an array of TrialRow", rows);
  const m = new Map<string, TrialRow>();
  for (const r of rows) m.set(`${r.source}|${resultKey(r)}`, r);
  return [...m.values()];
}

/**
 * Legend label: "ours v9 (lazy)" for a rung, "ours (auto)" for the automatic
 * choice (one series whatever rung it ran), "PyTorch (eager)"; rows of the
 * side-by-side harness say how they were timed: "FlashMLA (CUDA graph)",
 * "FlashMLA (eager)", "ours (auto, eager)".
 */
export function implLabel(impl: string, kernelVersion: string, kernelName: string, timing: Timing = impl === "ours" ? "bench" : "events"): string {
  const how = timing === "graph" ? "CUDA graph" : "eager";
  if (impl === "ours") {
    if (kernelVersion === "0") return timing === "bench" ? "ours (auto)" : `ours (auto, ${how})`;
    const base = kernelVersion === "" ? "ours" : `ours v${kernelVersion}${kernelName && kernelName !== "ours" ? ` (${kernelName})` : ""}`;
    return timing === "bench" ? base : `${base} [${how}]`;
  }
  if (impl === "torch") return timing === "graph" ? "PyTorch (CUDA graph)" : "PyTorch (eager)";
  if (impl === "flashmla") return `FlashMLA (${how})`;
  return impl;
}

/** Median and spread per sweep x config x impl x kernel version x timing, in order of first appearance. */
export function aggregateTrials(rows: TrialRow[]): AggRow[] {
  if (!Array.isArray(rows)) throw new MlaArgumentError("aggregateTrials", "rows", "an array of TrialRow", rows);
  const groups = new Map<string, TrialRow[]>();
  for (const r of rows) {
    const key = `${r.sweep}|${r.configId}|${r.impl}|${r.kernelVersion}|${r.timing}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const out: AggRow[] = [];
  for (const g of groups.values()) {
    const f = g[0];
    const ok = g.filter((r) => r.status === "ok" && Number.isFinite(r.us));
    const col = (k: "us" | "gbps" | "tflops"): number[] => ok.map((r) => r[k]);
    const q = (k: "us" | "gbps" | "tflops", p: number): number => quantile(col(k), p) ?? NaN;
    const lastErr = [...g].reverse().find((r) => r.status !== "ok" && r.error)?.error ?? "";
    const meanSk = Number.isFinite(f.actualMeanSk) ? f.actualMeanSk : f.meanSk;
    // The rung and its name as the last successful trial recorded them (an automatic choice is resolved per call).
    const ran = ok.length ? ok[ok.length - 1] : f;
    const worst = (k: "outRelDiff" | "lseRelDiff"): number => {
      const v = ok.map((r) => r[k]).filter((x) => !Number.isNaN(x));
      return v.length ? Math.max(...v) : NaN;
    };
    out.push({
      sweep: f.sweep,
      configId: f.configId,
      impl: f.impl,
      kernelVersion: f.kernelVersion,
      rung: ran.rung,
      kernelName: ran.kernelName,
      timing: f.timing,
      label: implLabel(f.impl, f.kernelVersion, ran.kernelName, f.timing),
      dtype: f.dtype,
      b: f.b,
      sQ: f.sQ,
      hQ: f.hQ,
      hKv: f.hKv,
      meanSk: f.meanSk,
      actualMeanSk: meanSk,
      maxSk: f.maxSk,
      skDist: f.skDist,
      causal: f.causal,
      intensity: arithmeticIntensity({ b: f.b, sQ: f.sQ, hQ: f.hQ, hKv: f.hKv, meanSk }),
      n: ok.length,
      nError: g.length - ok.length,
      error: ok.length ? "" : lastErr,
      usMedian: q("us", 0.5),
      usMin: q("us", 0),
      usMax: q("us", 1),
      usQ1: q("us", 0.25),
      usQ3: q("us", 0.75),
      usIqr: q("us", 0.75) - q("us", 0.25),
      gbpsMedian: q("gbps", 0.5),
      gbpsMin: q("gbps", 0),
      gbpsMax: q("gbps", 1),
      tflopsMedian: q("tflops", 0.5),
      tflopsMin: q("tflops", 0),
      tflopsMax: q("tflops", 1),
      outRelDiff: worst("outRelDiff"),
      lseRelDiff: worst("lseRelDiff"),
      source: f.source,
    });
  }
  return out;
}

export interface CeilingRow {
  name: string;
  trial: number;
  value: number;
  unit: string;
  method: string;
  status: string;
  error: string;
}

export interface LoadedRun {
  dir: string;
  runId: string;
  provenance?: RunProvenance;
  trials: TrialRow[];
  agg: AggRow[];
  ceilings: CeilingRow[];
  /** median of the ok probe trials */
  measured: { copyGBps?: number; gemmTflops?: number };
  /** files read, relative to dir */
  files: string[];
  /** notes from the baselines (baselines.json), e.g. why FlashMLA was not run */
  baselineNotes: Record<string, unknown>;
}

/** Loads everything a figure or the report needs from one run folder. */
export function loadRun(dir: string): LoadedRun {
  if (typeof dir !== "string" || dir === "") throw new MlaArgumentError("loadRun", "dir", "a run folder path", dir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new MlaArgumentError("loadRun", "dir", "an existing run folder", dir);
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^results.*\.csv$/.test(f))
    .sort();
  const trials: TrialRow[] = [];
  for (const f of files) {
    const parsed = readCsvFile(path.join(dir, f));
    const missing = ["sweep", "configId", "impl", "kernelVersion", "trial", "us", "status"].filter((c) => !parsed.header.includes(c));
    if (missing.length) throw new MlaArgumentError("loadRun", "dir", `results CSVs with columns ${RESULT_COLUMNS.join(",")}`, `${path.join(dir, f)} lacking ${missing.join(",")}`);
    trials.push(...toTrialRows(parsed.rows, f));
  }
  const latest = latestPerKey(trials);
  const ceilFile = path.join(dir, "ceilings.csv");
  const ceilings: CeilingRow[] = fs.existsSync(ceilFile)
    ? readCsvFile(ceilFile).rows.map((r) => ({ name: r.name, trial: Number(r.trial), value: Number(r.value), unit: r.unit, method: r.method, status: r.status, error: r.error }))
    : [];
  const okVals = (name: string): number[] => ceilings.filter((c) => c.name === name && c.status === "ok").map((c) => c.value);
  const provenance = readSidecar(dir);
  let baselineNotes: Record<string, unknown> = {};
  const bj = path.join(dir, "baselines.json");
  if (fs.existsSync(bj)) {
    try {
      baselineNotes = JSON.parse(fs.readFileSync(bj, "utf8"));
    } catch {
      baselineNotes = { error: `${bj} is not valid JSON` };
    }
  }
  const extra = [fs.existsSync(ceilFile) ? "ceilings.csv" : "", provenance ? "run.json" : "", fs.existsSync(bj) ? "baselines.json" : ""].filter(Boolean);
  return {
    dir,
    runId: provenance?.runId ?? path.basename(path.resolve(dir)),
    provenance,
    trials: latest,
    agg: aggregateTrials(latest),
    ceilings,
    measured: {
      copyGBps: median(okVals("copy_bandwidth")) ?? provenance?.ceilings?.copyGBps,
      gemmTflops: median(okVals("bf16_gemm")) ?? provenance?.ceilings?.gemmTflops,
    },
    files: [...files, ...extra],
    baselineNotes,
  };
}

/** Run folders under a root, newest first by name (names start with the date). */
export function listRuns(root: string): string[] {
  if (typeof root !== "string" || root === "") throw new MlaArgumentError("listRuns", "root", "a folder path", root);
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((d) => fs.statSync(path.join(root, d)).isDirectory())
    .filter((d) => fs.readdirSync(path.join(root, d)).some((f) => /^results.*\.csv$/.test(f)))
    .sort()
    .reverse()
    .map((d) => path.join(root, d));
}

/**
 * The run the paper quotes: the folder named in <root>/RECORDED if that file
 * exists, else the newest run folder; undefined with no data at all.
 */
export function recordedRun(root: string): { dir?: string; why: string } {
  if (typeof root !== "string" || root === "") throw new MlaArgumentError("recordedRun", "root", "a folder path", root);
  const rec = path.join(root, "RECORDED");
  if (fs.existsSync(rec)) {
    const name = fs.readFileSync(rec, "utf8").split("\n")[0].trim();
    const dir = path.isAbsolute(name) ? name : path.join(root, name);
    if (name && fs.existsSync(dir)) return { dir, why: `named in ${rec}` };
    return { why: `${rec} names "${name}", which does not exist` };
  }
  const runs = listRuns(root);
  if (runs.length) return { dir: runs[0], why: `newest run folder under ${root} (no ${rec})` };
  return { why: `no run folder with results*.csv under ${root}` };
}
