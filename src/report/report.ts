/**
 * The short Markdown report that `make reproduce` leaves next to the
 * figures: the key numbers of a run, side by side with the recorded run the
 * paper quotes, each with its provenance (file, sweep, configuration,
 * implementation, statistic, trial count), plus the run's device and
 * toolchain facts and the list of figures.
 */
import * as path from "path";
import { MlaArgumentError } from "../errors";
import { isMeasured, oursPerConfig, runContext, sideBySide, SWEEPS } from "../analysis/run";
import { comparisonMarkdown } from "../bench/flashmla";
import { kernelText, TARGETS, verdicts } from "../bench/targets";
import type { AggRow, LoadedRun } from "../sweep/aggregate";
import type { FigureManifest } from "../figures/cli";
import { ridgePoint, rooflineTimeSeconds } from "../roofline/accounting";

export interface KeyNumber {
  /** stable id, used to pair a number with the recorded run's */
  id: string;
  quantity: string;
  unit: string;
  value: number;
  /** where it comes from, human-readable */
  source: string;
}

function src(run: LoadedRun, r: AggRow, stat: string): string {
  return `${path.join(run.dir, r.source)} · ${r.sweep}/${r.configId} · ${r.label} · ${stat} of ${r.n} trial${r.n === 1 ? "" : "s"}`;
}

function maxBy<T>(xs: T[], f: (x: T) => number): T | undefined {
  let best: T | undefined;
  for (const x of xs) if (Number.isFinite(f(x)) && (best === undefined || f(x) > f(best))) best = x;
  return best;
}

function geomean(v: number[]): number {
  return Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length);
}

/** Rungs in numeric order (v1, v2, ..., v10), the baseline before them, FlashMLA and anything else after. */
export function ladderOrder(r: Pick<AggRow, "impl" | "kernelVersion">): number {
  if (r.impl === "torch") return -1;
  if (r.impl === "ours") return Number(r.kernelVersion);
  return r.impl === "flashmla" ? 1e6 : 2e6;
}

/** The numbers the paper quotes, computed from one run. Missing sweeps just yield fewer numbers. */
export function keyNumbers(run: LoadedRun): KeyNumber[] {
  if (typeof run !== "object" || run === null || !Array.isArray(run.agg)) throw new MlaArgumentError("keyNumbers", "run", "a LoadedRun", run);
  const out: KeyNumber[] = [];
  const ok = run.agg.filter(isMeasured);
  const ours = oursPerConfig(ok).filter((r) => r.impl === "ours");
  const ctx = runContext(run);

  if (run.measured.copyGBps) out.push({ id: "ceiling.copy", quantity: "copy bandwidth (probe)", unit: "GB/s", value: run.measured.copyGBps, source: `${path.join(run.dir, "ceilings.csv")} · copy_bandwidth · median of ok trials` });
  if (run.measured.gemmTflops) out.push({ id: "ceiling.gemm", quantity: "bf16 GEMM (probe)", unit: "TFLOP/s", value: run.measured.gemmTflops, source: `${path.join(run.dir, "ceilings.csv")} · bf16_gemm · median of ok trials` });

  for (const sQ of [1, 2]) {
    // The targets sweep measures every kernel version on FlashMLA's grid itself (same
    // configuration ids, lengths and seed), so its rows count for the grid's numbers too.
    const gridIds = new Set(ok.filter((r) => r.sweep === SWEEPS.grid).map((r) => r.configId));
    const rows = ours.filter((r) => (r.sweep === SWEEPS.grid || (r.sweep === SWEEPS.targets && gridIds.has(r.configId))) && r.sQ === sQ);
    const best = sQ === 1 ? maxBy(rows, (r) => r.gbpsMedian) : maxBy(rows, (r) => r.tflopsMedian);
    if (!best) continue;
    if (sQ === 1) out.push({ id: "grid.sq1.gbps", quantity: "FlashMLA grid, s_q=1: best bandwidth (ours)", unit: "GB/s", value: best.gbpsMedian, source: src(run, best, "median") });
    else out.push({ id: "grid.sq2.tflops", quantity: "FlashMLA grid, s_q=2 causal: best compute rate (ours)", unit: "TFLOP/s", value: best.tflopsMedian, source: src(run, best, "median") });
    if (sQ === 1 && ctx.measured) out.push({ id: "grid.sq1.copyfrac", quantity: "…as a fraction of the measured copy bandwidth", unit: "%", value: (100 * best.gbpsMedian * 1e9) / ctx.measured.bandwidth, source: `${src(run, best, "median")} ÷ ceilings.csv copy_bandwidth` });
    if (sQ === 2 && ctx.measured) out.push({ id: "grid.sq2.gemmfrac", quantity: "…as a fraction of the measured GEMM rate", unit: "%", value: (100 * best.tflopsMedian * 1e12) / ctx.measured.flops, source: `${src(run, best, "median")} ÷ ceilings.csv bf16_gemm` });
  }

  const seq = maxBy(ours.filter((r) => r.sweep === SWEEPS.seqlen), (r) => r.gbpsMedian);
  if (seq) out.push({ id: "seqlen.best.gbps", quantity: `cache-length sweep: best bandwidth (s_k=${seq.meanSk})`, unit: "GB/s", value: seq.gbpsMedian, source: src(run, seq, "median") });

  for (const b of [1, 128]) {
    const r = ours.find((x) => x.sweep === SWEEPS.batch && x.b === b);
    if (r) out.push({ id: `batch.b${b}.us`, quantity: `latency at b=${b} (s_k=${r.meanSk}, h_q=${r.hQ})`, unit: "µs", value: r.usMedian, source: src(run, r, "median") });
  }

  const ladder = ok.filter((r) => r.sweep === SWEEPS.ladder);
  for (const r of ladder.sort((a, b) => a.intensity - b.intensity || ladderOrder(a) - ladderOrder(b))) {
    if (!ctx.best) break;
    const memBound = r.intensity < ridgePoint(ctx.best);
    const frac = (100 * rooflineTimeSeconds({ b: r.b, sQ: r.sQ, hQ: r.hQ, hKv: r.hKv, meanSk: r.actualMeanSk }, ctx.best)) / (r.usMedian * 1e-6);
    // one id per row: a side-by-side row (ours or FlashMLA, timed by graph replay or eagerly) says which timing
    const timing = r.impl === "torch" ? "" : r.timing === "graph" ? ".graph" : r.timing === "events" ? ".eager" : "";
    out.push({
      id: `ladder.${r.configId}.${r.impl}${r.kernelVersion}${timing}`,
      quantity: `ladder, ${memBound ? "memory" : "compute"}-bound (h_q=${r.hQ}, s_q=${r.sQ}): ${r.label}`,
      unit: `% of roofline (${ctx.bestIsMeasured ? "measured" : "datasheet"})`,
      value: frac,
      source: src(run, r, "median"),
    });
  }

  for (const bl of ["torch", "flashmla"]) {
    const speeds: number[] = [];
    let source = `${run.dir}: results.csv and results-${bl}.csv, medians per configuration`;
    if (bl === "torch") {
      for (const o of ours.filter((r) => r.sweep !== SWEEPS.ladder)) {
        const base = ok.find((r) => r.impl === bl && r.sweep === o.sweep && r.configId === o.configId);
        if (base) speeds.push(base.usMedian / o.usMedian);
      }
    } else {
      // Against FlashMLA: the side-by-side pairs (same process, same tensors, same timer).
      for (const p of sideBySide(run.agg).filter((x) => x.sweep !== SWEEPS.ladder && x.ratio !== undefined)) speeds.push(p.ratio!);
      source = `${run.dir}: results-sidebyside.csv, FlashMLA and ours (auto) side by side, medians per configuration (CUDA-graph replay where measured)`;
    }
    if (speeds.length === 0) continue;
    const name = bl === "torch" ? "PyTorch (eager)" : "FlashMLA";
    out.push({ id: `speedup.${bl}.geomean`, quantity: `speed-up over ${name}, geometric mean over ${speeds.length} configurations`, unit: "×", value: geomean(speeds), source });
    out.push({ id: `speedup.${bl}.min`, quantity: `speed-up over ${name}, worst configuration`, unit: "×", value: Math.min(...speeds), source });
  }
  return out;
}

function fmt(v: number | undefined, unit: string): string {
  if (v === undefined || !Number.isFinite(v)) return "—";
  const digits = unit === "×" ? 2 : Math.abs(v) >= 100 ? 0 : 1;
  return v.toFixed(digits);
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export interface ReportOptions {
  run: LoadedRun;
  /** the run the paper quotes, when different from `run` */
  recorded?: LoadedRun;
  /** "measured": run was measured now on this machine; "recorded": no GPU, drawn from recorded data */
  mode: "measured" | "recorded";
  /** why this run folder was chosen (e.g. "named in data/runs/RECORDED") */
  why?: string;
  figures?: FigureManifest;
  /** relative path from the report to the figures folder; default "." */
  figuresHref?: string;
  /** the date the report states; default the run's own date (run.json), so redrawing a run gives the same bytes */
  now?: Date;
}

/** The Markdown text of the report. */
export function reportMarkdown(o: ReportOptions): string {
  const fn = "reportMarkdown";
  if (typeof o !== "object" || o === null) throw new MlaArgumentError(fn, "o", "an object", o);
  if (typeof o.run !== "object" || o.run === null || !Array.isArray(o.run.agg)) throw new MlaArgumentError(fn, "o.run", "a LoadedRun", o.run);
  if (o.mode !== "measured" && o.mode !== "recorded") throw new MlaArgumentError(fn, "o.mode", '"measured" or "recorded"', o.mode);
  const run = o.run;
  const p = run.provenance;
  const ctx = runContext(run);
  const now = o.now ? o.now.toISOString() : ctx.provenance.date;
  const L: string[] = [];
  L.push(`# MLA decode on ${ctx.provenance.gpuName}: reproduced results`, "");
  if (o.mode === "measured") {
    L.push(`**Measured now** on this machine (${ctx.provenance.gpuName}), run \`${run.runId}\` in \`${run.dir}\`.`);
  } else {
    L.push(
      `**No CUDA GPU on this machine: nothing was measured.** Every figure and number below was drawn from the recorded run \`${run.runId}\` (\`${run.dir}\`${o.why ? `, ${o.why}` : ""}), measured on ${ctx.provenance.gpuName} on ${ctx.provenance.date.slice(0, 10)}.`,
    );
  }
  L.push("", `Report dated ${now}${o.now ? "" : " (the run's own date)"}.`, "");

  L.push("## Key numbers", "");
  const mine = keyNumbers(run);
  const rec = o.recorded && o.recorded.dir !== run.dir ? keyNumbers(o.recorded) : undefined;
  if (mine.length === 0) L.push("_No successful measurements in this run._", "");
  else {
    if (rec) {
      // Both sources: a "best of" number can come from another configuration in the recorded run.
      L.push(`| quantity | this run | recorded (\`${o.recorded!.runId}\`) | unit | source (this run) | source (recorded) |`, "|---|---:|---:|---|---|---|");
      const recBy = new Map(rec.map((k) => [k.id, k]));
      for (const k of mine) L.push(`| ${mdEscape(k.quantity)} | ${fmt(k.value, k.unit)} | ${fmt(recBy.get(k.id)?.value, k.unit)} | ${k.unit} | ${mdEscape(k.source)} | ${mdEscape(recBy.get(k.id)?.source ?? "—")} |`);
      for (const k of rec.filter((r) => !mine.some((m) => m.id === r.id))) L.push(`| ${mdEscape(k.quantity)} | — | ${fmt(k.value, k.unit)} | ${k.unit} | — | ${mdEscape(k.source)} |`);
    } else {
      L.push(`| quantity | value | unit | source |`, "|---|---:|---|---|");
      for (const k of mine) L.push(`| ${mdEscape(k.quantity)} | ${fmt(k.value, k.unit)} | ${k.unit} | ${mdEscape(k.source)} |`);
      if (o.mode === "measured") L.push("", o.recorded ? "_This run is the recorded run._" : "_No recorded run to compare with (data/runs/RECORDED absent)._");
    }
    L.push("");
  }
  L.push(...targetsSection(run));
  L.push(
    "Rates use FlashMLA's FLOP and byte counts (src/roofline/accounting.ts) with the mean of the generated cache lengths; every value is the median over trials, each trial the mean of back-to-back calls timed with CUDA events.",
    "",
  );

  L.push("## Ceilings", "", "| ceiling | value | source |", "|---|---:|---|");
  if (ctx.measured) {
    const ceilFile = path.join(run.dir, "ceilings.csv");
    L.push(`| copy bandwidth, measured | ${(ctx.measured.bandwidth / 1e9).toFixed(0)} GB/s | ${mdEscape(`${ceilFile} · copy_bandwidth · ${p?.ceilings?.method?.copy ?? "median of ok trials"}`)} |`);
    L.push(`| bf16 GEMM, measured | ${(ctx.measured.flops / 1e12).toFixed(0)} TFLOP/s | ${mdEscape(`${ceilFile} · bf16_gemm · ${p?.ceilings?.method?.gemm ?? "median of ok trials"}`)} |`);
  } else L.push(`| measured ceilings | — | not in this run${p?.ceilings?.errors ? `: ${mdEscape(p.ceilings.errors.join("; "))}` : ""} |`);
  if (ctx.datasheet) {
    L.push(`| HBM bandwidth, datasheet | ${(ctx.datasheet.bandwidth / 1e9).toFixed(0)} GB/s | ${mdEscape(ctx.datasheet.source)} |`);
    L.push(`| dense bf16, datasheet | ${(ctx.datasheet.bf16Flops / 1e12).toFixed(0)} TFLOP/s | ${mdEscape(ctx.datasheet.source)} |`);
  } else L.push(`| datasheet | — | no entry for "${mdEscape(ctx.provenance.gpuName)}" in DATASHEETS |`);
  L.push("");

  const notes = run.baselineNotes as Record<string, { available?: boolean; reason?: string; version?: string }>;
  L.push("## Baselines", "");
  L.push(`- PyTorch (eager): ${notes.torch ? (notes.torch.available ? `torch ${notes.torch.version}` : `not run: ${notes.torch.reason}`) : "not run (no baselines.json in the run)"}`);
  L.push(`- FlashMLA: ${notes.flashmla ? (notes.flashmla.available ? `flash_mla ${notes.flashmla.version}` : `not run: ${notes.flashmla.reason}`) : "not run (flash_mla was not checked; see baselines.json)"}`);
  L.push("");
  L.push(`## FlashMLA side by side (bench grid, sweep \`${SWEEPS.bench}\`)`, "", comparisonMarkdown(run));

  if (o.figures) {
    const href = o.figuresHref ?? ".";
    L.push("## Figures", "");
    if (o.figures.runId !== run.runId) L.push(`**Warning:** these figures were drawn from run \`${o.figures.runId}\` (\`${o.figures.run}\`), not from \`${run.runId}\`.`, "");
    for (const f of o.figures.figures) {
      if ("skipped" in f) L.push(`- **${f.title}**: not drawn (${f.skipped})`);
      else {
        const files = f.files.map((x) => `[${x.split(".").pop()}](${path.posix.join(href, x)})`).join(" · ");
        L.push(`- **${f.title}** (${files}): ${f.claim ? `${f.claim} ` : ""}${f.caption}  `, `  Data: ${f.source}`);
      }
    }
    L.push("");
  }

  const errs = run.agg.filter((r) => r.nError > 0);
  if (errs.length) {
    L.push("## Errors recorded", "", "| sweep/config | implementation | failed trials | message |", "|---|---|---:|---|");
    for (const r of errs.slice(0, 40)) {
      const msg = r.error || run.trials.find((t) => t.sweep === r.sweep && t.configId === r.configId && t.impl === r.impl && t.kernelVersion === r.kernelVersion && t.status !== "ok")?.error || "";
      L.push(`| ${r.sweep}/${r.configId} | ${mdEscape(r.label)} | ${r.nError} | ${mdEscape(msg.slice(0, 200))} |`);
    }
    if (errs.length > 40) L.push(`| … | | | ${errs.length - 40} more in the CSVs |`);
    L.push("");
  }

  L.push(...provenanceSection("## Provenance of this run", run));
  if (o.recorded && o.recorded.dir !== run.dir) L.push(...provenanceSection(`## Provenance of the recorded run (\`${o.recorded.runId}\`)`, o.recorded));
  return L.join("\n");
}

/**
 * The kernel-performance targets (src/bench/targets.ts, measured by the
 * targets sweep) with their verdicts, and FlashMLA at the same shape where
 * the run measured it there.
 */
export function targetsSection(run: LoadedRun): string[] {
  const L: string[] = ["## Performance targets", ""];
  const vs = verdicts(run);
  if (vs.every((v) => !v.best)) return [...L, `_The targets sweep (\`${SWEEPS.targets}\`) is not in this run._`, ""];
  const dev = run.provenance?.device?.name ?? "unknown GPU";
  const met = vs.filter((v) => v.met).length;
  L.push(`${met} of ${vs.length} targets met on ${dev} (the targets were set for an H100 SXM).`, "");
  const flash = oursPerConfig(run.agg.filter((r) => isMeasured(r) && r.impl === "flashmla"));
  const metricOf = (m: string, r: AggRow): number => (m === "gbps" ? r.gbpsMedian : m === "tflops" ? r.tflopsMedian : r.usMedian);
  const unit = (m: string): string => (m === "gbps" ? "GB/s" : m === "tflops" ? "TFLOP/s" : "µs");
  L.push("| target | ours (best kernel) | FlashMLA, same shape | verdict |", "|---|---:|---:|---|");
  let anyFlash = false;
  vs.forEach((v, i) => {
    const t = TARGETS[i];
    const ours = v.best ? `${fmt(v.value, unit(t.metric))} ${unit(t.metric)} (${kernelText(v.best)})` : "not measured";
    const b = v.best;
    const f = b ? flash.find((r) => r.b === b.b && r.sQ === b.sQ && r.hQ === b.hQ && r.hKv === b.hKv && r.meanSk === b.meanSk && r.skDist === b.skDist && r.causal === b.causal) : undefined;
    if (f) anyFlash = true;
    const fl = f ? `${fmt(metricOf(t.metric, f), unit(t.metric))} ${unit(t.metric)} (${f.label})` : "—";
    L.push(`| ${mdEscape(v.target)} | ${mdEscape(ours)} | ${mdEscape(fl)} | ${v.best ? (v.met ? "**met**" : "not met") : "not measured"} |`);
  });
  L.push("", anyFlash ? "FlashMLA: its median at the target's shape wherever this run measured it (side by side first)." : "FlashMLA: not in this run.", "");
  return L;
}

/** The device, toolchain and code facts of one run, from its run.json. */
function provenanceSection(title: string, run: LoadedRun): string[] {
  const L: string[] = [title, ""];
  const p = run.provenance;
  const d = p?.device;
  const rows: [string, string][] = [
    ["run folder", run.dir],
    ["files read", run.files.join(", ")],
    ["GPU", d ? `${d.name} (${d.smCount} SMs, SM clock ${d.smClockMHz} MHz, memory clock ${d.memClockMHz} MHz, ${(d.memoryBytes / 2 ** 30).toFixed(0)} GiB, cc ${d.computeCapability ?? "?"})` : "unknown (run.json missing)"],
    ["driver", p?.nvidiaSmi?.driver_version ? `${p.nvidiaSmi.driver_version} (CUDA driver API ${d?.driver})` : d?.driver ?? "unknown"],
    ["power limit / max clocks (nvidia-smi)", p?.nvidiaSmi ? `${p.nvidiaSmi["power.limit"]}; SM ${p.nvidiaSmi["clocks.max.sm"]}, memory ${p.nvidiaSmi["clocks.max.memory"]}` : "unknown"],
    ["CUDA runtime", d?.cudaRuntime ?? "unknown"],
    ["nvcc", p?.nvcc ?? "unknown"],
    ["git commit", p ? `${p.gitCommit}${p.gitDirty === true ? " (with uncommitted changes)" : p.gitDirty === "unknown" ? " (uncommitted changes unknown)" : ""}` : "unknown"],
    ["package version", p?.packageVersion ?? "unknown"],
    ["date (first session)", p?.date ?? "unknown"],
    ["sessions", p?.sessions ? p.sessions.map((s) => `${s.date}${s.quick ? " (quick)" : ""}`).join("; ") : "unknown"],
    ["command", p ? p.command.join(" ") : "unknown"],
    ["kernel versions", p?.kernelVersions ? p.kernelVersions.map((k) => `v${k.version} ${k.name}`).join(", ") : "unknown"],
    ["sweep files", p?.sweeps ? p.sweeps.map((s) => `${s.file} (sha256 ${s.sha256.slice(0, 12)})`).join("; ") : "unknown"],
  ];
  L.push("| | |", "|---|---|");
  for (const [k, v] of rows) L.push(`| ${k} | ${mdEscape(v)} |`);
  L.push("");
  return L;
}
