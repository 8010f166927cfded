#!/usr/bin/env bash
# One device call: the flashmla-bench sweep through the shipped pipeline (not the lab harness):
# the kernels built from this tree, ours natively (auto and the rungs it chooses among), then the
# Python baseline's side-by-side of FlashMLA and ours (auto), ingested into CSVs, and `npm run bench`'s
# table of that run folder. The run folder comes back as $OUT/run.tar.gz.
#   device run: export CARRY=.carry; source scripts/gpu-env.sh; kernels/lab/session-flashmla-bench.sh
#   carry: .carry (scripts/gpu-pack.sh), .flashmla/flash_mla, .flashmla/flash_mla_cuda*.so
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
commit=$(cat "${CARRY:-.carry}/COMMIT" 2>/dev/null || echo unknown)
export MLA_COMMIT="$commit"
t0=$(date +%s)
{
make -C kernels lib selftest 2>&1 | tail -2
echo "=== selftest, every version (0 = auto .. 11), quick cases"; timeout 60 kernels/build/selftest --quick | grep -E "FAIL|ALL PASSED|FAILED"
run=$(node dist/src/sweep/cli.js run-dir)-flashmla-bench
echo "run folder: $run"
node dist/src/sweep/cli.js run --out "$run" --only flashmla-bench --no-ceilings 2>&1 | grep -v "elapsed" | tail -5
python3 baselines/torch_mla_decode.py --out "$run" 2>&1 | tail -8
node dist/src/sweep/cli.js ingest --run "$run"
node dist/src/bench/cli.js --run "$run"
echo "wall $(( $(date +%s) - t0 )) s, commit $commit"
tar -czf "$OUT/run.tar.gz" "$run"
} 2>&1 | tee "$OUT/session.log"
