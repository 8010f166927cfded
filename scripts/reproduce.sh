#!/usr/bin/env bash
# Regenerates the study's data, figures and report (make reproduce).
#
#   scripts/reproduce.sh [--quick] [--run-dir DIR] [--no-baselines] [--out DIR] [--recorded]
#
# First the pre-flight (scripts/preflight.sh reproduce): every tool needed, checked
# before anything long starts. Then:
# With a CUDA GPU (nvidia-smi sees one and the GPU binding can open it):
#   build the kernels, run the GPU correctness tests (make test-gpu), measure
#   every sweep of data/sweeps/ into data/runs/<UTC date>-<gpu>[-<commit>]/
#   (a new folder; resumable: re-running continues where it stopped), run the
#   PyTorch baseline (and FlashMLA if importable), draw the figures and the
#   report (new numbers next to the recorded ones) into --out, and say how to
#   make the new run the recorded one.
# Without one (or with --recorded):
#   draw every figure and the report from the recorded run (the folder named
#   in data/runs/RECORDED, else the newest under data/runs/) into --out, say
#   so, and compare them with the committed figures/ file by file
#   (src/figures/compare.ts): "REPRODUCED" when they match.
# --out is build/reproduce/figures (git-ignored, emptied first) unless given:
# make reproduce never writes a tracked file. `make figures` is
# `scripts/reproduce.sh --recorded --out figures`: it redraws the committed
# figures/ from the recorded run (the same bytes, unless the data or code changed).
#
# Environment: REPRODUCE_QUICK=1 is --quick; CHROMIUM=<path> picks the browser for the static
# figures (default /usr/bin/chromium); REPRODUCE_RUNS_ROOT (data/runs) moves the run folders;
# REPRODUCE_FIGURES is --out; REPRODUCE_COMPARE_WITH (figures/ when the runs root is data/runs,
# else none; "" for none) is the folder the no-GPU drawing is compared with;
# REPRODUCE_SKIP_BUILD=1 skips `make build`; REPRODUCE_NO_GPU=1 takes the no-GPU path;
# REPRODUCE_SKIP_TEST_GPU=1 leaves out `make test-gpu` (a device call short of time runs it after the measuring).
# Exit status: 0 done (and reproduced); 1 a step failed, a tool is missing, or the drawing does
# not match the committed figures; 2 bad arguments, or no GPU and no recorded data to draw from.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

usage="usage: scripts/reproduce.sh [--quick] [--run-dir DIR] [--no-baselines] [--out DIR] [--recorded]"
prog=reproduce
quick=${REPRODUCE_QUICK:-0}
runs_root=${REPRODUCE_RUNS_ROOT:-data/runs}
default_out=build/reproduce/figures
out_dir=${REPRODUCE_FIGURES:-$default_out}
run_dir=""
baselines=1
recorded_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --run-dir|--out)
      need_value "$1" "${2:-}"
      if [ "$1" = --out ]; then out_dir=$2; else run_dir=$2; fi
      shift ;;
    --run-dir=*) run_dir="${1#*=}"; [ -n "$run_dir" ] || bad_usage "--run-dir needs a value" ;;
    --out=*) out_dir="${1#*=}"; [ -n "$out_dir" ] || bad_usage "--out needs a value" ;;
    --no-baselines) baselines=0 ;;
    --recorded) recorded_only=1 ;;
    -h|--help) print_header "$0"; exit 0 ;;
    *) bad_usage "unknown argument '$1'" ;;
  esac
  shift
done
if [ "$runs_root" = data/runs ]; then compare_with=${REPRODUCE_COMPARE_WITH-figures}; else compare_with=${REPRODUCE_COMPARE_WITH-}; fi
quick_flag=()
[ "$quick" = 1 ] && quick_flag=(--quick)

say() { printf '\n[reproduce] %s\n' "$*" >&2; }
t0=$(date +%s)

gpu_reason=$(no_gpu_reason "${REPRODUCE_NO_GPU:-0}" REPRODUCE_NO_GPU)
[ "$recorded_only" = 0 ] || gpu_reason="--recorded"
if [ -n "$gpu_reason" ]; then
  REPRODUCE_NO_GPU=1 scripts/preflight.sh reproduce
else
  scripts/preflight.sh reproduce
fi

if [ "${REPRODUCE_SKIP_BUILD:-0}" != 1 ]; then
  say "building the TypeScript (make build)"
  make --no-print-directory build
fi

fig_flags=()
if [ ! -x "$(chromium_path)" ]; then
  # Only reached with a GPU (the pre-flight requires Chromium otherwise): measuring must not
  # be wasted for want of a browser, so the interactive pages are drawn and the rest is said.
  fig_flags=(--html-only)
fi
# The scratch folder starts empty, so nothing left from an earlier run is taken for new output.
[ "$out_dir" != "$default_out" ] || rm -rf "$out_dir"

# Figures and report of run $1 into $out_dir; $2: report mode, $3: why this run.
draw() {
  node dist/src/figures/cli.js --data "$1" --out "$out_dir" "${fig_flags[@]}"
  node dist/src/report/cli.js --data "$1" --mode "$2" --why "$3" --runs-root "$runs_root" --figures "$out_dir" --out "$out_dir/REPORT.md"
  if [ ${#fig_flags[@]} -gt 0 ]; then
    say "NOTE: no Chromium at $(chromium_path): only the interactive .html figures were drawn. For .svg/.png/.pdf: apt-get install chromium, then draw again."
  fi
}

if [ -z "$gpu_reason" ]; then
  say "building the kernels (make kernels)"
  make --no-print-directory kernels
  count=$(node dist/src/sweep/cli.js gpu-count 2>/tmp/reproduce-gpu-reason.$$ || echo 0)
  if [ "${count:-0}" -lt 1 ]; then
    say "ERROR: nvidia-smi sees a GPU but the GPU binding cannot open it: $(cat /tmp/reproduce-gpu-reason.$$)"
    rm -f /tmp/reproduce-gpu-reason.$$
    exit 1
  fi
  rm -f /tmp/reproduce-gpu-reason.$$

  if [ "${REPRODUCE_SKIP_TEST_GPU:-0}" = 1 ]; then
    say "REPRODUCE_SKIP_TEST_GPU=1: the GPU correctness tests are left out (run make test-gpu)"
  else
    say "GPU correctness tests (make test-gpu)"
    make --no-print-directory test-gpu
  fi

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

  say "figures and report of $run_dir into $out_dir"
  draw "$run_dir" measured "measured now"
  name=$(basename "$run_dir")
  say "done in $(( $(date +%s) - t0 )) s: measured on this GPU into $run_dir; figures and report (new numbers next to the recorded ones) in $out_dir/."
  say "To make this the recorded run the paper quotes: echo $name > $runs_root/RECORDED && make figures && make artifact, then update README.md's Results (make test names every line that disagrees) and commit $run_dir, $runs_root/RECORDED, figures/, ARTIFACT.md, MANIFEST.sha256 and README.md."
  exit 0
fi

if [ "$recorded_only" = 1 ]; then say "drawing the recorded run (--recorded): nothing will be measured."
else say "no CUDA GPU here ($gpu_reason): nothing will be measured."; fi
find_recorded_run "$runs_root"
rec=$REC why=$REC_WHY
if [ -z "$rec" ]; then
  say "no recorded data either ($why): there is nothing to draw. Run this script on a machine with an NVIDIA Hopper GPU."
  exit 2
fi
say "drawing every figure and the report from the RECORDED run $rec ($why) into $out_dir"
draw "$rec" recorded "$why"
verdict=""
if [ -n "$compare_with" ] && [ "$(realpath -m "$compare_with")" != "$(realpath -m "$out_dir")" ]; then
  say "comparing $out_dir (drawn now) with the committed $compare_with"
  set +e
  node dist/src/figures/compare.js --fresh "$out_dir" --committed "$compare_with" >&2
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    say "FAILED after $(( $(date +%s) - t0 )) s: the figures drawn from the recorded run $rec do not match the committed $compare_with (see above)."
    exit 1
  fi
  verdict=" They match the committed $compare_with/ (nothing under $compare_with/ or data/ was written)."
fi
if [ "$recorded_only" = 1 ]; then
  say "done in $(( $(date +%s) - t0 )) s: $out_dir/ (figures and REPORT.md) was drawn from the recorded run $rec.$verdict"
else
  say "done in $(( $(date +%s) - t0 )) s. No GPU on this machine: $out_dir/ (figures and REPORT.md) was drawn from the recorded run $rec, not measured now.$verdict"
fi
