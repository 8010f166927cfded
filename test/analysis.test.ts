import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { oursPerConfig, isMeasured, median, quantile, runContext } from "../src/analysis/run";
import { MlaArgumentError } from "../src/errors";
import { AggRow, aggregateTrials, loadRun, toTrialRows } from "../src/sweep/aggregate";
import { FIXTURE_GPU, makeSyntheticRun } from "./figures-fixture";

describe("analysis/run", function () {
  this.timeout(60000);

  it("median and quantile: linear between ranks, non-finite values ignored, undefined when empty", () => {
    assert.strictEqual(median([3, 1, 2]), 2);
    assert.strictEqual(median([4, 1, 3, 2]), 2.5);
    assert.strictEqual(median([5, NaN, 1, Infinity]), 3);
    assert.strictEqual(median([]), undefined);
    assert.strictEqual(median([NaN]), undefined);
    assert.strictEqual(quantile([10, 20, 30, 40, 50], 0.25), 20);
    assert.strictEqual(quantile([10, 20, 30, 40], 0.25), 17.5);
    assert.strictEqual(quantile([10, 20, 30, 40], 0), 10);
    assert.strictEqual(quantile([10, 20, 30, 40], 1), 40);
    assert.strictEqual(quantile([7], 0.75), 7);
    assert.throws(() => quantile([1], 1.5), (e: unknown) => e instanceof MlaArgumentError && e.argument === "p");
    assert.throws(() => quantile("1, 2" as never, 0.5), (e: unknown) => e instanceof MlaArgumentError && e.argument === "values");
  });

  it("oursPerConfig keeps the lowest-median kernel version per configuration and every baseline row", () => {
    const row = (configId: string, impl: string, kernelVersion: string, usMedian: number): AggRow => ({ sweep: "s", configId: configId, impl, kernelVersion: kernelVersion, usMedian: usMedian, n: 1 }) as unknown as AggRow;
    const rows = [row("a", "ours", "1", 30), row("a", "ours", "2", 10), row("a", "ours", "3", 20), row("b", "ours", "1", 5), row("a", "torch", "", 100)];
    const f = oursPerConfig(rows);
    assert.deepStrictEqual(f.map((r) => `${r.configId}:${r.impl}${r.kernelVersion}`), ["a:ours2", "b:ours1", "a:torch"]);
    assert.strictEqual(isMeasured(row("a", "ours", "1", NaN)), false);
    assert.strictEqual(isMeasured({ ...row("a", "ours", "1", 3), n: 0 }), false);
    assert.strictEqual(isMeasured(row("a", "ours", "1", 3)), true);
  });

  it("oursPerConfig: the automatic choice where measured, libmla's own loop only, each baseline once by graph replay", () => {
    const row = (configId: string, impl: string, kernelVersion: string, usMedian: number, timing = impl === "ours" ? "bench" : "events"): AggRow => ({ sweep: "s", configId, impl, kernelVersion, timing, usMedian, n: 1 }) as unknown as AggRow;
    const rows = [
      row("a", "ours", "9", 10), row("a", "ours", "0", 12), row("a", "ours", "10", 11),
      row("a", "ours", "0", 5, "graph"), row("a", "ours", "0", 6, "events"),
      row("a", "flashmla", "", 14, "events"), row("a", "flashmla", "", 13, "graph"), row("a", "torch", "", 100),
      row("b", "ours", "9", 10), row("b", "ours", "10", 9), row("b", "flashmla", "", 20, "events"),
    ];
    const key = (r: AggRow) => `${r.configId}:${r.impl}${r.kernelVersion}/${r.timing}`;
    assert.deepStrictEqual(oursPerConfig(rows).map(key), ["a:ours0/bench", "b:ours10/bench", "a:flashmla/graph", "a:torch/events", "b:flashmla/events"]);
  });

  it("toTrialRows reads a results CSV from before rung, timing and the output check with what they stood for then", () => {
    const base = { sweep: "s", configId: "c", trial: "0", us: "5", status: "ok", b: "1", sQ: "1", hQ: "16", hKv: "1", meanSk: "64", actualMeanSk: "64" };
    const [ours, torch, auto] = toTrialRows([{ ...base, impl: "ours", kernelVersion: "9" }, { ...base, impl: "torch", kernelVersion: "" }, { ...base, impl: "ours", kernelVersion: "0", rung: "", timing: "graph", outRelDiff: "0.01" }], "results.csv");
    assert.deepStrictEqual([ours.rung, ours.timing, Number.isNaN(ours.outRelDiff)], ["9", "bench", true]);
    assert.deepStrictEqual([torch.rung, torch.timing], ["", "events"]);
    assert.deepStrictEqual([auto.rung, auto.timing, auto.outRelDiff], ["", "graph", 0.01]);
    const agg = aggregateTrials(toTrialRows([{ ...base, impl: "ours", kernelVersion: "0", rung: "9", kernelName: "lazy", timing: "bench" }, { ...base, impl: "ours", kernelVersion: "0", rung: "9", kernelName: "lazy", timing: "graph" }], "r.csv"));
    assert.deepStrictEqual(agg.map((a) => [a.timing, a.rung, a.label]), [["bench", "9", "ours (auto)"], ["graph", "9", "ours (auto, CUDA graph)"]]);
  });

  it("runContext: measured ceilings from the probes, datasheet from the GPU name, measured preferred", async () => {
    const dir = await makeSyntheticRun({ torch: false });
    try {
      const run = loadRun(dir);
      const ctx = runContext(run);
      assert.strictEqual(ctx.provenance.gpuName, FIXTURE_GPU);
      assert.deepStrictEqual(ctx.measured, { bandwidth: 3.0e12, flops: 660e12 });
      assert.ok(ctx.sheet && ctx.sheet.bandwidth > 3e12, "H100 SXM datasheet");
      assert.strictEqual(ctx.best, ctx.measured);
      assert.strictEqual(ctx.bestIsMeasured, true);
      const noProbes = runContext({ ...run, measured: {} });
      assert.strictEqual(noProbes.best, noProbes.sheet);
      assert.strictEqual(noProbes.bestIsMeasured, false);
    } finally {
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });

  it("is what the report and the figures use: neither reaches into the other for it", () => {
    const src = (f: string): string => fs.readFileSync(path.join(__dirname, "..", "..", "src", f), "utf8");
    for (const f of ["report/report.ts", "figures/paper.ts"]) assert.match(src(f), /from "\.\.\/analysis\/run"/, f);
    assert.doesNotMatch(src("report/report.ts"), /from "\.\.\/figures\/paper"/);
  });
});
