/**
 * node dist/src/sweep/cli.js <command> [options]
 *
 *   plan      --out FILE [--sweeps data/sweeps] [--quick] [--only a,b]
 *             write the expanded configuration list (plan.ts) that the runner and the Python baseline read
 *   run       --out DIR [--plan FILE | --sweeps data/sweeps [--quick] [--only a,b]] [--retry-errors] [--no-ceilings]
 *             measure our kernels on the GPU into DIR (plan.json, results.csv, ceilings.csv, run.json); resumable
 *   ingest    --run DIR [--plan DIR/plan.json]
 *             the Python baseline's raw measurements (DIR/raw-<impl>.jsonl) to DIR/results-<impl>.csv
 *   estimate  [--sweeps data/sweeps] [--quick] [--kernel-versions N] [--impls ours,torch]
 *             guess of the wall time, without a GPU
 *   gpu-count prints the number of CUDA devices the binding sees (0 and the reason on stderr otherwise)
 *   run-dir   [--root data/runs] prints data/runs/<UTC date>-<gpu name> for this machine's GPU
 *             (with "-<commit>" appended when that folder holds another commit's run)
 *   recorded-run [--root data/runs] prints the recorded run folder (RECORDED, else newest), why on stderr; exit 2 if none
 */
import * as path from "path";
import { MlaArgumentError } from "../errors";
import { recordedRun } from "./aggregate";
import { Impl, IMPLS, KernelVersionInfo, loadSweepDirectory } from "./definitions";
import { deviceFactsFrom, gpuDeviceCount, GpuMeasurer, loadGpuBinding } from "./gpu-adapter";
import { ingestRawLogs } from "./ingest";
import { gitState, openRunSidecar, projectRoot, runDirFor, writeSidecar } from "./provenance";
import { buildPlan, planRun, readPlan, resolvePlan, writePlan } from "./plan";
import { estimateSeconds, measureCeilings, runSweeps, stderrProgress } from "./runner";
import { Cli, parseCli, runCli } from "../cli-entry";

function fmtMin(s: number): string {
  return s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;
}

const USAGE =
  "usage: node dist/src/sweep/cli.js plan --out FILE [--quick] [--sweeps DIR] [--only a,b]\n" +
  "       node dist/src/sweep/cli.js run --out DIR [--plan FILE | --quick --sweeps DIR --only a,b] [--retry-errors] [--no-ceilings]\n" +
  "       node dist/src/sweep/cli.js ingest --run DIR [--plan DIR/plan.json]\n" +
  "       node dist/src/sweep/cli.js estimate [--quick] [--sweeps DIR] [--kernel-versions N] [--impls ours,torch]\n" +
  "       node dist/src/sweep/cli.js gpu-count | run-dir [--root data/runs] | recorded-run [--root data/runs]";

const CLI_SPEC = {
  usage: USAGE,
  commands: {
    plan: { out: "string", sweeps: "string", quick: "boolean", only: "string" },
    run: { out: "string", plan: "string", sweeps: "string", quick: "boolean", only: "string", "retry-errors": "boolean", "no-ceilings": "boolean" },
    ingest: { run: "string", plan: "string" },
    estimate: { sweeps: "string", quick: "boolean", "kernel-versions": "string", impls: "string" },
    "gpu-count": {},
    "run-dir": { root: "string" },
    "recorded-run": { root: "string" },
  },
} as const;

async function main(argv: string[]): Promise<number> {
  const cli: Cli = parseCli(argv, CLI_SPEC);
  const command = cli.command;
  const root = projectRoot();
  const sweepsDir = cli.str("sweeps", path.join(root, "data", "sweeps"));
  const quick = cli.bool("quick");
  const only = cli.list("only", undefined);

  if (command === "gpu-count") {
    const r = gpuDeviceCount();
    if (r.reason) process.stderr.write(`${r.reason}\n`);
    process.stdout.write(`${r.count}\n`);
    return 0;
  }

  if (command === "run-dir") {
    const load = loadGpuBinding();
    if (!load.ok) throw new Error(`run-dir needs the GPU binding: ${load.reason}`);
    const info = load.binding.deviceInfo(0);
    const date = new Date().toISOString().slice(0, 10);
    const dir = runDirFor(cli.str("root", path.join("data", "runs")), date, info.name, gitState(projectRoot()).commit);
    process.stdout.write(`${dir}\n`);
    return 0;
  }

  if (command === "recorded-run") {
    const r = recordedRun(cli.str("root", path.join(root, "data", "runs")));
    process.stderr.write(`${r.why}\n`);
    if (!r.dir) return 2;
    process.stdout.write(`${r.dir}\n`);
    return 0;
  }

  if (command === "plan") {
    const out = cli.need("out", "FILE (the plan to write, e.g. data/runs/<run>/plan.json)");
    const plan = buildPlan(loadSweepDirectory(sweepsDir), { quick, only, root });
    writePlan(out, plan);
    process.stderr.write(`wrote ${out}: ${plan.configs.length} configurations of ${plan.sweeps.map((s) => s.name).join(", ")} (${quick ? "quick" : "full"})\n`);
    return 0;
  }

  if (command === "ingest") {
    const dir = cli.need("run", "DIR (a run folder holding raw-<impl>.jsonl from baselines/torch_mla_decode.py)");
    const done = ingestRawLogs(dir, readPlan(cli.str("plan", path.join(dir, "plan.json"))));
    if (done.length === 0) process.stderr.write(`no raw-<impl>.jsonl in ${dir}: nothing to ingest\n`);
    for (const d of done) process.stderr.write(`${d.raw} -> ${d.csv}: ${d.rows} rows (${d.errors} errors)${d.torn ? ", a torn last line left out" : ""}\n`);
    return 0;
  }

  if (command === "estimate") {
    const defs = loadSweepDirectory(sweepsDir);
    const n = cli.int("kernel-versions", 2, { min: 1 });
    const kernelVersions: KernelVersionInfo[] = Array.from({ length: n }, (_, i) => ({ version: i + 1, name: `v${i + 1}` }));
    const impls = cli.list<Impl>("impls", ["ours", "torch"], IMPLS) as Impl[];
    let total = 0;
    for (const d of defs) {
      const plan = planRun(defs, { quick, impls, kernelVersions, only: [d.name] });
      const s = estimateSeconds(plan);
      total += s;
      const rows = plan.reduce((a, p) => a + p.impls.length * p.trials, 0);
      process.stdout.write(`${d.name.padEnd(16)} ${String(plan.length).padStart(3)} configs ${String(rows).padStart(4)} rows  ~${fmtMin(s)}\n`);
    }
    process.stdout.write(`total ~${fmtMin(total)} on an H100 (${quick ? "quick" : "full"} mode, impls ${impls.join(",")}, ${n} kernel versions); an estimate, not a promise\n`);
    return 0;
  }

  if (command === "run") {
    const out = cli.need("out", "DIR (a run folder, e.g. data/runs/2026-01-01-nvidia-h100)");
    const load = loadGpuBinding();
    if (!load.ok) throw new Error(`cannot measure: ${load.reason}`);
    const gpu = load.binding;
    const count = gpu.deviceCount();
    if (count < 1) throw new Error("cannot measure: the GPU binding sees no CUDA device");
    const planArg = cli.str("plan", "");
    if (planArg !== "" && (quick || only)) return cli.fail("--quick and --only go without --plan (the plan was expanded with its own)");
    const given = planArg !== "" ? readPlan(planArg) : buildPlan(loadSweepDirectory(sweepsDir), { quick, only, root });
    const kernelVersions = gpu.kernelVersions();
    const prov = await openRunSidecar({
      dir: out,
      device: () => deviceFactsFrom(gpu.deviceInfo(0)),
      definitions: given.sweeps.map((s) => ({ ...s, file: path.resolve(root, s.file) })),
      kernelVersions,
      quick: given.quick,
    });
    // What is measured is what the Python baseline reads next: DIR/plan.json.
    const planFile = path.join(out, "plan.json");
    writePlan(planFile, given);
    const plan = resolvePlan(readPlan(planFile), { impls: ["ours"], kernelVersions });
    process.stderr.write(`estimated ~${fmtMin(estimateSeconds(plan))} for ${plan.length} configurations (${planFile})\n`);
    if (!cli.bool("no-ceilings")) {
      process.stderr.write("measuring ceilings (copy bandwidth, bf16 GEMM)...\n");
      // 2 GiB copy and an 8192^3 GEMM: both far past L2 / launch overheads on H100/H200.
      const c = await measureCeilings(out, {
        copyBandwidth: () => gpu.probeCopyBandwidth(2 ** 31, 20),
        gemmTflops: () => gpu.probeGemmBf16(8192, 8192, 8192, 20),
        copyMethod: "mla_measure_copy_bandwidth: cudaMemcpy D2D of 2 GiB x 20, bytes read + written",
        gemmMethod: "mla_measure_gemm_bf16: cuBLAS bf16 GEMM 8192^3 x 20, fp32 accumulate",
      }, quick ? 2 : 5);
      prov.ceilings = {
        copyGBps: c.copyGBps,
        gemmTflops: c.gemmTflops,
        method: { copy: "mla_measure_copy_bandwidth(2 GiB, 20 iters), median of trials", gemm: "mla_measure_gemm_bf16(8192, 8192, 8192, 20 iters), median of trials" },
        errors: c.errors.length ? c.errors : undefined,
      };
      writeSidecar(out, prov);
      for (const e of c.errors) process.stderr.write(`ceiling probe failed: ${e}\n`);
    }
    const m = new GpuMeasurer(gpu);
    const stop = (): void => {
      // Rows already written are safe; free the device buffers and exit with the conventional code.
      try {
        m.release();
      } finally {
        process.exit(130);
      }
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      const s = await runSweeps({ outDir: out, plan, measure: m.measure, onConfigDone: m.configDone, retryErrors: cli.bool("retry-errors"), progress: stderrProgress(), primingRuns: 2 });
      return s.errors > 0 && s.measured === 0 && s.skipped === 0 ? 1 : 0;
    } finally {
      m.release();
    }
  }

  return cli.fail(`unknown command '${command}'`);
}

if (require.main === module) runCli(main, { prefix: "sweep", errorStatus: 1 });
