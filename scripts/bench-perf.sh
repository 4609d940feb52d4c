#!/usr/bin/env bash
# The basalt perf benchmarks of docs/BENCHMARKS.md: 4 KiB randread and randwrite at queue depth 32
# on a 1 GiB malloc bdev (scripts/perf-malloc.json, 32 times the L3 cache: memory-bound) and a
# 128 MiB one (scripts/perf-malloc-128m.json), and a null bdev (scripts/perf-null.json: the data
# path without the copy), one reactor, 10 s measured after 1 s of warm-up.
# Prints the machine, the load before each run, and each run's table.
#   scripts/bench-perf.sh                 all six runs
#   PERF_TIME=30 scripts/bench-perf.sh    longer runs
# Figures taken while other work runs on the machine are wrong: this script warns when the
# 1-minute load average is above 0.5 (it cannot tell you why).
set -euo pipefail
BASALT_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$BASALT_HOME"
T=${PERF_TIME:-10}

echo "== machine"
echo "cpu:    $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores)"
echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "kernel: $(uname -r)"
. bin/jdk.sh
echo "jdk:    $("$(basalt_find_jdk)/bin/java" -version 2>&1 | head -n 1)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
BASALT_LOG=warn bin/basalt perf --help > /dev/null   # builds the jar if needed, outside the runs

for cfg in scripts/perf-malloc.json scripts/perf-malloc-128m.json scripts/perf-null.json; do
for w in randread randwrite; do
  cmd=(bin/basalt perf -c "$cfg" -q 32 -o 4096 -w "$w" -t "$T" -m 1)
  echo
  echo "== ${cmd[*]}"
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "load average before: $load"
  if awk -v l="${load%% *}" 'BEGIN { exit !(l > 0.5) }'; then
    echo "WARNING: the machine is busy (load ${load%% *}); these figures must be taken again on a quiet machine"
  fi
  BASALT_LOG=warn "${cmd[@]}" 2>&1
done
done
