#!/usr/bin/env bash
# Probe (H100): the producer reads the block-table entry before
# its wait for the stage (build/) against HEAD's order (build/base/); three
# alternating rounds; v10 early release; timeline of the new build.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
{
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw --format=csv,noheader
for r in 1 2 3; do
  echo "=== round $r base"; ./build/base/bench bf16 9 10 | grep -a " v[0-9]* .*us .*GB/s"
  echo "=== round $r new";  ./build/bench bf16 9 10 | grep -a " v[0-9]* .*us .*GB/s"
done
echo "=== new, v10 early"; MLA_V10_EARLY=1 MLA_BENCH_ONLY=3,4,6 ./build/bench bf16 10 10 | grep -a " v10 .*us .*GB/s"
echo "=== base, v10 early"; MLA_V10_EARLY=1 MLA_BENCH_ONLY=3,4,6 ./build/base/bench bf16 10 10 | grep -a " v10 .*us .*GB/s"
} > $OUT/probe2.txt 2>&1
for c in "9 2" "10 3,6"; do set -- $c
  MLA_BENCH_ONLY=$2 MLA_TRACE_DIR=/tmp timeout 120 ./build/trace/bench bf16 $1 $1 > /tmp/tb.txt 2>&1; grep -a " v$1 .*us .*GB/s" /tmp/tb.txt
  for k in ${2//,/ }; do python3 tools/trace_summary.py /tmp/trace-v$1-cfg$k.bin S0,slab0,Sissued,Sdone,xchg,softmax,Pbar,PVissued; done
done > $OUT/trace2.txt 2>&1
cat $OUT/probe2.txt
