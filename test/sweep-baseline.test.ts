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
import { sideBySide } from "../src/analysis/run";
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

/**
 * A run folder holding the plan of tiny sweeps: 4 configurations x 2 trials for torch, ours only on 2 more,
 * and 3 configurations x 2 trials of ours (auto) side by side with FlashMLA.
 */
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
  const pair = parseSweepDefinition(
    { schema: "mla-sweep/1", name: "pair", dtype: "bf16", seed: 1, trials: 2, timing: { warmup: 3, iters: 5 }, implementations: [{ impl: "ours", kernelVersions: "auto" }, { impl: "flashmla" }], grids: [{ b: [1, 2, 3], sQ: [1], hQ: [16], hKv: [1], meanSk: [128], skDist: ["lognormal"], causal: "auto" }] },
    "pair.json",
    "c".repeat(64),
  );
  const planFile = path.join(dir, "plan.json");
  writePlan(planFile, buildPlan([both, oursOnly, pair]));
  return { dir, planFile };
}

/** Python code run with a module of baselines/ imported (by default the baseline, as m). */
function python(code: string, env: Record<string, string> = {}, module = "torch_mla_decode as m") {
  // No __pycache__ left in baselines/ by importing it.
  const prelude = `import sys, json; sys.dont_write_bytecode = True; sys.path.insert(0, ${JSON.stringify(path.dirname(SCRIPT))}); import ${module}\n`;
  return spawnSync("python3", ["-c", prelude + code], { encoding: "utf8", env: { ...process.env, ...env } });
}

/** For a describe's before(): skips the block where there is no python3. */
function needPython(ctx: Mocha.Context): void {
  if (!havePython()) {
    console.warn("    skipping: python3 not found");
    ctx.skip();
  }
}

describe("baselines/torch_mla_decode.py reads the TypeScript plan", function () {
  this.timeout(60000);
  before(function () {
    needPython(this);
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
    assert.deepStrictEqual(notes.sweeps.map((s: { name: string }) => s.name), ["tiny", "mine", "pair"]);
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

  it("FlashMLA and ours side by side: interleaves the two per trial, both timings, planning once; records a failing side and measures the rest; resumes; ingest makes results-sidebyside.csv", () => {
    const { dir, planFile } = planDir();
    const plan = readPlan(planFile);
    const pairs = plan.configs.filter((c) => c.implementations.some((i) => i.impl === "flashmla"));
    assert.strictEqual(pairs.length, 3);
    const [first, broken, timerFails] = pairs.map((c) => c.configId);
    const raw = path.join(dir, "raw-sidebyside.jsonl");
    // Fake sides: FlashMLA 100 us, ours 80 us, eager calls 5 us more; ours cannot be set up on `broken`,
    // and its graph capture fails on `timerFails`.
    const code = `
plan = m.load_plan(${JSON.stringify(planFile)})
cfgs = [c for c in plan["configs"] if any(i["impl"] == "flashmla" for i in c["implementations"])]
events = []
def build(c):
    events.append(("build", c["configId"]))
    ours = {"fn": "O", "rung": 9, "kernelName": "lazy", "check": {"outRelDiff": 0.004, "lseRelDiff": None}}
    if c["configId"] == ${JSON.stringify(broken)}:
        ours = {"fn": None, "error": "MlaError: mla_decode failed with status 4: unsupported (fake)", "kernelName": "auto"}
    return {"flashmla": {"fn": "F", "kernelName": "flash_mla 9.9"}, "ours": ours}
class Timer:
    def __init__(self, fn, timing, warmup, iters):
        if fn == "O" and timing == "graph" and CFG[0] == ${JSON.stringify(timerFails)}:
            raise RuntimeError("capture failed (fake)")
        self.fn, self.timing = fn, timing
        events.append(("timer", fn, timing, warmup, iters))
    def __call__(self):
        events.append((self.fn, self.timing))
        return (100.0 if self.fn == "F" else 80.0) + (5.0 if self.timing == "events" else 0.0)
    def close(self):
        events.append(("close", self.fn, self.timing))
CFG = [None]
def build_tracked(c):
    CFG[0] = c["configId"]
    return build(c)
log = m.RawLog(${JSON.stringify(raw)})
m.measure_side_by_side(cfgs, ["flashmla", "ours"], build_tracked, Timer, log, retry_errors=RETRY, say=lambda s: None)
log.close()
print(json.dumps(events))
`;
    let r = python(code.replace("RETRY", "False"));
    assert.strictEqual(r.status, 0, r.stderr);
    const ev = JSON.parse(r.stdout) as unknown[][];
    const upTo = ev.findIndex((e, i) => i > 0 && e[0] === "build");
    const firstCfg = ev.slice(0, upTo);
    // One build (planning) and one timer per implementation and timing, with the plan's warm-up and iterations.
    assert.deepStrictEqual(firstCfg.filter((e) => e[0] === "timer"), [["timer", "F", "events", 3, 5], ["timer", "F", "graph", 3, 5], ["timer", "O", "events", 3, 5], ["timer", "O", "graph", 3, 5]]);
    // Trial 0 FlashMLA first, trial 1 ours first.
    assert.deepStrictEqual(firstCfg.filter((e) => e.length === 2 && e[0] !== "build").map((e) => e.join(" ")), ["F events", "F graph", "O events", "O graph", "O events", "O graph", "F events", "F graph"]);
    assert.strictEqual(firstCfg.filter((e) => e[0] === "close").length, 4, "the graphs are released with the configuration");
    const { records } = parseRawLog(fs.readFileSync(raw, "utf8"), raw);
    assert.strictEqual(records.length, 3 * 2 * 2 * 2);
    const of = (cid: string, impl: string) => records.filter((x) => x.configId === cid && x.impl === impl);
    assert.ok(of(first, "ours").every((x) => x.status === "ok" && x.kernelVersion === 0 && x.rung === 9 && x.kernelName === "lazy" && x.outRelDiff === 0.004 && x.lseRelDiff === null));
    assert.ok(of(first, "flashmla").every((x) => x.status === "ok" && x.kernelVersion === "" && x.rung === "" && x.outRelDiff === null));
    assert.ok(of(broken, "flashmla").every((x) => x.status === "ok"), "FlashMLA is measured where ours cannot be set up");
    assert.deepStrictEqual(of(broken, "ours").map((x) => [x.timing, x.trial, x.status, x.error.slice(0, 20)]), [["events", 0, "error", "MlaError: mla_decode"], ["graph", 0, "error", "MlaError: mla_decode"], ["events", 1, "error", "not run: trial 0 fai"], ["graph", 1, "error", "not run: trial 0 fai"]]);
    assert.deepStrictEqual(of(timerFails, "ours").map((x) => [x.timing, x.trial, x.status]), [["events", 0, "ok"], ["graph", 0, "error"], ["events", 1, "ok"], ["graph", 1, "error"]]);
    assert.strictEqual(of(timerFails, "ours")[1].error, "RuntimeError: capture failed (fake)");

    // Resuming measures nothing; --retry-errors tries the failed ones again (and they fail again).
    r = python(code.replace("RETRY", "False"));
    assert.deepStrictEqual(JSON.parse(r.stdout), []);
    r = python(code.replace("RETRY", "True"));
    assert.deepStrictEqual((JSON.parse(r.stdout) as unknown[][]).filter((e) => e[0] === "build").map((e) => e[1]), [broken, timerFails]);

    const cli = spawnSync("node", [CLI, "ingest", "--run", dir], { encoding: "utf8" });
    assert.strictEqual(cli.status, 0, cli.stderr);
    assert.match(cli.stderr, /results-sidebyside\.csv: 30 rows \(12 errors\)/);
    const csv = readCsvFile(path.join(dir, "results-sidebyside.csv"));
    assert.deepStrictEqual(csv.header, [...RESULT_COLUMNS]);
    const okOurs = csv.rows.find((x) => x.impl === "ours" && x.status === "ok")!;
    assert.deepStrictEqual([okOurs.kernelVersion, okOurs.rung, okOurs.kernelName, okOurs.outRelDiff, okOurs.lseRelDiff], ["0", "9", "lazy", "0.004", ""]);
    const pairsOf = sideBySide(loadRun(dir).agg);
    const p0 = pairsOf.find((p) => p.configId === first)!;
    assert.deepStrictEqual([p0.ratioGraph, p0.ratioEvents, p0.ratio, p0.rung, p0.outRelDiff], [100 / 80, 105 / 85, 100 / 80, "9", 0.004]);
    const pb = pairsOf.find((p) => p.configId === broken)!;
    assert.deepStrictEqual([pb.ratio, pb.flashmla.graph?.usMedian], [undefined, 100]);
    assert.deepStrictEqual(pairsOf.find((p) => p.configId === timerFails)!.timing, "events", "no graph ratio: the eager one is the headline");
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("baselines/libmla.py (ctypes binding of libmla, ABI 2)", function () {
  this.timeout(60000);
  const LIB = path.join(ROOT, "kernels", "build", "libmla.so");
  const py = (code: string, env: Record<string, string> = {}) => python(code, env, "libmla");
  before(function () {
    needPython(this);
  });

  it("refuses a missing library and a foreign one, saying what to do", () => {
    let r = py("libmla.Libmla()", { MLA_LIB: "/nonexistent/libmla.so" });
    assert.notStrictEqual(r.status, 0);
    assert.match(r.stderr, /MlaLoadError: libmla not found at \/nonexistent\/libmla\.so: build it with `make kernels`/);
    const libc = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"].find((f) => fs.existsSync(f));
    if (libc) {
      r = py(`libmla.Libmla(${JSON.stringify(libc)})`);
      assert.match(r.stderr, /MlaLoadError: .*libc\.so\.6 lacks mla_abi_version: not a libmla of ABI 2; rebuild it with `make kernels`/);
    }
  });

  it("refuses a libmla of another ABI version, and struct sizes that disagree", function () {
    if (spawnSync("cc", ["--version"]).status !== 0) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mla-abi-"));
    const shim = (abi: number, params: number) => {
      const names = ["mla_last_error", "mla_status_string", "mla_kernel_name"].map((n) => `const char* ${n}(void) { return ""; }`);
      const ints = ["mla_default_options", "mla_get_num_sm_parts", "mla_plan", "mla_workspace_bytes", "mla_select_kernel", "mla_decode"].map((n) => `int ${n}(void) { return 0; }`);
      const src = [...names, ...ints, `int mla_abi_version(void) { return ${abi}; }`, `int mla_sizeof_params(void) { return ${params}; }`, "int mla_sizeof_options(void) { return 32; }"].join("\n");
      const c = path.join(dir, `abi${abi}-${params}.c`);
      fs.writeFileSync(c, src);
      const so = c.replace(/\.c$/, ".so");
      assert.strictEqual(spawnSync("cc", ["-shared", "-fPIC", "-o", so, c]).status, 0);
      return so;
    };
    let r = py(`libmla.Libmla(${JSON.stringify(shim(1, 184))})`);
    assert.match(r.stderr, /MlaLoadError: .*abi1-184\.so has ABI version 1, this binding \(baselines\/libmla\.py\) needs 2: rebuild the library/);
    r = py(`libmla.Libmla(${JSON.stringify(shim(2, 176))})`);
    assert.match(r.stderr, /MlaLoadError: mla_decode_params is 176 bytes in .* but 184 in baselines\/libmla\.py/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("with the built library: ABI, sizes, kernel names, and the automatic choice the TypeScript binding sees", function () {
    if (!fs.existsSync(LIB)) {
      console.warn(`    pending: ${LIB} not built (make kernels)`);
      this.skip();
    }
    let tsSelect: typeof import("../src/gpu").selectKernelFor;
    try {
      const gpu = require("../src/gpu") as typeof import("../src/gpu");
      gpu.loadNative();
      tsSelect = gpu.selectKernelFor;
    } catch (e) {
      console.warn(`    pending: ${(e as Error).message}`);
      this.skip();
    }
    const shapes = [[1, 1, 128, 1, 512], [128, 1, 64, 1, 128], [128, 2, 128, 1, 300], [64, 4, 32, 1, 64], [256, 1, 16, 1, 64]];
    const r = py(`
m = libmla.Libmla(${JSON.stringify(LIB)})
import ctypes
print(json.dumps({"abi": m.abi_version(), "sizes": [ctypes.sizeof(libmla.Params), ctypes.sizeof(libmla.Options)],
  "names": [m.kernel_name(0)] + [n for _, n in m.kernel_versions()],
  "auto": [m.select_kernel(b, s, h, k, mb, 132) for b, s, h, k, mb in ${JSON.stringify(shapes)}],
  "explicit": m.select_kernel(1, 1, 128, 1, 512, 132, kernel_version=4)}))
try:
    m.select_kernel(1, 1, 128, 1, 512, 132, kernel_version=99)
except libmla.MlaError as e:
    print(json.dumps({"error": str(e), "status": e.status}))
`);
    assert.strictEqual(r.status, 0, r.stderr);
    const [facts, err] = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.strictEqual(facts.abi, 2);
    assert.deepStrictEqual(facts.sizes, [184, 32]);
    assert.strictEqual(facts.names[0], "auto");
    const h = fs.readFileSync(path.join(ROOT, "kernels", "include", "mla.h"), "utf8");
    assert.strictEqual(facts.names.length - 1, Number(/#define MLA_KERNEL_VERSION_MAX (\d+)/.exec(h)![1]), "every rung of the header");
    assert.deepStrictEqual(facts.auto, shapes.map(([b, sQ, hQ, hKv, maxBlocksPerSeq]) => tsSelect({ b, sQ, hQ, hKv, maxBlocksPerSeq }, 132)));
    assert.strictEqual(facts.explicit, 4);
    assert.strictEqual(err.status, 4);
    assert.match(err.error, /mla_select_kernel failed with status 4: kernel_version 99 out of range/);
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
  const rec = (o: Partial<RawMeasurement>): RawMeasurement => ({ sweep: c.sweep, configId: c.configId, impl: "torch", kernelVersion: "", rung: "", kernelName: "torch x", timing: "events", trial: 0, us: 50, status: "ok", error: "", startedAt: "2026-01-01T00:00:00Z", outRelDiff: null, lseRelDiff: null, ...o });

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
