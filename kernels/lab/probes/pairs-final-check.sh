#!/usr/bin/env bash
# Final check (H100) of commit 521b948: selftest and memcheck of v8-v10 (defaults) and of the
# page-pair experiment (MLA_V10_PAIRS=1, =2), one bench round of v10 and both experiments.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
{
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,power.limit --format=csv
cat build/BUILD_INFO
grep -a -E "C751[0458]|C7520" build/ptxas-report.txt | sed 's/.*(\(C75[0-9]*\)).*function /\1 /' | sort | uniq -c
for v in 8 9 10; do echo "=== selftest v$v (full)"; timeout 120 ./build/selftest --versions $v-$v | grep -a -E "FAIL|PASSED"; done
for p in 1 2; do echo "=== selftest v10 PAIRS=$p (full)"; MLA_V10_PAIRS=$p timeout 120 ./build/selftest --versions 10-10 | grep -a -E "FAIL|PASSED"; done
for k in "" MLA_V10_PAIRS=1 MLA_V10_PAIRS=2; do echo "=== memcheck v8-v10 $k (quick)"
  env $k timeout 200 compute-sanitizer --tool memcheck --print-limit 10 ./build/selftest --quick --versions 8-10 2>&1 | grep -a -E "FAIL|PASSED|ERROR SUMMARY" | tail -3; done
for k in "" MLA_V10_PAIRS=1 MLA_V10_PAIRS=2; do echo "=== bench v10 $k"; env $k timeout 100 ./build/bench bf16 10 10 | grep -a " v10 " | grep -a -v "us .*GB/s"; done
} > $OUT/final.txt 2>&1
cat $OUT/final.txt
