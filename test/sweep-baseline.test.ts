/**
 * The Python baseline reads the TypeScript plan and writes raw measurements;
 * `sweep/cli.js ingest` turns them into results rows. Without torch or a GPU:
 * the script's own logic runs with a fake build and timer, and a fake `torch`
 * package that fails to import stands for a machine without torch.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadRun } from "../src/sweep/aggregate";
import { readCsvFile, RESULT_COLUMNS } from "../src/sweep/csv";
import { parseSweepDefinition } from "../src/sweep/definitions";
import { ingestRawLogs, parseRawLog, rawToRows, RawMeasurement } from "../src/sweep/ingest";
import { buildPlan, PlanConfig, readPlan, SweepPlan, writePlan } from "../src/sweep/plan";
import { timedColumns } from "../src/sweep/runner";

const ROOT = path.join(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "baselines", "torch_mla_decode.py");
const CLI = path.join(__dirname, "..", "src", "sweep", "cli.js");

function havePython(): boolean {
  return spawnSync("python3", ["--version"]).status === 0;
}

/** A run folder holding the plan of a tiny sweep: 4 configurations x 2 trials for torch, ours only on 2 more. */
function planDir(): { dir: string; planFile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mla-baseline-"));
  const both = parseSweepDefinition(
    {
      schema: "mla-sweep/1", name: "tiny", dtype: "bf16", seed: 3, trials: 2, timing: { warmup: 2, iters: 7 },
      implementations: [{ impl: "ours", kernelVersions: "latest" }, { impl: "torch" }],
      grids: [{ b: [2, 3], sQ: [1, 2], hQ: [16], hKv: [1], meanSk: [300], skDist: ["normal"], causal: "auto" }],
    },
    "tiny.json",
    "a".repeat(64),
  );
  const oursOnly = parseSweepDefinition(
    { schema: "mla-sweep/1", name: "mine", dtype: "bf16", seed: 0, trials: 1, timing: { warmup: 1, iters: 1 }, implementations: [{ impl: "ours", kernelVersions: "all" }], grids: [{ b: [1, 2], sQ: [1], hQ: [16], hKv: [1], meanSk: [64], skDist: ["fixed"], causal: "auto" }] },
    "mine.json",
    "b".repeat(64),
  );
  const planFile = path.join(dir, "plan.json");
  writePlan(planFile, buildPlan([both, oursOnly]));
  return { dir, planFile };
}

/** Python code run with the baseline module imported as m. */
function python(code: string, env: Record<string, string> = {}) {
  // No __pycache__ left in baselines/ by importing it.
  const prelude = `import sys, json; sys.dont_write_bytecode = True; sys.path.insert(0, ${JSON.stringify(path.dirname(SCRIPT))}); import torch_mla_decode as m\n`;
  return spawnSync("python3", ["-c", prelude + code], { encoding: "utf8", env: { ...process.env, ...env } });
}

describe("baselines/torch_mla_decode.py reads the TypeScript plan", function () {
  this.timeout(60000);
  before(function () {
    if (!havePython()) {
      console.warn("    skipping: python3 not found");
      this.skip();
    }
  });

  it("without torch: exits 0, says so, and records why next to the plan's sha256", () => {
    const { dir, planFile } = planDir();
    const fake = path.join(dir, "fake-site", "torch");
    fs.mkdirSync(fake, { recursive: true });
    fs.writeFileSync(path.join(fake, "__init__.py"), 'raise ImportError("no torch on this machine (test)")\n');
    const r = spawnSync("python3", [SCRIPT, "--out", dir], { encoding: "utf8", env: { ...process.env, PYTHONPATH: path.dirname(fake) } });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stderr, /PyTorch baseline skipped: import torch failed: no torch on this machine \(test\)/);
    const notes = JSON.parse(fs.readFileSync(path.join(dir, "baselines.json"), "utf8"));
    assert.deepStrictEqual(notes.torch, { available: false, reason: "import torch failed: no torch on this machine (test)" });
    assert.strictEqual(notes.plan.sha256, crypto.createHash("sha256").update(fs.readFileSync(planFile)).digest("hex"));
    assert.deepStrictEqual(notes.sweeps.map((s: { name: string }) => s.name), ["tiny", "mine"]);
    assert.ok(!fs.readdirSync(dir).some((f) => f.startsWith("raw-")), "nothing measured, nothing logged");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses (exit 1) a run folder without a plan and a plan of another schema, naming the file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mla-baseline-"));
    let r = spawnSync("python3", [SCRIPT, "--out", dir], { encoding: "utf8" });
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /cannot read the plan .*plan\.json/);
    fs.writeFileSync(path.join(dir, "other.json"), JSON.stringify({ schema: "mla-sweep/1", configs: [{}] }));
    r = spawnSync("python3", [SCRIPT, "--out", dir, "--plan", path.join(dir, "other.json")], { encoding: "utf8" });
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /other\.json: field 'schema' must be "mla-plan\/1"/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("times the plan's torch configurations with its timing, resumes, records failures; ingest makes results rows of them", () => {
    const { dir, planFile } = planDir();
    const plan = readPlan(planFile);
    const torchCfgs = plan.configs.filter((c) => c.implementations.some((i) => i.impl === "torch"));
    assert.strictEqual(torchCfgs.length, 4);
    const failing = torchCfgs[2].configId;
    const raw = path.join(dir, "raw-torch.jsonl");
    // The fake timer returns a time made of the warm-up and iteration counts it was given, and counts its calls.
    const measure = `
plan = m.load_plan(${JSON.stringify(planFile)})
cfgs = [c for c in plan["configs"] if any(i["impl"] == "torch" for i in c["implementations"])]
calls = []
def build(c):
    if c["configId"] == ${JSON.stringify(failing)}:
        raise RuntimeError("CUDA out of memory (fake)")
    return lambda: None
def timer(fn, warmup, iters):
    calls.append((warmup, iters))
    return 1000.0 * warmup + iters + 0.25
log = m.RawLog(${JSON.stringify(raw)})
m.measure_impl(cfgs, "torch", "torch 9.9 (fake)", build, timer, log, retry_errors=RETRY, say=lambda s: None)
log.close()
print(json.dumps(calls))
`;
    let r = python(measure.replace("RETRY", "False"));
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(JSON.parse(r.stdout), Array(6).fill([2, 7]), "3 configurations x 2 trials timed with the plan's warm-up and iterations");
    const { records } = parseRawLog(fs.readFileSync(raw, "utf8"), raw);
    assert.strictEqual(records.length, 8);
    const errs = records.filter((x) => x.status === "error");
    assert.deepStrictEqual(errs.map((x) => [x.configId, x.trial, x.us]), [[failing, 0, null], [failing, 1, null]]);
    assert.strictEqual(errs[0].error, "RuntimeError: CUDA out of memory (fake)");
    assert.strictEqual(errs[1].error, "not run: trial 0 failed: RuntimeError: CUDA out of memory (fake)");

    // A crash mid-write leaves a torn line: the next run cuts it off and measures nothing twice.
    fs.appendFileSync(raw, '{"sweep": "tiny", "configId": "b2');
    assert.strictEqual(parseRawLog(fs.readFileSync(raw, "utf8"), raw).torn, true);
    r = python(measure.replace("RETRY", "False"));
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(JSON.parse(r.stdout), []);
    assert.ok(fs.readFileSync(raw, "utf8").endsWith("}\n"), "torn line cut off");
    // --retry-errors measures the failed configuration again (and fails again here).
    r = python(measure.replace("RETRY", "True"));
    assert.deepStrictEqual(JSON.parse(r.stdout), []);
    assert.strictEqual(parseRawLog(fs.readFileSync(raw, "utf8"), raw).records.length, 10);

    const cli = spawnSync("node", [CLI, "ingest", "--run", dir], { encoding: "utf8" });
    assert.strictEqual(cli.status, 0, cli.stderr);
    assert.match(cli.stderr, /results-torch\.csv: 10 rows \(4 errors\)/);
    const csv = readCsvFile(path.join(dir, "results-torch.csv"));
    assert.deepStrictEqual(csv.header, [...RESULT_COLUMNS]);
    for (const row of csv.rows.filter((x) => x.status === "ok")) {
      const c = torchCfgs.find((x) => x.configId === row.configId)!;
      assert.strictEqual(row.us, "2007.25");
      const t = timedColumns(c, 2007.25);
      assert.deepStrictEqual([row.gbps, row.tflops, row.kernelName, row.seqlens], [String(t.gbps), String(t.tflops), "torch 9.9 (fake)", undefined]);
      assert.deepStrictEqual([row.b, row.sQ, row.actualMeanSk, row.maxSk, row.warmup, row.iters], [c.b, c.sQ, c.actualMeanSk, c.maxSk, c.warmup, c.iters].map(String));
    }
    const torch = loadRun(dir).agg.filter((a) => a.impl === "torch");
    assert.strictEqual(torch.length, 4);
    assert.ok(torch.every((a) => (a.configId === failing ? a.n === 0 && /out of memory/.test(a.error) : a.n === 2 && a.usMedian === 2007.25)));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("sweep/ingest", () => {
  let dir: string;
  let plan: SweepPlan;
  let c: PlanConfig;
  before(() => {
    const d = planDir();
    dir = d.dir;
    plan = readPlan(d.planFile);
    c = plan.configs[0];
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rec = (o: Partial<RawMeasurement>): RawMeasurement => ({ sweep: c.sweep, configId: c.configId, impl: "torch", kernelVersion: "", kernelName: "torch x", trial: 0, us: 50, status: "ok", error: "", startedAt: "2026-01-01T00:00:00Z", ...o });

  it("a row per record, rates from the plan's FLOP and byte counts", () => {
    const [ok, bad, err] = rawToRows(plan, [rec({}), rec({ trial: 1, us: null }), rec({ trial: 2, status: "error", us: null, error: "boom" })]);
    assert.deepStrictEqual([ok.us, ok.gbps, ok.tflops, ok.status, ok.configId, ok.seed, ok.startedAt], [50, timedColumns(c, 50).gbps, timedColumns(c, 50).tflops, "ok", c.configId, c.seed, "2026-01-01T00:00:00Z"]);
    assert.ok(Math.abs((ok.gbps as number) - c.bytes / 50e-6 / 1e9) < 1e-3 * (ok.gbps as number));
    assert.deepStrictEqual([bad.status, bad.us], ["error", undefined]);
    assert.match(String(bad.error), /without a positive time/);
    assert.deepStrictEqual([err.status, err.error], ["error", "boom"]);
  });

  it("names a record whose configuration the plan lacks, and a line that is not a record", () => {
    assert.throws(() => rawToRows(plan, [rec({ configId: "b9-nope" })], "raw-torch.jsonl"), /raw-torch\.jsonl: tiny\/b9-nope/);
    assert.throws(() => parseRawLog('{"sweep": "tiny"}\n', "raw-x.jsonl"), /raw-x\.jsonl line 1/);
    assert.throws(() => parseRawLog("not json\n", "raw-x.jsonl"), /one JSON object a line/);
    assert.throws(() => parseRawLog(JSON.stringify(rec({ impl: "cutlass" })) + "\n", "raw-x.jsonl"), /impl/);
    assert.deepStrictEqual(parseRawLog(JSON.stringify(rec({})) + "\n" + '{"half', "f"), { records: [rec({})], torn: true });
  });

  it("writes results-<impl>.csv per raw log and nothing without one", () => {
    assert.deepStrictEqual(ingestRawLogs(dir, plan), []);
    fs.writeFileSync(path.join(dir, "raw-flashmla.jsonl"), JSON.stringify(rec({ impl: "flashmla", kernelName: "flash_mla 1.0" })) + "\n");
    const done = ingestRawLogs(dir, plan);
    assert.deepStrictEqual(done.map((d) => [path.basename(d.csv), d.rows, d.errors]), [["results-flashmla.csv", 1, 0]]);
    assert.strictEqual(readCsvFile(path.join(dir, "results-flashmla.csv")).rows[0].impl, "flashmla");
  });
});
