/** src/figures/compare.ts: what a difference between figures drawn now and the committed ones means. */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { compareFigureFolders, comparisonReport, isRenderFile } from "../src/figures/compare";

function folder(files: Record<string, string>): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "mla-cmp-"));
  for (const [k, v] of Object.entries(files)) fs.writeFileSync(path.join(d, k), v);
  return d;
}
const PDF = (chrome: string) => `%PDF-1.4\n/Creator (HeadlessChrome/${chrome})\n`;

describe("figures/compare: drawn now vs committed", () => {
  const made: string[] = [];
  const pair = (a: Record<string, string>, b: Record<string, string>) => {
    const fresh = folder(a);
    const committed = folder(b);
    made.push(fresh, committed);
    return comparisonReport(compareFigureFolders(fresh, committed));
  };
  after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const base = { "a.html": "<p>1</p>", "figures.json": "{}", "a.svg": "<svg/>", "a.pdf": PDF("156.0.0.0") };

  it("identical folders: reproduced", () => {
    const r = pair(base, base);
    assert.ok(r.ok);
    assert.match(r.lines.join("\n"), /^REPRODUCED: 4 of 4 files drawn now are byte-identical/m);
  });

  it("a data file that differs fails, naming it", () => {
    const r = pair({ ...base, "figures.json": '{"x":1}' }, base);
    assert.ok(!r.ok);
    assert.match(r.lines.join("\n"), /DIFFERS .*figures\.json/);
    assert.match(r.lines.join("\n"), /NOT REPRODUCED: 1 problem/);
  });

  it("static renders from another Chromium differ without failing, and the note names both versions", () => {
    const r = pair({ ...base, "a.svg": "<svg>other</svg>", "a.pdf": PDF("157.0.0.0") }, base);
    assert.ok(r.ok, r.lines.join("\n"));
    assert.match(r.lines.join("\n"), /2 static render\(s\) differ .*HeadlessChrome\/157\.0\.0\.0.*HeadlessChrome\/156\.0\.0\.0/);
  });

  it("a stale committed file and a file missing from the commit fail", () => {
    const r = pair({ ...base, "new.html": "n" }, { ...base, "gone.png": "p" });
    assert.ok(!r.ok);
    const text = r.lines.join("\n");
    assert.match(text, /NOT DRAWN .*gone\.png/);
    assert.match(text, /NOT COMMITTED .*new\.html/);
  });

  it("without renders drawn (no Chromium), committed renders are not checked, and it says so", () => {
    const r = pair({ "a.html": "<p>1</p>", "figures.json": "{}" }, base);
    assert.ok(r.ok, r.lines.join("\n"));
    assert.match(r.lines.join("\n"), /no static renders were drawn \(no Chromium\)/);
  });

  it("knows the render formats and checks its arguments", () => {
    assert.deepStrictEqual(["a.svg", "a.png", "a.pdf", "a.html", "plotly.min.js"].map(isRenderFile), [true, true, true, false, false]);
    assert.throws(() => compareFigureFolders(path.join(os.tmpdir(), "mla-none-xyz"), os.tmpdir()), /fresh/);
  });
});
