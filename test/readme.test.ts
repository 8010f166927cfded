/**
 * README.md tells the truth: every fact it states about the recorded run, the
 * run times and the install step is read here from the files it comes from
 * (data/runs/RECORDED, that run's run.json and reproduce.log, the record of
 * scripts/time-fresh-clone.sh, scripts/lib.sh's package list, .ci/run, the
 * recorded run's results), so re-making the recorded run or the code without
 * updating the README fails here, naming the line to change.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { verdicts } from "../src/bench/targets";
import { loadRun } from "../src/sweep/aggregate";

const ROOT = path.join(__dirname, "..", "..");
const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
/** The README with every run of white space (line breaks included) folded to one space. */
const FLAT = README.replace(/\s+/g, " ");
const RECORDED = fs.readFileSync(path.join(ROOT, "data", "runs", "RECORDED"), "utf8").split("\n")[0].trim();
const RUN_DIR = path.join(ROOT, "data", "runs", RECORDED);

interface RunJson {
  gitCommit: string;
  date: string;
  device: { name: string; cudaRuntime: string };
  nvidiaSmi?: { driver_version?: string };
}
const runJson = (dir: string): RunJson => JSON.parse(fs.readFileSync(path.join(dir, "run.json"), "utf8"));

function match(re: RegExp, what: string): RegExpExecArray {
  const m = re.exec(FLAT);
  assert.ok(m, `README.md no longer has ${what} (looked for ${re})`);
  return m;
}

describe("README.md agrees with the files it quotes", () => {
  it("names the recorded run of data/runs/RECORDED, with its GPU, driver, CUDA, commit and date from run.json", () => {
    const m = match(/The recorded run is `data\/runs\/([^`]+)` \(named in `data\/runs\/RECORDED`\): (.+?), driver (\S+), CUDA (\S+), commit `([0-9a-f]+)`, (\d{4}-\d{2}-\d{2})\./, "the sentence naming the recorded run");
    const [, folder, gpu, driver, cuda, commit, date] = m;
    assert.strictEqual(folder, RECORDED, `README names ${folder}; data/runs/RECORDED names ${RECORDED}`);
    const j = runJson(RUN_DIR);
    assert.strictEqual(gpu, j.device.name);
    assert.strictEqual(driver, j.nvidiaSmi?.driver_version);
    assert.strictEqual(cuda, j.device.cudaRuntime);
    assert.ok(commit.length >= 7 && j.gitCommit.startsWith(commit), `README says commit ${commit}; ${RECORDED}/run.json says ${j.gitCommit}`);
    assert.strictEqual(date, j.date.slice(0, 10));
  });

  it("every run folder it names exists, and every commit it gives one is that run's", () => {
    const named = [...README.matchAll(/data\/runs\/([A-Za-z0-9][\w.-]*)/g)].map((x) => x[1]).filter((x) => x !== "RECORDED");
    assert.ok(named.length > 0);
    for (const n of named) assert.ok(fs.existsSync(path.join(ROOT, "data", "runs", n)), `README names data/runs/${n}, which does not exist`);
    for (const [, n, c] of FLAT.matchAll(/data\/runs\/([\w.-]+)`?,? commit `([0-9a-f]{7,})`/g)) {
      assert.ok(runJson(path.join(ROOT, "data", "runs", n)).gitCommit.startsWith(c), `README gives data/runs/${n} commit ${c}`);
    }
  });

  it("the H100 time of make reproduce is the make reproduce line of the recorded run's reproduce.log, and says how it ended", () => {
    const m = match(/On the H100, `make reproduce` (took|measured the recorded run in) (\d+) s (.*?)`data\/runs\/([^`/]+)\/reproduce\.log`/, "the H100 time and its source");
    assert.strictEqual(m[4], RECORDED, "the time must come from the recorded run's log");
    const log = path.join(RUN_DIR, "reproduce.log");
    assert.ok(fs.existsSync(log), `${log} is missing: the README's H100 time has no source`);
    const line = fs.readFileSync(log, "utf8").split("\n").filter((l) => /^make reproduce: rc=/.test(l)).pop();
    const wall = line ? /^make reproduce: rc=(\d+), wall (\d+) s/.exec(line) : null;
    assert.ok(wall, `${log} has no "make reproduce: rc=..., wall ... s" line`);
    assert.strictEqual(m[2], wall[2], `README says ${m[2]} s; ${log} says ${wall[2]} s`);
    // a run that did not end cleanly is not presented as one: the sentence says where it stopped
    if (wall[1] !== "0") assert.ok(m[1] !== "took" && /stopped/.test(m[3]), `${log}: make reproduce ended with rc=${wall[1]}; the README must say where it stopped`);
    else assert.ok(m[1] === "took", `${log}: make reproduce ended cleanly; the README says it did not`);
  });

  it("the 2-core times are the range of the runs scripts/time-fresh-clone.sh recorded, on such a machine", () => {
    const file = path.join(ROOT, "scripts", "fresh-clone-times.txt");
    const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
    const head = new Map(lines.filter((l) => !l.startsWith("run:")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()] as [string, string]));
    const runs = lines
      .filter((l) => l.startsWith("run:"))
      .map((l) => {
        const r = /^run: commit=([0-9a-f]{40}) date=\S+ load=([\d.]+)-([\d.]+) reproduce=(\d+)s test=(\d+)s$/.exec(l);
        assert.ok(r, `${file}: malformed line ${l}`);
        return { commit: r[1], loads: [Number(r[2]), Number(r[3])], reproduce: Number(r[4]), test: Number(r[5]) };
      });
    assert.ok(runs.length > 0, `${file} records no run`);
    assert.strictEqual(head.get("cores"), "2", "the README speaks of a 2-core machine");
    assert.strictEqual(head.get("gpu"), "none", "the README speaks of a machine without a GPU");
    const m = match(
      /On a 2-core machine without a GPU \((.*?)\), from a fresh clone: `make reproduce` (\d+)(?:-(\d+))? s, then `make test` ([\d.]+)(?:-([\d.]+))? min/,
      "the 2-core times",
    );
    const range = (xs: number[], f: (x: number) => string) => {
      const lo = f(Math.min(...xs));
      const hi = f(Math.max(...xs));
      return lo === hi ? [lo, undefined] : [lo, hi];
    };
    assert.deepStrictEqual([m[2], m[3]], range(runs.map((r) => r.reproduce), String), `README's make reproduce time is not the range of ${file}`);
    assert.deepStrictEqual([m[4], m[5]], range(runs.map((r) => r.test), (x) => (x / 60).toFixed(1)), `README's make test time is not the range of ${file}`);
    const loads = runs.flatMap((r) => r.loads);
    assert.ok(m[1].includes(`load average ${Math.min(...loads).toFixed(2)} to ${Math.max(...loads).toFixed(2)} over ${runs.length} run${runs.length > 1 ? "s" : ""}`), `README's machine note should give the load range and the run count: ${m[1]}`);
    assert.strictEqual(/kernel/.test(m[1]), head.get("nvcc") !== "none", "the README says whether make test compiled the kernels, as measured");
    // The record is of this history, not of some other branch.
    if (fs.existsSync(path.join(ROOT, ".git"))) {
      for (const r of runs) {
        const anc = spawnSync("git", ["merge-base", "--is-ancestor", r.commit, "HEAD"], { cwd: ROOT });
        assert.strictEqual(anc.status, 0, `${file}: commit ${r.commit} is not an ancestor of HEAD`);
      }
    }
  });

  it("the Debian install line comes before the two commands and names exactly the packages the scripts install", () => {
    const block = /```sh\n([\s\S]*?)```/.exec(README.slice(README.indexOf("## The two commands")));
    assert.ok(block, "the two commands' code block");
    const lines = block[1].split("\n").filter(Boolean);
    const apt = lines.findIndex((l) => /apt-get install/.test(l));
    const repro = lines.findIndex((l) => /^make reproduce\b/.test(l));
    assert.ok(apt >= 0 && apt < repro, "the install line comes first");
    const pk = spawnSync("bash", [path.join(ROOT, "scripts", "preflight.sh"), "--packages"], { encoding: "utf8" });
    assert.strictEqual(pk.status, 0, pk.stderr);
    assert.deepStrictEqual(lines[apt].replace(/^(sudo )?apt-get install (-y )?/, "").split(/\s+/), pk.stdout.trim().split(" "));
    const makes = lines.filter((l) => /^make /.test(l)).map((l) => l.split("#")[0].trim());
    assert.deepStrictEqual(makes, ["make reproduce", "make test"]);
    const ci = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8").split("\n").filter((l) => /^make /.test(l)).map((l) => l.trim());
    assert.deepStrictEqual(ci, makes, ".ci/run runs exactly the README's two commands, in the same order");
  });

  it("the performance numbers it quotes are the recorded run's target verdicts", () => {
    const start = FLAT.indexOf("**Performance targets on the H100**");
    assert.ok(start >= 0, "the performance paragraph");
    const para = FLAT.slice(start, FLAT.indexOf("## ", start));
    const quoted: string[] = [];
    for (const m of para.matchAll(/(\d+(?:\.\d+)?(?:\s*[-/]\s*\d+(?:\.\d+)?)*)\s*(GB\/s|TFLOP\/s|µs)/g)) quoted.push(...m[1].split(/\s*[-/]\s*/));
    const v = verdicts(loadRun(RUN_DIR));
    const group = (re: RegExp) => v.filter((x) => re.test(x.target) && x.value !== undefined).map((x) => x.value!);
    const mem = group(/^memory-bound/).map((x) => x.toFixed(0));
    const sq1 = group(/^compute-bound .*s_q=1/);
    const sq2 = group(/^compute-bound .*s_q=2/);
    const small = group(/^small batch/).map((x) => x.toFixed(1));
    const must = [...mem, ...[sq1, sq2].flatMap((g) => [Math.min(...g).toFixed(0), Math.max(...g).toFixed(0)]), ...small];
    const bounds = ["2900", "550", "620", "60"];
    for (const q of quoted) assert.ok(must.includes(q) || bounds.includes(q), `README quotes ${q}, which is none of the recorded run's target values (${must.join(", ")}): \`make bench\` prints them`);
    for (const x of must) assert.ok(quoted.includes(x), `README does not quote ${x}, a target value of the recorded run`);
  });
});
