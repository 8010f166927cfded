/**
 * Every figure page (figures/*.html) and every notebook's HTML export, opened
 * in headless Chromium with the network off (src/figures/page-check.ts), as a
 * reader without a network sees them: no console error, no request leaving
 * the machine, every Plotly chart drawn with all its visible traces, every
 * equation of the notebooks' Markdown typeset by MathJax (as many as the
 * Markdown holds, none left as raw TeX, no MathJax error), nothing wider than
 * the window. The notebooks are exported as committed, without running them
 * (scripts/notebook-run.py --export-only), with the same template as
 * `make notebooks`. Screenshots go to build/browser-check/ for review.
 *
 * The first block shows each check firing on a page built to fail it.
 * Pending only when there is no Chromium (the reason is printed).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkPages, PageCheck } from "../src/figures/page-check";
import { chromiumAvailable, chromiumPath, FigureSpec, MATHJAX_CONFIG, writeFigure } from "../src/figures/render";

const ROOT = path.resolve(__dirname, "..", "..");
const FIGURES = path.join(ROOT, "figures");
const NOTEBOOKS = path.join(ROOT, "notebooks");
const OUT = path.join(ROOT, "build", "browser-check");

function skipUnlessChromium(ctx: Mocha.Context): void {
  if (!chromiumAvailable()) {
    // mocha's skip() takes no message: the reason goes to the log so "pending" is never mistaken for a pass.
    console.warn(`    skipping the browser check: no Chromium at ${chromiumPath()} (apt-get install chromium, or set $CHROMIUM)`);
    ctx.skip();
  }
}

/** Equations in a notebook's Markdown: $$...$$ and $...$ outside code. */
export function markdownEquations(nbFile: string): number {
  const nb = JSON.parse(fs.readFileSync(nbFile, "utf8")) as { cells: { cell_type: string; source: string | string[] }[] };
  let n = 0;
  for (const c of nb.cells) {
    if (c.cell_type !== "markdown") continue;
    const text = ([] as string[])
      .concat(c.source)
      .join("")
      .replace(/```[\s\S]*?```/g, "")
      .replace(/`[^`\n]*`/g, "");
    n += (text.match(/\$\$[\s\S]+?\$\$|\$[^$\n]+?\$/g) ?? []).length;
  }
  return n;
}

/** Everything a reader would see wrong on the page; expectedMath: equations its source holds. */
function pageProblems(r: PageCheck, expectedMath: number): string[] {
  const p: string[] = [];
  for (const e of r.consoleErrors) p.push(`console error: ${e}`);
  for (const u of r.offMachine) p.push(`request leaves the machine: ${u}`);
  for (const c of r.charts) {
    if (c.visibleTraces === 0) p.push(`chart ${c.id}: Plotly drew nothing`);
    else if (c.drawnTraces !== c.visibleTraces) p.push(`chart ${c.id}: ${c.drawnTraces} traces drawn of ${c.visibleTraces} visible`);
  }
  if (r.typeset !== expectedMath) p.push(`${r.typeset} equations typeset by MathJax, the source holds ${expectedMath}`);
  if (r.mathErrors > 0) p.push(`${r.mathErrors} MathJax errors`);
  for (const t of r.rawTex) p.push(`untypeset TeX: ${t}`);
  if (r.overflowPx > 1) p.push(`the page is ${r.overflowPx} px wider than the window (a line runs off the page)`);
  return p;
}

function tmpPage(dir: string, name: string, body: string, head = ""): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, `<!DOCTYPE html><html><head><meta charset="utf-8">${head}</head><body>${body}</body></html>`);
  return f;
}

describe("browser check: each check fires on a page built to fail it", function () {
  this.timeout(180000);
  let dir: string;
  let byName: Map<string, PageCheck>;
  before(async function () {
    skipUnlessChromium(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mla-pagecheck-"));
    const texSpec: FigureSpec = { data: [{ type: "scatter", x: [1, 2], y: [3, 4], name: "$\\sqrt{h_q}$" }], layout: { title: { text: "$x^2$" } } };
    await writeFigure(texSpec, dir, "tex-figure", { formats: [] });
    const pages = [
      tmpPage(dir, "errors.html", "<script>console.error('boom'); throw new Error('uncaught boom');</script>"),
      tmpPage(dir, "network.html", '<img src="https://example.invalid/x.png"><script>fetch("http://example.invalid/data.json").catch(function(){});</script>'),
      tmpPage(dir, "missing.html", '<script src="no-such-file.js"></script>'),
      tmpPage(dir, "raw-tex.html", "<p>The intensity is $2 h_q s_q$ FLOP/byte.</p>"),
      tmpPage(dir, "no-chart.html", '<div class="mla-figure" id="mla-fig-never"></div>'),
      tmpPage(dir, "wide.html", `<pre style="white-space:pre">${"x".repeat(600)}</pre>`),
      path.join(dir, "tex-figure.html"),
    ];
    const res = await checkPages(pages, { settleMs: 3000 });
    byName = new Map(res.map((r) => [path.basename(r.page, ".html"), r]));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("records console errors and uncaught exceptions", () => {
    const r = byName.get("errors")!;
    assert.ok(r.consoleErrors.some((e) => /boom/.test(e)) && r.consoleErrors.some((e) => /uncaught/.test(e)), JSON.stringify(r.consoleErrors));
  });
  it("records every request that would leave the machine (and a local file that failed to load)", () => {
    const r = byName.get("network")!;
    assert.deepStrictEqual([...r.offMachine].sort(), ["http://example.invalid/data.json", "https://example.invalid/x.png"]);
    assert.ok(byName.get("missing")!.consoleErrors.some((e) => /no-such-file\.js/.test(e)), JSON.stringify(byName.get("missing")!.consoleErrors));
  });
  it("finds TeX that MathJax did not typeset", () => {
    assert.deepStrictEqual(byName.get("raw-tex")!.rawTex, ["$2 h_q s_q$"]);
    assert.ok(pageProblems(byName.get("raw-tex")!, 1).some((p) => /0 equations typeset/.test(p)));
  });
  it("finds a chart Plotly never drew", () => {
    assert.deepStrictEqual(byName.get("no-chart")!.charts, [{ id: "mla-fig-never", visibleTraces: 0, drawnTraces: 0 }]);
  });
  it("finds a line that runs off the page", () => {
    assert.ok(byName.get("wide")!.overflowPx > 1000, String(byName.get("wide")!.overflowPx));
  });
  it("a figure page with TeX loads the shared MathJax, which typesets its labels offline", () => {
    const r = byName.get("tex-figure")!;
    assert.deepStrictEqual(pageProblems(r, r.typeset), []);
    assert.deepStrictEqual(r.rawTex, []);
    assert.ok(fs.readFileSync(path.join(dir, "tex-figure.html"), "utf8").includes('<script src="mathjax-tex-svg.js"></script>'));
  });
});

describe("browser check: the nbconvert template's MathJax settings", () => {
  it("are those of figure pages (src/figures/render.ts MATHJAX_CONFIG)", () => {
    const tpl = fs.readFileSync(path.join(ROOT, "scripts", "nbconvert", "mla-offline", "index.html.j2"), "utf8");
    const m = /window\.MathJax = (\{.*\});/.exec(tpl);
    assert.ok(m, "the template sets window.MathJax on one line");
    assert.deepStrictEqual(JSON.parse(m![1]), MATHJAX_CONFIG);
  });
});

const figurePages = fs.existsSync(FIGURES) ? fs.readdirSync(FIGURES).filter((f) => f.endsWith(".html")).sort() : [];
const notebooks = fs.existsSync(NOTEBOOKS) ? fs.readdirSync(NOTEBOOKS).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).sort() : [];

describe("browser check: every figure page and every notebook page, offline in headless Chromium", function () {
  this.timeout(900000);
  const results = new Map<string, PageCheck>();
  const nbHtml = path.join(OUT, "notebooks");
  before(async function () {
    skipUnlessChromium(this);
    fs.rmSync(OUT, { recursive: true, force: true });
    const py = process.env.NOTEBOOK_PYTHON || (fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
    const exp = spawnSync(py, [path.join(ROOT, "scripts", "notebook-run.py"), "--export-only", "--html-dir", nbHtml, ...notebooks.map((n) => path.join(NOTEBOOKS, n))], { encoding: "utf8" });
    if (exp.status !== 0) throw new Error(`exporting the notebooks to HTML failed (${py} scripts/notebook-run.py --export-only; Debian: apt-get install jupyter-nbconvert):\n${exp.stderr}${exp.error ?? ""}`);
    const pages = [...figurePages.map((f) => path.join(FIGURES, f)), ...notebooks.map((n) => path.join(nbHtml, n.replace(/\.ipynb$/, ".html")))];
    for (const r of await checkPages(pages, { screenshotDir: OUT })) results.set(r.page, r);
  });

  it("has pages to check: the figures of figures.json and the five notebooks", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(FIGURES, "figures.json"), "utf8")) as { figures: { name: string; files?: string[] }[] };
    for (const f of manifest.figures) if (f.files) assert.ok(figurePages.includes(`${f.name}.html`), `figures/${f.name}.html is missing`);
    assert.ok(figurePages.includes("index.html"));
    assert.ok(notebooks.length >= 5, `notebooks: ${notebooks.join(", ")}`);
  });
  for (const f of figurePages) {
    it(`figures/${f}: no errors, nothing from the network${f === "index.html" ? " (its thumbnails load)" : ", its chart drawn"}`, () => {
      const r = results.get(path.join(FIGURES, f))!;
      assert.deepStrictEqual(pageProblems(r, r.typeset), []);
      if (f !== "index.html") assert.strictEqual(r.charts.length, 1, "one chart per figure page");
      assert.ok(r.screenshot && fs.existsSync(r.screenshot));
    });
  }
  for (const n of notebooks) {
    it(`notebooks/${n} as HTML: no errors, nothing from the network, every chart drawn, every equation typeset`, () => {
      const r = results.get(path.join(nbHtml, n.replace(/\.ipynb$/, ".html")))!;
      const expected = markdownEquations(path.join(NOTEBOOKS, n));
      assert.deepStrictEqual(pageProblems(r, expected), []);
      const charts = (fs.readFileSync(path.join(NOTEBOOKS, n), "utf8").match(/class=\\"mla-figure\\"/g) ?? []).length;
      assert.strictEqual(r.charts.length, charts, "every chart of the notebook's outputs is on the page");
    });
  }
});
