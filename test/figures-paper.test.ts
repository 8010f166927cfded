import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadRun } from "../src/sweep/aggregate";
import { allFigures, bandwidthVsHqFigure, crossoverRows, MEMORY_BOUND_MAX_HQ, intensityForRows, isSkipped, PaperFigure, speedupFigure } from "../src/figures/paper";
import { drawFigures } from "../src/figures/cli";
import { chromiumAvailable, chromiumPath } from "../src/figures/render";
import { arithmeticIntensity, ridgePoint } from "../src/roofline/accounting";
import { FIXTURE_GPU, makeSyntheticRun } from "./figures-fixture";

const CLI = path.join(__dirname, "..", "src", "figures", "cli.js");

describe("figures/paper from a synthetic run", function () {
  this.timeout(120000);
  let dir: string;
  before(async () => {
    dir = await makeSyntheticRun();
  });
  after(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  it("builds all six figures with captions naming GPU and date and units on every axis", () => {
    const figs = allFigures(loadRun(dir));
    assert.deepStrictEqual(figs.map((f) => f.name), ["roofline", "bandwidth-vs-hq", "bandwidth-vs-sk", "tflops-vs-hq-sq", "kernel-ladder", "speedup-over-baselines", "latency-vs-batch"]);
    for (const f of figs) {
      assert.ok(!isSkipped(f), `${f.name}: ${isSkipped(f) ? f.skipped : ""}`);
      const p = f as PaperFigure;
      assert.ok(p.caption.includes(FIXTURE_GPU) && p.caption.includes("2026-11-21"), p.caption);
      const lay = p.spec.layout as { xaxis: { title: { text: string } }; yaxis: { title: { text: string } } };
      assert.match(lay.xaxis.title.text, /\(.+\)$/, `${f.name} x axis has a unit`);
      assert.match(lay.yaxis.title.text, /\(.+\)$/, `${f.name} y axis has a unit`);
      assert.ok(p.spec.data.length > 0);
      assert.ok(p.source.includes(dir));
      assert.match(p.claim, /\d/, `${f.name}: its claim carries the run's numbers`);
    }
  });

  it("draws the memory-bound figure at h_q <= 64 with the copy ceiling, and says FlashMLA is not in the run", () => {
    const run = loadRun(dir);
    const f = bandwidthVsHqFigure(run) as PaperFigure;
    const traces = f.spec.data as { name: string; x: number[]; y: number[] }[];
    const pts = traces.filter((t) => !/bandwidth/.test(t.name));
    assert.ok(pts.length > 0 && pts.every((t) => t.x.every((h) => h <= MEMORY_BOUND_MAX_HQ)), JSON.stringify(pts.map((t) => t.x)));
    const copy = traces.find((t) => /measured copy bandwidth/.test(t.name))!;
    assert.strictEqual(copy.y[0], run.measured.copyGBps);
    assert.ok(!traces.some((t) => /FlashMLA/.test(t.name)));
    assert.match(f.caption, /FlashMLA: not in this run \(import flash_mla failed/);
    const best = Math.max(...pts.flatMap((t) => t.y));
    assert.ok(f.claim.includes(`${best.toFixed(0)} GB/s`), f.claim);
  });

  it("draws FlashMLA's points in the memory-bound figure when the run has them", async () => {
    const d2 = await makeSyntheticRun({ flashmla: true });
    try {
      const run = loadRun(d2);
      const f = bandwidthVsHqFigure(run) as PaperFigure;
      const flash = (f.spec.data as { name: string; x: number[] }[]).filter((t) => /FlashMLA/.test(t.name));
      // The fixture measures FlashMLA side by side on the bench grid, which holds ours's shape (b=128, s_k=8192 fixed) at h_q 16, 32, 64.
      const rows = run.agg.filter((r) => r.impl === "flashmla" && r.sQ === 1 && r.hKv === 1 && r.hQ <= MEMORY_BOUND_MAX_HQ && r.b === 128 && r.meanSk === 8192 && r.skDist === "fixed" && r.n > r.nError);
      assert.ok(rows.length > 0, "the fixture has FlashMLA at the drawn shape");
      assert.strictEqual(flash.length, 1, "one FlashMLA series at the shape ours is drawn at");
      assert.deepStrictEqual(flash[0].x, [...new Set(rows.map((r) => r.hQ))].sort((a, b) => a - b), "one point per h_q");
      assert.match(f.caption, /FlashMLA: the same shapes in this run \(side by side/);
    } finally {
      fs.rmSync(path.dirname(d2), { recursive: true, force: true });
    }
  });

  it("marks both ridge points on the roofline", () => {
    const f = allFigures(loadRun(dir))[0] as PaperFigure;
    const ridges = (f.spec.data as { name: string }[]).filter((d) => /ridge/.test(d.name));
    assert.strictEqual(ridges.length, 2);
    assert.strictEqual((f.spec.layout as { shapes: unknown[] }).shapes.length, 2);
  });

  it("skips the speed-up figure with the reason when no baseline ran", async () => {
    const d2 = await makeSyntheticRun({ torch: false });
    const f = speedupFigure(loadRun(d2));
    assert.ok(isSkipped(f) && /No module named 'torch'/.test(f.skipped));
    fs.rmSync(path.dirname(d2), { recursive: true, force: true });
  });

  it("computes the memory-to-compute crossover consistently with accounting.ts", () => {
    const c = { bandwidth: 3.35e12, flops: 989.4e12 };
    const x = crossoverRows(c, 8192);
    assert.ok(Math.abs(intensityForRows(x, 8192) / ridgePoint(c) - 1) < 1e-9);
    assert.ok(Math.abs(intensityForRows(128, 8192) - arithmeticIntensity({ b: 7, sQ: 1, hQ: 128, hKv: 1, meanSk: 8192 })) < 1e-9);
    assert.ok(x > 128 && x < 256, String(x));
  });

  it("drawFigures writes html (and svg/png/pdf with Chromium), figures.json and index.html", async function () {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "mla-figs-"));
    const htmlOnly = !chromiumAvailable();
    if (htmlOnly) console.warn(`    static formats not checked: no Chromium at ${chromiumPath()} (apt-get install chromium)`);
    const m = await drawFigures({ dataDir: dir, outDir: out, htmlOnly, log: () => undefined });
    assert.strictEqual(m.figures.length, 7);
    for (const f of m.figures) {
      assert.ok(!("skipped" in f));
      assert.ok(fs.existsSync(path.join(out, `${f.name}.html`)));
      if (!htmlOnly) {
        assert.ok(fs.readFileSync(path.join(out, `${f.name}.svg`), "utf8").startsWith("<svg"));
        assert.strictEqual(fs.readFileSync(path.join(out, `${f.name}.png`)).readUInt32BE(0), 0x89504e47);
        assert.strictEqual(fs.readFileSync(path.join(out, `${f.name}.pdf`)).subarray(0, 4).toString(), "%PDF");
      }
    }
    assert.ok(fs.existsSync(path.join(out, "figures.json")) && fs.existsSync(path.join(out, "index.html")));
    // The index: per figure a thumbnail (its PNG) where drawn, and the claim it supports.
    const index = fs.readFileSync(path.join(out, "index.html"), "utf8");
    for (const f of m.figures) {
      if ("skipped" in f) continue;
      assert.ok(index.includes(f.claim.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")), `${f.name}: claim on the index`);
      if (!htmlOnly) assert.ok(index.includes(`<img src="${f.name}.png"`), `${f.name}: thumbnail on the index`);
    }
    if (process.env.MLA_KEEP_FIGURES) fs.cpSync(out, process.env.MLA_KEEP_FIGURES, { recursive: true });
    fs.rmSync(out, { recursive: true });
  });

  it("the CLI says clearly when there is no data (exit 2)", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "mla-empty-"));
    const r = spawnSync(process.execPath, [CLI, "--runs-root", empty, "--out", path.join(empty, "f")], { encoding: "utf8" });
    assert.strictEqual(r.status, 2, r.stderr);
    assert.match(r.stderr, /no data to draw figures from/);
    assert.match(r.stderr, /make reproduce/);
    fs.rmSync(empty, { recursive: true });
  });
});
