#!/usr/bin/env bash
# Probe (H100): (1) is it the math's power (clock) or its smem traffic that slows the
# stream? The stream with each stage held 4000 cycles by a spin, by FMAs (BURN=1) or by shared-memory
# reads (BURN=2), timed and under Nsight Compute (SM clock). (2) the decode launched as a programmatic
# dependent of the previous combine (MLA_DECODE_PDL=1): selftest, then alternating bench rounds.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
{
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.draw,power.limit --format=csv
cat build/BUILD_INFO
for r in 1 2; do
  for k in "X=real" "MLA_V9_DRY=1 MLA_V9_HOLD=4" "MLA_V9_DRY=1 MLA_V9_HOLD=4 MLA_V9_BURN=1" "MLA_V9_DRY=1 MLA_V9_HOLD=4 MLA_V9_BURN=2"; do
    echo "=== $k"; env $k MLA_BENCH_ONLY=0,2 timeout 100 ./build/bench bf16 9 9 | grep -a " v9 .*us .*GB/s"; done
done
echo "=== selftest v9-v10 MLA_DECODE_PDL=1 (full)"; MLA_DECODE_PDL=1 timeout 150 ./build/selftest --versions 9-10 | grep -a -E "FAIL|PASSED" | tail -3
for r in 1 2 3; do
  for k in "X=real" "MLA_DECODE_PDL=1"; do
    echo "=== round $r $k"; env $k MLA_BENCH_ONLY=0,1,2,3,5 timeout 100 ./build/bench bf16 9 10 | grep -a " v[0-9]* .*us .*GB/s"; done
done
} > $OUT/probe2.txt 2>&1
for k in "MLA_V9_DRY=1 MLA_V9_HOLD=4 MLA_V9_BURN=1" "MLA_V9_DRY=1 MLA_V9_HOLD=4 MLA_V9_BURN=2"; do
  echo "=== ncu $k"
  env $k MLA_BENCH_ONLY=2 timeout 150 ncu --cache-control none --clock-control none \
    --metrics gpu__time_duration.sum,sm__cycles_elapsed.avg.per_second,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed \
    -k regex:"decode_ksplit" --launch-skip 20 -c 1 ./build/bench bf16 9 9 2>&1 | grep -a -E "decode_ksplit|duration|per_second|dram__" | sed 's/(CUtensorMap.*//' | cut -c1-140
done > $OUT/ncu2.txt 2>&1
cat $OUT/probe2.txt $OUT/ncu2.txt
