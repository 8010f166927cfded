/**
 * Turns a Plotly figure spec into the files a paper and a reader need: an
 * interactive HTML page that works with no network (it loads the Plotly
 * bundle from plotly.min.js beside it, one copy for all the pages of a
 * folder), and static SVG / PNG / PDF drawn by a headless Chromium.
 *
 * Static export goes through a real browser rather than a Node-side SVG
 * emulation because Plotly's text measurement (axis label placement, legend
 * sizes) depends on a layout engine; anything else gives subtly different
 * figures from the interactive ones.
 *
 * Same spec, same bytes: the page's Math.random is seeded before each plot
 * (Plotly names the SVG's clip paths and defs after a random id), and the
 * PDF's creation and modification dates are set to the date given (the run's
 * own date), so redrawing a run leaves committed figures unchanged.
 */
import * as fs from "fs";
import * as path from "path";
import { MlaArgumentError } from "../errors";

export interface FigureSpec {
  data: object[];
  layout: object;
  config?: object;
}

export type StaticFormat = "svg" | "png" | "pdf";

export interface StaticOptions {
  /** CSS pixels; default 400, sized so fonts stay legible at 3.5 in (see style.ts) */
  width?: number;
  /** CSS pixels; default 300 */
  height?: number;
  /** PNG pixel multiplier; default 3 (about 340 dpi at single-column width) */
  scale?: number;
  /** the PDF's CreationDate and ModDate; default 1970-01-01T00:00:00Z (never the wall clock) */
  date?: Date;
}

export interface StaticOutput {
  svg?: string;
  png?: Buffer;
  pdf?: Buffer;
}

const FORMATS: readonly StaticFormat[] = ["svg", "png", "pdf"];

export const DEFAULT_WIDTH = 400;
export const DEFAULT_HEIGHT = 300;
export const DEFAULT_SCALE = 3;

/** Absolute path of the Plotly bundle that every HTML page and the renderer load. */
export function plotlyBundlePath(): string {
  // require.resolve walks node_modules the same way the rest of the project does,
  // so this keeps working from dist/ and from a notebook kernel's cwd.
  return require.resolve("plotly.js-dist-min/plotly.min.js");
}

/** The file name, beside the pages, of the one copy of the bundle they all load. */
export const PLOTLY_FILE = "plotly.min.js";

/**
 * Absolute path of MathJax 3's self-contained TeX-to-SVG component (every TeX
 * extension and the SVG glyph data in one file: nothing else is fetched).
 */
export function mathjaxBundlePath(): string {
  return require.resolve("mathjax/es5/tex-svg-full.js");
}

/** The file name, beside the figure pages, of the one copy of MathJax (figures with TeX and the notebooks' HTML load it). */
export const MATHJAX_FILE = "mathjax-tex-svg.js";

/**
 * Every file the pages of a figures folder share, and where each comes from
 * (node_modules, pinned in package-lock.json): the two libraries, and
 * MathJax's Apache-2.0 licence, which its minified bundle does not carry
 * (plotly.js states its MIT licence in the bundle's header).
 */
export const SHARED_FILES: readonly { name: string; source: () => string }[] = [
  { name: PLOTLY_FILE, source: plotlyBundlePath },
  { name: MATHJAX_FILE, source: mathjaxBundlePath },
  { name: "mathjax-LICENSE.txt", source: () => require.resolve("mathjax/LICENSE") },
];

/** Copies the file `source` to dir/name unless an identical copy is there; returns its path. */
function writeSharedFile(fn: string, dir: string, name: string, source: string): string {
  if (typeof dir !== "string" || dir === "") throw new MlaArgumentError(fn, "dir", "a non-empty path", dir);
  const dest = path.join(dir, name);
  const src = fs.readFileSync(source);
  if (!fs.existsSync(dest) || !fs.readFileSync(dest).equals(src)) {
    fs.mkdirSync(dir, { recursive: true });
    writeAtomic(dest, src);
  }
  return dest;
}

/** Copies the bundle to dir/plotly.min.js unless an identical copy is there; returns its path. */
export function writePlotlyBundle(dir: string): string {
  return writeSharedFile("writePlotlyBundle", dir, PLOTLY_FILE, plotlyBundlePath());
}

/** Copies MathJax to dir/mathjax-tex-svg.js unless an identical copy is there; returns its path. */
export function writeMathjaxBundle(dir: string): string {
  return writeSharedFile("writeMathjaxBundle", dir, MATHJAX_FILE, mathjaxBundlePath());
}

/** Writes every shared file (SHARED_FILES) into dir; returns their paths. */
export function writeSharedFiles(dir: string): string[] {
  return SHARED_FILES.map((f) => writeSharedFile("writeSharedFiles", dir, f.name, f.source()));
}

/** True when some string of the spec holds TeX between dollar signs (Plotly typesets it with MathJax). */
export function specHasTex(spec: FigureSpec): boolean {
  checkSpec("specHasTex", spec);
  const found = (v: unknown): boolean =>
    typeof v === "string" ? /\$[^$]+\$/.test(v) : Array.isArray(v) ? v.some(found) : typeof v === "object" && v !== null ? Object.values(v).some(found) : false;
  return found(spec.data) || found(spec.layout);
}

/**
 * The MathJax 3 configuration of every page that loads MathJax (figure pages
 * with TeX, and the notebooks' HTML export through the template
 * scripts/nbconvert/mla-offline, which a test holds to the same settings):
 * $...$ and \(...\) inline, $$...$$ and \[...\] displayed, SVG output.
 */
export const MATHJAX_CONFIG = {
  tex: { inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]], processEscapes: true, tags: "ams" },
  svg: { fontCache: "global" },
  options: { enableMenu: false },
};

function checkSpec(fn: string, spec: unknown): FigureSpec {
  if (typeof spec !== "object" || spec === null) throw new MlaArgumentError(fn, "spec", "an object {data, layout, config?}", spec);
  const s = spec as Record<string, unknown>;
  if (!Array.isArray(s.data)) throw new MlaArgumentError(fn, "spec.data", "an array of traces", s.data);
  s.data.forEach((t, i) => {
    if (typeof t !== "object" || t === null) throw new MlaArgumentError(fn, `spec.data[${i}]`, "an object (a Plotly trace)", t);
  });
  if (typeof s.layout !== "object" || s.layout === null || Array.isArray(s.layout)) {
    throw new MlaArgumentError(fn, "spec.layout", "an object", s.layout);
  }
  if (s.config !== undefined && (typeof s.config !== "object" || s.config === null || Array.isArray(s.config))) {
    throw new MlaArgumentError(fn, "spec.config", "an object or undefined", s.config);
  }
  return s as unknown as FigureSpec;
}

/**
 * JSON that is safe inside a <script> element: '<' can never start '</script>'
 * and the two line separators that JSON allows but older JS parsers reject are escaped.
 */
function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * One interactive page. It loads the bundle from plotly.min.js in its own
 * folder (writeFigure puts it there), so the page works offline, and a
 * folder of pages carries the 4.6 MB library once.
 */
export function figureHtml(spec: FigureSpec, opts: { title?: string } = {}): string {
  checkSpec("figureHtml", spec);
  if (typeof opts !== "object" || opts === null) throw new MlaArgumentError("figureHtml", "opts", "an object", opts);
  if (opts.title !== undefined && typeof opts.title !== "string") throw new MlaArgumentError("figureHtml", "opts.title", "a string", opts.title);
  const title = opts.title ?? "figure";
  const config = { responsive: true, displaylogo: false, ...(spec.config ?? {}) };
  return [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<style>html,body{margin:0;padding:0;background:#fff}#fig{width:100%;max-width:960px;height:min(80vh,640px);margin:0 auto}</style>",
    // MathJax before Plotly, which typesets "$...$" labels with the MathJax it finds on the page.
    ...(specHasTex(spec) ? [`<script>window.MathJax=${scriptJson(MATHJAX_CONFIG)};</script>`, `<script src="${MATHJAX_FILE}"></script>`] : []),
    `<script src="${PLOTLY_FILE}"></script>`,
    "</head><body>",
    '<div id="fig"></div>',
    "<script>",
    `(function(){if(!window.Plotly){document.getElementById("fig").textContent="${PLOTLY_FILE} did not load: it must sit beside this page.";return;}`,
    `var d=${scriptJson(spec.data)},l=${scriptJson(spec.layout)},c=${scriptJson(config)};`,
    // A fixed paper width would make the page unreadable on a wide screen; let the container size it.
    "l=Object.assign({},l,{autosize:true});delete l.width;delete l.height;",
    'Plotly.newPlot("fig",d,l,c);})();',
    "</script>",
    "</body></html>",
    "",
  ].join("\n");
}

/** How every headless Chromium of the project starts: no GPU, no background or component networking. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The Chromium binary we will drive: $CHROMIUM if set, else Debian's /usr/bin/chromium. */
export function chromiumPath(): string {
  const env = process.env.CHROMIUM;
  return env !== undefined && env !== "" ? env : "/usr/bin/chromium";
}

/** True when the Chromium binary exists and is executable; tests use it to decide whether to skip. */
export function chromiumAvailable(): boolean {
  try {
    fs.accessSync(chromiumPath(), fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function checkStaticOptions(fn: string, opts: unknown): Required<StaticOptions> {
  if (typeof opts !== "object" || opts === null) throw new MlaArgumentError(fn, "opts", "an object", opts);
  const o = opts as StaticOptions;
  const pick = (name: keyof StaticOptions, dflt: number, max: number): number => {
    const v = o[name];
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || v > max) {
      throw new MlaArgumentError(fn, `opts.${name}`, `a number in (0, ${max}]`, v);
    }
    return v;
  };
  if (o.date !== undefined && !(o.date instanceof Date && Number.isFinite(o.date.getTime()))) throw new MlaArgumentError(fn, "opts.date", "a valid Date", o.date);
  return { width: pick("width", DEFAULT_WIDTH, 10000), height: pick("height", DEFAULT_HEIGHT, 10000), scale: pick("scale", DEFAULT_SCALE, 20), date: o.date ?? new Date(0) };
}

/**
 * The PDF with its /CreationDate and /ModDate set to `date` (UTC). Each value
 * keeps its byte length, so the cross-reference offsets stay valid.
 */
export function setPdfDates(pdf: Buffer, date: Date): Buffer {
  if (!Buffer.isBuffer(pdf) || pdf.subarray(0, 5).toString("latin1") !== "%PDF-") throw new MlaArgumentError("setPdfDates", "pdf", "a PDF file's bytes", pdf);
  if (!(date instanceof Date) || !Number.isFinite(date.getTime())) throw new MlaArgumentError("setPdfDates", "date", "a valid Date", date);
  const stamp = date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const text = pdf.toString("latin1");
  let found = 0;
  const out = text.replace(/\/(CreationDate|ModDate) \(D:(\d{14})([^)]*)\)/g, (m, key: string, _old: string, zone: string) => {
    found++;
    // "+00'00'" and "Z" are both UTC; any other zone is rewritten to a UTC one of the same length.
    const utc = zone === "" || zone === "Z" ? zone : zone.length === 7 ? "+00'00'" : zone.length === 6 ? "+00'00" : undefined;
    if (utc === undefined) throw new Error(`setPdfDates: unexpected date form ${m}`);
    return `/${key} (D:${stamp}${utc})`;
  });
  if (found === 0) throw new Error("setPdfDates: the PDF has no /CreationDate or /ModDate");
  const res = Buffer.from(out, "latin1");
  if (res.length !== pdf.length) throw new Error("setPdfDates: the length changed");
  return res;
}

function checkFormats(fn: string, formats: unknown): StaticFormat[] {
  if (!Array.isArray(formats) || formats.length === 0) throw new MlaArgumentError(fn, "formats", `a non-empty array of ${FORMATS.join("|")}`, formats);
  for (const f of formats) {
    if (!FORMATS.includes(f as StaticFormat)) throw new MlaArgumentError(fn, "formats", `entries among ${FORMATS.join("|")}`, f);
  }
  return Array.from(new Set(formats as StaticFormat[]));
}

// Typed loosely so that this module compiles and loads even if playwright-core is absent;
// only renderStatic needs it, and it says so when it is missing.
type PwBrowser = {
  newPage(opts?: object): Promise<PwPage>;
  close(): Promise<void>;
};
type PwPage = {
  route(url: string | RegExp, handler: (route: { abort(): Promise<void>; continue(): Promise<void>; request(): { url(): string } }) => unknown): Promise<void>;
  setContent(html: string, opts?: object): Promise<void>;
  addScriptTag(opts: { path?: string; content?: string }): Promise<unknown>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  setViewportSize(size: { width: number; height: number }): Promise<void>;
  pdf(opts: object): Promise<Buffer>;
  close(): Promise<void>;
};

/**
 * One headless Chromium shared by many figures: starting the browser costs
 * about a second and loading the 4.6 MB Plotly bundle into a page several
 * seconds on a small machine, so both happen once; each figure is then drawn
 * into the same page (tens to hundreds of milliseconds). Renders are queued:
 * one at a time per renderer.
 */
export class FigureRenderer {
  private browser: PwBrowser | undefined;
  private starting: Promise<PwBrowser> | undefined;
  private plotPage: Promise<PwPage> | undefined;
  private printPage: Promise<PwPage> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private async ensureBrowser(): Promise<PwBrowser> {
    if (this.closed) throw new Error("FigureRenderer: already closed");
    if (this.browser) return this.browser;
    if (!this.starting) this.starting = this.launch();
    this.browser = await this.starting;
    return this.browser;
  }

  private async launch(): Promise<PwBrowser> {
    const exe = chromiumPath();
    if (!chromiumAvailable()) {
      throw new Error(
        `static figure export needs a Chromium binary, looked for ${exe}` +
          (process.env.CHROMIUM ? " (from $CHROMIUM)" : " (set $CHROMIUM to use another one)") +
          ", not found or not executable. On Debian/Ubuntu: `sudo apt-get install chromium`. The .html figures need no browser.",
      );
    }
    let pw: { chromium: { launch(o: object): Promise<PwBrowser> } };
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      pw = require("playwright-core");
    } catch (e) {
      throw new Error(`static figure export needs the npm package playwright-core (run \`npm ci\`): ${(e as Error).message}`);
    }
    try {
      return await pw.chromium.launch({ executablePath: exe, headless: true, args: CHROMIUM_ARGS });
    } catch (e) {
      throw new Error(`could not start Chromium at ${exe}: ${(e as Error).message}`);
    }
  }

  /** A page that refuses every network request: "works offline" is guaranteed, not hoped for. */
  private async offlinePage(): Promise<PwPage> {
    const page = await (await this.ensureBrowser()).newPage();
    await page.route(/^(https?|wss?|ftp):/i, (route) => route.abort());
    return page;
  }

  private async plotter(): Promise<PwPage> {
    if (!this.plotPage) {
      this.plotPage = (async () => {
        const page = await this.offlinePage();
        await page.setContent('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0"><div id="fig"></div></body></html>');
        await page.addScriptTag({ path: plotlyBundlePath() });
        return page;
      })();
    }
    return this.plotPage;
  }

  private async printer(): Promise<PwPage> {
    if (!this.printPage) this.printPage = this.offlinePage();
    return this.printPage;
  }

  /** Renders one figure into the requested formats. */
  async render(spec: FigureSpec, formats: StaticFormat[], opts: StaticOptions = {}): Promise<StaticOutput> {
    checkSpec("FigureRenderer.render", spec);
    const fmts = checkFormats("FigureRenderer.render", formats);
    const o = checkStaticOptions("FigureRenderer.render", opts);
    const mine = this.queue.then(() => this.renderNow(spec, fmts, o));
    this.queue = mine.catch(() => undefined);
    return mine;
  }

  private async renderNow(spec: FigureSpec, fmts: StaticFormat[], o: Required<StaticOptions>): Promise<StaticOutput> {
    const page = await this.plotter();
    await page.setViewportSize({ width: Math.ceil(o.width), height: Math.ceil(o.height) });
    const out: StaticOutput = {};
    const args = { data: spec.data, layout: spec.layout, config: spec.config ?? {}, width: o.width, height: o.height, scale: o.scale, fmts };
    const urls = await page.evaluate(async (a: typeof args) => {
      const P = (globalThis as unknown as { Plotly: { newPlot: Function; toImage: Function; purge: Function } }).Plotly;
      // Seeded Math.random (mulberry32), reset for every figure: Plotly names the SVG's defs
      // and clip paths after a random id, so this makes them depend on nothing but the spec.
      let seed = 0x9e3779b9;
      Math.random = () => {
        seed = (seed + 0x6d2b79f5) >>> 0;
        let t = seed;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      const layout = Object.assign({}, a.layout, { width: a.width, height: a.height, autosize: false });
      const gd = await P.newPlot("fig", a.data, layout, Object.assign({}, a.config, { staticPlot: true }));
      try {
        const res: Record<string, string> = {};
        if (a.fmts.includes("svg") || a.fmts.includes("pdf")) res.svg = await P.toImage(gd, { format: "svg", width: a.width, height: a.height });
        if (a.fmts.includes("png")) res.png = await P.toImage(gd, { format: "png", width: a.width, height: a.height, scale: a.scale });
        return res;
      } finally {
        P.purge(gd);
      }
    }, args);
    let svg: string | undefined;
    if (urls.svg !== undefined) svg = decodeDataUrl(urls.svg).toString("utf8");
    if (fmts.includes("svg")) out.svg = svg;
    if (fmts.includes("png")) out.png = decodeDataUrl(urls.png);
    if (fmts.includes("pdf")) {
      // Printing the SVG (not a screenshot) keeps the PDF vector; the page is sized to the figure.
      const w = Math.ceil(o.width);
      const h = Math.ceil(o.height);
      const printer = await this.printer();
      await printer.setContent(
        `<!DOCTYPE html><html><head><meta charset="utf-8"><style>@page{size:${w}px ${h}px;margin:0}html,body{margin:0;padding:0}svg{display:block}</style></head><body>${svg}</body></html>`,
      );
      const pdf = await printer.pdf({ width: `${w}px`, height: `${h}px`, printBackground: true, pageRanges: "1", margin: { top: "0", right: "0", bottom: "0", left: "0" } });
      out.pdf = setPdfDates(Buffer.from(pdf), o.date);
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const b = this.browser ?? (this.starting ? await this.starting.catch(() => undefined) : undefined);
    this.browser = undefined;
    this.starting = undefined;
    this.plotPage = undefined;
    this.printPage = undefined;
    if (b) await b.close();
  }
}

function decodeDataUrl(url: string | undefined): Buffer {
  if (typeof url !== "string" || !url.startsWith("data:")) throw new Error(`Plotly.toImage returned no data URL (got ${typeof url})`);
  const comma = url.indexOf(",");
  const meta = url.slice(5, comma);
  const body = url.slice(comma + 1);
  return meta.endsWith(";base64") ? Buffer.from(body, "base64") : Buffer.from(decodeURIComponent(body), "utf8");
}

/** One-off static render; starts and stops its own browser. Use FigureRenderer for many figures. */
export async function renderStatic(spec: FigureSpec, formats: StaticFormat[], opts: StaticOptions = {}): Promise<StaticOutput> {
  checkSpec("renderStatic", spec);
  checkFormats("renderStatic", formats);
  checkStaticOptions("renderStatic", opts);
  const r = new FigureRenderer();
  try {
    return await r.render(spec, formats, opts);
  } finally {
    await r.close();
  }
}

export interface WriteFigureOptions extends StaticOptions {
  title?: string;
  /** which static formats to write; default all three; [] for the HTML page only */
  formats?: StaticFormat[];
  /** reuse a browser across calls; without it one is started for this figure */
  renderer?: FigureRenderer;
}

/** Writes dir/name.html (and the shared files it may load: plotly.min.js, mathjax-tex-svg.js) and dir/name.{svg,png,pdf}; returns the paths of the figure's own files. */
export async function writeFigure(spec: FigureSpec, dir: string, name: string, opts: WriteFigureOptions = {}): Promise<string[]> {
  checkSpec("writeFigure", spec);
  if (typeof dir !== "string" || dir === "") throw new MlaArgumentError("writeFigure", "dir", "a non-empty path", dir);
  if (typeof name !== "string" || !/^[A-Za-z0-9._-]+$/.test(name)) throw new MlaArgumentError("writeFigure", "name", "a file stem of [A-Za-z0-9._-]", name);
  if (typeof opts !== "object" || opts === null) throw new MlaArgumentError("writeFigure", "opts", "an object", opts);
  if (opts.renderer !== undefined && !(opts.renderer instanceof FigureRenderer)) throw new MlaArgumentError("writeFigure", "opts.renderer", "a FigureRenderer", opts.renderer);
  // An empty list means "interactive page only" (no browser needed).
  const formats = Array.isArray(opts.formats) && opts.formats.length === 0 ? [] : checkFormats("writeFigure", opts.formats ?? [...FORMATS]);
  const sizes: StaticOptions = { width: opts.width, height: opts.height, scale: opts.scale, date: opts.date };
  checkStaticOptions("writeFigure", sizes);
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const htmlPath = path.join(dir, `${name}.html`);
  writeSharedFiles(dir);
  writeAtomic(htmlPath, figureHtml(spec, { title: opts.title ?? name }));
  written.push(htmlPath);
  if (formats.length === 0) return written;
  const renderer = opts.renderer ?? new FigureRenderer();
  try {
    const out = await renderer.render(spec, formats, sizes);
    for (const f of formats) {
      const p = path.join(dir, `${name}.${f}`);
      writeAtomic(p, out[f] as string | Buffer);
      written.push(p);
    }
  } finally {
    if (!opts.renderer) await renderer.close();
  }
  return written;
}

// A reader (or `make`) never sees a half-written figure if we are interrupted.
function writeAtomic(p: string, content: string | Buffer): void {
  const tmp = `${p}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, p);
}
