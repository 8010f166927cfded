/**
 * The project's one seeded PRNG, so every random test case, notebook cell,
 * device buffer and sweep length draws the same numbers on every machine.
 * Not cryptographic; that is not the point.
 *
 * The stream is mulberry32 (Tommy Ettinger; 32-bit state, integer ops only),
 * the generator the sweeps' cache lengths have always been drawn with
 * (src/sweep/seqlens.ts): the recorded runs depend on its exact sequence, so
 * neither the stream nor normalIrwinHall() may change.
 *
 * Two normals: normal() (Box-Muller on 53-bit uniforms, exact in distribution)
 * for data, and normalIrwinHall() (sum of 12 32-bit uniforms - 6: mean 0, sd 1,
 * support +-6 sd) for the sweep lengths, where every step is an integer op or a
 * correctly rounded + and so gives the same bits in any language.
 */
import { checkFinite, checkInt, MlaArgumentError } from "../errors";
import { encodeHalf, HalfDtype } from "./half";

export class Rng {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    checkInt("Rng", "seed", seed, 0, 2 ** 32 - 1);
    this.state = seed >>> 0;
  }

  /** Next 32 random bits (mulberry32). */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1) >>> 0;
    t = (t ^ ((t + (Math.imul(t ^ (t >>> 7), t | 61) >>> 0)) >>> 0)) >>> 0;
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Approximately standard normal, Irwin-Hall with 12 terms of 32 bits each (see the module comment). */
  normalIrwinHall(): number {
    let s = 0;
    for (let i = 0; i < 12; i++) s += this.nextU32() / 4294967296;
    return s - 6;
  }

  /** Integer uniform in [lo, hi). */
  int(lo: number, hi: number): number {
    checkInt("Rng.int", "lo", lo);
    checkInt("Rng.int", "hi", hi, lo + 1);
    return lo + Math.floor(this.uniform() * (hi - lo));
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

/** n normal values of standard deviation `scale`, as float64. */
export function randomNormal(rng: Rng, n: number, scale = 1): Float64Array {
  if (!(rng instanceof Rng)) throw new MlaArgumentError("randomNormal", "rng", "an Rng", rng);
  checkInt("randomNormal", "n", n, 0);
  checkFinite("randomNormal", "scale", scale);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * rng.normal();
  return out;
}

/** n normal values of standard deviation `scale`, rounded to a 16-bit format. */
export function randomHalf(dtype: HalfDtype, n: number, rng: Rng, scale = 1): Uint16Array {
  return encodeHalf(dtype, randomNormal(rng, n, scale));
}
