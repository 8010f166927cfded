#!/usr/bin/env bash
# Probe (H100): is the page-pair schedule (built as a temporary version 11) correct, and how fast against v10?
# Run from the repo root on the GPU machine with kernels/build carried (make all + make trace).
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
{
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,power.limit --format=csv
cat build/BUILD_INFO
echo "=== selftest v11 (full)"; timeout 120 ./build/selftest --versions 11-11 | tail -15; echo "rc=${PIPESTATUS[0]}"
echo "=== memcheck v11 (quick)"
timeout 200 compute-sanitizer --tool memcheck --print-limit 10 ./build/selftest --quick --versions 11-11 2>&1 | grep -a -E "PASS|FAIL|ERROR SUMMARY|=========" | tail -12
echo "rc=${PIPESTATUS[0]}"
for r in 1 2; do
  echo "=== round $r v10"; MLA_BENCH_ONLY=3,4,5,6 timeout 100 ./build/bench bf16 10 10 | grep -a " v10 "
  echo "=== round $r v11"; MLA_BENCH_ONLY=0,3,4,5,6 timeout 100 ./build/bench bf16 11 11 | grep -a " v11 "
done
} > $OUT/probe1.txt 2>&1
MLA_BENCH_ONLY=3 MLA_TRACE_DIR=$OUT timeout 120 ./build/trace/bench bf16 11 11 > $OUT/trace-bench.txt 2>&1
grep -a " v11 " $OUT/trace-bench.txt >> $OUT/probe1.txt
python3 tools/trace_summary.py $OUT/trace-v11-cfg3.bin top,Sn_issued,Sn1_issued,Sn_done,xchg,P_written,Pbar,PV_issued >> $OUT/probe1.txt 2>&1
cat $OUT/probe1.txt
