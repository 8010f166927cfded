/**
 * The run sidecar (run.json): where every number of a run came from. Device
 * facts come from an injected provider (the GPU binding on a GPU machine, a
 * fake in tests); toolchain facts (git, nvcc, package version) are read here
 * and are allowed to be missing ("unknown"), never fatal.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MlaArgumentError } from "../errors";
import type { SweepDefinition } from "./definitions";

export interface DeviceFacts {
  name: string;
  smCount: number;
  smClockMHz: number;
  memClockMHz: number;
  memBusWidthBits?: number;
  memoryBytes: number;
  l2Bytes?: number;
  computeCapability?: string;
  driver: string;
  cudaRuntime: string;
}

export type DeviceProvider = () => DeviceFacts | Promise<DeviceFacts>;

export interface CeilingSummary {
  /** median GB/s of the device-to-device copy probe (read + write bytes) */
  copyGBps?: number;
  /** median TFLOP/s of the bf16 GEMM probe */
  gemmTflops?: number;
  method: { copy?: string; gemm?: string };
  errors?: string[];
}

export interface RunSession {
  date: string;
  command: string[];
  quick: boolean;
  host: string;
  node: string;
  gitCommit: string;
  gitDirty: boolean | "unknown";
}

export interface RunProvenance {
  schema: "mla-run/1";
  runId: string;
  /** date of the first session (ISO 8601) */
  date: string;
  device: DeviceFacts;
  nvcc: string;
  /** nvidia-smi --query-gpu of GPU 0 at the first session (driver release, power limit, clocks) */
  nvidiaSmi?: Record<string, string>;
  packageVersion: string;
  gitCommit: string;
  gitDirty: boolean | "unknown";
  command: string[];
  quick: boolean;
  sweeps: { name: string; file: string; sha256: string }[];
  kernelVersions: { version: number; name: string }[];
  ceilings?: CeilingSummary;
  /** every invocation that wrote into this run folder (resumes append) */
  sessions: RunSession[];
}

function tryExec(cmd: string, args: string[], cwd?: string): string | undefined {
  try {
    return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10000 }).trim();
  } catch {
    return undefined;
  }
}

/** "Cuda compilation tools, release 12.4, V12.4.131" -> that line; "not found" without nvcc. */
export function nvccVersion(): string {
  const out = tryExec("nvcc", ["--version"]);
  if (out === undefined) return "not found";
  const line = out.split("\n").find((l) => /release/i.test(l));
  return (line ?? out.split("\n").pop() ?? "").trim();
}

/**
 * nvidia-smi's view of GPU 0: the driver release (e.g. "550.54.15"; CUDA's
 * driver version number is only the API level), power limit and max clocks,
 * which explain run-to-run differences between machines of the same model.
 */
export function nvidiaSmiFacts(): Record<string, string> | undefined {
  const fields = ["name", "driver_version", "memory.total", "clocks.max.sm", "clocks.max.memory", "power.limit", "pci.bus_id"];
  const out = tryExec("nvidia-smi", [`--query-gpu=${fields.join(",")}`, "--format=csv,noheader", "-i", "0"]);
  if (out === undefined || out === "") return undefined;
  const vals = out.split("\n")[0].split(",").map((v) => v.trim());
  const o: Record<string, string> = {};
  fields.forEach((f, i) => (o[f] = vals[i] ?? ""));
  return o;
}

export function gitState(repoDir: string): { commit: string; dirty: boolean | "unknown" } {
  if (typeof repoDir !== "string") throw new MlaArgumentError("gitState", "repoDir", "a path", repoDir);
  // On a GPU machine the tree is a copy: scripts/gpu-pack.sh records the commit it
  // packed and scripts/gpu-reproduce.sh passes it on as MLA_COMMIT ("<sha>" or
  // "<sha>-dirty"). It wins over git there: the copy's .git, when it has one, can
  // name an older commit (it did on the H100 run of 2026-11-21, see that run's README).
  const carried = /^([0-9a-f]{40})(-dirty)?$/.exec(process.env.MLA_COMMIT ?? "");
  if (carried) return { commit: carried[1], dirty: carried[2] !== undefined };
  // A copy of the tree without history answers "HEAD" or nothing: only a full hash counts.
  const out = tryExec("git", ["rev-parse", "HEAD"], repoDir);
  if (out !== undefined && /^[0-9a-f]{40}$/.test(out)) {
    const status = tryExec("git", ["status", "--porcelain", "--untracked-files=no"], repoDir);
    return { commit: out, dirty: status === undefined ? "unknown" : status.length > 0 };
  }
  return { commit: "unknown", dirty: "unknown" };
}

/**
 * The folder a new measurement goes to: <root>/<UTC date>-<gpu slug>, or, when
 * that folder holds a run of another commit, the same name with "-<commit, 7
 * hex>" (a resume of the same commit keeps the plain name). Resuming across
 * commits mixed two code versions in one folder on 2026-11-21.
 */
export function runDirFor(root: string, date: string, gpuName: string, commit: string): string {
  if (typeof root !== "string") throw new MlaArgumentError("runDirFor", "root", "a folder path", root);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new MlaArgumentError("runDirFor", "date", "a YYYY-MM-DD date", date);
  const base = path.join(root, `${date}-${slug(gpuName)}`);
  const prev = readSidecar(base);
  if (!prev || prev.gitCommit === commit) return base;
  return `${base}-${commit === "unknown" ? "unknown-commit" : commit.slice(0, 7)}`;
}

/** The project root: the nearest folder above this file with a package.json. */
export function projectRoot(): string {
  let d = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(d, "package.json"))) return d;
    d = path.dirname(d);
  }
  return process.cwd();
}

export function packageVersion(root = projectRoot()): string {
  try {
    return String(JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version ?? "unknown");
  } catch {
    return "unknown";
  }
}

/** "NVIDIA H100 80GB HBM3" -> "nvidia-h100-80gb-hbm3" (run folder names). */
export function slug(s: string): string {
  if (typeof s !== "string") throw new MlaArgumentError("slug", "s", "a string", s);
  const out = s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return out === "" ? "unknown" : out.slice(0, 60);
}

export function checkDeviceFacts(fn: string, d: unknown): DeviceFacts {
  if (typeof d !== "object" || d === null) throw new MlaArgumentError(fn, "device", "an object of DeviceFacts", d);
  const f = d as DeviceFacts;
  if (typeof f.name !== "string" || f.name === "") throw new MlaArgumentError(fn, "device.name", "a non-empty string", f.name);
  for (const k of ["smCount", "smClockMHz", "memClockMHz", "memoryBytes"] as const) {
    if (typeof f[k] !== "number" || !Number.isFinite(f[k]) || f[k] < 0) throw new MlaArgumentError(fn, `device.${k}`, "a finite number >= 0", f[k]);
  }
  if (typeof f.driver !== "string") throw new MlaArgumentError(fn, "device.driver", "a string", f.driver);
  if (typeof f.cudaRuntime !== "string") throw new MlaArgumentError(fn, "device.cudaRuntime", "a string", f.cudaRuntime);
  return f;
}

export const SIDECAR = "run.json";

export function readSidecar(dir: string): RunProvenance | undefined {
  if (typeof dir !== "string" || dir === "") throw new MlaArgumentError("readSidecar", "dir", "a folder path", dir);
  const p = path.join(dir, SIDECAR);
  if (!fs.existsSync(p)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(p, "utf8")) as RunProvenance;
  } catch (e) {
    throw new MlaArgumentError("readSidecar", "dir", `a folder whose ${SIDECAR} is valid JSON`, `${p}: ${(e as Error).message}`);
  }
}

export function writeSidecar(dir: string, p: RunProvenance): void {
  if (typeof dir !== "string" || dir === "") throw new MlaArgumentError("writeSidecar", "dir", "a folder path", dir);
  if (typeof p !== "object" || p === null || p.schema !== "mla-run/1") throw new MlaArgumentError("writeSidecar", "p", "a RunProvenance (schema mla-run/1)", p);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, SIDECAR);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, "w");
  fs.writeSync(fd, JSON.stringify(p, null, 2) + "\n");
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

export interface SessionOptions {
  dir: string;
  device: DeviceProvider;
  /** the sweep files measured (a definition, or a plan's entry with the file made absolute) */
  definitions: Pick<SweepDefinition, "name" | "file" | "sha256">[];
  kernelVersions: { version: number; name: string }[];
  quick: boolean;
  command?: string[];
  now?: () => Date;
  /** facts of the toolchain; injectable for tests */
  toolchain?: { nvcc: string; gitCommit: string; gitDirty: boolean | "unknown"; packageVersion: string; nvidiaSmi?: Record<string, string> };
}

/**
 * Creates run.json, or on a resume checks that this is the same GPU (mixing
 * devices in one run folder would make every aggregate meaningless) and appends a session.
 */
export async function openRunSidecar(o: SessionOptions): Promise<RunProvenance> {
  const fn = "openRunSidecar";
  if (typeof o !== "object" || o === null) throw new MlaArgumentError(fn, "o", "an object", o);
  if (typeof o.dir !== "string" || o.dir === "") throw new MlaArgumentError(fn, "o.dir", "a folder path", o.dir);
  if (typeof o.device !== "function") throw new MlaArgumentError(fn, "o.device", "a function returning DeviceFacts", o.device);
  if (!Array.isArray(o.definitions)) throw new MlaArgumentError(fn, "o.definitions", "an array of SweepDefinition", o.definitions);
  const device = checkDeviceFacts(fn, await o.device());
  const now = (o.now ?? (() => new Date()))();
  const root = projectRoot();
  const tc = o.toolchain ?? (() => {
    const g = gitState(root);
    return { nvcc: nvccVersion(), gitCommit: g.commit, gitDirty: g.dirty, packageVersion: packageVersion(root), nvidiaSmi: nvidiaSmiFacts() };
  })();
  const command = o.command ?? process.argv.slice(1);
  const session: RunSession = { date: now.toISOString(), command, quick: o.quick, host: os.hostname(), node: process.version, gitCommit: tc.gitCommit, gitDirty: tc.gitDirty };
  const sweeps = o.definitions.map((d) => ({ name: d.name, file: path.relative(root, path.resolve(d.file)), sha256: d.sha256 }));
  const prev = readSidecar(o.dir);
  let p: RunProvenance;
  if (prev) {
    if (prev.device?.name !== device.name) {
      throw new MlaArgumentError(fn, "o.dir", `a run folder of the same GPU (${prev.device?.name}) or a new folder`, `${o.dir} on ${device.name}`);
    }
    // One run, one code version: resuming a folder that another commit measured would
    // mix its results with ours under one provenance (it happened once: see runDirFor).
    if (prev.gitCommit !== tc.gitCommit) {
      throw new MlaArgumentError(fn, "o.dir", `a run folder measured by this commit (it was measured by ${prev.gitCommit}) or a new folder`, `${o.dir} at ${tc.gitCommit}`);
    }
    p = prev;
    p.sessions = [...(prev.sessions ?? []), session];
    const known = new Set(p.sweeps.map((s) => `${s.name}@${s.sha256}`));
    for (const s of sweeps) if (!known.has(`${s.name}@${s.sha256}`)) p.sweeps.push(s);
    const kv = new Set(p.kernelVersions.map((k) => k.version));
    for (const k of o.kernelVersions) if (!kv.has(k.version)) p.kernelVersions.push(k);
  } else {
    p = {
      schema: "mla-run/1",
      runId: path.basename(path.resolve(o.dir)),
      date: now.toISOString(),
      device,
      nvcc: tc.nvcc,
      nvidiaSmi: tc.nvidiaSmi,
      packageVersion: tc.packageVersion,
      gitCommit: tc.gitCommit,
      gitDirty: tc.gitDirty,
      command,
      quick: o.quick,
      sweeps,
      kernelVersions: [...o.kernelVersions],
      sessions: [session],
    };
  }
  writeSidecar(o.dir, p);
  return p;
}
