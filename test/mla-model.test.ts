import { strict as assert } from "assert";
import {
  compressKv, DEEPSEEK_V3, kvCacheBytesPerToken, MlaArgumentError, mlaAttentionAbsorbed, mlaAttentionNaive,
  MlaConfig, projectQuery, randomMlaWeights, randomNormal, Rng, TINY_MLA,
} from "../src/index";

function maxRelErr(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

describe("MLA model math", () => {
  const configs: [string, MlaConfig][] = [
    ["tiny", TINY_MLA],
    // DeepSeek's real latent and head widths, fewer heads and a narrow model so the test stays fast.
    ["deepseek-head-dims", { ...DEEPSEEK_V3, dModel: 96, nHeads: 2, qLoraRank: 48 }],
  ];
  for (const [name, cfg] of configs) {
    for (const seed of [1, 2, 3]) {
      it(`naive and absorbed paths agree (${name}, seed ${seed})`, () => {
        const rng = new Rng(seed);
        const w = randomMlaWeights(cfg, rng);
        const T = 5 + seed * 7;
        const hidden = randomNormal(rng, (T + 1) * cfg.dModel);
        const cache = compressKv(w, hidden.subarray(0, T * cfg.dModel), T);
        const q = projectQuery(w, hidden.subarray(T * cfg.dModel), T);
        const naive = mlaAttentionNaive(w, cache, q);
        const absorbed = mlaAttentionAbsorbed(w, cache, q);
        assert.ok(maxRelErr(absorbed.out, naive.out) < 1e-12, `out differs: ${maxRelErr(absorbed.out, naive.out)}`);
        assert.ok(maxRelErr(absorbed.lse, naive.lse) < 1e-12);
        assert.equal(absorbed.qAbsorbed.length, cfg.nHeads * (cfg.kvLoraRank + cfg.qkRopeHeadDim));
      });
    }
  }

  it("the paths differ when the absorbed query drops W_UK (the check can fail)", () => {
    const rng = new Rng(9);
    const w = randomMlaWeights(TINY_MLA, rng);
    const hidden = randomNormal(rng, 9 * TINY_MLA.dModel);
    const cache = compressKv(w, hidden.subarray(0, 8 * TINY_MLA.dModel), 8);
    const q = projectQuery(w, hidden.subarray(8 * TINY_MLA.dModel), 8);
    const naive = mlaAttentionNaive(w, cache, q);
    const broken = { ...w, wUK: randomNormal(rng, w.wUK.length) };
    const absorbed = mlaAttentionAbsorbed(broken, cache, q);
    assert.ok(maxRelErr(absorbed.out, naive.out) > 1e-3);
  });

  it("rejects bad configs and inputs with named arguments", () => {
    assert.throws(() => randomMlaWeights({ ...TINY_MLA, qkRopeHeadDim: 3 }, new Rng(1)), /qkRopeHeadDim/);
    const w = randomMlaWeights(TINY_MLA, new Rng(1));
    assert.throws(() => compressKv(w, new Float64Array(10), 1), (e: unknown) => e instanceof MlaArgumentError && e.argument === "hidden");
    assert.throws(() => projectQuery(w, new Float64Array(TINY_MLA.dModel), -1), /pos/);
  });
});

describe("KV-cache bytes per token per layer at DeepSeek-V3 dims (bf16)", () => {
  it("matches hand-computed numbers", () => {
    // MHA: 128 heads * (192 key + 128 value) * 2 bytes
    assert.equal(kvCacheBytesPerToken("MHA", DEEPSEEK_V3), 128 * 320 * 2);
    assert.equal(kvCacheBytesPerToken("MHA", DEEPSEEK_V3), 81920);
    // GQA with 8 groups
    assert.equal(kvCacheBytesPerToken("GQA", DEEPSEEK_V3), 5120);
    assert.equal(kvCacheBytesPerToken("GQA", DEEPSEEK_V3, { groups: 16 }), 10240);
    // MQA: one head
    assert.equal(kvCacheBytesPerToken("MQA", DEEPSEEK_V3), 640);
    // MLA: 512 latent + 64 rope
    assert.equal(kvCacheBytesPerToken("MLA", DEEPSEEK_V3), 1152);
    assert.equal(kvCacheBytesPerToken("MLA", DEEPSEEK_V3, { bytesPerElement: 1 }), 576);
  });
  it("rejects unknown schemes and groups that do not divide the heads", () => {
    assert.throws(() => kvCacheBytesPerToken("XYZ" as never, DEEPSEEK_V3), /scheme/);
    assert.throws(() => kvCacheBytesPerToken("GQA", DEEPSEEK_V3, { groups: 3 }), /groups/);
  });
});
