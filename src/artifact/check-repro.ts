/**
 * node dist/src/artifact/check-repro.js --fresh DIR [--recorded DIR | --runs-root data/runs]
 *                                       [--floor 0.03] [--k 3] [--allow-other-gpu] [--json FILE]
 *
 * Compares a fresh run folder with the recorded one, configuration by
 * configuration (sweep x configId x implementation x kernel version, median
 * time per call), and prints a verdict per row: reproduced, faster, slower,
 * missing, error (plus informational rows: not run in a --quick run, recorded
 * error, extra). scripts/check-repro.sh measures the fresh run on a GPU first.
 *
 * Tolerance, per row (relative to the recorded median):
 *   s      = IQR / median / 1.349 of a run's trials: the standard deviation of
 *            one trial a normal distribution with that IQR would have; robust
 *            to the odd outlier trial a clock dip leaves. Rows with fewer than
 *            2 ok trials use the median s of their run.
 *   drift  = the largest max/min - 1 between the medians of one
 *            configuration measured twice in the same run (it appears in two
 *            sweeps, e.g. the FlashMLA grid and the targets): slow drift within a
 *            session that the trials of one row cannot show. Taken over both runs.
 *   tol    = max(FLOOR, drift, K * sqrt(s_recorded^2 + s_fresh^2))
 * with FLOOR = 3% and K = 3 by default. K * sigma of a single trial, not of the
 * median, on purpose: trials of one session are correlated, so the spread of
 * medians across sessions is wider than sigma/sqrt(n) says. FLOOR is the one
 * constant: machines of one GPU model differ in power limit and boost clock by
 * a few percent, which no single run measures (run.json records both, and the
 * table says when they differ).
 *
 * d = fresh median / recorded median - 1 (time). |d| <= tol: reproduced;
 * d < -tol: faster; d > tol: slower.
 *
 * A claim is a row the paper's figures or the performance targets rest on:
 * our kernel's automatic choice (in runs from before it, its newest version)
 * on every configuration of every sweep (the
 * roofline, bandwidth, crossover, batch and speed-up figures and the report's
 * key numbers), every version in the ladder sweep (the ladder figure), and the
 * version each target is judged on (src/bench/targets.ts). A claim fails when
 * it is slower beyond tolerance, missing, or failed in the fresh run.
 * Baselines (PyTorch, FlashMLA) are shown but never fail the check: they
 * measure other people's software, whose version differs between machines.
 *
 * Exit status: 0 every claim reproduced (or faster); 1 a claim failed;
 * 2 bad arguments or unreadable runs; 3 the runs come from different GPU
 * models (table shown, not judged; --allow-other-gpu judges anyway).
 * (scripts/check-repro.sh adds 4: no GPU to measure on and no --fresh given.)
 */
import * as fs from "fs";
import * as path from "path";
import { verdicts as targetVerdicts } from "../bench/targets";
import { MlaArgumentError } from "../errors";
import { AggRow, LoadedRun, loadRun, recordedRun } from "../sweep/aggregate";
import { expandConfigs, loadSweepDirectory } from "../sweep/definitions";
import { projectRoot } from "../sweep/provenance";
import { parseCli, runCli } from "../cli-entry";

export const DEFAULT_FLOOR = 0.03;
export const DEFAULT_K = 3;
/** IQR of a normal distribution in units of its standard deviation. */
const IQR_PER_SIGMA = 1.349;

export type Verdict = "reproduced" | "faster" | "slower" | "missing" | "error" | "not run (quick)" | "recorded error" | "extra";

/** Verdicts that fail the check when the row is a claim. */
export const FAILING: readonly Verdict[] = ["slower", "missing", "error"];

export interface RowComparison {
  key: string;
  sweep: string;
  configId: string;
  impl: string;
  kernelVersion: string;
  label: string;
  /** why the row is a claim ("" when it is not one) */
  claim: string;
  verdict: Verdict;
  recorded?: { median: number; q1: number; q3: number; n: number; nError: number };
  fresh?: { median: number; q1: number; q3: number; n: number; nError: number };
  /** fresh / recorded - 1 of the median time */
  delta?: number;
  tolerance?: number;
  note: string;
}

export interface CheckResult {
  recorded: { dir: string; runId: string; gpu: string; commit: string; date: string; powerLimit?: string; packageVersion?: string };
  fresh: { dir: string; runId: string; gpu: string; commit: string; date: string; powerLimit?: string; packageVersion?: string; quick: boolean };
  sameGpu: boolean | "unknown";
  floor: number;
  k: number;
  drift: { recorded?: number; fresh?: number; pairs: number };
  rows: RowComparison[];
  counts: Record<Verdict, number>;
  failedClaims: RowComparison[];
  claims: number;
}

export interface CheckOptions {
  floor?: number;
  k?: number;
  /** sweep|configId pairs a --quick run measures; recorded rows outside it are "not run (quick)" when the fresh run is quick */
  quickPlan?: Set<string>;
}

export function rowKey(r: { sweep: string; configId: string; impl: string; kernelVersion: string; timing: string }): string {
  if (typeof r !== "object" || r === null) throw new MlaArgumentError("rowKey", "r", "an AggRow", r);
  return `${r.sweep}|${r.configId}|${r.impl}|${r.kernelVersion}|${r.timing}`;
}

const okRow = (r: AggRow): boolean => r.n > 0 && Number.isFinite(r.usMedian) && r.usMedian > 0;

function checkLoadedRun(fn: string, name: string, run: unknown): LoadedRun {
  if (typeof run !== "object" || run === null || !Array.isArray((run as LoadedRun).agg)) throw new MlaArgumentError(fn, name, "a LoadedRun (src/sweep/aggregate.ts loadRun)", run);
  return run as LoadedRun;
}

/** IQR/median/1.349 of one row's ok trials; undefined below 2 trials (no spread to speak of). */
export function relativeSigma(r: AggRow): number | undefined {
  if (typeof r !== "object" || r === null) throw new MlaArgumentError("relativeSigma", "r", "an AggRow", r);
  if (!okRow(r) || r.n < 2 || !Number.isFinite(r.usIqr)) return undefined;
  return r.usIqr / r.usMedian / IQR_PER_SIGMA;
}

function median(v: number[]): number | undefined {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The median relative sigma over a run's rows: the stand-in for rows with too few trials. */
export function runSigma(run: LoadedRun): number | undefined {
  checkLoadedRun("runSigma", "run", run);
  return median(run.agg.map(relativeSigma).filter((x): x is number => x !== undefined));
}

/**
 * Same configuration, implementation and kernel version measured in two
 * sweeps of one run: the largest max/min - 1 of their medians, and how many
 * such pairs there were.
 */
export function sessionDrift(run: LoadedRun): { value?: number; pairs: number } {
  checkLoadedRun("sessionDrift", "run", run);
  const by = new Map<string, AggRow[]>();
  for (const r of run.agg.filter(okRow)) {
    const k = `${r.configId}|${r.impl}|${r.kernelVersion}|${r.timing}`;
    by.set(k, [...(by.get(k) ?? []), r]);
  }
  let value: number | undefined;
  let pairs = 0;
  for (const rows of by.values()) {
    for (let i = 0; i < rows.length; i++)
      for (let j = i + 1; j < rows.length; j++) {
        // max/min - 1: symmetric, so the order the sweeps ran in does not change the tolerance.
        const d = Math.max(rows[i].usMedian, rows[j].usMedian) / Math.min(rows[i].usMedian, rows[j].usMedian) - 1;
        pairs++;
        value = value === undefined ? d : Math.max(value, d);
      }
  }
  return { value, pairs };
}

/** The tolerance rule of the header, for one row. */
export function toleranceFor(sRecorded: number | undefined, sFresh: number | undefined, floor: number, drift: number | undefined, k: number): number {
  const fn = "toleranceFor";
  for (const [name, v] of [["sRecorded", sRecorded], ["sFresh", sFresh], ["drift", drift]] as const) {
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 0)) throw new MlaArgumentError(fn, name, "undefined or a finite number >= 0", v);
  }
  if (typeof floor !== "number" || !Number.isFinite(floor) || floor < 0 || floor >= 1) throw new MlaArgumentError(fn, "floor", "a fraction in [0, 1)", floor);
  if (typeof k !== "number" || !Number.isFinite(k) || k <= 0) throw new MlaArgumentError(fn, "k", "a finite number > 0", k);
  const noise = sRecorded === undefined && sFresh === undefined ? 0 : k * Math.hypot(sRecorded ?? 0, sFresh ?? 0);
  return Math.max(floor, drift ?? 0, noise);
}

/** Classifies a relative change of the median time against a tolerance. */
export function classify(delta: number, tolerance: number): "reproduced" | "faster" | "slower" {
  if (typeof delta !== "number" || !Number.isFinite(delta) || delta <= -1) throw new MlaArgumentError("classify", "delta", "a finite number > -1", delta);
  if (typeof tolerance !== "number" || !Number.isFinite(tolerance) || tolerance < 0) throw new MlaArgumentError("classify", "tolerance", "a finite number >= 0", tolerance);
  if (delta > tolerance) return "slower";
  if (delta < -tolerance) return "faster";
  return "reproduced";
}

/** Rows of the recorded run that the figures and targets rest on, with the reason. */
export function claimKeys(run: LoadedRun): Map<string, string> {
  checkLoadedRun("claimKeys", "run", run);
  const out = new Map<string, string>();
  // libmla's own loop: the side-by-side rows of ours are compared, but belong to the FlashMLA comparison
  const ours = run.agg.filter((r) => r.impl === "ours" && r.timing === "bench" && okRow(r));
  // The row the figures show: the automatic choice where measured, else (runs from before it) the newest version.
  const newest = new Map<string, AggRow>();
  for (const r of ours) {
    const k = `${r.sweep}|${r.configId}`;
    const prev = newest.get(k);
    const auto = (x: AggRow): boolean => x.kernelVersion === "0";
    if (!prev || (auto(r) && !auto(prev)) || (!auto(prev) && !auto(r) && Number(r.kernelVersion) > Number(prev.kernelVersion))) newest.set(k, r);
  }
  for (const r of newest.values()) out.set(rowKey(r), r.kernelVersion === "0" ? "figures (the automatic choice)" : "figures (newest version)");
  for (const r of ours.filter((x) => x.sweep === "ladder")) out.set(rowKey(r), "ladder figure");
  for (const v of targetVerdicts(run)) {
    if (!v.best) continue;
    const k = rowKey(v.best);
    const prev = out.get(k);
    out.set(k, prev && prev.startsWith("target") ? `${prev}; ${v.target}` : `target: ${v.target}`);
  }
  return out;
}

function stats(r: AggRow | undefined): RowComparison["recorded"] {
  if (!r) return undefined;
  return { median: r.usMedian, q1: r.usQ1, q3: r.usQ3, n: r.n, nError: r.nError };
}

function facts(run: LoadedRun): CheckResult["recorded"] {
  const p = run.provenance;
  return {
    dir: run.dir,
    runId: run.runId,
    gpu: p?.device?.name ?? "unknown (no run.json)",
    commit: p?.gitCommit ?? "unknown",
    date: p?.date ?? "unknown",
    powerLimit: p?.nvidiaSmi?.["power.limit"],
    packageVersion: p?.packageVersion,
  };
}

/** Compares every row of both runs; see the header for the rules. */
export function compareRuns(recorded: LoadedRun, fresh: LoadedRun, o: CheckOptions = {}): CheckResult {
  const fn = "compareRuns";
  checkLoadedRun(fn, "recorded", recorded);
  checkLoadedRun(fn, "fresh", fresh);
  if (typeof o !== "object" || o === null) throw new MlaArgumentError(fn, "o", "an object of CheckOptions", o);
  const floor = o.floor ?? DEFAULT_FLOOR;
  const k = o.k ?? DEFAULT_K;
  if (typeof floor !== "number" || !Number.isFinite(floor) || floor < 0 || floor >= 1) throw new MlaArgumentError(fn, "o.floor", "a fraction in [0, 1)", floor);
  if (typeof k !== "number" || !Number.isFinite(k) || k <= 0) throw new MlaArgumentError(fn, "o.k", "a finite number > 0", k);
  if (o.quickPlan !== undefined && !(o.quickPlan instanceof Set)) throw new MlaArgumentError(fn, "o.quickPlan", "a Set of 'sweep|configId'", o.quickPlan);
  if (path.resolve(recorded.dir) === path.resolve(fresh.dir)) throw new MlaArgumentError(fn, "fresh", "a run folder other than the recorded one", fresh.dir);

  const rf = facts(recorded);
  const ff = { ...facts(fresh), quick: fresh.provenance?.quick === true };
  const known = recorded.provenance?.device?.name !== undefined && fresh.provenance?.device?.name !== undefined;
  const sameGpu: boolean | "unknown" = known ? rf.gpu === ff.gpu : "unknown";
  const dr = sessionDrift(recorded);
  const df = sessionDrift(fresh);
  const drift = dr.value === undefined && df.value === undefined ? undefined : Math.max(dr.value ?? 0, df.value ?? 0);
  const sigR = runSigma(recorded);
  const sigF = runSigma(fresh);
  const claims = claimKeys(recorded);
  const freshBy = new Map(fresh.agg.map((r) => [rowKey(r), r]));
  const recBy = new Map(recorded.agg.map((r) => [rowKey(r), r]));
  const rows: RowComparison[] = [];

  for (const r of recorded.agg) {
    const key = rowKey(r);
    const f = freshBy.get(key);
    const base = { key, sweep: r.sweep, configId: r.configId, impl: r.impl, kernelVersion: r.kernelVersion, label: r.label, claim: claims.get(key) ?? "", recorded: stats(r), fresh: stats(f) };
    if (!okRow(r)) {
      rows.push({ ...base, verdict: "recorded error", note: `every recorded trial failed${r.error ? `: ${r.error.slice(0, 80)}` : ""}` });
      continue;
    }
    if (!f) {
      if (ff.quick && o.quickPlan && !o.quickPlan.has(`${r.sweep}|${r.configId}`)) {
        rows.push({ ...base, verdict: "not run (quick)", note: "outside the --quick subset" });
        continue;
      }
      const other = fresh.agg.filter((x) => x.sweep === r.sweep && x.configId === r.configId && x.impl === r.impl).map((x) => `v${x.kernelVersion}`);
      const why = other.length ? `the fresh run measured ${other.join(", ")} instead` : r.impl === "ours" ? "not in the fresh run" : `no results-${r.impl}.csv row (baseline not run?)`;
      rows.push({ ...base, verdict: "missing", note: why });
      continue;
    }
    if (!okRow(f)) {
      rows.push({ ...base, verdict: "error", note: `every fresh trial failed${f.error ? `: ${f.error.slice(0, 80)}` : ""}` });
      continue;
    }
    const sR = relativeSigma(r) ?? sigR;
    const sF = relativeSigma(f) ?? sigF;
    const tol = toleranceFor(sR, sF, floor, drift, k);
    const delta = f.usMedian / r.usMedian - 1;
    const notes: string[] = [];
    if (f.nError > 0) notes.push(`${f.nError} fresh trial(s) failed`);
    if (relativeSigma(r) === undefined || relativeSigma(f) === undefined) notes.push("< 2 trials: run-wide spread used");
    rows.push({ ...base, verdict: classify(delta, tol), delta, tolerance: tol, note: notes.join("; ") });
  }
  for (const f of fresh.agg) {
    if (recBy.has(rowKey(f))) continue;
    rows.push({ key: rowKey(f), sweep: f.sweep, configId: f.configId, impl: f.impl, kernelVersion: f.kernelVersion, label: f.label, claim: "", verdict: "extra", fresh: stats(f), note: "not in the recorded run" });
  }

  const counts = { reproduced: 0, faster: 0, slower: 0, missing: 0, error: 0, "not run (quick)": 0, "recorded error": 0, extra: 0 } as Record<Verdict, number>;
  for (const r of rows) counts[r.verdict]++;
  const failedClaims = rows.filter((r) => r.claim !== "" && FAILING.includes(r.verdict));
  return { recorded: rf, fresh: ff, sameGpu, floor, k, drift: { recorded: dr.value, fresh: df.value, pairs: dr.pairs + df.pairs }, rows, counts, failedClaims, claims: rows.filter((r) => r.claim !== "").length };
}

/** 0 every claim holds; 1 a claim failed; 3 different GPU models and not allowed. */
export function exitStatus(res: CheckResult, allowOtherGpu = false): 0 | 1 | 3 {
  if (typeof res !== "object" || res === null || !Array.isArray(res.rows)) throw new MlaArgumentError("exitStatus", "res", "a CheckResult", res);
  if (typeof allowOtherGpu !== "boolean") throw new MlaArgumentError("exitStatus", "allowOtherGpu", "a boolean", allowOtherGpu);
  if (res.sameGpu === false && !allowOtherGpu) return 3;
  return res.failedClaims.length ? 1 : 0;
}

const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? "" : `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}%`);
const us = (s: RowComparison["recorded"]): string => (s && Number.isFinite(s.median) ? `${s.median.toFixed(1)} [${s.q1.toFixed(1)}-${s.q3.toFixed(1)}] n=${s.n}` : s ? `n=0 (${s.nError} err)` : "");
const pad = (s: string, n: number): string => (s.length >= n ? s : s + " ".repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : " ".repeat(n - s.length) + s);

/** The verdict table and its summary, as printed by the CLI. */
export function verdictTable(res: CheckResult, allowOtherGpu = false): string {
  const code = exitStatus(res, allowOtherGpu);
  const L: string[] = [];
  const side = (name: string, f: CheckResult["recorded"]): string =>
    `${name}: ${f.dir} (run ${f.runId}, ${f.gpu}, ${f.date.slice(0, 10)}, commit ${f.commit.slice(0, 12)}${f.powerLimit ? `, power limit ${f.powerLimit}` : ""}${f.packageVersion ? `, version ${f.packageVersion}` : ""})`;
  L.push(side("recorded", res.recorded), side("fresh   ", res.fresh) + (res.fresh.quick ? " [--quick run: fewer configurations and trials]" : ""));
  if (res.sameGpu === false) L.push(`WARNING: different GPU models (recorded ${res.recorded.gpu}, fresh ${res.fresh.gpu}): the times are not expected to match.`);
  if (res.sameGpu === "unknown") L.push("WARNING: a run.json is missing, so it is unknown whether both runs used the same GPU model.");
  if (res.sameGpu === true && res.recorded.powerLimit && res.fresh.powerLimit && res.recorded.powerLimit !== res.fresh.powerLimit)
    L.push(`NOTE: power limits differ (recorded ${res.recorded.powerLimit}, fresh ${res.fresh.powerLimit}): compute-bound rows may move beyond the floor.`);
  L.push(
    `tolerance per row = max(floor ${pct(res.floor).slice(1)}, drift ${res.drift.pairs ? pct(Math.max(res.drift.recorded ?? 0, res.drift.fresh ?? 0)).slice(1) : "n/a"} (same configuration in two sweeps, ${res.drift.pairs} pairs), ${res.k} x sqrt(s_rec^2 + s_fresh^2)), s = IQR/median/1.349 of the trials`,
    "",
  );
  L.push(`${pad("verdict", 16)} ${pad("claim", 5)} ${pad("sweep/config", 58)} ${pad("implementation", 22)} ${lpad("recorded us [q1-q3]", 30)} ${lpad("fresh us [q1-q3]", 30)} ${lpad("change", 8)} ${lpad("tol", 6)}  note`);
  const order = (r: RowComparison): number => (r.claim && FAILING.includes(r.verdict) ? 0 : 1);
  const sorted = [...res.rows].sort((a, b) => order(a) - order(b) || a.sweep.localeCompare(b.sweep) || a.configId.localeCompare(b.configId) || a.impl.localeCompare(b.impl) || a.kernelVersion.localeCompare(b.kernelVersion));
  for (const r of sorted) {
    const verdict = r.claim && FAILING.includes(r.verdict) ? r.verdict.toUpperCase() : r.verdict;
    L.push(
      `${pad(verdict, 16)} ${pad(r.claim ? "yes" : "", 5)} ${pad(`${r.sweep}/${r.configId}`, 58)} ${pad(r.label, 22)} ${lpad(us(r.recorded), 30)} ${lpad(us(r.fresh), 30)} ${lpad(pct(r.delta), 8)} ${lpad(r.tolerance === undefined ? "" : pct(r.tolerance).slice(1), 6)}  ${r.note}`,
    );
  }
  L.push("");
  const c = res.counts;
  L.push(`${res.rows.length} rows: ${Object.entries(c).filter(([, n]) => n > 0).map(([v, n]) => `${n} ${v}`).join(", ")}; ${res.claims} claims.`);
  if (code === 3) L.push("VERDICT: NOT COMPARED - the runs come from different GPU models (exit 3). Pass --allow-other-gpu to judge the claims anyway.");
  else if (code === 1) {
    L.push(`VERDICT: NOT REPRODUCED - ${res.failedClaims.length} of ${res.claims} claims failed (slower beyond tolerance, missing or error):`);
    for (const r of res.failedClaims.slice(0, 20)) L.push(`  ${r.verdict} ${r.sweep}/${r.configId} ${r.label} (${r.claim})${r.delta !== undefined ? ` ${pct(r.delta)} > ${pct(r.tolerance).slice(1)}` : ""}`);
    if (res.failedClaims.length > 20) L.push(`  ... ${res.failedClaims.length - 20} more`);
  } else L.push(`VERDICT: REPRODUCED - all ${res.claims} claims within tolerance or faster${res.fresh.quick ? " (on the --quick subset)" : ""}.`);
  return L.join("\n");
}

/** sweep|configId of every configuration a --quick run measures, from the sweep files. */
export function quickPlanFrom(sweepsDir: string): Set<string> {
  const defs = loadSweepDirectory(sweepsDir);
  return new Set(defs.flatMap((d) => expandConfigs(d, true).map((c) => `${c.sweep}|${c.configId}`)));
}

const USAGE = "usage: node dist/src/artifact/check-repro.js --fresh DIR [--recorded DIR | --runs-root data/runs] [--sweeps data/sweeps] [--floor 0.03] [--k 3] [--allow-other-gpu] [--json FILE]";

export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): number {
  const cli = parseCli(argv, {
    usage: USAGE,
    flags: { fresh: "string", recorded: "string", "runs-root": "string", sweeps: "string", floor: "string", k: "string", "allow-other-gpu": "boolean", json: "string" },
  });
  const freshDir = cli.str("fresh");
  if (freshDir === undefined) {
    out(`${USAGE}\n`);
    return 2;
  }
  if (cli.has("recorded") && cli.has("runs-root")) cli.fail("--recorded and --runs-root exclude each other");
  const floor = cli.num("floor", DEFAULT_FLOOR, { min: 0 });
  const k = cli.num("k", DEFAULT_K, { min: 0 });
  const root = projectRoot();
  let recDir: string;
  let why: string;
  const given = cli.str("recorded");
  if (given !== undefined) {
    recDir = given;
    why = "given with --recorded";
  } else {
    const sel = recordedRun(cli.str("runs-root", path.join(root, "data", "runs")));
    if (!sel.dir) throw new Error(`no recorded run to compare with: ${sel.why} (pass --recorded DIR)`);
    recDir = sel.dir;
    why = sel.why;
  }
  for (const [flag, dir] of [["--fresh", freshDir], ["--recorded", recDir]]) if (!fs.existsSync(dir)) throw new Error(`${flag} ${dir}: no such run folder`);
  const recorded = loadRun(recDir);
  const fresh = loadRun(freshDir);
  if (fresh.trials.length === 0) throw new Error(`--fresh ${freshDir}: no result rows in that run folder`);
  const sweepsDir = cli.str("sweeps", path.join(root, "data", "sweeps"));
  const res = compareRuns(recorded, fresh, { floor, k, quickPlan: fs.existsSync(sweepsDir) ? quickPlanFrom(sweepsDir) : undefined });
  const allow = cli.bool("allow-other-gpu");
  out(`recorded run chosen: ${why}\n`);
  out(verdictTable(res, allow) + "\n");
  const json = cli.str("json");
  if (json !== undefined) fs.writeFileSync(json, JSON.stringify(res, null, 2) + "\n");
  return exitStatus(res, allow);
}

if (require.main === module) runCli(main, { prefix: "check-repro", errorStatus: 2 });
