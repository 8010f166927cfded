#!/usr/bin/env bash
# Executes every notebook in notebooks/ top to bottom with Jupyter and the
# project's own tslab kernel, then exports HTML to notebooks/html/.
#
#   scripts/notebooks.sh               execute, write outputs back into the .ipynb, export HTML
#   scripts/notebooks.sh --check       execute and verify only; the committed notebooks are untouched
#   scripts/notebooks.sh --check --compare   ... and fail if an output differs from the committed one
#                                      (images and cells tagged "nondeterministic", i.e. timings, excepted)
#   scripts/notebooks.sh [--check] notebooks/01-from-mha-to-mla.ipynb ...   only these
# Progress: a line per notebook and at least every 10 s (cells done / total, elapsed, ETA).
#
# Environment: NOTEBOOK_CELL_TIMEOUT (seconds per cell, default 300),
# NOTEBOOK_START_TIMEOUT (seconds a kernel has to answer at start, default 60; a kernel
# that does not is replaced, three attempts in all: scripts/notebook-run.py says why),
# NOTEBOOKS_SKIP_BUILD=1 (dist/ is already fresh, e.g. when make built it),
# NOTEBOOK_PYTHON (the Python to use; default /usr/bin/python3, then python3).
# Exit status: 0 all passed; 1 a notebook failed or a tool is missing; 2 bad arguments.
#
# The kernelspec is registered into .jupyter-env/ (git-ignored) from
# node_modules/.bin/tslab by absolute path, and only JUPYTER_PATH points at it:
# nothing is installed globally and no other tslab can be picked up.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/lib.sh

prog=notebooks
usage="usage: scripts/notebooks.sh [--check [--compare]] [notebooks/NN-name.ipynb ...]"
CHECK=()
NOTEBOOKS=()
for arg in "$@"; do
  case "$arg" in
    --check|--compare) CHECK+=("$arg") ;;
    -h|--help) print_header "$0"; exit 0 ;;
    -*) bad_usage "unknown flag $arg" ;;
    *)
      if [ ! -f "$arg" ]; then echo "notebooks: $arg: no such notebook" >&2; exit 2; fi
      case "$arg" in *.ipynb) ;; *) echo "notebooks: $arg is not a .ipynb notebook" >&2; exit 2 ;; esac
      NOTEBOOKS+=("$arg") ;;
  esac
done
if [ ${#NOTEBOOKS[@]} -eq 0 ]; then
  shopt -s nullglob
  NOTEBOOKS=(notebooks/[0-9][0-9]-*.ipynb)
  shopt -u nullglob
fi
if [ ${#NOTEBOOKS[@]} -eq 0 ]; then
  echo "notebooks: no notebooks found under notebooks/" >&2
  exit 1
fi

# A Python that has Jupyter's client libraries (scripts/lib.sh says which are tried).
find_notebook_python
if [ -z "$PY" ]; then
  echo "notebooks: no python3 with ${NOTEBOOK_MODULES[*]} (${PY_TRIED:-no python3 found}${PY_TRIED:+ lacks $PY_MISSING}); scripts/preflight.sh notebooks says what to install." >&2
  exit 1
fi

TSLAB="$ROOT/node_modules/.bin/tslab"
if [ ! -x "$TSLAB" ]; then
  echo "scripts/notebooks.sh: $TSLAB is missing; run 'make deps' (npm ci) first." >&2
  exit 1
fi

if [ "${NOTEBOOKS_SKIP_BUILD:-0}" != 1 ]; then
  echo "[notebooks] building dist/ (make build)"
  make --no-print-directory build
fi

# Register the kernelspec: cheap, so done every time (the checkout may have moved).
ENV_DIR="$ROOT/.jupyter-env"
"$TSLAB" install --python="$PY" --binary="$TSLAB" --prefix="$ENV_DIR" >/dev/null
KERNEL_JSON="$ENV_DIR/share/jupyter/kernels/tslab/kernel.json"
"$PY" - "$KERNEL_JSON" "$TSLAB" <<'EOF'
import json, os, sys
spec = json.load(open(sys.argv[1]))
exe = spec["argv"][0]
if not os.path.isabs(exe) or os.path.realpath(exe) != os.path.realpath(sys.argv[2]):
    sys.exit(f"{sys.argv[1]}: kernel command {exe!r} is not this project's tslab {sys.argv[2]!r}")
EOF
export JUPYTER_PATH="$ENV_DIR/share/jupyter"
# Keep Jupyter's runtime files (connection files) and the debugger's chatter inside the checkout.
export JUPYTER_RUNTIME_DIR="$ENV_DIR/runtime"
export PYDEVD_DISABLE_FILE_VALIDATION=1

exec "$PY" -Xfrozen_modules=off "$ROOT/scripts/notebook-run.py" "${CHECK[@]}" \
  --timeout "${NOTEBOOK_CELL_TIMEOUT:-300}" --start-timeout "${NOTEBOOK_START_TIMEOUT:-60}" --html-dir "$ROOT/notebooks/html" "${NOTEBOOKS[@]}"
