#!/bin/sh
# Informal speed check of the holder scan against fuser and lsof on this machine.
#
# Builds a tiny root whose only VFIO group node has the number of /dev/full (1:7) and whose /proc
# is the real one, starts N processes that keep a few fds open (one of them, or all with
# ALL_HOLD=1, on /dev/full), then times `vfioctl holders` next to `fuser -v /dev/full` and
# `lsof /dev/full`. Needs root (mknod). Usage: scripts/bench-holders.sh [N] [ROUNDS]
set -eu
N=${1:-1000}
ROUNDS=${2:-5}
BIN=${VFIOCTL_BIN:-.build/release/vfioctl}
[ -x "$BIN" ] || { echo "build first: swift build -c release (or set VFIOCTL_BIN)" >&2; exit 1; }

ROOT=$(mktemp -d /tmp/vfioctl-bench-XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$ROOT"
}
trap cleanup EXIT INT TERM

D=$ROOT/sys/devices/pci0000:00/0000:00:03.0
mkdir -p "$D/vfio-dev/vfio0" "$ROOT/sys/bus/pci/devices" "$ROOT/sys/bus/pci/drivers/vfio-pci" \
    "$ROOT/sys/kernel/iommu_groups/7/devices" "$ROOT/sys/class/vfio/7" "$ROOT/dev/vfio"
echo 0x8086 >"$D/vendor"; echo 0x10d3 >"$D/device"; echo 0x020000 >"$D/class"; echo "${ENABLE:-0}" >"$D/enable"
ln -s ../../../devices/pci0000:00/0000:00:03.0 "$ROOT/sys/bus/pci/devices/0000:00:03.0"
ln -s ../../../bus/pci/drivers/vfio-pci "$D/driver"
ln -s ../../../kernel/iommu_groups/7 "$D/iommu_group"
ln -s ../../../../devices/pci0000:00/0000:00:03.0 "$ROOT/sys/kernel/iommu_groups/7/devices/0000:00:03.0"
echo 1:7 >"$ROOT/sys/class/vfio/7/dev"
mknod "$ROOT/dev/vfio/7" c 1 7
ln -s /proc "$ROOT/proc"

i=0
while [ "$i" -lt "$N" ]; do
    if [ "${ALL_HOLD:-0}" = 1 ] || [ "$i" -eq 0 ]; then
        sleep 600 3</dev/full 4</dev/null 5</dev/zero 6</etc/hostname &
    else
        sleep 600 3</dev/null 4</dev/zero 5</etc/hostname 6</dev/urandom &
    fi
    PIDS="$PIDS $!"
    i=$((i + 1))
done
sleep 1
echo "processes on the machine: $(ls -d /proc/[0-9]* | wc -l); holders of /dev/full: $([ "${ALL_HOLD:-0}" = 1 ] && echo "$N" || echo 1)"

best() { # best wall time in ms of ROUNDS runs of "$@"
    b=""
    r=0
    while [ "$r" -lt "$ROUNDS" ]; do
        s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
        t=$(((e - s) / 1000000))
        if [ -z "$b" ] || [ "$t" -lt "$b" ]; then b=$t; fi
        r=$((r + 1))
    done
    echo "$b"
}
echo "vfioctl holders:        $(best "$BIN" holders 00:03.0 --root "$ROOT") ms"
echo "vfioctl holders --json: $(best "$BIN" holders 00:03.0 --root "$ROOT" --json) ms"
echo "vfioctl wait -t0:       $(best "$BIN" wait 00:03.0 --root "$ROOT" --timeout 0) ms"
echo "fuser -v /dev/full:     $(best fuser -v /dev/full) ms"
echo "lsof /dev/full:         $(best lsof -w /dev/full) ms"
"$BIN" holders 00:03.0 --root "$ROOT" --json | grep -c '"pid"' | sed 's/^/vfioctl holders found: /'
