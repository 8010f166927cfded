/**
 * The library's automatic choice of kernel (kernel_version 0, kernels/src/api.cu
 * select_kernel) against the recorded run: on every configuration where
 * libmla's own loop measured several rungs (the "all" sweeps, the explicit
 * rungs of the FlashMLA bench grid), the rung mla_select_kernel picks for the
 * shape on the run's GPU (its SM count from run.json) ran within 3% of the
 * fastest measured rung. A configuration whose chosen rung was not measured is
 * skipped; a run with per-rung data of which no configuration could be checked
 * fails.
 *
 * Needs the built libmla (mla_select_kernel needs no GPU): pending with the
 * reason without it. Pending too, with what the check finds printed, when the
 * recorded run measured another set of rungs than this build has: it was made
 * with another library, and the rule is for this one (re-make the recorded run).
 */
import * as assert from "assert";
import * as path from "path";
import { AutoChoiceCheck, checkAutoChoice } from "../src/analysis/run";
import { loadNative, selectKernelFor } from "../src/gpu";
import { AggRow, LoadedRun, loadRun, recordedRun } from "../src/sweep/aggregate";

const RUNS = path.join(__dirname, "..", "..", "data", "runs");
const TOLERANCE = 0.03;

/** The rungs this build has: [1, "simt"], ... (mla_kernel_name). */
function libraryRungs(): string[] {
  const lib = loadNative();
  const out: string[] = [];
  for (let v = 1; v < 64; v++) {
    const n = lib.fn.mla_kernel_name(v);
    if (!n) break;
    out.push(`v${v} ${n}`);
  }
  return out;
}

function chooser(smCount: number) {
  return (r: AggRow): number => selectKernelFor({ b: r.b, sQ: r.sQ, hQ: r.hQ, hKv: r.hKv, maxBlocksPerSeq: Math.max(1, Math.ceil(r.maxSk / 64)), causal: r.causal }, smCount);
}

function describeCheck(c: AutoChoiceCheck): string {
  const best = c.rungs[0];
  return `${c.sweep}/${c.configId}: auto picks v${c.chosen}${c.over === undefined ? " (not measured)" : ` at +${(100 * c.over).toFixed(1)}%`} of the fastest, v${best.kernelVersion} ${best.usMedian.toFixed(1)} us`;
}

describe("the automatic choice of kernel against the recorded run", function () {
  this.timeout(60000);
  let run: LoadedRun;
  let smCount: number;

  before(function () {
    try {
      loadNative();
    } catch (e) {
      console.warn(`    pending: ${(e as Error).message}`);
      this.skip();
    }
    const rec = recordedRun(RUNS);
    if (!rec.dir) {
      console.warn(`    pending: no recorded run (${rec.why})`);
      this.skip();
    }
    run = loadRun(rec.dir!);
    const sms = run.provenance?.device?.smCount;
    if (!(Number.isInteger(sms) && sms! > 0)) {
      console.warn(`    pending: ${run.dir} has no run.json with the GPU's SM count`);
      this.skip();
    }
    smCount = sms!;
  });

  it("picks, on every configuration with several measured rungs, one within 3% of the fastest", function () {
    const checks = checkAutoChoice(run.agg, chooser(smCount), TOLERANCE);
    const measured = (run.provenance?.kernelVersions ?? []).map((k) => `v${k.version} ${k.name}`);
    const have = libraryRungs();
    if (JSON.stringify(measured) !== JSON.stringify(have)) {
      for (const c of checks) console.warn(`      ${c.verdict === "slower" ? "SLOWER" : c.verdict}: ${describeCheck(c)}`);
      console.warn(`    pending: the recorded run ${path.basename(run.dir)} measured ${measured.join(", ") || "no listed rungs"}; this build has ${have.join(", ")}. Re-make the recorded run (make reproduce on a GPU) to check the rule; what it finds on the old run is listed above.`);
      this.skip();
    }
    if (checks.length === 0) {
      console.warn(`    nothing to check: ${run.dir} measured no configuration with several rungs`);
      return;
    }
    const judged = checks.filter((c) => c.verdict !== "not measured");
    assert.ok(judged.length > 0, `the run measured ${checks.length} configurations with several rungs, but never the rung the automatic choice picks: ${checks.map(describeCheck).join("; ")}`);
    const slow = judged.filter((c) => c.verdict === "slower");
    assert.deepStrictEqual(slow.map(describeCheck), [], "the automatic choice is more than 3% slower than the fastest rung");
  });

  it("checkAutoChoice finds a slow choice, skips an unmeasured one, and ignores auto and side-by-side rows", () => {
    const row = (configId: string, kv: string, us: number, timing = "bench"): AggRow => ({ sweep: "s", configId, impl: "ours", kernelVersion: kv, timing, usMedian: us, n: 3 }) as unknown as AggRow;
    const rows = [row("a", "9", 100), row("a", "10", 105), row("b", "9", 100), row("b", "10", 102), row("c", "9", 100), row("c", "10", 90), row("c", "0", 10), row("c", "11", 1, "graph"), row("d", "9", 5)];
    const got = checkAutoChoice(rows, () => 10, TOLERANCE);
    assert.deepStrictEqual(
      got.map((c) => [c.configId, c.verdict, c.rungs.length]),
      [["a", "slower", 2], ["b", "within", 2], ["c", "within", 2]],
    );
    assert.strictEqual(checkAutoChoice(rows, () => 11, TOLERANCE).every((c) => c.verdict === "not measured"), true);
  });
});
