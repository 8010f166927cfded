/**
 * npm run bench [-- --run DIR] [-- --quick]   (node dist/src/bench/cli.js [--run DIR] [--quick])
 *
 * With a GPU: measures the "targets" sweep (every kernel version, CUDA-event
 * timing inside libmla, medians of several trials) into
 * data/runs/<date>-<gpu>-bench/ (results.csv + run.json provenance), then
 * prints the table and the target verdicts. Without a GPU: prints them for
 * the run given with --run, else the recorded run, and says so.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { loadRun, recordedRun } from "../sweep/aggregate";
import { gpuDeviceCount, loadGpuBinding } from "../sweep/gpu-adapter";
import { projectRoot } from "../sweep/provenance";
import { targetsTable } from "./targets";
import { parseCli, runCli } from "../cli-entry";

const USAGE = "usage: node dist/src/bench/cli.js [--run DIR] [--quick]   (--run: show that run folder's table; --quick: fewer trials on a GPU)";

function main(argv: string[]): number {
  const cli = parseCli(argv, { usage: USAGE, flags: { run: "string", quick: "boolean" } });
  if (cli.has("run") && cli.bool("quick")) cli.fail("--quick measures; --run shows a recorded folder: give one of them");
  const root = projectRoot();
  let dir = cli.str("run");
  if (dir !== undefined && !fs.existsSync(dir)) throw new Error(`--run ${dir}: no such run folder`);
  if (!dir) {
    const gpus = gpuDeviceCount(loadGpuBinding());
    if (gpus.count > 0) {
      const sweepCli = path.join(root, "dist", "src", "sweep", "cli.js");
      const base = execFileSync(process.execPath, [sweepCli, "run-dir", "--root", path.join(root, "data", "runs")], { encoding: "utf8" }).trim();
      dir = `${base}-bench`;
      const args = [sweepCli, "run", "--out", dir, "--only", "targets", ...(cli.bool("quick") ? ["--quick"] : [])];
      execFileSync(process.execPath, args, { stdio: "inherit" });
    } else {
      const rec = recordedRun(path.join(root, "data", "runs"));
      if (!rec.dir) {
        console.error(`no GPU here (${gpus.reason}) and no recorded run: ${rec.why}`);
        return 2;
      }
      console.log(`NO GPU on this machine (${gpus.reason}): showing the RECORDED run ${rec.dir}`);
      dir = rec.dir;
    }
  }
  console.log(targetsTable(loadRun(dir)));
  return 0;
}

if (require.main === module) runCli(main, { prefix: "bench", errorStatus: 1 });
