import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as path from "path";
import { loadSweepDirectory } from "../src/sweep/definitions";
import { planRun } from "../src/sweep/runner";

const ROOT = path.join(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "baselines", "torch_mla_decode.py");

function havePython(): boolean {
  return spawnSync("python3", ["--version"]).status === 0;
}

// The PyTorch baseline re-implements the sweep expansion and the length generator in Python;
// these tests keep the two in lockstep (same configs, same ids, same lengths).
describe("baselines/torch_mla_decode.py agrees with the TypeScript sweep code", function () {
  this.timeout(60000);
  before(function () {
    if (!havePython()) {
      console.warn("    skipping: python3 not found");
      this.skip();
    }
  });

  it("passes its self-test (pinned lengths)", () => {
    const out = execFileSync("python3", [SCRIPT, "--selftest"], { encoding: "utf8" });
    assert.match(out, /selftest ok/);
  });

  for (const quick of [false, true]) {
    it(`expands the same plan (${quick ? "quick" : "full"} mode)`, () => {
      const args = [SCRIPT, "--plan-only", "--sweeps", path.join(ROOT, "data", "sweeps")].concat(quick ? ["--quick"] : []);
      const py = execFileSync("python3", args, { encoding: "utf8" })
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      const defs = loadSweepDirectory(path.join(ROOT, "data", "sweeps"));
      const ts = planRun(defs, { quick, impls: ["ours", "torch", "flashmla"], kernelVersions: [{ version: 1, name: "x" }] });
      assert.strictEqual(py.length, ts.length);
      ts.forEach((p, i) => {
        assert.strictEqual(py[i].sweep, p.cfg.sweep);
        assert.strictEqual(py[i].configId, p.cfg.configId);
        assert.strictEqual(py[i].trials, p.trials);
        assert.strictEqual(py[i].sum, p.cfg.seqlens.reduce((a, x) => a + x, 0), `lengths of ${p.cfg.configId}`);
        assert.strictEqual(py[i].max, p.cfg.maxSk);
      });
    });
  }
});
