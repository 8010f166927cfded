#!/usr/bin/env bash
# Lab, one device call: Nsight Compute of FlashMLA's decode kernel and ours on the same configurations
# (kernels/lab/sidebyside.py grid names), full section set, clocks not locked. FlashMLA as lab-env.sh
# finds it (carry .flashmla/).
#   CFGS="fm-sq1-8k short-1024"  KERNELS="flash_fwd_splitkv_mla_kernel:10 decode_v11_kernel:11"
#   SOURCE=1: also the per-SASS-instruction counts (instructions executed, warp-stall samples) of each
#   kernel, as $OUT/ncu-source.tar.xz (one CSV per configuration and kernel, for offline reading)
#   TABLE=1: instead, a few metrics (duration, SM clock, DRAM bytes, tensor pipe, instructions, issue slots)
#   of FlashMLA's decode kernel and ours (the automatic choice) on every configuration of the grid (GRID=
#   names, default all), one process (kernels/lab/ncu_grid.py), one line each in $OUT/ncu-table.txt;
#   caches flushed before each kernel, or with CALLS=n the last of n back-to-back calls, caches as the calls left them;
#   CLOCK=base locks the SM clock at its base (ncu --clock-control base; default none: the clock as it comes)
set -uo pipefail
. kernels/lab/lab-env.sh
CFGS=${CFGS:-fm-sq1-8k short-1024}  # KERNELS applies to each
KERNELS=${KERNELS:-flash_fwd_splitkv_mla_kernel:11 decode_v11_kernel:11 decode_ksplit_kernel:10}
mkdir -p /tmp/ncu-src
TABLE_METRICS=gpu__time_duration.sum,sm__cycles_elapsed.avg.per_second,dram__bytes_read.sum,dram__bytes_write.sum,\
sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_elapsed,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_elapsed,\
sm__inst_executed_pipe_tensor_op_gmma.sum,smsp__inst_executed.sum,smsp__issue_active.avg.pct_of_peak_sustained_elapsed
if [ -n "${TABLE:-}" ]; then
  # one process, one FlashMLA call and one of ours (the automatic choice) per configuration
  cache=all; [ -n "${CALLS:-}" ] && cache=none
  timeout "${TABLE_TIMEOUT:-300}" ncu --target-processes all --metrics "$TABLE_METRICS" --csv --cache-control $cache \
    --clock-control "${CLOCK:-none}" -k regex:"flash_fwd_splitkv_mla_kernel|decode_" \
    python3 kernels/lab/ncu_grid.py --lib kernels/build/libmla.so ${GRID:+--only $GRID} ${CALLS:+--calls $CALLS} \
    --order "$OUT/ncu-order.json" \
    > "$OUT/ncu-table.csv" 2> "$OUT/ncu-table.err"
  echo "ncu rc=$?"; tail -3 "$OUT/ncu-table.err"
  python3 kernels/lab/ncu_table.py "$OUT/ncu-table.csv" --order "$OUT/ncu-order.json" | tee "$OUT/ncu-table.txt"
  exit 0
fi
for cfg in $CFGS; do
  for kv in $KERNELS; do
    k=${kv%%:*} v=${kv##*:}
    echo "=== ncu $cfg $k (ours: v$v)"
    timeout 120 ncu --target-processes all --section SpeedOfLight --section ComputeWorkloadAnalysis \
      --section MemoryWorkloadAnalysis --section WarpStateStats --section SchedulerStats --section Occupancy \
      --metrics sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,sm__cycles_elapsed.avg.per_second \
      ${SOURCE:+--section SourceCounters --section InstructionStats --import-source no -f -o /tmp/ncu-src/$cfg-$k} \
      --cache-control all --clock-control none \
      -k regex:"$k" --launch-skip 2 -c 1 \
      python3 kernels/lab/sidebyside.py --lib kernels/build/libmla.so --versions $v --only $cfg \
      --trials 1 --iters 2 --warmup 1 --no-graph 2>&1 | grep -v "^==PROF==" | cut -c1-180
  done
done > "$OUT/ncu.txt" 2>&1
if [ -n "${SOURCE:-}" ]; then
  for r in /tmp/ncu-src/*.ncu-rep; do
    { echo "=== details $(basename "$r")"; ncu -i "$r" --page details; } >> "$OUT/ncu.txt" 2>&1
    ncu -i "$r" --page source --csv --print-source sass > "${r%.ncu-rep}.csv" 2>&1 && rm -f "$r"
  done
  tar -C /tmp/ncu-src -cJf "$OUT/ncu-source.tar.xz" . && ls -la "$OUT/ncu-source.tar.xz"
fi
grep -a -E "^===|Duration|SM Frequency|DRAM Throughput|L2 Hit Rate |Compute \(SM\) Throughput|Issue Slots Busy|Executed Ipc Active|No Eligible|Registers Per Thread|Theoretical Occupancy" "$OUT/ncu.txt" | head -150
