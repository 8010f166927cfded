#!/usr/bin/env bash
# One line from a -Xptxas -v report: how many kernels, the most registers one
# uses, and which kernels spill (bytes of spill stores).
#   tools/ptxas_summary.sh build/ptxas-report.txt
set -euo pipefail
f=${1:?usage: ptxas_summary.sh <ptxas report>}
[ -r "$f" ] || { echo "ptxas_summary: cannot read $f" >&2; exit 2; }
awk '
  /Compiling entry function/ { n++; name = $0; sub(/.*entry function .?/, "", name); sub(/. for .sm_.*/, "", name) }
  /Used [0-9]+ registers/ { for (i = 1; i <= NF; i++) if ($(i+1) == "registers,") { r = $i + 0; if (r > maxr) maxr = r } }
  /bytes spill stores/ { for (i = 1; i <= NF; i++) if ($(i+1) == "bytes" && $(i+2) == "spill" && $(i+3) == "stores,") { s = $i + 0; if (s > 0) { spill++; if (s > maxs) maxs = s } } }
  /C751[0458]|C7520/ { ser++ }
  END {
    printf "ptxas: %d kernels, at most %d registers, %d with spill stores (at most %d B), %d wgmma-serialisation advisories; details in %s\n", n, maxr, spill, maxs, ser, FILENAME
  }' "$f"
