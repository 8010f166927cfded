/**
 * MLA hyper-parameters. Names follow DeepSeek's model configs
 * (hidden_size, num_attention_heads, q_lora_rank, kv_lora_rank, ...).
 */
import { checkInt, MlaArgumentError } from "../errors";

export interface MlaConfig {
  /** model width d (hidden_size) */
  dModel: number;
  /** attention heads n_h */
  nHeads: number;
  /** rank of the query compression d_c' (q_lora_rank) */
  qLoraRank: number;
  /** rank of the joint KV compression d_c (kv_lora_rank): the latent that is cached */
  kvLoraRank: number;
  /** per-head query/key dims without position information (qk_nope_head_dim) */
  qkNopeHeadDim: number;
  /** per-head dims that carry RoPE, shared by all heads on the key side (qk_rope_head_dim) */
  qkRopeHeadDim: number;
  /** per-head value dim (v_head_dim) */
  vHeadDim: number;
}

/** DeepSeek-V3 (and V2: same attention dims, 128 heads). */
export const DEEPSEEK_V3: Readonly<MlaConfig> = Object.freeze({
  dModel: 7168,
  nHeads: 128,
  qLoraRank: 1536,
  kvLoraRank: 512,
  qkNopeHeadDim: 128,
  qkRopeHeadDim: 64,
  vHeadDim: 128,
});

/** A small config with the same structure, for worked examples and fast tests. */
export const TINY_MLA: Readonly<MlaConfig> = Object.freeze({
  dModel: 64,
  nHeads: 4,
  qLoraRank: 24,
  kvLoraRank: 16,
  qkNopeHeadDim: 8,
  qkRopeHeadDim: 4,
  vHeadDim: 8,
});

export function checkConfig(fn: string, cfg: unknown): MlaConfig {
  if (typeof cfg !== "object" || cfg === null) throw new MlaArgumentError(fn, "config", "an MlaConfig object", cfg);
  const c = cfg as Record<string, unknown>;
  for (const k of ["dModel", "nHeads", "qLoraRank", "kvLoraRank", "qkNopeHeadDim", "qkRopeHeadDim", "vHeadDim"]) {
    checkInt(fn, `config.${k}`, c[k], 1);
  }
  if ((c.qkRopeHeadDim as number) % 2 !== 0) {
    throw new MlaArgumentError(fn, "config.qkRopeHeadDim", "even (RoPE rotates pairs)", c.qkRopeHeadDim);
  }
  return cfg as MlaConfig;
}

/** Width of one cached row in the absorbed form: latent plus the shared RoPE key (576 for DeepSeek). */
export function latentRowDim(cfg: MlaConfig): number {
  return cfg.kvLoraRank + cfg.qkRopeHeadDim;
}
