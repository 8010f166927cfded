/**
 * npm run bench [-- --run DIR] [-- --quick]   (node dist/src/bench/cli.js [--run DIR] [--quick])
 *
 * With a GPU: measures the "targets" sweep (every kernel version, CUDA-event
 * timing inside libmla, medians of several trials) and the "flashmla-bench"
 * sweep (ours natively, then ours (auto) and FlashMLA side by side through
 * baselines/torch_mla_decode.py where python3, torch and flash_mla are there)
 * into data/runs/<date>-<gpu>-bench/ (results*.csv + run.json provenance),
 * then prints the targets table and verdicts and the FlashMLA comparison
 * (src/bench/flashmla.ts). Without a GPU: prints them for the run given with
 * --run, else the recorded run, and says so.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { loadRun, recordedRun } from "../sweep/aggregate";
import { gpuDeviceCount, loadGpuBinding } from "../sweep/gpu-adapter";
import { projectRoot } from "../sweep/provenance";
import { comparisonText } from "./flashmla";
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
      const args = [sweepCli, "run", "--out", dir, "--only", "targets,flashmla-bench", ...(cli.bool("quick") ? ["--quick"] : [])];
      execFileSync(process.execPath, args, { stdio: "inherit" });
      sideBySide(root, dir, sweepCli);
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
  const run = loadRun(dir);
  console.log(targetsTable(run));
  console.log("");
  console.log(comparisonText(run));
  return 0;
}

/** FlashMLA beside ours on the plan the run left (dir/plan.json); says why when it cannot. */
function sideBySide(root: string, dir: string, sweepCli: string): void {
  const py = spawnSync("python3", [path.join(root, "baselines", "torch_mla_decode.py"), "--out", dir], { stdio: "inherit" });
  if (py.error || py.status !== 0) {
    console.error(`the side-by-side baseline did not run (${py.error?.message ?? `exit ${py.status}`}): the FlashMLA comparison is left out`);
    return;
  }
  execFileSync(process.execPath, [sweepCli, "ingest", "--run", dir], { stdio: "inherit" });
}

if (require.main === module) runCli(main, { prefix: "bench", errorStatus: 1 });
