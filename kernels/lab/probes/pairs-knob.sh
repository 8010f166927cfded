#!/usr/bin/env bash
# Probe (H100): the page-pair schedule as a v10 knob (MLA_V10_PAIRS=1, with
# MLA_V10_EARLY=1: stage n handed back inside softmax(n+1)); alternating rounds against v10;
# Nsight Compute of v10 and the pairs schedule at b=128 h_q=128 (shared-memory banks, tensor pipe).
# Run from the repo root on the GPU machine with kernels/build carried (make all + make trace).
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
{
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,power.limit --format=csv
cat build/BUILD_INFO
for e in 0 1; do
  echo "=== selftest v10 PAIRS=1 EARLY=$e (full)"; MLA_V10_PAIRS=1 MLA_V10_EARLY=$e timeout 120 ./build/selftest --versions 10-10 | grep -a -E "FAIL|PASSED"; echo "rc=${PIPESTATUS[0]}"
  echo "=== memcheck v10 PAIRS=1 EARLY=$e (quick)"
  MLA_V10_PAIRS=1 MLA_V10_EARLY=$e timeout 200 compute-sanitizer --tool memcheck --print-limit 10 ./build/selftest --quick --versions 10-10 2>&1 | grep -a -E "FAIL|PASSED|ERROR SUMMARY" | tail -4
done
for r in 1 2 3; do
  echo "=== round $r v10"; MLA_BENCH_ONLY=3,4,5,6 timeout 100 ./build/bench bf16 10 10 | grep -a " v10 " | grep -a -v "us .*GB/s"
  echo "=== round $r v10 PAIRS=1"; MLA_V10_PAIRS=1 MLA_BENCH_ONLY=3,4,5,6 timeout 100 ./build/bench bf16 10 10 | grep -a " v10 " | grep -a -v "us .*GB/s"
  echo "=== round $r v10 PAIRS=1 EARLY=1"; MLA_V10_PAIRS=1 MLA_V10_EARLY=1 MLA_BENCH_ONLY=3,4,5,6 timeout 100 ./build/bench bf16 10 10 | grep -a " v10 " | grep -a -v "us .*GB/s"
done
echo "=== ncu metrics available"
ncu --query-metrics --chip gh100 > /tmp/qm.txt 2>&1; grep -a -E "^(l1tex__data_bank|l1tex__data_pipe_lsu_wavefronts_mem_shared|sm__pipe_tensor_op_gmma|smsp__inst_executed_pipe_tensor|l1tex__throughput|sm__memory_throughput)" /tmp/qm.txt | cut -c1-140
M=$(grep -a -o -E "^(l1tex__data_bank_reads|l1tex__data_bank_writes|l1tex__data_pipe_lsu_wavefronts_mem_shared|sm__pipe_tensor_op_gmma_cycles_active|l1tex__throughput)\b" /tmp/qm.txt | sort -u | sed 's/$/.avg.pct_of_peak_sustained_elapsed/' | paste -sd,)
echo "metrics: $M"
for v in "def:" "pairs:MLA_V10_PAIRS=1" "def-memory-bound:"; do
  IFS=: read lab kv <<< "$v"; c=3; [ "$lab" = def-memory-bound ] && c=2
  echo "=== ncu $lab config $c"
  env $kv MLA_BENCH_ONLY=$c timeout 150 ncu --clock-control none --metrics gpu__time_duration.sum,$M -k regex:decode_ksplit -c 1 ./build/bench bf16 10 10 2>&1 | grep -a -E "decode_ksplit|duration|pct|==ERR|error" | sed 's/(CUtensorMap.*//' | cut -c1-150
done
echo "=== ncu full, v10 default config 3 (memory tables)"
MLA_BENCH_ONLY=3 timeout 200 ncu --set full --clock-control none --import-source no -k regex:decode_ksplit -c 1 -f -o /tmp/ncu-v10 ./build/bench bf16 10 10 > /tmp/ncu.log 2>&1; echo "ncu rc=$?"
ncu -i /tmp/ncu-v10.ncu-rep --page details > $OUT/ncu-v10-details.txt 2>&1
grep -a -i -E "Duration|Shared|Tensor|Mem Busy|Max Bandwidth|Mem Pipes|Issue Slots|bank" $OUT/ncu-v10-details.txt | head -40
} > $OUT/probe2.txt 2>&1
MLA_V10_PAIRS=1 MLA_V10_EARLY=1 MLA_BENCH_ONLY=3 MLA_TRACE_DIR=$OUT timeout 120 ./build/trace/bench bf16 10 10 > $OUT/trace-bench.txt 2>&1
grep -a " v10 " $OUT/trace-bench.txt >> $OUT/probe2.txt
cat $OUT/probe2.txt
