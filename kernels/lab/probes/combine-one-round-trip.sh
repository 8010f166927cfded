#!/usr/bin/env bash
# Probe (H100): the warp-per-row combine asking for everything at once (one L2 round trip
# instead of one per step). Selftest of every version (the combine serves all), memcheck, then alternating bench
# rounds of build/base (the old combine, decode as a dependent) and build/ (the new combine); Nsight Compute of
# both combines on the h_q=64 grid.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
{
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.draw,power.limit --format=csv
cat build/BUILD_INFO
echo "=== selftest v2-v10 (full)"; timeout 300 ./build/selftest --versions 2-10 | grep -a -E "FAIL|PASSED" | tail -5
echo "=== memcheck v9-v10 (quick)"
timeout 200 compute-sanitizer --tool memcheck --print-limit 10 ./build/selftest --quick --versions 9-10 2>&1 | grep -a -E "FAIL|PASSED|ERROR SUMMARY" | tail -3
for r in 1 2 3; do
  for b in base new; do
    d=build/$b; [ $b = new ] && d=build
    echo "=== round $r $b"; timeout 100 ./$d/bench bf16 9 10 | grep -a " v[0-9]* .*us .*GB/s" | grep -a -v " v1 "; done
done
} > $OUT/probe4.txt 2>&1
for b in base new; do
  d=build/$b; [ $b = new ] && d=build
  echo "=== ncu combine $b"
  MLA_BENCH_ONLY=2 timeout 150 ncu --cache-control none --clock-control none --metrics gpu__time_duration.sum \
    -k regex:"combine" --launch-skip 20 -c 3 ./$d/bench bf16 9 9 2>&1 | grep -a -E "combine|duration" | cut -c1-100
done > $OUT/ncu4.txt 2>&1
cat $OUT/probe4.txt $OUT/ncu4.txt
