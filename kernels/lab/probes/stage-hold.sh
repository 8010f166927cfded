#!/usr/bin/env bash
# Probe (H100): why the memory-bound grids run at ~95% of the page stream alone.
# Hypotheses: (a) the stage the math holds leaves one page in flight per SM instead of two;
# (b) the math's power lowers the clocks; (c) the math's smem traffic slows the TMA writes.
# v9 (the memory-bound grids' kernel) on configs 0 (h_q=16) and 2 (h_q=64): real, the stream alone
# (DRY=1), the stream with each stage held d x 1000 cycles by a spin (HOLD=d), early release;
# then Nsight Compute (clocks not locked) of the decode kernel, real and dry: clock, DRAM bytes.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
run() { echo "=== $*"; env "$@" MLA_BENCH_ONLY=0,2 timeout 100 ./build/bench bf16 9 9 | grep -a " v9 .*us .*GB/s"; }
{
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.draw,power.limit --format=csv
cat build/BUILD_INFO
for r in 1 2; do
  run X=real
  run MLA_V9_DRY=1
  for d in 2 3 4 5 6; do run MLA_V9_DRY=1 MLA_V9_HOLD=$d; done
  run MLA_V9_EARLY=1
done
} > $OUT/probe1.txt 2>&1
for k in "X=real" "MLA_V9_DRY=1" "MLA_V9_DRY=1 MLA_V9_HOLD=4"; do
  echo "=== ncu $k"
  env $k MLA_BENCH_ONLY=2 timeout 150 ncu --cache-control none --clock-control none \
    --metrics gpu__time_duration.sum,sm__cycles_elapsed.avg.per_second,dram__cycles_elapsed.avg.per_second,dram__bytes_read.sum,dram__bytes_write.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,lts__t_sector_hit_rate.pct \
    -k regex:"decode_ksplit" --launch-skip 20 -c 2 ./build/bench bf16 9 9 2>&1 | grep -a -E "decode_ksplit|duration|per_second|dram__|hit_rate" | sed 's/(CUtensorMap.*//' | cut -c1-140
done > $OUT/ncu1.txt 2>&1
cat $OUT/probe1.txt $OUT/ncu1.txt
