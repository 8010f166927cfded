#!/usr/bin/env bash
# Packs what a GPU run needs that the device machine lacks into $C/
# (git-ignored; name it in the device tool's `carry`): a stripped, xz'd Node
# binary and the few node_modules the GPU-side commands load, plus dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
C=${CARRY:-.carry}
rm -rf "$C" && mkdir -p "$C/node_modules"
cp "$(command -v node)" $C/node && strip $C/node && xz -T2 -6 $C/node
# Runtime closure of the packages used on the GPU machine, resolved the way
# Node resolves them (nested node_modules first, then upwards).
node -e '
const fs=require("fs"),path=require("path");
const seen=new Set();
function resolveFrom(dir,name){for(let d=dir;;d=path.dirname(d)){const c=path.join(d,"node_modules",name);
  if(fs.existsSync(path.join(c,"package.json"))) return c; if(d===path.dirname(d)||d===".") return null;}}
function visit(dir){if(seen.has(dir)) return; seen.add(dir);
  const j=JSON.parse(fs.readFileSync(path.join(dir,"package.json")));
  for(const d of Object.keys(Object.assign({},j.dependencies,j.optionalDependencies))){const r=resolveFrom(dir,d); if(r) visit(r);}}
for(const n of ["koffi","@koromix/koffi-linux-x64","mocha","arquero","plotly.js-dist-min"]) visit(path.resolve("node_modules",n));
console.log([...seen].map(p=>path.relative(process.cwd(),p)).join("\n"));' | sort |
while read -r p; do mkdir -p "$C/$(dirname "$p")"; [ -e "$C/$p" ] || cp -r "$p" "$C/$p"; done
# MathJax: only the bundle the figure pages share (and its licence); the package is 24 MB
mkdir -p $C/node_modules/mathjax/es5
cp node_modules/mathjax/package.json node_modules/mathjax/LICENSE $C/node_modules/mathjax/
cp node_modules/mathjax/es5/tex-svg-full.js $C/node_modules/mathjax/es5/
rm -rf $C/node_modules/koffi/doc $C/node_modules/koffi/vendor
# koffi/src: C++ sources (not needed) beside src/koffi/, whose index.cjs koffi's loader requires
find $C/node_modules/koffi/src -mindepth 1 -maxdepth 1 ! -name koffi -exec rm -rf {} +
cp -r dist $C/dist
# one archive for the many small files (the device tool carries at most 64 MiB)
tar -C $C -cJf $C/runtime.tar.xz node_modules dist && rm -rf $C/node_modules $C/dist
echo "$(git rev-parse HEAD)$(git diff --quiet HEAD -- src test kernels || echo -dirty)" > $C/COMMIT
du -sh $C
# The kernels as committed (HEAD), so a run is not disturbed by edits in progress.
mkdir -p $C/head && git archive HEAD kernels | tar -x -C $C/head
du -sh $C
