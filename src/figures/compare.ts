/**
 * node dist/src/figures/compare.js --fresh DIR [--committed figures/]
 *
 * Does a folder of figures drawn now match the committed one, file by file?
 * `make reproduce` without a GPU draws the recorded run into a scratch folder
 * and asks this, so that it can say "reproduced" without touching a tracked
 * file.
 *
 * Every file is compared byte for byte. What a difference means depends on
 * the file:
 *  - data (.html pages, which embed every plotted number, plotly.min.js,
 *    figures.json, index.html, REPORT.md): must be identical; a difference
 *    means the committed figures are not what the recorded run draws (stale
 *    after a code or data change: `make figures` and commit).
 *  - renders (.svg, .png, .pdf): drawn by Chromium, so another Chromium
 *    version or other fonts give other bytes for the same data. A difference
 *    is reported with both Chromium versions (read from the PDFs) and does
 *    not fail: the data they plot was checked through the .html pages.
 *  - a committed file that was not drawn fails (a stale leftover), except
 *    renders when no Chromium drew any (said so); a file drawn but not
 *    committed fails (the commit lacks it).
 * Exit status: 0 reproduced, 1 a data difference or a missing / stale file, 2 bad arguments.
 */
import * as fs from "fs";
import * as path from "path";
import { MlaArgumentError } from "../errors";
import { cwdRelative, parseCli, runCli } from "../cli-entry";
import { projectRoot } from "../sweep/provenance";

export interface FolderComparison {
  fresh: string;
  committed: string;
  identical: string[];
  /** same name, other bytes; `render` for .svg/.png/.pdf */
  differ: { file: string; render: boolean }[];
  /** in the committed folder, not drawn now */
  notDrawn: string[];
  /** drawn now, not in the committed folder */
  notCommitted: string[];
  /** whether any static render was drawn now (false: no Chromium, renders not checked) */
  rendersDrawn: boolean;
  /** the Chromium that drew the PDFs ("HeadlessChrome/156.0.0.0"), when known */
  renderer: { fresh?: string; committed?: string };
}

const RENDER = /\.(svg|png|pdf)$/;

export function isRenderFile(name: string): boolean {
  if (typeof name !== "string") throw new MlaArgumentError("isRenderFile", "name", "a file name", name);
  return RENDER.test(name);
}

function filesIn(dir: string, what: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new MlaArgumentError("compareFigureFolders", what, "an existing folder", dir);
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
}

/** The Chromium named in the /Creator of the first PDF of a folder. */
function rendererOf(dir: string, files: string[]): string | undefined {
  const pdf = files.find((f) => f.endsWith(".pdf"));
  if (!pdf) return undefined;
  return /HeadlessChrome\/[\d.]+/.exec(fs.readFileSync(path.join(dir, pdf), "latin1"))?.[0];
}

export function compareFigureFolders(fresh: string, committed: string): FolderComparison {
  const a = filesIn(fresh, "fresh");
  const b = filesIn(committed, "committed");
  const inB = new Set(b);
  const inA = new Set(a);
  const c: FolderComparison = { fresh, committed, identical: [], differ: [], notDrawn: [], notCommitted: [], rendersDrawn: a.some(isRenderFile), renderer: {} };
  for (const f of a) {
    if (!inB.has(f)) c.notCommitted.push(f);
    else if (fs.readFileSync(path.join(fresh, f)).equals(fs.readFileSync(path.join(committed, f)))) c.identical.push(f);
    else c.differ.push({ file: f, render: isRenderFile(f) });
  }
  c.notDrawn = b.filter((f) => !inA.has(f));
  c.renderer = { fresh: rendererOf(fresh, a), committed: rendererOf(committed, b) };
  return c;
}

/** Failures (the committed figures are not what the run draws), notes, and the verdict line. */
export function comparisonReport(c: FolderComparison): { ok: boolean; lines: string[] } {
  if (typeof c !== "object" || c === null || !Array.isArray(c.identical)) throw new MlaArgumentError("comparisonReport", "c", "a FolderComparison", c);
  const fails: string[] = [];
  const notes: string[] = [];
  const at = (f: string) => path.join(c.committed, f);
  for (const d of c.differ) {
    if (!d.render) fails.push(`DIFFERS     ${at(d.file)}: not what the recorded run draws now`);
  }
  const renders = c.differ.filter((d) => d.render).map((d) => d.file);
  if (renders.length) {
    const who = c.renderer.fresh && c.renderer.committed ? `drawn here by ${c.renderer.fresh}, committed ones by ${c.renderer.committed}` : "renderer unknown";
    notes.push(`note: ${renders.length} static render(s) differ in their bytes (${who}; other Chromium versions and fonts draw other pixels): ${renders.join(", ")}`);
  }
  for (const f of c.notDrawn) {
    if (isRenderFile(f) && !c.rendersDrawn) continue;
    fails.push(`NOT DRAWN   ${at(f)}: committed, but the recorded run no longer draws it (stale)`);
  }
  if (!c.rendersDrawn && c.notDrawn.some(isRenderFile)) notes.push(`note: no static renders were drawn (no Chromium), so the committed .svg/.png/.pdf were not checked`);
  for (const f of c.notCommitted) fails.push(`NOT COMMITTED ${at(f)}: drawn now, missing from the committed folder`);
  const total = c.identical.length + c.differ.length + c.notCommitted.length;
  const lines = [...fails, ...notes];
  if (fails.length) {
    lines.push(`NOT REPRODUCED: ${fails.length} problem(s) between ${c.fresh} (drawn now) and ${c.committed} (committed). If the change is intended: make figures && make manifest, then commit.`);
  } else {
    lines.push(`REPRODUCED: ${c.identical.length} of ${total} files drawn now are byte-identical to ${c.committed}/${renders.length ? `; the other ${renders.length} are static renders from another Chromium (see the note)` : ""}.`);
  }
  return { ok: fails.length === 0, lines };
}

const USAGE = "usage: node dist/src/figures/compare.js --fresh DIR [--committed figures/]";

function main(argv: string[]): number {
  const cli = parseCli(argv, { usage: USAGE, flags: { fresh: "string", committed: "string" } });
  const fresh = cli.need("fresh", "DIR (the folder drawn now)");
  const committed = cli.str("committed", cwdRelative(path.join(projectRoot(), "figures")));
  for (const [flag, dir] of [["--fresh", fresh], ["--committed", committed]]) if (!fs.existsSync(dir)) throw new Error(`${flag} ${dir}: no such folder`);
  const r = comparisonReport(compareFigureFolders(fresh, committed));
  process.stdout.write(r.lines.join("\n") + "\n");
  return r.ok ? 0 : 1;
}

if (require.main === module) runCli(main, { prefix: "compare", errorStatus: 2 });
