/**
 * The plan: every configuration a run measures, fully expanded, in one JSON
 * file that both measuring programs read, so that neither re-derives it. The
 * GPU runner (runner.ts, through `sweep/cli.js run`, which leaves it in the
 * run folder as plan.json) and the Python baseline
 * (baselines/torch_mla_decode.py) take from it the shapes, the per-request
 * cache lengths, the seeds, the timing, the FLOP and byte counts and which
 * implementations to run; `sweep/cli.js ingest` takes from it the columns of
 * the baseline's CSV rows.
 *
 * File format (schema "mla-plan/1"; one configuration a line):
 * {
 *   "schema": "mla-plan/1",
 *   "quick": false,                       // expanded with the sweeps' quick filters
 *   "sweeps": [{"name": "flashmla-grid", "file": "data/sweeps/a-flashmla-grid.json", "sha256": "..."}],
 *   "configs": [
 *     {"sweep": "flashmla-grid", "configId": "b128-sq1-hq128-hkv1-sk4096-normal-seed0",
 *      "dtype": "bf16", "b": 128, "sQ": 1, "hQ": 128, "hKv": 1, "meanSk": 4096, "skDist": "normal",
 *      "seed": 0, "causal": false, "pageBlock": 64, "warmup": 5, "iters": 30, "trials": 5,
 *      "seqlens": [602, 4676, ...],          // b cache lengths (seqlens.ts), what is measured
 *      "actualMeanSk": 4147.140625, "maxSk": 8904,
 *      "flops": ..., "bytes": ...,           // one decode step (roofline/accounting.ts, on actualMeanSk)
 *      "implementations": [{"impl": "ours", "kernelVersions": "auto"}, {"impl": "torch"}, {"impl": "flashmla"}]}
 *   ]
 * }
 * "kernelVersions" stays a selection ("auto", "all", [0, 9, 10]): which kernels a
 * build has is known only where it runs (resolvePlan). The Python baseline
 * measures "torch" alone and "flashmla" side by side with ours (auto).
 */
import * as fs from "fs";
import * as path from "path";
import { MlaArgumentError } from "../errors";
import { decodeBytes, decodeFlops } from "../roofline/accounting";
import { Checker, DTYPES, expandConfigs, Impl, ImplementationSpec, IMPLS, KernelVersionInfo, readJsonFile, resolveKernelVersions, SweepConfig, SweepDefinition, trialsFor } from "./definitions";
import { generateSeqlens, seqlenStats, SK_DISTS } from "./seqlens";

export const PLAN_SCHEMA = "mla-plan/1";

/** One configuration of the plan, as written to the file. */
export interface PlanConfig extends SweepConfig {
  trials: number;
  /** per-request cache lengths, length b */
  seqlens: number[];
  /** mean of seqlens: what the FLOP and byte counts use */
  actualMeanSk: number;
  maxSk: number;
  /** FLOP of one decode step */
  flops: number;
  /** bytes of one decode step */
  bytes: number;
  implementations: ImplementationSpec[];
}

export interface SweepPlan {
  schema: typeof PLAN_SCHEMA;
  quick: boolean;
  /** the sweep files expanded (file relative to the project root when it lies inside it) */
  sweeps: { name: string; file: string; sha256: string }[];
  configs: PlanConfig[];
  /** where the plan was read from and the file's sha256 (not written) */
  file?: string;
  sha256?: string;
}

/** A configuration as the runner measures it: the plan's, with the lengths as an Int32Array. */
export interface RunConfig extends Omit<PlanConfig, "seqlens" | "implementations" | "trials"> {
  seqlens: Int32Array;
}

export interface ImplRun {
  impl: Impl;
  /** kernel version asked for, for "ours" (0: the automatic choice); undefined otherwise */
  kernelVersion?: number;
  /** kernel name for "ours" (mla_kernel_name: "auto" for 0), library version for baselines */
  kernelName: string;
}

/** What this process measures of one configuration. */
export interface PlannedConfig {
  cfg: RunConfig;
  impls: ImplRun[];
  trials: number;
}

/** Expands the sweeps (all, or those named in `only`) into the plan: lengths drawn, FLOP and bytes counted. */
export function buildPlan(defs: SweepDefinition[], o: { quick?: boolean; only?: string[]; root?: string } = {}): SweepPlan {
  const fn = "buildPlan";
  if (!Array.isArray(defs) || defs.length === 0) throw new MlaArgumentError(fn, "defs", "a non-empty array of SweepDefinition", defs);
  if (typeof o !== "object" || o === null) throw new MlaArgumentError(fn, "o", "an object", o);
  if (o.only !== undefined) {
    if (!Array.isArray(o.only)) throw new MlaArgumentError(fn, "o.only", "an array of sweep names", o.only);
    for (const n of o.only) if (!defs.some((d) => d.name === n)) throw new MlaArgumentError(fn, "o.only", `names among ${defs.map((d) => d.name).join(", ")}`, n);
  }
  const quick = o.quick ?? false;
  const chosen = defs.filter((d) => !o.only || o.only.includes(d.name));
  const configs: PlanConfig[] = [];
  for (const def of chosen) {
    for (const c of expandConfigs(def, quick)) {
      const lens = generateSeqlens({ b: c.b, sQ: c.sQ, meanSk: c.meanSk, dist: c.skDist, seed: c.seed });
      const st = seqlenStats(lens);
      const shape = { b: c.b, sQ: c.sQ, hQ: c.hQ, hKv: c.hKv, meanSk: st.mean };
      configs.push({
        ...c,
        trials: trialsFor(def, quick),
        seqlens: Array.from(lens),
        actualMeanSk: st.mean,
        maxSk: st.max,
        flops: decodeFlops(shape),
        bytes: decodeBytes(shape),
        implementations: def.implementations.map((s) => ({ ...s })),
      });
    }
  }
  const rel = (f: string): string => {
    const r = path.relative(o.root ?? process.cwd(), path.resolve(f));
    return r.startsWith("..") || path.isAbsolute(r) ? path.resolve(f) : r.split(path.sep).join("/");
  };
  return { schema: PLAN_SCHEMA, quick, sweeps: chosen.map((d) => ({ name: d.name, file: rel(d.file), sha256: d.sha256 })), configs };
}

/** A configuration's keys in the file, in this order. */
const CONFIG_KEYS = ["sweep", "configId", "dtype", "b", "sQ", "hQ", "hKv", "meanSk", "skDist", "seed", "causal", "pageBlock", "warmup", "iters", "trials", "seqlens", "actualMeanSk", "maxSk", "flops", "bytes", "implementations"];

/** The plan's JSON text: readable at the top, one configuration a line. */
export function planText(plan: SweepPlan): string {
  if (typeof plan !== "object" || plan === null || !Array.isArray(plan.configs)) throw new MlaArgumentError("planText", "plan", "a SweepPlan", plan);
  const head = { schema: plan.schema, quick: plan.quick, sweeps: plan.sweeps };
  const lines = plan.configs.map((c) => "    " + JSON.stringify(c, [...CONFIG_KEYS, "impl", "kernelVersions"]));
  return `${JSON.stringify(head, null, 2).slice(0, -2)},\n  "configs": [\n${lines.join(",\n")}\n  ]\n}\n`;
}

/** Writes the plan atomically (a reader never sees half a file). */
export function writePlan(file: string, plan: SweepPlan): void {
  if (typeof file !== "string" || file === "") throw new MlaArgumentError("writePlan", "file", "a path", file);
  const text = planText(plan);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Validates a parsed plan; `file` is only used in messages. */
export function parsePlan(json: unknown, file: string): SweepPlan {
  const c = new Checker(file);
  const top = c.obj("", json, ["schema", "quick", "sweeps", "configs"]);
  if (top.schema !== PLAN_SCHEMA) c.fail("schema", JSON.stringify(PLAN_SCHEMA), top.schema);
  if (typeof top.quick !== "boolean") c.fail("quick", "true or false", top.quick);
  if (!Array.isArray(top.sweeps)) c.fail("sweeps", "an array", top.sweeps);
  const sweeps = (top.sweeps as unknown[]).map((s, i) => {
    const o = c.obj(`sweeps[${i}]`, s, ["name", "file", "sha256"]);
    return { name: c.str(`sweeps[${i}].name`, o.name), file: c.str(`sweeps[${i}].file`, o.file), sha256: c.str(`sweeps[${i}].sha256`, o.sha256) };
  });
  if (!Array.isArray(top.configs) || top.configs.length === 0) c.fail("configs", "a non-empty array", top.configs);
  const keys = CONFIG_KEYS;
  const seen = new Set<string>();
  const configs = (top.configs as unknown[]).map((x, i): PlanConfig => {
    const f = `configs[${i}]`;
    const o = c.obj(f, x, keys);
    for (const k of keys) if (o[k] === undefined) c.fail(`${f}.${k}`, "present", undefined);
    const num = (k: string): number => (typeof o[k] === "number" && Number.isFinite(o[k]) && (o[k] as number) >= 0 ? (o[k] as number) : c.fail(`${f}.${k}`, "a finite number >= 0", o[k]));
    const b = c.int(`${f}.b`, o.b, 1, 1 << 20);
    const seqlens = c.intList(`${f}.seqlens`, o.seqlens, 0, 2 ** 31 - 1);
    if (seqlens.length !== b) c.fail(`${f}.seqlens`, `${b} lengths (one per request)`, `${seqlens.length} lengths`);
    if (!Array.isArray(o.implementations) || o.implementations.length === 0) c.fail(`${f}.implementations`, "a non-empty array", o.implementations);
    const implementations = (o.implementations as unknown[]).map((s, j) => {
      const io = c.obj(`${f}.implementations[${j}]`, s, ["impl", "kernelVersions"]);
      return { ...io, impl: c.oneOf(`${f}.implementations[${j}].impl`, io.impl, IMPLS) } as ImplementationSpec;
    });
    const cfg: PlanConfig = {
      sweep: c.str(`${f}.sweep`, o.sweep),
      configId: c.str(`${f}.configId`, o.configId),
      dtype: c.oneOf(`${f}.dtype`, o.dtype, DTYPES),
      b,
      sQ: c.int(`${f}.sQ`, o.sQ, 1, 64),
      hQ: c.int(`${f}.hQ`, o.hQ, 1, 1024),
      hKv: c.int(`${f}.hKv`, o.hKv, 1, 1024),
      meanSk: c.int(`${f}.meanSk`, o.meanSk, 1, 1 << 24),
      skDist: c.oneOf(`${f}.skDist`, o.skDist, SK_DISTS),
      seed: c.int(`${f}.seed`, o.seed, 0, 2 ** 32 - 1),
      causal: typeof o.causal === "boolean" ? o.causal : c.fail(`${f}.causal`, "true or false", o.causal),
      pageBlock: c.int(`${f}.pageBlock`, o.pageBlock, 1, 4096),
      warmup: c.int(`${f}.warmup`, o.warmup, 0, 100000),
      iters: c.int(`${f}.iters`, o.iters, 1, 100000),
      trials: c.int(`${f}.trials`, o.trials, 1, 1000),
      seqlens,
      actualMeanSk: num("actualMeanSk"),
      maxSk: c.int(`${f}.maxSk`, o.maxSk, 0, 2 ** 31 - 1),
      flops: num("flops"),
      bytes: num("bytes"),
      implementations,
    };
    const key = `${cfg.sweep}|${cfg.configId}`;
    if (seen.has(key)) c.fail(`${f}.configId`, "unique within its sweep", key);
    seen.add(key);
    return cfg;
  });
  return { schema: PLAN_SCHEMA, quick: top.quick as boolean, sweeps, configs };
}

/** Reads and validates a plan file. */
export function readPlan(file: string): SweepPlan {
  const { json, sha256 } = readJsonFile("readPlan", file, "a plan; node dist/src/sweep/cli.js plan --out FILE writes one");
  return { ...parsePlan(json, file), file, sha256 };
}

/**
 * What this process measures: of every configuration, the implementations
 * among `impls` that its sweep lists, "ours" resolved against the kernel
 * versions this build has. Configurations with none are left out.
 */
export function resolvePlan(plan: SweepPlan, o: { impls?: Impl[]; kernelVersions: KernelVersionInfo[] }): PlannedConfig[] {
  const fn = "resolvePlan";
  if (typeof plan !== "object" || plan === null || !Array.isArray(plan.configs)) throw new MlaArgumentError(fn, "plan", "a SweepPlan (readPlan, buildPlan)", plan);
  if (typeof o !== "object" || o === null) throw new MlaArgumentError(fn, "o", "an object", o);
  if (!Array.isArray(o.kernelVersions)) throw new MlaArgumentError(fn, "o.kernelVersions", "an array of {version, name}", o.kernelVersions);
  const impls = o.impls ?? ["ours"];
  if (!Array.isArray(impls) || impls.some((i) => !IMPLS.includes(i))) throw new MlaArgumentError(fn, "o.impls", `an array of ${IMPLS.join("|")}`, impls);
  const out: PlannedConfig[] = [];
  for (const p of plan.configs) {
    const runs: ImplRun[] = [];
    for (const spec of p.implementations) {
      if (!impls.includes(spec.impl)) continue;
      if (spec.impl === "ours") {
        for (const k of resolveKernelVersions(spec.kernelVersions ?? "auto", o.kernelVersions)) runs.push({ impl: "ours", kernelVersion: k.version, kernelName: k.name });
      } else runs.push({ impl: spec.impl, kernelName: spec.impl });
    }
    if (runs.length === 0) continue;
    const { seqlens, implementations: _i, trials, ...rest } = p;
    out.push({ cfg: { ...rest, seqlens: Int32Array.from(seqlens) }, impls: runs, trials });
  }
  return out;
}

/** buildPlan, then resolvePlan: the sweeps straight to what this process measures. */
export function planRun(defs: SweepDefinition[], o: { quick?: boolean; only?: string[]; impls?: Impl[]; kernelVersions: KernelVersionInfo[] }): PlannedConfig[] {
  if (typeof o !== "object" || o === null) throw new MlaArgumentError("planRun", "o", "an object", o);
  return resolvePlan(buildPlan(defs, o), o);
}
