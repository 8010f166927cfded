/**
 * kernels/PERF.md's "Current results" section tells the truth about the recorded
 * run: the run it names is the one data/runs/RECORDED names, the ceilings it
 * quotes are that run's (medians of ceilings.csv), and every row of its table
 * (the fastest rung per configuration of the "targets" and "ladder" sweeps, with
 * its median us, GB/s and TFLOP/s) is recomputed here from the run's results.csv.
 * When the recorded run is re-made, this fails naming each line to update and
 * what it should say.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { isAuto, isMeasured, oursPerConfig } from "../src/analysis/run";
import { loadRun, recordedRun } from "../src/sweep/aggregate";

const ROOT = path.join(__dirname, "..", "..");
const PERF = path.join(ROOT, "kernels", "PERF.md");
const REL = "kernels/PERF.md";
const LINES = fs.readFileSync(PERF, "utf8").split("\n");
const SWEEPS = ["targets", "ladder"];

/** The lines of the section whose heading is "## <n>. Current results", with their 1-based numbers. */
function section(): { no: number; text: string }[] {
  const start = LINES.findIndex((l) => /^## (\d+\. )?Current results\s*$/.test(l));
  assert.ok(start >= 0, `${REL} has no "## Current results" section`);
  const end = LINES.findIndex((l, i) => i > start && /^## /.test(l));
  return LINES.slice(start + 1, end < 0 ? LINES.length : end).map((text, i) => ({ no: start + 2 + i, text }));
}

/** A table row of the section: "| sweep | configuration | auto ran | auto us | fastest rung | median us | GB/s | TFLOP/s |". */
interface Row {
  no: number;
  sweep: string;
  configId: string;
  cells: string[];
}

function tableRows(): Row[] {
  return section()
    .map(({ no, text }) => ({ no, cells: text.split("|").slice(1, -1).map((c) => c.trim()) }))
    .filter((r) => r.cells.length === 8 && SWEEPS.includes(r.cells[0]))
    .map((r) => ({ no: r.no, sweep: r.cells[0], configId: r.cells[1], cells: r.cells }));
}

const rec = recordedRun(path.join(ROOT, "data", "runs"));
const RUN = rec.dir ? loadRun(rec.dir) : undefined;
const NAME = rec.dir ? path.basename(rec.dir) : "";

/**
 * What the table's row for a configuration must say, from the recorded run:
 * | sweep | configuration | auto ran | auto us | fastest rung | median us | GB/s | TFLOP/s |
 * (the automatic choice's rung and median, "—" where the run did not measure it; then the
 * fastest measured rung with its medians).
 */
function expected(): Map<string, string[]> {
  const ours = RUN!.agg.filter((r) => SWEEPS.includes(r.sweep) && r.impl === "ours" && isMeasured(r));
  const auto = new Map(oursPerConfig(ours).filter(isAuto).map((r) => [`${r.sweep}|${r.configId}`, r]));
  const out = new Map<string, string[]>();
  for (const r of oursPerConfig(ours.filter((x) => !isAuto(x))).filter((x) => x.impl === "ours")) {
    const a = auto.get(`${r.sweep}|${r.configId}`);
    const autoCells = a ? [`v${a.rung} ${a.kernelName}`, a.usMedian.toFixed(1)] : ["—", "—"];
    out.set(`${r.sweep}|${r.configId}`, [r.sweep, r.configId, ...autoCells, `v${r.kernelVersion} ${r.kernelName}`, r.usMedian.toFixed(1), r.gbpsMedian.toFixed(0), r.tflopsMedian.toFixed(1)]);
  }
  return out;
}

const fmt = (cells: string[]) => `| ${cells.join(" | ")} |`;

describe("kernels/PERF.md agrees with the recorded run", () => {
  it("data/runs/RECORDED names a run folder", () => {
    assert.ok(RUN, `no recorded run: ${rec.why}`);
  });

  it("the results section names the recorded run and quotes its ceilings", function () {
    if (!RUN) this.skip();
    const text = section().map((l) => l.text).join(" ").replace(/\s+/g, " ");
    const named = [...text.matchAll(/data\/runs\/([A-Za-z0-9][\w.-]*)/g)].map((m) => m[1]).filter((n) => n !== "RECORDED");
    assert.ok(named.length > 0, `${REL}: the "Current results" section names no run folder; it should name data/runs/${NAME}`);
    for (const n of named) assert.strictEqual(n, NAME, `${REL}: the "Current results" section names data/runs/${n}; data/runs/RECORDED names ${NAME}`);
    const commit = RUN!.provenance?.gitCommit;
    if (commit) {
      const m = /kernels of commit ([0-9a-f]{7,})/.exec(text);
      assert.ok(m && commit.startsWith(m[1]), `${REL}: the "Current results" section should say "kernels of commit ${commit.slice(0, 7)}" (run.json of ${NAME})`);
    }
    const m = /copy (\d+) GB\/s, bf16 GEMM (\d+) TFLOP\/s/.exec(text);
    assert.ok(m, `${REL}: the "Current results" section should quote the run's ceilings as "copy <n> GB/s, bf16 GEMM <n> TFLOP/s"`);
    const copy = RUN!.measured.copyGBps, gemm = RUN!.measured.gemmTflops;
    assert.ok(copy !== undefined && gemm !== undefined, `${NAME} has no measured ceilings`);
    const want = `copy ${copy.toFixed(0)} GB/s, bf16 GEMM ${gemm.toFixed(0)} TFLOP/s`;
    const line = section().find((l) => l.text.includes("GB/s, bf16 GEMM"))!;
    assert.strictEqual(m[0], want, `${REL}:${line.no}: says "${m[0]}"; the medians of ${NAME}/ceilings.csv say "${want}"`);
  });

  it("the results table has one row per configuration of the targets and ladder sweeps, each recomputed from results.csv", function () {
    if (!RUN) this.skip();
    const want = expected();
    assert.ok(want.size > 0, `${NAME} has no measured rows of the ${SWEEPS.join(" or ")} sweeps`);
    const rows = tableRows();
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const r of rows) {
      const key = `${r.sweep}|${r.configId}`;
      if (seen.has(key)) problems.push(`${REL}:${r.no}: ${r.configId} (${r.sweep}) is listed twice`);
      seen.add(key);
      const w = want.get(key);
      if (!w) problems.push(`${REL}:${r.no}: ${r.configId} is not a measured configuration of the ${r.sweep} sweep in ${NAME}: remove the row`);
      else if (fmt(r.cells) !== fmt(w)) problems.push(`${REL}:${r.no}: says\n    ${fmt(r.cells)}\n  ${NAME}/results.csv gives\n    ${fmt(w)}`);
    }
    for (const [key, w] of want) if (!seen.has(key)) problems.push(`${REL}: the results table lacks the row\n    ${fmt(w)}`);
    assert.ok(problems.length === 0, `kernels/PERF.md's results table disagrees with the recorded run ${NAME}:\n  ${problems.join("\n  ")}`);
  });

  it("every data/gpu-runs path it cites exists", () => {
    const text = LINES.join("\n");
    const missing: string[] = [];
    // paths in backquotes that start with a folder of data/gpu-runs/ ("v9/profiles/...") or with data/
    const folders = fs.readdirSync(path.join(ROOT, "data", "gpu-runs")).filter((d) => fs.statSync(path.join(ROOT, "data", "gpu-runs", d)).isDirectory());
    for (const m of text.matchAll(/`([\w.-]+\/[\w.{},*/-]+)`/g)) {
      const p = m[1];
      const top = p.split("/")[0];
      const base = top === "data" || top === "kernels" ? ROOT : folders.includes(top) ? path.join(ROOT, "data", "gpu-runs") : undefined;
      if (!base || p.startsWith("kernels/build/")) continue; // build outputs are not committed
      // {a,b} alternatives and * wildcards: every alternative must exist, a wildcard must match something
      const alts = expandBraces(p);
      for (const a of alts) {
        const ok = a.includes("*") ? globMatches(base, a) : fs.existsSync(path.join(base, a));
        if (!ok) missing.push(`${a}${base === ROOT ? "" : " (under data/gpu-runs/)"}`);
      }
    }
    assert.deepStrictEqual(missing, [], `kernels/PERF.md cites files that do not exist:\n  ${missing.join("\n  ")}`);
  });
});

/** "a/{x,y}.txt" -> ["a/x.txt", "a/y.txt"] (one level, any number of groups). */
function expandBraces(p: string): string[] {
  const m = /\{([^{}]*)\}/.exec(p);
  if (!m) return [p];
  return m[1].split(",").flatMap((alt) => expandBraces(p.slice(0, m.index) + alt + p.slice(m.index + m[0].length)));
}

/** Whether a path with * in its last component matches a file. */
function globMatches(base: string, p: string): boolean {
  const dir = path.join(base, path.dirname(p));
  if (!fs.existsSync(dir)) return false;
  const re = new RegExp(`^${path.basename(p).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
  return fs.readdirSync(dir).some((f) => re.test(f));
}
