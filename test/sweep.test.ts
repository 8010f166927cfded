import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MlaArgumentError } from "../src/errors";
import { decodeBytes, decodeFlops } from "../src/roofline/accounting";
import { ADDED_COLUMNS, CEILING_COLUMNS, completeLength, csvText, parseCsv, readCsvFile, CsvAppender, RESULT_COLUMNS } from "../src/sweep/csv";
import { configId, expandConfigs, loadSweepDefinition, loadSweepDirectory, parseSweepDefinition, resolveKernelVersions, SweepDefinitionError } from "../src/sweep/definitions";
import { generateSeqlens, seqlenStats } from "../src/sweep/seqlens";
import { Rng } from "../src/numeric/rng";
import * as crypto from "crypto";
import { spawnSync } from "child_process";
import { estimateSeconds, measureCeilings, runSweeps, ProgressSink } from "../src/sweep/runner";
import { buildPlan, ImplRun, parsePlan, planRun, planText, readPlan, resolvePlan, RunConfig, writePlan } from "../src/sweep/plan";
import { aggregateTrials, loadRun, recordedRun, toTrialRows } from "../src/sweep/aggregate";
import { gitState, openRunSidecar, readSidecar, runDirFor } from "../src/sweep/provenance";
import { loadGpuBinding, GpuMeasurer, GpuBinding } from "../src/sweep/gpu-adapter";

const REPO_SWEEPS = path.join(__dirname, "..", "..", "data", "sweeps");

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "mla-sweep-"));
}

function minimalDef(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: "mla-sweep/1",
    name: "tiny",
    dtype: "bf16",
    seed: 7,
    trials: 3,
    timing: { warmup: 1, iters: 2 },
    implementations: [{ impl: "ours", kernelVersions: "all" }, { impl: "torch" }],
    grids: [{ b: [2, 4], sQ: [1, 2], hQ: [16], hKv: [1], meanSk: [256], skDist: ["fixed", "normal"], causal: "auto" }],
    quick: { trials: 1, only: { b: [2] } },
    ...over,
  };
}

const KV = [
  { version: 1, name: "simt" },
  { version: 2, name: "mma_sync" },
];

/** MLA_KERNEL_VERSION_MAX of kernels/include/mla.h: the rungs a build of this checkout has. */
function headerVersionMax(): number {
  const h = fs.readFileSync(path.join(REPO_SWEEPS, "..", "..", "kernels", "include", "mla.h"), "utf8");
  const m = /#define MLA_KERNEL_VERSION_MAX (\d+)/.exec(h);
  assert.ok(m, "MLA_KERNEL_VERSION_MAX in mla.h");
  return Number(m[1]);
}

describe("sweep/seqlens", () => {
  it("the one PRNG (Rng) is mulberry32: the reference stream of seed 0", () => {
    const r = new Rng(0);
    assert.deepStrictEqual([r.nextU32(), r.nextU32(), r.nextU32()], [1144304738, 1416247, 958946056]);
  });
  it("is deterministic and pinned", () => {
    const a = generateSeqlens({ b: 8, sQ: 1, meanSk: 4096, dist: "normal", seed: 0 });
    assert.deepStrictEqual(Array.from(a), [602, 4676, 2793, 4833, 467, 4936, 3303, 2418]);
    assert.deepStrictEqual(Array.from(generateSeqlens({ b: 4, sQ: 2, meanSk: 100, dist: "normal", seed: 12345 })), [175, 200, 18, 135]);
    assert.deepStrictEqual(a, generateSeqlens({ b: 8, sQ: 1, meanSk: 4096, dist: "normal", seed: 0 }));
    assert.notDeepStrictEqual(a, generateSeqlens({ b: 8, sQ: 1, meanSk: 4096, dist: "normal", seed: 1 }));
  });
  it("has mean ~ meanSk and sd ~ meanSk/2, never below s_q", () => {
    const l = generateSeqlens({ b: 200000, sQ: 2, meanSk: 8192, dist: "normal", seed: 3 });
    const s = seqlenStats(l);
    // floor() lowers the mean by 0.5, the clip at s_q raises it by ~0.0085 sd: both far inside 1%.
    assert.ok(Math.abs(s.mean / 8192 - 1) < 0.01, `mean ${s.mean}`);
    assert.ok(Math.abs(s.sd / 4096 - 1) < 0.03, `sd ${s.sd}`);
    assert.ok(s.min >= 2);
    assert.ok(s.max <= 8192 * 4);
  });
  it("every data/sweeps file expands to the very lengths the recorded runs were measured on", () => {
    // sha256 of JSON [[sweep, configId, lengths], ...] over planRun's order, taken before the
    // generator moved into src/numeric/rng.ts: a change of stream, normal or clip shows here.
    // The sweeps of the recorded runs, then the FlashMLA bench grid (pinned when it was added,
    // with the lognormal lengths): a new distribution must not move the old lengths.
    const defs = loadSweepDirectory(REPO_SWEEPS);
    const recorded = ["flashmla-grid", "heads", "seqlen", "batch", "speculative", "ladder", "targets"];
    const pinned = {
      full: [54, 5984, "a5a70c2cf72d6f2b90cc1d0a343e6c64dca297529bdd26183fc8486215a25bce"],
      quick: [25, 2866, "6fe66beda913e5876637b11b4186da580d253f0ce96d1ddad60790f264c1f9d3"],
      benchFull: [28, 3019, "45e45ce75a0dac9fc622cd2b3a48322eec03d2465635aa162cb6ca5ee583f91c"],
      benchQuick: [7, 769, "7d7e7e5350e4079d53741b330eacee573be958c32c5c6f128924880dc77c7278"],
    };
    const digest = (only: string[], quick: boolean) => {
      const plan = planRun(defs, { quick, only, impls: ["ours", "torch", "flashmla"], kernelVersions: KV });
      const lens = plan.map((p) => [p.cfg.sweep, p.cfg.configId, Array.from(p.cfg.seqlens)]);
      return [plan.length, plan.reduce((a, p) => a + p.cfg.seqlens.length, 0), crypto.createHash("sha256").update(JSON.stringify(lens)).digest("hex")];
    };
    assert.deepStrictEqual(defs.map((d) => d.name), [...recorded, "flashmla-bench"], "a new sweep file needs its own pin here");
    for (const quick of [false, true]) {
      assert.deepStrictEqual(digest(recorded, quick), pinned[quick ? "quick" : "full"]);
      assert.deepStrictEqual(digest(["flashmla-bench"], quick), pinned[quick ? "benchQuick" : "benchFull"]);
    }
  });
  it("lognormal: median meanSk·e^(-1/2), mean about meanSk, a long tail clipped at 8·meanSk, never below s_q; pinned", () => {
    const l = generateSeqlens({ b: 200000, sQ: 3, meanSk: 2048, dist: "lognormal", seed: 5 });
    const sorted = Array.from(l).sort((a, b) => a - b);
    const s = seqlenStats(l);
    assert.ok(Math.abs(sorted[100000] / (2048 * Math.exp(-0.5)) - 1) < 0.02, `median ${sorted[100000]}`);
    // the clip at 8x takes about 1% off the mean
    assert.ok(s.mean > 0.95 * 2048 && s.mean < 1.0 * 2048, `mean ${s.mean}`);
    assert.ok(s.min >= 3 && s.max === 8 * 2048, `${s.min}..${s.max}`);
    const tail = sorted.filter((x) => x > 4 * 2048).length / sorted.length;
    assert.ok(tail > 0.01 && tail < 0.05, `share above 4x the mean ${tail}`);
    assert.deepStrictEqual(Array.from(generateSeqlens({ b: 6, sQ: 1, meanSk: 2048, dist: "lognormal", seed: 0 })), [1630, 6174, 493, 548, 1279, 4347]);
  });
  it("fixed gives the mean everywhere; bad input names the argument", () => {
    assert.deepStrictEqual(Array.from(generateSeqlens({ b: 3, sQ: 1, meanSk: 64, dist: "fixed", seed: 0 })), [64, 64, 64]);
    assert.throws(() => generateSeqlens({ b: 3, sQ: 4, meanSk: 2, dist: "fixed", seed: 0 }), /spec\.meanSk/);
    assert.throws(() => generateSeqlens({ b: 3, sQ: 1, meanSk: 64, dist: "uniform" as never, seed: 0 }), /spec\.dist/);
    assert.throws(() => generateSeqlens({ b: 0, sQ: 1, meanSk: 64, dist: "fixed", seed: 0 }), MlaArgumentError);
  });
});

describe("sweep/definitions", () => {
  it("loads every file in data/sweeps", () => {
    const defs = loadSweepDirectory(REPO_SWEEPS);
    assert.deepStrictEqual(defs.map((d) => d.name), ["flashmla-grid", "heads", "seqlen", "batch", "speculative", "ladder", "targets", "flashmla-bench"]);
    const grid = defs[0];
    const cfgs = expandConfigs(grid);
    assert.strictEqual(cfgs.length, 8);
    assert.ok(cfgs.every((c) => c.b === 128 && c.hQ === 128 && c.hKv === 1 && c.skDist === "normal"));
    assert.ok(cfgs.every((c) => c.causal === c.sQ > 1));
    assert.ok(defs.every((d) => /^[0-9a-f]{64}$/.test(d.sha256)));
  });
  it("the whole study stays within a few GPU minutes by the estimate", () => {
    // Every implementation (FlashMLA side by side with ours included) and every rung of the header.
    const defs = loadSweepDirectory(REPO_SWEEPS);
    const kv = Array.from({ length: headerVersionMax() }, (_, i) => ({ version: i + 1, name: `v${i + 1}` }));
    const impls: ("ours" | "torch" | "flashmla")[] = ["ours", "torch", "flashmla"];
    const full = estimateSeconds(planRun(defs, { impls, kernelVersions: kv }));
    const quick = estimateSeconds(planRun(defs, { impls, kernelVersions: kv, quick: true }));
    assert.ok(full < 5 * 60, `full ${full}s`);
    assert.ok(quick < full / 2, `quick ${quick}s vs full ${full}s`);
    const withoutFlashmla = estimateSeconds(planRun(defs, { impls: ["ours", "torch"], kernelVersions: kv }));
    assert.ok(full > withoutFlashmla, "the side-by-side measurement is counted");
  });
  it("every sweep's kernel selection resolves against a build of MLA_KERNEL_VERSION_MAX rungs, 0 being auto", () => {
    const max = headerVersionMax();
    const kv = Array.from({ length: max }, (_, i) => ({ version: i + 1, name: `v${i + 1}` }));
    const defs = loadSweepDirectory(REPO_SWEEPS);
    for (const d of defs) {
      const ours = d.implementations.find((i) => i.impl === "ours");
      if (!ours) continue;
      const got = resolveKernelVersions(ours.kernelVersions!, kv);
      assert.ok(got.length > 0 && got.every((k) => k.name !== "unknown"), `${d.name}: ${JSON.stringify(got)}`);
      assert.ok(got.some((k) => k.version === 0 && k.name === "auto"), `${d.name} measures the automatic choice`);
    }
    const bench = defs.find((d) => d.name === "flashmla-bench")!;
    assert.deepStrictEqual(resolveKernelVersions(bench.implementations[0].kernelVersions!, kv).map((k) => k.version), [0, 9, 10, 11]);
    assert.ok(bench.implementations.some((i) => i.impl === "flashmla"));
    assert.ok(resolveKernelVersions(bench.implementations[0].kernelVersions!, kv.slice(0, 10)).some((k) => k.name === "unknown"), "a build without v11 names it unknown");
  });
  it("expands grids, dedups and filters quick mode", () => {
    const d = parseSweepDefinition(minimalDef(), "mem.json");
    const all = expandConfigs(d);
    assert.strictEqual(all.length, 8);
    assert.strictEqual(new Set(all.map((c) => c.configId)).size, 8);
    assert.ok(expandConfigs(d, true).every((c) => c.b === 2));
    assert.strictEqual(configId({ b: 2, sQ: 2, hQ: 16, hKv: 1, meanSk: 256, skDist: "normal", seed: 7, causal: true }), "b2-sq2-hq16-hkv1-sk256-normal-seed7-causal");
  });
  it("names the file and the field of a bad definition", () => {
    const bad = (over: Record<string, unknown>, field: RegExp) =>
      assert.throws(
        () => parseSweepDefinition(minimalDef(over), "data/sweeps/bad.json"),
        (e: Error) => e instanceof SweepDefinitionError && e instanceof MlaArgumentError && /data\/sweeps\/bad\.json/.test(e.message) && field.test(e.message),
      );
    bad({ schema: "mla-sweep/0" }, /'schema'/);
    bad({ trials: 0 }, /'trials'/);
    bad({ dtype: "fp8" }, /'dtype'/);
    bad({ grids: [{ b: [1], sQ: [1], hQ: [16], hKv: [1], meanSk: [-3], skDist: ["fixed"], causal: false }] }, /'grids\[0\]\.meanSk\[0\]'/);
    bad({ grids: [{ b: [1], sQ: [1], hQ: [6], hKv: [4], meanSk: [8], skDist: ["fixed"], causal: false }] }, /'grids\[0\]\.hQ'/);
    bad({ grids: [{ b: [1], sQ: [1], hQ: [16], hKv: [1], meanSk: [8], skDist: ["fixed"], causal: "yes" }] }, /'grids\[0\]\.causal'/);
    bad({ implementations: [{ impl: "cutlass" }] }, /'implementations\[0\]\.impl'/);
    bad({ implementations: [{ impl: "torch", kernelVersions: [1] }] }, /'implementations\[0\]\.kernelVersions'/);
    bad({ trails: 3 }, /'trails'.*unknown key/);
    bad({ quick: { only: { b: [999] } } }, /'quick\.only'/);
  });
  it("reports unreadable files and invalid JSON with the path", () => {
    const dir = tmpdir();
    const f = path.join(dir, "x.json");
    fs.writeFileSync(f, "{ nope");
    assert.throws(() => loadSweepDefinition(f), (e: Error) => e.message.includes(f) && /valid JSON/.test(e.message));
    assert.throws(() => loadSweepDefinition(path.join(dir, "missing.json")), /missing\.json/);
    fs.writeFileSync(f, JSON.stringify(minimalDef()));
    fs.writeFileSync(path.join(dir, "y.json"), JSON.stringify(minimalDef()));
    assert.throws(() => loadSweepDirectory(dir), /unique/);
    fs.rmSync(dir, { recursive: true });
  });
  it("resolves kernel selections: auto is version 0, all is every rung and auto", () => {
    const auto = { version: 0, name: "auto" };
    assert.deepStrictEqual(resolveKernelVersions("auto", KV), [auto]);
    assert.deepStrictEqual(resolveKernelVersions("latest", KV), [KV[1]]);
    assert.deepStrictEqual(resolveKernelVersions("all", [KV[1], KV[0]]), [...KV, auto]);
    assert.deepStrictEqual(resolveKernelVersions([2, 9, 0], KV), [KV[1], { version: 9, name: "unknown" }, auto]);
    assert.throws(() => parseSweepDefinition(minimalDef({ implementations: [{ impl: "ours", kernelVersions: [-1] }] }), "k.json"), /kernelVersions\[0\]/);
    assert.throws(() => parseSweepDefinition(minimalDef({ implementations: [{ impl: "ours", kernelVersions: "newest" }] }), "k.json"), /"auto"/);
  });
});

describe("sweep/plan", () => {
  it("expands every configuration with its lengths, FLOP and byte counts; the file reads back identically", () => {
    const dir = tmpdir();
    const defs = loadSweepDirectory(REPO_SWEEPS);
    const plan = buildPlan(defs, { root: path.join(REPO_SWEEPS, "..", "..") });
    assert.deepStrictEqual(plan.sweeps.map((x) => x.file), defs.map((d) => `data/sweeps/${path.basename(d.file)}`));
    for (const c of plan.configs) {
      const shape = { b: c.b, sQ: c.sQ, hQ: c.hQ, hKv: c.hKv, meanSk: c.actualMeanSk };
      assert.deepStrictEqual([c.flops, c.bytes, c.seqlens.length], [decodeFlops(shape), decodeBytes(shape), c.b], c.configId);
      assert.strictEqual(c.actualMeanSk, c.seqlens.reduce((a, x) => a + x, 0) / c.b);
    }
    const f = path.join(dir, "plan.json");
    writePlan(f, plan);
    const back = readPlan(f);
    assert.deepStrictEqual(back.configs, plan.configs);
    assert.strictEqual(back.sha256, crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex"));
    assert.strictEqual(fs.readFileSync(f, "utf8").split("\n").filter((l) => l.startsWith('    {"sweep"')).length, plan.configs.length, "one configuration a line");
    assert.strictEqual(planText(back), fs.readFileSync(f, "utf8"));
    fs.rmSync(dir, { recursive: true });
  });
  it("`sweep/cli.js plan` writes it, with the sweeps' quick filters and --only", () => {
    const dir = tmpdir();
    const f = path.join(dir, "sub", "plan.json");
    const r = spawnSync("node", [path.join(__dirname, "..", "src", "sweep", "cli.js"), "plan", "--out", f, "--quick", "--only", "flashmla-grid,batch"], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stderr, /wrote .*plan\.json: \d+ configurations of flashmla-grid, batch \(quick\)/);
    const p = readPlan(f);
    const defs = loadSweepDirectory(REPO_SWEEPS).filter((d) => ["flashmla-grid", "batch"].includes(d.name));
    assert.deepStrictEqual(p.configs.map((c) => c.configId), defs.flatMap((d) => expandConfigs(d, true).map((c) => c.configId)));
    assert.ok(p.quick && p.configs.every((c) => c.trials === 2));
    fs.rmSync(dir, { recursive: true });
  });
  it("resolvePlan: the implementations this process runs, ours resolved against the build's kernels", () => {
    const plan = buildPlan([parseSweepDefinition(minimalDef(), "m.json")], { quick: true });
    assert.ok(plan.quick && plan.configs.every((c) => c.b === 2 && c.trials === 1));
    const ours = resolvePlan(plan, { kernelVersions: KV });
    assert.deepStrictEqual(ours[0].impls, [{ impl: "ours", kernelVersion: 1, kernelName: "simt" }, { impl: "ours", kernelVersion: 2, kernelName: "mma_sync" }, { impl: "ours", kernelVersion: 0, kernelName: "auto" }]);
    assert.ok(ours[0].cfg.seqlens instanceof Int32Array);
    assert.deepStrictEqual(resolvePlan(plan, { impls: ["flashmla"], kernelVersions: KV }), [], "no sweep lists flashmla");
    assert.throws(() => resolvePlan(plan, { impls: ["cutlass" as never], kernelVersions: KV }), /o\.impls/);
    assert.throws(() => buildPlan([parseSweepDefinition(minimalDef(), "m.json")], { only: ["nope"] }), /o\.only/);
  });
  it("names the file and the field of a bad plan", () => {
    const good = JSON.parse(planText(buildPlan([parseSweepDefinition(minimalDef(), "m.json")])));
    const bad = (edit: (p: { configs: Record<string, unknown>[] } & Record<string, unknown>) => void, field: RegExp) => {
      const p = JSON.parse(JSON.stringify(good));
      edit(p);
      assert.throws(() => parsePlan(p, "run/plan.json"), (e: Error) => /run\/plan\.json/.test(e.message) && field.test(e.message));
    };
    bad((p) => (p.schema = "mla-sweep/1"), /'schema'/);
    bad((p) => (p.configs[1].seqlens = [1]), /'configs\[1\]\.seqlens' must be 2 lengths/);
    bad((p) => delete p.configs[0].flops, /'configs\[0\]\.flops' must be present/);
    bad((p) => (p.configs[0].implementations = [{ impl: "cutlass" }]), /'configs\[0\]\.implementations\[0\]\.impl'/);
    bad((p) => p.configs.push(p.configs[0]), /unique/);
    bad((p) => (p.configs[0].extra = 1), /unknown key/);
    assert.deepStrictEqual(parsePlan(good, "ok.json").configs, good.configs);
  });
});

describe("sweep/csv", () => {
  it("round-trips quotes, commas and newlines; drops a torn last line", () => {
    const cols = ["a", "b"];
    const text = csvText(cols, [{ a: 'he said "x, y"', b: 1.5 }, { a: "two\nlines", b: NaN }]) + 'x,"unfinish';
    assert.strictEqual(text.split("\n")[0], "a,b");
    const p = parseCsv(text);
    assert.deepStrictEqual(p.header, cols);
    assert.deepStrictEqual(p.rows, [
      { a: 'he said "x, y"', b: "1.5" },
      { a: "two\nlines", b: "" },
    ]);
    assert.ok(p.torn);
    assert.ok(!parseCsv(csvText(cols, [{ a: 1, b: true }])).torn);
    assert.deepStrictEqual(parseCsv(csvText(cols, [])), { header: cols, rows: [], torn: false });
  });
  it("a record is complete only at a newline outside quotes", () => {
    const full = 'a,b\n1,"x\ny"\n';
    assert.strictEqual(completeLength(full), full.length);
    assert.strictEqual(completeLength('a,b\n1,"x\n'), 4, "cut inside a quoted newline");
    assert.strictEqual(completeLength("a,b\n1,2"), 4);
    assert.strictEqual(completeLength(""), 0);
  });
  it("CsvAppender repairs a torn file and refuses a foreign header", () => {
    const dir = tmpdir();
    const f = path.join(dir, "r.csv");
    fs.writeFileSync(f, 'a,b\n1,2\n3,"half\nof a record');
    const ap = new CsvAppender(f, ["a", "b"]);
    assert.deepStrictEqual(ap.existing, [{ a: "1", b: "2" }]);
    ap.append({ a: 5, b: "x,y" });
    ap.close();
    assert.strictEqual(fs.readFileSync(f, "utf8"), 'a,b\n1,2\n5,"x,y"\n');
    assert.throws(() => new CsvAppender(f, ["x"]), /header/);
    fs.rmSync(dir, { recursive: true });
  });
});

function fakeMeasure(log: string[], failOn?: (c: RunConfig, i: ImplRun) => boolean) {
  return async (c: RunConfig, i: ImplRun) => {
    log.push(`${c.configId}/${i.impl}${i.kernelVersion ?? ""}`);
    if (failOn && failOn(c, i)) throw new Error(`boom, with "quotes", commas\nand a newline`);
    // Deterministic "time": proportional to the bytes, slower for v1; the automatic choice runs v2.
    const us = (decodeBytes({ b: c.b, sQ: c.sQ, hQ: c.hQ, hKv: c.hKv, meanSk: c.actualMeanSk }) / 2e12) * 1e6 * (i.kernelVersion === 1 ? 10 : 1);
    return { us: us * (1 + 0.01 * log.length), ...(i.kernelVersion === 0 ? { rung: 2, kernelName: "mma_sync" } : {}) };
  };
}

describe("sweep/runner", () => {
  it("writes one parseable row per config x impl x trial with derived rates", async () => {
    const dir = tmpdir();
    const def = parseSweepDefinition(minimalDef(), "mem.json");
    const plan = planRun([def], { kernelVersions: KV, impls: ["ours"] });
    assert.strictEqual(plan.length, 8);
    const log: string[] = [];
    const s = await runSweeps({ outDir: dir, plan, measure: fakeMeasure(log) });
    // "all": both rungs and the automatic choice
    assert.strictEqual(s.measured, 8 * 3 * 3);
    const p = parseCsv(fs.readFileSync(s.csvPath, "utf8"));
    assert.deepStrictEqual(p.header, [...RESULT_COLUMNS]);
    assert.strictEqual(p.rows.length, 72);
    for (const r of p.rows) {
      assert.strictEqual(r.status, "ok");
      assert.strictEqual(r.timing, "bench");
      // fakeMeasure says the automatic choice ran rung 2
      assert.deepStrictEqual([r.rung, r.kernelName], r.kernelVersion === "0" ? ["2", "mma_sync"] : [r.kernelVersion, r.kernelVersion === "1" ? "simt" : "mma_sync"]);
      const bytes = decodeBytes({ b: +r.b, sQ: +r.sQ, hQ: +r.hQ, hKv: +r.hKv, meanSk: +r.actualMeanSk });
      assert.ok(Math.abs(+r.gbps - bytes / (+r.us * 1e-6) / 1e9) / +r.gbps < 1e-4);
    }
    // Normal-length configs record the generated mean, not the nominal one.
    assert.ok(p.rows.some((r) => r.skDist === "normal" && +r.actualMeanSk !== 256));
    fs.rmSync(dir, { recursive: true });
  });

  it("resumes: rows already present are skipped, a torn row is re-measured", async () => {
    const dir = tmpdir();
    const def = parseSweepDefinition(minimalDef(), "mem.json");
    const plan = planRun([def], { kernelVersions: KV, impls: ["ours"] });
    const log1: string[] = [];
    // Interrupt: the measurement of the 20th task throws out of the runner like a kill would.
    let n = 0;
    await assert.rejects(
      runSweeps({
        outDir: dir,
        plan,
        measure: fakeMeasure(log1),
        onConfigDone: () => {
          if (++n === 3) throw new Error("cleanup failure is only a warning");
        },
        progress: { start() {}, update(done) { if (done >= 20) throw new Error("killed"); }, end() {} } as ProgressSink,
      }),
      /killed/,
    );
    const csv = path.join(dir, "results.csv");
    const before = parseCsv(fs.readFileSync(csv, "utf8")).rows.length;
    assert.ok(before >= 20 && before < 72, String(before));
    fs.appendFileSync(csv, "tiny,b2-sq1,ours,2,mma"); // a crash mid-write
    const log2: string[] = [];
    const s = await runSweeps({ outDir: dir, plan, measure: fakeMeasure(log2) });
    assert.strictEqual(s.skipped, before);
    assert.strictEqual(s.measured, 72 - before);
    assert.strictEqual(log2.length, 72 - before);
    const rows = parseCsv(fs.readFileSync(csv, "utf8")).rows;
    assert.strictEqual(rows.length, 72);
    assert.strictEqual(new Set(rows.map((r) => `${r.configId}|${r.kernelVersion}|${r.trial}`)).size, 72);
    const again = await runSweeps({ outDir: dir, plan, measure: fakeMeasure([]) });
    assert.strictEqual(again.measured, 0);
    fs.rmSync(dir, { recursive: true });
  });

  it("records a failing config as status=error and goes on; --retry-errors re-measures", async () => {
    const dir = tmpdir();
    const def = parseSweepDefinition(minimalDef(), "mem.json");
    const plan = planRun([def], { kernelVersions: KV, impls: ["ours"] });
    const failing = (c: RunConfig, i: ImplRun) => c.b === 4 && c.sQ === 2 && i.kernelVersion === 2;
    const log: string[] = [];
    const s = await runSweeps({ outDir: dir, plan, measure: fakeMeasure(log, failing) });
    assert.strictEqual(s.errors, 2 * 3);
    // After the first failure of an implementation on a config, its other trials are not attempted.
    assert.strictEqual(log.filter((l) => l.startsWith("b4-sq2") && l.endsWith("ours2")).length, 2);
    const rows = parseCsv(fs.readFileSync(s.csvPath, "utf8")).rows;
    const errs = rows.filter((r) => r.status === "error");
    assert.strictEqual(errs.length, 6);
    assert.ok(errs.some((r) => r.error === 'boom, with "quotes", commas\nand a newline'));
    assert.ok(errs.some((r) => r.error.startsWith("not run: trial 0 failed")));
    assert.ok(rows.filter((r) => r.status === "ok").length === 72 - 6);
    const skip = await runSweeps({ outDir: dir, plan, measure: fakeMeasure([]) });
    assert.strictEqual(skip.measured, 0);
    const retry = await runSweeps({ outDir: dir, plan, measure: fakeMeasure([]), retryErrors: true });
    assert.strictEqual(retry.measured, 6);
    const agg = loadRun(dir).agg;
    assert.ok(agg.every((a) => a.n === 3), "retried rows supersede the errors");
    fs.rmSync(dir, { recursive: true });
  });

  it("primes the GPU with untimed runs of the first configuration still to measure", async () => {
    const dir = tmpdir();
    const plan = planRun([parseSweepDefinition(minimalDef(), "mem.json")], { kernelVersions: KV, impls: ["ours"], quick: true });
    const log: string[] = [];
    const s = await runSweeps({ outDir: dir, plan, measure: fakeMeasure(log), primingRuns: 2 });
    assert.strictEqual(log.length, s.measured + 2);
    assert.deepStrictEqual(log.slice(0, 2), [`${plan[0].cfg.configId}/ours0`, `${plan[0].cfg.configId}/ours0`]);
    assert.strictEqual(parseCsv(fs.readFileSync(s.csvPath, "utf8")).rows.length, s.measured);
    const log2: string[] = [];
    await runSweeps({ outDir: dir, plan, measure: fakeMeasure(log2), primingRuns: 2 });
    assert.strictEqual(log2.length, 0, "nothing left to measure: no priming either");
    await assert.rejects(runSweeps({ outDir: dir, plan, measure: fakeMeasure([]), primingRuns: -1 }), /o\.primingRuns/);
    fs.rmSync(dir, { recursive: true });
  });

  it("rejects a measurement that is not a positive time", async () => {
    const dir = tmpdir();
    const plan = planRun([parseSweepDefinition(minimalDef(), "mem.json")], { kernelVersions: [KV[0]], impls: ["ours"], quick: true });
    const s = await runSweeps({ outDir: dir, plan, measure: async () => ({ us: NaN }) });
    assert.strictEqual(s.measured, 0);
    assert.ok(parseCsv(fs.readFileSync(s.csvPath, "utf8")).rows.every((r) => r.status === "error" && /us > 0|not run/.test(r.error)));
    fs.rmSync(dir, { recursive: true });
  });

  it("validates its arguments", async () => {
    await assert.rejects(runSweeps({ outDir: "", plan: [], measure: async () => ({ us: 1 }) }), /o\.outDir/);
    await assert.rejects(runSweeps({ outDir: "/tmp/x", plan: [], measure: 3 as never }), /o\.measure/);
    assert.throws(() => planRun([], { kernelVersions: KV }), /defs/);
    assert.throws(() => planRun([parseSweepDefinition(minimalDef(), "m.json")], { kernelVersions: KV, only: ["nope"] }), /o\.only/);
  });

  it("measures ceilings into ceilings.csv and keeps them on resume", async () => {
    const dir = tmpdir();
    let calls = 0;
    const c = await measureCeilings(dir, { copyBandwidth: () => (++calls, 3000 + calls), gemmTflops: () => { throw new Error("no cuBLAS"); } }, 3);
    assert.strictEqual(c.copyGBps, 3002);
    assert.strictEqual(c.gemmTflops, undefined);
    assert.deepStrictEqual(c.errors, ["bf16_gemm: no cuBLAS"]);
    const again = await measureCeilings(dir, { copyBandwidth: () => (++calls, 1) }, 3);
    assert.strictEqual(calls, 3);
    assert.strictEqual(again.copyGBps, 3002);
    fs.rmSync(dir, { recursive: true });
  });
});

describe("sweep/provenance and GPU adapter", () => {
  const device = { name: "NVIDIA H100 80GB HBM3", smCount: 132, smClockMHz: 1980, memClockMHz: 2619, memoryBytes: 85e9, driver: "12.4", cudaRuntime: "12.4" };
  const toolchain = { nvcc: "release 12.4", gitCommit: "abc", gitDirty: false, packageVersion: "0.1.0" };
  it("writes the sidecar, appends sessions on resume and refuses another GPU", async () => {
    const dir = tmpdir();
    const defs = [parseSweepDefinition(minimalDef(), "m.json", "f".repeat(64))];
    const p = await openRunSidecar({ dir, device: () => device, definitions: defs, kernelVersions: KV, quick: false, toolchain, command: ["x"], now: () => new Date("2026-01-02T03:04:05Z") });
    assert.strictEqual(p.device.name, device.name);
    assert.strictEqual(p.date, "2026-01-02T03:04:05.000Z");
    await openRunSidecar({ dir, device: () => device, definitions: defs, kernelVersions: KV, quick: true, toolchain });
    assert.strictEqual(readSidecar(dir)!.sessions.length, 2);
    await assert.rejects(openRunSidecar({ dir, device: () => ({ ...device, name: "NVIDIA H200" }), definitions: defs, kernelVersions: KV, quick: false, toolchain }), /same GPU/);
    await assert.rejects(openRunSidecar({ dir, device: () => ({ ...device, smCount: -1 }), definitions: defs, kernelVersions: KV, quick: false, toolchain }), /device\.smCount/);
    // another commit may not resume the folder: its results would pass for this commit's
    await assert.rejects(openRunSidecar({ dir, device: () => device, definitions: defs, kernelVersions: KV, quick: false, toolchain: { ...toolchain, gitCommit: "abd" } }), /measured by this commit \(it was measured by abc\)/);
    assert.strictEqual(readSidecar(dir)!.sessions.length, 2);
    fs.rmSync(dir, { recursive: true });
  });
  it("runDirFor: the plain name for a new run or a resume of the same commit, a commit suffix beside another commit's run", async () => {
    const root = tmpdir();
    const c1 = "1".repeat(40), c2 = "2".repeat(40);
    const plain = path.join(root, "2026-11-21-nvidia-h100-80gb-hbm3");
    assert.strictEqual(runDirFor(root, "2026-11-21", device.name, c1), plain);
    const defs = [parseSweepDefinition(minimalDef(), "m.json", "f".repeat(64))];
    await openRunSidecar({ dir: plain, device: () => device, definitions: defs, kernelVersions: KV, quick: false, toolchain: { ...toolchain, gitCommit: c1 } });
    assert.strictEqual(runDirFor(root, "2026-11-21", device.name, c1), plain);
    assert.strictEqual(runDirFor(root, "2026-11-21", device.name, c2), `${plain}-2222222`);
    assert.throws(() => runDirFor(root, "21.11.2026", device.name, c1), /YYYY-MM-DD/);
    fs.rmSync(root, { recursive: true });
  });
  it("loadGpuBinding is tolerant of an absent module", () => {
    const r = loadGpuBinding("../does-not-exist");
    assert.strictEqual(r.ok, false);
    assert.ok(!r.ok && /not built/.test(r.reason));
  });
  it("GpuMeasurer reuses one device problem per configuration", async () => {
    const events: string[] = [];
    const fake: GpuBinding = {
      deviceCount: () => 1,
      deviceInfo: () => { throw new Error("unused"); },
      kernelVersions: () => KV,
      openDecodeProblem: (req) => (events.push(`open b${req.b}`), { id: req.b } as never),
      benchDecode: (h, v, o) => (events.push(`bench ${v} t${o.trials}`), [12.5]),
      selectKernel: (h, v) => (v === 0 ? 2 : v),
      closeDecodeProblem: () => void events.push("close"),
      probeCopyBandwidth: () => 1,
      probeGemmBf16: () => 1,
    };
    const m = new GpuMeasurer(fake);
    const plan = planRun([parseSweepDefinition(minimalDef(), "m.json")], { kernelVersions: KV, impls: ["ours"], quick: true });
    const dir = tmpdir();
    await runSweeps({ outDir: dir, plan, measure: m.measure, onConfigDone: m.configDone });
    assert.strictEqual(events.filter((e) => e.startsWith("open")).length, plan.length);
    assert.strictEqual(events.filter((e) => e === "close").length, plan.length);
    assert.strictEqual(events.filter((e) => e.startsWith("bench")).length, plan.length * 3);
    const rows = parseCsv(fs.readFileSync(path.join(dir, "results.csv"), "utf8")).rows;
    assert.ok(rows.filter((r) => r.kernelVersion === "0").every((r) => r.rung === "2" && r.kernelName === "mma_sync"), "the rung the binding says auto ran, and its name");
    fs.rmSync(dir, { recursive: true });
  });
});

describe("one name per quantity", () => {
  it("the results CSV's columns are the names of the sweep files and of the planned configuration", () => {
    const cfg = planRun([parseSweepDefinition(minimalDef(), "m.json")], { kernelVersions: KV, impls: ["ours"] })[0].cfg as unknown as Record<string, unknown>;
    const gridKeys = Object.keys((minimalDef().grids as Record<string, unknown>[])[0]).filter((k) => k !== "causal");
    for (const k of gridKeys) assert.ok((RESULT_COLUMNS as readonly string[]).includes(k), `sweep-file key ${k} is a column`);
    for (const c of RESULT_COLUMNS) {
      if (["impl", "kernelVersion", "rung", "kernelName", "timing", "trial", "us", "gbps", "tflops", "outRelDiff", "lseRelDiff", "status", "error", "startedAt"].includes(c)) continue;
      assert.ok(c in cfg, `column ${c} is a field of the planned configuration`);
    }
    for (const c of [...RESULT_COLUMNS, ...CEILING_COLUMNS]) assert.match(c, /^[a-z][A-Za-z0-9]*$/, `${c} is camelCase`);
  });
  it("the recorded run's CSVs carry exactly these headers (those of a run from before the added columns lack just them)", () => {
    const dir = recordedRun(path.join(REPO_SWEEPS, "..", "runs")).dir!;
    const before = RESULT_COLUMNS.filter((c) => !ADDED_COLUMNS.includes(c));
    for (const f of fs.readdirSync(dir).filter((x) => /^results.*\.csv$/.test(x))) {
      const h = readCsvFile(path.join(dir, f)).header;
      assert.ok(JSON.stringify(h) === JSON.stringify(RESULT_COLUMNS) || JSON.stringify(h) === JSON.stringify(before), `${f}: ${h.join(",")}`);
    }
    assert.deepStrictEqual(readCsvFile(path.join(dir, "ceilings.csv")).header, [...CEILING_COLUMNS]);
  });
});

describe("sweep/aggregate", () => {
  it("computes median, min, max and IQR per config x impl, counting errors", () => {
    const base = { sweep: "s", configId: "c", impl: "ours", kernelVersion: "2", kernelName: "mma", dtype: "bf16", b: "128", sQ: "1", hQ: "128", hKv: "1", meanSk: "4096", skDist: "fixed", seed: "0", causal: "false", actualMeanSk: "4096", maxSk: "4096", pageBlock: "64", warmup: "1", iters: "1", gbps: "1", tflops: "1", error: "", startedAt: "" };
    const rows = toTrialRows(
      [10, 20, 30, 40, 50].map((us, t) => ({ ...base, trial: String(t), us: String(us), status: "ok" })).concat([{ ...base, trial: "5", us: "", status: "error", error: "oops" }, { ...base, impl: "torch", kernelVersion: "", trial: "0", us: "", status: "error", error: "OOM" }]),
      "results.csv",
    );
    const agg = aggregateTrials(rows);
    const ours = agg.find((a) => a.impl === "ours")!;
    assert.strictEqual(ours.n, 5);
    assert.strictEqual(ours.nError, 1);
    assert.strictEqual(ours.usMedian, 30);
    assert.strictEqual(ours.usMin, 10);
    assert.strictEqual(ours.usMax, 50);
    assert.strictEqual(ours.usQ1, 20);
    assert.strictEqual(ours.usQ3, 40);
    assert.strictEqual(ours.usIqr, 20);
    assert.strictEqual(ours.label, "ours v2 (mma)");
    assert.ok(ours.intensity > 200 && ours.intensity < 250);
    const torch = agg.find((a) => a.impl === "torch")!;
    assert.strictEqual(torch.n, 0);
    assert.ok(Number.isNaN(torch.usMedian));
    assert.strictEqual(torch.error, "OOM");
  });
  it("finds the recorded run: RECORDED first, else the newest folder", () => {
    const root = tmpdir();
    assert.ok(recordedRun(root).dir === undefined);
    for (const d of ["2026-01-01-a", "2026-02-01-b"]) {
      fs.mkdirSync(path.join(root, d));
      fs.writeFileSync(path.join(root, d, "results.csv"), RESULT_COLUMNS.join(",") + "\n");
    }
    assert.strictEqual(path.basename(recordedRun(root).dir!), "2026-02-01-b");
    fs.writeFileSync(path.join(root, "RECORDED"), "2026-01-01-a\n");
    assert.strictEqual(path.basename(recordedRun(root).dir!), "2026-01-01-a");
    fs.writeFileSync(path.join(root, "RECORDED"), "gone\n");
    assert.ok(recordedRun(root).dir === undefined && /gone/.test(recordedRun(root).why));
    fs.rmSync(root, { recursive: true });
  });
});

describe("gitState (provenance of a run)", () => {
  const saved = process.env.MLA_COMMIT;
  afterEach(() => {
    if (saved === undefined) delete process.env.MLA_COMMIT;
    else process.env.MLA_COMMIT = saved;
  });
  it("prefers the commit carried in MLA_COMMIT over the tree's own git (a GPU machine's copy can have a stale .git)", () => {
    const sha = "c".repeat(40);
    process.env.MLA_COMMIT = sha;
    assert.deepStrictEqual(gitState(process.cwd()), { commit: sha, dirty: false });
    process.env.MLA_COMMIT = `${sha}-dirty`;
    assert.deepStrictEqual(gitState(process.cwd()), { commit: sha, dirty: true });
  });
  it("falls back to git, or to unknown outside a repository, when MLA_COMMIT is absent or malformed", () => {
    process.env.MLA_COMMIT = "not-a-sha";
    const here = gitState(process.cwd());
    assert.ok(/^[0-9a-f]{40}$/.test(here.commit) || here.commit === "unknown", here.commit);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mla-git-"));
    try {
      assert.deepStrictEqual(gitState(tmp), { commit: "unknown", dirty: "unknown" });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
  it("rejects a repoDir that is not a string", () => {
    assert.throws(() => gitState(42 as unknown as string), MlaArgumentError);
  });
});
