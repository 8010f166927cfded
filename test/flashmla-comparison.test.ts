/**
 * FlashMLA beside ours, from the side-by-side rows of a run: the bench
 * comparison and its verdicts (src/bench/flashmla.ts), the figures, the
 * report and the artifact's claims. A synthetic run with side-by-side rows
 * (the fixture writes raw-sidebyside.jsonl as the Python baseline does and
 * ingests it), and one without (like the recorded run so far): absent data
 * must leave every figure drawable and say why.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { oursPerConfig, sideBySide, SideBySide, SWEEPS } from "../src/analysis/run";
import { claimsMarkdown } from "../src/artifact/claims";
import { benchPairs, comparisonMarkdown, comparisonRows, comparisonText, comparisonVerdicts, isFlashmlaGrid, isLongSingle } from "../src/bench/flashmla";
import { allFigures, bandwidthVsSkFigure, isSkipped, ladderFigure, PaperFigure, rooflineFigure, speedupFigure } from "../src/figures/paper";
import { keyNumbers, reportMarkdown } from "../src/report/report";
import { AggRow, LoadedRun, loadRun } from "../src/sweep/aggregate";
import { readCsvFile, RESULT_COLUMNS } from "../src/sweep/csv";
import { expandConfigs, loadSweepDefinition } from "../src/sweep/definitions";
import { FIXTURE_DIFF, FLASHMLA_SLOWER, FLASHMLA_SLOWER_B1, makeSyntheticRun } from "./figures-fixture";

const ROOT = path.join(__dirname, "..", "..");
const BENCH_CLI = path.join(__dirname, "..", "src", "bench", "cli.js");

type Trace = { name?: string; type?: string; x?: unknown[]; y?: unknown[]; line?: { dash?: string } };
const traces = (f: PaperFigure): Trace[] => f.spec.data as Trace[];

describe("FlashMLA side by side", function () {
  this.timeout(180000);
  let withDir: string;
  let withoutDir: string;
  let run: LoadedRun;
  let bare: LoadedRun;
  before(async () => {
    withDir = await makeSyntheticRun({ flashmla: true });
    withoutDir = await makeSyntheticRun();
    run = loadRun(withDir);
    bare = loadRun(withoutDir);
  });
  after(() => {
    for (const d of [withDir, withoutDir]) fs.rmSync(path.dirname(d), { recursive: true, force: true });
  });

  it("ingest writes results-sidebyside.csv: timing, the rung auto ran, the output check; loadRun keeps the timings apart", () => {
    const csv = readCsvFile(path.join(withDir, "results-sidebyside.csv"));
    assert.deepStrictEqual(csv.header, [...RESULT_COLUMNS]);
    const ours = csv.rows.filter((r) => r.impl === "ours");
    assert.ok(ours.length > 0 && ours.every((r) => r.kernelVersion === "0" && ["9", "10"].includes(r.rung) && Number(r.outRelDiff) === FIXTURE_DIFF.outRelDiff));
    assert.ok(csv.rows.filter((r) => r.impl === "flashmla").every((r) => r.kernelVersion === "" && r.rung === "" && r.outRelDiff === ""));
    assert.deepStrictEqual([...new Set(csv.rows.map((r) => r.timing))].sort(), ["events", "graph"]);
    // one configuration of ours: libmla's loop (bench) and the two side-by-side timings stay three rows
    const cid = ours[0].configId;
    const agg = run.agg.filter((a) => a.sweep === ours[0].sweep && a.configId === cid && a.impl === "ours" && a.kernelVersion === "0");
    assert.deepStrictEqual(agg.map((a) => a.timing).sort(), ["bench", "events", "graph"]);
    assert.deepStrictEqual(agg.map((a) => a.label).sort(), ["ours (auto)", "ours (auto, CUDA graph)", "ours (auto, eager)"]);
  });

  it("pairs ours (auto) with FlashMLA per configuration; the ratio is FlashMLA's time over ours, graph replay first", () => {
    const pairs = sideBySide(run.agg);
    const sweeps = new Set(pairs.map((p) => p.sweep));
    for (const s of [SWEEPS.grid, SWEEPS.seqlen, SWEEPS.ladder, SWEEPS.bench]) assert.ok(sweeps.has(s), s);
    assert.ok(!sweeps.has(SWEEPS.targets), "the targets sweep does not list flashmla");
    for (const p of pairs) {
      assert.strictEqual(p.timing, "graph");
      assert.strictEqual(p.ratio, p.flashmla.graph!.usMedian / p.ours.graph!.usMedian);
      const expect = p.config.b === 1 ? FLASHMLA_SLOWER_B1 : FLASHMLA_SLOWER;
      assert.ok(Math.abs(p.ratio! / expect - 1) < 0.05, `${p.configId}: ${p.ratio}`);
      // eager calls carry the same host overhead on both sides here: a smaller ratio
      assert.ok(p.ratioEvents! < p.ratioGraph!);
      assert.strictEqual(p.outRelDiff, FIXTURE_DIFF.outRelDiff);
      assert.strictEqual(p.rung, String((p.config.sQ * p.config.hQ) / p.config.hKv <= 64 ? 9 : 10));
    }
    // "ours" of the figures: libmla's own loop, the automatic choice; FlashMLA once, by graph replay
    const chosen = oursPerConfig(run.agg.filter((r) => r.n > 0));
    assert.ok(chosen.filter((r) => r.impl === "ours").every((r) => r.timing === "bench" && r.kernelVersion === "0"));
    assert.ok(chosen.filter((r) => r.impl === "flashmla").every((r) => r.timing === "graph"));
    assert.strictEqual(new Set(chosen.map((r) => `${r.sweep}|${r.configId}|${r.impl}`)).size, chosen.length);
  });

  it("the bench table: every configuration of the bench grid with ours, FlashMLA, both ratios, the rung and the check", () => {
    const rows = comparisonRows(run);
    const grid = expandConfigs(loadSweepDefinition(path.join(ROOT, "data", "sweeps", "h-flashmla-bench.json")), true);
    assert.deepStrictEqual(rows.map((r) => r.pair.configId), grid.map((c) => c.configId));
    for (const r of rows) {
      assert.match(r.bestRung, /^v(9|10|11)$/, "the fastest rung of libmla's loop");
      assert.ok(r.autoOverBest !== undefined && Number.isFinite(r.autoOverBest));
    }
    const text = comparisonText(run);
    assert.strictEqual(text.split("\n").filter((l) => /^b=\d+ s_q=/.test(l)).length, grid.length);
    for (const r of rows) assert.ok(text.includes(r.pair.ratioGraph!.toFixed(3)), r.pair.configId);
    assert.match(text, /MET {5}ours at least as fast as FlashMLA on every configuration/);
    assert.match(text, /MET {5}one request, long context \(b=1, s_k >= 16384\): FlashMLA \/ ours >= 1\.5: 1\.[67]\d\d×/);
    assert.match(text, /MET {5}outputs agree/);
  });

  it("the verdicts follow the numbers: each can fail", () => {
    const pairs = benchPairs(run);
    const v = comparisonVerdicts(pairs);
    assert.deepStrictEqual(v.map((x) => x.met), [true, true, true, true, true]);
    const grid = pairs.filter((p) => isFlashmlaGrid(p.config));
    assert.ok(grid.length > 0 && pairs.some((p) => isLongSingle(p.config)));
    const scale = (ps: SideBySide[], f: number, which: (p: SideBySide) => boolean): SideBySide[] => ps.map((p) => (which(p) ? { ...p, ratio: p.ratio! * f } : p));
    const one = pairs.find((p) => p.config.b !== 1)!;
    const slowerOnce = scale(pairs, 0.85, (p) => p === one);
    assert.deepStrictEqual(comparisonVerdicts(slowerOnce).map((x) => x.met).slice(0, 1), [false]);
    assert.strictEqual(comparisonVerdicts(scale(pairs, 0.92, isFlashmlaGridPair))[1].met, false, "grid median 1.12 x 0.92 < 1.05");
    assert.strictEqual(comparisonVerdicts(scale(pairs, 0.85, (p) => isLongSingle(p.config)))[2].met, false, "b=1: 1.7 x 0.85 < 1.5");
    assert.strictEqual(comparisonVerdicts(pairs.map((p, i) => (i === 0 ? { ...p, outRelDiff: 0.5 } : p)))[3].met, false);
    assert.strictEqual(comparisonVerdicts(pairs.map((p, i) => (i === 0 ? { ...p, ratio: undefined } : p)))[0].met, false, "a configuration without a ratio fails 'every configuration'");
    assert.ok(comparisonVerdicts([]).slice(0, 4).every((x) => !x.met && x.value === undefined));
  });

  it("npm run bench --run DIR prints the targets and the FlashMLA comparison", () => {
    const r = spawnSync(process.execPath, [BENCH_CLI, "--run", withDir], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /targets \(set for an H100 SXM/);
    assert.match(r.stdout, /ours \(auto\) against FlashMLA, side by side/);
    assert.match(r.stdout, /verdicts \(headline: CUDA-graph replay\)/);
    const none = spawnSync(process.execPath, [BENCH_CLI, "--run", withoutDir], { encoding: "utf8" });
    assert.strictEqual(none.status, 0, none.stderr);
    assert.match(none.stdout, /FlashMLA side by side: no side-by-side measurement .*import flash_mla failed: ModuleNotFoundError/);
  });

  it("figures: FlashMLA in the roofline, bandwidth and ladder (reference lines), a FlashMLA baseline in the speed-up", () => {
    const roof = rooflineFigure(run) as PaperFigure;
    assert.ok(traces(roof).some((t) => t.name === "FlashMLA (CUDA graph)"));
    assert.ok(!traces(roof).some((t) => /ours \(auto, /.test(t.name ?? "")), "side-by-side rows of ours are not a second 'ours'");
    const bw = bandwidthVsSkFigure(run) as PaperFigure;
    const fm = traces(bw).find((t) => t.name === "FlashMLA (CUDA graph)");
    assert.ok(fm && fm.x!.length === traces(bw).find((t) => t.name === "ours (auto)")!.x!.length);
    const ladder = ladderFigure(run) as PaperFigure;
    const refs = traces(ladder).filter((t) => t.type === "scatter" && t.line?.dash === "dash");
    assert.strictEqual(refs.length, new Set(run.agg.filter((r) => r.sweep === SWEEPS.ladder).map((r) => r.configId)).size);
    assert.ok(refs.every((t) => /^FlashMLA \(CUDA graph\), (memory|compute)-bound: \d+%$/.test(t.name!)));
    assert.ok(!traces(ladder).some((t) => t.type === "bar" && (t.x as string[]).some((x) => /auto/.test(x))), "the ladder's bars are the rungs");
    assert.match(ladder.caption, /Dashed: FlashMLA/);
    const sp = speedupFigure(run) as PaperFigure;
    const bars = traces(sp).filter((t) => t.type === "bar");
    assert.deepStrictEqual(bars.map((t) => t.name), ["vs FlashMLA (CUDA graph)", "vs PyTorch (eager)"]);
    const pairs = sideBySide(run.agg);
    const fmBar = bars[0];
    (fmBar.y as string[]).forEach((label, i) => {
      const [sweep] = label.split(":");
      const ratios = pairs.filter((p) => p.sweep === sweep).map((p) => p.ratio);
      assert.ok(ratios.includes((fmBar.x as number[])[i]), `${label}: the pair's ratio`);
    });
    assert.match(sp.caption, /Against FlashMLA: both in one process on the same tensors/);
  });

  it("without FlashMLA data every figure still draws, with no FlashMLA trace and the old captions", () => {
    const figs = allFigures(bare);
    assert.ok(figs.every((f) => !isSkipped(f)), JSON.stringify(figs.filter(isSkipped)));
    for (const f of figs as PaperFigure[]) assert.ok(!traces(f).some((t) => /FlashMLA/.test(t.name ?? "")), f.name);
    assert.doesNotMatch((ladderFigure(bare) as PaperFigure).caption, /FlashMLA/);
    assert.doesNotMatch((speedupFigure(bare) as PaperFigure).caption, /FlashMLA/);
  });

  it("the report and the claims carry the comparison table and verdicts, or say why it is missing", () => {
    const md = reportMarkdown({ run, mode: "recorded", now: new Date("2026-11-22T00:00:00Z") });
    assert.match(md, /## FlashMLA side by side \(bench grid, sweep `flashmla-bench`\)/);
    const table = comparisonMarkdown(run);
    assert.ok(md.includes(table));
    assert.strictEqual(table.split("\n").filter((l) => l.startsWith("| b=")).length, benchPairs(run).length);
    assert.match(table, /\| one request, long context \(b=1, s_k >= 16384\): FlashMLA \/ ours >= 1\.5 \| 1\.\d{3}× \| met \|/);
    const k = keyNumbers(run).find((x) => x.id === "speedup.flashmla.geomean")!;
    const ratios = sideBySide(run.agg).filter((p) => p.sweep !== SWEEPS.ladder).map((p) => p.ratio!);
    assert.ok(Math.abs(k.value - Math.exp(ratios.reduce((a, x) => a + Math.log(x), 0) / ratios.length)) < 1e-12);
    assert.match(k.source, /results-sidebyside\.csv/);
    const claims = claimsMarkdown(run, ROOT);
    assert.ok(claims.includes(table), "the claims carry the same table");
    const bareMd = reportMarkdown({ run: bare, mode: "recorded" });
    assert.match(bareMd, /_FlashMLA side by side: no side-by-side measurement of the bench grid \(sweep flashmla-bench\) in this run: import flash_mla failed: ModuleNotFoundError\._/);
    assert.ok(!keyNumbers(bare).some((x) => x.id.startsWith("speedup.flashmla")));
  });
});

function isFlashmlaGridPair(p: SideBySide): boolean {
  return isFlashmlaGrid(p.config as AggRow);
}
