#!/usr/bin/env bash
# soak-nvme-reconnect.sh: kill and restart an NVMe/TCP target at random under verified load.
#
# Two basalt processes: a target exporting a file-backed bdev (aio, fixed UUID) over NVMe/TCP, and
# a host that attaches it (ctrlr_loss_timeout_sec -1, reconnect_delay_sec 1, no fast-fail, so I/O
# waits out every outage) and exports Nvme0n1 over NBD. fio (nbd engine) writes with crc32c
# verification, run after run. Meanwhile the target is killed with kill -9 at random moments and
# restarted: subsystem and listener first, the namespace a random while later (field failure S4).
# Passes when every fio run verified, the host process never died and its controller ends enabled.
#
#   scripts/soak-nvme-reconnect.sh [MINUTES]      (default 10)
# Environment: PORT (4431), NBD_PORT (10933), SIZE_MB (256). Not run by CI.
set -uo pipefail
BASALT_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$BASALT_HOME"
MINUTES=${1:-10}
PORT=${PORT:-4431}
NBD_PORT=${NBD_PORT:-10933}
SIZE_MB=${SIZE_MB:-256}
NQN=nqn.2016-06.io.basalt:soak
UUID=3b0e6d8a-1c2f-4e5a-9b7c-8d9e0f1a2b3c
W=$(mktemp -d /tmp/soak-nvme.XXXXXX)
TGT= HOST= FIO=
log() { echo "[soak $(date +%T)] $*"; }
cleanup() { for p in $FIO $TGT $HOST; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
truncate -s "${SIZE_MB}M" "$W/disk.img"
export BASALT_NO_BUILD=1
bin/basalt tgt --help >/dev/null 2>&1 || { unset BASALT_NO_BUILD; bin/basalt tgt --help >/dev/null; export BASALT_NO_BUILD=1; }

up() { for _ in $(seq 1 300); do bin/basalt rpc -s "$1" framework_wait_init >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
start_target() {  # subsystem and listener now; the namespace after a random delay
  rm -f "$W/t.sock"
  bin/basalt tgt -r "$W/t.sock" -m 1 >>"$W/target.log" 2>&1 &
  TGT=$!
  up "$W/t.sock" || { log "target did not start"; return 1; }
  local r="bin/basalt rpc -s $W/t.sock"
  $r nvmf_create_transport -t tcp >/dev/null && $r nvmf_create_subsystem $NQN -a >/dev/null &&
    $r nvmf_subsystem_add_listener $NQN -t tcp -a 127.0.0.1 -s $PORT >/dev/null || return 1
  sleep "$(awk -v s=$RANDOM 'BEGIN { printf "%.1f", (s % 30) / 10 }')"
  $r bdev_aio_create -u $UUID "$W/disk.img" a0 4096 >/dev/null && $r nvmf_subsystem_add_ns $NQN a0 >/dev/null
}

start_target || exit 1
bin/basalt tgt -r "$W/h.sock" -m 2 >"$W/host.log" 2>&1 &
HOST=$!
up "$W/h.sock" || { log "host did not start"; exit 1; }
H="bin/basalt rpc -s $W/h.sock"
$H bdev_nvme_attach_controller -b Nvme0 -t tcp -a 127.0.0.1 -s $PORT -f ipv4 -n $NQN -l -1 -o 1 >/dev/null || exit 1
for _ in $(seq 1 100); do $H bdev_get_bdevs -b Nvme0n1 >/dev/null 2>&1 && break; sleep 0.1; done
$H nbd_start_disk Nvme0n1 127.0.0.1:$NBD_PORT >/dev/null || exit 1

# fio runs back to back: each writes and verifies 64 MiB of random 4 KiB blocks at QD 16.
(
  n=0
  while [ ! -e "$W/stop" ]; do
    n=$((n + 1))
    if fio --name=soak$n --ioengine=nbd --uri="nbd://127.0.0.1:$NBD_PORT/Nvme0n1" --rw=randwrite --bs=4k \
         --iodepth=16 --size=64m --verify=crc32c --verify_fatal=1 --verify_state_save=0 --randseed=$n --output="$W/fio$n.out" >/dev/null 2>&1; then
      echo "ok $n" >>"$W/fio.results"
    else
      echo "FAIL $n" >>"$W/fio.results"; cp "$W/fio$n.out" "$W/fio-failed-$n.out"
    fi
  done
) &
FIO=$!

end=$(( $(date +%s) + MINUTES * 60 )); kills=0
while [ "$(date +%s)" -lt "$end" ]; do
  sleep $(( 5 + RANDOM % 16 ))
  [ "$(date +%s)" -lt "$end" ] || break
  kill -9 "$TGT"; wait "$TGT" 2>/dev/null; kills=$((kills + 1))
  log "kill -9 #$kills; host controller: $($H bdev_nvme_get_controllers | grep -o '"state": "[a-z_]*"')"
  sleep "$(awk -v s=$RANDOM 'BEGIN { printf "%.1f", (s % 50) / 10 }')"
  start_target || { log "target restart failed"; break; }
done
touch "$W/stop"; wait "$FIO"
ok=$(grep -c '^ok' "$W/fio.results" 2>/dev/null); ok=${ok:-0}
bad=$(grep -c '^FAIL' "$W/fio.results" 2>/dev/null); bad=${bad:-0}
alive=no; kill -0 "$HOST" 2>/dev/null && alive=yes
state=$($H bdev_nvme_get_controllers 2>/dev/null | grep -o '"state": "[a-z_]*"')
log "$MINUTES min: $kills target kills; fio runs verified: $ok, failed: $bad; host alive: $alive; controller $state"
log "reconnects in the host log: $(grep -c 'reconnected' "$W/host.log"); namespace returns: $(grep -c 'is back' "$W/host.log")"
if [ "$bad" = 0 ] && [ "$ok" -gt 0 ] && [ $alive = yes ] && [[ $state == *enabled* ]]; then
  log "SOAK PASS"; rm -rf "$W"; exit 0
fi
log "SOAK FAIL (logs in $W)"; trap - EXIT; cleanup; exit 1
