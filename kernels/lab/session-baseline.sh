#!/usr/bin/env bash
# Lab, one device call: build FlashMLA (9edee0c) for measurement, check the new rungs (selftest,
# compute-sanitizer memcheck), then our kernels and FlashMLA side by side over the bench grid.
#   carry: .flashmla kernels/build (built here: make -C kernels all); results under $OUT
#   VERSIONS="9,10,11" (side by side)  CHECK="11" (selftest + memcheck; "" none)  GRID="" (--only)
#   LIB2=<another libmla.so> VERSIONS2="9,10" (its versions run as b<v>)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
VERSIONS=${VERSIONS:-9,10,11}; CHECK=${CHECK:-11}
{
date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv
nvcc --version | tail -1; python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)'
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
if [ ! -d /tmp/fm ]; then
  if ls .flashmla/flash_mla_cuda*.so >/dev/null 2>&1; then mkdir -p /tmp/fm && cp -r .flashmla/flash_mla .flashmla/flash_mla_cuda*.so /tmp/fm/
  else
    kernels/lab/flashmla-build.sh .flashmla/flashmla-9edee0c-src.tar.xz /tmp/fm 2>&1 | tee "$OUT/flashmla-build.txt"
    (cd /tmp/fm && tar -cJf "$OUT/flashmla-9edee0c-built.tar.xz" flash_mla flash_mla_cuda*.so build.log)
  fi
fi
export PYTHONPATH=/tmp/fm PYTHONUNBUFFERED=1 MLA_V5_STRICT=1
{
for v in ${CHECK//,/ }; do
  echo "=== selftest v$v"; timeout 120 kernels/build/selftest --versions $v-$v | tail -25; echo "rc=${PIPESTATUS[0]}"
  echo "=== memcheck v$v"; timeout 240 compute-sanitizer --tool memcheck --print-limit 10 kernels/build/selftest --quick --versions $v-$v 2>&1 | tail -8
done
} 2>&1 | tee "$OUT/check.txt"
timeout ${SBS_TIMEOUT:-400} python3 kernels/lab/sidebyside.py --lib kernels/build/libmla.so --versions "$VERSIONS" --out "$OUT/sbs.jsonl" \
  ${LIB2:+--lib2 $LIB2 --versions2 $VERSIONS2} ${GRID:+--only $GRID} 2>&1 | tee "$OUT/sbs.txt"
