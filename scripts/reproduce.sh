#!/usr/bin/env bash
# Regenerates the study's data, figures and report.
#
#   scripts/reproduce.sh [--quick] [--run-dir DIR] [--no-baselines]
#
# With a CUDA GPU (nvidia-smi sees one and the GPU binding can open it):
#   build the kernels, run the GPU correctness tests (make test-gpu), measure
#   every sweep of data/sweeps/ into data/runs/<UTC date>-<gpu>/ (resumable:
#   re-running the same day continues where it stopped), run the PyTorch
#   baseline (and FlashMLA if importable), draw figures/ and write
#   figures/REPORT.md with the new numbers next to the recorded ones.
# Without one:
#   draw figures/ and figures/REPORT.md from the recorded run (the folder
#   named in data/runs/RECORDED, else the newest under data/runs/), and say so.
#
# Environment: REPRODUCE_QUICK=1 is the same as --quick; CHROMIUM=<path> picks the browser
# used for static figures (default /usr/bin/chromium); REPRODUCE_RUNS_ROOT (data/runs) and
# REPRODUCE_FIGURES (figures) move the data and output folders; REPRODUCE_SKIP_BUILD=1 skips
# `make build` (tests, or when the Makefile already built); REPRODUCE_NO_GPU=1 takes the
# no-GPU path (recorded data) even where a GPU is present.
# Exit status: 0 done; 1 a step failed; 2 no GPU and no recorded data to draw from.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

quick=${REPRODUCE_QUICK:-0}
runs_root=${REPRODUCE_RUNS_ROOT:-data/runs}
fig_dir=${REPRODUCE_FIGURES:-figures}
run_dir=""
baselines=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --run-dir) run_dir="$2"; shift ;;
    --run-dir=*) run_dir="${1#*=}" ;;
    --no-baselines) baselines=0 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "reproduce: unknown argument '$1' (see --help)" >&2; exit 1 ;;
  esac
  shift
done
quick_flag=()
[ "$quick" = 1 ] && quick_flag=(--quick)

say() { printf '\n[reproduce] %s\n' "$*" >&2; }
fig_flags=()
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  # Measuring must not be wasted for want of a browser: draw the interactive pages, say what is missing.
  fig_flags=(--html-only)
fi
fig_note() {
  if [ ${#fig_flags[@]} -gt 0 ]; then
    say "WARNING: no Chromium at ${CHROMIUM:-/usr/bin/chromium}: only the interactive .html figures were drawn. For .svg/.png/.pdf: apt-get install chromium, then 'make figures'."
  fi
}
t0=$(date +%s)

if [ "${REPRODUCE_SKIP_BUILD:-0}" != 1 ]; then
  say "building the TypeScript (make build)"
  make build
fi

gpu_reason=$(no_gpu_reason "${REPRODUCE_NO_GPU:-0}" REPRODUCE_NO_GPU)
have_gpu=0
[ -n "$gpu_reason" ] || have_gpu=1

if [ "$have_gpu" = 1 ]; then
  if ! command -v nvcc >/dev/null 2>&1 && [ ! -f kernels/build/libmla.so ]; then
    say "ERROR: this machine has a GPU ($(nvidia-smi -L | head -1)) but no nvcc to build the kernels and no kernels/build/libmla.so."
    say "Install the CUDA toolkit (12.3+), or run 'make figures' to draw the recorded data instead."
    exit 1
  fi
  say "building the kernels (make kernels)"
  make kernels
  count=$(node dist/src/sweep/cli.js gpu-count 2>/tmp/reproduce-gpu-reason.$$ || echo 0)
  if [ "${count:-0}" -lt 1 ]; then
    say "ERROR: nvidia-smi sees a GPU but the GPU binding cannot open it: $(cat /tmp/reproduce-gpu-reason.$$)"
    rm -f /tmp/reproduce-gpu-reason.$$
    exit 1
  fi
  rm -f /tmp/reproduce-gpu-reason.$$
fi

if [ "$have_gpu" = 1 ]; then
  say "GPU correctness tests (make test-gpu)"
  make test-gpu

  if [ -z "$run_dir" ]; then
    run_dir=$(node dist/src/sweep/cli.js run-dir --root "$runs_root")
    # Never resume into the committed recorded run (same GPU model, same day): measure beside it.
    if [ -f "$runs_root/RECORDED" ] && [ "$(basename "$run_dir")" = "$(tr -d '[:space:]' < "$runs_root/RECORDED")" ]; then
      run_dir="${run_dir}-fresh"
    fi
  fi
  say "measuring into $run_dir ${quick_flag[*]:-(full sweeps)}"
  node dist/src/sweep/cli.js estimate "${quick_flag[@]}" --impls ours,torch >&2 || true
  node dist/src/sweep/cli.js run --out "$run_dir" "${quick_flag[@]}"

  if [ "$baselines" = 1 ]; then
    if command -v python3 >/dev/null 2>&1; then
      say "baselines (PyTorch; FlashMLA if importable)"
      # The script measures the plan the run left in $run_dir/plan.json, records why a baseline could not run
      # (no torch, no CUDA, no flash_mla) in baselines.json and exits 0; ingest turns its raw-*.jsonl into results-*.csv.
      python3 baselines/torch_mla_decode.py --out "$run_dir"
      node dist/src/sweep/cli.js ingest --run "$run_dir"
    else
      say "python3 not found: no baselines (the speed-up figure will be skipped)"
    fi
  fi

  say "figures from $run_dir"
  node dist/src/figures/cli.js --data "$run_dir" --out "$fig_dir" "${fig_flags[@]}"
  fig_note
  node dist/src/report/cli.js --data "$run_dir" --mode measured --runs-root "$runs_root" --figures "$fig_dir" --out "$fig_dir/REPORT.md"
  say "done in $(( $(date +%s) - t0 )) s: measured on this GPU into $run_dir; figures in $fig_dir/, report in $fig_dir/REPORT.md."
  say "To make this the run the paper quotes: echo $(basename "$run_dir") > $runs_root/RECORDED && git add $run_dir $runs_root/RECORDED"
  exit 0
fi

say "no CUDA GPU here ($gpu_reason): nothing will be measured."
find_recorded_run "$runs_root"
rec=$REC why=$REC_WHY
if [ -z "$rec" ]; then
  say "no recorded data either ($why): there is nothing to draw. Run this script on a machine with an NVIDIA Hopper GPU."
  exit 2
fi
say "drawing every figure from the RECORDED run $rec ($why)"
node dist/src/figures/cli.js --data "$rec" --out "$fig_dir" "${fig_flags[@]}"
fig_note
node dist/src/report/cli.js --data "$rec" --mode recorded --why "$why" --figures "$fig_dir" --out "$fig_dir/REPORT.md"
say "done in $(( $(date +%s) - t0 )) s. No GPU on this machine: $fig_dir/ and $fig_dir/REPORT.md were drawn from the recorded run $rec, not measured now."
