#!/usr/bin/env bash
# Checks, before any long step, every tool a make target will need, and prints
# one message listing exactly what is missing and the one command that installs it.
#
#   scripts/preflight.sh test        make test: Node, npm, Python with Jupyter's client libraries, Chromium
#   scripts/preflight.sh reproduce   make reproduce: Node, npm; without a GPU also Chromium (it draws the
#                                    figures); with one, nvcc (or a built kernels/build/libmla.so)
#   scripts/preflight.sh figures     make figures: Node, npm, Chromium
#   scripts/preflight.sh notebooks   make notebooks: Node, npm, Python with Jupyter's client libraries
#   scripts/preflight.sh --packages  prints the Debian packages the README's install line names
#
# Environment: CHROMIUM (browser, default /usr/bin/chromium), NOTEBOOK_PYTHON (a Python to
# try first), MLA_CARRIED=1 (GPU machine with a carried runtime: no npm needed),
# REPRODUCE_NO_GPU=1 (reproduce as on a machine without a GPU).
# Exit status: 0 everything is there; 1 something is missing (the message says what); 2 bad arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

prog=preflight usage="usage: scripts/preflight.sh test|reproduce|figures|notebooks | --packages"
case "${1:-}" in
  test|reproduce|figures|notebooks) target=$1 ;;
  --packages) echo "${DEBIAN_PACKAGES[*]}"; exit 0 ;;
  -h|--help) print_header "$0"; exit 0 ;;
  "") bad_usage "a target is required" ;;
  *) bad_usage "unknown target '$1'" ;;
esac
[ $# -le 1 ] || bad_usage "unexpected argument '$2'"

missing=()   # one line per missing tool: what, and what it is needed for
apt=()       # the Debian packages that provide them
other=()     # what apt cannot install (Node.js 20+ on Debian 12)
notes=()     # optional tools that are absent (not an error)

need_pkg() { local p; for p in "$@"; do [[ " ${apt[*]-} " == *" $p "* ]] || apt+=("$p"); done; }

# Node.js: the version package.json's "engines" asks for.
node_min=$(sed -n 's/.*"node": *">=\([0-9][0-9]*\).*/\1/p' package.json | head -1)
node_min=${node_min:-20}
if ! command -v node >/dev/null 2>&1; then
  missing+=("Node.js ${node_min}+ (not found): runs everything")
  other+=("Node.js ${node_min} or newer with npm: https://nodejs.org/en/download (Debian 12's own nodejs is 18, too old)")
else
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$node_major" -lt "$node_min" ]; then
    missing+=("Node.js ${node_min}+ (found $(node --version)): runs everything")
    other+=("Node.js ${node_min} or newer with npm: https://nodejs.org/en/download (Debian 12's own nodejs is 18, too old)")
  fi
fi
if [ "${MLA_CARRIED:-0}" != 1 ] && ! command -v npm >/dev/null 2>&1; then
  missing+=("npm (not found): installs the npm dependencies (npm ci)")
  [ ${#other[@]} -gt 0 ] || other+=("npm, which comes with Node.js: https://nodejs.org/en/download")
fi

need_chromium() {
  local exe
  exe=$(chromium_path)
  if [ ! -x "$exe" ]; then
    missing+=("Chromium at $exe (set \$CHROMIUM for another one): $1")
    need_pkg chromium
  fi
}

need_jupyter() {
  find_notebook_python
  if [ -z "$PY" ]; then
    local m
    if [ -z "$PY_TRIED" ]; then
      missing+=("python3 with the modules ${PY_MISSING// /, } (no python3 found): executes the notebooks")
      need_pkg python3
    else
      local hint=""
      [ "$PY_TRIED" = /usr/bin/python3 ] || hint="; Debian's packages serve /usr/bin/python3, or set NOTEBOOK_PYTHON to a Python that has them"
      missing+=("the Python modules ${PY_MISSING// /, } (for $PY_TRIED$hint): execute the notebooks")
    fi
    for m in $PY_MISSING; do need_pkg "${DEBIAN_PACKAGE_OF[$m]}"; done
  fi
}

case "$target" in
  test)
    need_jupyter
    need_chromium "static figure export (tests of the SVG/PNG/PDF figures)"
    command -v nvcc >/dev/null 2>&1 || notes+=("nvcc not found: the kernels will not be compiled (the GPU tests are pending without a GPU anyway)")
    ;;
  notebooks)
    need_jupyter
    ;;
  figures)
    need_chromium "the static .svg/.png/.pdf figures"
    ;;
  reproduce)
    gpu_reason=$(no_gpu_reason "${REPRODUCE_NO_GPU:-0}" REPRODUCE_NO_GPU)
    if [ -n "$gpu_reason" ]; then
      need_chromium "the static .svg/.png/.pdf figures drawn from the recorded run"
    else
      if ! command -v nvcc >/dev/null 2>&1 && [ ! -f kernels/build/libmla.so ]; then
        missing+=("nvcc (CUDA 12.3+) or a built kernels/build/libmla.so: this machine has a GPU, and the kernels must be built to measure")
        other+=("the CUDA toolkit 12.3 or newer: https://developer.nvidia.com/cuda-downloads")
      fi
      [ -x "$(chromium_path)" ] || notes+=("no Chromium at $(chromium_path): only the interactive .html figures of the new run will be drawn (the measuring is not affected; draw the rest later with make figures)")
      command -v python3 >/dev/null 2>&1 || notes+=("python3 not found: no PyTorch baseline (the speed-up figure will be skipped)")
    fi
    ;;
esac

for n in "${notes[@]+"${notes[@]}"}"; do echo "[preflight] note: $n" >&2; done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[preflight] make $target: every tool it needs is here." >&2
  exit 0
fi
{
  echo "[preflight] make $target cannot run: missing, checked before any long step:"
  for m in "${missing[@]}"; do echo "  - $m"; done
  if [ ${#apt[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo "
    echo "Install with:"
    echo "  ${sudo}apt-get install -y ${apt[*]}"
  fi
  for o in "${other[@]+"${other[@]}"}"; do echo "Install $o"; done
} >&2
exit 1
