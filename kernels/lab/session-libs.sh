#!/usr/bin/env bash
# Lab, one device call: compare builds of libmla side by side (before/after a kernel change).
# Each library is checked first (selftest of CHECK's rungs, compute-sanitizer memcheck --quick),
# then timed with sidebyside.py against the first one (BASE), FlashMLA in the first comparison.
#   carry: kernels/build/selftest, the libraries, .flashmla/flash_mla + .flashmla/flash_mla_cuda*.so
#   BASE=<libmla.so>  LIBS="<libmla.so> ..."  VERSIONS="9,10"  CHECK="1-11" (rungs checked with the first of LIBS)  CHECK2="8-10" (with the others)  GRID="" (--only)  MEMCHECK_TIMEOUT=240  SBS_TIMEOUT=300
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
VERSIONS=${VERSIONS:-9,10}; CHECK=${CHECK:-1-11}; CHECK2=${CHECK2:-8-10}
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv
  nvcc --version | tail -1; python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)'
  for l in $BASE $LIBS; do sha256sum "$l"; done; } > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
if ls .flashmla/flash_mla_cuda*.so >/dev/null 2>&1; then export PYTHONPATH=$PWD/.flashmla; fi
export PYTHONUNBUFFERED=1
i=0
for lib in $LIBS; do
  i=$((i + 1)); d=/tmp/lib$i; mkdir -p $d; cp "$lib" $d/libmla.so; cp kernels/build/selftest $d/
  r=$CHECK; [ $i -gt 1 ] && r=$CHECK2
  { echo "=== $lib selftest v$r"; timeout 120 $d/selftest --versions $r | tail -4; echo "rc=${PIPESTATUS[0]}"
    echo "=== $lib memcheck v$r"; timeout ${MEMCHECK_TIMEOUT:-240} compute-sanitizer --tool memcheck --print-limit 10 $d/selftest --quick --versions $r 2>&1 | tail -3
  } 2>&1 | tee -a "$OUT/check.txt"
  fm=""; [ $i -gt 1 ] && fm=--no-flashmla
  timeout ${SBS_TIMEOUT:-300} python3 kernels/lab/sidebyside.py --lib $d/libmla.so --versions "$VERSIONS" \
    --lib2 "$BASE" --versions2 "$VERSIONS" $fm ${GRID:+--only $GRID} --out "$OUT/sbs$i.jsonl" 2>&1 | tee "$OUT/sbs$i.txt"
done
