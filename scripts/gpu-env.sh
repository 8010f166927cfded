# Sourced at the start of a device-tool run: makes the carried Node runtime,
# node_modules and dist/ (packed by scripts/gpu-pack.sh into $C/) usable
# on a GPU machine that has no Node.js. Usage: source scripts/gpu-env.sh
set -e
C=${CARRY:-.carry}
if ! command -v node >/dev/null 2>&1; then
  mkdir -p /tmp/nodebin
  xz -dc $C/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node
  export PATH=/tmp/nodebin:$PATH
fi
[ -d $C/node_modules ] || tar -C $C -xJf $C/runtime.tar.xz
[ -e node_modules ] || ln -s $C/node_modules node_modules
[ -e dist ] || cp -r $C/dist dist
# FlashMLA, when carried (kernels/lab/flashmla-build.sh's module: .flashmla/flash_mla + flash_mla_cuda*.so)
if ls .flashmla/flash_mla_cuda*.so >/dev/null 2>&1; then export PYTHONPATH=$PWD/.flashmla${PYTHONPATH:+:$PYTHONPATH}; fi
export PYTHONUNBUFFERED=1
echo "node $(node --version) on $(hostname); GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null)"
export MLA_CARRIED=1
set +e
