#!/usr/bin/env bash
# bench-nbd.sh: fio's nbd engine, 4 KiB random read and random write at QD 32, against Basalt's
# NBD export of a malloc bdev and, in the same session, against `nbdkit memory` and `qemu-nbd`
# on a raw file, each over a Unix socket and over TCP on loopback. Prints one line per run.
#   scripts/bench-nbd.sh                 all servers, 10 s per run
#   RUNTIME=30 SIZE_MB=1024 scripts/bench-nbd.sh
#   SERVERS="basalt nbdkit" WIRES=unix scripts/bench-nbd.sh
# Needs: fio, nbdkit, qemu-utils (qemu-nbd), python3. A benchmark, not a test: it asserts nothing.
set -euo pipefail
BASALT_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
RUNTIME=${RUNTIME:-10}
SIZE_MB=${SIZE_MB:-512}
QD=${QD:-32}
BS=${BS:-4k}
SERVERS=${SERVERS:-"basalt nbdkit qemu-nbd"}
WIRES=${WIRES:-"unix tcp"}
RWS=${RWS:-"randread randwrite"}
PORT=${PORT:-10931}
REACTORS=${REACTORS:-1}

for c in fio nbdkit qemu-nbd python3; do
  command -v "$c" >/dev/null || { echo "bench-nbd: $c is needed (apt-get install fio nbdkit qemu-utils)" >&2; exit 1; }
done
W=$(mktemp -d /tmp/bench-nbd.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

wait_for() {  # wait until "$@" succeeds (a server came up)
  for _ in $(seq 1 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench-nbd: timed out waiting for: $*" >&2; return 1
}

run_fio() {  # server wire rw uri
  local out
  out=$(fio --name="$1-$2-$3" --ioengine=nbd --uri="$4" --rw="$3" --bs="$BS" --iodepth="$QD" \
        --size="${SIZE_MB}m" --time_based --runtime="$RUNTIME" --ramp_time=2 --output-format=json)
  python3 - "$1" "$2" "$3" <<PY "$out"
import json, sys
server, wire, rw = sys.argv[1:4]
d = json.loads(sys.stdin.read() if False else sys.argv[4][sys.argv[4].index('{'):])
j = d["jobs"][0]
side = j["read"] if rw.endswith("read") else j["write"]
lat = side["clat_ns"]
p99 = lat.get("percentile", {}).get("99.000000", 0)
print(f"{server:9s} {wire:5s} {rw:10s} {side['iops']:10.0f} IOPS  {side['bw']/1024:8.1f} MiB/s"
      f"  clat avg {lat['mean']/1000:7.1f} us  p99 {p99/1000:7.1f} us  err={j['error']}")
PY
}

bench() {  # server wire uri
  for rw in $RWS; do run_fio "$1" "$2" "$rw" "$3"; done
}

echo "# fio nbd engine, bs=$BS iodepth=$QD runtime=${RUNTIME}s size=${SIZE_MB}MiB; $(nproc) CPUs; $(date -u +%FT%TZ)"
echo "# fio $(fio --version), $(nbdkit --version | head -1), $(qemu-nbd --version | head -1)"

for server in $SERVERS; do
  case "$server" in
    basalt)
      "$BASALT_HOME/bin/basalt" tgt -r "$W/basalt.sock" -m "$REACTORS" >"$W/basalt.log" 2>&1 &
      PIDS+=($!)
      wait_for "$BASALT_HOME/bin/basalt" rpc -s "$W/basalt.sock" framework_wait_init
      rpc() { "$BASALT_HOME/bin/basalt" rpc -s "$W/basalt.sock" "$@"; }
      rpc bdev_malloc_create -b bench0 "$SIZE_MB" 4096 >/dev/null
      for wire in $WIRES; do
        if [ "$wire" = unix ]; then dev="unix:$W/basalt-nbd.sock"; else dev="127.0.0.1:$PORT"; fi
        uri=$(rpc nbd_start_disk bench0 "$dev")
        bench basalt "$wire" "$uri"
        rpc nbd_stop_disk "$uri" >/dev/null
      done
      rpc spdk_kill_instance SIGTERM >/dev/null || true
      wait "${PIDS[-1]}" 2>/dev/null || true
      ;;
    nbdkit)
      for wire in $WIRES; do
        if [ "$wire" = unix ]; then
          nbdkit -f -U "$W/nbdkit.sock" memory "${SIZE_MB}M" & PIDS+=($!)
          uri="nbd+unix:///?socket=$W/nbdkit.sock"
        else
          nbdkit -f -i 127.0.0.1 -p "$PORT" memory "${SIZE_MB}M" & PIDS+=($!)
          uri="nbd://127.0.0.1:$PORT/"
        fi
        wait_for nbdinfo "$uri"
        bench nbdkit "$wire" "$uri"
        kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
      done
      ;;
    qemu-nbd)
      # Written in full: over a sparse file qemu-nbd answers every read with an OFFSET_HOLE chunk
      # (12 bytes, no payload), which is not the 4 KiB read the other servers send.
      head -c "${SIZE_MB}M" /dev/urandom >"$W/disk.img"
      for wire in $WIRES; do
        if [ "$wire" = unix ]; then
          qemu-nbd -f raw -t --shared=8 -k "$W/qemu.sock" "$W/disk.img" & PIDS+=($!)
          uri="nbd+unix:///?socket=$W/qemu.sock"
        else
          qemu-nbd -f raw -t --shared=8 -b 127.0.0.1 -p "$PORT" "$W/disk.img" & PIDS+=($!)
          uri="nbd://127.0.0.1:$PORT/"
        fi
        wait_for nbdinfo "$uri"
        bench qemu-nbd "$wire" "$uri"
        kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
      done
      ;;
    *) echo "bench-nbd: unknown server $server (basalt, nbdkit, qemu-nbd)" >&2; exit 2 ;;
  esac
done
