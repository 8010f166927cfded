#!/usr/bin/env bash
# One device-tool call for the recorded run: `make reproduce` end to end on a
# GPU machine that has only the carried runtime (scripts/gpu-pack.sh), timed,
# with everything it wrote packed into $OUT/reproduce.tar.gz (the device tool
# brings back few files, so the run folder travels as one archive).
#   device run: export CARRY=.carry-repro; source scripts/gpu-env.sh; scripts/gpu-reproduce.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/reproduce-out}
mkdir -p "$OUT/gpu"
commit=$(cat "${CARRY:-.carry}/COMMIT" 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)
export MLA_COMMIT="$commit" MLA_GPU_RESULTS_DIR="$OUT/gpu"
# TEST_GPU_AFTER=<s>: leave the GPU correctness suite out of make reproduce and run it after the
# measuring, within <s> seconds (a device call short of time keeps the measurements either way)
[ -n "${TEST_GPU_AFTER:-}" ] && export REPRODUCE_SKIP_TEST_GPU=1
t0=$(date +%s)
set -o pipefail
# REPRODUCE_TIMEOUT=<s>: stop make reproduce in time for the archive below (a device call has a hard limit)
timeout "${REPRODUCE_TIMEOUT:-0}" make reproduce 2>&1 | tee "$OUT/reproduce.log"
rc=${PIPESTATUS[0]}
t1=$(date +%s)
echo "make reproduce: rc=$rc, wall $((t1 - t0)) s, commit $commit, $(date -u +%FT%TZ)" | tee -a "$OUT/reproduce.log"
# make reproduce writes the new run's figures and report to build/reproduce/ (figures/ stays the recorded run's).
if [ -n "${TEST_GPU_AFTER:-}" ]; then
  timeout "$TEST_GPU_AFTER" make --no-print-directory test-gpu > "$OUT/test-gpu.log" 2>&1
  echo "make test-gpu: rc=$? ($(grep -E 'passing|failing|pending' "$OUT/test-gpu.log" | tr -s ' ' | paste -sd,))" | tee -a "$OUT/reproduce.log"
fi
# The run folder keeps its own evidence: this log, the GPU suite's log and its gpu-correctness.csv, and the
# kernels' -Xptxas -v report (the build prints only its summary).
run=$(sed -n 's/^\[reproduce\] measuring into \([^ ]*\).*/\1/p' "$OUT/reproduce.log" | tail -1)
if [ -n "$run" ] && [ -d "$run" ]; then
  cp "$OUT/reproduce.log" "$run/reproduce.log"
  [ -f "$OUT/test-gpu.log" ] && cp "$OUT/test-gpu.log" "$run/test-gpu.log"
  [ -f "$OUT/gpu/gpu-correctness.csv" ] && cp "$OUT/gpu/gpu-correctness.csv" "$run/"
  [ -f kernels/build/ptxas-report.txt ] && cp kernels/build/ptxas-report.txt "$run/ptxas-report.txt"
fi
tar -czf "$OUT/reproduce.tar.gz" data/runs build/reproduce "$OUT/gpu" 2>/dev/null
ls -la "$OUT"
exit $rc
