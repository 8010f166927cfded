import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { loadRun } from "../src/sweep/aggregate";
import { keyNumbers, reportMarkdown, targetsSection } from "../src/report/report";
import { verdicts } from "../src/bench/targets";
import { FIXTURE_GPU, makeSyntheticRun } from "./figures-fixture";

describe("report", function () {
  this.timeout(60000);
  let dir: string;
  before(async () => {
    dir = await makeSyntheticRun();
  });
  after(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  it("computes key numbers, each with a source naming file, config and statistic", () => {
    const k = keyNumbers(loadRun(dir));
    const ids = k.map((x) => x.id);
    for (const id of ["ceiling.copy", "ceiling.gemm", "grid.sq1.gbps", "grid.sq2.tflops", "seqlen.best.gbps", "batch.b1.us", "speedup.torch.geomean"]) assert.ok(ids.includes(id), id);
    const bw = k.find((x) => x.id === "grid.sq1.gbps")!;
    // Synthetic: 80% of a 3000 GB/s roofline, plus small overheads.
    assert.ok(bw.value > 1500 && bw.value < 2500, String(bw.value));
    assert.match(bw.source, /results\.csv · flashmla-grid\/b128-sq1-hq128-hkv1-sk\d+-normal-seed0 · ours \(auto\) · median of 2 trials/);
    const sp = k.find((x) => x.id === "speedup.torch.geomean")!;
    assert.ok(sp.value > 4 && sp.value < 9, String(sp.value));
  });

  it("gives every key number its own id (the report pairs a new run's numbers with the recorded run's by id)", () => {
    const runs = [loadRun(dir)];
    const rec = path.join(__dirname, "..", "..", "data", "runs");
    const name = fs.existsSync(path.join(rec, "RECORDED")) ? fs.readFileSync(path.join(rec, "RECORDED"), "utf8").trim() : "";
    if (name && fs.existsSync(path.join(rec, name))) runs.push(loadRun(path.join(rec, name)));
    for (const run of runs) {
      const ids = keyNumbers(run).map((x) => x.id);
      const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
      assert.deepStrictEqual(twice, [], `${run.dir}: ids given to more than one key number`);
    }
  });

  it("says plainly when it drew from recorded data, and from which run", () => {
    const md = reportMarkdown({ run: loadRun(dir), mode: "recorded", why: "named in data/runs/RECORDED", now: new Date("2026-11-22T00:00:00Z") });
    assert.match(md, /No CUDA GPU on this machine: nothing was measured/);
    assert.ok(md.includes("2026-11-21-synthetic-h100"));
    assert.ok(md.includes("named in data/runs/RECORDED"));
    assert.ok(md.includes(FIXTURE_GPU));
    assert.match(md, /FlashMLA: not run: import flash_mla failed/);
    assert.match(md, /\| git commit \| 0123456789abcdef \|/);
  });

  it("puts the new numbers next to the recorded ones", async () => {
    const other = await makeSyntheticRun();
    const md = reportMarkdown({ run: loadRun(dir), recorded: loadRun(other), mode: "measured" });
    assert.match(md, /\| quantity \| this run \| recorded \(`2026-11-21-synthetic-h100`\) \| unit \| source \(this run\) \|/);
    assert.match(md, /\*\*Measured now\*\*/);
    fs.rmSync(path.dirname(other), { recursive: true, force: true });
  });

  it("lists the ladder's rungs in numeric order (v1, v2, ..., v10, v11), the baseline first", () => {
    const ladder = keyNumbers(loadRun(dir)).filter((k) => k.id.startsWith("ladder.") && /h_q=128, s_q=2/.test(k.quantity));
    const versions = ladder.map((k) => (/: ours v(\d+)/.exec(k.quantity) ?? [])[1]).filter((v) => v !== undefined).map(Number);
    assert.ok(versions.length >= 10, JSON.stringify(versions));
    assert.deepStrictEqual(versions, [...versions].sort((a, b) => a - b));
    assert.match(ladder[0].quantity, /PyTorch/);
  });

  it("states the performance targets with their verdicts, and FlashMLA beside ours where the run has it", async () => {
    const run = loadRun(dir);
    const md = reportMarkdown({ run, mode: "recorded" });
    const vs = verdicts(run);
    assert.ok(vs.some((v) => v.best), "the fixture measures the targets sweep");
    assert.ok(md.includes(`${vs.filter((v) => v.met).length} of ${vs.length} targets met on ${FIXTURE_GPU}`));
    for (const v of vs) assert.ok(md.includes(`| ${v.target.replace(/\|/g, "\\|")} |`), v.target);
    assert.match(md, /## Performance targets[\s\S]*FlashMLA: not in this run\./);
    const d2 = await makeSyntheticRun({ flashmla: true });
    try {
      const withFlash = targetsSection(loadRun(d2)).join("\n");
      const measured = loadRun(d2).agg.some((r) => r.impl === "flashmla" && r.n > r.nError && r.b === 128 && r.hQ === 128 && r.sQ === 2);
      if (measured) assert.match(withFlash, /TFLOP\/s \(FlashMLA/);
    } finally {
      fs.rmSync(path.dirname(d2), { recursive: true, force: true });
    }
  });

  it("validates its arguments", () => {
    assert.throws(() => reportMarkdown({ run: loadRun(dir), mode: "maybe" as never }), /o\.mode/);
    assert.throws(() => keyNumbers(null as never), /run/);
  });
});
