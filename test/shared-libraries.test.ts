/**
 * One copy of each library the pages load: the repository stores plotly.js
 * and MathJax once each (figures/, src/figures/render.ts SHARED_FILES), byte
 * for byte the versions pinned in package-lock.json, and no other tracked
 * file inlines either bundle (the figure pages, the notebooks' outputs and
 * their HTML export load the copies by relative URL).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { SHARED_FILES } from "../src/figures/render";

const ROOT = path.resolve(__dirname, "..", "..");

function trackedFiles(): string[] {
  const r = spawnSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ls-files failed in ${ROOT}: ${r.stderr || r.error}`);
  return r.stdout.split("\0").filter((f) => f !== "" && fs.existsSync(path.join(ROOT, f)) && fs.statSync(path.join(ROOT, f)).isFile());
}

describe("shared libraries: one copy of plotly.js and of MathJax in the repository", function () {
  this.timeout(60000);
  let files: string[];
  before(function () {
    if (!fs.existsSync(path.join(ROOT, ".git"))) {
      console.warn("    skipping: not a git checkout (the tracked files are unknown)");
      return this.skip();
    }
    files = trackedFiles();
  });
  for (const lib of SHARED_FILES.filter((f) => f.name.endsWith(".js"))) {
    it(`figures/${lib.name} is the pinned npm bundle, and no other tracked file carries it`, () => {
      const bundle = fs.readFileSync(lib.source());
      assert.ok(fs.readFileSync(path.join(ROOT, "figures", lib.name)).equals(bundle), `figures/${lib.name} differs from ${lib.source()} (make figures)`);
      // A distinctive run of the bundle's text, from its middle (its licence header could be quoted anywhere).
      const probe = bundle.subarray(Math.floor(bundle.length / 2), Math.floor(bundle.length / 2) + 200);
      const holders = files.filter((f) => fs.statSync(path.join(ROOT, f)).size >= probe.length && fs.readFileSync(path.join(ROOT, f)).includes(probe));
      assert.deepStrictEqual(holders, [`figures/${lib.name}`]);
    });
  }
  it("MathJax's licence travels with it", () => {
    assert.match(fs.readFileSync(path.join(ROOT, "figures", "mathjax-LICENSE.txt"), "utf8"), /Apache License/);
  });
});
