/**
 * The tidy results CSV: one row per configuration x implementation x trial.
 * Read and written with arquero's CSV reader and writer (fromCSV, toCSV:
 * RFC 4180 quoting); this module only adds what a crash-safe measurement log
 * needs on top: rows appended one at a time with an fsync after each, so that
 * a crash or a killed job loses at most the row in flight, and a torn last
 * record (a crash mid-write) recognised and cut off.
 */
import * as fs from "fs";
import { MlaArgumentError } from "../errors";

interface Arquero {
  table(columns: Record<string, unknown[]>, names?: readonly string[]): unknown;
  toCSV(table: unknown, options?: { header?: boolean; columns?: readonly string[] }): string;
  fromCSV(text: string, options?: { autoType?: boolean }): { columnNames(): string[]; objects(): Record<string, string | null>[] };
}

// arquero 8 is ESM-only; Node >= 20.19 can require() it.
function aq(): Arquero {
  return require("arquero") as Arquero;
}

/**
 * Column order of results*.csv (our runner's, and the baselines' through `sweep/cli.js ingest`).
 *
 * What was measured: sweep, configId and the configuration's fields; impl
 * ("ours", "torch", "flashmla"); for "ours" kernelVersion, the version asked
 * for (0 = the automatic choice), rung, the version that ran (kernelVersion
 * itself, or the automatic choice resolved by mla_select_kernel; "" when it is
 * not known, e.g. a failed call), and kernelName, the name of the rung that ran
 * (mla_kernel_name; "auto" when it is not known); for a baseline kernelName is
 * its library and version and kernelVersion and rung are empty. timing, how
 * (TIMINGS): "bench" libmla's own loop (mla_bench_decode, the TypeScript
 * runner), "events" and "graph" the Python harness's CUDA events around eager
 * calls or around a CUDA-graph replay. How it came out: us (per call), gbps,
 * tflops, and for the side-by-side rows of ours outRelDiff and lseRelDiff:
 * max |ours - FlashMLA| / max |FlashMLA| of the output and of the log-sum-exp
 * on the configuration (empty where not compared); status, error, startedAt.
 */
export const RESULT_COLUMNS = [
  "sweep",
  "configId",
  "impl",
  "kernelVersion",
  "rung",
  "kernelName",
  "dtype",
  "b",
  "sQ",
  "hQ",
  "hKv",
  "meanSk",
  "skDist",
  "seed",
  "causal",
  "actualMeanSk",
  "maxSk",
  "pageBlock",
  "warmup",
  "iters",
  "timing",
  "trial",
  "us",
  "gbps",
  "tflops",
  "outRelDiff",
  "lseRelDiff",
  "status",
  "error",
  "startedAt",
] as const;
export type ResultColumn = (typeof RESULT_COLUMNS)[number];
export type ResultRow = Record<ResultColumn, string | number | boolean>;

/**
 * Columns added after the first recorded runs were written: a results CSV
 * without them is read with the values they stood for then (aggregate.ts
 * toTrialRows): rung = kernelVersion, timing "bench" for ours and "events"
 * for the baselines, no output comparison.
 */
export const ADDED_COLUMNS: readonly ResultColumn[] = ["rung", "timing", "outRelDiff", "lseRelDiff"];

/**
 * How a row was timed: "bench" = libmla's mla_bench_decode (CUDA events around
 * `iters` back-to-back calls from C, inputs cycled through copies past L2;
 * the TypeScript runner); "events" = CUDA events around `iters` back-to-back
 * eager calls from Python on one set of tensors; "graph" = CUDA events around
 * one replay of a CUDA graph holding `iters` calls (no host launch overhead).
 */
export const TIMINGS = ["bench", "events", "graph"] as const;
export type Timing = (typeof TIMINGS)[number];

/** Columns of ceilings.csv: device probes measured in the same session as the sweeps. */
export const CEILING_COLUMNS = ["kind", "name", "trial", "value", "unit", "method", "status", "error", "startedAt"] as const;
export type CeilingColumn = (typeof CEILING_COLUMNS)[number];

/** Identity of a row for resuming: what was measured and how, not what came out. */
export function resultKey(r: { sweep: unknown; configId: unknown; impl: unknown; kernelVersion: unknown; timing: unknown; trial: unknown }): string {
  if (typeof r !== "object" || r === null) throw new MlaArgumentError("resultKey", "r", "a result row", r);
  return [r.sweep, r.configId, r.impl, r.kernelVersion, r.timing, r.trial].map((v) => String(v)).join("|");
}

/**
 * CSV text of `rows` in the order of `columns` (missing values, NaN and
 * infinities as empty fields), with the header line unless `header` is false.
 */
export function csvText(columns: readonly string[], rows: Record<string, unknown>[], header = true): string {
  if (!Array.isArray(columns) || columns.length === 0) throw new MlaArgumentError("csvText", "columns", "a non-empty array of column names", columns);
  if (!Array.isArray(rows) || rows.some((r) => typeof r !== "object" || r === null)) throw new MlaArgumentError("csvText", "rows", "an array of objects", rows);
  const cell = (v: unknown): unknown => (v === undefined || (typeof v === "number" && !Number.isFinite(v)) ? null : v);
  const A = aq();
  return A.toCSV(A.table(Object.fromEntries(columns.map((c) => [c, rows.map((r) => cell(r[c]))])), columns), { header, columns });
}

/**
 * Length of the text up to the end of its last complete record: a last record
 * cut off by a crash (no final newline, or one inside an open quote) is not part of it.
 */
export function completeLength(text: string): number {
  let inQuote = false;
  let end = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 34) inQuote = !inQuote;
    else if (ch === 10 && !inQuote) end = i + 1;
  }
  return end;
}

/** Records keyed by the header (empty fields as ""); a torn last record is dropped and `torn` says so. */
export function parseCsv(text: string): { header: string[]; rows: Record<string, string>[]; torn: boolean } {
  if (typeof text !== "string") throw new MlaArgumentError("parseCsv", "text", "a string", text);
  const valid = text.slice(0, completeLength(text));
  const torn = valid.length < text.length;
  if (valid.trim() === "") return { header: [], rows: [], torn };
  const t = aq().fromCSV(valid, { autoType: false });
  const header = t.columnNames();
  const rows = t.objects().map((o) => Object.fromEntries(header.map((h) => [h, o[h] ?? ""])));
  return { header, rows, torn };
}

export function readCsvFile(file: string): { header: string[]; rows: Record<string, string>[]; torn: boolean } {
  if (typeof file !== "string" || file === "") throw new MlaArgumentError("readCsvFile", "file", "a path", file);
  return parseCsv(fs.readFileSync(file, "utf8"));
}

/**
 * Append-only CSV log. Opening an existing file checks its header and cuts
 * off a torn last record; every append is followed by fsync.
 */
export class CsvAppender {
  private fd: number;
  readonly existing: Record<string, string>[];

  constructor(readonly file: string, readonly columns: readonly string[]) {
    if (typeof file !== "string" || file === "") throw new MlaArgumentError("CsvAppender", "file", "a path", file);
    if (!Array.isArray(columns) || columns.length === 0) throw new MlaArgumentError("CsvAppender", "columns", "a non-empty array", columns);
    this.existing = [];
    if (fs.existsSync(file) && fs.statSync(file).size > 0) {
      const text = fs.readFileSync(file, "utf8");
      const parsed = parseCsv(text);
      if (parsed.header.join(",") !== columns.join(",")) {
        throw new MlaArgumentError("CsvAppender", "file", `a CSV with header ${columns.join(",")} (move the old file away to start afresh)`, `${file} with header ${parsed.header.join(",")}`);
      }
      if (parsed.torn) fs.truncateSync(file, Buffer.byteLength(text.slice(0, completeLength(text)), "utf8"));
      this.existing = parsed.rows;
      this.fd = fs.openSync(file, "a");
    } else {
      this.fd = fs.openSync(file, "w");
      this.writeRaw(csvText(columns, []));
    }
  }

  private writeRaw(s: string): void {
    fs.writeSync(this.fd, s);
    fs.fsyncSync(this.fd);
  }

  append(row: Record<string, unknown>): void {
    if (this.fd < 0) throw new Error(`CsvAppender: ${this.file} already closed`);
    this.writeRaw(csvText(this.columns, [row], false));
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
