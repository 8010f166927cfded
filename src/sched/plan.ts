/**
 * The tile scheduler, in TypeScript: the same greedy split the GPU's
 * metadata kernel computes (kernels/src/metadata.cu), so a reader can see a
 * schedule without a GPU and the GPU suite can check the kernel against it.
 *
 * Work is measured in KV pages (64 tokens). Every piece of a request that a
 * partition handles costs a fixed overhead on top of its pages (loading the
 * query tile, writing a partial and combining it later), so splitting is
 * not free: the greedy fill gives each partition about
 *   payload = ceil(total / parts) + overhead
 * and cuts a request only when it does not fit whole.
 */
import { checkInt, MlaArgumentError } from "../errors";
import { blocksFor } from "../paged/cache";

/** Matches MLA_SPLIT_OVERHEAD_BLOCKS in kernels/include/mla.h. */
export const SPLIT_OVERHEAD_BLOCKS = 5;

export interface Piece {
  request: number;
  /** first page (index within the request) */
  beginBlock: number;
  /** one past the last page */
  endBlock: number;
  /** global split slot: numSplits[request] + k for the request's k-th piece */
  split: number;
}

export interface Partition {
  beginReq: number;
  beginBlock: number;
  /** inclusive */
  endReq: number;
  endBlock: number;
  beginSplit: number;
  nonempty: boolean;
  pieces: Piece[];
  /** pages + overhead per piece */
  cost: number;
}

export interface Schedule {
  partitions: Partition[];
  /** [b+1] prefix sums of pieces per request */
  numSplits: number[];
  payload: number;
}

/** Partitions per KV head and query tile: FlashMLA's sm_count / (h_kv * ceil(s_q*h_q/h_kv / 64)). */
export function numSmParts(smCount: number, sQ: number, hQ: number, hKv: number): number {
  checkInt("numSmParts", "smCount", smCount, 1);
  checkInt("numSmParts", "sQ", sQ, 1);
  checkInt("numSmParts", "hQ", hQ, 1);
  checkInt("numSmParts", "hKv", hKv, 1);
  if (hQ % hKv !== 0) throw new MlaArgumentError("numSmParts", "hQ", `divisible by hKv (${hKv})`, hQ);
  return Math.max(1, Math.floor(smCount / (hKv * Math.ceil((sQ * (hQ / hKv)) / 64))));
}

export function planSchedule(seqlens: ArrayLike<number>, parts: number, overhead = SPLIT_OVERHEAD_BLOCKS): Schedule {
  const fn = "planSchedule";
  if (!seqlens || typeof seqlens.length !== "number" || seqlens.length < 1) throw new MlaArgumentError(fn, "seqlens", "a non-empty array of lengths", seqlens);
  checkInt(fn, "parts", parts, 1);
  checkInt(fn, "overhead", overhead, 0);
  const b = seqlens.length;
  const nb: number[] = [];
  for (let i = 0; i < b; i++) nb.push(blocksFor(checkInt(fn, `seqlens[${i}]`, seqlens[i], 0)));
  const total = nb.reduce((a, x) => a + x + overhead, 0);
  const payload = Math.ceil(total / parts) + overhead;
  const numSplits = [0];
  const partitions: Partition[] = [];
  let r = 0;
  let blk = 0;
  let splitLocal = 0;
  let prefix = 0;
  for (let p = 0; p < parts; p++) {
    if (r >= b) {
      partitions.push({ beginReq: b, beginBlock: 0, endReq: b - 1, endBlock: 0, beginSplit: 0, nonempty: false, pieces: [], cost: 0 });
      continue;
    }
    let remain = p === parts - 1 ? Infinity : payload;
    const part: Partition = { beginReq: r, beginBlock: blk, endReq: r, endBlock: blk, beginSplit: prefix + splitLocal, nonempty: true, pieces: [], cost: 0 };
    while (r < b) {
      const need = overhead + (nb[r] - blk);
      if (need <= remain) {
        remain -= need;
        part.pieces.push({ request: r, beginBlock: blk, endBlock: nb[r], split: prefix + splitLocal });
        part.cost += need;
        part.endReq = r;
        part.endBlock = nb[r];
        prefix += splitLocal + 1;
        numSplits[r + 1] = prefix;
        r++;
        blk = 0;
        splitLocal = 0;
      } else {
        const take = remain - overhead;
        if (take > 0) {
          part.pieces.push({ request: r, beginBlock: blk, endBlock: blk + take, split: prefix + splitLocal });
          part.cost += overhead + take;
          blk += take;
          splitLocal++;
          part.endReq = r;
          part.endBlock = blk;
        }
        break;
      }
    }
    partitions.push(part);
  }
  return { partitions, numSplits, payload };
}

/** Max over mean partition cost: 1 is perfect balance. */
export function imbalance(s: Schedule): number {
  const costs = s.partitions.map((p) => p.cost);
  const mean = costs.reduce((a, x) => a + x, 0) / costs.length;
  return mean > 0 ? Math.max(...costs) / mean : 1;
}

/** The flat int32 form the GPU writes ([parts, 8]), for comparing with MlaGpu.plan(). */
export function scheduleToInts(s: Schedule): Int32Array {
  const out = new Int32Array(s.partitions.length * 8);
  s.partitions.forEach((p, i) => out.set([p.beginReq, p.beginBlock, p.endReq, p.endBlock, p.beginSplit, p.nonempty ? 1 : 0, 0, 0], i * 8));
  return out;
}
