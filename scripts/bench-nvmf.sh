#!/usr/bin/env bash
# bench-nvmf.sh: 4 KiB random read / write at QD 1 and QD 32 over the NVMe/TCP target on loopback.
#
# One target process (bin/basalt tgt, REACTORS reactors) exports a 512 MiB malloc bdev twice: over
# NVMe/TCP (subsystem nqn.2016-06.io.basalt:bench) and over NBD. Clients, one after the other:
#   nvme    Basalt's NVMe/TCP host in a second JVM (one reactor) with the NvmeBench load on Nvme bdev
#   malloc  the same load on a malloc bdev inside that JVM (the in-process baseline, no network)
#   nbd     fio's nbd engine against the NBD export of the same bdev (as scripts/bench-nbd.sh)
# and then `basalt perf` (-m 1) over an nvme bdev attached to the target, beside `basalt perf` over
# a malloc bdev of the same size in its own process.
# fio has no NVMe/TCP engine without SPDK, and the kernel initiator under qemu (TCG) measures the
# emulator, so Basalt's own host is the NVMe/TCP client. Figures go to stdout, one line per run.
#
# Environment: SECONDS_PER_RUN (10), REACTORS (1), PORT (4430), NBD_PORT (10932), DIGESTS (false).
set -euo pipefail
BASALT_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$BASALT_HOME"
RUN=${SECONDS_PER_RUN:-10}
REACTORS=${REACTORS:-1}
PORT=${PORT:-4430}
NBD_PORT=${NBD_PORT:-10932}
DIGESTS=${DIGESTS:-false}
NQN=nqn.2016-06.io.basalt:bench
. bin/jdk.sh
JAVA_HOME=$(basalt_find_jdk); export JAVA_HOME
W=$(mktemp -d /tmp/bench-nvmf.XXXXXX)
TGT=
cleanup() { [ -n "$TGT" ] && kill "$TGT" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

mvn -B -q -o -Dstyle.color=never test-compile >/dev/null
bin/basalt tgt -r "$W/t.sock" -m "$REACTORS" >"$W/target.log" 2>&1 &
TGT=$!
for _ in $(seq 1 200); do bin/basalt rpc -s "$W/t.sock" framework_wait_init >/dev/null 2>&1 && break; sleep 0.1; done
rpc() { bin/basalt rpc -s "$W/t.sock" "$@" >/dev/null; }
rpc bdev_malloc_create -b bench0 512 4096
rpc nvmf_create_transport -t tcp
rpc nvmf_create_subsystem "$NQN" -a
rpc nvmf_subsystem_add_ns "$NQN" bench0
rpc nvmf_subsystem_add_listener "$NQN" -t tcp -a 127.0.0.1 -s "$PORT"
rpc nbd_start_disk bench0 "127.0.0.1:$NBD_PORT"

# Warm the target up (JIT) with a discarded run of each kind.
for rw in randread randwrite; do
  mvn -B -q -o -Dstyle.color=never surefire:test -Dtest=NvmeBench -Dbasalt.bench.nvme="127.0.0.1:$PORT:$NQN" \
    -Dbasalt.bench.rw=$rw -Dbasalt.bench.qd=32 -Dbasalt.bench.seconds=5 >/dev/null 2>&1 || true
done
echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); target reactors $REACTORS; ${RUN}s per run"
for rw in randread randwrite; do
  for qd in 1 32; do
    for client in nvme malloc; do
      where=$([ $client = nvme ] && echo "127.0.0.1:$PORT:$NQN" || echo malloc)
      mvn -B -q -o -Dstyle.color=never surefire:test -Dtest=NvmeBench -Dbasalt.bench.nvme="$where" \
        -Dbasalt.bench.rw=$rw -Dbasalt.bench.qd=$qd -Dbasalt.bench.seconds="$RUN" -Dbasalt.bench.digests="$DIGESTS" \
        2>&1 | grep '^BENCH' || echo "BENCH $client $rw qd=$qd: failed"
    done
    fio --name=nbd --ioengine=nbd --uri="nbd://127.0.0.1:$NBD_PORT/bench0" --rw=$rw --bs=4k --iodepth=$qd \
      --size=512m --time_based --runtime="$RUN" --ramp_time=2 --output-format=json >"$W/fio.json"
    python3 - "$rw" "$qd" "$W/fio.json" <<'PY'
import json, sys
rw, qd, path = sys.argv[1], sys.argv[2], sys.argv[3]
t = open(path).read()
j = json.loads(t[t.index("{"):])["jobs"][0]
s = j["read"] if rw == "randread" else j["write"]
lat = s["clat_ns"]
p99 = lat.get("percentile", {}).get("99.000000", 0)
print(f"BENCH fio nbd engine -> basalt nbd export {rw} bs=4096 qd={qd}: {s['iops']:.0f} IOPS, "
      f"lat mean {lat['mean']/1000:.1f} us, p99 {p99/1000:.1f} us")
PY
  done
done

# basalt perf (SPDK's bdevperf in process) over an nvme bdev attached to the same target, beside
# basalt perf over a malloc bdev of the same size in its own process (no network).
cat >"$W/perf-nvme.json" <<JSON
{"subsystems": [{"subsystem": "bdev", "config": [{"method": "bdev_nvme_attach_controller", "params":
  {"name": "Nvme0", "trtype": "tcp", "adrfam": "ipv4", "traddr": "127.0.0.1", "trsvcid": "$PORT", "subnqn": "$NQN"}}]}]}
JSON
cat >"$W/perf-malloc.json" <<JSON
{"subsystems": [{"subsystem": "bdev", "config": [{"method": "bdev_malloc_create", "params":
  {"name": "Malloc0", "num_blocks": 131072, "block_size": 4096}}]}]}
JSON
for rw in randread randwrite; do
  for qd in 1 32; do
    for cfg in perf-nvme perf-malloc; do
      echo "== bin/basalt perf -c $cfg.json -q $qd -o 4096 -w $rw -t $RUN -m 1 (load $(cut -d' ' -f1 /proc/loadavg))"
      BASALT_LOG=warn bin/basalt perf -c "$W/$cfg.json" -q "$qd" -o 4096 -w "$rw" -t "$RUN" -m 1 2>&1 | grep -v '^$'
    done
  done
done
