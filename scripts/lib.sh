# Shared by scripts/reproduce.sh and scripts/check-repro.sh (sourced, not run).

# Prints why this machine has no usable CUDA GPU, or nothing when it has one.
# $1: the value of the script's "pretend there is no GPU" variable, $2: its name.
no_gpu_reason() {
  if [ "${1:-0}" = 1 ]; then echo "$2=1"
  elif ! command -v nvidia-smi >/dev/null 2>&1; then echo "nvidia-smi not found"
  elif ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then echo "nvidia-smi lists no GPU"
  fi
}

# Sets REC (the recorded run folder under root $1, empty if none) and REC_WHY
# (how it was chosen, or why there is none). Never exits.
find_recorded_run() {
  local err rc
  err=$(mktemp)
  set +e
  REC=$(node dist/src/sweep/cli.js recorded-run --root "$1" 2>"$err")
  rc=$?
  set -e
  REC_WHY=$(cat "$err"); rm -f "$err"
  [ $rc -eq 0 ] || REC=""
}
