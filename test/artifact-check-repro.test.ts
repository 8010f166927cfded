/**
 * check-repro on synthetic run folders written to a temp dir (never under
 * data/: these numbers are made up). Each folder is what the runner and the
 * baseline write: results.csv / results-torch.csv in the RESULT_COLUMNS
 * schema and a run.json.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  classify,
  claimKeys,
  compareRuns,
  exitStatus,
  main as checkMain,
  quickPlanFrom,
  relativeSigma,
  rowKey,
  sessionDrift,
  toleranceFor,
  verdictTable,
} from "../src/artifact/check-repro";
import { MlaArgumentError } from "../src/errors";
import { loadRun } from "../src/sweep/aggregate";
import { csvText, RESULT_COLUMNS } from "../src/sweep/csv";

const ROOT = path.join(__dirname, "..", "..");
const H100 = "NVIDIA H100 80GB HBM3";

interface Spec {
  sweep: string;
  /** b, s_q, h_q, s_k of the configuration (the id follows configId's pattern) */
  cfg: [number, number, number, number];
  impl?: "ours" | "torch";
  kv?: number;
  /** per-trial microseconds, or "error" for a row whose every trial failed */
  us: number[] | "error";
}

function cfgId([b, sq, hq, sk]: Spec["cfg"]): string {
  return `b${b}-sq${sq}-hq${hq}-hkv1-sk${sk}-fixed-seed0${sq > 1 ? "-causal" : ""}`;
}

function writeRun(dir: string, specs: Spec[], o: { gpu?: string; quick?: boolean; power?: string } = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const files: Record<string, Record<string, unknown>[]> = {};
  for (const s of specs) {
    const impl = s.impl ?? "ours";
    const file = impl === "ours" ? "results.csv" : `results-${impl}.csv`;
    const [b, sq, hq, sk] = s.cfg;
    const trials = s.us === "error" ? [NaN, NaN] : s.us;
    trials.forEach((us, t) => {
      const row = {
        sweep: s.sweep, configId: cfgId(s.cfg), impl, kernelVersion: impl === "ours" ? String(s.kv ?? 2) : "", kernelName: impl === "ours" ? `k${s.kv ?? 2}` : "",
        dtype: "bf16", b, sQ: sq, hQ: hq, hKv: 1, meanSk: sk, skDist: "fixed", seed: 0, causal: sq > 1, actualMeanSk: sk, maxSk: sk, pageBlock: 64,
        warmup: 5, iters: 30, trial: t, us, gbps: Number.isFinite(us) ? 1000 / us : NaN, tflops: Number.isFinite(us) ? 10 / us : NaN,
        status: Number.isFinite(us) ? "ok" : "error", error: Number.isFinite(us) ? "" : "CUDA error: synthetic failure", startedAt: "2026-11-21T12:00:00.000Z",
      };
      (files[file] ??= []).push(row);
    });
  }
  for (const [f, rows] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), csvText(RESULT_COLUMNS, rows));
  const prov = {
    schema: "mla-run/1", runId: path.basename(dir), date: "2026-11-21T12:00:00.000Z",
    device: { name: o.gpu ?? H100, smCount: 132, smClockMHz: 1980, memClockMHz: 2619, memoryBytes: 85e9, driver: "12.4", cudaRuntime: "12.4", computeCapability: "9.0" },
    nvcc: "release 12.4", nvidiaSmi: { driver_version: "550.54.15", "power.limit": o.power ?? "700.00 W" }, packageVersion: "0.1.0", gitCommit: "0".repeat(40), gitDirty: false,
    command: ["synthetic"], quick: o.quick ?? false, sweeps: [], kernelVersions: [{ version: 1, name: "k1" }, { version: 2, name: "k2" }], sessions: [],
  };
  fs.writeFileSync(path.join(dir, "run.json"), JSON.stringify(prov, null, 2));
  return dir;
}

const five = (m: number, spread = 0.01): number[] => [m * (1 - spread), m * (1 - spread / 2), m, m * (1 + spread / 2), m * (1 + spread)];
const scaled = (s: Spec, f: number): Spec => ({ ...s, us: s.us === "error" ? "error" : s.us.map((x) => x * f) });

// The recorded run: every kind of row the verdicts distinguish.
const A: Spec = { sweep: "flashmla-grid", cfg: [128, 1, 128, 4096], us: five(100) };
const A1: Spec = { sweep: "flashmla-grid", cfg: [128, 1, 128, 4096], kv: 1, us: five(500) };
const B: Spec = { sweep: "flashmla-grid", cfg: [128, 2, 128, 4096], us: five(200) };
const E: Spec = { sweep: "seqlen", cfg: [128, 1, 128, 1024], us: five(50) };
const F: Spec = { sweep: "batch", cfg: [1, 1, 128, 4096], us: five(20) };
const L1: Spec = { sweep: "ladder", cfg: [128, 1, 64, 8192], kv: 1, us: five(300) };
const L2: Spec = { sweep: "ladder", cfg: [128, 1, 64, 8192], kv: 2, us: five(90) };
const T: Spec = { sweep: "flashmla-grid", cfg: [128, 1, 128, 4096], impl: "torch", us: five(400) };
const N: Spec = { sweep: "heads", cfg: [128, 1, 16, 4096], us: five(80, 0.2) };
const RECORDED = [A, A1, B, E, F, L1, L2, T, N];

describe("artifact: check-repro (synthetic run folders)", function () {
  this.timeout(60000);
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mla-check-repro-"))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("classifies every row: reproduced, faster, slower, missing, error; baselines never fail", () => {
    const rec = loadRun(writeRun(path.join(tmp, "rec"), RECORDED));
    const fresh = loadRun(
      writeRun(path.join(tmp, "fresh"), [scaled(A, 1.01), scaled(A1, 1.0), scaled(B, 1.2), scaled(E, 0.8), { ...F, us: "error" }, scaled(L2, 1.0), scaled(T, 1.5), scaled(N, 1.15)]),
    );
    const res = compareRuns(rec, fresh);
    const v = (s: Spec): string => res.rows.find((r) => r.key === rowKey({ sweep: s.sweep, configId: cfgId(s.cfg), impl: s.impl ?? "ours", kernelVersion: s.impl === "torch" ? "" : String(s.kv ?? 2), timing: s.impl === "torch" ? "events" : "bench" }))!.verdict;
    assert.strictEqual(v(A), "reproduced");
    assert.strictEqual(v(B), "slower");
    assert.strictEqual(v(E), "faster");
    assert.strictEqual(v(F), "error");
    assert.strictEqual(v(L1), "missing");
    assert.strictEqual(v(T), "slower");
    // 20% spread in both runs' trials: +15% is within 3 sigma.
    assert.strictEqual(v(N), "reproduced");
    assert.deepStrictEqual(res.failedClaims.map((r) => r.sweep).sort(), ["batch", "flashmla-grid", "ladder"]);
    assert.ok(!res.failedClaims.some((r) => r.impl === "torch"), "a slower baseline is not a failed claim");
    assert.strictEqual(exitStatus(res), 1);
    const table = verdictTable(res);
    assert.match(table, /VERDICT: NOT REPRODUCED - 3 of \d+ claims failed/);
    for (const w of ["reproduced", "faster", "SLOWER", "MISSING", "ERROR"]) assert.ok(table.includes(w), `table lacks ${w}`);
  });

  it("claims: newest version everywhere, every ladder version, not older versions elsewhere, not baselines", () => {
    const rec = loadRun(writeRun(path.join(tmp, "rec"), RECORDED));
    const c = claimKeys(rec);
    const key = (s: Spec): string => rowKey({ sweep: s.sweep, configId: cfgId(s.cfg), impl: s.impl ?? "ours", kernelVersion: s.impl === "torch" ? "" : String(s.kv ?? 2), timing: s.impl === "torch" ? "events" : "bench" });
    for (const s of [A, B, E, F, L1, L2, N]) assert.ok(c.has(key(s)), `${key(s)} should be a claim`);
    assert.ok(!c.has(key(A1)), "an older version outside the ladder is not a claim");
    assert.ok(!c.has(key(T)), "a baseline is not a claim");
  });

  it("passes (exit 0) when every claim is within tolerance, and calls a faster claim a pass", () => {
    const rec = loadRun(writeRun(path.join(tmp, "rec"), RECORDED));
    const fresh = loadRun(writeRun(path.join(tmp, "fresh"), RECORDED.map((s, i) => scaled(s, s === E ? 0.7 : i % 2 ? 1.02 : 0.985))));
    const res = compareRuns(rec, fresh);
    assert.strictEqual(exitStatus(res), 0, verdictTable(res));
    assert.strictEqual(res.counts.faster, 1);
    assert.match(verdictTable(res), /VERDICT: REPRODUCED/);
  });

  it("tolerance: the floor, then the trials' spread (IQR/median/1.349, 3 sigma), then drift between sweeps", () => {
    assert.strictEqual(toleranceFor(0, 0, 0.03, undefined, 3), 0.03);
    assert.ok(Math.abs(toleranceFor(0.03, 0.04, 0.03, undefined, 3) - 0.15) < 1e-12);
    assert.strictEqual(toleranceFor(0.001, undefined, 0.03, 0.07, 3), 0.07);
    assert.strictEqual(classify(0.031, 0.03), "slower");
    assert.strictEqual(classify(-0.031, 0.03), "faster");
    assert.strictEqual(classify(0.03, 0.03), "reproduced");
    const rec = loadRun(writeRun(path.join(tmp, "rec"), [N]));
    const row = rec.agg[0];
    assert.ok(Math.abs(relativeSigma(row)! - row.usIqr / row.usMedian / 1.349) < 1e-12);
    // The same configuration in two sweeps 6% apart: the floor for every row rises to 6%.
    const dup = loadRun(writeRun(path.join(tmp, "dup"), [A, { ...A, sweep: "targets", us: five(106) }, B]));
    const d = sessionDrift(dup);
    assert.strictEqual(d.pairs, 1);
    assert.ok(Math.abs(d.value! - 0.06) < 1e-9);
    const fresh = loadRun(writeRun(path.join(tmp, "fresh"), [A, { ...A, sweep: "targets", us: five(106) }, scaled(B, 1.05)]));
    const res = compareRuns(dup, fresh);
    assert.strictEqual(res.rows.find((r) => r.sweep === "flashmla-grid" && r.configId === cfgId(B.cfg))!.verdict, "reproduced");
  });

  it("a --quick fresh run: recorded configurations outside the quick subset are 'not run (quick)', not missing", () => {
    const rec = loadRun(writeRun(path.join(tmp, "rec"), [A, B]));
    const fresh = loadRun(writeRun(path.join(tmp, "fresh"), [{ ...A, us: [100, 101] }], { quick: true }));
    const res = compareRuns(rec, fresh, { quickPlan: new Set([`flashmla-grid|${cfgId(A.cfg)}`]) });
    assert.strictEqual(res.rows.find((r) => r.configId === cfgId(B.cfg))!.verdict, "not run (quick)");
    assert.strictEqual(exitStatus(res), 0);
    // The plan of the committed sweep files is what the CLI uses.
    const plan = quickPlanFrom(path.join(ROOT, "data", "sweeps"));
    assert.ok(plan.has("flashmla-grid|b128-sq1-hq128-hkv1-sk4096-normal-seed0"));
    assert.ok(!plan.has("flashmla-grid|b128-sq1-hq128-hkv1-sk8192-normal-seed0"));
  });

  it("different GPU models: exit 3 unless allowed; unreadable options throw MlaArgumentError naming the argument", () => {
    const rec = loadRun(writeRun(path.join(tmp, "rec"), [A]));
    const fresh = loadRun(writeRun(path.join(tmp, "fresh"), [scaled(A, 0.7)], { gpu: "NVIDIA H200" }));
    const res = compareRuns(rec, fresh);
    assert.strictEqual(res.sameGpu, false);
    assert.strictEqual(exitStatus(res), 3);
    assert.strictEqual(exitStatus(res, true), 0);
    assert.match(verdictTable(res), /different GPU models/);
    assert.throws(() => compareRuns(rec, rec), (e: unknown) => e instanceof MlaArgumentError && e.argument === "fresh");
    assert.throws(() => compareRuns(rec, fresh, { floor: 2 }), (e: unknown) => e instanceof MlaArgumentError && e.argument === "o.floor");
    assert.throws(() => classify(NaN, 0.03), (e: unknown) => e instanceof MlaArgumentError && e.argument === "delta");
    assert.throws(() => toleranceFor(-1, 0, 0.03, undefined, 3), (e: unknown) => e instanceof MlaArgumentError && e.argument === "sRecorded");
    assert.throws(() => claimKeys({} as never), (e: unknown) => e instanceof MlaArgumentError && e.argument === "run");
  });

  it("CLI: --fresh/--recorded prints the table and exits 1 on a failed claim, 2 on bad arguments", () => {
    const rec = writeRun(path.join(tmp, "rec"), RECORDED);
    const fresh = writeRun(path.join(tmp, "fresh"), RECORDED.map((s) => scaled(s, s === B ? 1.3 : 1)));
    let out = "";
    const json = path.join(tmp, "check.json");
    assert.strictEqual(checkMain(["--fresh", fresh, "--recorded", rec, "--json", json], (s) => (out += s)), 1);
    assert.match(out, /SLOWER/);
    assert.strictEqual(JSON.parse(fs.readFileSync(json, "utf8")).failedClaims.length, 1);
    assert.strictEqual(checkMain([], () => undefined), 2);
  });

  describe("scripts/check-repro.sh", () => {
    const SCRIPT = path.join(ROOT, "scripts", "check-repro.sh");
    const run = (args: string[], env: Record<string, string>) =>
      spawnSync("bash", [SCRIPT, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CHECK_REPRO_SKIP_BUILD: "1", CHECK_REPRO_NO_GPU: "1", ...env } });

    it("without a GPU and without --fresh: says so and exits 4", () => {
      const runs = path.join(tmp, "runs");
      writeRun(path.join(runs, "2026-11-21-nvidia-h100"), RECORDED);
      const r = run([], { CHECK_REPRO_RUNS_ROOT: runs });
      assert.strictEqual(r.status, 4, r.stderr);
      assert.match(r.stderr, /NO GPU on this machine \(CHECK_REPRO_NO_GPU=1\): nothing can be measured, so nothing was compared/);
      assert.match(r.stderr, /make check-repro FRESH=/);
    });

    it("without a GPU, with --fresh: compares the two folders (0 when reproduced, 1 when a claim fails)", () => {
      const runs = path.join(tmp, "runs");
      const rec = writeRun(path.join(runs, "2026-11-21-nvidia-h100"), RECORDED);
      fs.writeFileSync(path.join(runs, "RECORDED"), "2026-11-21-nvidia-h100\n");
      const same = writeRun(path.join(tmp, "same"), RECORDED.map((s) => scaled(s, 1.01)));
      const r0 = run(["--fresh", same], { CHECK_REPRO_RUNS_ROOT: runs });
      assert.strictEqual(r0.status, 0, r0.stdout + r0.stderr);
      assert.ok(r0.stderr.includes(`recorded run: ${rec}`), r0.stderr);
      assert.match(r0.stdout, /VERDICT: REPRODUCED/);
      const worse = writeRun(path.join(tmp, "worse"), RECORDED.filter((s) => s !== E));
      const r1 = run(["--fresh", worse, "--recorded", rec], {});
      assert.strictEqual(r1.status, 1, r1.stdout + r1.stderr);
      assert.match(r1.stdout, /MISSING .*seqlen/);
    });

    it("exits 2 when there is no recorded run", () => {
      const r = run([], { CHECK_REPRO_RUNS_ROOT: path.join(tmp, "empty") });
      assert.strictEqual(r.status, 2, r.stderr);
      assert.match(r.stderr, /no recorded run to compare with/);
    });
  });
});
