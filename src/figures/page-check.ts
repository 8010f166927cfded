/**
 * Opens HTML pages (the figure pages, the notebooks' HTML export) in headless
 * Chromium with the network off, as a reader without a network would, and
 * reports what a reader would see go wrong:
 *
 *  - console errors, uncaught exceptions and local files that failed to load;
 *  - every request whose URL is not local (file:, data:, blob:, about:): the
 *    browser context is offline and such requests are aborted, but each one
 *    is recorded, since a page that tries the network is broken offline;
 *  - per Plotly chart (an element with class "mla-figure" or id "fig"), the
 *    traces Plotly was given that are visible and the trace groups it drew
 *    into the SVG;
 *  - MathJax: typeset equations (mjx-container), MathJax's own error nodes,
 *    and text still showing TeX between dollar signs (untypeset math);
 *  - how far the page is wider than the window (a code line running off the page).
 *
 * A screenshot of each page can be written for review. Nothing here asserts:
 * test/browser-check.test.ts does.
 */
import * as fs from "fs";
import * as path from "path";
import { pathToFileURL } from "url";
import type { Browser, Page } from "playwright-core";
import { MlaArgumentError } from "../errors";
import { CHROMIUM_ARGS, chromiumAvailable, chromiumPath } from "./render";

export interface ChartCheck {
  /** the chart element's id */
  id: string;
  /** traces Plotly holds for the chart with visible === true (0 when Plotly never drew it) */
  visibleTraces: number;
  /** trace groups drawn in the chart's SVG (g.trace, or g.hm for a heatmap) */
  drawnTraces: number;
}

export interface PageCheck {
  page: string;
  consoleErrors: string[];
  /** requests to anything but a local file, data:, blob: or about: URL */
  offMachine: string[];
  charts: ChartCheck[];
  /** mjx-container elements: equations MathJax typeset */
  typeset: number;
  /** MathJax's error nodes (a TeX error in an equation) */
  mathErrors: number;
  /** text nodes outside code that still hold "$...$" (math MathJax did not typeset), shortened */
  rawTex: string[];
  /** document width beyond the window width, px (0: nothing runs off the page) */
  overflowPx: number;
  screenshot?: string;
}

export interface PageCheckOptions {
  /** write <screenshotDir>/<page name>.png (the full page) */
  screenshotDir?: string;
  /** window width in CSS px; default 1000 */
  width?: number;
  /** how long to wait for charts and MathJax, ms; default 30000 */
  settleMs?: number;
}

const LOCAL_URL = /^(file|data|blob|about):/i;

/** Inside the page: waits for MathJax and for every chart to hold its data, then counts. Runs in the browser. */
async function measurePage(settleMs: number): Promise<Omit<PageCheck, "page" | "consoleErrors" | "offMachine" | "screenshot">> {
  type Gd = HTMLElement & { _fullData?: { visible?: unknown }[] };
  const w = window as unknown as { MathJax?: { startup?: { promise?: Promise<unknown> } } };
  const deadline = Date.now() + settleMs;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const charts = (): Gd[] => Array.from(document.querySelectorAll<Gd>(".mla-figure, #fig"));
  // Charts draw from scripts that may wait for Plotly to load (notebooks/helpers.ts): poll until all have drawn.
  while (Date.now() < deadline && charts().some((g) => !g._fullData || !g.querySelector("svg.main-svg"))) await sleep(100);
  while (Date.now() < deadline && w.MathJax && !(w.MathJax.startup && w.MathJax.startup.promise)) await sleep(100);
  if (w.MathJax && w.MathJax.startup && w.MathJax.startup.promise) await Promise.race([w.MathJax.startup.promise, sleep(Math.max(0, deadline - Date.now()))]);
  const chartChecks = charts().map((g, i) => ({
    id: g.id || `chart-${i}`,
    visibleTraces: (g._fullData ?? []).filter((t) => t.visible === true).length,
    // scatter and bar traces draw a g.trace each, heatmaps a g.hm
    drawnTraces: g.querySelectorAll("svg.main-svg g.trace, svg.main-svg g.hm").length,
  }));
  const rawTex: string[] = [];
  const skip = "pre, code, script, style, textarea, mjx-container, .highlight";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.textContent ?? "";
    if (!t.includes("$") || (n.parentElement && n.parentElement.closest(skip))) continue;
    const m = /\$\$?[^$]+\$\$?/.exec(t);
    if (m) rawTex.push(m[0].slice(0, 80));
  }
  const doc = document.documentElement;
  return {
    charts: chartChecks,
    typeset: document.querySelectorAll("mjx-container").length,
    mathErrors: document.querySelectorAll("mjx-merror, [data-mjx-error]").length,
    rawTex,
    overflowPx: Math.max(0, doc.scrollWidth - doc.clientWidth),
  };
}

async function checkOne(browser: Browser, file: string, o: Required<Omit<PageCheckOptions, "screenshotDir">> & PageCheckOptions): Promise<PageCheck> {
  const context = await browser.newContext({ viewport: { width: o.width, height: 800 }, offline: true });
  const consoleErrors: string[] = [];
  const offMachine: string[] = [];
  try {
    await context.route(/.*/, (route) => {
      const url = route.request().url();
      if (LOCAL_URL.test(url)) return route.continue();
      return route.abort("internetdisconnected");
    });
    const page: Page = await context.newPage();
    page.on("request", (r) => {
      if (!LOCAL_URL.test(r.url())) offMachine.push(r.url());
    });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(`uncaught: ${e.message}`));
    page.on("requestfailed", (r) => {
      if (LOCAL_URL.test(r.url())) consoleErrors.push(`failed to load ${r.url()}: ${r.failure()?.errorText ?? "unknown error"}`);
    });
    await page.goto(pathToFileURL(path.resolve(file)).href, { waitUntil: "load" });
    const measured = await page.evaluate(measurePage, o.settleMs);
    const out: PageCheck = { page: file, consoleErrors, offMachine, ...measured };
    if (o.screenshotDir) {
      fs.mkdirSync(o.screenshotDir, { recursive: true });
      out.screenshot = path.join(o.screenshotDir, `${path.basename(file, path.extname(file))}.png`);
      await page.screenshot({ path: out.screenshot, fullPage: true });
    }
    return out;
  } finally {
    await context.close();
  }
}

/** Checks each page in turn in one headless Chromium (see the module comment). */
export async function checkPages(files: string[], opts: PageCheckOptions = {}): Promise<PageCheck[]> {
  const fn = "checkPages";
  if (!Array.isArray(files) || files.some((f) => typeof f !== "string" || f === "")) throw new MlaArgumentError(fn, "files", "an array of HTML file paths", files);
  for (const f of files) if (!fs.existsSync(f)) throw new MlaArgumentError(fn, "files", "existing HTML files", f);
  if (typeof opts !== "object" || opts === null) throw new MlaArgumentError(fn, "opts", "an object", opts);
  const o = { width: opts.width ?? 1000, settleMs: opts.settleMs ?? 30000, screenshotDir: opts.screenshotDir };
  if (!(o.width > 0)) throw new MlaArgumentError(fn, "opts.width", "a number > 0", o.width);
  if (!(o.settleMs > 0)) throw new MlaArgumentError(fn, "opts.settleMs", "a number > 0", o.settleMs);
  if (!chromiumAvailable()) throw new Error(`checkPages needs Chromium: ${chromiumPath()} not found (apt-get install chromium, or set $CHROMIUM)`);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const pw = require("playwright-core") as typeof import("playwright-core");
  // A proxy to nowhere as well as the offline context: nothing can leave the machine even if emulation missed a request.
  const browser = await pw.chromium.launch({ executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_ARGS, "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"] });
  try {
    const out: PageCheck[] = [];
    for (const f of files) out.push(await checkOne(browser, f, o));
    return out;
  } finally {
    await browser.close();
  }
}
