/**
 * Paper style shared by every figure of the project, so that figures made
 * by the notebooks and by `make reproduce` look alike.
 *
 * Sizes: the static figures are drawn at 400 x 300 CSS px and meant to be
 * placed at single-column width (3.5 in = 336 CSS px). At that reduction a
 * 13 px font prints at about 8 pt, the smallest size most venues accept, so
 * nothing here goes below 11 px (ticks) / 13 px (axis titles).
 */
import { MlaArgumentError } from "../errors";

/** Okabe & Ito (2008) colour-blind-safe palette; black last because it is the "reference" colour. */
export const OKABE_ITO = {
  orange: "#E69F00",
  skyBlue: "#56B4E9",
  bluishGreen: "#009E73",
  yellow: "#F0E442",
  blue: "#0072B2",
  vermillion: "#D55E00",
  reddishPurple: "#CC79A7",
  black: "#000000",
} as const;

/**
 * Series order: yellow is last among colours because it is hard to see on
 * white as thin lines; distinct marker symbols back up colour for greyscale print.
 */
export const PALETTE: readonly string[] = [
  OKABE_ITO.blue,
  OKABE_ITO.vermillion,
  OKABE_ITO.bluishGreen,
  OKABE_ITO.reddishPurple,
  OKABE_ITO.orange,
  OKABE_ITO.skyBlue,
  OKABE_ITO.black,
  OKABE_ITO.yellow,
];
export const MARKERS: readonly string[] = ["circle", "square", "diamond", "triangle-up", "x", "triangle-down", "cross", "star"];
export const DASHES: readonly string[] = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"];

export const FONT_FAMILY = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif";
export const FONT_SIZE = 13;
export const TICK_FONT_SIZE = 11;
export const PAPER_WIDTH_PX = 400;
export const PAPER_HEIGHT_PX = 300;

function checkIndex(fn: string, i: unknown): number {
  if (typeof i !== "number" || !Number.isInteger(i) || i < 0) throw new MlaArgumentError(fn, "i", "an integer >= 0", i);
  return i;
}

export function colorFor(i: number): string {
  return PALETTE[checkIndex("colorFor", i) % PALETTE.length];
}
export function markerFor(i: number): string {
  return MARKERS[checkIndex("markerFor", i) % MARKERS.length];
}
export function dashFor(i: number): string {
  return DASHES[checkIndex("dashFor", i) % DASHES.length];
}

/**
 * "quantity (unit)". The unit is mandatory so that no axis goes out unlabelled;
 * pass "×" or "1" for ratios and counts of things.
 */
export function axisTitle(quantity: string, unit: string): string {
  if (typeof quantity !== "string" || quantity.trim() === "") throw new MlaArgumentError("axisTitle", "quantity", "a non-empty string", quantity);
  if (typeof unit !== "string" || unit.trim() === "") throw new MlaArgumentError("axisTitle", "unit", "a non-empty unit string (use '×' for ratios)", unit);
  return `${quantity} (${unit})`;
}

export interface AxisSpec {
  quantity: string;
  unit: string;
  log?: boolean;
  /** categorical axes (kernel names) */
  category?: boolean;
  /** log axes with powers of 2 look better with these explicit ticks */
  tickvals?: number[];
  ticktext?: string[];
  range?: [number, number];
}

function axisLayout(fn: string, name: string, a: AxisSpec): Record<string, unknown> {
  if (typeof a !== "object" || a === null) throw new MlaArgumentError(fn, name, "an object {quantity, unit, log?}", a);
  const out: Record<string, unknown> = {
    title: { text: axisTitle(a.quantity, a.unit), font: { size: FONT_SIZE }, standoff: 4 },
    type: a.category ? "category" : a.log ? "log" : "linear",
    showline: true,
    linecolor: "#000",
    linewidth: 1,
    mirror: true,
    ticks: "outside",
    ticklen: 4,
    tickfont: { size: TICK_FONT_SIZE },
    gridcolor: "#e5e5e5",
    zeroline: false,
    automargin: true,
    exponentformat: "SI",
  };
  if (a.tickvals !== undefined) {
    if (!Array.isArray(a.tickvals)) throw new MlaArgumentError(fn, `${name}.tickvals`, "an array of numbers", a.tickvals);
    out.tickvals = a.tickvals;
    out.ticktext = a.ticktext ?? a.tickvals.map(formatTick);
  }
  if (a.range !== undefined) out.range = a.range;
  return out;
}

/** 1024 -> "1k", 65536 -> "64k": cache lengths read better in binary thousands. */
export function formatTick(v: number): string {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new MlaArgumentError("formatTick", "v", "a finite number", v);
  if (v >= 1024 && v % 1024 === 0) return `${v / 1024}k`;
  return String(v);
}

export interface PaperLayoutOptions {
  x: AxisSpec;
  y: AxisSpec;
  /** shown in the interactive page; static paper figures normally rely on the caption instead */
  title?: string;
  /** footnote line under the plot (GPU, date); see caption() */
  caption?: string;
  showLegend?: boolean;
  /** wrap the caption at this many characters; default from the width (the caption starts at the plot's left edge, so pass less for wide tick labels) */
  captionChars?: number;
  /** px from the plot's bottom edge to the caption; default 44 (one line of tick labels and the axis title) */
  captionOffset?: number;
  width?: number;
  height?: number;
}

/** A Plotly layout in the paper style. */
export function paperLayout(o: PaperLayoutOptions): Record<string, unknown> {
  if (typeof o !== "object" || o === null) throw new MlaArgumentError("paperLayout", "o", "an object {x, y, ...}", o);
  if (o.title !== undefined && typeof o.title !== "string") throw new MlaArgumentError("paperLayout", "o.title", "a string", o.title);
  if (o.caption !== undefined && typeof o.caption !== "string") throw new MlaArgumentError("paperLayout", "o.caption", "a string", o.caption);
  const width = o.width ?? PAPER_WIDTH_PX;
  const height = o.height ?? PAPER_HEIGHT_PX;
  if (typeof width !== "number" || !(width > 0)) throw new MlaArgumentError("paperLayout", "o.width", "a number > 0", width);
  if (typeof height !== "number" || !(height > 0)) throw new MlaArgumentError("paperLayout", "o.height", "a number > 0", height);
  const layout: Record<string, unknown> = {
    width,
    height,
    font: { family: FONT_FAMILY, size: FONT_SIZE, color: "#000" },
    paper_bgcolor: "#fff",
    plot_bgcolor: "#fff",
    margin: { l: 56, r: 10, t: 10, b: 46 },
    xaxis: axisLayout("paperLayout", "o.x", o.x),
    yaxis: axisLayout("paperLayout", "o.y", o.y),
    showlegend: o.showLegend ?? true,
    // Above the plot, never over data: the data of a new run can land anywhere. Plotly grows the top margin to fit.
    legend: { font: { size: TICK_FONT_SIZE }, orientation: "h", x: 0, xanchor: "left", y: 1.02, yanchor: "bottom", tracegroupgap: 0 },
    hovermode: "closest",
    colorway: [...PALETTE],
  };
  if (o.caption) {
    // An annotation below the axis title. Plotly cannot measure it for us (a bottom title with
    // automargin overlaps the ticks), so the space is computed: captionOffset px for tick labels and
    // axis title, then 12 px per caption line. A figure title, if any, leads the caption in bold.
    const text = o.title ? `${o.title}. ${o.caption}` : o.caption;
    // Plotly does not wrap annotations; ~5.4 px per 9 px glyph, measured on DejaVu Sans. The caption
    // starts at the plot's left edge, so the y tick labels' width is not available to it.
    const lines = wrapText(text, o.captionChars ?? Math.max(30, Math.floor((width - 70) / 5.4)));
    if (o.title) lines[0] = lines[0].replace(`${o.title}.`, `<b>${o.title}.</b>`);
    const offset = o.captionOffset ?? 44;
    if (typeof offset !== "number" || !(offset >= 0)) throw new MlaArgumentError("paperLayout", "o.captionOffset", "a number >= 0", offset);
    (layout.margin as { b: number }).b = offset + 8 + 12 * lines.length;
    layout.annotations = [
      { text: lines.join("<br>"), xref: "paper", yref: "paper", x: 0, y: 0, yshift: -offset, xanchor: "left", yanchor: "top", showarrow: false, font: { size: 9, color: "#444" }, align: "left" },
    ];
  } else if (o.title) {
    layout.title = { text: o.title, font: { size: FONT_SIZE + 1 }, x: 0.5, xanchor: "center" };
    (layout.margin as { t: number }).t = 34;
  }
  return layout;
}

/** Greedy word wrap into lines of at most maxChars (a longer single word gets its own line). */
export function wrapText(text: string, maxChars: number): string[] {
  if (typeof text !== "string") throw new MlaArgumentError("wrapText", "text", "a string", text);
  if (typeof maxChars !== "number" || !Number.isInteger(maxChars) || maxChars < 1) throw new MlaArgumentError("wrapText", "maxChars", "an integer >= 1", maxChars);
  const lines: string[] = [];
  let cur = "";
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (cur === "") cur = w;
    else if (cur.length + 1 + w.length <= maxChars) cur += ` ${w}`;
    else {
      lines.push(cur);
      cur = w;
    }
  }
  if (cur !== "") lines.push(cur);
  return lines;
}

/** What a caption needs from a run's provenance sidecar (see src/sweep/provenance.ts). */
export interface CaptionProvenance {
  gpuName: string;
  /** ISO 8601 timestamp of the run */
  date: string;
  smCount?: number;
  runId?: string;
  gitCommit?: string;
  driver?: string;
  cudaRuntime?: string;
}

/**
 * "Measured on NVIDIA H100 80GB HBM3 (132 SMs, driver 550.54), 2026-11-21; run X, commit abc1234."
 * Every figure carries one so a figure copied out of context still says where its numbers came from.
 */
export function caption(p: CaptionProvenance, extra?: string): string {
  if (typeof p !== "object" || p === null) throw new MlaArgumentError("caption", "p", "an object {gpuName, date, ...}", p);
  if (typeof p.gpuName !== "string" || p.gpuName === "") throw new MlaArgumentError("caption", "p.gpuName", "a non-empty string", p.gpuName);
  if (typeof p.date !== "string" || Number.isNaN(Date.parse(p.date))) throw new MlaArgumentError("caption", "p.date", "an ISO 8601 date string", p.date);
  if (extra !== undefined && typeof extra !== "string") throw new MlaArgumentError("caption", "extra", "a string", extra);
  const details: string[] = [];
  if (typeof p.smCount === "number") details.push(`${p.smCount} SMs`);
  if (p.driver) details.push(`driver ${p.driver}`);
  if (p.cudaRuntime) details.push(`CUDA ${p.cudaRuntime}`);
  let s = `Measured on ${p.gpuName}${details.length ? ` (${details.join(", ")})` : ""}, ${p.date.slice(0, 10)}`;
  const tail: string[] = [];
  if (p.runId) tail.push(`run ${p.runId}`);
  if (p.gitCommit) tail.push(`commit ${p.gitCommit.slice(0, 7)}`);
  if (tail.length) s += `; ${tail.join(", ")}`;
  s += ".";
  if (extra) s += ` ${extra}`;
  return s;
}
