/**
 * node dist/src/figures/cli.js [--data data/runs/<run>] [--out figures/] [--runs-root data/runs]
 *                              [--formats svg,png,pdf] [--html-only]
 *
 * Draws every paper figure from one run folder: the one given, else the one
 * named in data/runs/RECORDED, else the newest. Writes <name>.html (offline,
 * interactive; all pages load the one plotly.min.js beside them) and
 * <name>.svg/.png/.pdf, plus figures.json (what was drawn from which files,
 * what was skipped and why) and index.html. The same run gives the same
 * bytes: no wall-clock time is written (dates are the run's own).
 * Exit status: 0 ok, 2 no data or a bad command line, 1 anything else (for example no Chromium).
 */
import * as fs from "fs";
import * as path from "path";
import { MlaArgumentError } from "../errors";
import { loadRun, recordedRun } from "../sweep/aggregate";
import { projectRoot } from "../sweep/provenance";
import { ProgressSink, stderrProgress } from "../sweep/runner";
import { runContext } from "../analysis/run";
import { allFigures, FigureResult, isSkipped } from "./paper";
import { chromiumAvailable, chromiumPath, FigureRenderer, SHARED_FILES, StaticFormat, writeFigure } from "./render";
import { cwdRelative, parseCli, runCli } from "../cli-entry";

export interface FigureManifest {
  schema: "mla-figures/2";
  run: string;
  runId: string;
  /** the run's own date and commit (run.json), never the time of drawing */
  runDate: string;
  runCommit?: string;
  /** files every page needs (the Plotly bundle) */
  shared: string[];
  figures: ({ name: string; title: string; caption: string; claim: string; files: string[]; source: string } | { name: string; title: string; skipped: string })[];
}

export interface DrawOptions {
  dataDir: string;
  outDir: string;
  formats?: StaticFormat[];
  htmlOnly?: boolean;
  /** one line per skipped figure; default stderr */
  log?: (line: string) => void;
  /** n/total, elapsed and ETA after each figure; default the sweep's stderr progress */
  progress?: ProgressSink;
}

/** Draws all figures of one run folder; returns the manifest it also writes to outDir/figures.json. */
export async function drawFigures(o: DrawOptions): Promise<FigureManifest> {
  const fn = "drawFigures";
  if (typeof o !== "object" || o === null) throw new MlaArgumentError(fn, "o", "an object", o);
  if (typeof o.dataDir !== "string" || o.dataDir === "") throw new MlaArgumentError(fn, "o.dataDir", "a run folder", o.dataDir);
  if (typeof o.outDir !== "string" || o.outDir === "") throw new MlaArgumentError(fn, "o.outDir", "an output folder", o.outDir);
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const progress = o.progress ?? stderrProgress();
  const run = loadRun(o.dataDir);
  if (run.trials.length === 0) throw new MlaArgumentError(fn, "o.dataDir", "a run folder with at least one result row", o.dataDir);
  const figs: FigureResult[] = allFigures(run);
  const prov = runContext(run).provenance;
  const date = new Date(prov.date);
  fs.mkdirSync(o.outDir, { recursive: true });
  const renderer = o.htmlOnly ? undefined : new FigureRenderer();
  const manifest: FigureManifest = { schema: "mla-figures/2", run: o.dataDir, runId: run.runId, runDate: prov.date, runCommit: prov.gitCommit, shared: SHARED_FILES.map((f) => f.name), figures: [] };
  const kinds = o.htmlOnly ? "html" : ["html", ...(o.formats ?? ["svg", "png", "pdf"])].join(", ");
  progress.start(figs.length, `drawing ${figs.length} figures (${kinds}) from ${o.dataDir} into ${o.outDir}`);
  let done = 0;
  let skipped = 0;
  try {
    for (const f of figs) {
      done++;
      if (isSkipped(f)) {
        skipped++;
        log(`skipped ${f.name}: ${f.skipped}`);
        manifest.figures.push({ name: f.name, title: f.title, skipped: f.skipped });
        progress.update(done, `${f.name}: skipped`, skipped);
        continue;
      }
      const layout = f.spec.layout as { width?: number; height?: number };
      const files = await writeFigure(f.spec, o.outDir, f.name, {
        title: f.title,
        renderer,
        formats: o.htmlOnly ? [] : o.formats,
        width: layout.width,
        height: layout.height,
        date,
      }).catch((e) => {
        throw new Error(`figure ${f.name}: ${(e as Error).message}`);
      });
      manifest.figures.push({ name: f.name, title: f.title, caption: f.caption, claim: f.claim, files: files.map((p) => path.basename(p)), source: f.source });
      progress.update(done, `wrote ${files.map((p) => path.basename(p)).join(", ")}`, skipped);
    }
  } finally {
    if (renderer) await renderer.close();
  }
  fs.writeFileSync(path.join(o.outDir, "figures.json"), JSON.stringify(manifest, null, 2) + "\n");
  fs.writeFileSync(path.join(o.outDir, "index.html"), indexHtml(manifest));
  progress.end(`${figs.length - skipped} figures drawn, ${skipped} skipped; see ${path.join(o.outDir, "index.html")}`);
  return manifest;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The figure index: a thumbnail of each figure (its PNG, where drawn), the claim it supports, its caption and files. */
export function indexHtml(m: FigureManifest): string {
  const items = m.figures
    .map((f) => {
      if ("skipped" in f) return `<li class="skipped"><h2>${esc(f.title)}</h2><p>Not drawn: ${esc(f.skipped)}</p></li>`;
      const png = f.files.find((x) => x.endsWith(".png"));
      const thumb = png ? `<a href="${esc(f.name)}.html"><img src="${esc(png)}" alt="${esc(f.title)}" width="240" loading="lazy"></a>` : "";
      const files = f.files.map((x) => `<a href="${esc(x)}">${esc(x.split(".").pop()!)}</a>`).join(" ");
      return `<li>${thumb}<div><h2><a href="${esc(f.name)}.html">${esc(f.title)}</a></h2><p class="claim">${esc(f.claim)}</p><p><small>${esc(f.caption)}</small></p><p>${files}</p></div></li>`;
    })
    .join("\n");
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Figures: ${esc(m.runId)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}ul{list-style:none;padding:0}
li{display:flex;gap:1em;align-items:flex-start;margin-bottom:1.5em;border-bottom:1px solid #ddd;padding-bottom:1em}
li img{border:1px solid #ccc;flex:none}h2{font-size:1.1em;margin:0 0 .3em}.claim{font-weight:bold;margin:.3em 0}
@media (max-width:40em){li{flex-direction:column}}</style></head><body>
<h1>Figures from run ${esc(m.runId)}</h1><p>Data: <code>${esc(m.run)}</code>, measured ${esc(m.runDate.slice(0, 10))}${m.runCommit ? ` at commit <code>${esc(m.runCommit.slice(0, 7))}</code>` : ""}. Each figure: the claim it supports (its numbers from this run), its caption, and the interactive page (click the thumbnail) with SVG, PNG and PDF versions.</p><ul>
${items}
</ul></body></html>
`;
}

/** The run folder to draw: --data, else RECORDED, else the newest under the runs root. */
export function resolveDataDir(data: string | undefined, runsRoot: string): { dir?: string; why: string } {
  if (data !== undefined && (typeof data !== "string" || data === "")) throw new MlaArgumentError("resolveDataDir", "data", "a run folder path or undefined", data);
  if (typeof runsRoot !== "string" || runsRoot === "") throw new MlaArgumentError("resolveDataDir", "runsRoot", "a folder path", runsRoot);
  if (data) return fs.existsSync(data) ? { dir: data, why: "given with --data" } : { why: `--data ${data}: no such run folder` };
  return recordedRun(runsRoot);
}

const USAGE = "usage: node dist/src/figures/cli.js [--data data/runs/<run>] [--runs-root data/runs] [--out figures/] [--formats svg,png,pdf] [--html-only]";

async function main(argv: string[]): Promise<number> {
  const cli = parseCli(argv, { usage: USAGE, flags: { data: "string", "runs-root": "string", out: "string", formats: "string", "html-only": "boolean" } });
  const root = projectRoot();
  const runsRoot = cli.str("runs-root", cwdRelative(path.join(root, "data", "runs")));
  const outDir = cli.str("out", cwdRelative(path.join(root, "figures")));
  const formats = cli.list<StaticFormat>("formats", undefined, ["svg", "png", "pdf"]);
  const htmlOnly = cli.bool("html-only");
  if (htmlOnly && formats) cli.fail("--formats and --html-only exclude each other");
  const sel = resolveDataDir(cli.str("data"), runsRoot);
  if (!sel.dir && cli.has("data")) {
    process.stderr.write(`figures: ${sel.why}\n`);
    return 2;
  }
  if (!sel.dir) {
    process.stderr.write(
      `figures: no data to draw figures from: ${sel.why}.\n` +
        "Measure on a machine with an NVIDIA Hopper GPU with `make reproduce` (it writes data/runs/<date>-<gpu>/), " +
        "or pass --data <run folder>.\n",
    );
    return 2;
  }
  if (!htmlOnly && !chromiumAvailable()) {
    process.stderr.write(`figures: static figures need Chromium: ${chromiumPath()} not found (apt-get install chromium, or set $CHROMIUM; --html-only draws only the interactive pages)\n`);
    return 1;
  }
  process.stderr.write(`run ${sel.dir} (${sel.why})\n`);
  await drawFigures({ dataDir: sel.dir, outDir, formats, htmlOnly });
  return 0;
}

if (require.main === module) runCli(main, { prefix: "figures", errorStatus: 1 });
