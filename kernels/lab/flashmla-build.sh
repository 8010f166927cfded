#!/usr/bin/env bash
# Lab, on a GPU machine: builds FlashMLA from a source archive for measurement only (never committed).
#   kernels/lab/flashmla-build.sh <archive.tar.xz> <build dir>
# The archive holds a FlashMLA checkout with cutlass's include/ under csrc/cutlass/include
# (baselines/README.md says how to make it). Afterwards `PYTHONPATH=<build dir> python3 -c 'import flash_mla'` works.
set -euo pipefail
src=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
tar -xJf "$src" -C "$dir"
cd "$dir"
t0=$(date +%s)
CPLUS_INCLUDE_PATH=/usr/local/cuda/include/cccl FLASH_MLA_DISABLE_FP16=1 MAX_JOBS=8 NVCC_THREADS=8 \
  python3 setup.py build_ext --inplace > build.log 2>&1 || { tail -40 build.log; exit 1; }
echo "FlashMLA built in $(( $(date +%s) - t0 )) s: $(ls flash_mla_cuda*.so)"
PYTHONPATH=$PWD python3 -c 'import flash_mla, sys; print("import flash_mla ok:", flash_mla.__file__)'
