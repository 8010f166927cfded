/**
 * Strict command lines: parseCli (src/cli-entry.ts) and every entry point
 * that uses it. An unknown flag, a flag without its value, a value given to a
 * switch, a stray word or a wrongly typed value exits 2 with the message and
 * a usage line naming the bad flag; a missing file or folder is one line on
 * stderr, never a stack trace. The scripts follow the same rules.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cwdRelative, HelpRequested, parseCli, UsageError } from "../src/cli-entry";

const ROOT = path.join(__dirname, "..", "..");
const DIST = path.join(ROOT, "dist", "src");

function node(script: string, args: string[]) {
  return spawnSync(process.execPath, [path.join(DIST, script), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CUDA_VISIBLE_DEVICES: "" } });
}

describe("parseCli: strict flags through node:util parseArgs", () => {
  const spec = { usage: "usage: prog [--n N] [--x X] [--on]", flags: { n: "string", x: "string", on: "boolean" } } as const;
  const usageError = (argv: string[], re: RegExp) =>
    assert.throws(() => parseCli(argv, spec), (e: unknown) => e instanceof UsageError && re.test(e.message) && e.usage === spec.usage, `${argv.join(" ")} should fail with ${re}`);

  it("reads values, switches and defaults", () => {
    const c = parseCli(["--n", "3", "--x=a,b", "--on"], spec);
    assert.strictEqual(c.int("n", 1), 3);
    assert.deepStrictEqual(c.list("x", undefined), ["a", "b"]);
    assert.strictEqual(c.bool("on"), true);
    const d = parseCli([], spec);
    assert.strictEqual(d.int("n", 7), 7);
    assert.strictEqual(d.str("x"), undefined);
    assert.strictEqual(d.str("x", "dflt"), "dflt");
    assert.strictEqual(d.bool("on"), false);
  });

  it("rejects unknown flags, missing values, values given to switches and stray words, naming the flag", () => {
    usageError(["--nn", "3"], /^unknown flag --nn$/);
    usageError(["-q"], /^unknown flag -q$/);
    usageError(["--n"], /^--n needs a value$/);
    usageError(["--n", "--on"], /^--n needs a value$/);
    usageError(["--on=yes"], /^--on takes no value$/);
    usageError(["word"], /^unexpected argument word$/);
    assert.throws(() => parseCli(["--x="], spec).str("x"), /^UsageError: --x needs a non-empty value$/);
  });

  it("rejects wrongly typed values, naming the flag and the value", () => {
    const c = parseCli(["--n", "2.5", "--x", "a,zz"], spec);
    assert.throws(() => c.int("n", 1), /--n must be an integer, got '2\.5'/);
    assert.throws(() => parseCli(["--n", "0"], spec).int("n", 1, { min: 1 }), /--n must be an integer >= 1, got '0'/);
    assert.throws(() => parseCli(["--n", "x"], spec).num("n", 1), /--n must be a number, got 'x'/);
    assert.throws(() => c.list("x", undefined, ["a", "b"]), /--x: 'zz' is not one of a, b/);
    assert.throws(() => parseCli([], spec).need("x", "X"), /--x X is required/);
  });

  it("commands: one first, each with its own flags", () => {
    const cmd = { usage: "usage: prog run --out D | list", commands: { run: { out: "string" }, list: {} } } as const;
    assert.strictEqual(parseCli(["run", "--out", "d"], cmd).str("out"), "d");
    assert.throws(() => parseCli([], cmd), /a command is required first \(run, list\)/);
    assert.throws(() => parseCli(["walk"], cmd), /unknown command 'walk'/);
    assert.throws(() => parseCli(["list", "--out", "d"], cmd), /unknown flag --out for 'list'/);
    assert.throws(() => parseCli(["--out", "d", "run"], cmd), /a command is required first/);
  });

  it("--help and -h ask for the usage", () => {
    assert.throws(() => parseCli(["--n", "1", "--help"], spec), (e: unknown) => e instanceof HelpRequested && e.usage === spec.usage);
    assert.throws(() => parseCli(["-h"], spec), HelpRequested);
  });

  it("cwdRelative shows paths below the working directory relatively", () => {
    assert.strictEqual(cwdRelative(path.join(process.cwd(), "a", "b")), path.join("a", "b"));
    assert.strictEqual(cwdRelative(process.cwd()), ".");
    const outside = path.resolve(process.cwd(), "..", "elsewhere-xyz");
    assert.strictEqual(cwdRelative(outside), outside);
  });
});

describe("every entry point: bad command lines exit 2 with a usage line naming the bad flag", function () {
  this.timeout(60000);
  // [script, argv, what stderr must say]; none of these may do any work first.
  const cases: [string, string[], RegExp][] = [
    ["figures/cli.js", ["--dat", "X"], /figures: unknown flag --dat/],
    ["figures/cli.js", ["--formats", "svg,gif"], /--formats: 'gif' is not one of svg, png, pdf/],
    ["figures/cli.js", ["--out"], /--out needs a value/],
    ["figures/compare.js", [], /--fresh DIR \(the folder drawn now\) is required/],
    ["report/cli.js", ["--mode", "guess"], /--mode must be measured or recorded, got 'guess'/],
    ["report/cli.js", ["--dta", "x"], /unknown flag --dta/],
    ["bench/cli.js", ["--frobnicate"], /bench: unknown flag --frobnicate/],
    ["bench/cli.js", ["--run"], /--run needs a value/],
    ["bench/cli.js", ["--run", "--quick"], /--run needs a value/],
    ["bench/reference.js", ["--fast"], /unknown flag --fast/],
    ["sweep/cli.js", [], /a command is required first/],
    ["sweep/cli.js", ["estimate", "--kernel-versions", "two"], /--kernel-versions must be an integer >= 1, got 'two'/],
    ["sweep/cli.js", ["estimate", "--impls", "ours,tf"], /--impls: 'tf' is not one of/],
    ["sweep/cli.js", ["estimate", "--out", "x"], /unknown flag --out for 'estimate'/],
    ["sweep/cli.js", ["run", "--out"], /--out needs a value/],
    ["sweep/cli.js", ["frob"], /unknown command 'frob'/],
    ["artifact/manifest.js", ["check", "--rev", "HEAD"], /--rev goes with --committed/],
    ["artifact/manifest.js", ["verify"], /unknown command 'verify'/],
    ["artifact/check-repro.js", ["--fresh", "x", "--floor", "tiny"], /--floor must be a number >= 0, got 'tiny'/],
    ["artifact/claims.js", ["--updat", "ARTIFACT.md"], /unknown flag --updat/],
    ["artifact/citation.js", ["bibtex", "--misc=1"], /--misc takes no value/],
  ];
  for (const [script, argv, re] of cases) {
    it(`${script} ${argv.join(" ")}`.trim(), () => {
      const r = node(script, argv);
      assert.strictEqual(r.status, 2, `exit ${r.status}\n${r.stderr}`);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /^usage: /m, "a usage line");
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
      assert.strictEqual(r.stdout, "", "no work done");
    });
  }

  it("--help prints the usage on stdout and exits 0", () => {
    for (const script of ["figures/cli.js", "sweep/cli.js", "artifact/manifest.js", "bench/cli.js"]) {
      const r = node(script, ["--help"]);
      assert.strictEqual(r.status, 0, `${script}: ${r.stderr}`);
      assert.match(r.stdout, /^usage: node dist\/src\//, script);
    }
  });

  it("a missing file or folder is one line on stderr, never a stack trace", () => {
    const nope = path.join(os.tmpdir(), "mla-no-such-folder-xyz");
    const cases: [string, string[], RegExp][] = [
      ["figures/cli.js", ["--data", nope, "--html-only"], /^figures: --data .*mla-no-such-folder-xyz: no such run folder\n$/],
      ["bench/cli.js", ["--run", nope], /^bench: --run .*: no such run folder\n$/],
      ["artifact/check-repro.js", ["--fresh", nope], /^check-repro: --fresh .*: no such run folder\n$/],
      ["artifact/claims.js", ["--run", nope], /^claims: --run .*: no such run folder\n$/],
      ["artifact/manifest.js", ["check", "--root", nope], /^manifest: --root .*: no such folder\n$/],
      ["figures/compare.js", ["--fresh", nope], /^compare: --fresh .*: no such folder\n$/],
      ["report/cli.js", ["--data", nope], /^report: --data .*: no such run folder\n$/],
    ];
    for (const [script, argv, re] of cases) {
      const r = node(script, argv);
      assert.ok(r.status === 1 || r.status === 2, `${script}: exit ${r.status}`);
      assert.match(r.stderr, re, script);
      assert.strictEqual(r.stderr.trim().split("\n").length, 1, `${script}: one line, got\n${r.stderr}`);
    }
  });
});

describe("the scripts: bad arguments exit 2, missing notebooks are one line", function () {
  this.timeout(60000);
  const sh = (script: string, args: string[]) => spawnSync("bash", [path.join(ROOT, "scripts", script), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, REPRODUCE_SKIP_BUILD: "1" } });

  it("scripts/notebooks.sh names a missing notebook and an unknown flag", () => {
    const r = sh("notebooks.sh", ["notebooks/99-nope.ipynb"]);
    assert.strictEqual(r.status, 2);
    assert.strictEqual(r.stderr, "notebooks: notebooks/99-nope.ipynb: no such notebook\n");
    const f = sh("notebooks.sh", ["--chek"]);
    assert.strictEqual(f.status, 2);
    assert.match(f.stderr, /unknown flag --chek\nusage: scripts\/notebooks\.sh/);
  });

  it("scripts/notebook-run.py names a missing notebook without a traceback", function () {
    const py = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    if (spawnSync(py, ["-c", "import nbformat, nbclient"]).status !== 0) {
      console.warn(`    pending: ${py} lacks nbformat/nbclient (scripts/preflight.sh test says what to install)`);
      return this.skip();
    }
    const r = spawnSync(py, [path.join(ROOT, "scripts", "notebook-run.py"), "--check", "nope.ipynb"], { encoding: "utf8" });
    assert.strictEqual(r.status, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /Traceback/);
    assert.match(r.stderr, /nope\.ipynb: no such notebook/);
  });

  it("scripts/reproduce.sh, preflight.sh, test.sh and check-repro.sh reject unknown arguments and missing values", () => {
    for (const [script, args, re] of [
      ["reproduce.sh", ["--frob"], /reproduce: unknown argument '--frob'/],
      ["reproduce.sh", ["--run-dir"], /reproduce: --run-dir needs a value/],
      ["reproduce.sh", ["--out", "--quick"], /reproduce: --out needs a value/],
      ["preflight.sh", ["tset"], /preflight: unknown target 'tset'/],
      ["check-repro.sh", ["--fresh"], /check-repro: --fresh needs a value/],
      ["check-repro.sh", ["--floor", "--quick"], /check-repro: --floor needs a value/],
      ["check-repro.sh", ["--frob"], /check-repro: unknown argument '--frob'/],
      ["test.sh", ["--fast"], /test: unexpected argument '--fast'/],
    ] as [string, string[], RegExp][]) {
      const r = sh(script, args);
      assert.strictEqual(r.status, 2, `${script} ${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /usage: scripts\//);
    }
  });
});
