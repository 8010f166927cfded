import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { chromiumAvailable, chromiumPath } from "../src/figures/render";
import { makeSyntheticRun } from "./figures-fixture";
import { allFigures } from "../src/figures/paper";
import { loadRun } from "../src/sweep/aggregate";

const ROOT = path.join(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "scripts", "reproduce.sh");

describe("scripts/reproduce.sh without a GPU", function () {
  this.timeout(180000);

  function run(env: Record<string, string>, args: string[] = []) {
    return spawnSync("bash", [SCRIPT, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, REPRODUCE_SKIP_BUILD: "1", REPRODUCE_NO_GPU: "1", ...env } });
  }

  it("draws every figure and the report from the recorded run, says so, and compares with the folder given", async function () {
    if (!chromiumAvailable()) {
      console.warn(`    pending: no Chromium at ${chromiumPath()} (the next test checks the pre-flight says so)`);
      return this.skip();
    }
    const dir = await makeSyntheticRun();
    const runsRoot = path.dirname(dir);
    const figs = fs.mkdtempSync(path.join(os.tmpdir(), "mla-repro-figs-"));
    fs.writeFileSync(path.join(runsRoot, "RECORDED"), `${path.basename(dir)}\n`);
    try {
      const r = run({ REPRODUCE_RUNS_ROOT: runsRoot, REPRODUCE_FIGURES: figs });
      assert.strictEqual(r.status, 0, r.stderr);
      assert.match(r.stderr, /\[preflight\] make reproduce: every tool it needs is here/);
      assert.match(r.stderr, /no CUDA GPU here \(REPRODUCE_NO_GPU=1\): nothing will be measured/);
      assert.ok(r.stderr.includes(`drawing every figure and the report from the RECORDED run ${dir}`), r.stderr);
      assert.match(r.stderr, /^(\d+)\/\1 \(100%\) elapsed \S+ eta \S+: wrote latency-vs-batch\.html/m, "progress: n/total, elapsed, ETA");
      assert.doesNotMatch(r.stderr, /comparing/, "another runs root: nothing to compare with by default");
      const report = fs.readFileSync(path.join(figs, "REPORT.md"), "utf8");
      assert.match(report, /No CUDA GPU on this machine: nothing was measured/);
      assert.ok(report.includes(path.basename(dir)));
      assert.match(report, /Report dated 2026-11-21T12:00:00\.000Z \(the run's own date\)/, "no wall-clock time");
      const manifest = JSON.parse(fs.readFileSync(path.join(figs, "figures.json"), "utf8"));
      assert.strictEqual(manifest.figures.filter((f: { skipped?: string }) => !f.skipped).length, allFigures(loadRun(dir)).length, "every figure drawn");
      for (const f of manifest.figures) for (const ext of ["html", "svg", "png", "pdf"]) assert.ok(fs.existsSync(path.join(figs, `${f.name}.${ext}`)), `${f.name}.${ext}`);
      for (const shared of ["plotly.min.js", "mathjax-tex-svg.js"]) assert.ok(fs.existsSync(path.join(figs, shared)), shared);
      const drawn = fs.readdirSync(figs).length;

      // Compared with a copy of itself: reproduced. With one changed page and one stale file: not.
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), "mla-repro-copy-"));
      fs.cpSync(figs, copy, { recursive: true });
      const again = fs.mkdtempSync(path.join(os.tmpdir(), "mla-repro-again-"));
      const same = run({ REPRODUCE_RUNS_ROOT: runsRoot, REPRODUCE_FIGURES: again, REPRODUCE_COMPARE_WITH: copy });
      assert.strictEqual(same.status, 0, same.stderr);
      assert.match(same.stderr, new RegExp(`REPRODUCED: ${drawn} of ${drawn} files drawn now are byte-identical`), "a second drawing gives the same bytes");
      fs.appendFileSync(path.join(copy, "roofline.html"), "<!-- edited -->\n");
      fs.writeFileSync(path.join(copy, "old-figure.svg"), "<svg/>");
      // (the comparison reproduce.sh runs, without drawing a third time)
      const diff = spawnSync(process.execPath, [path.join(ROOT, "dist", "src", "figures", "compare.js"), "--fresh", again, "--committed", copy], { encoding: "utf8" });
      assert.strictEqual(diff.status, 1, diff.stdout + diff.stderr);
      assert.match(diff.stdout, /DIFFERS .*roofline\.html/);
      assert.match(diff.stdout, /NOT DRAWN .*old-figure\.svg/);
      assert.match(diff.stdout, /NOT REPRODUCED/);
      for (const d of [copy, again]) fs.rmSync(d, { recursive: true, force: true });
    } finally {
      fs.rmSync(runsRoot, { recursive: true, force: true });
      fs.rmSync(figs, { recursive: true, force: true });
    }
  });

  it("without Chromium, the pre-flight stops it before any work, naming Chromium and the install command", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "mla-repro-nochrome-"));
    const r = run({ CHROMIUM: path.join(empty, "no-chromium"), REPRODUCE_RUNS_ROOT: empty, REPRODUCE_FIGURES: path.join(empty, "figs") });
    assert.strictEqual(r.status, 1, r.stderr);
    assert.match(r.stderr, /\[preflight\] make reproduce cannot run/);
    assert.match(r.stderr, /Chromium at .*no-chromium/);
    assert.match(r.stderr, /apt-get install -y chromium\n/);
    assert.ok(!fs.existsSync(path.join(empty, "figs")), "nothing drawn");
    fs.rmSync(empty, { recursive: true, force: true });
  });

  it("exits 2 with a clear message when there is no recorded data", function () {
    if (!chromiumAvailable()) {
      console.warn(`    pending: no Chromium at ${chromiumPath()} (the pre-flight stops first)`);
      return this.skip();
    }
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "mla-repro-empty-"));
    const r = run({ REPRODUCE_RUNS_ROOT: empty, REPRODUCE_FIGURES: path.join(empty, "figs") });
    assert.strictEqual(r.status, 2, r.stderr);
    assert.match(r.stderr, /no recorded data either .*nothing to draw/);
    fs.rmSync(empty, { recursive: true, force: true });
  });
});
