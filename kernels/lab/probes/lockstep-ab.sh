#!/usr/bin/env bash
# Probe (H100): correctness of the lock-step build (build/), then
# three alternating rounds of HEAD (build/base), block-table hoist alone
# (build/hoist) and hoist + lock-step slab order (build/); timeline of build/;
# SASS of v10's kernel; DRAM bytes of decode and combine on the memory-bound grid.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT; cd kernels
export MLA_BENCH_NO_GEMM=1
{
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw --format=csv,noheader
cat build/BUILD_INFO
echo "=== selftest v9-v10 (full)"; timeout 120 ./build/selftest --versions 9-10 | tail -4; echo "rc=$?"
echo "=== memcheck v10 (quick)"; timeout 150 compute-sanitizer --tool memcheck ./build/selftest --quick --versions 10-10 2>&1 | grep -a -E "PASS|FAIL|ERROR SUMMARY" | tail -3
for r in 1 2 3; do
  for b in base hoist new; do
    d=build/$b; [ $b = new ] && d=build
    echo "=== round $r $b"; MLA_BENCH_ONLY=2,3,4,5,6 ./$d/bench bf16 10 10 | grep -a " v10 .*us .*GB/s"
  done
done
} > $OUT/probe3.txt 2>&1
MLA_BENCH_ONLY=3,6 MLA_TRACE_DIR=/tmp timeout 120 ./build/trace/bench bf16 10 10 > /tmp/tb.txt 2>&1
for k in 3 6; do python3 tools/trace_summary.py /tmp/trace-v10-cfg$k.bin S0,slab0,Sissued,Sdone,xchg,softmax,Pbar,PVissued; done > $OUT/trace3.txt 2>&1
[ -z "${SKIP_EXTRA:-}" ] && cuobjdump --dump-sass build/libmla.so 2>/dev/null | awk '/Function : /{p = ($3 ~ /decode_ksplit_kernelI13__nv_bfloat16Lb0ELb1ELb0ELi2E/)} p' > $OUT/sass-v10.txt
[ -z "${SKIP_EXTRA:-}" ] && { for c in 2; do MLA_BENCH_ONLY=$c timeout 150 ncu --cache-control none --clock-control none --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,lts__t_sector_hit_rate.pct -k regex:"decode_ksplit|combine" -c 4 ./build/bench bf16 10 10 2>&1 | grep -a -E "^  [a-z].*decode_ksplit|^  [a-z].*combine|duration|dram__|hit_rate" | sed 's/(mla::DecodeArgs.*//' | cut -c1-120; done; } > $OUT/ncu-dram.txt 2>&1
cat $OUT/probe3.txt
