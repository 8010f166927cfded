#!/usr/bin/env bash
# One device-tool call: build the kernels, run the native selftest (also under
# compute-sanitizer), the full TypeScript correctness suite against the float64
# reference, and keep every log under $OUT (default data/gpu-runs/latest).
#   device run: source scripts/gpu-env.sh; scripts/gpu-suite.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-data/gpu-runs/latest}
mkdir -p "$OUT"
log="$OUT/gpu-suite.log"
{
  echo "=== date: $(date -u +%FT%TZ)"
  echo "=== commit: $(cat "${CARRY:-.carry}/COMMIT" 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,memory.total --format=csv
  nvcc --version | tail -2
} > "$log" 2>&1
# KERNELS_DIR=.carry/head/kernels builds the committed kernels rather than the working tree.
K=${KERNELS_DIR:-kernels}
make -C "$K" lib selftest >> "$log" 2>&1 || { echo "kernel build failed" | tee -a "$log"; tail -30 "$log"; exit 1; }
export MLA_LIB="$PWD/$K/build/libmla.so"
cp "$K/build/ptxas-report.txt" "$OUT/ptxas-report.txt"
echo "=== selftest" >> "$log"
"$K/build/selftest" >> "$log" 2>&1; st=$?
echo "selftest rc=$st" | tee -a "$log"
echo "=== compute-sanitizer memcheck (selftest)" >> "$log"
compute-sanitizer --tool memcheck --error-exitcode 9 "$K/build/selftest" > "$OUT/sanitizer-memcheck.log" 2>&1; ms=$?
tail -3 "$OUT/sanitizer-memcheck.log" >> "$log"; echo "memcheck rc=$ms" | tee -a "$log"
echo "=== mocha GPU suite" >> "$log"
MLA_GPU_RESULTS_DIR="$OUT" node node_modules/mocha/bin/mocha.js --no-config --timeout 600000 --reporter dot dist/test/gpu-decode.test.js dist/test/sched.test.js > "$OUT/mocha-gpu.log" 2>&1; mr=$?
tail -40 "$OUT/mocha-gpu.log" >> "$log"; echo "mocha rc=$mr" | tee -a "$log"
tail -25 "$OUT/mocha-gpu.log"
exit $(( st != 0 || ms != 0 || mr != 0 ))
