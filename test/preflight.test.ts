/**
 * scripts/preflight.sh: make test and make reproduce check every tool they
 * need before any long step, and print one message listing exactly what is
 * missing and the one command that installs it. Tools are hidden with the
 * variables the scripts honour (CHROMIUM, NOTEBOOK_PYTHON) and a fake `node`
 * first on PATH, so every branch runs on any machine.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "scripts", "preflight.sh");

describe("scripts/preflight.sh", function () {
  this.timeout(60000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mla-preflight-"));
    // A Python without site packages: none of Jupyter's modules import.
    const real = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    fs.writeFileSync(path.join(tmp, "bare-python"), `#!/bin/sh\nexec ${real} -I -S "$@"\n`, { mode: 0o755 });
    fs.mkdirSync(path.join(tmp, "oldnode"));
    fs.writeFileSync(path.join(tmp, "oldnode", "node"), `#!/bin/sh\nif [ "$1" = --version ]; then echo v18.19.0; else echo 18; fi\n`, { mode: 0o755 });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const run = (args: string[], env: Record<string, string> = {}) => spawnSync("bash", [SCRIPT, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });

  it("names every missing tool for make test and gives one apt-get line with exactly their packages", () => {
    const r = run(["test"], { CHROMIUM: path.join(tmp, "no-chromium"), NOTEBOOK_PYTHON: path.join(tmp, "bare-python") });
    assert.strictEqual(r.status, 1, r.stderr);
    assert.match(r.stderr, /\[preflight\] make test cannot run: missing, checked before any long step:/);
    assert.match(r.stderr, /the Python modules nbclient, nbformat, nbconvert, jupyter_client, ipykernel \(for .*bare-python/);
    assert.match(r.stderr, /Chromium at .*no-chromium \(set \$CHROMIUM for another one\)/);
    const apt = r.stderr.split("\n").filter((l) => /apt-get install/.test(l));
    assert.strictEqual(apt.length, 1, "one install command");
    assert.deepStrictEqual(apt[0].replace(/^\s*(sudo )?apt-get install -y /, "").split(" ").sort(), ["chromium", "jupyter-client", "jupyter-nbconvert", "python3-ipykernel", "python3-nbclient", "python3-nbformat"]);
  });

  it("lists only what is missing", () => {
    const r = run(["test"], { CHROMIUM: path.join(tmp, "no-chromium"), NOTEBOOK_PYTHON: path.join(tmp, "no-python") });
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /python3 with the modules .* \(no python3 found\)/);
    const fig = run(["figures"], { CHROMIUM: path.join(tmp, "no-chromium"), NOTEBOOK_PYTHON: path.join(tmp, "bare-python") });
    assert.strictEqual(fig.status, 1);
    assert.doesNotMatch(fig.stderr, /Python|python3-/, "make figures needs no Python");
    assert.match(fig.stderr, /apt-get install -y chromium\n/);
  });

  it("an old Node is named with its version and where to get a new one", () => {
    const r = run(["notebooks"], { PATH: `${path.join(tmp, "oldnode")}:${process.env.PATH}` });
    assert.strictEqual(r.status, 1, r.stderr);
    assert.match(r.stderr, /Node\.js 20\+ \(found v18\.19\.0\)/);
    assert.match(r.stderr, /Install Node\.js 20 or newer/);
  });

  it("make reproduce without a GPU needs Chromium", () => {
    const r = run(["reproduce"], { CHROMIUM: path.join(tmp, "no-chromium"), REPRODUCE_NO_GPU: "1" });
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /Chromium at .*: the static \.svg\/\.png\/\.pdf figures drawn from the recorded run/);
  });

  it("passes where the tools are here (checked independently of the script)", function () {
    const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
    const py = spawnSync("/usr/bin/python3", ["-c", "import nbclient, nbformat, nbconvert, jupyter_client, ipykernel"]);
    let haveChromium = true;
    try {
      fs.accessSync(chromium, fs.constants.X_OK);
    } catch {
      haveChromium = false;
    }
    if (py.status !== 0 || !haveChromium || process.env.NOTEBOOK_PYTHON) {
      console.warn("    pending: this machine lacks Chromium or Jupyter's modules for /usr/bin/python3");
      return this.skip();
    }
    const r = run(["test"]);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stderr, /make test: every tool it needs is here/);
  });

  it("make test and make reproduce stop at the pre-flight, before the build and the kernel compile", () => {
    for (const target of ["test", "reproduce"]) {
      const r = spawnSync("make", ["--no-print-directory", target], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CHROMIUM: path.join(tmp, "no-chromium"), REPRODUCE_NO_GPU: "1" } });
      assert.notStrictEqual(r.status, 0, `make ${target} should fail`);
      assert.match(r.stderr, new RegExp(`\\[preflight\\] make ${target} cannot run`));
      assert.doesNotMatch(r.stdout + r.stderr, /tsc -p|nvcc|npm ci|\[notebooks\]|\[reproduce\] building/, `make ${target} did work before the pre-flight`);
    }
  });

  it("--packages prints the Debian packages, and bad targets exit 2", () => {
    const p = run(["--packages"]);
    assert.strictEqual(p.status, 0);
    assert.deepStrictEqual(p.stdout.trim().split(" "), ["jupyter-nbconvert", "python3-nbclient", "jupyter-client", "python3-ipykernel", "chromium"]);
    assert.strictEqual(run(["tests"]).status, 2);
    assert.strictEqual(run([]).status, 2);
  });
});
