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
import { readCsvFile, resultKey, RESULT_COLUMNS } from "./csv";
import { readSidecar, RunProvenance } from "./provenance";

/** One trial as parsed from CSV (numbers converted, booleans from "true"/"false"). */
export interface TrialRow {
  sweep: string;
  config_id: string;
  impl: string;
  kernel_version: string;
  kernel_name: string;
  dtype: string;
  b: number;
  s_q: number;
  h_q: number;
  h_kv: number;
  mean_sk: number;
  sk_dist: string;
  seed: number;
  causal: boolean;
  actual_mean_sk: number;
  max_sk: number;
  page_block: number;
  warmup: number;
  iters: number;
  trial: number;
  us: number;
  gbps: number;
  tflops: number;
  status: string;
  error: string;
  started_at: string;
  /** which CSV file of the run folder the row came from */
  source: string;
}

/** The configuration a trial row and its aggregate share. */
type ConfigColumns = Pick<
  TrialRow,
  "sweep" | "config_id" | "impl" | "kernel_version" | "kernel_name" | "dtype" | "b" | "s_q" | "h_q" | "h_kv" | "mean_sk" | "actual_mean_sk" | "sk_dist" | "causal"
>;

export interface AggRow extends ConfigColumns {
  /** legend label: "ours v2 (mma_sync)", "torch" */
  label: string;
  /** FLOP per byte (accounting.ts, with the actual mean length) */
  intensity: number;
  n: number;
  n_error: number;
  /** the last error message, when every trial failed */
  error: string;
  us_median: number;
  us_min: number;
  us_max: number;
  us_q1: number;
  us_q3: number;
  us_iqr: number;
  gbps_median: number;
  gbps_min: number;
  gbps_max: number;
  tflops_median: number;
  tflops_min: number;
  tflops_max: number;
  source: string;
}

const NUMERIC = ["b", "s_q", "h_q", "h_kv", "mean_sk", "seed", "actual_mean_sk", "max_sk", "page_block", "warmup", "iters", "trial", "us", "gbps", "tflops"] as const;

/** Parses CSV records into typed trial rows. Missing numbers become NaN. */
export function toTrialRows(records: Record<string, string>[], source: string): TrialRow[] {
  if (!Array.isArray(records)) throw new MlaArgumentError("toTrialRows", "records", "an array of CSV records", records);
  if (typeof source !== "string") throw new MlaArgumentError("toTrialRows", "source", "a string", source);
  return records.map((r) => {
    const o: Record<string, unknown> = { ...r, source };
    for (const k of NUMERIC) o[k] = r[k] === undefined || r[k] === "" ? NaN : Number(r[k]);
    o.causal = r.causal === "true" || r.causal === "1" || r.causal === "True";
    o.kernel_version = r.kernel_version ?? "";
    o.kernel_name = r.kernel_name ?? "";
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

export function implLabel(impl: string, kernelVersion: string, kernelName: string): string {
  if (impl === "ours") return kernelVersion === "" ? "ours" : `ours v${kernelVersion}${kernelName && kernelName !== "ours" ? ` (${kernelName})` : ""}`;
  if (impl === "torch") return "PyTorch (eager)";
  if (impl === "flashmla") return "FlashMLA";
  return impl;
}

/** Median and spread per sweep x config x impl x kernel version, in order of first appearance. */
export function aggregateTrials(rows: TrialRow[]): AggRow[] {
  if (!Array.isArray(rows)) throw new MlaArgumentError("aggregateTrials", "rows", "an array of TrialRow", rows);
  const groups = new Map<string, TrialRow[]>();
  for (const r of rows) {
    const key = `${r.sweep}|${r.config_id}|${r.impl}|${r.kernel_version}`;
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
    const meanSk = Number.isFinite(f.actual_mean_sk) ? f.actual_mean_sk : f.mean_sk;
    out.push({
      sweep: f.sweep,
      config_id: f.config_id,
      impl: f.impl,
      kernel_version: f.kernel_version,
      kernel_name: f.kernel_name,
      label: implLabel(f.impl, f.kernel_version, f.kernel_name),
      dtype: f.dtype,
      b: f.b,
      s_q: f.s_q,
      h_q: f.h_q,
      h_kv: f.h_kv,
      mean_sk: f.mean_sk,
      actual_mean_sk: meanSk,
      sk_dist: f.sk_dist,
      causal: f.causal,
      intensity: arithmeticIntensity({ b: f.b, sQ: f.s_q, hQ: f.h_q, hKv: f.h_kv, meanSk }),
      n: ok.length,
      n_error: g.length - ok.length,
      error: ok.length ? "" : lastErr,
      us_median: q("us", 0.5),
      us_min: q("us", 0),
      us_max: q("us", 1),
      us_q1: q("us", 0.25),
      us_q3: q("us", 0.75),
      us_iqr: q("us", 0.75) - q("us", 0.25),
      gbps_median: q("gbps", 0.5),
      gbps_min: q("gbps", 0),
      gbps_max: q("gbps", 1),
      tflops_median: q("tflops", 0.5),
      tflops_min: q("tflops", 0),
      tflops_max: q("tflops", 1),
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
    const missing = ["sweep", "config_id", "impl", "kernel_version", "trial", "us", "status"].filter((c) => !parsed.header.includes(c));
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
