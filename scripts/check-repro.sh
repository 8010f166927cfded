#!/usr/bin/env bash
# Does a fresh run reproduce the recorded one? (make check-repro)
#
#   scripts/check-repro.sh [--fresh DIR] [--recorded DIR] [--quick] [--floor F] [--k K]
#                          [--allow-other-gpu] [--json FILE]
#
# --fresh DIR: compare that run folder (e.g. the one `make reproduce` just
#   measured, or one copied from another machine) with the recorded run; no
#   GPU needed.
# Without --fresh, on a machine with a CUDA GPU: build the kernels, measure
#   every sweep (our kernels; --quick for the subset) into
#   data/runs/<UTC date>-<gpu>-check/ (resumable), then compare.
# Without --fresh and without a GPU: say so and exit 4; nothing is compared.
# The recorded run is --recorded, else the one named in data/runs/RECORDED,
# else the newest run folder, chosen before anything is measured.
# The comparison and its tolerance rule: src/artifact/check-repro.ts.
#
# Environment: CHECK_REPRO_NO_GPU=1 takes the no-GPU path even with a GPU;
# CHECK_REPRO_RUNS_ROOT (data/runs) moves the run folders; CHECK_REPRO_SKIP_BUILD=1
# skips `make build` (the Makefile already built).
# Exit status: 0 every claim reproduced (or faster); 1 a claim failed (slower
# beyond tolerance, missing, error) or measuring failed; 2 bad arguments or no
# recorded run; 3 different GPU models (shown, not judged; --allow-other-gpu);
# 4 no GPU here and no --fresh folder to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

runs_root=${CHECK_REPRO_RUNS_ROOT:-data/runs}
usage="usage: scripts/check-repro.sh [--fresh DIR] [--recorded DIR] [--quick] [--floor F] [--k K] [--allow-other-gpu] [--json FILE]"
prog=check-repro
fresh=""
recorded=""
quick=0
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) need_value "$1" "${2:-}"; fresh=$2; shift ;;
    --fresh=*) fresh="${1#*=}" ;;
    --recorded) need_value "$1" "${2:-}"; recorded=$2; shift ;;
    --recorded=*) recorded="${1#*=}" ;;
    --quick) quick=1 ;;
    --floor|--k|--json) need_value "$1" "${2:-}"; pass+=("$1" "$2"); shift ;;
    --allow-other-gpu) pass+=("$1") ;;
    -h|--help) print_header "$0"; exit 0 ;;
    *) bad_usage "unknown argument '$1'" ;;
  esac
  shift
done
say() { printf '[check-repro] %s\n' "$*" >&2; }

if [ "${CHECK_REPRO_SKIP_BUILD:-0}" != 1 ]; then
  make build >&2
fi

if [ -z "$recorded" ]; then
  find_recorded_run "$runs_root"
  recorded=$REC why=$REC_WHY
  if [ -z "$recorded" ]; then
    say "no recorded run to compare with ($why)."
    exit 2
  fi
  say "recorded run: $recorded ($why)"
fi

if [ -z "$fresh" ]; then
  gpu_reason=$(no_gpu_reason "${CHECK_REPRO_NO_GPU:-0}" CHECK_REPRO_NO_GPU)
  if [ -n "$gpu_reason" ]; then
    say "NO GPU on this machine ($gpu_reason): nothing can be measured, so nothing was compared."
    say "To compare two run folders without a GPU: make check-repro FRESH=<run folder> [RECORDED=<run folder>]"
    say "  (scripts/check-repro.sh --fresh DIR [--recorded DIR])."
    exit 4
  fi
  say "building the kernels (make kernels)"
  make kernels >&2
  count=$(node dist/src/sweep/cli.js gpu-count 2>/tmp/check-repro-gpu.$$ || echo 0)
  if [ "${count:-0}" -lt 1 ]; then
    say "nvidia-smi sees a GPU but the GPU binding cannot open it: $(cat /tmp/check-repro-gpu.$$)"
    rm -f /tmp/check-repro-gpu.$$
    exit 1
  fi
  rm -f /tmp/check-repro-gpu.$$
  # A folder of its own: the plain <date>-<gpu> name could be the recorded run itself (same GPU, same day).
  fresh="$(node dist/src/sweep/cli.js run-dir --root "$runs_root")-check"
  quick_flag=()
  [ "$quick" = 1 ] && quick_flag=(--quick)
  say "measuring our kernels into $fresh ${quick_flag[*]:-(full sweeps)}"
  node dist/src/sweep/cli.js run --out "$fresh" "${quick_flag[@]}"
fi

say "comparing $fresh with $recorded"
exec node dist/src/artifact/check-repro.js --fresh "$fresh" --recorded "$recorded" "${pass[@]}"
