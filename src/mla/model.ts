/**
 * MLA attention for one decoding step, written twice:
 *
 *  - naive: up-project every cached latent c_KV_j to per-head keys and values
 *    (k_j,i = W_UK,i c_KV_j, v_j,i = W_UV,i c_KV_j), append the shared RoPE key,
 *    and run ordinary multi-head attention;
 *  - absorbed: fold W_UK,i into the query (q~_i = W_UK,i^T q_nope,i), so every
 *    head attends directly over the cached rows [c_KV_j ; k_rope_j] (576 wide
 *    for DeepSeek): multi-query attention with one KV head, 512-wide values,
 *    and W_UV,i applied once to the attention output.
 *
 * The two are equal in exact arithmetic because q_nope.(W_UK c) = (W_UK^T q_nope).c
 * and sum_j p_j W_UV c_j = W_UV sum_j p_j c_j. Tests check it in float64.
 * Normalisation layers (the RMSNorms on the latents) and the output projection
 * W_O are left out: they act identically on both paths.
 */
import { checkFinite, checkInt, MlaArgumentError } from "../errors";
import { randomNormal, Rng } from "../numeric/rng";
import { attendRow } from "./attention";
import { checkConfig, latentRowDim, MlaConfig } from "./config";

/** Row-major matrices as flat Float64Arrays: W[r, c] = w[r * cols + c]. */
export interface MlaWeights {
  config: MlaConfig;
  /** [qLoraRank, dModel]: query down-projection W_DQ */
  wDQ: Float64Array;
  /** [nHeads * qkNopeHeadDim, qLoraRank]: query up-projection W_UQ */
  wUQ: Float64Array;
  /** [nHeads * qkRopeHeadDim, qLoraRank]: decoupled RoPE query W_QR */
  wQR: Float64Array;
  /** [kvLoraRank, dModel]: joint KV down-projection W_DKV (its output is what is cached) */
  wDKV: Float64Array;
  /** [nHeads * qkNopeHeadDim, kvLoraRank]: key up-projection W_UK */
  wUK: Float64Array;
  /** [nHeads * vHeadDim, kvLoraRank]: value up-projection W_UV */
  wUV: Float64Array;
  /** [qkRopeHeadDim, dModel]: shared RoPE key W_KR */
  wKR: Float64Array;
}

/** Weights with N(0, 1/fan_in) entries, so activations stay O(1) at any width. */
export function randomMlaWeights(cfg: MlaConfig, rng: Rng): MlaWeights {
  checkConfig("randomMlaWeights", cfg);
  if (!(rng instanceof Rng)) throw new MlaArgumentError("randomMlaWeights", "rng", "an Rng", rng);
  const m = (rows: number, cols: number) => randomNormal(rng, rows * cols, 1 / Math.sqrt(cols));
  const H = cfg.nHeads;
  return {
    config: cfg,
    wDQ: m(cfg.qLoraRank, cfg.dModel),
    wUQ: m(H * cfg.qkNopeHeadDim, cfg.qLoraRank),
    wQR: m(H * cfg.qkRopeHeadDim, cfg.qLoraRank),
    wDKV: m(cfg.kvLoraRank, cfg.dModel),
    wUK: m(H * cfg.qkNopeHeadDim, cfg.kvLoraRank),
    wUV: m(H * cfg.vHeadDim, cfg.kvLoraRank),
    wKR: m(cfg.qkRopeHeadDim, cfg.dModel),
  };
}

/** y = W x for W [rows, cols] (row-major), x at xOff. */
export function matVec(w: Float64Array, rows: number, cols: number, x: Float64Array, xOff = 0): Float64Array {
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const b = r * cols;
    for (let c = 0; c < cols; c++) s += w[b + c] * x[xOff + c];
    y[r] = s;
  }
  return y;
}

/** y = W^T x for W [rows, cols]: what "folding W into the query" computes. */
export function matTVec(w: Float64Array, rows: number, cols: number, x: Float64Array, xOff = 0): Float64Array {
  const y = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const xr = x[xOff + r];
    const b = r * cols;
    for (let c = 0; c < cols; c++) y[c] += w[b + c] * xr;
  }
  return y;
}

/**
 * Rotary position embedding on consecutive pairs (x_2i, x_2i+1), angle
 * pos * base^(-2i/d). In place on v[off .. off+d).
 */
export function applyRope(v: Float64Array, off: number, d: number, pos: number, base = 10000): void {
  for (let i = 0; i < d / 2; i++) {
    const theta = pos * Math.pow(base, (-2 * i) / d);
    const c = Math.cos(theta);
    const s = Math.sin(theta);
    const a = v[off + 2 * i];
    const b = v[off + 2 * i + 1];
    v[off + 2 * i] = a * c - b * s;
    v[off + 2 * i + 1] = a * s + b * c;
  }
}

/** What MLA caches per token: the latent c_KV and the shared RoPE key, for positions 0..T-1. */
export interface LatentCache {
  /** [T, kvLoraRank + qkRopeHeadDim]: row j = [c_KV_j ; RoPE(W_KR h_j, j)] */
  rows: Float64Array;
  tokens: number;
}

function checkHidden(fn: string, cfg: MlaConfig, hidden: unknown, tokens: number): Float64Array {
  if (!(hidden instanceof Float64Array)) throw new MlaArgumentError(fn, "hidden", "a Float64Array", hidden);
  if (hidden.length !== tokens * cfg.dModel) {
    throw new MlaArgumentError(fn, "hidden", `length tokens*dModel = ${tokens}*${cfg.dModel}`, hidden);
  }
  return hidden;
}

/** Compresses hidden states h_0..h_{T-1} ([T, dModel]) into MLA's cache. */
export function compressKv(w: MlaWeights, hidden: Float64Array, tokens: number): LatentCache {
  const cfg = checkConfig("compressKv", w?.config);
  checkInt("compressKv", "tokens", tokens, 1);
  checkHidden("compressKv", cfg, hidden, tokens);
  const dc = cfg.kvLoraRank;
  const dr = cfg.qkRopeHeadDim;
  const width = dc + dr;
  const rows = new Float64Array(tokens * width);
  for (let j = 0; j < tokens; j++) {
    const off = j * cfg.dModel;
    rows.set(matVec(w.wDKV, dc, cfg.dModel, hidden, off), j * width);
    const kr = matVec(w.wKR, dr, cfg.dModel, hidden, off);
    applyRope(kr, 0, dr, j);
    rows.set(kr, j * width + dc);
  }
  return { rows, tokens };
}

/** Per-head query parts for the token at position `pos`. */
export interface MlaQuery {
  /** [nHeads, qkNopeHeadDim] */
  qNope: Float64Array;
  /** [nHeads, qkRopeHeadDim], already rotated to `pos` */
  qRope: Float64Array;
}

export function projectQuery(w: MlaWeights, h: Float64Array, pos: number): MlaQuery {
  const cfg = checkConfig("projectQuery", w?.config);
  checkHidden("projectQuery", cfg, h, 1);
  checkInt("projectQuery", "pos", pos, 0);
  const cQ = matVec(w.wDQ, cfg.qLoraRank, cfg.dModel, h);
  const qNope = matVec(w.wUQ, cfg.nHeads * cfg.qkNopeHeadDim, cfg.qLoraRank, cQ);
  const qRope = matVec(w.wQR, cfg.nHeads * cfg.qkRopeHeadDim, cfg.qLoraRank, cQ);
  for (let i = 0; i < cfg.nHeads; i++) applyRope(qRope, i * cfg.qkRopeHeadDim, cfg.qkRopeHeadDim, pos);
  return { qNope, qRope };
}

/** The softmax scale both paths use: 1/sqrt(per-head query/key width), 1/sqrt(192) for DeepSeek. */
export function mlaSoftmaxScale(cfg: MlaConfig): number {
  return 1 / Math.sqrt(cfg.qkNopeHeadDim + cfg.qkRopeHeadDim);
}

function checkCacheAndQuery(fn: string, cfg: MlaConfig, cache: LatentCache, q: MlaQuery): void {
  if (typeof cache !== "object" || cache === null) throw new MlaArgumentError(fn, "cache", "a LatentCache", cache);
  checkInt(fn, "cache.tokens", cache.tokens, 0);
  if (!(cache.rows instanceof Float64Array) || cache.rows.length !== cache.tokens * latentRowDim(cfg)) {
    throw new MlaArgumentError(fn, "cache.rows", `a Float64Array of length tokens*${latentRowDim(cfg)}`, cache.rows);
  }
  if (!(q?.qNope instanceof Float64Array) || q.qNope.length !== cfg.nHeads * cfg.qkNopeHeadDim) {
    throw new MlaArgumentError(fn, "query.qNope", `a Float64Array of length ${cfg.nHeads * cfg.qkNopeHeadDim}`, q?.qNope);
  }
  if (!(q.qRope instanceof Float64Array) || q.qRope.length !== cfg.nHeads * cfg.qkRopeHeadDim) {
    throw new MlaArgumentError(fn, "query.qRope", `a Float64Array of length ${cfg.nHeads * cfg.qkRopeHeadDim}`, q.qRope);
  }
}

/** Per-head attention outputs [nHeads, vHeadDim] plus each head's LSE. */
export interface MlaAttentionOutput {
  out: Float64Array;
  lse: Float64Array;
}

/** Naive path: materialise per-head K (nope ; rope) and V for every cached token, then MHA. */
export function mlaAttentionNaive(w: MlaWeights, cache: LatentCache, q: MlaQuery, scale?: number): MlaAttentionOutput {
  const cfg = checkConfig("mlaAttentionNaive", w?.config);
  checkCacheAndQuery("mlaAttentionNaive", cfg, cache, q);
  const s = scale ?? mlaSoftmaxScale(cfg);
  checkFinite("mlaAttentionNaive", "scale", s, true);
  const { nHeads: H, qkNopeHeadDim: dn, qkRopeHeadDim: dr, vHeadDim: dv, kvLoraRank: dc } = cfg;
  const T = cache.tokens;
  const width = dc + dr;
  const dk = dn + dr;
  const out = new Float64Array(H * dv);
  const lse = new Float64Array(H);
  const keys = new Float64Array(T * dk);
  const vals = new Float64Array(T * dv);
  const qh = new Float64Array(dk);
  const scores = new Float64Array(T);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < T; j++) {
      const row = j * width;
      // k_j,i = [W_UK,i c_KV_j ; k_rope_j], v_j,i = W_UV,i c_KV_j
      for (let a = 0; a < dn; a++) {
        let acc = 0;
        const wb = (i * dn + a) * dc;
        for (let c = 0; c < dc; c++) acc += w.wUK[wb + c] * cache.rows[row + c];
        keys[j * dk + a] = acc;
      }
      for (let a = 0; a < dr; a++) keys[j * dk + dn + a] = cache.rows[row + dc + a];
      for (let a = 0; a < dv; a++) {
        let acc = 0;
        const wb = (i * dv + a) * dc;
        for (let c = 0; c < dc; c++) acc += w.wUV[wb + c] * cache.rows[row + c];
        vals[j * dv + a] = acc;
      }
    }
    qh.set(q.qNope.subarray(i * dn, (i + 1) * dn), 0);
    qh.set(q.qRope.subarray(i * dr, (i + 1) * dr), dn);
    lse[i] = attendRow(qh, 0, dk, { data: keys, offset: 0, stride: dk }, { data: vals, offset: 0, stride: dv }, dv, T, s, out, i * dv, scores);
  }
  return { out, lse };
}

/**
 * The absorbed query: for each head, [W_UK,i^T q_nope,i ; q_rope,i], a row of
 * width kvLoraRank + qkRopeHeadDim (576). These rows are exactly the `q` that
 * FlashMLA-style decode kernels take, with h_kv = 1.
 */
export function absorbQuery(w: MlaWeights, q: MlaQuery): Float64Array {
  const cfg = checkConfig("absorbQuery", w?.config);
  const { nHeads: H, qkNopeHeadDim: dn, qkRopeHeadDim: dr, kvLoraRank: dc } = cfg;
  const width = dc + dr;
  const rows = new Float64Array(H * width);
  for (let i = 0; i < H; i++) {
    // W_UK,i is the [dn, dc] block of rows i*dn .. i*dn+dn-1.
    const qt = matTVec(w.wUK.subarray(i * dn * dc, (i + 1) * dn * dc), dn, dc, q.qNope, i * dn);
    rows.set(qt, i * width);
    rows.set(q.qRope.subarray(i * dr, (i + 1) * dr), i * width + dc);
  }
  return rows;
}

/**
 * Absorbed path: MQA over the latent rows (keys: all 576 columns, values: the
 * first 512), then W_UV,i per head. Returns the same quantities as the naive path,
 * plus the latent output before W_UV ([nHeads, kvLoraRank]), which is what the
 * decode kernel produces.
 */
export function mlaAttentionAbsorbed(
  w: MlaWeights,
  cache: LatentCache,
  q: MlaQuery,
  scale?: number,
): MlaAttentionOutput & { latentOut: Float64Array; qAbsorbed: Float64Array } {
  const cfg = checkConfig("mlaAttentionAbsorbed", w?.config);
  checkCacheAndQuery("mlaAttentionAbsorbed", cfg, cache, q);
  const s = scale ?? mlaSoftmaxScale(cfg);
  checkFinite("mlaAttentionAbsorbed", "scale", s, true);
  const { nHeads: H, vHeadDim: dv, kvLoraRank: dc } = cfg;
  const width = latentRowDim(cfg);
  const qAbsorbed = absorbQuery(w, q);
  const latentOut = new Float64Array(H * dc);
  const lse = new Float64Array(H);
  const scores = new Float64Array(cache.tokens);
  const rows = { data: cache.rows, offset: 0, stride: width };
  for (let i = 0; i < H; i++) {
    lse[i] = attendRow(qAbsorbed, i * width, width, rows, rows, dc, cache.tokens, s, latentOut, i * dc, scores);
  }
  const out = new Float64Array(H * dv);
  for (let i = 0; i < H; i++) {
    out.set(matVec(w.wUV.subarray(i * dv * dc, (i + 1) * dv * dc), dv, dc, latentOut, i * dc), i * dv);
  }
  return { out, lse, latentOut, qAbsorbed };
}
