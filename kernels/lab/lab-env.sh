# Sourced at the start of the lab's session scripts (each one device call): $OUT, the machine's
# provenance (date, GPU, driver, clocks, nvcc, torch) in $OUT/env.txt, and FlashMLA importable from
# /tmp/fm: the carried built module (.flashmla/flash_mla + .flashmla/flash_mla_cuda*.so), else built
# from the carried source archive (.flashmla/flashmla-9edee0c-src.tar.xz, about 2.5 minutes on 16
# cores; the build comes back as $OUT/flashmla-9edee0c-built.tar.xz, to carry next time).
#   LAB_FLASHMLA=bg   build it in the background (lab_flashmla_wait waits for it)
#   LAB_FLASHMLA=none leave FlashMLA out
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv
  nvcc --version | tail -1; python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)'
} >> "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
export PYTHONPATH=/tmp/fm${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
lab_fm_pid=""
lab_build_flashmla() {
  kernels/lab/flashmla-build.sh .flashmla/flashmla-9edee0c-src.tar.xz /tmp/fm > "$OUT/flashmla-build.txt" 2>&1
  (cd /tmp/fm && tar -cJf "$OUT/flashmla-9edee0c-built.tar.xz" flash_mla flash_mla_cuda*.so build.log)
  tail -2 "$OUT/flashmla-build.txt"
}
if [ ! -d /tmp/fm ] && [ "${LAB_FLASHMLA:-}" != none ]; then
  if ls .flashmla/flash_mla_cuda*.so >/dev/null 2>&1; then
    mkdir -p /tmp/fm && cp -r .flashmla/flash_mla .flashmla/flash_mla_cuda*.so /tmp/fm/
  elif [ -f .flashmla/flashmla-9edee0c-src.tar.xz ]; then
    if [ "${LAB_FLASHMLA:-}" = bg ]; then lab_build_flashmla & lab_fm_pid=$!; else lab_build_flashmla; fi
  else
    echo "lab-env: no FlashMLA carried (.flashmla/): the comparisons run without it"
  fi
fi
lab_flashmla_wait() { [ -z "$lab_fm_pid" ] || wait "$lab_fm_pid"; }
