#!/usr/bin/env bash
# Probe (H100): the decode as a programmatic dependent by default (v8-v10; griddepcontrol.wait
# after the barrier set-up): selftest and memcheck of v8-v10, then alternating bench rounds against MLA_DECODE_PDL=0.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
{
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.draw,power.limit --format=csv
cat build/BUILD_INFO
grep -a -E "C751[0458]|C7520" build/ptxas-report.txt | sed 's/.*(\(C75[0-9]*\)).*function /\1 /' | sort | uniq -c
for v in 8 9 10; do echo "=== selftest v$v (full)"; timeout 120 ./build/selftest --versions $v-$v | grep -a -E "FAIL|PASSED"; done
echo "=== memcheck v8-v10 (quick)"
timeout 200 compute-sanitizer --tool memcheck --print-limit 10 ./build/selftest --quick --versions 8-10 2>&1 | grep -a -E "FAIL|PASSED|ERROR SUMMARY" | tail -3
echo "=== racecheck v9 (quick)"
timeout 200 compute-sanitizer --tool racecheck --print-limit 10 ./build/selftest --quick --versions 9-9 2>&1 | grep -a -E "FAIL|PASSED|ERROR SUMMARY|hazard" | tail -3
for r in 1 2 3; do
  for k in "MLA_DECODE_PDL=0" "X=default"; do
    echo "=== round $r $k"; env $k timeout 100 ./build/bench bf16 9 10 | grep -a " v[0-9]* .*us .*GB/s" | grep -a -v " v1 "; done
done
} > $OUT/probe3.txt 2>&1
cat $OUT/probe3.txt
