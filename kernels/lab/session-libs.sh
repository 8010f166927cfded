#!/usr/bin/env bash
# Lab, one device call: our rungs and FlashMLA side by side over the bench grid, for one build of
# libmla or several (before/after a kernel change). Each library is checked first (selftest of its
# CHECK rungs, compute-sanitizer memcheck --quick), then timed with sidebyside.py, FlashMLA beside
# the first library; with BASE, each library is timed against BASE in the same process.
#   carry: kernels/build/selftest, the libraries, .flashmla/flash_mla + .flashmla/flash_mla_cuda*.so
#   LIBS="<libmla.so> ..." (kernels/build/libmla.so)  BASE=<libmla.so> (none)  VERSIONS="9,10"
#   CHECK="1-11" (rungs checked with the first of LIBS; "" none)  CHECK2="8-10" (with the others)
#   GRID="" (--only)  MEMCHECK_TIMEOUT=240  SBS_TIMEOUT=300
set -uo pipefail
LIBS=${LIBS:-kernels/build/libmla.so}; BASE=${BASE:-}
VERSIONS=${VERSIONS:-9,10}; CHECK=${CHECK-1-11}; CHECK2=${CHECK2-8-10}
. kernels/lab/lab-env.sh
for l in $BASE $LIBS; do sha256sum "$l"; done | tee -a "$OUT/env.txt"
i=0
for lib in $LIBS; do
  i=$((i + 1)); d=/tmp/lib$i; mkdir -p $d; cp "$lib" $d/libmla.so; cp kernels/build/selftest $d/
  r=$CHECK; [ $i -gt 1 ] && r=$CHECK2
  if [ -n "$r" ]; then
    { echo "=== $lib selftest v$r"; timeout 120 $d/selftest --versions $r | tail -4; echo "rc=${PIPESTATUS[0]}"
      echo "=== $lib memcheck v$r"; timeout ${MEMCHECK_TIMEOUT:-240} compute-sanitizer --tool memcheck --print-limit 10 $d/selftest --quick --versions $r 2>&1 | tail -3
    } 2>&1 | tee -a "$OUT/check.txt"
  fi
  fm=""; [ $i -gt 1 ] && fm=--no-flashmla
  timeout ${SBS_TIMEOUT:-300} python3 kernels/lab/sidebyside.py --lib $d/libmla.so --versions "$VERSIONS" \
    ${BASE:+--lib2 "$BASE" --versions2 "$VERSIONS"} $fm ${GRID:+--only $GRID} --out "$OUT/sbs$i.jsonl" 2>&1 | tee "$OUT/sbs$i.txt"
done
