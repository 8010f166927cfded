/**
 * `npm run bench:reference`: how fast the pure-TS float64 reference decodes,
 * in GFLOP/s counted with FlashMLA's formula. A benchmark, not a test: it
 * tells a reader how large a problem the CPU oracle can check in reasonable time.
 */
import { decodeFlops } from "../roofline/accounting";
import { randomDecodeProblem } from "../mla/random-problem";
import { referenceDecode } from "../mla/decode";
import { parseCli, runCli } from "../cli-entry";

interface Shape {
  b: number;
  sQ: number;
  hQ: number;
  sK: number;
}

const shapes: Shape[] = [
  { b: 4, sQ: 1, hQ: 16, sK: 4096 },
  { b: 1, sQ: 2, hQ: 64, sK: 2048 },
  { b: 2, sQ: 1, hQ: 128, sK: 1024 },
];

function main(argv: string[]): number {
  parseCli(argv, { usage: "usage: node dist/src/bench/reference.js   (no flags: times the float64 reference on three shapes)", flags: {} });
  console.log("shape                         ms     GFLOP/s");
  for (const s of shapes) {
    const p = randomDecodeProblem({ dtype: "bf16", sQ: s.sQ, hQ: s.hQ, hKv: 1, seqlens: Array(s.b).fill(s.sK), causal: s.sQ > 1, seed: 1 });
    referenceDecode(p); // warm-up: JIT and the 16-bit lookup table
    const times: number[] = [];
    for (let t = 0; t < 3; t++) {
      const t0 = process.hrtime.bigint();
      referenceDecode(p);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const ms = times[1];
    const gflops = decodeFlops({ b: s.b, sQ: s.sQ, hQ: s.hQ, hKv: 1, meanSk: s.sK }) / (ms * 1e6);
    const name = `b=${s.b} s_q=${s.sQ} h_q=${s.hQ} s_k=${s.sK}`;
    console.log(`${name.padEnd(28)} ${ms.toFixed(1).padStart(7)} ${gflops.toFixed(2).padStart(9)}`);
  }
  return 0;
}

if (require.main === module) runCli(main, { prefix: "bench:reference", errorStatus: 1 });
