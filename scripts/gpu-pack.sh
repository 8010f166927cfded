#!/usr/bin/env bash
# Packs what a GPU run needs that the device machine lacks into .carry/
# (git-ignored; name it in the device tool's `carry`): a stripped, xz'd Node
# binary and the few node_modules the GPU-side commands load, plus dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .carry && mkdir -p .carry/node_modules
cp "$(command -v node)" .carry/node && strip .carry/node && xz -T2 -6 .carry/node
# Runtime closure of the packages used on the GPU machine.
pkgs=$(node -e '
const fs=require("fs"),path=require("path");
const need=new Set(); const todo=["koffi","@koromix/koffi-linux-x64","mocha","arquero"];
while(todo.length){const n=todo.pop(); if(need.has(n)) continue; const p=path.join("node_modules",n,"package.json"); if(!fs.existsSync(p)) continue; need.add(n);
 const j=JSON.parse(fs.readFileSync(p)); for(const d of Object.keys(Object.assign({},j.dependencies,j.optionalDependencies))) todo.push(d);}
console.log([...need].join("\n"));')
for p in $pkgs; do mkdir -p ".carry/node_modules/$(dirname "$p")"; cp -r "node_modules/$p" ".carry/node_modules/$p"; done
rm -rf .carry/node_modules/koffi/src .carry/node_modules/koffi/doc .carry/node_modules/koffi/vendor
cp -r dist .carry/dist
du -sh .carry
# The kernels as committed (HEAD), so a run is not disturbed by edits in progress.
mkdir -p .carry/head && git archive HEAD kernels | tar -x -C .carry/head
du -sh .carry
