/**
 * A synthetic run folder for the figure and report tests, written to a temp
 * dir with the real runner: times come from the roofline model times a
 * per-implementation efficiency plus seeded noise. Never copied under data/:
 * these are made-up numbers.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { rooflineTimeSeconds } from "../src/roofline/accounting";
import { loadSweepDirectory } from "../src/sweep/definitions";
import { openRunSidecar, writeSidecar } from "../src/sweep/provenance";
import { ImplRun, planRun, RunConfig } from "../src/sweep/plan";
import { measureCeilings, runSweeps } from "../src/sweep/runner";
import { Rng } from "../src/numeric/rng";

export const FIXTURE_GPU = "NVIDIA H100 80GB HBM3";
const CEIL = { bandwidth: 3.0e12, flops: 660e12 };

function fakeTimes(seed: number) {
  const rng = new Rng(seed);
  return async (c: RunConfig, i: ImplRun) => {
    const eff = i.impl === "torch" ? 0.12 : i.kernelVersion === 1 ? 0.04 : 0.8;
    const t = rooflineTimeSeconds({ b: c.b, sQ: c.sQ, hQ: c.hQ, hKv: c.hKv, meanSk: c.actualMeanSk }, CEIL) / eff + 4e-6;
    return { us: t * 1e6 * (1 + 0.03 * rng.uniform()) };
  };
}

export async function makeSyntheticRun(opts: { torch?: boolean; quick?: boolean } = {}): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "mla-run-"));
  const dir = path.join(root, "2026-11-21-synthetic-h100");
  const defs = loadSweepDirectory(path.join(__dirname, "..", "..", "data", "sweeps"));
  const kv = [
    { version: 1, name: "simt" },
    { version: 2, name: "mma_sync" },
  ];
  const quick = opts.quick ?? true;
  const prov = await openRunSidecar({
    dir,
    device: () => ({ name: FIXTURE_GPU, smCount: 132, smClockMHz: 1980, memClockMHz: 2619, memoryBytes: 85e9, driver: "12.4", cudaRuntime: "12.4", computeCapability: "9.0" }),
    definitions: defs,
    kernelVersions: kv,
    quick,
    toolchain: { nvcc: "release 12.4, V12.4.131", gitCommit: "0123456789abcdef", gitDirty: false, packageVersion: "0.1.0", nvidiaSmi: { driver_version: "550.54.15", "power.limit": "700.00 W", "clocks.max.sm": "1980 MHz", "clocks.max.memory": "2619 MHz" } },
    command: ["synthetic fixture"],
    now: () => new Date("2026-11-21T12:00:00Z"),
  });
  const c = await measureCeilings(dir, { copyBandwidth: () => CEIL.bandwidth / 1e9, gemmTflops: () => CEIL.flops / 1e12 }, 2);
  prov.ceilings = { copyGBps: c.copyGBps, gemmTflops: c.gemmTflops, method: { copy: "synthetic", gemm: "synthetic" } };
  writeSidecar(dir, prov);
  const now = () => new Date("2026-11-21T12:00:01Z");
  await runSweeps({ outDir: dir, plan: planRun(defs, { quick, impls: ["ours"], kernelVersions: kv }), measure: fakeTimes(1), now });
  if (opts.torch !== false) {
    await runSweeps({ outDir: dir, csvName: "results-torch.csv", plan: planRun(defs, { quick, impls: ["torch"], kernelVersions: kv }), measure: fakeTimes(2), now });
    fs.writeFileSync(path.join(dir, "baselines.json"), JSON.stringify({ torch: { available: true, version: "2.5.1" }, flashmla: { available: false, reason: "import flash_mla failed: ModuleNotFoundError" } }));
  } else {
    fs.writeFileSync(path.join(dir, "baselines.json"), JSON.stringify({ torch: { available: false, reason: "import torch failed: No module named 'torch'" } }));
  }
  return dir;
}
