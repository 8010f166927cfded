#!/usr/bin/env bash
# Probe (H100): does the dependent launch change the compute-bound grids (h_q=128, varlen,
# s_q=2; b=1)? Four alternating rounds, MLA_DECODE_PDL=0 against the default (1), v9 and v10.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
{
cat build/BUILD_INFO
for r in 1 2 3 4; do
  for k in "MLA_DECODE_PDL=0" "X=default"; do
    echo "=== round $r $k"; env $k MLA_BENCH_ONLY=3,4,5,6 timeout 100 ./build/bench bf16 9 10 | grep -a " v[0-9]* .*us .*GB/s" | grep -a -v " v1 "; done
done
} > $OUT/probe5.txt 2>&1
cat $OUT/probe5.txt
