#!/usr/bin/env bash
# Measures the CPU a Basalt target uses while idle: bdevs configured, no I/O, nobody connected.
# Starts bin/basalt tgt with a few bdevs, lets it settle, then reads utime+stime of the process
# (and of each of its threads) from /proc before and after IDLE_SECONDS (default 60).
# Prints the figure in percent of one core; exits 1 if it is 2 % or more.
#   scripts/idle-cpu.sh                     60 s, one reactor
#   IDLE_SECONDS=20 scripts/idle-cpu.sh -m 2   shorter, two reactors (extra args go to basalt tgt)
set -euo pipefail
BASALT_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
SECONDS_IDLE=${IDLE_SECONDS:-60}
SETTLE=${SETTLE_SECONDS:-5}
LIMIT_PCT=2
work=$(mktemp -d)
sock="$work/spdk.sock"
cfg="$work/config.json"
cat > "$cfg" <<'JSON'
{"subsystems": [{"subsystem": "bdev", "config": [
  {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 16384, "block_size": 4096}},
  {"method": "bdev_malloc_create", "params": {"name": "Malloc1", "num_blocks": 16384, "block_size": 512}},
  {"method": "bdev_null_create", "params": {"name": "Null0", "num_blocks": 262144, "block_size": 4096}},
  {"method": "bdev_wait_for_examine"}
]}]}
JSON

BASALT_LOG=warn "$BASALT_HOME/bin/basalt" tgt -r "$sock" -c "$cfg" "$@" > "$work/tgt.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 600); do
  [ -S "$sock" ] && "$BASALT_HOME/bin/basalt" rpc -s "$sock" bdev_get_bdevs > /dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/tgt.log" >&2; echo "idle-cpu: target did not start" >&2; exit 1; }
  sleep 0.1
done
[ -S "$sock" ] || { echo "idle-cpu: target did not start within 60 s" >&2; exit 1; }
bdevs=$("$BASALT_HOME/bin/basalt" rpc -s "$sock" bdev_get_bdevs | grep -c '"name"')
sleep "$SETTLE"

hz=$(getconf CLK_TCK)
proc_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
thread_ticks() {  # tid, name, ticks
  for t in /proc/"$pid"/task/*; do
    printf '%s\t%s\t%s\n' "${t##*/}" "$(cat "$t/comm" 2>/dev/null)" "$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null)"
  done | sort -k1,1
}
echo "load before: $(cat /proc/loadavg)"
t0=$(proc_ticks); thread_ticks > "$work/t0"; s0=$(date +%s%N)
sleep "$SECONDS_IDLE"
t1=$(proc_ticks); thread_ticks > "$work/t1"; s1=$(date +%s%N)
echo "load after:  $(cat /proc/loadavg)"

read -r elapsed pct < <(awk -v a="$s0" -v b="$s1" -v t="$((t1 - t0))" -v hz="$hz" \
  'BEGIN { e = (b - a) / 1e9; printf "%.1f %.3f\n", e, t * 100 / hz / e }')
echo "threads that used CPU while idle (ticks of 1/$hz s; threads started meanwhile count from 0):"
awk -F'\t' 'NR == FNR { before[$1] = $3; next } { d = $3 - before[$1]; if (d > 0) printf "  %-7s %-16s %d\n", $1, $2, d }' \
  "$work/t0" "$work/t1"
printf 'idle target (%s bdevs, basalt tgt %s): %d ticks in %s s = %s %% of one core (limit %s %%)\n' \
  "$bdevs" "${*:--m 1}" "$((t1 - t0))" "$elapsed" "$pct" "$LIMIT_PCT"
awk -v p="$pct" -v l="$LIMIT_PCT" 'BEGIN { exit !(p < l) }'
