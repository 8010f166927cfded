import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { chromiumAvailable, chromiumPath, figureHtml, FigureRenderer, FigureSpec, PLOTLY_FILE, renderStatic, setPdfDates, writeFigure, writePlotlyBundle } from "../src/figures/render";
import { axisTitle, caption, colorFor, OKABE_ITO, paperLayout, wrapText } from "../src/figures/style";
import { MlaArgumentError } from "../src/errors";

const spec: FigureSpec = {
  data: [{ type: "scatter", mode: "lines+markers", x: [1, 2, 4], y: [3.25, 1.5, 9.125], name: "series-<alpha>" }],
  layout: paperLayout({ x: { quantity: "cache length", unit: "tokens", log: true }, y: { quantity: "bandwidth", unit: "GB/s" } }),
};

function skipReason(): string {
  return `no Chromium at ${chromiumPath()} (apt-get install chromium)`;
}

describe("figures/render: figureHtml", () => {
  it("loads the one plotly.min.js beside it (no network, no inlined copy) and embeds the data", () => {
    const html = figureHtml(spec, { title: "t<1>" });
    const bundle = fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8");
    assert.ok(!html.includes(bundle.slice(0, 2000)), "the bundle is not inlined");
    assert.ok(html.length < 10000, `a page is small: ${html.length} bytes`);
    const srcs = [...html.matchAll(/<script[^>]*\ssrc="([^"]*)"/gi)].map((m) => m[1]);
    assert.deepStrictEqual(srcs, [PLOTLY_FILE], "one script file, a relative path to the shared bundle");
    assert.ok(!/https?:|\/\//.test(srcs[0]));
    assert.ok(html.includes("9.125"));
    assert.ok(!html.includes("series-<alpha>"), "'<' in data is escaped");
    assert.ok(html.includes("series-\\u003calpha>"));
    assert.ok(html.includes("<title>t&lt;1&gt;</title>"));
    assert.match(html, /did not load: it must sit beside this page/, "says so when the bundle is missing");
  });
  it("writePlotlyBundle copies the bundle byte for byte, once", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mla-bundle-"));
    const p = writePlotlyBundle(dir);
    assert.strictEqual(p, path.join(dir, PLOTLY_FILE));
    assert.ok(fs.readFileSync(p).equals(fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"))));
    const mtime = fs.statSync(p).mtimeMs;
    writePlotlyBundle(dir);
    assert.strictEqual(fs.statSync(p).mtimeMs, mtime, "an identical copy is left alone");
    fs.writeFileSync(p, "stale");
    writePlotlyBundle(dir);
    assert.ok(fs.statSync(p).size > 1e6, "a different file is replaced");
    fs.rmSync(dir, { recursive: true });
  });
  it("rejects bad specs naming the argument", () => {
    assert.throws(() => figureHtml({ data: {} as unknown as object[], layout: {} }), (e: Error) => e instanceof MlaArgumentError && /spec\.data/.test(e.message));
    assert.throws(() => figureHtml(null as unknown as FigureSpec), MlaArgumentError);
    assert.throws(() => figureHtml({ data: [], layout: [] as unknown as object }), /spec\.layout/);
  });
});

describe("figures/render: setPdfDates", () => {
  const pdf = (dates: string) => Buffer.from(`%PDF-1.4\n1 0 obj\n<</Creator (x)\n${dates}>>\nendobj\nxref\n`, "latin1");
  it("sets both dates to the given UTC time, keeping the byte length", () => {
    const src = pdf("/CreationDate (D:20261207000224+00'00')\n/ModDate (D:20261207000225+00'00')");
    const out = setPdfDates(src, new Date("2026-11-21T23:49:55.184Z"));
    assert.strictEqual(out.length, src.length);
    assert.strictEqual(out.toString("latin1").match(/D:\d{14}/g)!.join(" "), "D:20261121234955 D:20261121234955");
    const zoned = setPdfDates(pdf("/CreationDate (D:20261207000224-05'00')"), new Date(0));
    assert.match(zoned.toString("latin1"), /\/CreationDate \(D:19700101000000\+00'00'\)/);
  });
  it("refuses what is not a PDF with dates", () => {
    assert.throws(() => setPdfDates(Buffer.from("hello"), new Date(0)), /pdf/);
    assert.throws(() => setPdfDates(pdf(""), new Date(0)), /no \/CreationDate/);
    assert.throws(() => setPdfDates(pdf("/ModDate (D:20261207000224Z)"), new Date(NaN)), /date/);
  });
});

describe("figures/style", () => {
  it("requires a unit on every axis", () => {
    assert.strictEqual(axisTitle("time", "µs"), "time (µs)");
    assert.throws(() => axisTitle("time", ""), /unit/);
    assert.throws(() => paperLayout({ x: { quantity: "a", unit: "" }, y: { quantity: "b", unit: "s" } }), MlaArgumentError);
  });
  it("uses the Okabe-Ito palette", () => {
    assert.strictEqual(colorFor(0), OKABE_ITO.blue);
    assert.ok(Object.values(OKABE_ITO).includes(colorFor(13) as never));
    assert.throws(() => colorFor(-1), MlaArgumentError);
  });
  it("wraps long captions under the plot and makes room for them", () => {
    assert.deepStrictEqual(wrapText("aa bb cc dd", 5), ["aa bb", "cc dd"]);
    assert.deepStrictEqual(wrapText("averyveryverylongword x", 5), ["averyveryverylongword", "x"]);
    const long = "Measured on NVIDIA H100 80GB HBM3 (132 SMs, driver 550.54.15, CUDA 12.4), 2026-11-21; run 2026-11-21-nvidia-h100, commit 0123456. Ceilings: measured copy 3000 GB/s.";
    const l = paperLayout({ x: { quantity: "a", unit: "s" }, y: { quantity: "b", unit: "s" }, caption: long, title: "Fig" }) as { annotations: { text: string; yshift: number }[]; margin: { b: number } };
    const lines = l.annotations[0].text.split("<br>");
    assert.ok(lines.length >= 2 && lines.every((x) => x.replace(/<\/?b>/g, "").length <= 70));
    assert.ok(lines[0].startsWith("<b>Fig.</b> Measured"));
    // The bottom margin holds the tick labels, the axis title and every caption line.
    assert.strictEqual(l.margin.b, -l.annotations[0].yshift + 8 + 12 * lines.length);
  });
  it("captions state the GPU and the date", () => {
    const c = caption({ gpuName: "NVIDIA H100 80GB HBM3", date: "2026-11-21T10:00:00Z", smCount: 132, gitCommit: "abcdef0123" });
    assert.ok(c.includes("NVIDIA H100 80GB HBM3") && c.includes("2026-11-21") && c.includes("132 SMs") && c.includes("abcdef0"));
    assert.throws(() => caption({ gpuName: "x", date: "not a date" }), /p\.date/);
  });
});

describe("figures/render: static export (headless Chromium)", function () {
  this.timeout(120000);
  let renderer: FigureRenderer | undefined;
  before(function () {
    if (!chromiumAvailable()) {
      // mocha's skip() takes no message; the reason goes to the log so "pending" is never mistaken for a pass.
      console.warn(`    skipping static export tests: ${skipReason()}`);
      this.skip();
    }
  });
  after(async () => {
    if (renderer) await renderer.close();
  });

  it("renders SVG, PNG and PDF", async function () {
    if (!chromiumAvailable()) return this.skip();
    renderer = new FigureRenderer();
    const out = await renderer.render(spec, ["svg", "png", "pdf"], { width: 400, height: 300, scale: 2 });
    assert.ok(out.svg!.startsWith("<svg"), out.svg!.slice(0, 40));
    assert.ok(out.svg!.includes("GB/s"));
    assert.deepStrictEqual([...out.png!.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.strictEqual(out.png!.readUInt32BE(16), 800, "PNG width = width * scale");
    assert.strictEqual(out.pdf!.subarray(0, 5).toString("latin1"), "%PDF-");
  });

  it("renderStatic works one-off, writeFigure writes four files", async function () {
    if (!chromiumAvailable()) return this.skip();
    const out = await renderStatic(spec, ["svg"]);
    assert.ok(out.svg!.startsWith("<svg"));
    assert.strictEqual(out.png, undefined);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mla-fig-"));
    renderer = renderer ?? new FigureRenderer();
    const files = await writeFigure(spec, dir, "demo", { renderer });
    assert.deepStrictEqual(files.map((f) => path.basename(f)).sort(), ["demo.html", "demo.pdf", "demo.png", "demo.svg"]);
    assert.ok(fs.existsSync(path.join(dir, PLOTLY_FILE)), "the page's bundle is written beside it");
    fs.rmSync(dir, { recursive: true });
  });

  it("is deterministic: the same spec gives the same SVG and PDF bytes, whatever was drawn before", async function () {
    if (!chromiumAvailable()) return this.skip();
    const other: FigureSpec = { data: [{ type: "bar", x: ["a", "b"], y: [1, 2] }], layout: paperLayout({ x: { quantity: "k", unit: "-" }, y: { quantity: "v", unit: "s" } }) };
    const date = new Date("2026-11-21T12:00:00Z");
    renderer = renderer ?? new FigureRenderer();
    const a = await renderer.render(spec, ["svg", "pdf"], { date });
    const r = new FigureRenderer();
    try {
      await r.render(other, ["svg", "png"]);
      const b = await r.render(spec, ["svg", "pdf"], { date });
      assert.strictEqual(b.svg, a.svg, "SVG bytes (Plotly's random ids are seeded)");
      assert.ok(b.pdf!.equals(a.pdf!), "PDF bytes");
      assert.match(b.pdf!.toString("latin1"), /\/CreationDate \(D:20261121120000/);
    } finally {
      await r.close();
    }
  });

  it("rejects bad formats and sizes", async () => {
    await assert.rejects(renderStatic(spec, ["gif" as never]), /formats/);
    await assert.rejects(renderStatic(spec, ["svg"], { width: -1 }), /opts\.width/);
  });
});

describe("figures/render: missing Chromium", () => {
  it("says which binary was looked for and how to install it", async () => {
    const saved = process.env.CHROMIUM;
    process.env.CHROMIUM = "/nonexistent/chromium-xyz";
    try {
      await assert.rejects(renderStatic(spec, ["svg"]), (e: Error) => /\/nonexistent\/chromium-xyz/.test(e.message) && /apt-get install chromium/.test(e.message));
    } finally {
      if (saved === undefined) delete process.env.CHROMIUM;
      else process.env.CHROMIUM = saved;
    }
  });
});
