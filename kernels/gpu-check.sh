#!/usr/bin/env bash
# gpu-check.sh -- one-shot check on a GPU machine: build (sm_90a), selftest,
# compute-sanitizer memcheck, ptxas numbers, and the v1/v2 benchmark.
# Usage (from the repo root): bash kernels/gpu-check.sh  [writes logs to $OUT]
set -u
OUT=${OUT:-/tmp/mla-out}
mkdir -p "$OUT"
LOG="$OUT/kernels-native.log"
cd "$(dirname "$0")"
exec > >(tee -a "$LOG") 2>&1
echo "=== date: $(date -u)"
echo "=== nvidia-smi"; nvidia-smi || true
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,power.draw,temperature.gpu --format=csv || true
echo "=== nvcc"; nvcc --version | tail -2
echo "=== build"
make clean >/dev/null
if ! make -j4 all > "$OUT/build.log" 2>&1; then cat "$OUT/build.log"; echo "BUILD FAILED"; exit 1; fi
cp build/ptxas-report.txt "$OUT/ptxas-report.txt"
echo "=== ptxas (registers / smem / spills)"
grep -E "Compiling entry|registers|spill" build/ptxas-report.txt | sed 's/ptxas info    : //'
echo "=== SASS instruction counts (libmla.so)"
cuobjdump --dump-sass build/libmla.so > "$OUT/sass.txt" 2>/dev/null && for k in HGMMA HMMA LDSM LDGSTS LDL STL; do printf "%-7s %s\n" $k "$(grep -c "$k" "$OUT/sass.txt")"; done; rm -f "$OUT/sass.txt"
echo "=== selftest (full)"
timeout 180 ./build/selftest; echo "selftest rc=$?"
echo "=== compute-sanitizer memcheck (selftest --quick)"
timeout 150 compute-sanitizer --tool memcheck --print-limit 20 ./build/selftest --quick 2>&1 | tail -25; echo "memcheck rc=${PIPESTATUS[0]}"
echo "=== bench (bf16)"
CUB=$(ls /usr/local/cuda/lib64/libcublas.so* 2>/dev/null | head -1)
[ -z "$CUB" ] && CUB=$(find / -name 'libcublas.so*' -not -path '*/proc/*' 2>/dev/null | head -1)
export MLA_CUBLAS_PATH="$CUB"; echo "cublas: $CUB"
timeout 150 ./build/bench bf16; echo "bench rc=$?"
echo "=== bench (fp16)"
timeout 120 ./build/bench fp16; echo "bench fp16 rc=$?"
echo "=== done $(date -u)"
