/**
 * The lab's reductions that turn GPU output into committed evidence
 * (data/gpu-runs/per-piece/), run here on synthetic input: ncu_table.py names
 * each profiled kernel by the launch order ncu_grid.py wrote and refuses an
 * order that does not fit; kernel_times.py's per-call medians;
 * flashmla_splits.py's model of FlashMLA's planning rule; the grid selection
 * shared by the lab's scripts rejects a name not in the grid.
 * Needs python3 (no torch, no GPU).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const LAB = path.join(ROOT, "kernels", "lab");
const PY = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

const HEADER = `"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit","Metric Value"`;
function row(id: number, kernel: string, metric: string, unit: string, value: string): string {
  return [String(id), "1", "python3", "h", kernel, "1", "7", "(256, 1, 1)", "(132, 1, 1)", "0", "9.0", "Command line profiler metrics", metric, unit, value]
    .map((x) => `"${x}"`)
    .join(",");
}

describe("the lab's reductions (kernels/lab)", function () {
  let dir: string;
  before(function () {
    if (spawnSync(PY, ["-B", "-c", "import csv, json, statistics"]).status !== 0) {
      console.warn(`    pending: no ${PY}`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-tools-"));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  function ncuTable(csvLines: string[], order: [string, string][]) {
    fs.writeFileSync(path.join(dir, "t.csv"), ["==PROF== Connected to process 1", HEADER, ...csvLines].join("\n") + "\n");
    fs.writeFileSync(path.join(dir, "o.json"), JSON.stringify(order) + "\n");
    return spawnSync(PY, ["-B", path.join(LAB, "ncu_table.py"), path.join(dir, "t.csv"), "--order", path.join(dir, "o.json")], { encoding: "utf8" });
  }
  const FM = "void flash::flash_fwd_splitkv_mla_kernel<cutlass::bfloat16_t>(Params)";
  const OURS = "void mla::decode_ksplit_kernel<__nv_bfloat16, 1, 1, 1>(CUtensorMap_st, mla::DecodeArgs, int)";

  it("ncu_table.py: one line per configuration and kernel, units converted, FlashMLA's duration over ours, the last of several calls", () => {
    const lines = [
      row(0, FM, "gpu__time_duration.sum", "usecond", "406.59"),
      row(0, FM, "dram__bytes_read.sum", "Gbyte", "1.21"),
      row(1, OURS, "gpu__time_duration.sum", "msecond", "0.5"), // a first call, superseded by the next
      row(2, OURS, "gpu__time_duration.sum", "msecond", "0.39968"),
      row(2, OURS, "smsp__inst_executed.sum", "inst", "12,345,678"),
    ];
    const r = ncuTable(lines, [["mem-hq64", "flashmla"], ["mem-hq64", "v0"], ["mem-hq64", "v0"]]);
    assert.strictEqual(r.status, 0, r.stderr);
    const out = r.stdout.split("\n").filter((l) => /mem-hq64/.test(l));
    assert.strictEqual(out.length, 2, r.stdout);
    assert.match(out[0], /flashmla\s+406\.6\s+nan\s+1\.210/);
    assert.match(out[1], /v0\s+399\.7\s.*12\.35\s+nan\s+1\.017$/);
  });

  it("ncu_table.py refuses an order that names the wrong kernel or another count", () => {
    const lines = [row(0, FM, "gpu__time_duration.sum", "usecond", "406.59"), row(1, OURS, "gpu__time_duration.sum", "usecond", "399.68")];
    const swapped = ncuTable(lines, [["mem-hq64", "v0"], ["mem-hq64", "flashmla"]]);
    assert.strictEqual(swapped.status, 1);
    assert.match(swapped.stderr, /kernel 0 is void flash::flash_fwd_splitkv_mla_kernel.*but the order says mem-hq64 v0/);
    const short = ncuTable(lines, [["mem-hq64", "flashmla"]]);
    assert.strictEqual(short.status, 1);
    assert.match(short.stderr, /2 profiled kernels, but .* lists 1 launches/);
    const unit = ncuTable([row(0, FM, "gpu__time_duration.sum", "fortnight", "1")], [["mem-hq64", "flashmla"]]);
    assert.strictEqual(unit.status, 0);
    assert.match(unit.stderr, /unit 'fortnight' not understood/);
  });

  it("kernel_times.py: a call starts at its decode kernel; the tail leaves --separate's kernel out; medians over calls", () => {
    const code = [
      "import sys; sys.path.insert(0, sys.argv[1])",
      "import kernel_times as kt",
      "recs = [('decode','d',0,10),('combine','c',5,12),('other','f',12.5,13),('decode','d',13,23),('combine','c',18,26),('other','f',26,27)]",
      "med, calls = kt.per_call(recs)",
      "print(calls, med['decode'], med['combine'], med['tail'], med['period'], med['other'])",
      "print(kt.kind('flash_fwd_splitkv_mla_kernel'), kt.kind('mla::combine_kernel<bf16>'), kt.kind('vectorized_elementwise_kernel'))",
    ].join("\n");
    const r = spawnSync(PY, ["-B", "-c", code, LAB], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(r.stdout.trim().split("\n"), ["2 10.0 7.5 2.5 13 0.75", "decode combine other"]);
  });

  it("flashmla_splits.py: FlashMLA's planning rule splits a request only where the equal payload falls inside it", () => {
    const code = [
      "import sys; sys.path.insert(0, sys.argv[1])",
      "import flashmla_splits as fs",
      "print(fs.flashmla_partition([640] * 4, 1, 64, sms=4))", // 10 pages + 5 each, payload 20: one request a part
      "print(fs.flashmla_partition([1920, 128], 1, 64, sms=4))", // 30 + 2 pages, payload 16: the first in three pieces
      "print(fs.flashmla_partition([640] * 4, 2, 64, sms=4))", // two 64-row tiles: two parts, two requests each
    ].join("\n");
    const r = spawnSync(PY, ["-B", "-c", code, LAB], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(r.stdout.trim().split("\n"), ["(4, 4, 0)", "(4, 4, 1)", "(2, 2, 0)"]);
    const bad = spawnSync(PY, ["-B", path.join(LAB, "flashmla_splits.py"), "--kernel-times", path.join(dir, "k.jsonl")], { encoding: "utf8" });
    assert.strictEqual(bad.status, 2);
    assert.match(bad.stderr, /--kernel-times and --ncu-table go together/);
  });

  it("the lab's scripts reject a configuration that is not in the grid, naming it", () => {
    for (const [script, extra] of [["kernel_times.py", []], ["ncu_grid.py", ["--order", path.join(dir, "x.json")]]] as [string, string[]][]) {
      const r = spawnSync(PY, ["-B", path.join(LAB, script), "--only", "short-1024,short-999", ...extra], { encoding: "utf8" });
      assert.strictEqual(r.status, 2, `${script}: ${r.stderr}`);
      assert.match(r.stderr, /--only: not in the grid: short-999 \(sidebyside\.py --list\)/);
      assert.doesNotMatch(r.stderr, /Traceback/);
    }
  });
});
