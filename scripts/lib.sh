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

# The Debian packages `make test` and `make reproduce` need beyond Node, npm, make and g++
# (README.md's install line and .ci/run use this list; scripts/preflight.sh --packages prints it).
DEBIAN_PACKAGES=(jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel chromium)
# The Python modules the notebooks need, and the Debian package of each.
NOTEBOOK_MODULES=(nbclient nbformat nbconvert jupyter_client ipykernel)
declare -A DEBIAN_PACKAGE_OF=([nbclient]=python3-nbclient [nbformat]=python3-nbformat [nbconvert]=jupyter-nbconvert
  [jupyter_client]=jupyter-client [ipykernel]=python3-ipykernel [chromium]=chromium [python3]=python3)

# Sets PY to the first Python (/usr/bin/python3, then python3 on PATH; only
# $NOTEBOOK_PYTHON when that is set) that imports every module of NOTEBOOK_MODULES. Otherwise PY is empty, PY_TRIED
# names the first Python found ("" if none) and PY_MISSING lists the modules it lacks.
# On Debian the modules belong to the system python3; a pyenv or venv python3
# earlier on PATH usually lacks them. Never exits.
find_notebook_python() {
  PY="" PY_TRIED="" PY_MISSING=""
  local cand exe miss cands=(/usr/bin/python3 python3)
  [ -z "${NOTEBOOK_PYTHON:-}" ] || cands=("$NOTEBOOK_PYTHON")
  for cand in "${cands[@]}"; do
    exe=$(command -v "$cand" 2>/dev/null) || continue
    # One interpreter start for all the modules: prints those that do not import.
    miss=$("$exe" - "${NOTEBOOK_MODULES[@]}" 2>/dev/null <<'PYEOF'
import importlib, sys
bad = []
for m in sys.argv[1:]:
    try:
        importlib.import_module(m)
    except Exception:
        bad.append(m)
print(" ".join(bad))
PYEOF
) || miss="${NOTEBOOK_MODULES[*]}"
    if [ -z "$miss" ]; then PY=$exe; return 0; fi
    if [ -z "$PY_TRIED" ]; then PY_TRIED=$exe PY_MISSING=$miss; fi
  done
  [ -n "$PY_TRIED" ] || PY_MISSING="${NOTEBOOK_MODULES[*]}"
  return 0
}

# The Chromium the figure export drives: $CHROMIUM, else Debian's (src/figures/render.ts agrees).
chromium_path() { echo "${CHROMIUM:-/usr/bin/chromium}"; }

# Prints a script's header comment (from line 2 to the first line that is not a comment): its --help.
print_header() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$1"; }

# Flag parsing in the scripts (set $prog and $usage first): a bad command line is
# the message and the usage on stderr, exit 2.
bad_usage() { echo "$prog: $1" >&2; echo "$usage" >&2; exit 2; }
# Fails unless flag $1 got a value $2 (present, and not another flag).
need_value() { [ -n "${2:-}" ] && [[ "$2" != -* ]] || bad_usage "$1 needs a value"; }
