/**
 * A synthetic run folder for the figure and report tests, written to a temp
 * dir with the real runner: times come from the roofline model times a
 * per-implementation efficiency plus seeded noise. Never copied under data/:
 * these are made-up numbers. With `flashmla`, the side-by-side rows too:
 * raw-sidebyside.jsonl as baselines/torch_mla_decode.py writes it (FlashMLA
 * FLASHMLA_SLOWER times ours's time, FLASHMLA_SLOWER_B1 on one request),
 * turned into results-sidebyside.csv by the real ingest.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { rooflineTimeSeconds } from "../src/roofline/accounting";
import { loadSweepDirectory } from "../src/sweep/definitions";
import { ingestRawLogs } from "../src/sweep/ingest";
import { openRunSidecar, writeSidecar } from "../src/sweep/provenance";
import { buildPlan, ImplRun, planRun, resolvePlan, RunConfig, writePlan } from "../src/sweep/plan";
import { measureCeilings, runSweeps } from "../src/sweep/runner";
import { Rng } from "../src/numeric/rng";

export const FIXTURE_GPU = "NVIDIA H100 80GB HBM3";
const CEIL = { bandwidth: 3.0e12, flops: 660e12 };
/** the fixture's FlashMLA time / ours's (side by side), and on one request (b=1) */
export const FLASHMLA_SLOWER = 1.12;
export const FLASHMLA_SLOWER_B1 = 1.7;
/** what the fixture's side-by-side check records on ours's rows */
export const FIXTURE_DIFF = { outRelDiff: 0.0031, lseRelDiff: 2.5e-7 };
/** the rungs of the fixture's library, and the one its automatic choice runs (v9 on one row tile, else v10) */
const KV = ["simt", "mma_sync", "wgmma", "wgmma_split", "tma_ws", "seesaw", "seesaw64", "ksplit", "lazy", "multicast", "staggered"].map((name, i) => ({ version: i + 1, name }));
const autoRung = (c: { sQ: number; hQ: number; hKv: number }): number => ((c.sQ * c.hQ) / c.hKv <= 64 ? 9 : 10);

function oursSeconds(c: RunConfig, kernelVersion: number | undefined, impl = "ours"): number {
  const eff = impl === "torch" ? 0.12 : kernelVersion !== undefined && kernelVersion >= 1 && kernelVersion < 9 ? 0.04 * kernelVersion : 0.8;
  return rooflineTimeSeconds({ b: c.b, sQ: c.sQ, hQ: c.hQ, hKv: c.hKv, meanSk: c.actualMeanSk }, CEIL) / eff + 4e-6;
}

function fakeTimes(seed: number) {
  const rng = new Rng(seed);
  return async (c: RunConfig, i: ImplRun) => {
    const us = oursSeconds(c, i.kernelVersion, i.impl) * 1e6 * (1 + 0.03 * rng.uniform());
    if (i.kernelVersion !== 0) return { us };
    const rung = autoRung(c);
    return { us, rung, kernelName: KV[rung - 1].name };
  };
}

/** raw-sidebyside.jsonl for every configuration whose sweep lists flashmla, as the Python baseline writes it. */
function writeSideBySide(dir: string, quick: boolean, defs: ReturnType<typeof loadSweepDirectory>): void {
  const plan = buildPlan(defs, { quick });
  writePlan(path.join(dir, "plan.json"), plan);
  const rng = new Rng(3);
  const lines: string[] = [];
  for (const p of resolvePlan(plan, { impls: ["flashmla"], kernelVersions: KV })) {
    const c = p.cfg;
    for (let t = 0; t < p.trials; t++) {
      for (const impl of t % 2 ? ["ours", "flashmla"] : ["flashmla", "ours"]) {
        // device time with a little noise; eager calls add the same 3 us of host overhead to both
        const ours = oursSeconds(c, 0) * 1e6 * (1 + 0.02 * rng.uniform());
        for (const timing of ["events", "graph"]) {
          const us = (impl === "ours" ? ours : ours * (c.b === 1 ? FLASHMLA_SLOWER_B1 : FLASHMLA_SLOWER)) + (timing === "events" ? 3 : 0);
          const rung = autoRung(c);
          lines.push(JSON.stringify({
            sweep: c.sweep, configId: c.configId, impl, kernelVersion: impl === "ours" ? 0 : "", rung: impl === "ours" ? rung : "",
            kernelName: impl === "ours" ? KV[rung - 1].name : "flash_mla 1.0.0", timing, trial: t, us, status: "ok", error: "",
            startedAt: "2026-11-21T12:00:02Z", outRelDiff: impl === "ours" ? FIXTURE_DIFF.outRelDiff : null, lseRelDiff: impl === "ours" ? FIXTURE_DIFF.lseRelDiff : null,
          }));
        }
      }
    }
  }
  fs.writeFileSync(path.join(dir, "raw-sidebyside.jsonl"), lines.join("\n") + "\n");
  ingestRawLogs(dir, plan);
}

export async function makeSyntheticRun(opts: { torch?: boolean; quick?: boolean; flashmla?: boolean } = {}): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "mla-run-"));
  const dir = path.join(root, "2026-11-21-synthetic-h100");
  const defs = loadSweepDirectory(path.join(__dirname, "..", "..", "data", "sweeps"));
  const kv = KV;
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
  const flashmla = opts.flashmla ? { available: true, version: "1.0.0" } : { available: false, reason: "import flash_mla failed: ModuleNotFoundError" };
  if (opts.torch !== false) {
    await runSweeps({ outDir: dir, csvName: "results-torch.csv", timing: "events", plan: planRun(defs, { quick, impls: ["torch"], kernelVersions: kv }), measure: fakeTimes(2), now });
    fs.writeFileSync(path.join(dir, "baselines.json"), JSON.stringify({ torch: { available: true, version: "2.5.1" }, flashmla, ...(opts.flashmla ? { libmla: { available: true, abi: 2 } } : {}) }));
  } else {
    fs.writeFileSync(path.join(dir, "baselines.json"), JSON.stringify({ torch: { available: false, reason: "import torch failed: No module named 'torch'" } }));
  }
  if (opts.flashmla) writeSideBySide(dir, quick, defs);
  return dir;
}
