#!/usr/bin/env bash
# The basalt perf benchmarks of docs/BENCHMARKS.md: 4 KiB randread and randwrite at queue depth 32
# on a 1 GiB malloc bdev (scripts/perf-malloc.json, 32 times the L3 cache: memory-bound) and a
# 128 MiB one (scripts/perf-malloc-128m.json), and a null bdev (scripts/perf-null.json: the data
# path without the copy), one reactor, 10 s measured after 1 s of warm-up.
# Prints the machine, the load before each run, and each run's table.
#   scripts/bench-perf.sh                 all six runs
#   PERF_TIME=30 scripts/bench-perf.sh    longer runs
# Figures taken while other work runs on the machine are wrong: this script warns when the
# CPUs were more than 10 % busy in the 2 s before a run (the load average would count this script's
# own previous run). It cannot tell you why.
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

# Share of CPU time (all CPUs) not idle over 2 s, from /proc/stat.
busy_percent() {
  local a b
  a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
  local total=0 idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

for cfg in scripts/perf-malloc.json scripts/perf-malloc-128m.json scripts/perf-null.json; do
for w in randread randwrite; do
  cmd=(bin/basalt perf -c "$cfg" -q 32 -o 4096 -w "$w" -t "$T" -m 1)
  echo
  echo "== ${cmd[*]}"
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  busy=$(busy_percent)
  echo "load average before: $load; CPUs busy in the 2 s before: $busy %"
  if [ "$busy" -gt 10 ]; then
    echo "WARNING: the machine is busy ($busy %); these figures must be taken again on a quiet machine"
  fi
  BASALT_LOG=warn "${cmd[@]}" 2>&1
done
done
