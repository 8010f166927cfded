/**
 * Ours against FlashMLA on the bench grid (sweep "flashmla-bench",
 * data/sweeps/h-flashmla-bench.json), from the side-by-side rows of a run
 * (baselines/torch_mla_decode.py: ours (auto) and FlashMLA in one process,
 * same tensors, CUDA events around eager calls and around a CUDA-graph
 * replay, outputs checked against each other). `npm run bench` prints this
 * as text; the report (figures/REPORT.md) and the artifact's claims
 * (ARTIFACT.md) as Markdown.
 *
 * The ratio is FlashMLA's median time / ours's (above 1: ours is faster), by
 * graph replay (the headline: no host launch overhead on either side) and
 * eagerly. Beside it, from libmla's own loop (timing "bench": the automatic
 * choice and the rungs it chooses among), which rung was fastest and how far
 * the automatic choice was from it.
 *
 * The verdicts (issue 18): the ratio at least 1.00 on every configuration, at
 * least 1.05 as the median over FlashMLA's own grid (b=128, h_q=128, s_q 1
 * and 2, lengths normal around 4096..32768), at least 1.5 on a single
 * request with a long context (b=1, s_k >= 16384); and the outputs agree.
 */
import { isAuto, isMeasured, isSideBySide, median, SideBySide, sideBySide, SWEEPS } from "../analysis/run";
import { MlaArgumentError } from "../errors";
import type { AggRow, LoadedRun } from "../sweep/aggregate";

/** Largest max |ours - FlashMLA| / max |FlashMLA| of the bf16 output counted as agreement (a few units in the last place). */
export const OUTPUT_TOLERANCE = 2e-2;
/** The same for the fp32 log-sum-exp. */
export const LSE_TOLERANCE = 1e-3;

/** FlashMLA's own benchmark grid (tests/test_flash_mla.py): the configurations of sweep "flashmla-grid". */
export function isFlashmlaGrid(r: Pick<AggRow, "b" | "sQ" | "hQ" | "hKv" | "skDist">): boolean {
  return r.b === 128 && r.hQ === 128 && r.hKv === 1 && (r.sQ === 1 || r.sQ === 2) && r.skDist === "normal";
}

/** A single request with a long context: where splitting one request's cache over the SMs decides. */
export function isLongSingle(r: Pick<AggRow, "b" | "meanSk">): boolean {
  return r.b === 1 && r.meanSk >= 16384;
}

export interface ComparisonVerdict {
  name: string;
  /** the ratio (or difference) judged; undefined when nothing could be judged */
  value?: number;
  bound: number;
  /** "min": value >= bound; "max": value <= bound */
  kind: "min" | "max";
  met: boolean;
  /** what the value is made of */
  detail: string;
}

/** The side-by-side pairs of the bench grid, in the order of the run. */
export function benchPairs(run: LoadedRun): SideBySide[] {
  if (typeof run !== "object" || run === null || !Array.isArray(run.agg)) throw new MlaArgumentError("benchPairs", "run", "a LoadedRun", run);
  return sideBySide(run.agg.filter((r) => r.sweep === SWEEPS.bench));
}

/** The issue-18 verdicts on the pairs of the bench grid. */
export function comparisonVerdicts(pairs: SideBySide[]): ComparisonVerdict[] {
  if (!Array.isArray(pairs)) throw new MlaArgumentError("comparisonVerdicts", "pairs", "an array of SideBySide", pairs);
  const judged = pairs.filter((p) => p.ratio !== undefined);
  const missing = pairs.length - judged.length;
  const minOf = (ps: SideBySide[]): number | undefined => (ps.length ? Math.min(...ps.map((p) => p.ratio!)) : undefined);
  const which = (ps: SideBySide[], v: number | undefined): string => {
    const p = ps.find((x) => x.ratio === v);
    return p ? ` (${configLabel(p.config)})` : "";
  };
  const out: ComparisonVerdict[] = [];
  const all = minOf(judged);
  out.push({
    name: "ours at least as fast as FlashMLA on every configuration: FlashMLA / ours >= 1.00",
    value: all,
    bound: 1,
    kind: "min",
    met: all !== undefined && all >= 1 && missing === 0,
    detail: `lowest of ${judged.length} configurations${which(judged, all)}${missing ? `; ${missing} without a ratio (a side failed)` : ""}`,
  });
  const grid = judged.filter((p) => isFlashmlaGrid(p.config));
  const med = median(grid.map((p) => p.ratio!));
  out.push({
    name: "FlashMLA's own grid (b=128, h_q=128, s_q 1 and 2): median FlashMLA / ours >= 1.05",
    value: med,
    bound: 1.05,
    kind: "min",
    met: med !== undefined && med >= 1.05,
    detail: `median of ${grid.length} configurations`,
  });
  const long = judged.filter((p) => isLongSingle(p.config));
  const lo = minOf(long);
  out.push({
    name: "one request, long context (b=1, s_k >= 16384): FlashMLA / ours >= 1.5",
    value: lo,
    bound: 1.5,
    kind: "min",
    met: lo !== undefined && lo >= 1.5,
    detail: `lowest of ${long.length} configuration${long.length === 1 ? "" : "s"}${which(long, lo)}`,
  });
  const diffs = pairs.map((p) => p.outRelDiff).filter((x) => !Number.isNaN(x));
  const worst = diffs.length ? Math.max(...diffs) : undefined;
  out.push({
    name: `outputs agree: max |ours - FlashMLA| / max |FlashMLA| <= ${OUTPUT_TOLERANCE} on every configuration`,
    value: worst,
    bound: OUTPUT_TOLERANCE,
    kind: "max",
    met: worst !== undefined && worst <= OUTPUT_TOLERANCE && diffs.length === pairs.length,
    detail: `largest of ${diffs.length} configurations checked${diffs.length < pairs.length ? `; ${pairs.length - diffs.length} not checked` : ""}`,
  });
  const lses = pairs.map((p) => p.lseRelDiff).filter((x) => !Number.isNaN(x));
  if (lses.length) {
    const w = Math.max(...lses);
    out.push({
      name: `log-sum-exp agrees: max |ours - FlashMLA| / max |FlashMLA| <= ${LSE_TOLERANCE}`,
      value: w,
      bound: LSE_TOLERANCE,
      kind: "max",
      met: w <= LSE_TOLERANCE,
      detail: `largest of ${lses.length} configurations where the layouts agree`,
    });
  }
  return out;
}

/** "b=128 s_q=2 h_q=128 s_k=8192 var causal" */
export function configLabel(r: Pick<AggRow, "b" | "sQ" | "hQ" | "hKv" | "meanSk" | "skDist" | "causal">): string {
  const dist = r.skDist === "normal" ? " var" : r.skDist === "lognormal" ? " mix" : "";
  return `b=${r.b} s_q=${r.sQ} h_q=${r.hQ}${r.hKv !== 1 ? ` h_kv=${r.hKv}` : ""} s_k=${r.meanSk}${dist}${r.causal ? " causal" : ""}`;
}

/** One row of the comparison table: the pair and, from libmla's own loop, the fastest rung and auto's distance to it. */
export interface ComparisonRow {
  pair: SideBySide;
  /** fastest rung measured by libmla's loop on the configuration ("" when no rung was) */
  bestRung: string;
  /** that loop's automatic choice time / the fastest rung's time - 1 */
  autoOverBest?: number;
}

export function comparisonRows(run: LoadedRun): ComparisonRow[] {
  const native = run.agg.filter((r) => r.sweep === SWEEPS.bench && r.impl === "ours" && !isSideBySide(r) && isMeasured(r));
  return benchPairs(run).map((pair) => {
    const rs = native.filter((r) => r.configId === pair.configId);
    const rungs = rs.filter((r) => !isAuto(r));
    const best = rungs.length ? rungs.reduce((a, r) => (r.usMedian < a.usMedian ? r : a)) : undefined;
    const auto = rs.find(isAuto);
    return { pair, bestRung: best ? `v${best.kernelVersion}` : "", autoOverBest: best && auto ? auto.usMedian / best.usMedian - 1 : undefined };
  });
}

const num = (x: number | undefined, digits: number): string => (x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(digits));
const sci = (x: number): string => (Number.isNaN(x) ? "—" : x.toExponential(1));
const pct = (x: number | undefined): string => (x === undefined ? "—" : `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}%`);
const rungOf = (p: SideBySide): string => (p.rung ? `v${p.rung} ${p.kernelName}` : "—");

function cells(c: ComparisonRow): string[] {
  const p = c.pair;
  return [
    configLabel(p.config),
    rungOf(p),
    num(p.ours.graph?.usMedian, 1),
    num(p.flashmla.graph?.usMedian, 1),
    num(p.ratioGraph, 3),
    num(p.ours.events?.usMedian, 1),
    num(p.flashmla.events?.usMedian, 1),
    num(p.ratioEvents, 3),
    c.bestRung ? `${c.bestRung} (auto ${pct(c.autoOverBest)})` : "—",
    sci(p.outRelDiff),
    sci(p.lseRelDiff),
  ];
}

const HEAD = ["configuration", "ours (auto) ran", "ours µs graph", "FlashMLA µs graph", "ratio graph", "ours µs eager", "FlashMLA µs eager", "ratio eager", "fastest rung (libmla loop)", "out diff", "lse diff"];

function notMeasured(run: LoadedRun): string {
  const notes = run.baselineNotes as Record<string, { available?: boolean; reason?: string } | undefined>;
  const why = [notes.flashmla?.available === false ? notes.flashmla.reason : undefined, notes.libmla?.available === false ? notes.libmla.reason : undefined].filter(Boolean).join("; ");
  return `no side-by-side measurement of the bench grid (sweep ${SWEEPS.bench}) in this run${why ? `: ${why}` : " (baselines/torch_mla_decode.py measures it where `import flash_mla` works)"}`;
}

function verdictValue(v: ComparisonVerdict): string {
  if (v.value === undefined) return "not measured";
  return v.kind === "max" ? v.value.toExponential(1) : `${v.value.toFixed(3)}×`;
}

/** The comparison as fixed-width text (npm run bench). */
export function comparisonText(run: LoadedRun): string {
  const rows = comparisonRows(run);
  if (rows.length === 0) return `FlashMLA side by side: ${notMeasured(run)}.`;
  const table = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 || i === 1 || i === 8 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  const L = [`ours (auto) against FlashMLA, side by side (one process, same tensors); ratio = FlashMLA time / ours time, above 1: ours is faster`];
  L.push(line(table[0]));
  for (const r of table.slice(1)) L.push(line(r));
  L.push("", "verdicts (headline: CUDA-graph replay):");
  for (const v of comparisonVerdicts(rows.map((r) => r.pair))) L.push(`  ${v.met ? "MET    " : "NOT MET"} ${v.name}: ${verdictValue(v)} (${v.detail})`);
  return L.join("\n");
}

function md(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The comparison as Markdown (the report, the artifact's claims); no paths, so it reads the same for any folder. */
export function comparisonMarkdown(run: LoadedRun): string {
  const rows = comparisonRows(run);
  if (rows.length === 0) return `_FlashMLA side by side: ${md(notMeasured(run))}._\n`;
  const L = [
    "Ratio = FlashMLA median time / ours median time on the same configuration, tensors and timer (above 1: ours is faster); graph = CUDA-graph replay (the headline), eager = CUDA events around back-to-back calls. Diffs: max |ours - FlashMLA| / max |FlashMLA|.",
    "",
    `| ${HEAD.join(" | ")} |`,
    `|${HEAD.map((_, i) => (i === 0 || i === 1 || i === 8 ? "---" : "---:")).join("|")}|`,
  ];
  for (const r of rows) L.push(`| ${cells(r).map(md).join(" | ")} |`);
  L.push("", "| verdict | value | met | from |", "|---|---:|---|---|");
  for (const v of comparisonVerdicts(rows.map((r) => r.pair))) L.push(`| ${md(v.name)} | ${verdictValue(v)} | ${v.met ? "met" : "not met"} | ${md(v.detail)} |`);
  return `${L.join("\n")}\n`;
}
