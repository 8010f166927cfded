/**
 * The tidy results CSV: one row per configuration x implementation x trial,
 * RFC 4180 quoting, written row by row with an fsync after each so that a
 * crash or a killed job loses at most the row in flight.
 */
import * as fs from "fs";
import { MlaArgumentError } from "../errors";

/** Column order of results*.csv (the Python baseline writes the same). */
export const RESULT_COLUMNS = [
  "sweep",
  "config_id",
  "impl",
  "kernel_version",
  "kernel_name",
  "dtype",
  "b",
  "s_q",
  "h_q",
  "h_kv",
  "mean_sk",
  "sk_dist",
  "seed",
  "causal",
  "actual_mean_sk",
  "max_sk",
  "page_block",
  "warmup",
  "iters",
  "trial",
  "us",
  "gbps",
  "tflops",
  "status",
  "error",
  "started_at",
] as const;
export type ResultColumn = (typeof RESULT_COLUMNS)[number];
export type ResultRow = Record<ResultColumn, string | number | boolean>;

/** Columns of ceilings.csv: device probes measured in the same session as the sweeps. */
export const CEILING_COLUMNS = ["kind", "name", "trial", "value", "unit", "method", "status", "error", "started_at"] as const;
export type CeilingColumn = (typeof CEILING_COLUMNS)[number];

/** Identity of a row for resuming: what was measured, not what came out. */
export function resultKey(r: { sweep: unknown; config_id: unknown; impl: unknown; kernel_version: unknown; trial: unknown }): string {
  if (typeof r !== "object" || r === null) throw new MlaArgumentError("resultKey", "r", "a result row", r);
  return [r.sweep, r.config_id, r.impl, r.kernel_version, r.trial].map((v) => String(v)).join("|");
}

export function csvField(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return "";
    return String(v);
  }
  const s = typeof v === "string" ? v : String(v);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(columns: readonly string[], row: Record<string, unknown>): string {
  if (!Array.isArray(columns)) throw new MlaArgumentError("csvLine", "columns", "an array of column names", columns);
  if (typeof row !== "object" || row === null) throw new MlaArgumentError("csvLine", "row", "an object", row);
  return columns.map((c) => csvField(row[c])).join(",") + "\n";
}

/**
 * Parses RFC 4180 text into records keyed by the header. A final line with no
 * newline is treated as torn (a crash mid-write) and dropped: `torn` says so.
 */
export function parseCsv(text: string): { header: string[]; rows: Record<string, string>[]; torn: boolean; validLength: number } {
  if (typeof text !== "string") throw new MlaArgumentError("parseCsv", "text", "a string", text);
  const records: string[][] = [];
  let field = "";
  let rec: string[] = [];
  let inQuotes = false;
  let lastRecordEnd = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
      } else field += ch;
      i++;
      continue;
    }
    if (ch === '"') inQuotes = true;
    else if (ch === ",") {
      rec.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      rec.push(field);
      field = "";
      records.push(rec);
      rec = [];
      if (ch === "\r" && text[i + 1] === "\n") i++;
      lastRecordEnd = i + 1;
    } else field += ch;
    i++;
  }
  const torn = lastRecordEnd < text.length;
  const nonEmpty = records.filter((r) => !(r.length === 1 && r[0] === ""));
  if (nonEmpty.length === 0) return { header: [], rows: [], torn, validLength: lastRecordEnd };
  const header = nonEmpty[0];
  const rows = nonEmpty.slice(1).map((r) => {
    const o: Record<string, string> = {};
    header.forEach((h, k) => (o[h] = r[k] ?? ""));
    return o;
  });
  return { header, rows, torn, validLength: lastRecordEnd };
}

export function readCsvFile(file: string): { header: string[]; rows: Record<string, string>[]; torn: boolean } {
  if (typeof file !== "string" || file === "") throw new MlaArgumentError("readCsvFile", "file", "a path", file);
  return parseCsv(fs.readFileSync(file, "utf8"));
}

/**
 * Append-only CSV writer. Opening an existing file checks its header and cuts
 * off a torn last line; every append is followed by fsync.
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
      if (parsed.torn) fs.truncateSync(file, Buffer.byteLength(text.slice(0, parsed.validLength), "utf8"));
      this.existing = parsed.rows;
      this.fd = fs.openSync(file, "a");
    } else {
      this.fd = fs.openSync(file, "w");
      this.writeRaw(columns.join(",") + "\n");
    }
  }

  private writeRaw(s: string): void {
    fs.writeSync(this.fd, s);
    fs.fsyncSync(this.fd);
  }

  append(row: Record<string, unknown>): void {
    if (this.fd < 0) throw new Error(`CsvAppender: ${this.file} already closed`);
    this.writeRaw(csvLine(this.columns, row));
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
