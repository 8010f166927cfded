/**
 * node dist/src/report/cli.js [--data <run>] [--mode measured|recorded] [--recorded <run> | --runs-root data/runs]
 *                             [--figures figures/] [--out figures/REPORT.md] [--why "..."]
 *
 * Writes the Markdown report. --data defaults to the recorded run (the one
 * named in data/runs/RECORDED, or the newest run) and --mode to "recorded";
 * --recorded defaults to the same run, compared only when it differs from --data.
 */
import * as fs from "fs";
import * as path from "path";
import { loadRun, recordedRun } from "../sweep/aggregate";
import { projectRoot } from "../sweep/provenance";
import type { FigureManifest } from "../figures/cli";
import { reportMarkdown } from "./report";
import { cwdRelative, parseCli, runCli } from "../cli-entry";

const USAGE =
  "usage: node dist/src/report/cli.js [--data <run>] [--mode measured|recorded] [--recorded <run> | --runs-root data/runs] [--figures figures/] [--out figures/REPORT.md] [--why TEXT]";

async function main(argv: string[]): Promise<number> {
  const cli = parseCli(argv, {
    usage: USAGE,
    flags: { data: "string", mode: "string", recorded: "string", "runs-root": "string", figures: "string", out: "string", why: "string" },
  });
  const root = projectRoot();
  const mode = cli.str("mode", "recorded");
  if (mode !== "measured" && mode !== "recorded") return cli.fail(`--mode must be measured or recorded, got '${mode}'`);
  if (cli.has("recorded") && cli.has("runs-root")) cli.fail("--recorded and --runs-root exclude each other");
  const figDir = cli.str("figures", cwdRelative(path.join(root, "figures")));
  const out = cli.str("out", path.join(figDir, "REPORT.md"));
  const runsRoot = cli.str("runs-root", cwdRelative(path.join(root, "data", "runs")));
  const recSel = cli.has("recorded") ? { dir: cli.str("recorded"), why: "given with --recorded" } : recordedRun(runsRoot);
  let data = cli.str("data");
  let why = cli.str("why");
  if (data === undefined) {
    if (!recSel.dir) throw new Error(`no run to report on: ${recSel.why} (pass --data <run folder>)`);
    data = recSel.dir;
    why = why ?? recSel.why;
  }
  for (const [flag, dir] of [["--data", data], ["--recorded", recSel.dir]]) if (dir !== undefined && !fs.existsSync(dir)) throw new Error(`${flag} ${dir}: no such run folder`);
  const run = loadRun(data);
  const recorded = recSel.dir && path.resolve(recSel.dir) !== path.resolve(data) ? loadRun(recSel.dir) : recSel.dir ? run : undefined;
  let figures: FigureManifest | undefined;
  const manifest = path.join(figDir, "figures.json");
  if (fs.existsSync(manifest)) figures = JSON.parse(fs.readFileSync(manifest, "utf8")) as FigureManifest;
  const md = reportMarkdown({
    run,
    recorded,
    mode,
    why,
    figures,
    figuresHref: path.relative(path.dirname(path.resolve(out)), path.resolve(figDir)) || ".",
  });
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, md);
  process.stderr.write(`wrote ${out}\n`);
  return 0;
}

if (require.main === module) runCli(main, { prefix: "report", errorStatus: 1 });
