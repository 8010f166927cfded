/**
 * Structural checks on the committed notebooks (notebooks/NN-*.ipynb), so
 * that a notebook committed unexecuted, half-executed, with an error in an
 * output, or with a chart a static viewer cannot show, fails `make test`.
 * Executing them is scripts/notebooks.sh's job; this reads the files only.
 *
 * The rules live in notebookProblems(), which the first block exercises on
 * small hand-made notebooks: each rule is shown to fire on the defect it is
 * there for, so none of them can silently pass everything.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as vm from "vm";

const NOTEBOOK_DIR = path.resolve(__dirname, "..", "..", "notebooks");
/** Notebooks that must exist; later ones are picked up by the NN-*.ipynb pattern. */
const REQUIRED = ["01-from-mha-to-mla.ipynb", "02-reference-decoder.ipynb", "03-scheduling.ipynb", "04-hopper-kernel.ipynb", "05-roofline.ipynb"];

type Json = Record<string, unknown>;

function text(src: unknown): string {
  if (typeof src === "string") return src;
  if (Array.isArray(src)) return src.join("");
  return "";
}

/** An output that draws a Plotly chart (the interactive half of showFigure in notebooks/helpers.ts). */
export function isPlotlyOutput(out: Json): boolean {
  const data = (out.data ?? {}) as Json;
  if ("application/vnd.plotly.v1+json" in data) return true;
  return /Plotly\.(newPlot|react|plot)\s*\(/.test(text(data["text/html"]));
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A static picture a viewer without JavaScript can show: a real PNG, or an SVG document. */
export function staticImageProblem(out: Json | undefined): string | null {
  if (!out || (out.output_type !== "display_data" && out.output_type !== "execute_result")) return "is not followed by a static image output";
  const data = (out.data ?? {}) as Json;
  if (typeof data["image/png"] === "string" || Array.isArray(data["image/png"])) {
    const bytes = Buffer.from(text(data["image/png"]).replace(/\s+/g, ""), "base64");
    if (bytes.length < 1024 || !bytes.subarray(0, 8).equals(PNG_MAGIC)) return "is followed by an image/png that is not a plausible PNG";
    return null;
  }
  if (data["image/svg+xml"] !== undefined) {
    return /<svg[\s>]/.test(text(data["image/svg+xml"])) ? null : "is followed by an image/svg+xml with no <svg> element";
  }
  return "is not followed by a static image output (image/png or image/svg+xml)";
}

/** Everything wrong with one parsed notebook; empty when it passes. */
export function notebookProblems(nb: unknown): string[] {
  const problems: string[] = [];
  if (typeof nb !== "object" || nb === null || Array.isArray(nb)) return ["not a JSON object"];
  const n = nb as Json;
  if (n.nbformat !== 4) problems.push(`nbformat is ${JSON.stringify(n.nbformat)}, expected 4`);
  if (typeof n.nbformat_minor !== "number" || n.nbformat_minor < 4) problems.push(`nbformat_minor is ${JSON.stringify(n.nbformat_minor)}, expected >= 4`);
  const meta = (n.metadata ?? {}) as Json;
  const ks = (meta.kernelspec ?? {}) as Json;
  if (ks.name !== "tslab") problems.push(`kernelspec.name is ${JSON.stringify(ks.name)}, expected "tslab"`);
  if (ks.language !== "typescript") problems.push(`kernelspec.language is ${JSON.stringify(ks.language)}, expected "typescript"`);
  if (!Array.isArray(n.cells) || n.cells.length === 0) {
    problems.push("has no cells");
    return problems;
  }
  const ids = new Set<string>();
  let expectedCount = 1;
  let codeCells = 0;
  (n.cells as Json[]).forEach((cell, i) => {
    const where = `cell ${i}`;
    if (!["code", "markdown", "raw"].includes(cell.cell_type as string)) problems.push(`${where}: cell_type ${JSON.stringify(cell.cell_type)}`);
    if (typeof cell.source !== "string" && !Array.isArray(cell.source)) problems.push(`${where}: source is neither a string nor a list of strings`);
    if (n.nbformat_minor as number >= 5) {
      if (typeof cell.id !== "string" || cell.id === "") problems.push(`${where}: missing id (required by nbformat 4.5)`);
      else if (ids.has(cell.id)) problems.push(`${where}: duplicate id ${cell.id}`);
      else ids.add(cell.id);
    }
    if (cell.cell_type !== "code") return;
    codeCells++;
    const src = text(cell.source);
    if (/from\s+["'][./]*\/src\//.test(src) || /require\(\s*["'][./]*\/src\//.test(src)) {
      problems.push(`${where}: imports ../src/ (notebooks import the compiled library from ../dist/src/)`);
    }
    // Executed top to bottom in one kernel: counts run 1, 2, 3, ... with no gaps or re-runs.
    if (cell.execution_count !== expectedCount) {
      problems.push(`${where}: execution_count ${JSON.stringify(cell.execution_count)}, expected ${expectedCount} (run the notebook top to bottom: scripts/notebooks.sh)`);
    }
    expectedCount++;
    const outputs = cell.outputs;
    if (!Array.isArray(outputs) || outputs.length === 0) {
      problems.push(`${where}: code cell has no outputs`);
      return;
    }
    (outputs as Json[]).forEach((out, k) => {
      const at = `${where}, output ${k}`;
      if (out.output_type === "error") problems.push(`${at}: error output ${String(out.ename)}: ${String(out.evalue)}`);
      if (out.output_type === "stream" && out.name === "stderr") problems.push(`${at}: stderr: ${text(out.text).slice(0, 200)}`);
      if (out.output_type === "stream" && /^FAIL /m.test(text(out.text))) problems.push(`${at}: a numeric check printed FAIL`);
      // A chart's script loads plotly.js from the repository, never a CDN: offline, the page still works.
      const url = /\bhttps?:\/\/(?!www\.w3\.org\/)[^\s"'<>]+/.exec(text(((out.data ?? {}) as Json)["text/html"]));
      if (url) problems.push(`${at}: HTML output reaches the network (${url[0]})`);
      for (const m of text(((out.data ?? {}) as Json)["text/html"]).matchAll(/<script[^>]*>([\s\S]*?)<\/script>/gi)) {
        try {
          new vm.Script(m[1]);
        } catch (e) {
          problems.push(`${at}: a script in the HTML output does not parse: ${(e as Error).message}`);
        }
      }
      if (isPlotlyOutput(out)) {
        const p = staticImageProblem((outputs as Json[])[k + 1]);
        if (p) problems.push(`${at}: Plotly chart ${p}`);
      }
    });
  });
  if (codeCells === 0) problems.push("has no code cells");
  return problems;
}

// ---------------------------------------------------------------------------
// The rules themselves, on hand-made notebooks.

const PNG_B64 = Buffer.concat([PNG_MAGIC, Buffer.alloc(2048, 7)]).toString("base64");

function goodNotebook(): Json {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
    cells: [
      { id: "a", cell_type: "markdown", metadata: {}, source: "# Title\n$x^2$" },
      { id: "b", cell_type: "code", metadata: {}, execution_count: 1, source: 'import * as mla from "../dist/src/index";', outputs: [{ output_type: "stream", name: "stdout", text: "ok\n" }] },
      {
        id: "c",
        cell_type: "code",
        metadata: {},
        execution_count: 2,
        source: "await showFigure(spec, 'x');",
        outputs: [
          { output_type: "display_data", metadata: {}, data: { "text/html": '<div id="f"></div><script>Plotly.newPlot(el, d, l);</script>' } },
          { output_type: "display_data", metadata: {}, data: { "image/png": PNG_B64 } },
        ],
      },
    ],
  };
}

type Mutator = (nb: Json & { cells: Json[] }) => void;

function problemsAfter(mutate: Mutator): string[] {
  const nb = goodNotebook() as Json & { cells: Json[] };
  mutate(nb);
  return notebookProblems(JSON.parse(JSON.stringify(nb)));
}

describe("notebooks: the structural checker", () => {
  it("accepts a well-formed executed notebook", () => {
    assert.deepStrictEqual(notebookProblems(goodNotebook()), []);
  });
  const cases: [string, Mutator, RegExp][] = [
    ["a wrong nbformat", (nb) => (nb.nbformat = 3), /nbformat is 3/],
    ["a python kernel", (nb) => ((nb.metadata as Json).kernelspec = { name: "python3", language: "python" }), /kernelspec\.name/],
    ["a code cell without outputs", (nb) => (nb.cells[1].outputs = []), /cell 1: code cell has no outputs/],
    ["an unexecuted cell", (nb) => (nb.cells[2].execution_count = null), /cell 2: execution_count null/],
    ["cells run out of order", (nb) => ((nb.cells[1].execution_count = 2), (nb.cells[2].execution_count = 1)), /execution_count 2, expected 1/],
    ["an error output", (nb) => (nb.cells[1].outputs as Json[]).push({ output_type: "error", ename: "Error", evalue: "boom", traceback: [] }), /error output Error: boom/],
    ["a stderr stream (how tslab reports a thrown error)", (nb) => (nb.cells[1].outputs = [{ output_type: "stream", name: "stderr", text: "Error: boom" }]), /stderr: Error: boom/],
    ["a failed numeric check", (nb) => (nb.cells[1].outputs = [{ output_type: "stream", name: "stdout", text: "FAIL x: max |difference| = 1\n" }]), /printed FAIL/],
    ["a Plotly chart with no static twin", (nb) => (nb.cells[2].outputs as Json[]).pop(), /Plotly chart is not followed by a static image/],
    ["a Plotly chart followed by a broken PNG", (nb) => ((nb.cells[2].outputs as Json[])[1].data = { "image/png": "aGVsbG8=" }), /not a plausible PNG/],
    ["a Plotly mime bundle with no static twin", (nb) => (nb.cells[2].outputs = [{ output_type: "display_data", metadata: {}, data: { "application/vnd.plotly.v1+json": {} } }]), /Plotly chart/],
    ["an import of ../src", (nb) => (nb.cells[1].source = 'import { x } from "../src/mla/model";'), /imports \.\.\/src\//],
    ["a chart that loads plotly.js from a CDN", (nb) => ((nb.cells[2].outputs as Json[])[0].data = { "text/html": '<script src="https://cdn.plot.ly/plotly-3.0.0.min.js"></script><script>Plotly.newPlot(el, d, l);</script>' }), /reaches the network \(https:\/\/cdn\.plot\.ly/],
    ["a chart script that does not parse", (nb) => ((nb.cells[2].outputs as Json[])[0].data = { "text/html": "<script>var m = /^(.*?)/(?:lab/tree)/.exec(p); Plotly.newPlot(el, d, l);</script>" }), /does not parse/],
    ["duplicate cell ids", (nb) => (nb.cells[2].id = "b"), /duplicate id b/],
  ];
  for (const [what, mutate, expected] of cases) {
    it(`rejects ${what}`, () => {
      const problems = problemsAfter(mutate);
      assert.ok(problems.some((p) => expected.test(p)), `expected a problem matching ${expected}, got ${JSON.stringify(problems)}`);
    });
  }
  it("accepts an SVG as the static twin", () => {
    assert.deepStrictEqual(problemsAfter((nb) => ((nb.cells[2].outputs as Json[])[1].data = { "image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg"></svg>' })), []);
  });
});

// ---------------------------------------------------------------------------
// The committed notebooks.

function committedNotebooks(): string[] {
  if (!fs.existsSync(NOTEBOOK_DIR)) return [];
  return fs.readdirSync(NOTEBOOK_DIR).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).sort();
}

/**
 * Kernel-version ranges that a notebook's prose states about a run ("the
 * recorded run (v1 to v8)") and that its own outputs contradict: the outputs
 * say which versions a run holds ("kernel versions v1-v10", generated from
 * the data), and a range in the Markdown shortly after "recorded run", "the
 * run", "sweep run", "measured" or "timed" must be one of those. A notebook whose outputs name no
 * range is not judged.
 */
export function proseVersionRangeProblems(nb: { cells: Json[] }): string[] {
  const outs = nb.cells.flatMap((c) => (Array.isArray(c.outputs) ? (c.outputs as Json[]) : []));
  const stated = new Set<string>();
  for (const o of outs) {
    const t = text(o.text) + text(((o.data ?? {}) as Json)["text/html"]);
    for (const m of t.matchAll(/kernel versions v(\d+)-v(\d+)/g)) stated.add(`${m[1]}-${m[2]}`);
  }
  if (stated.size === 0) return [];
  const problems: string[] = [];
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== "markdown") return;
    for (const m of text(c.source).matchAll(/\b(?:recorded(?: \w+)? runs?|(?:this|the|a) run|sweep runs?|timed|measured)\b[^.]{0,80}?\bv(\d+)\s*(?:to|-|–|through)\s*v(\d+)\b/gi)) {
      if (!stated.has(`${m[1]}-${m[2]}`)) problems.push(`cell ${i}: the prose says "${m[0]}", but the outputs say kernel versions ${[...stated].map((r) => `v${r.replace("-", "-v")}`).join(", ")}`);
    }
  });
  return problems;
}

describe("notebooks: prose against outputs", () => {
  const nb = (md: string, out: string) => ({ cells: [{ cell_type: "markdown", source: md }, { cell_type: "code", source: "", outputs: [{ output_type: "stream", name: "stdout", text: out }] }] as Json[] });
  it("rejects a version range in the prose that the outputs contradict", () => {
    assert.strictEqual(proseVersionRangeProblems(nb("The recorded sweep run (v1 to v8) is read here.", "run X: kernel versions v1-v10, without FlashMLA")).length, 1);
  });
  it("accepts a range the outputs state, and prose that names no range about a run", () => {
    assert.deepStrictEqual(proseVersionRangeProblems(nb("The recorded run holds v1-v10.", "kernel versions v1-v10")), []);
    assert.deepStrictEqual(proseVersionRangeProblems(nb("Independent chains (v4-v6) remove the dependence.", "kernel versions v1-v10")), []);
  });
  for (const name of committedNotebooks()) {
    it(`${name}: no version range in the prose contradicts the outputs`, () => {
      const problems = proseVersionRangeProblems(JSON.parse(fs.readFileSync(path.join(NOTEBOOK_DIR, name), "utf8")));
      assert.deepStrictEqual(problems, [], `${name}:\n  ${problems.join("\n  ")}`);
    });
  }
});

describe("notebooks: committed notebooks", () => {
  const found = committedNotebooks();
  it("includes every required notebook", () => {
    for (const name of REQUIRED) assert.ok(found.includes(name), `notebooks/${name} is missing (found: ${found.join(", ") || "none"})`);
  });
  it("has the helper module the notebooks import", () => {
    assert.ok(fs.existsSync(path.join(NOTEBOOK_DIR, "helpers.ts")), "notebooks/helpers.ts is missing");
  });
  for (const name of found) {
    it(`${name} is a valid, fully executed tslab notebook with static twins for its charts`, () => {
      const raw = fs.readFileSync(path.join(NOTEBOOK_DIR, name), "utf8");
      let nb: unknown;
      try {
        nb = JSON.parse(raw);
      } catch (e) {
        assert.fail(`${name}: not valid JSON: ${(e as Error).message}`);
      }
      const problems = notebookProblems(nb);
      assert.deepStrictEqual(problems, [], `${name}:\n  ${problems.join("\n  ")}`);
    });
    it(`${name} has prose with LaTeX and at least one numeric check`, () => {
      const nb = JSON.parse(fs.readFileSync(path.join(NOTEBOOK_DIR, name), "utf8")) as { cells: Json[] };
      const md = nb.cells.filter((c) => c.cell_type === "markdown").map((c) => text(c.source)).join("\n");
      assert.ok(/\$[^$]+\$/.test(md), `${name}: no LaTeX math in its Markdown cells`);
      const outs = nb.cells.flatMap((c) => (Array.isArray(c.outputs) ? (c.outputs as Json[]) : []));
      assert.ok(outs.some((o) => o.output_type === "stream" && /^ok {2}/m.test(text(o.text))), `${name}: no passing numeric check (expectClose / expectTrue) in its outputs`);
    });
  }
});

describe("notebooks: where a chart loads plotly.js from when the page lacks it", () => {
  // The loader of the committed chart outputs (notebooks/helpers.ts interactiveHtml), run on a fake location.
  const chart = committedNotebooks()
    .flatMap((n) => (JSON.parse(fs.readFileSync(path.join(NOTEBOOK_DIR, n), "utf8")) as { cells: Json[] }).cells)
    .flatMap((c) => (Array.isArray(c.outputs) ? (c.outputs as Json[]) : []))
    .map((o) => text(((o.data ?? {}) as Json)["text/html"]))
    .find((h) => h.includes('class="mla-figure"'));
  const urlFor = (protocol: string, pathname: string): string => {
    const fn = /function plotlyUrl\(\) \{[\s\S]*?\n {2}\}/.exec(chart ?? "");
    assert.ok(fn, "a committed chart output defines plotlyUrl()");
    return vm.runInNewContext(`${fn![0]}; plotlyUrl()`, { location: { protocol, pathname } }) as string;
  };
  it("the repository's copy through Jupyter's /files/ route, never a CDN", () => {
    assert.strictEqual(urlFor("http:", "/lab/tree/notebooks/05-roofline.ipynb"), "/files/notebooks/../figures/plotly.min.js");
    assert.strictEqual(urlFor("https:", "/user/me/lab/tree/notebooks/01-from-mha-to-mla.ipynb"), "/user/me/files/notebooks/../figures/plotly.min.js");
    assert.strictEqual(urlFor("http:", "/notebooks/notebooks/02-reference-decoder.ipynb"), "/files/notebooks/../figures/plotly.min.js");
  });
  it("relative to a page written beside the notebooks (nbconvert's default output folder)", () => {
    assert.strictEqual(urlFor("file:", "/home/me/mla/notebooks/05-roofline.html"), "../figures/plotly.min.js");
  });
});
