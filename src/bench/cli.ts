/**
 * npm run bench [-- --run DIR] [-- --quick]
 *
 * With a GPU: measures the "targets" sweep (every kernel version, CUDA-event
 * timing inside libmla, medians of several trials) into
 * data/runs/<date>-<gpu>-bench/ (results.csv + run.json provenance), then
 * prints the table and the target verdicts. Without a GPU: prints them for
 * the run given with --run, else the recorded run, and says so.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { loadRun, recordedRun } from "../sweep/aggregate";
import { gpuDeviceCount, loadGpuBinding } from "../sweep/gpu-adapter";
import { projectRoot } from "../sweep/provenance";
import { targetsTable } from "./targets";
import { runCli } from "../cli-entry";

function main(argv: string[]): number {
  const runIdx = argv.indexOf("--run");
  const root = projectRoot();
  let dir: string | undefined = runIdx >= 0 ? argv[runIdx + 1] : undefined;
  if (!dir) {
    const gpus = gpuDeviceCount(loadGpuBinding());
    if (gpus.count > 0) {
      const cli = path.join(root, "dist", "src", "sweep", "cli.js");
      const base = execFileSync(process.execPath, [cli, "run-dir", "--root", path.join(root, "data", "runs")], { encoding: "utf8" }).trim();
      dir = `${base}-bench`;
      const args = [cli, "run", "--out", dir, "--only", "targets", ...(argv.includes("--quick") ? ["--quick"] : [])];
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

runCli(main, { prefix: "bench", errorStatus: 1 });
