#!/usr/bin/env bash
# Executes every notebook in notebooks/ top to bottom with Jupyter and the
# project's own tslab kernel, then exports HTML to notebooks/html/.
#
#   scripts/notebooks.sh               execute, write outputs back into the .ipynb, export HTML
#   scripts/notebooks.sh --check       execute and verify only; the committed notebooks are untouched
#   scripts/notebooks.sh --check --compare   ... and fail if an output differs from the committed one
#                                      (images and cells tagged "nondeterministic", i.e. timings, excepted)
#   scripts/notebooks.sh [--check] notebooks/01-from-mha-to-mla.ipynb ...   only these
#
# Environment: NOTEBOOK_CELL_TIMEOUT (seconds per cell, default 300),
# NOTEBOOKS_SKIP_BUILD=1 (dist/ is already fresh, e.g. when make built it).
#
# The kernelspec is registered into .jupyter-env/ (git-ignored) from
# node_modules/.bin/tslab by absolute path, and only JUPYTER_PATH points at it:
# nothing is installed globally and no other tslab can be picked up.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CHECK=()
NOTEBOOKS=()
for arg in "$@"; do
  case "$arg" in
    --check|--compare) CHECK+=("$arg") ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) NOTEBOOKS+=("$arg") ;;
  esac
done
if [ ${#NOTEBOOKS[@]} -eq 0 ]; then
  shopt -s nullglob
  NOTEBOOKS=(notebooks/[0-9][0-9]-*.ipynb)
  shopt -u nullglob
fi
if [ ${#NOTEBOOKS[@]} -eq 0 ]; then
  echo "scripts/notebooks.sh: no notebooks found under notebooks/" >&2
  exit 1
fi

# A Python that has Jupyter's client libraries. On Debian they belong to the
# system python3; a pyenv or venv python3 earlier on PATH usually lacks them.
PY=""
for cand in "${NOTEBOOK_PYTHON:-}" /usr/bin/python3 python3; do
  [ -n "$cand" ] || continue
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import nbclient, nbformat, nbconvert, jupyter_client' >/dev/null 2>&1; then
    PY="$(command -v "$cand")"
    break
  fi
done
if [ -z "$PY" ]; then
  echo "scripts/notebooks.sh: no python3 with nbclient, nbformat, nbconvert and jupyter_client." >&2
  echo "  On Debian: apt-get install jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel" >&2
  exit 1
fi

TSLAB="$ROOT/node_modules/.bin/tslab"
if [ ! -x "$TSLAB" ]; then
  echo "scripts/notebooks.sh: $TSLAB is missing; run 'make deps' (npm ci) first." >&2
  exit 1
fi

if [ "${NOTEBOOKS_SKIP_BUILD:-0}" != 1 ]; then
  echo "[notebooks] building dist/ (npx tsc -p tsconfig.json)"
  npx tsc -p tsconfig.json
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
  --timeout "${NOTEBOOK_CELL_TIMEOUT:-300}" --html-dir "$ROOT/notebooks/html" "${NOTEBOOKS[@]}"
