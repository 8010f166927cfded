#!/usr/bin/env bash
# Lab, one device call: Nsight Compute of FlashMLA's decode kernel and ours on the same configurations
# (kernels/lab/sidebyside.py grid names), full section set, clocks not locked. Needs /tmp/fm (FlashMLA,
# from session-baseline.sh on the same warm machine) or .flashmla/ with the built module.
#   CFGS="fm-sq1-8k short-1024"  KERNELS="flash_fwd_splitkv_mla_kernel:10 decode_v11_kernel:11"
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
CFGS=${CFGS:-fm-sq1-8k short-1024}  # KERNELS applies to each
KERNELS=${KERNELS:-flash_fwd_splitkv_mla_kernel:11 decode_v11_kernel:11 decode_ksplit_kernel:10}
if [ ! -d /tmp/fm ]; then mkdir -p /tmp/fm && cp -r .flashmla/flash_mla .flashmla/flash_mla_cuda*.so /tmp/fm/; fi
export PYTHONPATH=/tmp/fm PYTHONUNBUFFERED=1
for cfg in $CFGS; do
  for kv in $KERNELS; do
    k=${kv%%:*} v=${kv##*:}
    echo "=== ncu $cfg $k (ours: v$v)"
    timeout 120 ncu --target-processes all --section SpeedOfLight --section ComputeWorkloadAnalysis \
      --section MemoryWorkloadAnalysis --section WarpStateStats --section SchedulerStats --section Occupancy \
      --metrics sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,sm__cycles_elapsed.avg.per_second \
      --cache-control all --clock-control none \
      -k regex:"$k" --launch-skip 2 -c 1 \
      python3 kernels/lab/sidebyside.py --lib kernels/build/libmla.so --versions $v --only $cfg \
      --trials 1 --iters 2 --warmup 1 --no-graph 2>&1 | grep -v "^==PROF==" | cut -c1-180
  done
done > "$OUT/ncu.txt" 2>&1
grep -a -E "^===|Duration|SM Frequency|DRAM Throughput|L2 Hit Rate |Compute \(SM\) Throughput|Issue Slots Busy|Executed Ipc Active|No Eligible|Registers Per Thread|Theoretical Occupancy" "$OUT/ncu.txt" | head -150
