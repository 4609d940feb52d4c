#!/usr/bin/env bash
# bench-aio.sh: an aio bdev on a file against fio's own io_uring direct I/O on the same file (the
# disk's limit), 4 KiB randread and randwrite at QD 32 (QD=...), one after the other. Basalt's side
# is `basalt perf` on one reactor over `bdev_aio_create FILE aio0 4096`.
#   scripts/bench-aio.sh                    a 1 GiB file under /tmp, 10 s per run
#   FILE=/mnt/x.img SIZE_MB=4096 RUNTIME=30 scripts/bench-aio.sh
# The file is written in full first (no holes: a read of a hole never reaches the disk).
# Needs fio. A benchmark, not a test: it asserts nothing.
set -euo pipefail
BASALT_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$BASALT_HOME"
RUNTIME=${RUNTIME:-10}
SIZE_MB=${SIZE_MB:-1024}
QD=${QD:-32}
FILE=${FILE:-/tmp/basalt-bench-aio.img}
command -v fio >/dev/null || { echo "bench-aio: fio is needed (apt-get install fio)" >&2; exit 1; }
W=$(mktemp -d /tmp/bench-aio.XXXXXX)
trap 'rm -rf "$W"' EXIT

if [ "$(stat -c %s "$FILE" 2>/dev/null || echo 0)" != $((SIZE_MB << 20)) ]; then
  dd if=/dev/zero of="$FILE" bs=1M count="$SIZE_MB" oflag=direct status=none
fi
cat >"$W/aio.json" <<JSON
{"subsystems": [{"subsystem": "bdev", "config": [{"method": "bdev_aio_create", "params":
  {"filename": "$FILE", "name": "aio0", "block_size": 4096}}]}]}
JSON
BASALT_LOG=warn bin/basalt perf --help >/dev/null   # builds the jar if needed, outside the runs
echo "# $(date -u +%FT%TZ) $(nproc) CPUs; file $FILE ($SIZE_MB MiB) on $(df --output=source,fstype "$FILE" | tail -1)"
for rw in randread randwrite; do
  echo "== fio --ioengine=io_uring --direct=1 --rw=$rw --bs=4k --iodepth=$QD --runtime=$RUNTIME (load $(cut -d' ' -f1 /proc/loadavg))"
  fio --name=uring --filename="$FILE" --ioengine=io_uring --direct=1 --rw="$rw" --bs=4k --iodepth="$QD" \
    --size="${SIZE_MB}m" --time_based --runtime="$RUNTIME" --ramp_time=1 --output-format=json >"$W/fio.json"
  python3 - "$rw" "$W/fio.json" <<'PY'
import json, sys
rw, path = sys.argv[1], sys.argv[2]
t = open(path).read()
j = json.loads(t[t.index("{"):])["jobs"][0]
s = j["read"] if rw == "randread" else j["write"]
lat = s["clat_ns"]
pct = lat.get("percentile", {})
print(f"fio io_uring direct {rw} 4k: {s['iops']:.0f} IOPS, lat mean {lat['mean']/1000:.1f} us, "
      f"p99 {pct.get('99.000000', 0)/1000:.1f} us, p99.9 {pct.get('99.900000', 0)/1000:.1f} us")
PY
  echo "== bin/basalt perf -c aio.json -q $QD -o 4096 -w $rw -t $RUNTIME -m 1 (load $(cut -d' ' -f1 /proc/loadavg))"
  BASALT_LOG=warn bin/basalt perf -c "$W/aio.json" -q "$QD" -o 4096 -w "$rw" -t "$RUNTIME" -m 1 2>&1 | grep -v '^$'
done
