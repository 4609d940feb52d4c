#!/usr/bin/env bash
# kernel-initiator.sh: check Basalt's NBD and NVMe/TCP exports with the Linux kernel's own clients.
#
# Debian's stock kernel (the package linux-image-amd64 points at) boots under qemu with a small
# busybox initramfs that also carries nbd-client and GNU dd. The guest reaches the target over a
# tap device inside a private network namespace (nothing leaves it), attaches the export (NBD:
# /dev/nbd0 with two connections, so the export's multi-conn is used; NVMe/TCP: the kernel's
# nvme-tcp initiator through /dev/nvme-fabrics, one I/O queue per vCPU), runs data checks with
# O_DIRECT dd, prints "BKI TEST name: PASS|FAIL" lines and a final "BKI RESULT: PASS|FAIL", and
# powers off.
#
#   scripts/kernel-initiator.sh setup                  packages, initramfs, namespace (idempotent)
#   ip netns exec basalt-kinit bin/basalt tgt ...      the target, inside the namespace, then
#     bin/basalt rpc nbd_start_disk BDEV 10.124.0.1:10809
#   scripts/kernel-initiator.sh run ADDR PORT EXPORT   boot the guest and run the checks over NBD
#   scripts/kernel-initiator.sh run-nvme ADDR PORT NQN [OPTIONS]
#                                                      the same checks over NVMe/TCP; OPTIONS are
#                                                      nvme connect options, comma-separated, e.g.
#                                                      hdr_digest,data_digest,nr_io_queues=2
#   scripts/kernel-initiator.sh teardown               remove the namespace (once the target stopped)
#
# Exit status of run: 0 all checks passed, 1 a check failed, 2 no verdict (boot failure, timeout),
# 3 usage or setup error. Needs root, apt-get (Debian archive), iproute2; installs
# qemu-system-x86 when missing. Uses KVM only when kvm_intel/kvm_amd back /dev/kvm, else TCG
# (emulation: a run takes about a minute; throughput numbers would describe qemu, so none are
# printed). The checks overwrite the first ~24 MiB and the last 1 MiB of the export. NVMe/TCP
# connects with ctrl_loss_tmo=30 so that a dead target fails the run instead of hanging it.
#
# Environment: BKI_WORK (/tmp/basalt-kinit), BKI_NS (basalt-kinit), BKI_TAP (bkinit0),
# BKI_HOST (10.124.0.1), BKI_GUEST (10.124.0.2), BKI_TIMEOUT (seconds, 600),
# BKI_NBD_OPTS (extra nbd-client arguments, comma-separated; default -C,2 = two connections).
set -uo pipefail

WORK=${BKI_WORK:-/tmp/basalt-kinit}
NS=${BKI_NS:-basalt-kinit}
TAP=${BKI_TAP:-bkinit0}
HOST=${BKI_HOST:-10.124.0.1}
GUEST=${BKI_GUEST:-10.124.0.2}
NBD_OPTS=${BKI_NBD_OPTS:--C,2}

log() { echo "[kernel-initiator] $*" >&2; }
die() { log "error: $*"; exit 3; }
[ "$(id -u)" = 0 ] || die "must run as root (network namespace, tap device)"

# ------------------------------------------------------------------------------ packages
APT_UPDATED=0
apt_update() { [ $APT_UPDATED = 1 ] || { apt-get update -qq >/dev/null 2>&1; APT_UPDATED=1; }; }

# unpack a Debian package (downloaded, not installed) into a directory
unpack() { # PACKAGE DIR
  mkdir -p "$WORK/debs" "$2"
  local deb
  deb=$(ls "$WORK/debs/$1"_*.deb 2>/dev/null | head -1)
  if [ -z "$deb" ]; then
    (cd "$WORK/debs" && { apt-get download "$1" >/dev/null 2>&1 || { apt_update; apt-get download "$1" >/dev/null 2>&1; }; }) ||
      die "apt-get download $1 failed"
    deb=$(ls "$WORK/debs/$1"_*.deb | head -1)
  fi
  dpkg-deb -x "$deb" "$2" || die "cannot unpack $deb"
}

kernel_package() {
  local p
  p=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  if [ -z "$p" ]; then apt_update; p=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'); fi
  [ -n "$p" ] || die "cannot tell which kernel linux-image-amd64 depends on"
  echo "$p"
}

KVER= ROOT= BUSYBOX= VMLINUZ= INITRD=
fetch() {
  command -v qemu-system-x86_64 >/dev/null || {
    log "installing qemu-system-x86"; apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null 2>&1 ||
      die "apt-get install qemu-system-x86 failed"
  }
  local kpkg; kpkg=$(kernel_package)
  KVER=${kpkg#linux-image-}
  ROOT=$WORK/root
  [ -f "$ROOT/.$kpkg" ] || { log "unpacking $kpkg"; unpack "$kpkg" "$ROOT"; touch "$ROOT/.$kpkg"; }
  [ -f "$ROOT/.busybox" ] || { unpack busybox-static "$ROOT"; touch "$ROOT/.busybox"; }
  [ -f "$ROOT/.nbd-client" ] || {
    for p in nbd-client libnl-3-200 libnl-genl-3-200; do unpack "$p" "$ROOT"; done
    touch "$ROOT/.nbd-client"
  }
  BUSYBOX=$ROOT/bin/busybox
  VMLINUZ=$ROOT/boot/vmlinuz-$KVER
  [ -x "$BUSYBOX" ] && [ -f "$VMLINUZ" ] && [ -x "$ROOT/sbin/nbd-client" ] || die "packages incomplete under $ROOT"
  [ -f "$ROOT/lib/modules/$KVER/modules.dep" ] || "$BUSYBOX" depmod -b "$ROOT" "$KVER" || die "depmod failed"
}

# ------------------------------------------------------------------------------ the guest's /init
guest_init() {
cat <<'EOF'
#!/bin/sh
export PATH=/usr/bin:/bin:/usr/sbin:/sbin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t tmpfs tmpfs /tmp
for kv in $(cat /proc/cmdline); do case "$kv" in bki.*=*) k=${kv%%=*}; eval "${k#bki.}=\${kv#*=}";; esac; done
PASSED=0 FAILED=
ok() { PASSED=$((PASSED + 1)); echo "BKI TEST $1: PASS${2:+ ($2)}"; }
bad() { FAILED="$FAILED $1"; echo "BKI TEST $1: FAIL${2:+ ($2)}"; }
end() {
  dmesg | grep -iE 'nbd|nvme|I/O error|blk_' | tail -20 | sed 's/^/BKI klog: /'
  if [ -z "$FAILED" ] && [ $PASSED -gt 0 ]; then echo "BKI RESULT: PASS ($PASSED checks)"
  else echo "BKI RESULT: FAIL (failed:$FAILED${1:+; $1})"; fi
  sync; poweroff -f; echo o >/proc/sysrq-trigger; sleep 10
}
echo "BKI: init on $(uname -r), target $addr:$port ${proto:-nbd} '$export' options '$opts'"
modprobe virtio_pci; modprobe virtio_net; modprobe nbd nbds_max=2
modprobe crc32c_generic 2>/dev/null; modprobe crc32c-intel 2>/dev/null; modprobe nvme-tcp
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up; ip link set eth0 up; ip addr add "$ip/24" dev eth0 || { bad net "no eth0"; end; }
i=0; until ping -c1 -W1 "$addr" >/dev/null 2>&1 || [ $i -ge 20 ]; do i=$((i + 1)); done

if [ "${proto:-nbd}" = nvme ]; then
BLK= CTRL= DEV=
attach() { exec 3<>/dev/nvme-fabrics || return 1
  printf '%s' "transport=tcp,traddr=$addr,trsvcid=$port,nqn=$export,ctrl_loss_tmo=30${opts:+,$opts}" >&3 || { exec 3>&-; return 1; }
  read -r resp <&3; exec 3>&-; inst=${resp#instance=}; inst=${inst%%,*}; CTRL=/sys/class/nvme/nvme$inst
  [ -d "$CTRL" ] || { echo "BKI: no $CTRL after connect ($resp)"; return 1; }
  BLK=; i=0
  while [ -z "$BLK" ] && [ $i -lt 200 ]; do
    for b in /sys/block/nvme*; do n=${b##*/}; case $n in nvme*c*) ;; nvme*n*) [ "$(cat $b/size)" != 0 ] && BLK=$n;; esac; done
    [ -z "$BLK" ] && sleep 0.05; i=$((i + 1))
  done
  [ -n "$BLK" ] || return 1; DEV=/dev/$BLK; i=0; while [ ! -b $DEV ] && [ $i -lt 50 ]; do sleep 0.05; i=$((i + 1)); done
  echo "BKI: $resp: $DEV, $(cat $CTRL/queue_count) queues, model '$(cat $CTRL/model)', state $(cat $CTRL/state)"; }
detach() { [ -e "$CTRL/delete_controller" ] && echo 1 >"$CTRL/delete_controller"
  i=0; while [ -e "/sys/block/$BLK" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  [ ! -e "/sys/block/$BLK" ]; }
describe() { echo "$(cat /sys/block/$BLK/size) sectors, $(( $(cat $CTRL/queue_count) - 1 )) I/O queue(s), opts $opts"; }
else
BLK=nbd0 DEV=/dev/nbd0
attach() { nbd-client "$addr" "$port" $DEV -N "$export" $(echo "$opts" | tr ',' ' ') >/tmp/nbd.out 2>&1 || { cat /tmp/nbd.out; return 1; }
  i=0; while [ "$(cat /sys/block/nbd0/size)" = 0 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  [ "$(cat /sys/block/nbd0/size)" != 0 ]; }
detach() { nbd-client -d $DEV >/dev/null 2>&1
  i=0; while [ "$(cat /sys/block/nbd0/size)" != 0 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  [ "$(cat /sys/block/nbd0/size)" = 0 ]; }
describe() { echo "$(cat /sys/block/nbd0/size) sectors, $(ls /sys/block/nbd0/mq 2>/dev/null | wc -l) queue(s), opts $opts"; }
fi
dio() { gdd "$@" status=none 2>/tmp/dd.err || { echo "BKI: dd $*: $(cat /tmp/dd.err)"; return 1; }; }
random() { gdd if=/dev/urandom of="$1" bs="$2" count="$3" status=none; }
same() { cmp -s "$1" "$2"; }

attach && ok attach "$(describe)" || { bad attach; end "cannot attach"; }
LBS=$(cat /sys/block/$BLK/queue/logical_block_size); SECTORS=$(cat /sys/block/$BLK/size)
echo "BKI: logical block size $LBS, max_hw_sectors_kb $(cat /sys/block/$BLK/queue/max_hw_sectors_kb), discard_max_bytes $(cat /sys/block/$BLK/queue/discard_max_bytes)"

random /tmp/seq 1M 8
dio if=/tmp/seq of=$DEV bs=1M oflag=direct conv=fsync && dio if=$DEV of=/tmp/back bs=1M count=8 iflag=direct &&
  same /tmp/seq /tmp/back && ok sequential-1M "8 MiB written with O_DIRECT and read back" || bad sequential-1M

random /tmp/small 4k 256
dio if=/tmp/small of=$DEV bs=4k seek=2560 oflag=direct && dio if=$DEV of=/tmp/back bs=4k count=256 skip=2560 iflag=direct &&
  same /tmp/small /tmp/back && ok small-4k "256 x 4 KiB at 10 MiB" || bad small-4k

random /tmp/lba "$LBS" 37
o=$(( 12 * 1048576 / LBS + 3 ))
dio if=/tmp/lba of=$DEV bs="$LBS" seek=$o oflag=direct && dio if=$DEV of=/tmp/back bs="$LBS" count=37 skip=$o iflag=direct &&
  same /tmp/lba /tmp/back && ok lba-$LBS "37 blocks at odd LBA $o" || bad lba-$LBS

random /tmp/over 4k 5; cp /tmp/seq /tmp/expect; gdd if=/tmp/over of=/tmp/expect bs=4k seek=259 conv=notrunc status=none
dio if=/tmp/over of=$DEV bs=4k seek=259 oflag=direct && dio if=$DEV of=/tmp/back bs=1M count=8 iflag=direct &&
  same /tmp/expect /tmp/back && ok overwrite "5 x 4 KiB inside the first 8 MiB, neighbours intact" && cp /tmp/expect /tmp/seq || bad overwrite

random /tmp/par 1M 8; pids=; okp=1
for k in 0 1 3 2; do gdd if=/tmp/par of=$DEV bs=1M count=2 skip=$((k * 2)) seek=$((14 + k * 2)) oflag=direct status=none & pids="$pids $!"; done
for p in $pids; do wait $p || okp=0; done; pids=
for k in 0 1 2 3; do gdd if=$DEV of=/tmp/par.$k bs=1M count=2 skip=$((14 + k * 2)) iflag=direct status=none & pids="$pids $!"; done
for p in $pids; do wait $p || okp=0; done
cat /tmp/par.0 /tmp/par.1 /tmp/par.2 /tmp/par.3 >/tmp/back
[ $okp = 1 ] && same /tmp/par /tmp/back && ok parallel "4 writers then 4 readers, 2 MiB each" || bad parallel

random /tmp/flush 64k 16
gdd if=/tmp/flush of=$DEV bs=64k seek=$((22 * 16)) conv=fsync status=none && echo 3 >/proc/sys/vm/drop_caches &&
  dio if=$DEV of=/tmp/back bs=64k count=16 skip=$((22 * 16)) iflag=direct && same /tmp/flush /tmp/back &&
  ok flush "buffered 1 MiB, fsync, caches dropped, read back" || bad flush

random /tmp/end 4k 256; o=$(( SECTORS * 512 / 4096 - 256 ))
dio if=/tmp/end of=$DEV bs=4k seek=$o oflag=direct && dio if=$DEV of=/tmp/back bs=4k count=256 skip=$o iflag=direct &&
  same /tmp/end /tmp/back && ok end-of-device "last 1 MiB" || bad end-of-device
dio if=$DEV of=/tmp/back bs=4k count=1 skip=$(( SECTORS * 512 / 4096 )) iflag=direct
[ ! -s /tmp/back ] && ok past-the-end "a read at the end returns nothing" || bad past-the-end

if [ "$(cat /sys/block/$BLK/queue/discard_max_bytes)" != 0 ]; then
  blkdiscard -o $((23 * 1048576)) -l 1048576 $DEV && ok discard "1 MiB" || bad discard
fi

detach && ok detach || bad detach
attach && dio if=$DEV of=/tmp/back bs=1M count=8 iflag=direct && same /tmp/seq /tmp/back &&
  ok reattach "the data is still there" || bad reattach
detach || bad detach-again
errors=$(dmesg | grep -iE 'nbd|nvme|I/O error|blk_' | grep -iE 'error|timeout|invalid|fail|reset' | grep -v 'Disconnected due to user request')
[ -z "$errors" ] && ok kernel-log "no NBD, NVMe or block errors" || { bad kernel-log; echo "$errors" | head -20 | sed 's/^/BKI klog: /'; }
end
EOF
}

build_initrd() {
  fetch
  local stage=$WORK/stage key
  key=$( { echo "$KVER"; guest_init; } | sha256sum | cut -c1-16)
  INITRD=$WORK/initrd-$key.img
  [ -f "$INITRD" ] && return 0
  log "building the initramfs"
  rm -rf "$stage"; mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,lib64,lib/x86_64-linux-gnu}
  cp "$BUSYBOX" "$stage/bin/busybox"
  for a in $("$BUSYBOX" --list); do [ -e "$stage/bin/$a" ] || ln -s busybox "$stage/bin/$a"; done
  add_binary "$(command -v dd)" /usr/bin/gdd ""
  add_binary "$ROOT/sbin/nbd-client" /usr/sbin/nbd-client "$ROOT/lib/x86_64-linux-gnu:$ROOT/usr/lib/x86_64-linux-gnu"
  local m
  for m in $(modules_for virtio_pci virtio_net nbd nvme-tcp crc32c_generic crc32c-intel); do
    install -D -m 644 "$ROOT/lib/modules/$KVER/$m" "$stage/lib/modules/$KVER/$m"
  done
  cp "$ROOT/lib/modules/$KVER/modules.builtin" "$ROOT/lib/modules/$KVER/modules.order" "$stage/lib/modules/$KVER/"
  "$BUSYBOX" depmod -b "$stage" "$KVER" || die "depmod for the initramfs failed"
  guest_init >"$stage/init"; chmod 755 "$stage/init"
  (cd "$stage" && find . | "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null | gzip -1) >"$INITRD.part" || die "cpio failed"
  mv "$INITRD.part" "$INITRD"
}

# a dynamically linked program and the libraries ldd finds for it
add_binary() { # SOURCE TARGET LIBRARY_PATH
  local stage=$WORK/stage lib
  install -D -m 755 "$1" "$stage$2"
  for lib in $(LD_LIBRARY_PATH=$3 ldd "$1" | awk '/=> \// {print $3} /^\t\// {print $1}'); do
    case $lib in
      */ld-linux*) install -D -m 755 "$(readlink -f "$lib")" "$stage/lib64/${lib##*/}" ;;
      *) install -D -m 644 "$(readlink -f "$lib")" "$stage/lib/x86_64-linux-gnu/${lib##*/}" ;;
    esac
  done
}

# the module files needed for NAMES, with their dependencies, from modules.dep
modules_for() {
  awk -v want="$*" '
    function key(p) { sub(/.*\//, "", p); sub(/\.ko.*$/, "", p); gsub(/-/, "_", p); return p }
    { f = $1; sub(/:$/, "", f); deps[f] = ""; for (i = 2; i <= NF; i++) deps[f] = deps[f] " " $i; file[key(f)] = f }
    function take(f,   n, d, i) { if (f in done) return; done[f] = 1; print f; n = split(deps[f], d, " "); for (i = 1; i <= n; i++) take(d[i]) }
    END { n = split(want, w, " "); for (i = 1; i <= n; i++) { k = w[i]; gsub(/-/, "_", k); if (k in file) take(file[k]) } }
  ' "$ROOT/lib/modules/$KVER/modules.dep"
}

# ------------------------------------------------------------------------------ network namespace
ns_up() {
  [ -e "/run/netns/$NS" ] || ip netns add "$NS" || die "ip netns add $NS failed"
  ip -n "$NS" link set lo up
  ip -n "$NS" link show "$TAP" >/dev/null 2>&1 || ip -n "$NS" tuntap add dev "$TAP" mode tap || die "cannot create tap $TAP"
  ip -n "$NS" addr replace "$HOST/24" dev "$TAP"
  ip -n "$NS" link set "$TAP" up
}

ns_down() {
  [ -e "/run/netns/$NS" ] || return 0
  local pids; pids=$(ip netns pids "$NS" | tr '\n' ' ')
  [ -z "$pids" ] || die "processes still run in $NS ($pids); stop them first"
  ip netns del "$NS"
}

accelerator() {
  if [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then echo kvm; else echo tcg; fi
}

run_guest() { # ADDR PORT EXPORT PROTO OPTIONS
  build_initrd; ns_up
  local accel cpu out rc timeout_s
  accel=$(accelerator); [ "$accel" = kvm ] && cpu=host || cpu=max
  timeout_s=${BKI_TIMEOUT:-600}
  mkdir -p "$WORK/runs"; out=$WORK/runs/$(date +%Y%m%d-%H%M%S)-$$.log
  log "booting $KVER ($accel), console in $out"
  timeout -k 10 "$timeout_s" ip netns exec "$NS" qemu-system-x86_64 -nodefaults -no-user-config -display none \
    -no-reboot -M pc -accel "$accel" -cpu "$cpu" -smp 2 -m 512 -kernel "$VMLINUZ" -initrd "$INITRD" \
    -append "console=ttyS0 panic=-1 quiet loglevel=4 bki.addr=$1 bki.port=$2 bki.export=$3 bki.ip=$GUEST bki.proto=$4 bki.opts=$5" \
    -serial "file:$out" -netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=n0,romfile=" 2>"$out.qemu"
  rc=$?
  grep -a '^BKI' "$out" | tr -d '\r'
  [ $rc = 124 ] && log "the guest did not finish within ${timeout_s} s"
  grep -aq '^BKI RESULT: PASS' "$out" && return 0
  grep -aq '^BKI RESULT: FAIL' "$out" && return 1
  [ -s "$out.qemu" ] && cat "$out.qemu" >&2
  return 2
}

case "${1:-}" in
  setup) build_initrd; ns_up; log "ready: namespace $NS, host address $HOST (tap $TAP), guest $GUEST; initramfs $INITRD" ;;
  run) [ $# = 4 ] || die "usage: $0 run ADDR PORT EXPORT"; run_guest "$2" "$3" "$4" nbd "$NBD_OPTS"; exit $? ;;
  run-nvme) [ $# = 4 ] || [ $# = 5 ] || die "usage: $0 run-nvme ADDR PORT NQN [OPTIONS]"
    run_guest "$2" "$3" "$4" nvme "${5:-}"; exit $? ;;
  teardown) ns_down ;;
  *) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 3 ;;
esac
