/**
 * Paged KV cache in FlashMLA's layout.
 *
 *   kvcache       [num_blocks, 64, h_kv, head_dim]   16-bit, a shared pool of pages
 *   block_table   [b, max_blocks_per_seq] int32      page indices of each request, in order
 *   cache_seqlens [b] int32                          tokens per request
 *
 * Token t of request i is row (block_table[i, t / 64], t % 64). Requests of
 * different lengths share one pool, and pages need not be contiguous or in
 * order: that is the point of paging (no copy when a sequence grows).
 */
import { checkArray, checkInt, MlaArgumentError } from "../errors";
import { checkDtype, encodeHalf, HalfDtype } from "../numeric/half";
import { Rng } from "../numeric/rng";
import { halfToF64Table } from "./decode-table";

export const BLOCK_SIZE = 64;

export interface PagedKvCache {
  dtype: HalfDtype;
  batch: number;
  hKv: number;
  headDim: number;
  blockSize: number;
  numBlocks: number;
  maxBlocksPerSeq: number;
  /** [numBlocks, blockSize, hKv, headDim] bit patterns */
  kvcache: Uint16Array;
  /** [batch, maxBlocksPerSeq] */
  blockTable: Int32Array;
  /** [batch] */
  cacheSeqlens: Int32Array;
}

export function blocksFor(seqlen: number, blockSize = BLOCK_SIZE): number {
  return Math.ceil(seqlen / blockSize);
}

/**
 * Checks every invariant a consumer (the reference or a GPU kernel) relies on:
 * buffer lengths, non-negative lengths that fit the pages given, and page
 * indices in range for every block a request uses. Entries past a request's
 * last page are never read, so they may hold anything.
 */
export function validatePagedKvCache(fn: string, cache: unknown): PagedKvCache {
  if (typeof cache !== "object" || cache === null) throw new MlaArgumentError(fn, "cache", "a PagedKvCache", cache);
  const c = cache as PagedKvCache;
  checkDtype(fn, "cache.dtype", c.dtype);
  checkInt(fn, "cache.batch", c.batch, 1);
  checkInt(fn, "cache.hKv", c.hKv, 1);
  checkInt(fn, "cache.headDim", c.headDim, 1);
  checkInt(fn, "cache.blockSize", c.blockSize, 1);
  checkInt(fn, "cache.numBlocks", c.numBlocks, 1);
  checkInt(fn, "cache.maxBlocksPerSeq", c.maxBlocksPerSeq, 1);
  checkArray(fn, "cache.kvcache", c.kvcache, Uint16Array, c.numBlocks * c.blockSize * c.hKv * c.headDim);
  checkArray(fn, "cache.blockTable", c.blockTable, Int32Array, c.batch * c.maxBlocksPerSeq);
  checkArray(fn, "cache.cacheSeqlens", c.cacheSeqlens, Int32Array, c.batch);
  for (let i = 0; i < c.batch; i++) {
    const len = c.cacheSeqlens[i];
    if (len < 0) throw new MlaArgumentError(fn, `cache.cacheSeqlens[${i}]`, "a length >= 0", len);
    const need = blocksFor(len, c.blockSize);
    if (need > c.maxBlocksPerSeq) {
      throw new MlaArgumentError(
        fn,
        `cache.cacheSeqlens[${i}]`,
        `at most maxBlocksPerSeq*blockSize = ${c.maxBlocksPerSeq * c.blockSize} (the pages given)`,
        len,
      );
    }
    for (let k = 0; k < need; k++) {
      const blk = c.blockTable[i * c.maxBlocksPerSeq + k];
      if (blk < 0 || blk >= c.numBlocks) {
        throw new MlaArgumentError(fn, `cache.blockTable[${i}, ${k}]`, `a block index in [0, ${c.numBlocks})`, blk);
      }
    }
  }
  return c;
}

export interface BuildPagedOptions {
  dtype: HalfDtype;
  hKv: number;
  /** default 576 */
  headDim?: number;
  /** per request: [len, hKv, headDim] values (rounded to dtype on the way in) or bit patterns */
  requests: (Float64Array | Float32Array | Uint16Array)[];
  /** shuffles the page order in the pool (default: in order, no shuffle) */
  rng?: Rng;
  /** what unused rows and pages hold: "nan" makes any stray read visible (default "zero") */
  fill?: "nan" | "zero";
  /** spare pages at the end of the pool, never referenced (default 0) */
  extraBlocks?: number;
  /** table width; default the longest request's page count (at least 1) */
  maxBlocksPerSeq?: number;
}

/** NaN in both 16-bit formats (all exponent bits set, non-zero mantissa). */
export const HALF_NAN_BITS = 0x7fff;

/**
 * Builds a pool from per-request token arrays. Unused block-table entries
 * point at a spare page when `fill` is "nan" (a valid index holding NaNs, so
 * a kernel that reads past a request's pages gets NaN, not a crash).
 */
export function buildPagedKvCache(opts: BuildPagedOptions): PagedKvCache {
  const fn = "buildPagedKvCache";
  if (typeof opts !== "object" || opts === null) throw new MlaArgumentError(fn, "opts", "an options object", opts);
  const dtype = checkDtype(fn, "dtype", opts.dtype);
  const hKv = checkInt(fn, "hKv", opts.hKv, 1);
  const headDim = checkInt(fn, "headDim", opts.headDim ?? 576, 1);
  if (!Array.isArray(opts.requests) || opts.requests.length < 1) {
    throw new MlaArgumentError(fn, "requests", "a non-empty array of per-request token arrays", opts.requests);
  }
  const fill = opts.fill ?? "zero";
  if (fill !== "nan" && fill !== "zero") throw new MlaArgumentError(fn, "fill", '"nan" or "zero"', fill);
  const extra = checkInt(fn, "extraBlocks", opts.extraBlocks ?? 0, 0);
  const rowWidth = hKv * headDim;
  const lens = opts.requests.map((r, i) => {
    const ok = r instanceof Float64Array || r instanceof Float32Array || r instanceof Uint16Array;
    if (!ok || r.length % rowWidth !== 0) {
      throw new MlaArgumentError(fn, `requests[${i}]`, `a Float64Array, Float32Array or Uint16Array whose length is a multiple of hKv*headDim = ${rowWidth}`, r);
    }
    return r.length / rowWidth;
  });
  const pages = lens.map((l) => blocksFor(l));
  const usedPages = pages.reduce((a, b) => a + b, 0);
  const maxBlocksPerSeq = checkInt(fn, "maxBlocksPerSeq", opts.maxBlocksPerSeq ?? Math.max(1, ...pages), 1);
  pages.forEach((p, i) => {
    if (p > maxBlocksPerSeq) throw new MlaArgumentError(fn, `requests[${i}]`, `at most maxBlocksPerSeq*64 = ${maxBlocksPerSeq * 64} tokens`, `${lens[i]} tokens`);
  });
  const spare = fill === "nan" ? 1 : 0;
  const numBlocks = usedPages + spare + extra;
  const order = Array.from({ length: usedPages + spare }, (_, k) => k);
  if (opts.rng) opts.rng.shuffle(order);
  const kvcache = new Uint16Array(numBlocks * BLOCK_SIZE * rowWidth);
  if (fill === "nan") kvcache.fill(HALF_NAN_BITS);
  const blockTable = new Int32Array(lens.length * maxBlocksPerSeq);
  const sparePage = spare ? order[usedPages] : 0;
  blockTable.fill(sparePage);
  let next = 0;
  lens.forEach((len, i) => {
    const src = opts.requests[i];
    const bits = src instanceof Uint16Array ? src : encodeHalf(dtype, src);
    for (let k = 0; k < pages[i]; k++) {
      const page = order[next++];
      blockTable[i * maxBlocksPerSeq + k] = page;
      const t0 = k * BLOCK_SIZE;
      const t1 = Math.min(len, t0 + BLOCK_SIZE);
      kvcache.set(bits.subarray(t0 * rowWidth, t1 * rowWidth), page * BLOCK_SIZE * rowWidth);
    }
  });
  return {
    dtype,
    batch: lens.length,
    hKv,
    headDim,
    blockSize: BLOCK_SIZE,
    numBlocks,
    maxBlocksPerSeq,
    kvcache,
    blockTable,
    cacheSeqlens: Int32Array.from(lens),
  };
}

/**
 * Request i's tokens as float64, [len, hKv, headDim], in token order: what
 * the block table says, read page by page. The reference decoder attends
 * over exactly this.
 */
export function gatherKv(cache: PagedKvCache, request: number): Float64Array {
  const fn = "gatherKv";
  validatePagedKvCache(fn, cache);
  checkInt(fn, "request", request, 0, cache.batch - 1);
  return gatherValidated(cache, request);
}

/** gatherKv without re-validating the whole cache (callers that validated once). */
export function gatherValidated(cache: PagedKvCache, request: number): Float64Array {
  const len = cache.cacheSeqlens[request];
  const rowWidth = cache.hKv * cache.headDim;
  const pageWidth = cache.blockSize * rowWidth;
  const table = halfToF64Table(cache.dtype);
  const out = new Float64Array(len * rowWidth);
  for (let t = 0; t < len; t++) {
    const page = cache.blockTable[request * cache.maxBlocksPerSeq + Math.floor(t / cache.blockSize)];
    const src = page * pageWidth + (t % cache.blockSize) * rowWidth;
    const dst = t * rowWidth;
    for (let e = 0; e < rowWidth; e++) out[dst + e] = table[cache.kvcache[src + e]];
  }
  return out;
}
