/**
 * Runs the planned configurations (plan.ts) x implementations x trials through an injected
 * measurement function and appends one CSV row per trial.
 *
 * Guarantees, because a GPU session is short and may be cut off:
 *  - each row is appended and fsync'ed as soon as it is measured, so an
 *    interrupted run loses at most the configuration in flight;
 *  - a re-run into the same folder skips every row already there (by
 *    sweep, configId, impl, kernelVersion, trial), so resuming is free;
 *  - a configuration that throws is recorded (status=error, message) and the
 *    sweep goes on with the next one.
 * The runner never touches CUDA itself: see gpu-adapter.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { median } from "../analysis/run";
import { MlaArgumentError } from "../errors";
import { rooflineTimeSeconds, Ceilings, DATASHEETS } from "../roofline/accounting";
import { CEILING_COLUMNS, CsvAppender, readCsvFile, RESULT_COLUMNS, resultKey, Timing } from "./csv";
import type { ImplRun, PlannedConfig, RunConfig } from "./plan";

/**
 * One timed trial: microseconds per call and, for "ours", the rung that ran
 * and its name (kernel version 0 resolved; by default the version asked for).
 */
export type MeasureFn = (cfg: RunConfig, impl: ImplRun) => Promise<{ us: number; rung?: number; kernelName?: string }>;

/** What a results row says was measured: the implementation, the rung that ran, how it was timed. */
export interface TrialImpl {
  impl: string;
  /** asked for (0: auto); "" or absent for a baseline */
  kernelVersion?: number | "";
  /** ran; defaults to kernelVersion when that is a rung (>= 1) */
  rung?: number | "";
  kernelName: string;
  timing: Timing;
}

/** The columns of a results row that say what was measured (resultKey's and the configuration's). */
export function trialColumns(c: Omit<RunConfig, "seqlens" | "flops" | "bytes">, im: TrialImpl, trial: number) {
  const kv = im.kernelVersion ?? "";
  return {
    sweep: c.sweep,
    configId: c.configId,
    impl: im.impl,
    kernelVersion: kv,
    rung: im.rung ?? (typeof kv === "number" && kv > 0 ? kv : ""),
    kernelName: im.kernelName,
    dtype: c.dtype,
    b: c.b,
    sQ: c.sQ,
    hQ: c.hQ,
    hKv: c.hKv,
    meanSk: c.meanSk,
    skDist: c.skDist,
    seed: c.seed,
    causal: c.causal,
    actualMeanSk: c.actualMeanSk,
    maxSk: c.maxSk,
    pageBlock: c.pageBlock,
    warmup: c.warmup,
    iters: c.iters,
    timing: im.timing,
    trial,
  };
}

/** The columns of a successful trial: its time and the rates from the plan's FLOP and byte counts (6 significant digits). */
export function timedColumns(c: { flops: number; bytes: number }, us: number): Record<string, string | number> {
  const s = us * 1e-6;
  return { us: fmtNum(us, 6), gbps: fmtNum(c.bytes / s / 1e9, 6), tflops: fmtNum(c.flops / s / 1e12, 6), status: "ok", error: "" };
}

export interface EstimateOptions {
  /** ceilings used to guess a call's time; default H100 SXM datasheet */
  ceilings?: Ceilings;
  /** fraction of the roofline each implementation reaches; keys "ours:<version>", "ours", "torch", "flashmla" */
  efficiency?: Record<string, number>;
  /** fixed cost per configuration (allocation, random fill, plan), seconds */
  setupSeconds?: number;
  /** random fill rate of the cache on the device, bytes/s */
  fillBytesPerSecond?: number;
  /** per-measurement overhead (launch, event sync, CSV fsync), seconds */
  perTrialSeconds?: number;
}

export const DEFAULT_EFFICIENCY: Record<string, number> = { "ours:1": 0.03, ours: 0.6, torch: 0.15, flashmla: 0.8 };

/**
 * Guess of the wall time of a plan, seconds. Deliberately pessimistic on the slow paths.
 * A "flashmla" implementation stands for the side-by-side measurement: FlashMLA
 * and ours, each timed eagerly and by graph replay (plus the capture) per trial.
 */
export function estimateSeconds(plan: PlannedConfig[], o: EstimateOptions = {}): number {
  if (!Array.isArray(plan)) throw new MlaArgumentError("estimateSeconds", "plan", "an array from resolvePlan", plan);
  if (typeof o !== "object" || o === null) throw new MlaArgumentError("estimateSeconds", "o", "an object", o);
  const ds = DATASHEETS["H100-SXM5"];
  const ceilings = o.ceilings ?? { flops: ds.bf16Flops, bandwidth: ds.bandwidth };
  const eff = { ...DEFAULT_EFFICIENCY, ...(o.efficiency ?? {}) };
  const setup = o.setupSeconds ?? 0.3;
  const fill = o.fillBytesPerSecond ?? 200e9;
  const perTrial = o.perTrialSeconds ?? 0.01;
  let total = 0;
  for (const p of plan) {
    const ideal = rooflineTimeSeconds({ b: p.cfg.b, sQ: p.cfg.sQ, hQ: p.cfg.hQ, hKv: p.cfg.hKv, meanSk: p.cfg.actualMeanSk }, ceilings);
    total += setup + p.cfg.bytes / fill;
    const calls = (p.cfg.warmup + p.cfg.iters) * ideal;
    for (const im of p.impls) {
      const e = eff[`${im.impl}:${im.kernelVersion}`] ?? eff[im.impl] ?? 0.5;
      if (im.impl === "flashmla") {
        const both = 1 / e + 1 / (eff["ours:0"] ?? eff.ours ?? 0.5);
        total += 2 * p.trials * (calls * both + 2 * perTrial) + p.cfg.iters * ideal * both;
      } else total += p.trials * (calls / e + perTrial);
    }
  }
  return total;
}

export interface CeilingProbes {
  /** GB/s (bytes read + written) of a device-to-device copy */
  copyBandwidth?: () => Promise<number> | number;
  /** TFLOP/s of a dense bf16 GEMM */
  gemmTflops?: () => Promise<number> | number;
  copyMethod?: string;
  gemmMethod?: string;
}

export interface ProgressSink {
  start(totalTasks: number, label: string): void;
  /** after each configuration; `skipped` of the `done` tasks were already in the CSV (cost nothing) */
  update(done: number, label: string, skipped: number): void;
  end(summary: string): void;
}

export interface RunOptions {
  outDir: string;
  plan: PlannedConfig[];
  measure: MeasureFn;
  /** called after the last trial of each configuration (the GPU adapter frees memory here) */
  onConfigDone?: (cfg: RunConfig) => Promise<void> | void;
  /** re-measure rows recorded with status=error */
  retryErrors?: boolean;
  progress?: ProgressSink;
  now?: () => Date;
  /** results file name in outDir */
  csvName?: string;
  /** how `measure` times (csv.ts TIMINGS); default "bench", libmla's own loop */
  timing?: Timing;
  /**
   * Untimed measurements of the first configuration still to run, before any recorded one.
   * The first trials of a session otherwise run on a cold GPU (clocks ramping, first-touch page
   * mapping) and showed a 20% spread where later ones show < 1%.
   */
  primingRuns?: number;
}

export interface RunSummary {
  csvPath: string;
  measured: number;
  skipped: number;
  errors: number;
  configs: number;
}

function fmtNum(v: number, digits: number): number {
  return Number(v.toPrecision(digits));
}

/** The runner. Returns counts; throws only for bad arguments or an unwritable output folder. */
export async function runSweeps(o: RunOptions): Promise<RunSummary> {
  const fn = "runSweeps";
  if (typeof o !== "object" || o === null) throw new MlaArgumentError(fn, "o", "an object", o);
  if (typeof o.outDir !== "string" || o.outDir === "") throw new MlaArgumentError(fn, "o.outDir", "a folder path", o.outDir);
  if (!Array.isArray(o.plan)) throw new MlaArgumentError(fn, "o.plan", "an array from resolvePlan", o.plan);
  if (typeof o.measure !== "function") throw new MlaArgumentError(fn, "o.measure", "a function (cfg, impl) => Promise<{us}>", o.measure);
  if (o.onConfigDone !== undefined && typeof o.onConfigDone !== "function") throw new MlaArgumentError(fn, "o.onConfigDone", "a function", o.onConfigDone);
  const priming = o.primingRuns ?? 0;
  if (!Number.isInteger(priming) || priming < 0) throw new MlaArgumentError(fn, "o.primingRuns", "an integer >= 0", priming);
  const now = o.now ?? (() => new Date());
  const timing: Timing = o.timing ?? "bench";
  fs.mkdirSync(o.outDir, { recursive: true });
  const csvPath = path.join(o.outDir, o.csvName ?? "results.csv");
  const out = new CsvAppender(csvPath, RESULT_COLUMNS);
  // Last row per key wins: a retried error row is superseded by the later ok row.
  const done = new Map<string, string>();
  for (const r of out.existing) done.set(resultKey(r as never), r.status);

  const totalTasks = o.plan.reduce((s, p) => s + p.impls.length * p.trials, 0);
  const summary: RunSummary = { csvPath, measured: 0, skipped: 0, errors: 0, configs: o.plan.length };
  let finished = 0;
  o.progress?.start(totalTasks, `${o.plan.length} configurations, ${totalTasks} measurements`);
  try {
    const firstTodo = o.plan.find((p) => p.impls.some((im) => Array.from({ length: p.trials }, (_, t) => t).some((t) => {
      const st = done.get(resultKey(trialColumns(p.cfg, { ...im, timing }, t)));
      return st === undefined || (st !== "ok" && o.retryErrors);
    })));
    if (firstTodo && priming > 0) {
      const im = firstTodo.impls[firstTodo.impls.length - 1];
      for (let k = 0; k < priming; k++) {
        // A failure here is the configuration's own failure: it will be recorded when measured for real.
        await o.measure(firstTodo.cfg, im).catch(() => undefined);
      }
    }
    for (const p of o.plan) {
      const c = p.cfg;
      // A failure poisons the rest of that implementation's trials on this config (same error, wasted minutes).
      const failed = new Map<number, string>();
      // Trials outermost: implementations alternate, so clock or thermal drift spreads over all of them.
      for (let trial = 0; trial < p.trials; trial++) {
        for (let k = 0; k < p.impls.length; k++) {
          const im = p.impls[k];
          const base = trialColumns(c, { ...im, timing }, trial);
          finished++;
          const prev = done.get(resultKey(base));
          if (prev === "ok" || (prev !== undefined && !o.retryErrors)) {
            summary.skipped++;
            continue;
          }
          const started = now().toISOString();
          const prior = failed.get(k);
          if (prior !== undefined) {
            out.append({ ...base, status: "error", error: `not run: ${prior}`, startedAt: started });
            summary.errors++;
            continue;
          }
          try {
            const r = await o.measure(c, im);
            if (typeof r !== "object" || r === null || typeof r.us !== "number" || !Number.isFinite(r.us) || r.us <= 0) {
              throw new Error(`measurement returned ${JSON.stringify(r)}, not {us > 0}`);
            }
            const ran = r.rung !== undefined && Number.isInteger(r.rung) && r.rung >= 1 ? { rung: r.rung, kernelName: r.kernelName ?? base.kernelName } : {};
            out.append({ ...base, ...ran, ...timedColumns(c, r.us), startedAt: started });
            summary.measured++;
          } catch (e) {
            const msg = (e as Error)?.message ?? String(e);
            failed.set(k, `trial ${trial} failed: ${msg}`);
            out.append({ ...base, status: "error", error: msg, startedAt: started });
            summary.errors++;
          }
        }
      }
      if (o.onConfigDone) {
        try {
          await o.onConfigDone(c);
        } catch (e) {
          // Cleanup failing is worth a line, not the rest of the run.
          process.stderr.write(`warning: cleanup after ${c.sweep}/${c.configId} failed: ${(e as Error).message}\n`);
        }
      }
      o.progress?.update(finished, `${c.sweep}/${c.configId}`, summary.skipped);
    }
  } finally {
    out.close();
  }
  o.progress?.end(`${summary.measured} measured, ${summary.skipped} already present, ${summary.errors} errors -> ${csvPath}`);
  return summary;
}

/**
 * Device ceilings measured in the same session as the sweeps, `trials` times
 * each, into ceilings.csv (kind=ceiling). Already-present ok rows are kept, as for results.
 */
export async function measureCeilings(outDir: string, probes: CeilingProbes, trials = 5, now: () => Date = () => new Date()): Promise<{ copyGBps?: number; gemmTflops?: number; errors: string[] }> {
  const fn = "measureCeilings";
  if (typeof outDir !== "string" || outDir === "") throw new MlaArgumentError(fn, "outDir", "a folder path", outDir);
  if (typeof probes !== "object" || probes === null) throw new MlaArgumentError(fn, "probes", "an object of probe functions", probes);
  if (!Number.isInteger(trials) || trials < 1) throw new MlaArgumentError(fn, "trials", "an integer >= 1", trials);
  fs.mkdirSync(outDir, { recursive: true });
  const csv = new CsvAppender(path.join(outDir, "ceilings.csv"), CEILING_COLUMNS);
  const have = new Set(csv.existing.filter((r) => r.status === "ok").map((r) => `${r.name}|${r.trial}`));
  const errors: string[] = [];
  const items: [string, string, (() => Promise<number> | number) | undefined, string][] = [
    ["copy_bandwidth", "GB/s", probes.copyBandwidth, probes.copyMethod ?? "device-to-device copy"],
    ["bf16_gemm", "TFLOP/s", probes.gemmTflops, probes.gemmMethod ?? "bf16 GEMM"],
  ];
  try {
    for (const [name, unit, probe, method] of items) {
      if (!probe) continue;
      for (let t = 0; t < trials; t++) {
        if (have.has(`${name}|${t}`)) continue;
        const started = now().toISOString();
        try {
          const v = await probe();
          if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new Error(`probe returned ${v}`);
          csv.append({ kind: "ceiling", name, trial: t, value: fmtNum(v, 6), unit, method, status: "ok", error: "", startedAt: started });
        } catch (e) {
          const msg = (e as Error)?.message ?? String(e);
          errors.push(`${name}: ${msg}`);
          csv.append({ kind: "ceiling", name, trial: t, value: "", unit, method, status: "error", error: msg, startedAt: started });
          break;
        }
      }
    }
  } finally {
    csv.close();
  }
  const all = readCsvFile(path.join(outDir, "ceilings.csv")).rows;
  const med = (name: string): number | undefined => median(all.filter((r) => r.name === name && r.status === "ok").map((r) => Number(r.value)));
  return { copyGBps: med("copy_bandwidth"), gemmTflops: med("bf16_gemm"), errors };
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, "0")}s`;
}

/** Bar with ETA on a TTY; otherwise one plain line per configuration (CI logs). */
export function stderrProgress(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const tty = Boolean(stream.isTTY);
  let total = 1;
  let t0 = Date.now();
  return {
    start(n, label) {
      total = Math.max(1, n);
      t0 = Date.now();
      stream.write(`${label}\n`);
    },
    update(done, label, skipped) {
      const el = (Date.now() - t0) / 1000;
      // ETA from the measurements made in this session only: skipped rows cost nothing.
      const ran = done - skipped;
      const eta = ran > 0 ? (el / ran) * (total - done) : NaN;
      const pct = Math.min(100, (100 * done) / total);
      if (tty) {
        const w = 24;
        const fill = Math.round((w * pct) / 100);
        const line = `[${"#".repeat(fill)}${".".repeat(w - fill)}] ${pct.toFixed(0).padStart(3)}% ${done}/${total} ETA ${fmtDuration(eta)} ${label}`;
        stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1).padEnd(Math.min(119, (stream.columns ?? 120) - 1))}`);
      } else {
        stream.write(`${done}/${total} (${pct.toFixed(0)}%) elapsed ${fmtDuration(el)} eta ${fmtDuration(eta)}: ${label}\n`);
      }
    },
    end(summary) {
      stream.write(`${tty ? "\n" : ""}${summary}\n`);
    },
  };
}
