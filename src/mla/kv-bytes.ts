/**
 * KV-cache size per token per layer, the number that decides how long a
 * context fits in memory and how many bytes each decoding step must read.
 *
 *   MHA: every head caches its own key and value:   n_h * (d_k + d_v)
 *   GQA: heads share keys/values within g groups:    g   * (d_k + d_v)
 *   MQA: one key/value head for all query heads:         (d_k + d_v)
 *   MLA: one latent plus one shared RoPE key:            d_c + d_R
 *
 * with d_k = qk_nope + qk_rope (192) and d_v = v_head_dim (128) at DeepSeek
 * dimensions, so the comparison uses the head shapes MLA's queries really have.
 */
import { checkInt, MlaArgumentError } from "../errors";
import { checkConfig, MlaConfig } from "./config";

export type AttentionScheme = "MHA" | "GQA" | "MQA" | "MLA";
export const ATTENTION_SCHEMES: readonly AttentionScheme[] = ["MHA", "GQA", "MQA", "MLA"];

export interface KvBytesOptions {
  /** KV groups for GQA (default 8) */
  groups?: number;
  /** bytes per cached element (default 2: bf16) */
  bytesPerElement?: number;
}

/** Cached elements per token per layer. */
export function kvCacheElementsPerToken(scheme: AttentionScheme, cfg: MlaConfig, opts: KvBytesOptions = {}): number {
  checkConfig("kvCacheElementsPerToken", cfg);
  const groups = checkInt("kvCacheElementsPerToken", "groups", opts.groups ?? 8, 1, cfg.nHeads);
  if (cfg.nHeads % groups !== 0) {
    throw new MlaArgumentError("kvCacheElementsPerToken", "groups", `a divisor of nHeads (${cfg.nHeads})`, groups);
  }
  const dk = cfg.qkNopeHeadDim + cfg.qkRopeHeadDim;
  const dv = cfg.vHeadDim;
  switch (scheme) {
    case "MHA":
      return cfg.nHeads * (dk + dv);
    case "GQA":
      return groups * (dk + dv);
    case "MQA":
      return dk + dv;
    case "MLA":
      return cfg.kvLoraRank + cfg.qkRopeHeadDim;
    default:
      throw new MlaArgumentError("kvCacheElementsPerToken", "scheme", `one of ${ATTENTION_SCHEMES.join(", ")}`, scheme);
  }
}

export function kvCacheBytesPerToken(scheme: AttentionScheme, cfg: MlaConfig, opts: KvBytesOptions = {}): number {
  const bpe = checkInt("kvCacheBytesPerToken", "bytesPerElement", opts.bytesPerElement ?? 2, 1, 8);
  return kvCacheElementsPerToken(scheme, cfg, opts) * bpe;
}
