import { strict as assert } from "assert";
import { blocksFor, imbalance, numSmParts, planSchedule, Rng, SPLIT_OVERHEAD_BLOCKS } from "../src/index";

describe("tile scheduler (TS model of the metadata kernel)", () => {
  it("computes FlashMLA's partition count", () => {
    assert.equal(numSmParts(132, 1, 128, 1), 66); // 128 rows = two 64-row tiles
    assert.equal(numSmParts(132, 1, 64, 1), 132);
    assert.equal(numSmParts(132, 2, 128, 1), 33);
    assert.equal(numSmParts(132, 1, 16, 8), 16); // 8 KV heads of 2 query heads each: one tile per head
    assert.throws(() => numSmParts(132, 1, 6, 4), /divisible/);
  });

  it("covers every page of every request exactly once, in order", () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 50; trial++) {
      const b = rng.int(1, 40);
      const lens = Array.from({ length: b }, () => (rng.uniform() < 0.1 ? 0 : rng.int(1, 20000)));
      const parts = rng.int(1, 140);
      const s = planSchedule(lens, parts);
      assert.equal(s.partitions.length, parts);
      assert.equal(s.numSplits.length, b + 1);
      const next = new Array(b).fill(0);
      const piecesPer = new Array(b).fill(0);
      for (const p of s.partitions) {
        for (const pc of p.pieces) {
          assert.equal(pc.beginBlock, next[pc.request], "pieces continue where the last stopped");
          assert.equal(pc.split, s.numSplits[pc.request] + piecesPer[pc.request]);
          next[pc.request] = pc.endBlock;
          piecesPer[pc.request]++;
        }
      }
      lens.forEach((l, i) => {
        assert.equal(next[i], blocksFor(l), `request ${i} fully covered`);
        assert.equal(s.numSplits[i + 1] - s.numSplits[i], piecesPer[i]);
        assert.ok(piecesPer[i] >= 1, "even an empty request gets one piece (it writes out = 0, lse = +inf)");
      });
      // every partition but the last stays within its payload
      s.partitions.slice(0, -1).forEach((p) => assert.ok(p.cost <= s.payload));
    }
  });

  it("balances a skewed batch across partitions", () => {
    const lens = [65536, ...new Array(127).fill(512)];
    const s = planSchedule(lens, 132);
    assert.ok(imbalance(s) < 1.2, `imbalance ${imbalance(s)}`);
    // the long request is split over many partitions
    assert.ok(s.numSplits[1] - s.numSplits[0] > 10);
    // with no overhead the split is as fine as possible
    assert.ok(planSchedule(lens, 132, 0).numSplits[1] >= s.numSplits[1]);
    assert.equal(SPLIT_OVERHEAD_BLOCKS, 5);
  });

  it("rejects bad input", () => {
    assert.throws(() => planSchedule([], 4), /seqlens/);
    assert.throws(() => planSchedule([3, -1], 4), /seqlens\[1\]/);
    assert.throws(() => planSchedule([3], 0), /parts/);
  });
});
