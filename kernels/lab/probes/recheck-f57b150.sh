#!/usr/bin/env bash
# Check (H100) after the refactor of f57b150 (one partial-page loader for v5 and v8-v10, one Q loader for
# the k-split consumers; ptxas registers and spills of all 49 kernels unchanged): selftest of v5 and v8-v10 and of
# the page-pair experiment, memcheck, one bench round of v5 and v9-v10.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
{
cat build/BUILD_INFO
for v in 5 8 9 10; do echo "=== selftest v$v (full)"; timeout 120 ./build/selftest --versions $v-$v | grep -a -E "FAIL|PASSED"; done
for p in 1 2; do echo "=== selftest v10 PAIRS=$p (full)"; MLA_V10_PAIRS=$p timeout 120 ./build/selftest --versions 10-10 | grep -a -E "FAIL|PASSED"; done
echo "=== memcheck v5, v8-v10 (quick)"
timeout 250 compute-sanitizer --tool memcheck --print-limit 10 ./build/selftest --quick --versions 5-10 2>&1 | grep -a -E "FAIL|PASSED|ERROR SUMMARY" | tail -3
echo "=== bench v9-v10"; timeout 100 ./build/bench bf16 9 10 | grep -a " v[0-9]* .*us .*GB/s" | grep -a -v " v1 "
} > $OUT/check.txt 2>&1
cat $OUT/check.txt
