/**
 * Notebook plumbing shared by every notebook in this folder (tslab compiles
 * it on import; it is not part of the library in src/): numeric checks that
 * throw, HTML tables, and figures.
 *
 * Figures.
 * A chart is shown twice, as two outputs of the same cell:
 *
 *  1. an interactive Plotly figure (text/html: a <div> and a script that draws
 *     into it), for JupyterLab, the classic notebook and nbconvert's HTML;
 *  2. a static PNG of the same spec drawn by headless Chromium
 *     (src/figures/render.ts), for viewers that run no JavaScript (GitHub,
 *     an untrusted notebook, a PDF export).
 *
 * Where the script does run, it hides the PNG right after it, so a reader
 * sees one chart. plotly.js itself is not copied into any notebook (4.8 MB
 * each): the script uses a Plotly already on the page (the HTML export made
 * by scripts/notebooks.sh loads the repository's one copy, figures/plotly.min.js)
 * and otherwise loads that same file, never a CDN: beside a page in
 * notebooks/ at ../figures/plotly.min.js, and in Jupyter (started from the
 * repository's root) through its /files/ route. Where neither loads, the
 * PNG is what shows.
 */
import * as tslab from "tslab";
import * as fs from "fs";
import { FigureSpec, renderStatic } from "../dist/src/figures/render";

export type { FigureSpec };

export interface ShowOptions {
  /** CSS pixels of the static render and the interactive frame's height; default 720 x 420 */
  width?: number;
  height?: number;
}

/** The repository's one copy of plotly.js (written by `make figures`), relative to this folder. */
const PLOTLY_FROM_NOTEBOOKS = "../figures/plotly.min.js";

/** JSON that cannot close the <script> element it sits in. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** The interactive half: a fixed id (not random) so re-running a notebook gives identical outputs. */
export function interactiveHtml(spec: FigureSpec, name: string, height: number): string {
  const id = `mla-fig-${name}`;
  const layout = { ...(spec.layout as Record<string, unknown>), autosize: true };
  delete (layout as Record<string, unknown>).width;
  delete (layout as Record<string, unknown>).height;
  const config = { responsive: true, displaylogo: false, ...(spec.config ?? {}) };
  return `<div id="${id}" class="mla-figure" style="width:100%;max-width:900px;height:${height}px"></div>
<script type="text/javascript">
(function () {
  var id = ${JSON.stringify(id)};
  var data = ${scriptJson(spec.data)}, layout = ${scriptJson(layout)}, config = ${scriptJson(config)};
  // Once drawn, hide this cell's static PNG (the next output), which is there for viewers without JavaScript.
  function hideStatic(el, tries) {
    var box = el;
    while (box && !/(^|\\s)(jp-OutputArea-child|output_area)(\\s|$)/.test(box.className || "")) box = box.parentElement;
    var next = box && box.nextElementSibling;
    if (next && next.querySelector("img")) { next.style.display = "none"; return; }
    if (box && tries > 0) setTimeout(function () { hideStatic(el, tries - 1); }, 250);
  }
  // JupyterLab may run this script before the output is attached to the page: wait for it (up to 10 s).
  function draw(tries) {
    var el = document.getElementById(id);
    if (!el || !window.Plotly) {
      if (tries > 0) setTimeout(function () { draw(tries - 1); }, 100);
      return;
    }
    window.Plotly.newPlot(el, data, layout, config).then(function () { hideStatic(el, 40); });
  }
  if (window.Plotly) { draw(100); return; }
  // The repository's copy, relative to the notebook: Jupyter serves the notebook's folder under /files/.
  function plotlyUrl() {
    var rel = ${JSON.stringify(PLOTLY_FROM_NOTEBOOKS)};
    var m = /^(.*?)\\/(?:lab\\/tree|doc\\/tree|notebooks|tree)\\/(.*\\/)?[^\\/]*$/.exec(location.pathname);
    return location.protocol !== "file:" && m ? m[1] + "/files/" + (m[2] || "") + rel : rel;
  }
  var s = document.querySelector("script[data-mla-plotly]");
  if (!s) {
    s = document.createElement("script");
    s.src = plotlyUrl();
    s.setAttribute("data-mla-plotly", "repository");
    document.head.appendChild(s);
  }
  s.addEventListener("load", function () { draw(100); });
})();
</script>`;
}

/**
 * Shows a Plotly figure spec as an interactive chart followed by its static
 * PNG. `name` must be unique within the notebook (it becomes the element id).
 */
export async function showFigure(spec: FigureSpec, name: string, opts: ShowOptions = {}): Promise<void> {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`showFigure: name must match [a-z0-9-]+, got ${JSON.stringify(name)}`);
  const width = opts.width ?? 720;
  const height = opts.height ?? 420;
  const layout = { ...(spec.layout as Record<string, unknown>), width, height };
  const fixed: FigureSpec = { ...spec, layout };
  tslab.display.html(interactiveHtml(fixed, name, height));
  // scale 2: crisp on high-density screens; viewers scale it down to the page width.
  const out = await renderStatic(fixed, ["png"], { width, height, scale: 2 });
  if (!out.png) throw new Error("showFigure: the static render returned no PNG");
  tslab.display.png(out.png);
}

/** An HTML table (renders in every viewer, GitHub included). */
export function showTable(header: string[], rows: (string | number)[][], caption?: string): void {
  const esc = (s: string | number) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const cell = (s: string | number, tag: string) => `<${tag} style="text-align:${typeof s === "number" ? "right" : "left"}">${esc(s)}</${tag}>`;
  const head = `<tr>${header.map((h) => cell(h, "th")).join("")}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => cell(c, "td")).join("")}</tr>`).join("\n");
  const cap = caption ? `<caption style="caption-side:bottom;text-align:left">${esc(caption)}</caption>` : "";
  tslab.display.html(`<table>${cap}\n${head}\n${body}\n</table>`);
}

/** Largest |a_i - b_i| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths differ (${a.length} vs ${b.length})`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    // NaN must not pass as "no difference"; equal infinities (empty rows) count as 0.
    if (Number.isNaN(d)) {
      if (a[i] === b[i]) continue;
      return NaN;
    }
    if (d > m) m = d;
  }
  return m;
}

/**
 * Every identity in the notebooks goes through this: it prints the error and
 * throws when it exceeds the tolerance, so a broken identity stops the
 * notebook (and `make test`) instead of printing a wrong number.
 */
export function expectClose(what: string, a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  const err = maxAbsDiff(a, b);
  const ok = err <= tol; // false for NaN
  console.log(`${ok ? "ok  " : "FAIL"} ${what}: max |difference| = ${err.toExponential(2)} (tolerance ${tol.toExponential(0)})`);
  if (!ok) throw new Error(`check failed: ${what}: max |difference| ${err} > ${tol}`);
}

/** Throws with `what` unless `cond` holds; prints the check otherwise. */
export function expectTrue(what: string, cond: boolean): void {
  console.log(`${cond ? "ok  " : "FAIL"} ${what}`);
  if (!cond) throw new Error(`check failed: ${what}`);
}

/**
 * A figure title for a paperLayout whose legend sits above the plot: the
 * title goes to the top of the figure and the top margin grows to hold the
 * title and `legendRows` rows of legend, so the two never overlap.
 */
export function withTitle(layout: Record<string, unknown>, title: string, legendRows = 1): Record<string, unknown> {
  const margin = { ...((layout.margin as Record<string, number>) ?? {}) };
  margin.t = 36 + 20 * legendRows;
  return { ...layout, margin, title: { text: title, font: { size: 14 }, x: 0.5, xanchor: "center", y: 0.995, yref: "container", yanchor: "top" } };
}

// ---------------------------------------------------------------------------
// Recorded native benchmark logs (the kernels-native-*.log and kernels-perf-*.log
// of the H200 ladder, under data/gpu-runs/v1-v4/checks/ and v5-v6/checks/), written
// by kernels/gpu-check.sh: device line, ceiling probes and the bench table of
// every kernel version. Parsed, never retyped, by notebooks 4 and 5.

export interface LadderRow {
  dtype: string;
  config: string;
  b: number;
  sQ: number;
  hQ: number;
  hKv: number;
  sK: number;
  version: number;
  /** median microseconds per decode step (decode + combine) */
  us: number;
  gbps: number;
  tflops: number;
}

export interface LadderLog {
  file: string;
  /** the "=== date:" line, parsed; NaN if absent */
  date: number;
  dateText: string;
  device: string;
  copyGBps?: number;
  gemmTflops?: number;
  rows: LadderRow[];
}

/** Parses one kernels-native / kernels-perf log. Columns are located by the table's header line. */
export function parseLadderLog(file: string): LadderLog {
  const text = fs.readFileSync(file, "utf8");
  const lines = text.split("\n");
  const dateLine = lines.find((l) => l.startsWith("=== date:"));
  const dateText = dateLine ? dateLine.slice("=== date:".length).trim() : "";
  const device = (/^device: ([^,]+)/m.exec(text) ?? [])[1] ?? "unknown device";
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const rows: LadderRow[] = [];
  let dtype = "bf16";
  let header: string[] | null = null;
  let inBench = false;
  for (const line of lines) {
    // Rows count only inside "=== bench (dtype)" sections; any other "=== " section (summaries, raw copies) ends one.
    if (line.startsWith("=== ")) {
      const sec = /^=== bench(?: \((\w+)\))?\s*$/.exec(line);
      inBench = sec !== null;
      dtype = sec?.[1] ?? "bf16";
      header = null;
      continue;
    }
    if (!inBench) continue;
    if (/^config\s+ver\s/.test(line)) {
      header = line.trim().split(/\s+/).slice(1); // after "config"
      continue;
    }
    const m = /^b=(\d+) s_q=(\d+) h_q=(\d+) h_kv=(\d+) s_k=(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    // Later logs print a version's rows without repeating the table header: the column layout is the bench's.
    header = header ?? ["ver", "us(med)", "spread", "us(rot)", "GB/s", "TFLOP/s", "rot"];
    const cells = m[6].trim().split(/\s+/);
    // "v5     677.7 us   1835 GB/s  431.0 TFLOP/s": a summary line repeating a table row, with units
    if (cells.includes("us")) continue;
    const col = (name: string): number => {
      const i = header!.indexOf(name);
      return i >= 0 && i < cells.length ? Number(cells[i].replace(/%$/, "")) : NaN;
    };
    const ver = /^v(\d+)$/.exec(cells[0]);
    if (!ver) continue;
    rows.push({
      dtype, config: `b=${m[1]} s_q=${m[2]} h_q=${m[3]} h_kv=${m[4]} s_k=${m[5]}`,
      b: Number(m[1]), sQ: Number(m[2]), hQ: Number(m[3]), hKv: Number(m[4]), sK: Number(m[5]),
      version: Number(ver[1]), us: col("us(med)"), gbps: col("GB/s"), tflops: col("TFLOP/s"),
    });
  }
  return {
    file, date: Date.parse(dateText.replace(/(\d)(AM|PM)/, "$1 $2")), dateText, device,
    copyGBps: num(/probe: device-to-device copy[^:]*:\s*([\d.]+) GB\/s/), gemmTflops: num(/probe: cuBLAS bf16 GEMM[^:]*:\s*([\d.]+) TFLOP\/s/),
    rows,
  };
}

/** Every kernels-native-*.log and kernels-perf-*.log under dir, in any subfolder, oldest first (by the log's own date line, then name); rows is empty where a log has no bench rows. */
export function ladderLogs(dir: string): LadderLog[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => /^kernels-(native|perf)-.*\.log$/.test(f.split("/").pop()!))
    .map((f) => parseLadderLog(`${dir}/${f}`))
    .sort((a, b) => (Number.isNaN(a.date) || Number.isNaN(b.date) || a.date === b.date ? a.file.localeCompare(b.file) : a.date - b.date));
}

/**
 * The log to draw the ladder from: the one whose bf16 bench table covers the
 * most kernel versions (one session, so the versions are comparable), the
 * newest among equals; undefined when no log has a table.
 */
export function ladderLogFor(logs: LadderLog[]): LadderLog | undefined {
  const versions = (l: LadderLog) => new Set(l.rows.filter((r) => r.dtype === "bf16").map((r) => r.version)).size;
  let best: LadderLog | undefined;
  for (const l of logs) if (versions(l) > 0 && (!best || versions(l) >= versions(best))) best = l;
  return best;
}
