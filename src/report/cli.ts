/**
 * node dist/src/report/cli.js --data <run> --mode measured|recorded [--recorded <run> | --runs-root data/runs]
 *                             [--figures figures/] [--out figures/REPORT.md] [--why "..."]
 *
 * Writes the Markdown report. --recorded defaults to the run named in
 * data/runs/RECORDED (or the newest run), compared only when it differs from --data.
 */
import * as fs from "fs";
import * as path from "path";
import { MlaArgumentError } from "../errors";
import { loadRun, recordedRun } from "../sweep/aggregate";
import { parseArgs } from "../sweep/cli";
import { projectRoot } from "../sweep/provenance";
import type { FigureManifest } from "../figures/cli";
import { reportMarkdown } from "./report";
import { runCli } from "../cli-entry";

async function main(argv: string[]): Promise<number> {
  const { command, flags } = parseArgs(argv, ["help"]);
  if (command !== "" || flags.help) {
    process.stdout.write("usage: node dist/src/report/cli.js --data <run> --mode measured|recorded [--recorded <run>] [--figures figures/] [--out figures/REPORT.md]\n");
    return flags.help ? 0 : 2;
  }
  const root = projectRoot();
  const data = flags.data;
  if (typeof data !== "string") throw new MlaArgumentError("report cli", "--data", "a run folder", data);
  const mode = flags.mode;
  if (mode !== "measured" && mode !== "recorded") throw new MlaArgumentError("report cli", "--mode", '"measured" or "recorded"', mode);
  const figDir = typeof flags.figures === "string" ? (flags.figures as string) : path.join(root, "figures");
  const out = typeof flags.out === "string" ? (flags.out as string) : path.join(figDir, "REPORT.md");
  const run = loadRun(data);
  const runsRoot = typeof flags["runs-root"] === "string" ? (flags["runs-root"] as string) : path.join(root, "data", "runs");
  const recSel = typeof flags.recorded === "string" ? { dir: flags.recorded as string, why: "given with --recorded" } : recordedRun(runsRoot);
  const recorded = recSel.dir && path.resolve(recSel.dir) !== path.resolve(data) ? loadRun(recSel.dir) : recSel.dir ? run : undefined;
  let figures: FigureManifest | undefined;
  const manifest = path.join(figDir, "figures.json");
  if (fs.existsSync(manifest)) figures = JSON.parse(fs.readFileSync(manifest, "utf8")) as FigureManifest;
  const md = reportMarkdown({
    run,
    recorded,
    mode,
    why: typeof flags.why === "string" ? (flags.why as string) : undefined,
    figures,
    figuresHref: path.relative(path.dirname(path.resolve(out)), path.resolve(figDir)) || ".",
  });
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, md);
  process.stderr.write(`wrote ${out}\n`);
  return 0;
}

if (require.main === module) runCli(main, { prefix: "error", errorStatus: 1 });
