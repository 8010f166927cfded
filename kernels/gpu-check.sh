#!/usr/bin/env bash
# gpu-check.sh -- one-shot check of the library on a GPU machine: build (sm_90a),
# ptxas summary and report, SASS counts per decode kernel, the native selftest of
# every version, compute-sanitizer memcheck, the native benchmark, and optionally
# Nsight Compute of one launch.
# Usage (from the repo root): bash kernels/gpu-check.sh   [logs and reports go to $OUT]
# Environment:
#   OUT=DIR        where the logs go (default /tmp/mla-out); the whole log is $OUT/kernels-perf.log
#   SKIP_BUILD=1   use the binaries already in kernels/build (built elsewhere with the
#                  same nvcc: saves device time)
#   NEW_VERSIONS=LO-HI or A,B,..  versions tested and benchmarked each in its own process
#                  (default 5 to MLA_KERNEL_VERSION_MAX), so that a crash there cannot take
#                  the other versions' results with it; the versions below LO (and 0 = auto)
#                  run together in one process
#   SKIP_OLD=1     skip the selftest, memcheck and bench of the versions below NEW_VERSIONS
#   BENCH_FP16=1   also run the fp16 benchmark
#   NCU="version:config[:kernel-regex]"  also profile one launch of that version's decode
#                  kernel on bench config index `config` (0-based, as bench prints them;
#                  e.g. NCU=10:3) with Nsight Compute; the warp-stall table goes through
#                  kernels/lab/ncu_stalls.py
set -u
OUT=${OUT:-/tmp/mla-out}
mkdir -p "$OUT"
LOG="$OUT/kernels-perf.log"
cd "$(dirname "$0")"
exec > >(tee -a "$LOG") 2>&1
VMAX=$(sed -n 's/^#define MLA_KERNEL_VERSION_MAX \([0-9]*\).*/\1/p' include/mla.h)  # the ladder's top rung
NEW=${NEW_VERSIONS:-5-$VMAX}
if [[ $NEW == *,* ]]; then LIST=${NEW//,/ }; NLO=${LIST%% *}; else NLO=${NEW%-*}; NHI=${NEW#*-}; LIST=$(seq "$NLO" "$NHI"); fi
OLDHI=$((NLO - 1))
echo "=== date: $(date -u)"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.draw,temperature.gpu --format=csv || true
echo "=== nvcc"; nvcc --version | tail -2
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -x build/selftest ] && [ -x build/bench ] && [ -f build/libmla.so ]; then
  echo "=== build: using prebuilt kernels/build ($(cat build/BUILD_INFO 2>/dev/null))"
else
  echo "=== build"
  make clean >/dev/null
  if ! make all > "$OUT/build.log" 2>&1; then cat "$OUT/build.log"; echo "BUILD FAILED"; exit 1; fi
fi
cp build/ptxas-report.txt "$OUT/ptxas-report.txt" 2>/dev/null
echo "=== ptxas summary"; tools/ptxas_summary.sh build/ptxas-report.txt
echo "=== ptxas (registers / spills), decode kernels"
grep -a -A3 "Compiling entry.*decode_" build/ptxas-report.txt | grep -a -E "Compiling|registers|spill" |
  sed 's/ptxas info    : //; s/mla::(anonymous namespace):://; s/(CUtensorMap_st, mla::DecodeArgs[^)]*)//; s/(mla::DecodeArgs)//; s/for .sm_90a.//'
echo "=== ptxas advisories: wgmma serialised (C7510/C7514/C7515/C7518/C7520), per kernel"
grep -a -E "C751[0458]|C7520" build/ptxas-report.txt | sed 's/.*(\(C75[0-9]*\)).*function /\1 /' | sort | uniq -c
echo "=== SASS instruction counts per decode kernel (bf16)"
if command -v cuobjdump >/dev/null && cuobjdump --dump-sass build/libmla.so > "$OUT/sass.txt" 2>/dev/null; then
  awk '/Function : /{name=$3} {print name "\t" $0}' "$OUT/sass.txt" | grep -a "decode_.*nv_bfloat16" > "$OUT/sass-bf16.txt"
  for v in $(seq 1 "$VMAX"); do
    # v8-v10 are instances of ksplit.cuh's decode_ksplit_kernel<T, early release, lazy softmax, cluster>,
    # as launched for b=128 h_q=128; v11 is decode_v11_kernel<T>
    case $v in
      8) k="decode_ksplit_kernelI13__nv_bfloat16Lb0ELb0ELi1E" ;;
      9) k="decode_ksplit_kernelI13__nv_bfloat16Lb1ELb1ELi1E" ;;
      10) k="decode_ksplit_kernelI13__nv_bfloat16Lb0ELb1ELi2E" ;;
      *) k="decode_v${v}_kernelI13__nv_bfloat16" ;;
    esac
    f=$(grep -a "$k" "$OUT/sass-bf16.txt")
    printf "v%d " "$v"
    for op in HGMMA WARPGROUP.DEPBAR HMMA LDSM LDGSTS UTMALDG SYNCS BAR LDL STL; do printf "%s=%s " $op "$(printf '%s\n' "$f" | grep -a -c "$op")"; done
    echo
  done
  rm -f "$OUT/sass.txt"
else
  echo "(no cuobjdump: skipped)"
fi
if [ "${SKIP_OLD:-0}" != 1 ] && [ "$OLDHI" -ge 1 ]; then
  echo "=== selftest auto and v1-v$OLDHI (full)"
  timeout 150 ./build/selftest --versions 0-$OLDHI; echo "selftest v0-v$OLDHI rc=$?"
fi
echo "=== selftest v$(echo $LIST | tr ' ' ,) (full)"
for v in $LIST; do timeout 90 ./build/selftest --versions $v-$v; echo "selftest v$v rc=$?"; done
echo "=== compute-sanitizer memcheck (selftest --quick)"
OLDR=""; [ "${SKIP_OLD:-0}" != 1 ] && [ "$OLDHI" -ge 1 ] && OLDR=0-$OLDHI
for r in $OLDR $(for v in $LIST; do echo $v-$v; done); do
  timeout 150 compute-sanitizer --tool memcheck --print-limit 20 ./build/selftest --quick --versions $r 2>&1 | grep -a -E "PASS|FAIL|ERROR SUMMARY|=========" | tail -30
  echo "memcheck versions $r rc=${PIPESTATUS[0]}"
done
echo "=== bench (bf16)"
if [ "${SKIP_OLD:-0}" != 1 ] && [ "$OLDHI" -ge 1 ]; then
  timeout 150 ./build/bench bf16 1 $OLDHI > "$OUT/bench-old.txt" 2>&1; echo "bench v1-v$OLDHI rc=$?"
  cat "$OUT/bench-old.txt"
fi
for v in $LIST; do
  # the GEMM ceiling runs once (with the old versions, else with the first new one); the copy ceiling every time
  NG=1; [ "${SKIP_OLD:-0}" = 1 ] && [ "$v" = "$NLO" ] && NG=
  env ${NG:+MLA_BENCH_NO_GEMM=1} timeout 120 ./build/bench bf16 $v $v > "$OUT/bench-v$v.txt" 2>&1; echo "bench v$v rc=$?"
  grep -a -v "^ceiling\|^device" "$OUT/bench-v$v.txt" | grep -a " v$v "
done
# NCU="version:config[:kernel-regex]": Nsight Compute of one launch of that version's decode kernel
# (or of the kernel matching the regex) on bench config `config`
if [ -n "${NCU:-}" ] && command -v ncu >/dev/null; then
  IFS=: read -r nv nc nk <<< "$NCU"
  case $nv in 8|9|10) nk=${nk:-decode_ksplit} ;; esac  # one template for all three
  echo "=== ncu v$nv config $nc ${nk:-decode_v${nv}_}"
  MLA_BENCH_ONLY=$nc MLA_BENCH_NO_GEMM=1 timeout 200 ncu --set full --clock-control none --import-source no \
    -k regex:${nk:-decode_v${nv}_} -c 1 -f -o "$OUT/ncu-v$nv" ./build/bench bf16 $nv $nv > "$OUT/ncu-v$nv.log" 2>&1; echo "ncu rc=$?"
  ncu -i "$OUT/ncu-v$nv.ncu-rep" --page details > "$OUT/ncu-v$nv-details.txt" 2>&1
  ncu -i "$OUT/ncu-v$nv.ncu-rep" --page source --csv --print-source sass > "$OUT/ncu-src.csv" 2>&1
  python3 lab/ncu_stalls.py "$OUT/ncu-src.csv" 20 > "$OUT/ncu-v$nv-stall-top.txt" 2>&1
  rm -f "$OUT/ncu-v$nv.ncu-rep" "$OUT/ncu-src.csv"
  grep -a -E "Duration|Compute \(SM\) Throughput|Memory Throughput|L2 Hit Rate|Registers Per|Tensor|Issue Slots Busy" "$OUT/ncu-v$nv-details.txt" | head -20
  head -14 "$OUT/ncu-v$nv-stall-top.txt"
fi
if [ "${BENCH_FP16:-0}" = 1 ]; then echo "=== bench (fp16)"; timeout 120 ./build/bench fp16; fi
echo "=== done $(date -u)"
echo "=== SUMMARY (bf16; us, GB/s and TFLOP/s by FlashMLA accounting)"
grep -a -h "^ceiling" "$OUT"/bench-*.txt | sort -u
{ [ -f "$OUT/bench-old.txt" ] && sed -n '/^SUMMARY/,$p' "$OUT/bench-old.txt" | grep -a -v "^SUMMARY"
  for v in $LIST; do sed -n '/^SUMMARY/,$p' "$OUT/bench-v$v.txt" | grep -a " v$v "; done; } | sort -s -k1,5
