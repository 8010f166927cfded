#!/usr/bin/env bash
# Probe (H100): the page-pair schedule with S(n+1) issued after softmax(n)
# (MLA_V10_PAIRS=2: softmax(n) overlaps page n+1's load instead of S(n+1)); alternating rounds against v10.
# Run from the repo root on the GPU machine with kernels/build carried (make all + make trace).
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
{
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,power.limit --format=csv
cat build/BUILD_INFO
echo "=== selftest v10 PAIRS=2 (full)"; MLA_V10_PAIRS=2 timeout 120 ./build/selftest --versions 10-10 | grep -a -E "FAIL|PASSED"; echo "rc=${PIPESTATUS[0]}"
echo "=== memcheck v10 PAIRS=2 (quick)"
MLA_V10_PAIRS=2 timeout 200 compute-sanitizer --tool memcheck --print-limit 10 ./build/selftest --quick --versions 10-10 2>&1 | grep -a -E "FAIL|PASSED|ERROR SUMMARY" | tail -4
echo "=== selftest v10 default (full)"; timeout 120 ./build/selftest --versions 10-10 | grep -a -E "FAIL|PASSED"; echo "rc=${PIPESTATUS[0]}"
for r in 1 2 3; do
  echo "=== round $r v10"; MLA_BENCH_ONLY=3,4,5,6 timeout 100 ./build/bench bf16 10 10 | grep -a " v10 " | grep -a -v "us .*GB/s"
  echo "=== round $r v10 PAIRS=2"; MLA_V10_PAIRS=2 MLA_BENCH_ONLY=3,4,5,6 timeout 100 ./build/bench bf16 10 10 | grep -a " v10 " | grep -a -v "us .*GB/s"
done
} > $OUT/probe3.txt 2>&1
MLA_V10_PAIRS=2 MLA_BENCH_ONLY=3 MLA_TRACE_DIR=$OUT timeout 120 ./build/trace/bench bf16 10 10 > $OUT/trace-bench.txt 2>&1
grep -a " v10 " $OUT/trace-bench.txt >> $OUT/probe3.txt
cat $OUT/probe3.txt
