#!/usr/bin/env bash
# Probe (H100): where the memory-bound and compute-bound grids lose time.
# Run from the repo root on the GPU machine with kernels/build carried (make all + make trace).
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
{
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,power.limit --format=csv
cat build/BUILD_INFO
for r in 1 2; do
  echo "=== round $r default"; ./build/bench bf16 10 10 | grep -a " v10 "
  echo "=== round $r parts=128 (memory-bound: no split requests)"; MLA_BENCH_PARTS=128 MLA_BENCH_ONLY=0,1,2 ./build/bench bf16 10 10 | grep -a " v10 "
  echo "=== round $r v9 early"; MLA_V9_EARLY=1 MLA_BENCH_ONLY=0,1,2 ./build/bench bf16 10 10 | grep -a " v10 "
  echo "=== round $r dry"; MLA_V9_DRY=1 MLA_V10_DRY=1 ./build/bench bf16 10 10 | grep -a " v10 "
done
echo "=== ncu kernel durations, config 2 (h_q=64) and 3 (h_q=128)"
for c in 2 3; do
MLA_BENCH_ONLY=$c timeout 120 ncu --metrics gpu__time_duration.sum,sm__cycles_elapsed.avg.per_second -k regex:"decode_ksplit|combine" -c 6 ./build/bench bf16 10 10 2>&1 | grep -a -E "decode_ksplit|combine|duration|per_second" | sed 's/(mla::DecodeArgs.*//' | cut -c1-160
done
} > $OUT/probe1.txt 2>&1
for c in "9 2" "10 3,6"; do set -- $c
  MLA_BENCH_ONLY=$2 MLA_TRACE_DIR=/tmp timeout 120 ./build/trace/bench bf16 $1 $1 > /tmp/tb.txt 2>&1; grep -a " v$1 " /tmp/tb.txt
  for k in ${2//,/ }; do python3 tools/trace_summary.py /tmp/trace-v$1-cfg$k.bin S0,slab0,Sissued,Sdone,xchg,softmax,Pbar,PVissued; done
done > $OUT/trace.txt 2>&1
tail -5 $OUT/trace.txt
