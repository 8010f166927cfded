#!/usr/bin/env bash
# Lab, one device call: the native selftest of every version (full) and compute-sanitizer memcheck
# (quick cases) of the rungs MEMCHECK, on the carried kernels/build; FlashMLA set up alongside
# (lab-env.sh), for session-libs.sh / session-ncu.sh on the same warm machine.
#   carry: kernels/build .flashmla ; results under $OUT
set -uo pipefail
MEMCHECK=${MEMCHECK:-5-11}
LAB_FLASHMLA=bg . kernels/lab/lab-env.sh
{
echo "=== selftest (all versions, 0 = auto)"; timeout 240 kernels/build/selftest; echo "selftest rc=$?"
echo "=== memcheck v$MEMCHECK (quick)"
timeout 300 compute-sanitizer --tool memcheck --print-limit 10 kernels/build/selftest --quick --versions $MEMCHECK 2>&1 | tail -12
} 2>&1 | tee "$OUT/check.txt" | grep -E "FAIL|PASS.*v11|ALL PASSED|FAILED|rc=|ERROR SUMMARY|===|no device"
lab_flashmla_wait
ls -la "$OUT"
