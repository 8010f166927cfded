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
// Plumbing that used to sit in the notebooks' cells: schedule charts, the
// recorded run's ladder, log and compiler-report parsers, kernel-source
// excerpts and the schematic diagrams. The cells call these and keep to what
// they teach.

import * as path from "path";
import * as mla from "../dist/src/index";
import { colorFor, markerFor, OKABE_ITO, paperLayout } from "../dist/src/figures/style";
import { isMeasured, isSideBySide, sideBySide } from "../dist/src/analysis/run";
import type { AggRow, LoadedRun } from "../dist/src/sweep/aggregate";

/**
 * Gantt chart of a tile schedule (notebook 3): partitions on the y axis, cost
 * in pages on the x axis, one bar per piece coloured by request (colours repeat
 * every eight requests) behind a grey bar for the piece's overhead `overhead`,
 * and a dotted line at the payload. The legend names the two kinds of bar.
 */
export function ganttSpec(lens: ArrayLike<number>, s: mla.Schedule, title: string, overhead: number): FigureSpec {
  const ov = { y: [] as number[], x: [] as number[], base: [] as number[], text: [] as string[] };
  const byReq = new Map<number, { y: number[]; x: number[]; base: number[]; text: string[] }>();
  s.partitions.forEach((p, i) => {
    let t = 0;
    for (const pc of p.pieces) {
      ov.y.push(i); ov.x.push(overhead); ov.base.push(t); ov.text.push(`overhead of r${pc.request}'s piece`);
      t += overhead;
      const n = pc.endBlock - pc.beginBlock;
      const tr = byReq.get(pc.request) ?? { y: [], x: [], base: [], text: [] };
      tr.y.push(i); tr.x.push(n); tr.base.push(t);
      tr.text.push(`request ${pc.request} (${lens[pc.request]} tokens): pages ${pc.beginBlock}-${pc.endBlock - 1}, split slot ${pc.split}`);
      byReq.set(pc.request, tr);
      t += n;
    }
  });
  const bar = { type: "bar", orientation: "h", textposition: "none", hovertemplate: "%{text}<extra></extra>" };
  const data: object[] = [...byReq.entries()].sort((a, b) => a[0] - b[0]).map(([r, tr]) => ({
    ...bar, name: `request ${r}`, ...tr, marker: { color: colorFor(r), line: { color: "#fff", width: 0.5 } }, showlegend: false,
  }));
  data.push({ ...bar, name: `overhead c = ${overhead} pages per piece`, ...ov, marker: { color: "#bbbbbb", line: { color: "#fff", width: 0.5 } }, showlegend: true });
  // One legend entry for the pieces (one per request would be one per colour): what the colours mean.
  data.push({ type: "bar", orientation: "h", x: [null], y: [null], name: "pages of a piece (colour: its request; 8 colours, repeating)", marker: { color: colorFor(0) }, showlegend: true, hoverinfo: "skip" });
  data.push({ type: "scatter", mode: "lines", x: [null], y: [null], name: `payload ${s.payload}`, line: { color: "#000", width: 1, dash: "dot" }, showlegend: true, hoverinfo: "skip" });
  const layout = withTitle(paperLayout({
    x: { quantity: "cost", unit: "KV pages of 64 tokens" },
    y: { quantity: "SM partition", unit: "index", range: [s.partitions.length - 0.5, -0.5] },
  }), title, 2);
  layout.barmode = "overlay";
  layout.bargap = 0.15;
  layout.shapes = [{ type: "line", xref: "x", yref: "paper", x0: s.payload, x1: s.payload, y0: 0, y1: 1, line: { color: "#000", width: 1, dash: "dot" } }];
  return { data, layout };
}

/** One line of the native self-test (kernels/test/selftest.cu): lengths, partitions, pieces and split requests the GPU produced. */
export interface SelfTestLine {
  file: string;
  version: number;
  /** the case as printed, e.g. "bf16 hkv1 sq1 lens{1,200,0,1000}" */
  name: string;
  lens: number[];
  parts: number;
  splits: number;
  splitReqs: number;
}

/** Every self-test line ("PASS  v1 simt  bf16 ... lens{...} parts=P splits=S split_reqs=R ...") of the given files. */
export function selfTestLines(files: string[]): SelfTestLine[] {
  const re = /^(PASS|FAIL)\s+v(\d+)\s+\S+\s+(.*?lens\{([\d,]*)\}.*?)\s+parts=(\d+)\s+splits=(\d+)\s+split_reqs=(\d+)/gm;
  const out: SelfTestLine[] = [];
  for (const file of files) {
    const log = fs.readFileSync(file, "utf8");
    for (const m of log.matchAll(re)) {
      out.push({ file, version: Number(m[2]), name: m[3].replace(/\s+/g, " ").trim(), lens: m[4] === "" ? [] : m[4].split(",").map(Number), parts: Number(m[5]), splits: Number(m[6]), splitReqs: Number(m[7]) });
    }
  }
  return out;
}

/** Every file under dir (recursively) whose base name matches re, sorted by path. */
export function filesUnder(dir: string, re: RegExp): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => re.test(path.basename(f))).sort().map((f) => path.join(dir, f));
}

// ---- the recorded run's kernel ladder -------------------------------------

/** One rung on one configuration of the recorded run: libmla's own timing loop, an explicit kernel version. */
export interface RungRow {
  sweep: string;
  configId: string;
  version: number;
  name: string;
  us: number;
  gbps: number;
  tflops: number;
  shape: mla.DecodeShape;
  row: AggRow;
}

/**
 * The rungs the recorded run measured, from its sweeps that time every kernel
 * version (by default "ladder" and "targets"): median per configuration and
 * version, successful rows only, libmla's own loop (timing "bench").
 */
export function runRungs(run: LoadedRun, sweeps: string[] = ["ladder", "targets"]): RungRow[] {
  return run.agg
    .filter((r) => sweeps.includes(r.sweep) && r.impl === "ours" && !isSideBySide(r) && Number(r.kernelVersion) >= 1 && isMeasured(r))
    .map((r) => ({
      sweep: r.sweep, configId: r.configId, version: Number(r.kernelVersion), name: r.kernelName, us: r.usMedian, gbps: r.gbpsMedian, tflops: r.tflopsMedian,
      shape: { b: r.b, sQ: r.sQ, hQ: r.hQ, hKv: r.hKv, meanSk: r.actualMeanSk }, row: r,
    }))
    .sort((a, b) => a.sweep.localeCompare(b.sweep) || a.configId.localeCompare(b.configId) || a.version - b.version);
}

/** FlashMLA's median on a configuration of the run, when the run measured it (graph replay preferred), else undefined. */
export function flashmlaUs(run: LoadedRun, sweep: string, configId: string): number | undefined {
  const rows = run.agg.filter((r) => r.impl === "flashmla" && r.sweep === sweep && r.configId === configId && isMeasured(r));
  const pick = rows.find((r) => r.timing === "graph") ?? rows[0];
  return pick?.usMedian;
}

/** How a run names itself in a caption: GPU, run id, commit, and which kernel versions and baselines it holds. */
export function describeRun(run: LoadedRun): { gpu: string; commit: string; versions: number[]; hasFlashmla: boolean; text: string } {
  const gpu = run.provenance?.device?.name ?? "unknown GPU";
  const commit = run.provenance?.gitCommit && run.provenance.gitCommit !== "unknown" ? run.provenance.gitCommit.slice(0, 7) : "unknown commit";
  const versions = [...new Set(run.agg.filter((r) => r.impl === "ours" && Number(r.kernelVersion) >= 1 && isMeasured(r)).map((r) => Number(r.kernelVersion)))].sort((a, b) => a - b);
  const hasFlashmla = run.agg.some((r) => r.impl === "flashmla" && isMeasured(r)) || sideBySide(run.agg).some((p) => p.ratio !== undefined);
  const text = `run ${run.runId} on ${gpu} (commit ${commit}): kernel versions ${versionRange(versions)}${hasFlashmla ? ", with FlashMLA" : ", without FlashMLA"}`;
  return { gpu, commit, versions, hasFlashmla, text };
}

/** "v1-v10" for consecutive versions, else "v1, v3, v5". */
export function versionRange(vs: number[]): string {
  if (vs.length === 0) return "none";
  const consecutive = vs.every((v, i) => i === 0 || v === vs[i - 1] + 1);
  return consecutive && vs.length > 2 ? `v${vs[0]}-v${vs[vs.length - 1]}` : vs.map((v) => `v${v}`).join(", ");
}

/** A short label of a run configuration id: "b128-sq1-hq64-hkv1-sk8192-fixed-seed0" -> "b=128 s_q=1 h_q=64 s_k=8192 fixed". */
export function configLabel(configId: string): string {
  const m = /^b(\d+)-sq(\d+)-hq(\d+)-hkv(\d+)-sk(\d+)-(\w+)-seed\d+(-causal)?$/.exec(configId);
  return m ? `b=${m[1]} s_q=${m[2]} h_q=${m[3]}${m[4] === "1" ? "" : ` h_kv=${m[4]}`} s_k=${m[5]}${m[6] === "fixed" ? "" : ` (${m[6]})`}${m[7] ? " causal" : ""}` : configId;
}

/** Grouped bars of attained TFLOP/s per rung, one series per configuration (log scale). */
export function ladderBarsSpec(rows: RungRow[], configs: string[], nameOf: (v: number) => string, title: string): FigureSpec {
  const versions = [...new Set(rows.map((r) => r.version))].sort((a, b) => a - b);
  const data = configs.map((cfg, i) => {
    const rs = versions.map((v) => rows.find((r) => r.configId === cfg && r.version === v));
    return {
      type: "bar", name: configLabel(cfg), x: versions.map((v) => `v${v}<br>${nameOf(v)}`), y: rs.map((r) => (r ? r.tflops : NaN)),
      marker: { color: colorFor(i) },
      customdata: rs.map((r) => (r ? `${r.us.toFixed(1)} µs, ${r.gbps.toFixed(0)} GB/s` : "")),
      hovertemplate: "%{x}: %{y:.1f} TFLOP/s<br>%{customdata}<extra>" + configLabel(cfg) + "</extra>",
    };
  });
  const layout = withTitle(paperLayout({
    x: { quantity: "kernel version", unit: "ladder rung", category: true },
    y: { quantity: "attained rate", unit: "TFLOP/s, bf16", log: true },
  }), title, Math.ceil(configs.length / 2));
  layout.barmode = "group";
  return { data, layout };
}

// ---- compiler reports and benchmark tables ----------------------------------

/** ptxas resource usage of one bf16 decode kernel instantiation. */
export interface PtxasRow { version: number; args: string; registers: number; spillStores: number; spillLoads: number; barriers: number }

/**
 * The decode kernels' entries of a `ptxas -v` report (bf16 instantiations).
 * Names may be mangled (`_ZN3mla..decode_v9_lazy_cu..decode_ksplit_kernelI13__nv_bfloat16Lb1ELb1E...`: the rung
 * from the source file's name, template arguments decoded) or demangled (`mla::decode_v5_kernel<__nv_bfloat16, 2>`).
 */
export function ptxasDecodeKernels(text: string): PtxasRow[] {
  const out: PtxasRow[] = [];
  // "Compiling entry function" may be followed by other ptxas lines ("Function properties for ...", advisories) before the counts
  const re = /Compiling entry function '([^']*)'[^\n]*\n(?:ptxas (?:info|warning)\s*: (?!Used |Compiling )[^\n]*\n)*\s*(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads\n[^\n]*Used (\d+) registers, used (\d+) barriers/g;
  for (const m of text.matchAll(re)) {
    const fn = m[1];
    if (!/bfloat16/.test(fn) || !/decode_/.test(fn)) continue;
    let args = "";
    const mangled = /13__nv_bfloat16((?:L[bi]\d+E)*)E/.exec(fn);
    if (mangled && mangled[1]) args = [...mangled[1].matchAll(/L([bi])(\d+)E/g)].map((a) => (a[1] === "b" ? (a[2] === "1" ? "true" : "false") : a[2])).join(", ");
    else if (!mangled) args = (/<__nv_bfloat16((?:, *\w+)*)>/.exec(fn)?.[1] ?? "").replace(/^, */, "");
    // v8-v10 are instances of ksplit.cuh's decode_ksplit_kernel<T, early release, lazy softmax, cluster size>
    // (their launchers in decode_v8/v9/v10_*.cu): a cluster of 2 is v10, else the lazy softmax is v9, else v8
    let version: number | undefined;
    const file = /decode_v(\d+)_[a-z0-9_]*?_cu/.exec(fn) ?? /decode_v(\d+)_kernel/.exec(fn);
    if (file) version = Number(file[1]);
    else if (/decode_ksplit_kernel/.test(fn)) {
      const [, lazy, cluster] = args.split(/, */);
      version = cluster === "2" ? 10 : lazy === "true" ? 9 : 8;
    }
    if (version === undefined) continue;
    out.push({ version, args, registers: Number(m[5]), spillStores: Number(m[3]), spillLoads: Number(m[4]), barriers: Number(m[6]) });
  }
  return out.sort((a, b) => a.version - b.version || a.args.localeCompare(b.args));
}

/** Per-kernel SASS instruction counts ("v5 HGMMA=120 HMMA=0 ... UTMALDG=27 ...") of a check log. */
export function sassCounts(text: string): { version: number; counts: Record<string, number> }[] {
  return [...text.matchAll(/^v(\d+)((?: [A-Z.]+=\d+)+)\s*$/gm)].map((m) => ({
    version: Number(m[1]),
    counts: Object.fromEntries(m[2].trim().split(" ").map((kv) => kv.split("=")).map(([k, n]) => [k, Number(n)])) as Record<string, number>,
  }));
}

/** The check log under dir with SASS counts for the most kernel versions, the newest (by its "=== date:" line) among equals. */
export function sassLogFor(dir: string): { file: string; date: string; device: string; rows: { version: number; counts: Record<string, number> }[] } | undefined {
  let best: { file: string; date: string; device: string; rows: { version: number; counts: Record<string, number> }[]; t: number } | undefined;
  for (const file of filesUnder(dir, /\.log$/)) {
    const text = fs.readFileSync(file, "utf8");
    const rows = sassCounts(text);
    if (rows.length === 0) continue;
    const date = (/^=== date: (.*)$/m.exec(text) ?? [])[1] ?? "";
    const t = Date.parse(date.replace(/(\d)(AM|PM)/, "$1 $2")) || 0;
    if (!best || rows.length > best.rows.length || (rows.length === best.rows.length && t > best.t)) {
      best = { file, date, device: (/^device: ([^,]+)/m.exec(text) ?? [])[1] ?? "unknown device", rows, t };
    }
  }
  return best && { file: best.file, date: best.date, device: best.device, rows: best.rows };
}

/** The plain table of a benchmark printout (device line, then "config ver us(med) ..." rows), as written by the lab's probes. */
export function benchTable(file: string): { device: string; rows: { config: string; b: number; sQ: number; hQ: number; sK: number; version: number; us: number }[] } {
  const text = fs.readFileSync(file, "utf8");
  const rows = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("SUMMARY")) break;
    const m = /^b=(\d+) s_q=(\d+) h_q=(\d+) h_kv=(\d+) s_k=(\d+)\s+v(\d+)\s+([\d.]+)/.exec(line); // a trailing "v" after s_k (variable lengths) does not match
    if (m) rows.push({ config: `b=${m[1]} s_q=${m[2]} h_q=${m[3]} h_kv=${m[4]} s_k=${m[5]}`, b: Number(m[1]), sQ: Number(m[2]), hQ: Number(m[3]), sK: Number(m[5]), version: Number(m[6]), us: Number(m[7]) });
  }
  return { device: (/^device: ([^,]+)/m.exec(text) ?? [])[1] ?? "unknown device", rows };
}

// ---- kernel sources ---------------------------------------------------------

/** Lines of a kernel source, from the first line matching `from` through the first later line matching `to` (a string: contained in the line). */
export interface Excerpt { file: string; first: number; last: number; text: string }

/**
 * Reads an excerpt of kernels/src/<file> at execution time, so that what a
 * notebook shows is the code that ships; throws when a marker is not found
 * (the source changed: the notebook's prose must be looked at again).
 */
export function sourceExcerpt(root: string, file: string, from: string | RegExp, to: string | RegExp): Excerpt {
  const hit = (l: string, m: string | RegExp) => (typeof m === "string" ? l.includes(m) : m.test(l));
  const lines = fs.readFileSync(path.join(root, "kernels", "src", file), "utf8").split("\n");
  const i = lines.findIndex((l) => hit(l, from));
  if (i < 0) throw new Error(`sourceExcerpt: no line of kernels/src/${file} matches ${String(from)}`);
  const j = lines.findIndex((l, k) => k > i && hit(l, to));
  if (j < 0) throw new Error(`sourceExcerpt: no line of kernels/src/${file} after line ${i + 1} matches ${String(to)}`);
  return { file, first: i + 1, last: j + 1, text: lines.slice(i, j + 1).join("\n") };
}

/** Shows an excerpt as a code block with its file and line numbers (HTML: renders on GitHub too). */
export function showExcerpt(e: Excerpt, note = ""): void {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const body = e.text.split("\n").map((l, k) => `${String(e.first + k).padStart(4)}  ${esc(l)}`).join("\n");
  tslab.display.html(`<div><b>kernels/src/${esc(e.file)}</b>, lines ${e.first}-${e.last}${note ? ` — ${esc(note)}` : ""}<pre style="font-size:12px;line-height:1.3;overflow-x:auto">${body}</pre></div>`);
}

// ---- diagrams (schematic, not data) -------------------------------------------

/** One CTA's tiles to scale (notebook 4, section 3): Q tile, KV page, S/P, the O accumulator. */
export function ctaTilesSpec(): FigureSpec {
  type Box = { x: number; y: number; w: number; h: number; label: string; color: string; where: string };
  // x: columns (scaled), y: rows; 64 rows = 64 units tall
  const boxes: Box[] = [
    { x: 0, y: 0, w: 576, h: 64, label: "Q tile 64 × 576", color: "#56B4E9", where: "shared memory, loaded once per piece" },
    { x: 0, y: -100, w: 576, h: 64, label: "KV page 64 × 576  (K = all 576 columns)", color: "#E69F00", where: "shared memory, streamed page after page" },
    { x: 0, y: -100, w: 512, h: 64, label: "", color: "rgba(0,0,0,0)", where: "" },
    { x: 660, y: 0, w: 64, h: 64, label: "S, P<br>64 × 64", color: "#CC79A7", where: "" },
    { x: 0, y: -200, w: 512, h: 64, label: "O accumulator 64 × 512 (fp32)", color: "#009E73", where: "registers: 32,768 fp32 values" },
  ];
  const shapes = boxes.map((b) => ({ type: "rect", x0: b.x, x1: b.x + b.w, y0: b.y, y1: b.y + b.h, fillcolor: b.color, opacity: b.label ? 0.55 : 1, line: { color: "#000", width: b.label ? 1 : 1.5, dash: b.label ? "solid" : "dot" } }));
  const annotations = [
    ...boxes.filter((b) => b.label).map((b) => ({ x: b.x + b.w / 2, y: b.y + b.h / 2, text: `<b>${b.label}</b><br><span style="font-size:10px">${b.where}</span>`, showarrow: false, font: { size: 11 } })),
    { x: 512, y: -100 + 64 + 6, text: "V = first 512 columns", showarrow: false, xanchor: "right", yanchor: "bottom", font: { size: 10 } },
    { x: 692, y: -4, text: "registers: fp32 S,<br>then 16-bit P", showarrow: false, yanchor: "top", font: { size: 10 } },
    { x: 692, y: -62, text: "S = Q Kᵀ<br>(576-deep)", showarrow: false, font: { size: 10 } },
    { x: 600, y: -168, text: "O += P V<br>(64-deep)", showarrow: false, xanchor: "left", font: { size: 10 } },
  ];
  return {
    data: [{ type: "scatter", mode: "markers", x: [0, 760], y: [-210, 70], marker: { opacity: 0 }, hoverinfo: "skip", showlegend: false }],
    layout: {
      width: 720, height: 360, margin: { l: 10, r: 10, t: 10, b: 10 },
      xaxis: { visible: false, range: [-10, 770] }, yaxis: { visible: false, range: [-215, 75] },
      shapes, annotations, plot_bgcolor: "#fff", paper_bgcolor: "#fff", font: { family: "DejaVu Sans, Arial, sans-serif" },
    },
  };
}

/** The 128-byte swizzle of one 64-column slab (notebook 4's primer): which 16-byte chunk of row r holds logical chunk c. */
export function swizzleSpec(rows = 8): FigureSpec {
  const z: number[][] = [], text: string[][] = [];
  for (let r = 0; r < rows; r++) {
    z.push([]); text.push([]);
    for (let p = 0; p < 8; p++) {
      const c = p ^ (r & 7); // physical chunk p holds logical chunk p XOR (r mod 8)
      z[r].push(c);
      text[r].push(`row ${r}, physical chunk ${p} (bytes ${16 * p}-${16 * p + 15}): columns ${8 * c}-${8 * c + 7}`);
    }
  }
  const layout = withTitle(paperLayout({
    x: { quantity: "16-byte chunk in the 128-byte row", unit: "physical position", category: true },
    y: { quantity: "row of the slab", unit: "mod 8", category: true },
  }), "128-byte swizzle: logical chunk (columns 8c..8c+7) stored at chunk c XOR (row mod 8)", 0);
  (layout.yaxis as Record<string, unknown>).autorange = "reversed";
  return {
    data: [{
      type: "heatmap", z, text, hoverinfo: "text", x: [0, 1, 2, 3, 4, 5, 6, 7].map((p) => `${p}`), y: z.map((_, r) => `row ${r}`),
      colorscale: [0, 1, 2, 3, 4, 5, 6, 7].flatMap((i) => [[i / 8, colorFor(i)], [(i + 1) / 8, colorFor(i)]]), zmin: -0.5, zmax: 7.5, showscale: false, xgap: 2, ygap: 2,
      texttemplate: "c%{z}", textfont: { size: 11, color: "#fff" },
    }],
    layout,
  };
}

/** Schematic lanes of what each schedule overlaps (not measured): v1, v2, v4, TMA producer + consumers, seesaw. */
export function schedulesSchematicSpec(): FigureSpec {
  type Seg = { lane: string; t0: number; t1: number; kind: "load" | "tc" | "cuda" | "fma" | "sync"; label: string };
  const segs: Seg[] = [];
  const add = (lane: string, t0: number, d: number, kind: Seg["kind"], label: string) => { segs.push({ lane, t0, t1: t0 + d, kind, label }); return t0 + d; };
  // v1: one lane, fully serial
  { let t = 0; for (let n = 0; n < 3; n++) { t = add("v1 · all threads", t, 1.0, "load", `load page ${n}`); t = add("v1 · all threads", t, 3.2, "fma", `S${n}, P${n}V scalar FMA`); } }
  // v2: cp.async double buffering, compute on tensor cores (mma.sync)
  { let t = 1.0; add("v2 · cp.async", 0, 1.0, "load", "load page 0");
    for (let n = 0; n < 3; n++) { if (n < 2) add("v2 · cp.async", t, 1.0, "load", `load page ${n + 1}`); let u = add("v2 · warps", t, 0.45, "tc", `S${n}`); u = add("v2 · warps", u, 0.35, "cuda", `softmax ${n}`); u = add("v2 · warps", u, 0.45, "tc", `P${n}V`); t = add("v2 · warps", u, 0.1, "sync", "barrier"); } }
  // v4: two warpgroups split S, exchange through smem, each does half of PV; loads by all threads
  { let t = 1.0; add("v4 · cp.async (all threads)", 0, 1.0, "load", "load page 0");
    for (let n = 0; n < 3; n++) { if (n < 2) add("v4 · cp.async (all threads)", t + 0.05, 0.9, "load", `load page ${n + 1}`);
      for (const wg of [0, 1]) { let u = add(`v4 · warpgroup ${wg}`, t, 0.25, "tc", `S${n} (keys ${wg ? "32-63" : "0-31"})`); u = add(`v4 · warpgroup ${wg}`, u, 0.1, "sync", "exchange max"); u = add(`v4 · warpgroup ${wg}`, u, 0.3, "cuda", `softmax ${n}`); u = add(`v4 · warpgroup ${wg}`, u, 0.1, "sync", "P to smem"); add(`v4 · warpgroup ${wg}`, u, 0.35, "tc", `P${n}V (cols ${wg ? "256-511" : "0-255"})`); }
      t += 1.1; } }
  // TMA producer + consumers (v4's math, loads off the compute warps)
  { let t = 0.6; add("TMA producer warp", 0, 0.6, "load", "TMA page 0 (9 boxes)");
    for (let n = 0; n < 3; n++) { if (n < 2) add("TMA producer warp", t, 0.6, "load", `TMA page ${n + 1}`);
      for (const wg of [0, 1]) { let u = add(`TMA · consumer WG ${wg}`, t, 0.25, "tc", `S${n}`); u = add(`TMA · consumer WG ${wg}`, u, 0.05, "sync", "exchange"); u = add(`TMA · consumer WG ${wg}`, u, 0.3, "cuda", `softmax ${n}`); add(`TMA · consumer WG ${wg}`, u, 0.35, "tc", `P${n}V`); }
      t += 0.95; } }
  // seesaw: WG0 and WG1 offset so that one's softmax overlaps the other's GEMMs
  { add("seesaw · TMA producer", 0, 1.1, "load", "TMA pages 0, 1");
    add("seesaw · TMA producer", 1.1, 1.1, "load", "TMA pages 2, 3");
    for (let step = 0; step < 2; step++) { const base = 1.1 + step * 1.55; const a = 2 * step, b = 2 * step + 1;
      let u = add("seesaw · WG 0 (O_L)", base, 0.4, "tc", `S${a} = qK${a}ᵀ`); u = add("seesaw · WG 0 (O_L)", u, 0.35, "cuda", `softmax ${a}`); u = add("seesaw · WG 0 (O_L)", u, 0.35, "tc", `O_L += P${a}V${a}L`); add("seesaw · WG 0 (O_L)", u + 0.05, 0.35, "tc", `O_L += P${b}V${b}L`);
      let w = add("seesaw · WG 1 (O_R)", base + 0.4, 0.4, "tc", `S${b} = qK${b}ᵀ`); w = add("seesaw · WG 1 (O_R)", w, 0.35, "cuda", `softmax ${b}`); w = add("seesaw · WG 1 (O_R)", w, 0.35, "tc", `O_R += P${b}V${b}R`); add("seesaw · WG 1 (O_R)", w, 0.3, "tc", `O_R += P${a}V${a}R`); } }
  const lanes = [...new Set(segs.map((s) => s.lane))];
  const kinds: { kind: Seg["kind"]; name: string; color: string }[] = [
    { kind: "load", name: "memory: page loads", color: "#E69F00" },
    { kind: "tc", name: "tensor cores: S = QKᵀ, PV", color: "#0072B2" },
    { kind: "fma", name: "CUDA cores: scalar FMA products", color: "#56B4E9" },
    { kind: "cuda", name: "CUDA cores: softmax", color: "#CC79A7" },
    { kind: "sync", name: "barrier / exchange", color: "#999999" },
  ];
  const data = kinds.map((k) => {
    const ss = segs.filter((s) => s.kind === k.kind);
    return { type: "bar", orientation: "h", name: k.name, y: ss.map((s) => s.lane), x: ss.map((s) => s.t1 - s.t0), base: ss.map((s) => s.t0), text: ss.map((s) => s.label), textposition: "none",
      marker: { color: k.color, line: { color: "#fff", width: 1 } }, hovertemplate: "%{y}: %{text}<extra></extra>" };
  });
  const layout = withTitle(paperLayout({ x: { quantity: "time", unit: "schematic units, not measured" }, y: { quantity: "lane", unit: "unit", category: true } }), "Schematic: what each schedule overlaps (not to scale)", 2);
  layout.barmode = "overlay";
  (layout.yaxis as Record<string, unknown>).autorange = "reversed";
  (layout.yaxis as Record<string, unknown>).categoryorder = "array";
  (layout.yaxis as Record<string, unknown>).categoryarray = lanes;
  (layout.yaxis as Record<string, unknown>).title = { text: "" };
  layout.shapes = [2, 5, 8].map((i) => ({ type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: i + 0.5, y1: i + 0.5, line: { color: "#444", width: 1 } }));
  return { data, layout };
}

// ---- roofline -------------------------------------------------------------------

/** A named pair of ceilings (FLOP/s, bytes/s). */
export interface Ceil { name: string; source: string; flops: number; bandwidth: number }

/** Roofline lines (and ridge markers) for a list of ceilings, over [xMin, xMax] FLOP/byte, in TFLOP/s. */
export function roofTraces(cs: Ceil[], xMin: number, xMax: number): object[] {
  const styles = [{ dash: "solid", color: OKABE_ITO.black }, { dash: "dash", color: "#777777" }, { dash: "dashdot", color: "#999999" }, { dash: "solid", color: OKABE_ITO.vermillion }];
  return cs.flatMap((c, i) => {
    const r = mla.ridgePoint(c);
    const st = styles[i % styles.length];
    return [
      { type: "scatter", mode: "lines", name: c.name, x: [xMin, r, xMax], y: [(xMin * c.bandwidth) / 1e12, c.flops / 1e12, c.flops / 1e12], line: { color: st.color, dash: st.dash, width: 1.5 }, hoverinfo: "name" },
      { type: "scatter", mode: "markers", x: [r], y: [c.flops / 1e12], marker: { symbol: "diamond-open", size: 9, color: st.color }, showlegend: false, hovertemplate: `ridge %{x:.0f} FLOP/B<extra>${c.name}</extra>` },
    ];
  });
}

/** Rungs of one run on the roofline: one series (legend entry) per kernel version, marker shape per configuration. */
export function rungRooflineSpec(rows: RungRow[], configs: string[], ceilings: Ceil[], title: string): FigureSpec {
  const versions = [...new Set(rows.map((r) => r.version))].sort((a, b) => a - b);
  // Okabe-Ito's eight, then four more of Tol's palette, so that up to twelve versions keep distinct colours
  const versionColor = (i: number) => (i < 8 ? colorFor(i) : ["#882255", "#44AA99", "#999933", "#AA4499"][(i - 8) % 4]);
  const points = versions.map((v, i) => {
    const rs = rows.filter((r) => r.version === v && configs.includes(r.configId));
    return {
      type: "scatter", mode: "markers", name: `v${v}`, x: rs.map((r) => mla.arithmeticIntensity(r.shape)), y: rs.map((r) => r.tflops),
      marker: { color: versionColor(i), symbol: rs.map((r) => markerFor(configs.indexOf(r.configId))), size: 8, line: { width: 0.5, color: "#000" } },
      text: rs.map((r) => `v${v}, ${configLabel(r.configId)}: ${r.us.toFixed(1)} µs, ${r.tflops.toFixed(1)} TFLOP/s, ${r.gbps.toFixed(0)} GB/s`), hovertemplate: "%{text}<extra></extra>",
    };
  });
  const layout = withTitle(paperLayout({
    x: { quantity: "arithmetic intensity", unit: "FLOP/byte", log: true, range: [Math.log10(20), Math.log10(3000)] },
    y: { quantity: "attained rate", unit: "TFLOP/s", log: true, range: [Math.log10(3), Math.log10(1500)] },
  }), title, 3);
  return { data: [...roofTraces(ceilings, 20, 3000), ...points], layout };
}

// ---- the cached row -----------------------------------------------------------

/**
 * The picture of one cached token's row that notebooks 1 to 4 share: 512
 * latent columns (the values) and 64 RoPE columns, 576 in all (the key), and
 * the nine 64-column slabs in which the kernels move it (slab 8: RoPE).
 */
export const CACHED_ROW_PICTURE = [
  " column    0                                                   511 512-575",
  "          ┌───────────────────────────────────────────────────────┬──────┐",
  " token j  │ c^KV_j: the latent (after RMSNorm) = the value V_j    │ k^R_j│",
  "          └───────────────────────────────────────────────────────┴──────┘",
  " slabs    │  0   │  1   │  2   │  3   │  4   │  5   │  6   │  7   │  8   │",
  "           \\_______________ the key K_j: all 576 columns _______________/",
].join("\n");

/** Shows CACHED_ROW_PICTURE as a code block, with a caption. */
export function showCachedRow(caption: string): void {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  tslab.display.html(`<div><pre style="font-size:12px;line-height:1.25">${esc(CACHED_ROW_PICTURE)}</pre><div style="font-size:12px">${esc(caption)}</div></div>`);
}
