#!/usr/bin/env bash
# gpu-check.sh -- one-shot check on a GPU machine: build (sm_90a), ptxas
# numbers, SASS counts, selftest, compute-sanitizer memcheck, benchmarks.
# Usage (from the repo root): bash kernels/gpu-check.sh  [writes logs to $OUT]
# Environment:
#   SKIP_BUILD=1   use the binaries already in kernels/build (built elsewhere
#                  with the same nvcc; saves device time)
#   NEW_VERSIONS=LO-HI or A,B,..  versions tested in their own processes (default 5 to MLA_KERNEL_VERSION_MAX),
#                  so that a crash there cannot take the older versions' results with it
#   BENCH_FP16=1   also run the fp16 benchmark
#   SKIP_OLD=1     skip selftest/memcheck/bench of the versions below NEW_VERSIONS
#   VARIANTS="label:version:ENV=VALUE ..."  tuning-knob variants to selftest, memcheck and bench
#   NCU="version:config[:regex]"  also profile one launch of that version on bench config index `config` (Nsight Compute)
#   TRACE="version:configs[:names]"  timeline probe of that version (make trace first; see below)
set -u
OUT=${OUT:-/tmp/mla-out}
mkdir -p "$OUT"
LOG="$OUT/kernels-perf.log"
cd "$(dirname "$0")"
exec > >(tee -a "$LOG") 2>&1
VMAX=$(sed -n 's/^#define MLA_KERNEL_VERSION_MAX \([0-9]*\).*/\1/p' include/mla.h)  # the ladder's top rung
NEW=${NEW_VERSIONS:-5-$VMAX}
if [[ $NEW == *,* ]]; then LIST=${NEW//,/ }; NLO=${LIST%% *}; else NLO=${NEW%-*}; NHI=${NEW#*-}; LIST=$(seq $NLO $NHI); fi
OLDHI=$((NLO - 1))
export MLA_V5_STRICT=1   # v5/v6: tensor-map failure is an error, not a silent v4 fallback
echo "=== date: $(date -u)"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.draw,temperature.gpu --format=csv || true
echo "=== nvcc"; nvcc --version | tail -2
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -x build/selftest ] && [ -x build/bench ] && [ -f build/libmla.so ]; then
  echo "=== build: using prebuilt kernels/build ($(cat build/BUILD_INFO 2>/dev/null))"
else
  echo "=== build"
  make clean >/dev/null
  if ! make -j8 all > "$OUT/build.log" 2>&1; then cat "$OUT/build.log"; echo "BUILD FAILED"; exit 1; fi
fi
cp build/ptxas-report.txt "$OUT/ptxas-report.txt" 2>/dev/null
echo "=== ptxas (registers / smem / spills), decode kernels"
grep -a -A3 "Compiling entry.*decode_" build/ptxas-report.txt | grep -a -E "Compiling|registers|spill" | sed 's/ptxas info    : //; s/(mla::DecodeArgs)//; s/for .sm_90a.//'
echo "=== ptxas advisories: wgmma serialised (C7510/C7514/C7515/C7518/C7520), per kernel"; grep -a -E "C751[0458]|C7520" build/ptxas-report.txt | sed 's/.*(\(C75[0-9]*\)).*function /\1 /' | sort | uniq -c
echo "=== SASS instruction counts per decode kernel (bf16)"
if cuobjdump --dump-sass build/libmla.so > /tmp/mla-sass.txt 2>/dev/null; then
  awk '/Function : /{name=$3} {print name "\t" $0}' /tmp/mla-sass.txt | grep -a "decode_.*nv_bfloat16" > /tmp/mla-sass-bf16.txt
  for v in $(seq 1 "$VMAX"); do
    # v8-v10 are instances of one template (ksplit.cuh): <T, early release, lazy softmax, dry probe, cluster, page pairs>, as launched for b=128 h_q=128
    case $v in 8) k="decode_ksplit_kernelI13__nv_bfloat16Lb0ELb0ELb0ELi1ELi0E" ;; 9) k="decode_ksplit_kernelI13__nv_bfloat16Lb1ELb1ELb0ELi1ELi0E" ;;
      10) k="decode_ksplit_kernelI13__nv_bfloat16Lb0ELb1ELb0ELi2ELi0E" ;; *) k="decode_v${v}_kernel" ;; esac
    f=$(grep -a "$k" /tmp/mla-sass-bf16.txt)
    printf "v%d " $v; for k in HGMMA WARPGROUP.DEPBAR HMMA LDSM LDGSTS UTMALDG SYNCS BAR LDL STL; do printf "%s=%s " $k "$(printf '%s\n' "$f" | grep -a -c "$k")"; done; echo
  done
fi
if [ "${SKIP_OLD:-0}" != 1 ]; then
echo "=== selftest v1-v$OLDHI (full)"
timeout 150 ./build/selftest --versions 1-$OLDHI; echo "selftest v1-v$OLDHI rc=$?"
fi
echo "=== selftest v$(echo $LIST | tr " " ,) (full)"
for v in $LIST; do timeout 90 ./build/selftest --versions $v-$v; echo "selftest v$v rc=$?"; done
# tuning-knob variants (label:version:ENV=VALUE)
VARIANTS=${VARIANTS-}  # e.g. "v5c4:5:MLA_V5_CHAINS=4 v6c4:6:MLA_V6_CHAINS=4" (opt-in: costs device time)
for var in $VARIANTS; do
  IFS=: read lab ver kv <<< "$var"
  timeout 90 env $kv ./build/selftest --versions $ver-$ver | grep -a -E "FAIL|PASSED|failure"; echo "selftest $lab ($kv) rc=${PIPESTATUS[0]}"
done
echo "=== compute-sanitizer memcheck (selftest --quick)"
OLDR=1-$OLDHI; [ "${SKIP_OLD:-0}" = 1 ] && OLDR=
for r in $OLDR $(for v in $LIST; do echo $v-$v; done); do
  timeout 150 compute-sanitizer --tool memcheck --print-limit 20 ./build/selftest --quick --versions $r 2>&1 | grep -a -E "PASS|FAIL|ERROR SUMMARY|=========" | tail -30
  echo "memcheck versions $r rc=${PIPESTATUS[0]}"
done
for var in $VARIANTS; do
  IFS=: read lab ver kv <<< "$var"
  timeout 150 env $kv compute-sanitizer --tool memcheck --print-limit 20 ./build/selftest --quick --versions $ver-$ver 2>&1 | grep -a -E "FAIL|ERROR SUMMARY" | tail -5
  echo "memcheck $lab ($kv) rc=${PIPESTATUS[0]}"
done
echo "=== bench (bf16)"
CUB=$(ls /usr/local/cuda/lib64/libcublas.so* 2>/dev/null | head -1)
[ -z "$CUB" ] && CUB=$(find / -name 'libcublas.so*' -not -path '*/proc/*' 2>/dev/null | head -1)
export MLA_CUBLAS_PATH="$CUB"; echo "cublas: $CUB"
if [ "${SKIP_OLD:-0}" != 1 ]; then
timeout 150 ./build/bench bf16 1 $OLDHI > "$OUT/bench-old.txt" 2>&1; echo "bench v1-v$OLDHI rc=$?"
cat "$OUT/bench-old.txt"
fi
for v in $LIST; do
  NG=1; [ "${SKIP_OLD:-0}" = 1 ] && [ "$v" = "$NLO" ] && NG=
  env ${NG:+MLA_BENCH_NO_GEMM=1} timeout 120 ./build/bench bf16 $v $v > "$OUT/bench-v$v.txt" 2>&1; echo "bench v$v rc=$?"
  grep -a -v "^probe\|^device" "$OUT/bench-v$v.txt" | grep -a " v$v " 
done
for var in $VARIANTS; do
  IFS=: read lab ver kv <<< "$var"
  env $kv MLA_BENCH_NO_GEMM=1 timeout 120 ./build/bench bf16 $ver $ver 2>&1 | sed "s/ v$ver / $lab /" > "$OUT/bench-$lab.txt"; echo "bench $lab ($kv) rc=$?"
  grep -a " $lab " "$OUT/bench-$lab.txt" | grep -a -v "us .*GB/s .*TFLOP/s$"
done
# NCU="version:config[:kernel-regex]" (e.g. 8:3): Nsight Compute of one launch of that version's decode kernel
# (or of the kernel matching the regex) on bench config `config`
if [ -n "${NCU:-}" ] && command -v ncu >/dev/null; then
  IFS=: read nv nc nk <<< "$NCU"
  case $nv in 8|9|10) nk=${nk:-decode_ksplit} ;; esac  # one template for all three
  echo "=== ncu v$nv config $nc ${nk:-decode}"
  MLA_BENCH_ONLY=$nc MLA_BENCH_NO_GEMM=1 timeout 200 ncu --set full --clock-control none --import-source no \
    -k regex:${nk:-decode_v${nv}_} -c 1 -f -o "$OUT/ncu-v$nv" ./build/bench bf16 $nv $nv > "$OUT/ncu-v$nv.log" 2>&1; echo "ncu rc=$?"
  ncu -i "$OUT/ncu-v$nv.ncu-rep" --page details > "$OUT/ncu-v$nv-details.txt" 2>&1
  ncu -i "$OUT/ncu-v$nv.ncu-rep" --page source --csv --print-source sass > /tmp/ncu-src.csv 2>&1
  python3 tools/ncu_stalls.py /tmp/ncu-src.csv 20 > "$OUT/ncu-v$nv-stall-top.txt" 2>&1
  rm -f "$OUT/ncu-v$nv.ncu-rep"
  grep -a -E "Duration|Compute \(SM\) Throughput|Memory Throughput|L2 Hit Rate|Registers Per|Tensor|Issue Slots Busy" "$OUT/ncu-v$nv-details.txt" | head -20
  head -14 "$OUT/ncu-v$nv-stall-top.txt"
fi
# TRACE="version:configs[:event names]" (e.g. 9:3,6): timeline probe (src/trace.cuh; needs `make trace`)
# of that version on those bench configs, reduced by tools/trace_summary.py (the dumps are deleted)
if [ -n "${TRACE:-}" ] && [ -x build/trace/bench ]; then
  IFS=: read tv tc tn <<< "$TRACE"
  echo "=== timeline probe v$tv, bench configs $tc"
  MLA_BENCH_ONLY=$tc MLA_BENCH_NO_GEMM=1 MLA_TRACE_DIR="$OUT" timeout 120 ./build/trace/bench bf16 $tv $tv > "$OUT/trace-bench-v$tv.txt" 2>&1
  echo "trace bench rc=$?"; grep -a " v$tv " "$OUT/trace-bench-v$tv.txt" | grep -a -v "us .*GB/s .*TFLOP/s$"
  for c in ${tc//,/ }; do
    python3 tools/trace_summary.py "$OUT/trace-v$tv-cfg$c.bin" ${tn:-S0,slab0,Sissued,Sdone,xchg,softmax,Pbar,PVissued}
  done > "$OUT/trace-summary-v$tv.txt" 2>&1
  cat "$OUT/trace-summary-v$tv.txt"; rm -f "$OUT"/trace-v*-cfg*.bin
fi
if [ "${BENCH_FP16:-0}" = 1 ]; then echo "=== bench (fp16)"; timeout 120 ./build/bench fp16; fi
echo "=== done $(date -u)"
echo "=== SUMMARY (bf16; us, GB/s and TFLOP/s by FlashMLA accounting)"
grep -a -h "^probe" "$OUT"/bench-*.txt | sort -u
{ [ -f "$OUT/bench-old.txt" ] && sed -n '/^SUMMARY/,$p' "$OUT/bench-old.txt" | grep -a -v "^SUMMARY"; for v in $LIST; do sed -n '/^SUMMARY/,$p' "$OUT/bench-v$v.txt" | grep -a " v$v "; done;
  for var in $VARIANTS; do lab=${var%%:*}; [ -f "$OUT/bench-$lab.txt" ] && sed -n '/^SUMMARY/,$p' "$OUT/bench-$lab.txt" | grep -a " $lab "; done; } | sort -s -k1,5
