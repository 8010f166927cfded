/**
 * Turns the Python baseline's raw measurements into results CSV rows.
 *
 * baselines/torch_mla_decode.py reads the plan, times the calls and appends
 * one JSON object a line (fsync'ed, so a crash loses at most the line in
 * flight) to <run>/raw-torch.jsonl (PyTorch alone) and
 * <run>/raw-sidebyside.jsonl (FlashMLA and ours (auto), interleaved per trial):
 *   {"sweep": "flashmla-grid", "configId": "b128-...", "impl": "torch", "kernelVersion": "",
 *    "rung": "", "kernelName": "torch 2.5.1", "timing": "events", "trial": 0, "us": 4528.62,
 *    "status": "ok", "error": "", "startedAt": "2026-11-21T23:50:38.511292+00:00",
 *    "outRelDiff": null, "lseRelDiff": null}
 *   {"sweep": "flashmla-bench", "configId": "b1-...", "impl": "ours", "kernelVersion": 0, "rung": 9,
 *    "kernelName": "lazy", "timing": "graph", "trial": 0, "us": 41.2, "status": "ok", "error": "",
 *    "startedAt": "...", "outRelDiff": 0.0021, "lseRelDiff": 1.3e-7}
 * Fields as the results CSV's columns (csv.ts RESULT_COLUMNS): kernelVersion
 * asked for (0 auto; "" a baseline), rung ran, kernelName of the rung that ran
 * (or library and version of a baseline), timing "events" (CUDA events around
 * eager calls) or "graph" (around a CUDA-graph replay), outRelDiff and
 * lseRelDiff on ours's side-by-side rows (null where not compared); "us": null
 * and status "error" with a message when a trial failed. rung, timing,
 * outRelDiff and lseRelDiff may be absent (logs written before they existed:
 * "", "events", null, null). Here each record is joined with its
 * configuration in the plan and written as the same row our runner writes
 * (runner.ts trialColumns/timedColumns: same columns, same FLOP and byte
 * counts, same rounding) to <run>/results-<name>.csv, rewritten whole from
 * the raw log each time. A later record of the same trial supersedes an
 * earlier one when the run is loaded (aggregate.ts latestPerKey).
 */
import * as fs from "fs";
import * as path from "path";
import { MlaArgumentError } from "../errors";
import { csvText, RESULT_COLUMNS, TIMINGS, Timing } from "./csv";
import { IMPLS } from "./definitions";
import { PlanConfig, SweepPlan } from "./plan";
import { timedColumns, trialColumns } from "./runner";

export interface RawMeasurement {
  sweep: string;
  configId: string;
  impl: string;
  /** asked for: 0 auto, a rung; "" for the baselines */
  kernelVersion: number | "";
  /** ran; "" unknown or a baseline */
  rung: number | "";
  kernelName: string;
  timing: Timing;
  trial: number;
  /** microseconds per call; null when the trial failed */
  us: number | null;
  status: "ok" | "error";
  error: string;
  startedAt: string;
  /** side by side, ours: max |ours - FlashMLA| / max |FlashMLA| of the output and the log-sum-exp; null where not compared */
  outRelDiff: number | null;
  lseRelDiff: number | null;
}

/** The records of a raw log; a last line without its newline (a crash mid-write) is left out and `torn` says so. */
export function parseRawLog(text: string, file: string): { records: RawMeasurement[]; torn: boolean } {
  if (typeof text !== "string") throw new MlaArgumentError("parseRawLog", "text", "a string", text);
  const end = text.lastIndexOf("\n") + 1;
  const records: RawMeasurement[] = [];
  text
    .slice(0, end)
    .split("\n")
    .forEach((line, i) => {
      if (line.trim() === "") return;
      const where = `${file} line ${i + 1}`;
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(line);
      } catch (e) {
        throw new MlaArgumentError("parseRawLog", "text", "one JSON object a line", `${where}: ${(e as Error).message}`);
      }
      const bad = (field: string, expected: string): never => {
        throw new MlaArgumentError("parseRawLog", "text", `records whose ${field} is ${expected}`, `${where}: ${JSON.stringify(r[field])}`);
      };
      for (const k of ["sweep", "configId", "kernelName", "startedAt"]) if (typeof r[k] !== "string" || r[k] === "") bad(k, "a non-empty string");
      if (!IMPLS.includes(r.impl as never)) bad("impl", `one of ${IMPLS.join(", ")}`);
      if (!Number.isInteger(r.trial) || (r.trial as number) < 0) bad("trial", "an integer >= 0");
      for (const k of ["kernelVersion", "rung"]) if (r[k] !== "" && r[k] !== undefined && !(Number.isInteger(r[k]) && (r[k] as number) >= 0)) bad(k, '"" or a version number');
      if (r.timing !== undefined && !TIMINGS.includes(r.timing as never)) bad("timing", `one of ${TIMINGS.join(", ")}`);
      if (r.status !== "ok" && r.status !== "error") bad("status", '"ok" or "error"');
      if (r.us !== null && r.us !== undefined && typeof r.us !== "number") bad("us", "a number or null");
      for (const k of ["outRelDiff", "lseRelDiff"]) if (r[k] !== null && r[k] !== undefined && !(typeof r[k] === "number" && (r[k] as number) >= 0)) bad(k, "a number >= 0 or null");
      records.push({
        ...(r as unknown as RawMeasurement),
        kernelVersion: (r.kernelVersion as number | undefined) ?? "",
        rung: (r.rung as number | undefined) ?? "",
        timing: (r.timing as Timing | undefined) ?? "events",
        us: (r.us as number | undefined) ?? null,
        error: typeof r.error === "string" ? r.error : "",
        outRelDiff: (r.outRelDiff as number | undefined) ?? null,
        lseRelDiff: (r.lseRelDiff as number | undefined) ?? null,
      });
    });
  return { records, torn: end < text.length };
}

/** One results row per raw record, in order; a record whose configuration the plan lacks is an error naming it. */
export function rawToRows(plan: SweepPlan, records: RawMeasurement[], file = "raw log"): Record<string, unknown>[] {
  if (typeof plan !== "object" || plan === null || !Array.isArray(plan.configs)) throw new MlaArgumentError("rawToRows", "plan", "a SweepPlan", plan);
  if (!Array.isArray(records)) throw new MlaArgumentError("rawToRows", "records", "an array of RawMeasurement", records);
  const byId = new Map<string, PlanConfig>(plan.configs.map((c) => [`${c.sweep}|${c.configId}`, c]));
  return records.map((r) => {
    const c = byId.get(`${r.sweep}|${r.configId}`);
    if (!c) throw new MlaArgumentError("rawToRows", "records", `configurations of the plan${plan.file ? ` ${plan.file}` : ""} (a plan written for fewer sweeps or quick mode? pass the plan the baseline ran)`, `${file}: ${r.sweep}/${r.configId}`);
    const base = { ...trialColumns(c, r, r.trial), startedAt: r.startedAt };
    const check = { outRelDiff: r.outRelDiff ?? "", lseRelDiff: r.lseRelDiff ?? "" };
    if (r.status === "ok" && typeof r.us === "number" && Number.isFinite(r.us) && r.us > 0) return { ...base, ...timedColumns(c, r.us), ...check };
    const error = r.status === "ok" ? `raw measurement without a positive time (us ${JSON.stringify(r.us)})` : r.error;
    return { ...base, status: "error", error };
  });
}

/** Every <dir>/raw-<name>.jsonl to <dir>/results-<name>.csv (written atomically); returns what was written. */
export function ingestRawLogs(dir: string, plan: SweepPlan): { raw: string; csv: string; rows: number; errors: number; torn: boolean }[] {
  if (typeof dir !== "string" || dir === "" || !fs.existsSync(dir)) throw new MlaArgumentError("ingestRawLogs", "dir", "an existing run folder", dir);
  const out = [];
  for (const f of fs.readdirSync(dir).filter((x) => /^raw-[a-z0-9-]+\.jsonl$/.test(x)).sort()) {
    const rawPath = path.join(dir, f);
    const { records, torn } = parseRawLog(fs.readFileSync(rawPath, "utf8"), rawPath);
    const rows = rawToRows(plan, records, rawPath);
    const csv = path.join(dir, f.replace(/^raw-/, "results-").replace(/\.jsonl$/, ".csv"));
    const tmp = `${csv}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, csvText(RESULT_COLUMNS, rows));
    fs.renameSync(tmp, csv);
    out.push({ raw: rawPath, csv, rows: rows.length, errors: rows.filter((r) => r.status !== "ok").length, torn });
  }
  return out;
}
