#!/usr/bin/env bash
# make test, after its pre-flight and `make build`: everything that runs without a GPU.
#
#   scripts/test.sh
#
# Where nvcc exists, `make -C kernels lib` compiles the kernels (no GPU needed)
# while the notebooks run: each is mostly one core, so on a 2-core machine this
# saves the compile's minutes. Its output goes to build/kernels-lib.log, whose
# tail is shown when it ends. Then every notebook is executed top to bottom and
# compared with its committed outputs (scripts/notebooks.sh --check --compare),
# then the unit tests run (mocha's summary closes the output). GPU-only tests
# report themselves pending, with the reason.
# Exit status: 0 all passed; 1 the kernel build, a notebook or a test failed; 2 bad arguments.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
prog=test usage="usage: scripts/test.sh"
case "${1:-}" in
  "") ;;
  -h|--help) print_header "$0"; exit 0 ;;
  *) bad_usage "unexpected argument '$1'" ;;
esac

say() { printf '[test] %s\n' "$*" >&2; }
kpid=""
klog=build/kernels-lib.log
if command -v nvcc >/dev/null 2>&1; then
  mkdir -p build
  say "compiling the kernels in the background (make -C kernels lib > $klog)"
  make --no-print-directory -C kernels lib > "$klog" 2>&1 &
  kpid=$!
  # Stop the compile if this script is interrupted.
  trap '[ -z "$kpid" ] || kill "$kpid" 2>/dev/null' EXIT
else
  say "nvcc not found: skipping the kernel build (GPU tests will be pending)"
fi

NOTEBOOKS_SKIP_BUILD=1 scripts/notebooks.sh --check --compare
nb=$?

kr=0
if [ -n "$kpid" ]; then
  wait "$kpid"
  kr=$?
  kpid=""
  say "kernel build (make -C kernels lib) ended with status $kr; the last lines of $klog:"
  tail -n 15 "$klog" >&2
fi
if [ $nb -ne 0 ] || [ $kr -ne 0 ]; then
  [ $nb -eq 0 ] || say "FAILED: the notebooks (see above)"
  [ $kr -eq 0 ] || say "FAILED: the kernel build (full log: $klog)"
  exit 1
fi

node node_modules/mocha/bin/mocha.js
