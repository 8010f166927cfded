/**
 * The paper's figures, built from one run folder (see src/sweep/aggregate.ts
 * loadRun). Each builder returns a Plotly spec, or a reason why the run has
 * no data for it (a sweep not run, a baseline missing): a partial run still
 * yields every figure it can.
 *
 * Conventions: medians with min-max error bars; "ours" means the library's
 * automatic choice of kernel on a configuration ("ours (auto)"), or in a run
 * from before it the fastest kernel version measured there (its label names
 * it; not the newest: a later rung can be an experiment that lost, v6
 * "seesaw" is slower than v5 "tma_ws"), except in the ladder, which shows
 * every rung. FlashMLA, where the run measured it, appears beside ours: a
 * series in the roofline, bandwidth, compute-rate and latency figures, a
 * reference line per configuration in the ladder, a baseline of the speed-up
 * figure (there from the side-by-side pairs: same process, same tensors).
 * Every rate is computed with the FLOP/byte counts of
 * src/roofline/accounting.ts on the actual mean cache length.
 */
import { checkRun, isAuto, isMeasured, isSideBySide, oursPerConfig, RunContext, runContext, sideBySide, SWEEPS } from "../analysis/run";
import { MlaArgumentError } from "../errors";
import { Ceilings, ridgePoint, rooflineTimeSeconds } from "../roofline/accounting";
import type { AggRow, LoadedRun } from "../sweep/aggregate";
import type { FigureSpec } from "./render";
import { caption, colorFor, dashFor, formatTick, markerFor, OKABE_ITO, paperLayout } from "./style";

export interface PaperFigure {
  name: string;
  title: string;
  /** the caption drawn under the static figure and repeated in the report */
  caption: string;
  spec: FigureSpec;
  /** which rows of which files the figure plots (for the report's provenance) */
  source: string;
  /** the claim the figure supports, one sentence with its numbers from the run (the figure index shows it) */
  claim: string;
}

export interface SkippedFigure {
  name: string;
  title: string;
  skipped: string;
}

export type FigureResult = PaperFigure | SkippedFigure;

export function isSkipped(f: FigureResult): f is SkippedFigure {
  return (f as SkippedFigure).skipped !== undefined;
}

function byLabel(rows: AggRow[]): Map<string, AggRow[]> {
  const m = new Map<string, AggRow[]>();
  // "ours" first so it keeps colour 0 in every figure.
  const sorted = [...rows].sort((a, b) => (a.impl === "ours" ? 0 : 1) - (b.impl === "ours" ? 0 : 1) || a.label.localeCompare(b.label));
  for (const r of sorted) {
    const list = m.get(r.label) ?? [];
    list.push(r);
    m.set(r.label, list);
  }
  return m;
}

function errorBars(ys: number[], lo: number[], hi: number[]): object {
  return { type: "data", symmetric: false, array: hi.map((h, i) => h - ys[i]), arrayminus: lo.map((l, i) => ys[i] - l), thickness: 1, width: 3 };
}

function hover(r: AggRow): string {
  return [
    `${r.label}`,
    `${r.sweep}/${r.configId}`,
    `median ${r.usMedian.toFixed(1)} µs (min ${r.usMin.toFixed(1)}, max ${r.usMax.toFixed(1)}, n=${r.n}${r.nError ? `, ${r.nError} errors` : ""})`,
    `${r.gbpsMedian.toFixed(0)} GB/s, ${r.tflopsMedian.toFixed(1)} TFLOP/s, ${r.intensity.toFixed(0)} FLOP/B`,
  ].join("<br>");
}

function pow2Ticks(values: number[]): number[] {
  const lo = Math.floor(Math.log2(Math.min(...values)));
  const hi = Math.ceil(Math.log2(Math.max(...values)));
  const out: number[] = [];
  for (let e = lo; e <= hi; e++) out.push(2 ** e);
  return out;
}

function ceilingNote(ctx: RunContext): string {
  if (ctx.measured) return `Ceilings: measured copy ${(ctx.measured.bandwidth / 1e9).toFixed(0)} GB/s and bf16 GEMM ${(ctx.measured.flops / 1e12).toFixed(0)} TFLOP/s on this GPU${ctx.datasheet ? `; datasheet ${ctx.datasheet.name}` : ""}.`;
  if (ctx.datasheet) return `Ceilings: datasheet ${ctx.datasheet.name} only (no probe results in this run).`;
  return "No ceilings known for this GPU.";
}

function rowsOf(run: LoadedRun, sweep: string): AggRow[] {
  return run.agg.filter((r) => r.sweep === sweep && isMeasured(r));
}

function sourceOf(run: LoadedRun, rows: AggRow[]): string {
  const files = [...new Set(rows.map((r) => r.source))].sort();
  const sweeps = [...new Set(rows.map((r) => r.sweep))].sort();
  return `${run.dir}: ${files.join(", ")} (sweeps ${sweeps.join(", ")}; ${rows.length} configuration x implementation medians)`;
}

// ---------------------------------------------------------------- roofline
export function rooflineFigure(run: LoadedRun): FigureResult {
  checkRun("rooflineFigure", run);
  const title = "Roofline: MLA decode on this GPU";
  const name = "roofline";
  const ctx = runContext(run);
  // The fastest kernel per configuration only: the other versions' points belong to the ladder figure.
  const rows = oursPerConfig(run.agg.filter(isMeasured));
  if (rows.length === 0) return { name, title, skipped: "no successful measurements in the run" };
  if (!ctx.best) return { name, title, skipped: `no ceilings: no probe results and no datasheet entry for "${ctx.provenance.gpuName}"` };
  const xs = rows.map((r) => r.intensity);
  const xMin = Math.min(16, ...xs) / 1.5;
  const xMax = Math.max(2048, ...xs) * 1.5;
  const data: object[] = [];
  const roof = (c: Ceilings, label: string, dash: string, color: string): void => {
    const ridge = ridgePoint(c);
    data.push({
      type: "scatter",
      mode: "lines",
      name: label,
      x: [xMin, ridge, xMax],
      y: [(xMin * c.bandwidth) / 1e12, c.flops / 1e12, c.flops / 1e12],
      line: { color, dash, width: 1.5 },
      hoverinfo: "name",
    });
    data.push({
      type: "scatter",
      mode: "markers",
      name: `${label}: ridge ${ridge.toFixed(0)} FLOP/B`,
      x: [ridge],
      y: [c.flops / 1e12],
      marker: { symbol: "diamond-open", size: 9, color, line: { width: 1.5 } },
      showlegend: false,
      hovertemplate: `ridge point %{x:.0f} FLOP/B<extra>${label}</extra>`,
    });
  };
  if (ctx.measured) roof(ctx.measured, "measured ceilings", "solid", OKABE_ITO.black);
  if (ctx.sheet) roof(ctx.sheet, "datasheet ceilings", "dash", "#777777");
  let i = 0;
  for (const [label, rs] of byLabel(rows)) {
    data.push({
      type: "scatter",
      mode: "markers",
      name: label,
      x: rs.map((r) => r.intensity),
      y: rs.map((r) => r.tflopsMedian),
      error_y: errorBars(rs.map((r) => r.tflopsMedian), rs.map((r) => r.tflopsMin), rs.map((r) => r.tflopsMax)),
      marker: { color: colorFor(i), symbol: markerFor(i), size: 6, opacity: 0.85 },
      text: rs.map(hover),
      hovertemplate: "%{text}<extra></extra>",
    });
    i++;
  }
  const ridges = [ctx.measured, ctx.sheet].filter((c): c is Ceilings => c !== undefined).map((c) => ridgePoint(c));
  const cap = caption(ctx.provenance, ceilingNote(ctx));
  const roofFrac = (r: AggRow): number => (r.tflopsMedian * 1e12) / Math.min(ctx.best!.flops, r.intensity * ctx.best!.bandwidth);
  const top = rows.filter((r) => r.impl === "ours").reduce<AggRow | undefined>((a, r) => (!a || roofFrac(r) > roofFrac(a) ? r : a), undefined);
  const over = rows.filter((r) => roofFrac(r) > 1).length;
  const under = over === 0 ? `All ${rows.length} configurations lie under` : `${over} of ${rows.length} configurations lie above`;
  const claim = top
    ? `${under} the ${ctx.bestIsMeasured ? "measured" : "datasheet"} roofline of this GPU; the closest of ours, ${top.label} at ${top.intensity.toFixed(0)} FLOP/byte, attains ${(100 * roofFrac(top)).toFixed(0)}% of it.`
    : `${under} the roofline of this GPU.`;
  // Decade ticks on the rate axis: Plotly's automatic 2-5 minor labels collide once the rates span 3+ decades.
  const ys = data.flatMap((t) => ((t as { y?: number[] }).y ?? []).filter((v) => v > 0));
  const decades: number[] = [];
  for (let d = Math.floor(Math.log10(Math.min(...ys))); d <= Math.ceil(Math.log10(Math.max(...ys))); d++) decades.push(10 ** d);
  const layout = paperLayout({
    x: { quantity: "arithmetic intensity", unit: "FLOP/byte", log: true },
    y: { quantity: "attained rate", unit: "TFLOP/s", log: true, tickvals: decades },
    caption: cap,
    height: 340,
  });
  layout.shapes = ridges.map((r) => ({ type: "line", xref: "x", yref: "paper", x0: r, x1: r, y0: 0, y1: 1, line: { color: "#bbb", width: 1, dash: "dot" } }));
  return { name, title, caption: cap, claim, spec: { data, layout }, source: sourceOf(run, rows) };
}

// ---------------------------------------------------------------- bandwidth vs s_k
export function bandwidthVsSkFigure(run: LoadedRun): FigureResult {
  checkRun("bandwidthVsSkFigure", run);
  const name = "bandwidth-vs-sk";
  const title = "Memory bandwidth vs cache length";
  const rows = oursPerConfig(rowsOf(run, SWEEPS.seqlen));
  if (rows.length === 0) return { name, title, skipped: `no successful rows of sweep "${SWEEPS.seqlen}"` };
  const ctx = runContext(run);
  const data: object[] = [];
  const xs = rows.map((r) => r.meanSk);
  const ticks = pow2Ticks(xs);
  const xr: [number, number] = [Math.min(...xs) / 1.3, Math.max(...xs) * 1.3];
  const hline = (y: number, label: string, dash: string, color: string): void => {
    data.push({ type: "scatter", mode: "lines", name: label, x: xr, y: [y, y], line: { color, dash, width: 1.5 }, hoverinfo: "name" });
  };
  if (ctx.measured) hline(ctx.measured.bandwidth / 1e9, "measured copy bandwidth", "solid", OKABE_ITO.black);
  if (ctx.sheet) hline(ctx.sheet.bandwidth / 1e9, "datasheet bandwidth", "dash", "#777777");
  let i = 0;
  for (const [label, rs0] of byLabel(rows)) {
    const rs = [...rs0].sort((a, b) => a.meanSk - b.meanSk);
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: label,
      x: rs.map((r) => r.meanSk),
      y: rs.map((r) => r.gbpsMedian),
      error_y: errorBars(rs.map((r) => r.gbpsMedian), rs.map((r) => r.gbpsMin), rs.map((r) => r.gbpsMax)),
      line: { color: colorFor(i), dash: dashFor(i), width: 2 },
      marker: { color: colorFor(i), symbol: markerFor(i), size: 6 },
      text: rs.map(hover),
      hovertemplate: "%{text}<extra></extra>",
    });
    i++;
  }
  const bs = [...new Set(rows.map((r) => r.b))].sort((a, b) => b - a);
  const cap = caption(ctx.provenance, `h_q=128, s_q=1, fixed lengths, b=${bs.join("/")} (smaller b at 32k/64k keeps the cache at 2.4 GB).`);
  const layout = paperLayout({
    x: { quantity: "cache length s_k", unit: "tokens", log: true, tickvals: ticks, ticktext: ticks.map(formatTick), range: [Math.log10(xr[0]), Math.log10(xr[1])] },
    y: { quantity: "achieved bandwidth", unit: "GB/s", range: [0, Math.max(...rows.map((r) => r.gbpsMax), ctx.sheet ? ctx.sheet.bandwidth / 1e9 : 0, ctx.measured ? ctx.measured.bandwidth / 1e9 : 0) * 1.1] },
    caption: cap,
  });
  const mine = rows.filter((r) => r.impl === "ours");
  const gb = mine.map((r) => r.gbpsMedian);
  const sks = mine.map((r) => r.meanSk);
  const claim = mine.length
    ? `At h_q=128 ours holds ${Math.min(...gb).toFixed(0)}-${Math.max(...gb).toFixed(0)} GB/s over cache lengths ${formatTick(Math.min(...sks))} to ${formatTick(Math.max(...sks))}.`
    : "Bandwidth against cache length at h_q=128.";
  return { name, title, caption: cap, claim, spec: { data, layout }, source: sourceOf(run, rows) };
}

// ---------------------------------------------------------------- memory-bound: bandwidth vs h_q
/** The largest h_q drawn in the memory-bound figure: up to 64 query rows per KV head the step stays well under the ridge. */
export const MEMORY_BOUND_MAX_HQ = 64;

/** Why FlashMLA is absent from a run, from its baselines.json (or that it was not checked). */
function flashmlaAbsence(run: LoadedRun): string {
  const note = (run.baselineNotes as Record<string, { available?: boolean; reason?: string }>).flashmla;
  if (!note) return "FlashMLA: not in this run (not checked; see baselines.json).";
  return `FlashMLA: not in this run${note.reason ? ` (${note.reason})` : ""}.`;
}

export function bandwidthVsHqFigure(run: LoadedRun): FigureResult {
  checkRun("bandwidthVsHqFigure", run);
  const name = "bandwidth-vs-hq";
  const title = `Memory-bound decoding: bandwidth vs query heads (h_q ≤ ${MEMORY_BOUND_MAX_HQ})`;
  const memBound = (r: AggRow): boolean => r.sQ === 1 && r.hKv === 1 && r.hQ <= MEMORY_BOUND_MAX_HQ;
  // Ours from libmla's own loop: the heads sweep (what a caller gets) and the targets sweep (every rung, the
  // fastest drawn), at fixed lengths. FlashMLA wherever the run measured it at such a shape (side by side first).
  const ours = oursPerConfig([...rowsOf(run, SWEEPS.heads), ...rowsOf(run, SWEEPS.targets)].filter((r) => memBound(r) && r.skDist === "fixed")).filter((r) => r.impl === "ours");
  if (ours.length === 0) return { name, title, skipped: `no successful rows of ours at s_q=1, h_kv=1, h_q <= ${MEMORY_BOUND_MAX_HQ}, fixed lengths (sweeps ${SWEEPS.heads}, ${SWEEPS.targets})` };
  // FlashMLA at the shapes ours is drawn at, one row per shape and h_q: side by side (graph replay, then
  // eager) before a run of its own, as everywhere else FlashMLA is compared with ours.
  const shapeKey = (r: AggRow): string => `${r.b}|${r.meanSk}|${r.skDist}`;
  const oursKeys = new Set(ours.map(shapeKey));
  const rank = (r: AggRow): number => (r.timing === "graph" ? 0 : r.timing === "events" ? 1 : 2);
  const flashAll = run.agg.filter((r) => isMeasured(r) && r.impl === "flashmla" && memBound(r));
  const flashBy = new Map<string, AggRow>();
  for (const r of flashAll) {
    const k = `${shapeKey(r)}|${r.hQ}`;
    const prev = flashBy.get(k);
    if (oursKeys.has(shapeKey(r)) && (!prev || rank(r) < rank(prev))) flashBy.set(k, r);
  }
  const flash = [...flashBy.values()];
  const per = [...ours, ...flash];
  const ctx = runContext(run);
  const xs = per.map((r) => r.hQ);
  const ticks = pow2Ticks(xs);
  const xr: [number, number] = [ticks[0] / 1.4, ticks[ticks.length - 1] * 1.4];
  const data: object[] = [];
  const hline = (y: number, label: string, dash: string, color: string): void => {
    data.push({ type: "scatter", mode: "lines", name: label, x: xr, y: [y, y], line: { color, dash, width: 1.5 }, hoverinfo: "name" });
  };
  if (ctx.measured) hline(ctx.measured.bandwidth / 1e9, `measured copy bandwidth, ${(ctx.measured.bandwidth / 1e9).toFixed(0)} GB/s`, "solid", OKABE_ITO.black);
  if (ctx.sheet) hline(ctx.sheet.bandwidth / 1e9, `datasheet bandwidth, ${(ctx.sheet.bandwidth / 1e9).toFixed(0)} GB/s`, "dash", "#777777");
  const shapeOf = (r: AggRow): string => `b=${r.b}, s_k=${formatTick(r.meanSk)}${r.skDist === "fixed" ? "" : " varlen"}`;
  // The shape every series of ours shares goes to the caption; a series of another shape names its own.
  const oursShapes = [...new Set(ours.map(shapeOf))];
  const common = oursShapes.length === 1 ? oursShapes[0] : undefined;
  // One series per sweep (and one for FlashMLA): a configuration's kernel is in its hover text and the caption.
  const groups = new Map<string, AggRow[]>();
  for (const r of per) {
    const k = r.impl === "flashmla" ? `FlashMLA|${r.b}|${r.meanSk}|${r.skDist}` : r.sweep;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  let i = 0;
  for (const [key, rs0] of groups) {
    const rs = [...rs0].sort((a, b) => a.hQ - b.hQ || a.meanSk - b.meanSk);
    const labels = [...new Set(rs.map((r) => r.label))];
    const isFlash = rs[0].impl === "flashmla";
    const shapes = [...new Set(rs.map(shapeOf))];
    const shape = shapes.length === 1 && shapes[0] === common ? "" : ` (${shapes.join("; ")})`;
    const who = isFlash ? labels.join(" / ") : labels.length === 1 ? labels[0] : "ours, fastest rung per h_q";
    const color = isFlash ? OKABE_ITO.vermillion : colorFor(i === 1 ? 2 : i);
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: isFlash ? `${who}${shape}` : `${who}, ${key} sweep${shape}`,
      x: rs.map((r) => r.hQ),
      y: rs.map((r) => r.gbpsMedian),
      error_y: errorBars(rs.map((r) => r.gbpsMedian), rs.map((r) => r.gbpsMin), rs.map((r) => r.gbpsMax)),
      line: { color, dash: isFlash ? "dash" : dashFor(i), width: 2 },
      marker: { color, symbol: isFlash ? "x" : markerFor(i), size: 7 },
      text: rs.map(hover),
      hovertemplate: "%{text}<extra></extra>",
    });
    if (!isFlash) i++;
  }
  const best = ours.reduce((a, b) => (b.gbpsMedian > a.gbpsMedian ? b : a));
  const frac = ctx.measured ? ` (${((100 * best.gbpsMedian * 1e9) / ctx.measured.bandwidth).toFixed(0)}% of the measured copy bandwidth)` : "";
  const cap = caption(
    ctx.provenance,
    `${common ? `${common}, ` : ""}s_q=1, h_kv=1, fixed lengths; medians, bars min-max. Best: ${best.label} at h_q=${best.hQ}, ${best.gbpsMedian.toFixed(0)} GB/s${frac}. ${flash.length ? `FlashMLA: the same shapes in this run${flash.some((r) => rank(r) < 2) ? " (side by side with ours where so measured)" : ""}.` : flashAll.length ? "FlashMLA: in this run, but not at these shapes (REPORT.md compares it side by side)." : flashmlaAbsence(run)}`,
  );
  const yMax = Math.max(...per.map((r) => r.gbpsMax), ctx.sheet ? ctx.sheet.bandwidth / 1e9 : 0, ctx.measured ? ctx.measured.bandwidth / 1e9 : 0) * 1.08;
  const layout = paperLayout({
    x: { quantity: "query heads h_q", unit: "heads", log: true, tickvals: ticks, range: [Math.log10(xr[0]), Math.log10(xr[1])] },
    y: { quantity: "achieved bandwidth", unit: "GB/s", range: [0, yMax] },
    caption: cap,
    height: 400,
  });
  const claim = `At h_q ≤ ${MEMORY_BOUND_MAX_HQ} decoding is memory-bound: ${best.label} moves ${best.gbpsMedian.toFixed(0)} GB/s at h_q=${best.hQ}${frac}.`;
  return { name, title, caption: cap, claim, spec: { data, layout }, source: sourceOf(run, per) };
}

// ---------------------------------------------------------------- TFLOPS vs h_q * s_q
export function tflopsVsRowsFigure(run: LoadedRun): FigureResult {
  checkRun("tflopsVsRowsFigure", run);
  const name = "tflops-vs-hq-sq";
  const title = "Compute rate vs query rows per KV head (h_q x s_q)";
  const rows = oursPerConfig([...rowsOf(run, SWEEPS.heads), ...rowsOf(run, SWEEPS.speculative)]);
  if (rows.length === 0) return { name, title, skipped: `no successful rows of sweeps "${SWEEPS.heads}" or "${SWEEPS.speculative}"` };
  const ctx = runContext(run);
  const rowsPerHead = (r: AggRow): number => (r.hQ * r.sQ) / r.hKv;
  const xs = rows.map(rowsPerHead);
  const ticks = pow2Ticks(xs);
  const data: object[] = [];
  // The attainable curve at a representative cache length: intensity barely depends on s_k once s_k >> h_q*s_q.
  const sk = 8192;
  const curve = (c: Ceilings, label: string, dash: string, color: string): void => {
    const hs: number[] = [];
    for (let h = ticks[0] / 1.2; h <= ticks[ticks.length - 1] * 1.2; h *= 1.05) hs.push(h);
    const ys = hs.map((h) => Math.min(c.flops, intensityForRows(h, sk) * c.bandwidth) / 1e12);
    data.push({ type: "scatter", mode: "lines", name: label, x: hs, y: ys, line: { color, dash, width: 1.5 }, hoverinfo: "name" });
    const cross = crossoverRows(c, sk);
    data.push({
      type: "scatter",
      mode: "markers",
      x: [cross],
      y: [c.flops / 1e12],
      marker: { symbol: "diamond-open", size: 9, color, line: { width: 1.5 } },
      showlegend: false,
      hovertemplate: `memory→compute crossover at h_q·s_q ≈ %{x:.0f}<extra>${label}</extra>`,
    });
  };
  if (ctx.measured) curve(ctx.measured, "roofline, measured ceilings", "solid", OKABE_ITO.black);
  if (ctx.sheet) curve(ctx.sheet, "roofline, datasheet", "dash", "#777777");
  let i = 0;
  for (const [label, rs0] of byLabel(rows)) {
    let first = true;
    for (const sweep of [SWEEPS.heads, SWEEPS.speculative]) {
      const rs = rs0.filter((r) => r.sweep === sweep).sort((a, b) => rowsPerHead(a) - rowsPerHead(b) || a.meanSk - b.meanSk);
      if (rs.length === 0) continue;
      // One legend entry per implementation; the marker shape (explained in the caption) tells the sweeps apart.
      data.push({
        type: "scatter",
        mode: "markers",
        name: label,
        legendgroup: label,
        showlegend: first,
        x: rs.map(rowsPerHead),
        y: rs.map((r) => r.tflopsMedian),
        error_y: errorBars(rs.map((r) => r.tflopsMedian), rs.map((r) => r.tflopsMin), rs.map((r) => r.tflopsMax)),
        marker: { color: colorFor(i), symbol: sweep === SWEEPS.heads ? "circle" : "square", size: 7 },
        text: rs.map(hover),
        hovertemplate: "%{text}<extra></extra>",
      });
      first = false;
    }
    i++;
  }
  const cross = ctx.best ? crossoverRows(ctx.best, sk) : undefined;
  const cap = caption(
    ctx.provenance,
    `b=128, h_kv=1; circles: h_q sweep (s_q=1, s_k=8192), squares: s_q sweep (h_q=128, s_k=4k/16k); roofline drawn for s_k=${sk}.${cross ? ` Crossover (${ctx.bestIsMeasured ? "measured" : "datasheet"} ceilings) at h_q·s_q ≈ ${cross.toFixed(0)}.` : ""}`,
  );
  const layout = paperLayout({
    x: { quantity: "query rows per KV head h_q·s_q", unit: "rows", log: true, tickvals: ticks },
    y: { quantity: "attained rate", unit: "TFLOP/s", log: true },
    caption: cap,
    height: 340,
  });
  const peak = rows.filter((r) => r.impl === "ours").reduce<AggRow | undefined>((a, r) => (!a || r.tflopsMedian > a.tflopsMedian ? r : a), undefined);
  const claim = `${cross ? `The step turns compute-bound near h_q·s_q ≈ ${cross.toFixed(0)} query rows per KV head` : "Compute rate against query rows per KV head"}${peak ? `; ours peaks at ${peak.tflopsMedian.toFixed(0)} TFLOP/s (${peak.label}, h_q·s_q=${rowsPerHead(peak)})` : ""}.`;
  return { name, title, caption: cap, claim, spec: { data, layout }, source: sourceOf(run, rows) };
}

/** Intensity of a step with `rows` = h_q*s_q query rows on one KV head, cache length sk (b cancels). */
export function intensityForRows(rows: number, sk: number): number {
  if (!(rows > 0)) throw new MlaArgumentError("intensityForRows", "rows", "a number > 0", rows);
  if (!(sk > 0)) throw new MlaArgumentError("intensityForRows", "sk", "a number > 0", sk);
  const flops = 2 * rows * sk * (576 + 512);
  const bytes = 2 * (rows * 576 + sk * 576 + rows * 512);
  return flops / bytes;
}

/** h_q*s_q at which the step turns compute-bound under the given ceilings (bisection on a monotone function). */
export function crossoverRows(c: Ceilings, sk: number): number {
  const target = ridgePoint(c);
  let lo = 1e-3;
  let hi = 1e6;
  if (intensityForRows(hi, sk) < target) return Infinity;
  for (let k = 0; k < 200; k++) {
    const mid = Math.sqrt(lo * hi);
    if (intensityForRows(mid, sk) < target) lo = mid;
    else hi = mid;
  }
  return hi;
}

// ---------------------------------------------------------------- kernel ladder
export function ladderFigure(run: LoadedRun): FigureResult {
  checkRun("ladderFigure", run);
  const name = "kernel-ladder";
  const title = "Kernel ladder: fraction of the roofline per version";
  const all = rowsOf(run, SWEEPS.ladder);
  // The bars: every rung of ours and the plain PyTorch baseline. The automatic choice is one of the rungs;
  // FlashMLA is drawn as a reference line per configuration.
  const rows = all.filter((r) => (r.impl === "ours" && !isAuto(r) && !isSideBySide(r)) || r.impl === "torch");
  if (rows.length === 0) return { name, title, skipped: `no successful rows of sweep "${SWEEPS.ladder}"` };
  const ctx = runContext(run);
  if (!ctx.best) return { name, title, skipped: "no ceilings (neither probes nor a datasheet entry) to express the fraction of the roofline" };
  const ceil = ctx.best;
  const flashmla = oursPerConfig(all).filter((r) => r.impl === "flashmla");
  const fraction = (r: AggRow): number => (100 * rooflineTimeSeconds({ b: r.b, sQ: r.sQ, hQ: r.hQ, hKv: r.hKv, meanSk: r.actualMeanSk }, ceil)) / (r.usMedian * 1e-6);
  const configs = [...new Set(rows.map((r) => r.configId))].sort((a, b) => {
    const ia = rows.find((r) => r.configId === a)!.intensity;
    const ib = rows.find((r) => r.configId === b)!.intensity;
    return ia - ib;
  });
  const order = (r: AggRow): number => (r.impl === "ours" ? Number(r.kernelVersion) : r.impl === "flashmla" ? 1e6 : -1);
  const labels = [...new Map([...rows].sort((a, b) => order(a) - order(b)).map((r) => [r.label, r])).keys()];
  // Horizontal bars, one row per rung: at single-column width the rung names ("v4 wgmma_split") are
  // y tick labels on one line each, and the value labels sit past the bars' ends inside the plot.
  const tick = (l: string): string => l.replace(/^ours v(\d+) \((.*)\)$/, "v$1 $2").replace(/^PyTorch \(eager\)$/, "PyTorch eager");
  const data: object[] = configs.map((cid, i) => {
    const rs = labels.map((l) => rows.find((r) => r.configId === cid && r.label === l));
    const frac = rs.map((r) => (r ? fraction(r) : NaN));
    const first = rows.find((r) => r.configId === cid)!;
    const bound = first.intensity < ridgePoint(ceil) ? "memory-bound" : "compute-bound";
    return {
      type: "bar",
      orientation: "h",
      name: `${bound}: h_q=${first.hQ}, s_q=${first.sQ}, s_k=${formatTick(first.meanSk)}`,
      y: labels.map(tick),
      x: frac,
      marker: { color: colorFor(i), line: { color: "#000", width: 0.5 } },
      text: rs.map((r) => (r ? (bound === "memory-bound" ? `${r.gbpsMedian.toFixed(0)} GB/s` : `${r.tflopsMedian.toFixed(0)} TF/s`) : "")),
      textposition: "outside",
      cliponaxis: false,
      textfont: { size: 8 },
      customdata: rs.map((r) => (r ? hover(r) : "not measured")),
      hovertemplate: "%{customdata}<br>%{x:.1f}% of roofline<extra></extra>",
    };
  });
  // FlashMLA on each configuration: a dashed vertical line across the rungs, in the configuration's colour.
  const refs: object[] = [];
  configs.forEach((cid, i) => {
    const f = flashmla.find((r) => r.configId === cid);
    if (!f || labels.length === 0) return;
    const x = fraction(f);
    const bound = f.intensity < ridgePoint(ceil) ? "memory-bound" : "compute-bound";
    refs.push({
      type: "scatter",
      mode: "lines",
      name: `${f.label}, ${bound}: ${x.toFixed(0)}%`,
      y: [tick(labels[0]), tick(labels[labels.length - 1])],
      x: [x, x],
      line: { color: colorFor(i), dash: "dash", width: 1.5 },
      hovertemplate: `${hover(f)}<br>${x.toFixed(1)}% of roofline<extra></extra>`,
    });
  });
  data.push(...refs);
  const cap = caption(
    ctx.provenance,
    `Roofline time from ${ctx.bestIsMeasured ? "measured" : "datasheet"} ceilings; b=128, h_kv=1; labels: median GB/s (memory-bound) or TFLOP/s (compute-bound).${refs.length ? " Dashed: FlashMLA on the same configuration." : ""}`,
  );
  const layout = paperLayout({
    x: { quantity: "roofline time / measured time", unit: "%", range: [0, 135], tickvals: [0, 25, 50, 75, 100] },
    y: { quantity: "implementation", unit: "kernel version", category: true },
    caption: cap,
    // a bar per configuration, each at least as tall as its 8 px value label
    height: 150 + 30 * labels.length,
    // the rung names take ~95 px left of the plot, where the caption starts
    captionChars: Math.floor((400 - 110) / 5.4),
  });
  layout.barmode = "group";
  layout.bargap = 0.2;
  layout.legend = { ...(layout.legend as object), font: { size: 9 } };
  // Bar labels keep their size instead of shrinking to fit.
  layout.uniformtext = { minsize: 8, mode: "show" };
  const yaxis = layout.yaxis as Record<string, unknown>;
  yaxis.autorange = "reversed";
  yaxis.tickfont = { size: 9 };
  layout.shapes = [{ type: "line", xref: "x", yref: "paper", x0: 100, x1: 100, y0: 0, y1: 1, line: { color: "#999", width: 1, dash: "dot" } }];
  const claimOf = (cid: string): string => {
    const rs = rows.filter((r) => r.configId === cid && r.impl === "ours");
    const v1 = rs.find((r) => r.kernelVersion === "1");
    const top = rs.reduce((a, r) => (fraction(r) > fraction(a) ? r : a));
    const bound = top.intensity < ridgePoint(ceil) ? "memory-bound" : "compute-bound";
    return `${bound} (h_q=${top.hQ}, s_q=${top.sQ}) from ${v1 ? `${fraction(v1).toFixed(0)}% (v1)` : "the first rung"} to ${fraction(top).toFixed(0)}% (${tick(top.label)})`;
  };
  const claim = `Each rung's fraction of the roofline: ${configs.map(claimOf).join("; ")}.`;
  return { name, title, caption: cap, claim, spec: { data, layout }, source: sourceOf(run, rows) };
}

// ---------------------------------------------------------------- speed-up over baselines
export function speedupFigure(run: LoadedRun): FigureResult {
  checkRun("speedupFigure", run);
  const name = "speedup-over-baselines";
  const title = "Speed-up of our kernel over the baselines";
  const all = oursPerConfig(run.agg.filter(isMeasured).filter((r) => r.sweep !== SWEEPS.ladder));
  const ours = all.filter((r) => r.impl === "ours");
  const baselines = [...new Set(all.filter((r) => r.impl !== "ours").map((r) => r.impl))].sort();
  if (ours.length === 0) return { name, title, skipped: "no successful measurements of our kernels" };
  if (baselines.length === 0) {
    const notes = run.baselineNotes as Record<string, { reason?: string }>;
    const why = [notes.torch?.reason, notes.flashmla?.reason].filter(Boolean).join("; ");
    return { name, title, skipped: `no baseline rows in the run${why ? ` (${why})` : " (run baselines/torch_mla_decode.py)"}` };
  }
  const ctx = runContext(run);
  const preferred = [SWEEPS.grid, SWEEPS.seqlen, SWEEPS.batch, SWEEPS.heads, SWEEPS.speculative];
  // Against FlashMLA, the side-by-side pair of each configuration: same process, same tensors, same timer.
  const pairs = new Map(sideBySide(run.agg).filter((p) => p.ratio !== undefined).map((p) => [`${p.sweep}|${p.configId}`, p]));
  const data: object[] = [];
  const lists: { x: string; sweep: string; speed: number; base: AggRow; o: AggRow }[][] = [];
  baselines.forEach((bl) => {
    const list: { x: string; sweep: string; speed: number; base: AggRow; o: AggRow }[] = [];
    for (const sweep of preferred) {
      for (const o of ours.filter((r) => r.sweep === sweep)) {
        if (bl === "flashmla") {
          const p = pairs.get(`${sweep}|${o.configId}`);
          if (!p) continue;
          list.push({ x: `${sweep}: ${shortConfig(o)}`, sweep, speed: p.ratio!, base: p.flashmla[p.timing!]!, o: p.ours[p.timing!]! });
          continue;
        }
        const base = all.find((r) => r.impl === bl && r.sweep === sweep && r.configId === o.configId);
        if (!base) continue;
        list.push({ x: `${sweep}: ${shortConfig(o)}`, sweep, speed: base.usMedian / o.usMedian, base, o });
      }
    }
    lists.push(list);
  });
  lists.forEach((list, i) => {
    if (list.length === 0) return;
    const bl = list[0].base.label;
    data.push({
      type: "bar",
      orientation: "h",
      name: `vs ${bl}`,
      y: list.map((p) => p.x),
      x: list.map((p) => p.speed),
      marker: { color: colorFor(i + 1), line: { color: "#000", width: 0.5 } },
      customdata: list.map((p) => `${p.o.label}: ${p.o.usMedian.toFixed(1)} µs<br>${bl}: ${p.base.usMedian.toFixed(1)} µs`),
      hovertemplate: "%{y}<br>%{customdata}<br>speed-up %{x:.2f}×<extra></extra>",
    });
  });
  const n = Math.max(...lists.map((p) => p.length));
  if (n === 0) return { name, title, skipped: "no configuration measured by both our kernel and a baseline" };
  const sideNote = lists.some((l, i) => baselines[i] === "flashmla" && l.length > 0)
    ? " Against FlashMLA: both in one process on the same tensors (side by side), timed the same way."
    : "";
  const cap = caption(ctx.provenance, `Speed-up = baseline median time / our median time on the same configuration and lengths.${sideNote}`);
  const layout = paperLayout({
    x: { quantity: "speed-up", unit: "×", log: true },
    y: { quantity: "configuration", unit: "sweep: shape", category: true },
    caption: cap,
    height: Math.max(300, 120 + 16 * n * Math.max(1, data.length)),
    width: 600,
    // The y tick labels take ~250 px left of the plot, where the caption starts.
    captionChars: Math.floor((600 - 270) / 5.4),
  });
  (layout.yaxis as Record<string, unknown>).tickfont = { size: 8 };
  (layout.yaxis as Record<string, unknown>).autorange = "reversed";
  layout.shapes = [{ type: "line", xref: "x", yref: "paper", x0: 1, x1: 1, y0: 0, y1: 1, line: { color: "#000", width: 1, dash: "dot" } }];
  layout.barmode = "group";
  const used = lists.flat();
  const geo = (v: number[]): number => Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length);
  const claim = lists
    .filter((l) => l.length > 0)
    .map((l) => {
      // speed = baseline time / ours: above 1 ours is faster; below 1 say how much longer ours takes
      const g = geo(l.map((p) => p.speed));
      const range = `${Math.min(...l.map((p) => p.speed)).toFixed(2)}-${Math.max(...l.map((p) => p.speed)).toFixed(2)}×`;
      const verdict = g >= 1 ? `ours is ${g.toFixed(g < 2 ? 2 : 1)}× faster than ${l[0].base.label}` : `ours takes ${(1 / g).toFixed(2)}× the time of ${l[0].base.label}`;
      return `${verdict} (geometric mean of ${l[0].base.label} time / ours over ${l.length} configurations: ${g.toFixed(2)}×, range ${range})`;
    })
    .join("; ")
    .replace(/^o/, "O")
    .concat(".");
  return { name, title, caption: cap, claim, spec: { data, layout }, source: sourceOf(run, [...ours, ...all.filter((r) => r.impl !== "ours" && r.impl !== "flashmla"), ...used.filter((p) => p.base.impl === "flashmla").flatMap((p) => [p.base, p.o])]) };
}

function shortConfig(r: AggRow): string {
  const parts = [`b${r.b}`, `h${r.hQ}`, `sq${r.sQ}`, `sk${formatTick(r.meanSk)}`];
  if (r.skDist !== "fixed") parts.push(r.skDist === "normal" ? "var" : r.skDist);
  return parts.join(" ");
}

// ---------------------------------------------------------------- latency vs batch
export function latencyVsBatchFigure(run: LoadedRun): FigureResult {
  checkRun("latencyVsBatchFigure", run);
  const name = "latency-vs-batch";
  const title = "Decode-step latency vs batch size";
  const rows = oursPerConfig(rowsOf(run, SWEEPS.batch));
  if (rows.length === 0) return { name, title, skipped: `no successful rows of sweep "${SWEEPS.batch}"` };
  const ctx = runContext(run);
  const xs = rows.map((r) => r.b);
  const ticks = pow2Ticks(xs);
  const data: object[] = [];
  const bound = (c: Ceilings, label: string, dash: string, color: string): void => {
    const ref = rows[0];
    data.push({
      type: "scatter",
      mode: "lines",
      name: label,
      x: ticks,
      y: ticks.map((b) => rooflineTimeSeconds({ b, sQ: ref.sQ, hQ: ref.hQ, hKv: ref.hKv, meanSk: ref.meanSk }, c) * 1e6),
      line: { color, dash, width: 1.5 },
      hovertemplate: `%{y:.1f} µs<extra>${label}</extra>`,
    });
  };
  if (ctx.measured) bound(ctx.measured, "roofline bound, measured ceilings", "solid", OKABE_ITO.black);
  if (ctx.sheet) bound(ctx.sheet, "roofline bound, datasheet", "dash", "#777777");
  let i = 0;
  for (const [label, rs0] of byLabel(rows)) {
    const rs = [...rs0].sort((a, b) => a.b - b.b);
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: label,
      x: rs.map((r) => r.b),
      y: rs.map((r) => r.usMedian),
      error_y: errorBars(rs.map((r) => r.usMedian), rs.map((r) => r.usMin), rs.map((r) => r.usMax)),
      line: { color: colorFor(i), dash: dashFor(i), width: 2 },
      marker: { color: colorFor(i), symbol: markerFor(i), size: 6 },
      text: rs.map(hover),
      hovertemplate: "%{text}<extra></extra>",
    });
    i++;
  }
  const r0 = rows[0];
  const cap = caption(ctx.provenance, `s_q=${r0.sQ}, h_q=${r0.hQ}, s_k=${r0.meanSk} fixed; bars: min-max over trials.`);
  const layout = paperLayout({
    x: { quantity: "batch size b", unit: "requests", log: true, tickvals: ticks },
    y: { quantity: "latency per decode step", unit: "µs", log: true },
    caption: cap,
  });
  const lat = rows.filter((r) => r.impl === "ours").sort((a, b) => a.b - b.b);
  const claim = lat.length
    ? `A decode step of ours takes ${lat[0].usMedian.toFixed(1)} µs at b=${lat[0].b} and ${lat[lat.length - 1].usMedian.toFixed(1)} µs at b=${lat[lat.length - 1].b} (s_k=${r0.meanSk}, h_q=${r0.hQ}).`
    : "Decode-step latency against batch size.";
  return { name, title, caption: cap, claim, spec: { data, layout }, source: sourceOf(run, rows) };
}

/** Every paper figure, in the order the report lists them. */
export function allFigures(run: LoadedRun): FigureResult[] {
  checkRun("allFigures", run);
  return [rooflineFigure, bandwidthVsHqFigure, bandwidthVsSkFigure, tflopsVsRowsFigure, ladderFigure, speedupFigure, latencyVsBatchFigure].map((f) => {
    try {
      return f(run);
    } catch (e) {
      // One figure's bug must not cost the others; the report lists it as skipped with the reason.
      return { name: f.name, title: f.name, skipped: `failed: ${(e as Error).message}` };
    }
  });
}
