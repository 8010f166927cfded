/**
 * scripts/notebook-run.py's kernel start-up, with a stand-in kernel: a Python
 * script that, for its first N launches, never answers (what tslab does when
 * its shell loop dies at start-up: see KERNEL_START_ATTEMPTS there) or exits,
 * and from then on runs ipykernel. A kernel that does not answer is replaced;
 * one that never answers fails its notebook by name, and the run goes on to
 * the next notebook. Needs Debian's python3-nbclient and python3-ipykernel.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const RUNNER = path.join(ROOT, "scripts", "notebook-run.py");
const PY = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

const STAND_IN = `import os, sys, time
counter, bad_launches, mode, connection = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
launch = int(open(counter).read()) + 1 if os.path.exists(counter) else 1
open(counter, "w").write(str(launch))
if launch <= bad_launches:
    if mode == "hang":
        time.sleep(600)
    sys.exit(3)
from ipykernel.kernelapp import launch_new_instance
sys.argv = [sys.argv[0], "-f", connection]
launch_new_instance()
`;

function notebook(source: string): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "stand-in", display_name: "stand-in", language: "python" } },
    cells: [{ cell_type: "code", id: "c1", metadata: {}, execution_count: null, outputs: [], source }],
  });
}

describe("notebook-run.py: kernel start-up", function () {
  this.timeout(120_000);
  let dir: string;
  before(function () {
    if (spawnSync(PY, ["-B", "-c", "import nbclient, nbformat, ipykernel"]).status !== 0) {
      console.warn(`    pending: ${PY} lacks nbclient, nbformat or ipykernel (Debian's python3-nbclient, python3-ipykernel)`);
      this.skip();
    }
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "notebook-run-"));
  });
  afterEach(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs the given notebooks with the stand-in kernel failing its first `bad` launches in `mode`. */
  function run(bad: number, mode: "hang" | "exit", names: string[]) {
    const spec = path.join(dir, "share", "jupyter", "kernels", "stand-in");
    fs.mkdirSync(spec, { recursive: true });
    fs.writeFileSync(path.join(dir, "stand_in.py"), STAND_IN);
    const counter = path.join(dir, "launches");
    fs.writeFileSync(
      path.join(spec, "kernel.json"),
      JSON.stringify({ argv: [PY, "-B", path.join(dir, "stand_in.py"), counter, String(bad), mode, "{connection_file}"], display_name: "stand-in", language: "python" }),
    );
    const paths = names.map((n) => {
      const p = path.join(dir, n);
      fs.writeFileSync(p, notebook("print(6 * 7)"));
      return p;
    });
    const env = { ...process.env, JUPYTER_PATH: path.join(dir, "share", "jupyter"), JUPYTER_RUNTIME_DIR: path.join(dir, "runtime"), PYDEVD_DISABLE_FILE_VALIDATION: "1" };
    const r = spawnSync(PY, ["-B", "-Xfrozen_modules=off", RUNNER, "--check", "--kernel", "stand-in", "--start-timeout", "4", ...paths], { encoding: "utf8", env });
    const launches = fs.existsSync(counter) ? Number(fs.readFileSync(counter, "utf8")) : 0;
    return { status: r.status, out: r.stdout + r.stderr, launches };
  }

  it("replaces a kernel that never answers and runs the notebook in the next one", () => {
    const r = run(1, "hang", ["a.ipynb"]);
    assert.strictEqual(r.status, 0, r.out);
    assert.match(r.out, /a\.ipynb: the stand-in kernel did not start \(.*\); starting a fresh one \(attempt 2 of 3\)/);
    assert.match(r.out, /a\.ipynb: ok in/);
    assert.strictEqual(r.launches, 2);
  });

  it("fails a notebook whose kernel dies three times, by name, and goes on to the next notebook", () => {
    const r = run(3, "exit", ["a.ipynb", "b.ipynb"]);
    assert.strictEqual(r.status, 1, r.out);
    assert.match(r.out, /FAILED .*a\.ipynb: the stand-in kernel did not start: .* \(3 attempts of 4 s\)/);
    assert.match(r.out, /b\.ipynb: ok in/);
    assert.match(r.out, /1 notebook\(s\) failed/);
    assert.doesNotMatch(r.out, /Traceback/);
    assert.strictEqual(r.launches, 4);
  });

  it("refuses a start-up time that is not positive", () => {
    const r = spawnSync(PY, ["-B", RUNNER, "--check", "--start-timeout", "0", "x.ipynb"], { encoding: "utf8" });
    assert.strictEqual(r.status, 2);
    assert.match(r.stderr, /--start-timeout must be positive/);
  });
});
