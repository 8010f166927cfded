/**
 * Figures a paper can use: the committed static figures are legible at the
 * size they are drawn for (no two text boxes overlap, no text leaves the
 * figure; measured by Chromium on the SVG export, src/figures/layout-check.ts),
 * and every PDF embeds its fonts (src/figures/pdf-fonts.ts). Each check is
 * first shown to fire on a figure built to fail it. The layout checks are
 * pending only without Chromium; the PDF checks need none.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { layoutProblems, measureSvgText, SvgLayout } from "../src/figures/layout-check";
import { pdfFonts } from "../src/figures/pdf-fonts";
import { chromiumAvailable, chromiumPath } from "../src/figures/render";

const FIGURES = path.resolve(__dirname, "..", "..", "figures");
const manifest = JSON.parse(fs.readFileSync(path.join(FIGURES, "figures.json"), "utf8")) as { figures: { name: string; files?: string[] }[] };
const drawn = (ext: string): string[] => manifest.figures.filter((f) => f.files?.includes(`${f.name}.${ext}`)).map((f) => `${f.name}.${ext}`);
/** Every drawn figure is held to the layout check; the ladder is the one whose labels crowd (11 rungs x 2 configurations). */
const LAYOUT_CHECKED = drawn("svg").map((f) => f.replace(/\.svg$/, ""));

describe("figures: layout of the static export", function () {
  this.timeout(120000);
  let layouts: Map<string, SvgLayout>;
  let bad: SvgLayout[];
  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(`    skipping the layout checks: no Chromium at ${chromiumPath()} (apt-get install chromium)`);
      return this.skip();
    }
    const svg = (body: string) => `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">${body}</svg>`;
    assert.ok(LAYOUT_CHECKED.includes("kernel-ladder"), "figures.json lists the kernel ladder's SVG");
    const names = LAYOUT_CHECKED;
    const res = await measureSvgText([
      ...names.map((n) => fs.readFileSync(path.join(FIGURES, `${n}.svg`), "utf8")),
      svg('<g class="xtick"><text x="10" y="50" font-size="12">v3 wgmma</text></g><g class="xtick"><text x="40" y="50" font-size="12">v4 wgmma_split</text></g>'),
      svg('<text class="bartext" x="170" y="50" font-size="12">2893 GB/s</text>'),
    ]);
    layouts = new Map(names.map((n, i) => [n, res[i]]));
    bad = res.slice(names.length);
  });

  it("finds overlapping labels and labels cut off by the frame", () => {
    assert.ok(layoutProblems(bad[0]).some((p) => /xtick "v3 wgmma" overlaps xtick "v4 wgmma_split"/.test(p)), JSON.stringify(layoutProblems(bad[0])));
    assert.ok(layoutProblems(bad[1]).some((p) => /bartext "2893 GB\/s" leaves the 200x100 figure/.test(p)), JSON.stringify(layoutProblems(bad[1])));
  });
  for (const n of LAYOUT_CHECKED) {
    it(`figures/${n}.svg: no label overlaps another, none leaves the figure`, () => {
      const l = layouts.get(n);
      assert.ok(l, `figures/${n}.svg was measured`);
      assert.ok(l!.boxes.length > 10, `${l!.boxes.length} text boxes measured`);
      assert.deepStrictEqual(layoutProblems(l!), []);
    });
  }
  it("the ladder shows every rung's name and a value label per measured bar", () => {
    const l = layouts.get("kernel-ladder")!;
    const ticks = l.boxes.filter((b) => b.role === "ytick").map((b) => b.text);
    assert.ok(ticks.includes("v1 simt") && ticks.some((t) => /^v10 /.test(t)), JSON.stringify(ticks));
    const values = l.boxes.filter((b) => /GB\/s|TF\/s/.test(b.text));
    assert.ok(values.length >= ticks.length, `${values.length} value labels for ${ticks.length} rungs`);
  });
});

describe("figures: every PDF embeds its fonts", () => {
  const pdf = (objs: string[]) => Buffer.from(`%PDF-1.4\n${objs.map((o, i) => `${i + 1} 0 obj\n${o}\nendobj\n`).join("")}trailer\n`, "latin1");
  it("finds a font that is not embedded (no descriptor, or a descriptor without a font file)", () => {
    const fonts = pdfFonts(pdf(["<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", "<< /Type /Font /Subtype /TrueType /BaseFont /DejaVuSans /FontDescriptor 3 0 R >>", "<< /Type /FontDescriptor /FontName /DejaVuSans >>"]));
    assert.deepStrictEqual(fonts.map((f) => [f.baseFont, f.embedded]), [["Helvetica", false], ["DejaVuSans", false]]);
    const ok = pdfFonts(pdf(["<< /Type /Font /Subtype /Type0 /BaseFont /X /DescendantFonts [2 0 R] >>", "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /X /FontDescriptor 3 0 R >>", "<< /Type /FontDescriptor /FontFile2 4 0 R >>"]));
    assert.deepStrictEqual(ok.map((f) => f.embedded), [true, true]);
    assert.throws(() => pdfFonts(Buffer.from("hello")), /pdf/);
  });
  for (const f of drawn("pdf")) {
    it(`figures/${f}: has fonts, every one embedded`, () => {
      const fonts = pdfFonts(fs.readFileSync(path.join(FIGURES, f)));
      assert.ok(fonts.length > 0, "a figure with text uses at least one font");
      assert.deepStrictEqual(fonts.filter((x) => !x.embedded).map((x) => `${x.baseFont} (${x.subtype})`), []);
    });
  }
});
