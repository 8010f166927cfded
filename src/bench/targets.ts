/**
 * The kernel-performance targets as data, and their verdicts on a measured
 * run. `npm run bench` measures the "targets" sweep (data/sweeps/g-targets.json)
 * on this machine's GPU and prints this table; without a GPU it prints the
 * table of the recorded run and says so.
 *
 * The targets were set for an H100 SXM (FlashMLA's figures on that part);
 * on another GPU the verdicts are printed with the GPU's name beside them.
 */
import { isAuto, isSideBySide } from "../analysis/run";
import { AggRow, LoadedRun } from "../sweep/aggregate";

export interface Target {
  name: string;
  /** which aggregated rows the target is judged on */
  matches: (r: AggRow) => boolean;
  metric: "gbps" | "tflops" | "us";
  /** at least (gbps, tflops) or at most (us) */
  bound: number;
}

const ours = (r: AggRow) => r.impl === "ours" && r.sweep === "targets" && !isSideBySide(r);

/** "v9 lazy", or for the automatic choice the rung it ran: "auto: v9 lazy". */
export function kernelText(r: Pick<AggRow, "impl" | "kernelVersion" | "rung" | "kernelName">): string {
  if (isAuto(r)) return r.rung ? `auto: v${r.rung} ${r.kernelName}` : "auto";
  return `v${r.kernelVersion} ${r.kernelName}`;
}

export const TARGETS: Target[] = [
  ...[16, 32, 64].map((h) => ({
    name: `memory-bound b=128 s_q=1 s_k=8192 h_q=${h}: >= 2900 GB/s`,
    matches: (r: AggRow) => ours(r) && r.b === 128 && r.sQ === 1 && r.hQ === h && r.meanSk === 8192,
    metric: "gbps" as const,
    bound: 2900,
  })),
  ...[8192, 16384, 32768].map((sk) => ({
    name: `compute-bound b=128 s_q=1 h_q=128 mean s_k=${sk} (varlen): >= 550 TFLOPS`,
    matches: (r: AggRow) => ours(r) && r.b === 128 && r.sQ === 1 && r.hQ === 128 && r.meanSk === sk && r.skDist === "normal",
    metric: "tflops" as const,
    bound: 550,
  })),
  ...[4096, 8192, 16384, 32768].map((sk) => ({
    name: `compute-bound b=128 s_q=2 causal h_q=128 mean s_k=${sk} (varlen): >= 620 TFLOPS`,
    matches: (r: AggRow) => ours(r) && r.b === 128 && r.sQ === 2 && r.hQ === 128 && r.meanSk === sk && r.skDist === "normal",
    metric: "tflops" as const,
    bound: 620,
  })),
  {
    name: "small batch b=1 s_q=1 h_q=128 s_k=32768: <= 60 us per step",
    matches: (r: AggRow) => ours(r) && r.b === 1 && r.hQ === 128 && r.meanSk === 32768,
    metric: "us",
    bound: 60,
  },
];

export interface Verdict {
  target: string;
  best: AggRow | undefined;
  value: number | undefined;
  met: boolean;
}

function value(r: AggRow, m: Target["metric"]): number {
  return m === "gbps" ? r.gbpsMedian : m === "tflops" ? r.tflopsMedian : r.usMedian;
}

/** The best kernel version per target (highest rate, lowest time) and whether it meets the bound. */
export function verdicts(run: LoadedRun): Verdict[] {
  return TARGETS.map((t) => {
    const rows = run.agg.filter((r) => t.matches(r) && r.n > r.nError);
    const better = (a: number, b: number) => (t.metric === "us" ? a < b : a > b);
    let best: AggRow | undefined;
    for (const r of rows) if (!best || better(value(r, t.metric), value(best, t.metric))) best = r;
    const v = best ? value(best, t.metric) : undefined;
    const met = v !== undefined && (t.metric === "us" ? v <= t.bound : v >= t.bound);
    return { target: t.name, best, value: v, met };
  });
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : " ".repeat(n - s.length) + s);

/** The table the issue asks for: config, version, us, GB/s, TFLOPS, % of the measured ceilings. */
export function targetsTable(run: LoadedRun): string {
  const copy = run.measured.copyGBps;
  const gemm = run.measured.gemmTflops;
  const lines: string[] = [];
  const dev = run.provenance?.device?.name ?? "unknown GPU";
  lines.push(`run ${run.runId} on ${dev}; measured ceilings: copy ${copy?.toFixed(0) ?? "?"} GB/s, bf16 GEMM ${gemm?.toFixed(0) ?? "?"} TFLOPS`);
  lines.push(`${pad("config", 44)} ${pad("version", 22)} ${lpad("us", 10)} ${lpad("GB/s", 7)} ${lpad("TFLOPS", 7)} ${lpad("%copy", 6)} ${lpad("%gemm", 6)}`);
  const rows = run.agg.filter(ours).sort((a, b) => a.configId.localeCompare(b.configId) || Number(a.kernelVersion) - Number(b.kernelVersion));
  for (const r of rows) {
    const cfg = `b=${r.b} s_q=${r.sQ} h_q=${r.hQ} s_k=${r.meanSk}${r.skDist === "normal" ? " var" : ""}${r.causal ? " causal" : ""}`;
    if (r.n === r.nError) {
      lines.push(`${pad(cfg, 44)} ${pad(r.label, 22)} error: ${r.error}`);
      continue;
    }
    const pc = (x: number, c?: number) => (c ? ((100 * x) / c).toFixed(0) : "?");
    lines.push(
      `${pad(cfg, 44)} ${pad(kernelText(r), 22)} ${lpad(r.usMedian.toFixed(1), 10)} ${lpad(r.gbpsMedian.toFixed(0), 7)} ${lpad(r.tflopsMedian.toFixed(1), 7)} ${lpad(pc(r.gbpsMedian, copy), 6)} ${lpad(pc(r.tflopsMedian, gemm), 6)}`,
    );
  }
  lines.push("");
  lines.push(`targets (set for an H100 SXM; this run: ${dev}):`);
  for (const v of verdicts(run)) {
    const got = v.best ? `${v.value!.toFixed(v.best && v.value! < 100 ? 1 : 0)} (${kernelText(v.best)})` : "not measured";
    lines.push(`  ${v.met ? "MET    " : "NOT MET"} ${pad(v.target, 78)} ${got}`);
  }
  return lines.join("\n");
}
