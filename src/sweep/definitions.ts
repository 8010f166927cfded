/**
 * Sweep definitions: versioned JSON files under data/sweeps/ (schema
 * "mla-sweep/1"), so the grid a figure was measured on is data under version
 * control, not a constant buried in code. This module validates a file and
 * expands it into concrete configurations.
 *
 * File format (every key checked; unknown keys are errors, to catch typos):
 * {
 *   "schema": "mla-sweep/1",
 *   "name": "flashmla-grid",            // [a-z0-9-], unique across files; the CSV's `sweep`
 *   "title": "...", "description": "...",
 *   "dtype": "bf16" | "fp16",
 *   "pageBlock": 64,                      // optional, default 64 (the kernels' page size)
 *   "seed": 0,                            // seed of the length generator (seqlens.ts)
 *   "trials": 5,                          // independent timings per config x implementation
 *   "timing": {"warmup": 5, "iters": 20}, // per trial: untimed calls, timed back-to-back calls
 *   "implementations": [
 *     {"impl": "ours", "kernelVersions": "auto" | "all" | "latest" | [0, 9, 10]},
 *     {"impl": "torch"}, {"impl": "flashmla"}
 *   ],
 *   "grids": [                            // union of cartesian products
 *     {"b": [128], "sQ": [1, 2], "hQ": [128], "hKv": [1],
 *      "meanSk": [4096], "skDist": ["normal"], "causal": "auto" | true | false}
 *   ],
 *   "quick": {"trials": 2, "only": {"meanSk": [4096]}}   // optional: --quick keeps matching configs only
 * }
 * "causal": "auto" means causal exactly when s_q > 1 (FlashMLA's benchmark);
 * with s_q = 1 the mask is a no-op, so causal is recorded as false there.
 *
 * "kernelVersions" of "ours": "auto" is the library's automatic choice
 * (kernel_version 0, what a caller gets by default; the row records the rung
 * it ran); "all" every rung of the build plus auto; "latest" the highest rung;
 * a list names versions, 0 being auto. "flashmla": FlashMLA measured side by
 * side with ours (auto) in one process on the same tensors
 * (baselines/torch_mla_decode.py), where `import flash_mla` works.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { MlaArgumentError } from "../errors";
import { SK_DISTS, SkDist } from "./seqlens";

export const SWEEP_SCHEMA = "mla-sweep/1";
export type Impl = "ours" | "torch" | "flashmla";
export const IMPLS: readonly Impl[] = ["ours", "torch", "flashmla"];
export type Dtype = "bf16" | "fp16";
export const DTYPES: readonly Dtype[] = ["bf16", "fp16"];

export type KernelSelection = "auto" | "latest" | "all" | number[];

/** kernel_version 0: the library picks the rung for the shape (mla_select_kernel). */
export const AUTO_KERNEL: Readonly<KernelVersionInfo> = Object.freeze({ version: 0, name: "auto" });

export interface ImplementationSpec {
  impl: Impl;
  /** only for "ours" */
  kernelVersions?: KernelSelection;
}

export interface GridSpec {
  b: number[];
  sQ: number[];
  hQ: number[];
  hKv: number[];
  meanSk: number[];
  skDist: SkDist[];
  causal: "auto" | boolean;
}

export interface SweepDefinition {
  schema: string;
  name: string;
  title: string;
  description: string;
  dtype: Dtype;
  pageBlock: number;
  seed: number;
  trials: number;
  timing: { warmup: number; iters: number };
  implementations: ImplementationSpec[];
  grids: GridSpec[];
  quick?: { trials?: number; only?: Partial<Record<GridField, (number | string)[]>> };
  /** where it was loaded from, and the file's sha256 (recorded in the run's provenance) */
  file: string;
  sha256: string;
}

export type GridField = "b" | "sQ" | "hQ" | "hKv" | "meanSk" | "skDist";
const GRID_FIELDS: readonly GridField[] = ["b", "sQ", "hQ", "hKv", "meanSk", "skDist"];

/** One point of a sweep. Everything a measurement needs except the lengths themselves. */
export interface SweepConfig {
  sweep: string;
  configId: string;
  dtype: Dtype;
  b: number;
  sQ: number;
  hQ: number;
  hKv: number;
  meanSk: number;
  skDist: SkDist;
  seed: number;
  causal: boolean;
  pageBlock: number;
  warmup: number;
  iters: number;
}

/** A definition file is wrong: says which file and which field. */
export class SweepDefinitionError extends MlaArgumentError {
  readonly file: string;
  readonly field: string;

  constructor(file: string, field: string, expected: string, actual: unknown) {
    super("loadSweepDefinition", field, expected, actual);
    this.name = "SweepDefinitionError";
    this.file = file;
    this.field = field;
    this.message = `${file}: field '${field}' must be ${expected}, got ${this.actual}`;
  }
}

type Obj = Record<string, unknown>;

/** Field-by-field checks of parsed JSON; a failure throws SweepDefinitionError naming the file and the field. */
export class Checker {
  constructor(readonly file: string) {}

  fail(field: string, expected: string, actual: unknown): never {
    throw new SweepDefinitionError(this.file, field, expected, actual);
  }

  obj(field: string, v: unknown, allowed: readonly string[]): Obj {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(field, "an object", v);
    for (const k of Object.keys(v as Obj)) {
      if (!allowed.includes(k)) this.fail(field === "" ? k : `${field}.${k}`, `absent (unknown key; allowed: ${allowed.join(", ")})`, k);
    }
    return v as Obj;
  }

  str(field: string, v: unknown, re?: RegExp, what = "a string"): string {
    if (typeof v !== "string" || (re && !re.test(v))) this.fail(field, what, v);
    return v as string;
  }

  int(field: string, v: unknown, lo: number, hi: number): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) this.fail(field, `an integer in [${lo}, ${hi}]`, v);
    return v as number;
  }

  intList(field: string, v: unknown, lo: number, hi: number): number[] {
    if (!Array.isArray(v) || v.length === 0) this.fail(field, "a non-empty array of integers", v);
    return (v as unknown[]).map((x, i) => this.int(`${field}[${i}]`, x, lo, hi));
  }

  oneOf<T extends string>(field: string, v: unknown, options: readonly T[]): T {
    if (typeof v !== "string" || !options.includes(v as T)) this.fail(field, `one of ${options.map((o) => JSON.stringify(o)).join(", ")}`, v);
    return v as T;
  }
}

/** Validates parsed JSON; `file` is only used in messages. */
export function parseSweepDefinition(json: unknown, file: string, sha256 = ""): SweepDefinition {
  if (typeof file !== "string" || file === "") throw new MlaArgumentError("parseSweepDefinition", "file", "a non-empty string", file);
  const c = new Checker(file);
  const top = c.obj("", json, ["schema", "name", "title", "description", "dtype", "pageBlock", "seed", "trials", "timing", "implementations", "grids", "quick", "$comment"]);
  if (top.schema !== SWEEP_SCHEMA) c.fail("schema", JSON.stringify(SWEEP_SCHEMA), top.schema);
  const name = c.str("name", top.name, /^[a-z0-9][a-z0-9-]{0,63}$/, "a name of [a-z0-9-] (at most 64)");
  const title = top.title === undefined ? name : c.str("title", top.title);
  const description = top.description === undefined ? "" : c.str("description", top.description);
  const dtype = c.oneOf("dtype", top.dtype, DTYPES);
  const pageBlock = top.pageBlock === undefined ? 64 : c.int("pageBlock", top.pageBlock, 1, 4096);
  const seed = c.int("seed", top.seed, 0, 2 ** 32 - 1);
  const trials = c.int("trials", top.trials, 1, 1000);
  const t = c.obj("timing", top.timing, ["warmup", "iters"]);
  const timing = { warmup: c.int("timing.warmup", t.warmup, 0, 100000), iters: c.int("timing.iters", t.iters, 1, 100000) };

  if (!Array.isArray(top.implementations) || top.implementations.length === 0) c.fail("implementations", "a non-empty array", top.implementations);
  const seenImpl = new Set<string>();
  const implementations = (top.implementations as unknown[]).map((x, i) => {
    const f = `implementations[${i}]`;
    const o = c.obj(f, x, ["impl", "kernelVersions"]);
    const impl = c.oneOf(`${f}.impl`, o.impl, IMPLS);
    if (seenImpl.has(impl)) c.fail(`${f}.impl`, "listed once", impl);
    seenImpl.add(impl);
    const spec: ImplementationSpec = { impl };
    if (impl === "ours") {
      const kv = o.kernelVersions;
      if (kv === "auto" || kv === "latest" || kv === "all") spec.kernelVersions = kv;
      else if (Array.isArray(kv)) spec.kernelVersions = c.intList(`${f}.kernelVersions`, kv, 0, 1000);
      else c.fail(`${f}.kernelVersions`, '"auto", "all", "latest" or a non-empty array of version numbers (0 = auto)', kv);
    } else if (o.kernelVersions !== undefined) {
      c.fail(`${f}.kernelVersions`, `absent for impl "${impl}"`, o.kernelVersions);
    }
    return spec;
  });

  if (!Array.isArray(top.grids) || top.grids.length === 0) c.fail("grids", "a non-empty array", top.grids);
  const grids = (top.grids as unknown[]).map((x, i): GridSpec => {
    const f = `grids[${i}]`;
    const o = c.obj(f, x, [...GRID_FIELDS, "causal"]);
    const g: GridSpec = {
      b: c.intList(`${f}.b`, o.b, 1, 1 << 16),
      sQ: c.intList(`${f}.sQ`, o.sQ, 1, 64),
      hQ: c.intList(`${f}.hQ`, o.hQ, 1, 1024),
      hKv: c.intList(`${f}.hKv`, o.hKv, 1, 1024),
      meanSk: c.intList(`${f}.meanSk`, o.meanSk, 1, 1 << 24),
      skDist: (() => {
        if (!Array.isArray(o.skDist) || o.skDist.length === 0) c.fail(`${f}.skDist`, "a non-empty array", o.skDist);
        return (o.skDist as unknown[]).map((d, j) => c.oneOf(`${f}.skDist[${j}]`, d, SK_DISTS));
      })(),
      causal: o.causal === "auto" || o.causal === true || o.causal === false ? (o.causal as GridSpec["causal"]) : c.fail(`${f}.causal`, '"auto", true or false', o.causal),
    };
    for (const hq of g.hQ) for (const hkv of g.hKv) if (hq % hkv !== 0) c.fail(`${f}.hQ`, `divisible by every hKv (${hkv})`, hq);
    for (const sk of g.meanSk) for (const sq of g.sQ) if (sk < sq) c.fail(`${f}.meanSk`, `>= every sQ (${sq})`, sk);
    return g;
  });

  let quick: SweepDefinition["quick"];
  if (top.quick !== undefined) {
    const q = c.obj("quick", top.quick, ["trials", "only"]);
    quick = {};
    if (q.trials !== undefined) quick.trials = c.int("quick.trials", q.trials, 1, trials);
    if (q.only !== undefined) {
      const only = c.obj("quick.only", q.only, GRID_FIELDS);
      quick.only = {};
      for (const [k, v] of Object.entries(only)) {
        if (!Array.isArray(v) || v.length === 0) c.fail(`quick.only.${k}`, "a non-empty array", v);
        quick.only[k as GridField] = v as (number | string)[];
      }
    }
  }
  const def: SweepDefinition = { schema: SWEEP_SCHEMA, name, title, description, dtype, pageBlock, seed, trials, timing, implementations, grids, quick, file, sha256 };
  if (expandConfigs(def, false).length === 0) c.fail("grids", "at least one configuration", 0);
  if (quick?.only && expandConfigs(def, true).length === 0) c.fail("quick.only", "a filter that keeps at least one configuration", JSON.stringify(quick.only));
  return def;
}

/** A JSON file's parsed content and the sha256 of its bytes; an unreadable file or invalid JSON is an error naming it. */
export function readJsonFile(fn: string, file: string, what: string): { json: unknown; sha256: string } {
  if (typeof file !== "string" || file === "") throw new MlaArgumentError(fn, "file", `a path to ${what}`, file);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new MlaArgumentError(fn, "file", `a readable file (${what})`, `${file} (${(e as Error).message})`);
  }
  try {
    return { json: JSON.parse(text), sha256: crypto.createHash("sha256").update(text).digest("hex") };
  } catch (e) {
    throw new SweepDefinitionError(file, "(file)", "valid JSON", (e as Error).message);
  }
}

/** Reads and validates one file. */
export function loadSweepDefinition(file: string): SweepDefinition {
  const { json, sha256 } = readJsonFile("loadSweepDefinition", file, "a sweep .json file");
  return parseSweepDefinition(json, file, sha256);
}

/** Every *.json in a folder, sorted by file name; sweep names must be unique. */
export function loadSweepDirectory(dir: string): SweepDefinition[] {
  if (typeof dir !== "string" || dir === "") throw new MlaArgumentError("loadSweepDirectory", "dir", "a folder path", dir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new MlaArgumentError("loadSweepDirectory", "dir", "an existing folder", dir);
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => path.join(dir, f));
  if (files.length === 0) throw new MlaArgumentError("loadSweepDirectory", "dir", "a folder with at least one .json sweep file", dir);
  return checkUniqueNames(files.map(loadSweepDefinition));
}

export function checkUniqueNames(defs: SweepDefinition[]): SweepDefinition[] {
  if (!Array.isArray(defs)) throw new MlaArgumentError("checkUniqueNames", "defs", "an array of SweepDefinition", defs);
  const seen = new Map<string, string>();
  for (const d of defs) {
    const prev = seen.get(d.name);
    if (prev !== undefined) throw new SweepDefinitionError(d.file, "name", `unique across sweep files (also used by ${prev})`, d.name);
    seen.set(d.name, d.file);
  }
  return defs;
}

/** Stable, readable id of a configuration within its sweep; the resume key relies on it. */
export function configId(c: Omit<SweepConfig, "configId" | "sweep" | "warmup" | "iters" | "pageBlock" | "dtype">): string {
  return `b${c.b}-sq${c.sQ}-hq${c.hQ}-hkv${c.hKv}-sk${c.meanSk}-${c.skDist}-seed${c.seed}${c.causal ? "-causal" : ""}`;
}

/**
 * Expands the grids into configurations, in file order, duplicates removed.
 * With `quick`, only configurations matching every list of quick.only.
 */
export function expandConfigs(def: SweepDefinition, quick = false): SweepConfig[] {
  if (typeof def !== "object" || def === null || !Array.isArray(def.grids)) throw new MlaArgumentError("expandConfigs", "def", "a SweepDefinition", def);
  if (typeof quick !== "boolean") throw new MlaArgumentError("expandConfigs", "quick", "a boolean", quick);
  const out: SweepConfig[] = [];
  const seen = new Set<string>();
  for (const g of def.grids) {
    for (const b of g.b)
      for (const sQ of g.sQ)
        for (const hQ of g.hQ)
          for (const hKv of g.hKv)
            for (const meanSk of g.meanSk)
              for (const skDist of g.skDist) {
                const causal = g.causal === "auto" ? sQ > 1 : g.causal && sQ > 1;
                const base = { b, sQ, hQ, hKv, meanSk, skDist, seed: def.seed, causal };
                const id = configId(base);
                if (seen.has(id)) continue;
                if (quick && def.quick?.only) {
                  const keep = Object.entries(def.quick.only).every(([k, vals]) => (vals as unknown[]).includes((base as Record<string, unknown>)[k]));
                  if (!keep) continue;
                }
                seen.add(id);
                out.push({ sweep: def.name, configId: id, dtype: def.dtype, pageBlock: def.pageBlock, warmup: def.timing.warmup, iters: def.timing.iters, ...base });
              }
  }
  return out;
}

export function trialsFor(def: SweepDefinition, quick: boolean): number {
  if (typeof def !== "object" || def === null) throw new MlaArgumentError("trialsFor", "def", "a SweepDefinition", def);
  return quick ? (def.quick?.trials ?? def.trials) : def.trials;
}

export interface KernelVersionInfo {
  version: number;
  name: string;
}

/**
 * Kernel versions to run for "ours", given the rungs a build has (1..MAX, from
 * mla_kernel_name): "auto" = the automatic choice (version 0), "all" = every
 * rung then auto, "latest" = the highest rung, a list = those, 0 being auto (an
 * unavailable one is kept, named "unknown", so the run records the error).
 */
export function resolveKernelVersions(sel: KernelSelection, available: KernelVersionInfo[]): KernelVersionInfo[] {
  if (!Array.isArray(available)) throw new MlaArgumentError("resolveKernelVersions", "available", "an array of {version, name}", available);
  const sorted = available.filter((k) => k.version !== AUTO_KERNEL.version).sort((a, b) => a.version - b.version);
  const auto = { ...AUTO_KERNEL };
  if (sel === "auto") return [auto];
  if (sel === "all") return [...sorted, auto];
  if (sel === "latest") return sorted.length ? [sorted[sorted.length - 1]] : [];
  if (!Array.isArray(sel)) throw new MlaArgumentError("resolveKernelVersions", "sel", '"auto", "all", "latest" or an array of versions', sel);
  return sel.map((v) => (v === AUTO_KERNEL.version ? { ...auto } : sorted.find((k) => k.version === v) ?? { version: v, name: "unknown" }));
}
