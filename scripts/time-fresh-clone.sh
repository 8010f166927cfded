#!/usr/bin/env bash
# Times the README's two commands as a new user runs them, and records the times
# that README.md quotes (test/readme.test.ts checks the README against the record).
#
#   scripts/time-fresh-clone.sh [--into DIR] [--record FILE]
#
# Clones this checkout's HEAD into DIR (default: a new folder under /tmp), runs
# `make reproduce`, then `make test`, then `git status --porcelain`, and fails
# unless all three pass (the last one printing nothing). Then adds a line to FILE
# (default scripts/fresh-clone-times.txt in this checkout): the commit measured,
# the date, the 1-minute load average at the start and the end, and the wall time
# of each command in whole seconds, under a header naming the machine (cores,
# GPU, OS, Node, Chromium, nvcc); a record of another machine is started afresh.
# The clone is left in place for inspection.
# Exit status: 0 measured and recorded; 1 a command failed or left the tree changed; 2 bad arguments.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
prog=time-fresh-clone usage="usage: scripts/time-fresh-clone.sh [--into DIR] [--record FILE]"
here=$PWD
into=""
record=scripts/fresh-clone-times.txt
while [ $# -gt 0 ]; do
  case "$1" in
    --into) need_value "$1" "${2:-}"; into=$2; shift ;;
    --record) need_value "$1" "${2:-}"; record=$2; shift ;;
    -h|--help) print_header "$0"; exit 0 ;;
    *) bad_usage "unknown argument '$1'" ;;
  esac
  shift
done
[ -n "$into" ] || into=$(mktemp -d /tmp/mla-fresh-XXXXXX)/clone
[ ! -e "$into" ] || bad_usage "--into $into exists: give a new folder"
commit=$(git rev-parse HEAD)
load_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo unknown)
say() { printf '[time-fresh-clone] %s\n' "$*" >&2; }

say "cloning $commit into $into"
git clone -q "$here" "$into" || exit 1
cd "$into" || exit 1
git checkout -q "$commit" || exit 1

timed() {  # runs "$@", sets secs to its wall time
  local t0 rc
  t0=$(date +%s.%N)
  "$@"
  rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", b - a + 0.5 }')
  return $rc
}
say "make reproduce"
timed make reproduce || { say "FAILED: make reproduce"; exit 1; }
t_repro=$secs
say "make test"
timed make test || { say "FAILED: make test"; exit 1; }
t_test=$secs
status=$(git status --porcelain)
if [ -n "$status" ]; then
  say "FAILED: the two commands changed the tree:"
  echo "$status" >&2
  exit 1
fi

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
chromium=$("$(chromium_path)" --version 2>/dev/null | head -1)
nvcc_v=$(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')
load_end=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo unknown)
cd "$here" || exit 1
header=$(
  echo "# Written by scripts/time-fresh-clone.sh: a fresh clone, make reproduce, make test, git status clean."
  echo "# One 'run:' line per measurement on this machine (other work on it slows a run: see the load);"
  echo "# README.md quotes the range over the runs, and test/readme.test.ts checks that it does."
  echo "cores: $(nproc)"
  echo "gpu: ${gpu:-none}"
  echo "os: ${os:-unknown}"
  echo "node: $(node --version)"
  echo "chromium: ${chromium:-none}"
  echo "nvcc: ${nvcc_v:-none}"
)
# Runs on the same machine add up; another machine starts a new record.
runs=""
if [ -f "$record" ] && [ "$(grep -v '^run:' "$record")" = "$header" ]; then runs=$(grep '^run:' "$record"); fi
line="run: commit=$commit date=$(date -u +%FT%TZ) load=$load_start-$load_end reproduce=${t_repro}s test=${t_test}s"
{ echo "$header"; [ -z "$runs" ] || echo "$runs"; echo "$line"; } > "$record"
say "make reproduce $t_repro s, make test $t_test s, tree clean; recorded in $record ($(grep -c '^run:' "$record") run(s))"
