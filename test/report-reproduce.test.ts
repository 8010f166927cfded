import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { chromiumAvailable } from "../src/figures/render";
import { makeSyntheticRun } from "./figures-fixture";

const ROOT = path.join(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "scripts", "reproduce.sh");

describe("scripts/reproduce.sh without a GPU", function () {
  this.timeout(180000);

  function run(env: Record<string, string>) {
    return spawnSync("bash", [SCRIPT], { cwd: ROOT, encoding: "utf8", env: { ...process.env, REPRODUCE_SKIP_BUILD: "1", REPRODUCE_NO_GPU: "1", ...env } });
  }

  it("draws every figure from the recorded run and says so", async () => {
    const dir = await makeSyntheticRun();
    const runsRoot = path.dirname(dir);
    const figs = fs.mkdtempSync(path.join(os.tmpdir(), "mla-repro-figs-"));
    fs.writeFileSync(path.join(runsRoot, "RECORDED"), `${path.basename(dir)}\n`);
    const r = run({ REPRODUCE_RUNS_ROOT: runsRoot, REPRODUCE_FIGURES: figs, ...(chromiumAvailable() ? {} : { CHROMIUM: "/nonexistent" }) });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stderr, /no CUDA GPU here \(REPRODUCE_NO_GPU=1\): nothing will be measured/);
    assert.ok(r.stderr.includes(`drawing every figure from the RECORDED run ${dir}`), r.stderr);
    const report = fs.readFileSync(path.join(figs, "REPORT.md"), "utf8");
    assert.match(report, /No CUDA GPU on this machine: nothing was measured/);
    assert.ok(report.includes(path.basename(dir)));
    const manifest = JSON.parse(fs.readFileSync(path.join(figs, "figures.json"), "utf8"));
    assert.strictEqual(manifest.figures.filter((f: { skipped?: string }) => !f.skipped).length, 6);
    for (const f of manifest.figures) assert.ok(fs.existsSync(path.join(figs, `${f.name}.html`)));
    if (chromiumAvailable()) for (const f of manifest.figures) assert.ok(fs.existsSync(path.join(figs, `${f.name}.pdf`)));
    else assert.match(r.stderr, /only the interactive \.html figures were drawn/);
    fs.rmSync(runsRoot, { recursive: true, force: true });
    fs.rmSync(figs, { recursive: true, force: true });
  });

  it("exits 2 with a clear message when there is no recorded data", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "mla-repro-empty-"));
    const r = run({ REPRODUCE_RUNS_ROOT: empty, REPRODUCE_FIGURES: path.join(empty, "figs") });
    assert.strictEqual(r.status, 2, r.stderr);
    assert.match(r.stderr, /no recorded data either .*nothing to draw/);
    fs.rmSync(empty, { recursive: true, force: true });
  });
});
