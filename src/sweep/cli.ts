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
import { runCli } from "../cli-entry";

export interface ParsedArgs {
  command: string;
  flags: Record<string, string | boolean>;
}

/** `--key value`, `--key=value` and bare `--flag`. */
export function parseArgs(argv: string[], booleanFlags: string[] = []): ParsedArgs {
  if (!Array.isArray(argv)) throw new MlaArgumentError("parseArgs", "argv", "an array of strings", argv);
  const flags: Record<string, string | boolean> = {};
  let command = "";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else if (booleanFlags.includes(a.slice(2)) || i + 1 >= argv.length || argv[i + 1].startsWith("--")) flags[a.slice(2)] = true;
      else flags[a.slice(2)] = argv[++i];
    } else if (command === "") command = a;
    else throw new MlaArgumentError("parseArgs", "argv", "one command and --flags", a);
  }
  return { command, flags };
}

function str(flags: Record<string, string | boolean>, k: string, dflt: string): string {
  const v = flags[k];
  if (v === undefined) return dflt;
  if (typeof v !== "string") throw new MlaArgumentError("sweep cli", `--${k}`, "a value", v);
  return v;
}

function fmtMin(s: number): string {
  return s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;
}

async function main(argv: string[]): Promise<number> {
  const { command, flags } = parseArgs(argv, ["quick", "retry-errors", "no-ceilings", "help"]);
  const root = projectRoot();
  const sweepsDir = str(flags, "sweeps", path.join(root, "data", "sweeps"));
  const quick = flags.quick === true;
  const only = flags.only ? str(flags, "only", "").split(",").filter(Boolean) : undefined;

  if (command === "" || flags.help) {
    process.stdout.write(
      "usage: node dist/src/sweep/cli.js plan --out FILE [--quick] [--sweeps DIR] [--only a,b]\n" +
        "       node dist/src/sweep/cli.js run --out DIR [--plan FILE | --quick --sweeps DIR --only a,b] [--retry-errors] [--no-ceilings]\n" +
        "       node dist/src/sweep/cli.js ingest --run DIR [--plan DIR/plan.json]\n" +
        "       node dist/src/sweep/cli.js estimate [--quick] [--kernel-versions N] [--impls ours,torch]\n" +
        "       node dist/src/sweep/cli.js gpu-count | run-dir [--root data/runs] | recorded-run [--root data/runs]\n",
    );
    return command === "" && !flags.help ? 2 : 0;
  }

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
    const dir = runDirFor(str(flags, "root", path.join("data", "runs")), date, info.name, gitState(projectRoot()).commit);
    process.stdout.write(`${dir}\n`);
    return 0;
  }

  if (command === "recorded-run") {
    const r = recordedRun(str(flags, "root", path.join(root, "data", "runs")));
    process.stderr.write(`${r.why}\n`);
    if (!r.dir) return 2;
    process.stdout.write(`${r.dir}\n`);
    return 0;
  }

  if (command === "plan") {
    const out = str(flags, "out", "");
    if (out === "") throw new MlaArgumentError("sweep cli", "--out", "the plan file to write (e.g. data/runs/<run>/plan.json)", out);
    const plan = buildPlan(loadSweepDirectory(sweepsDir), { quick, only, root });
    writePlan(out, plan);
    process.stderr.write(`wrote ${out}: ${plan.configs.length} configurations of ${plan.sweeps.map((s) => s.name).join(", ")} (${quick ? "quick" : "full"})\n`);
    return 0;
  }

  if (command === "ingest") {
    const dir = str(flags, "run", "");
    if (dir === "") throw new MlaArgumentError("sweep cli", "--run", "a run folder holding raw-<impl>.jsonl from baselines/torch_mla_decode.py", dir);
    const done = ingestRawLogs(dir, readPlan(str(flags, "plan", path.join(dir, "plan.json"))));
    if (done.length === 0) process.stderr.write(`no raw-<impl>.jsonl in ${dir}: nothing to ingest\n`);
    for (const d of done) process.stderr.write(`${d.raw} -> ${d.csv}: ${d.rows} rows (${d.errors} errors)${d.torn ? ", a torn last line left out" : ""}\n`);
    return 0;
  }

  if (command === "estimate") {
    const defs = loadSweepDirectory(sweepsDir);
    const n = Number(str(flags, "kernel-versions", "2"));
    if (!Number.isInteger(n) || n < 1) throw new MlaArgumentError("sweep cli", "--kernel-versions", "an integer >= 1", flags["kernel-versions"]);
    const kernelVersions: KernelVersionInfo[] = Array.from({ length: n }, (_, i) => ({ version: i + 1, name: `v${i + 1}` }));
    const impls = str(flags, "impls", "ours,torch").split(",") as Impl[];
    for (const i of impls) if (!IMPLS.includes(i)) throw new MlaArgumentError("sweep cli", "--impls", `a list of ${IMPLS.join(",")}`, i);
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
    const out = str(flags, "out", "");
    if (out === "") throw new MlaArgumentError("sweep cli", "--out", "a run folder (e.g. data/runs/2026-01-01-nvidia-h100)", out);
    const load = loadGpuBinding();
    if (!load.ok) throw new Error(`cannot measure: ${load.reason}`);
    const gpu = load.binding;
    const count = gpu.deviceCount();
    if (count < 1) throw new Error("cannot measure: the GPU binding sees no CUDA device");
    if (flags.plan !== undefined && (quick || only)) throw new MlaArgumentError("sweep cli", "--quick/--only", "absent with --plan (the plan was expanded with its own)", argv.join(" "));
    const given = flags.plan !== undefined ? readPlan(str(flags, "plan", "")) : buildPlan(loadSweepDirectory(sweepsDir), { quick, only, root });
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
    if (flags["no-ceilings"] !== true) {
      process.stderr.write("measuring ceilings (copy bandwidth, bf16 GEMM)...\n");
      // 2 GiB copy and an 8192^3 GEMM: both far past L2 / launch overheads on H100/H200.
      const c = await measureCeilings(out, {
        copyBandwidth: () => gpu.probeCopyBandwidth(2 ** 31, 20),
        gemmTflops: () => gpu.probeGemmBf16(8192, 8192, 8192, 20),
        copyMethod: "mla_probe_copy_bandwidth: cudaMemcpy D2D of 2 GiB x 20, bytes read + written",
        gemmMethod: "mla_probe_gemm_bf16: cuBLAS bf16 GEMM 8192^3 x 20, fp32 accumulate",
      }, quick ? 2 : 5);
      prov.ceilings = {
        copyGBps: c.copyGBps,
        gemmTflops: c.gemmTflops,
        method: { copy: "mla_probe_copy_bandwidth(2 GiB, 20 iters), median of trials", gemm: "mla_probe_gemm_bf16(8192, 8192, 8192, 20 iters), median of trials" },
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
      const s = await runSweeps({ outDir: out, plan, measure: m.measure, onConfigDone: m.configDone, retryErrors: flags["retry-errors"] === true, progress: stderrProgress(), primingRuns: 2 });
      return s.errors > 0 && s.measured === 0 && s.skipped === 0 ? 1 : 0;
    } finally {
      m.release();
    }
  }

  throw new MlaArgumentError("sweep cli", "command", "one of plan, run, ingest, estimate, gpu-count, run-dir, recorded-run", command);
}

if (require.main === module) runCli(main, { prefix: "error", errorStatus: 1 });
