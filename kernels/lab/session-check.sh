#!/usr/bin/env bash
# Lab, one device call: the native selftest of every version (full) and compute-sanitizer
# memcheck of the TMA rungs (quick cases), on the carried kernels/build. Also builds FlashMLA
# into /tmp/fm (kept for session-baseline.sh / session-ncu.sh on the same warm machine).
#   carry: kernels/build .flashmla ; results under $OUT
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
MEMCHECK=${MEMCHECK:-5-11}
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv; } | tee "$OUT/env.txt"
if [ ! -d /tmp/fm ] && [ -f .flashmla/flashmla-9edee0c-src.tar.xz ] && ! ls .flashmla/flash_mla_cuda*.so >/dev/null 2>&1; then
  ( kernels/lab/flashmla-build.sh .flashmla/flashmla-9edee0c-src.tar.xz /tmp/fm > "$OUT/flashmla-build.txt" 2>&1
    cd /tmp/fm && tar -cJf "$OUT/flashmla-9edee0c-built.tar.xz" flash_mla flash_mla_cuda*.so build.log ) &
  fm_pid=$!
fi
{
echo "=== selftest (all versions, 0 = auto)"; timeout 240 kernels/build/selftest; echo "selftest rc=$?"
echo "=== memcheck v$MEMCHECK (quick)"
timeout 300 compute-sanitizer --tool memcheck --print-limit 10 kernels/build/selftest --quick --versions $MEMCHECK 2>&1 | tail -12
} 2>&1 | tee "$OUT/check.txt" | grep -E "FAIL|PASS.*v11|ALL PASSED|FAILED|rc=|ERROR SUMMARY|===|no device"
[ -n "${fm_pid:-}" ] && { wait $fm_pid; tail -2 "$OUT/flashmla-build.txt"; }
ls -la "$OUT"
