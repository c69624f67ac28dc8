#!/bin/bash
# Host side of the guest bind benchmark (part 4 of `make bench`): runs bench/guest/90-bench-bind.sh
# in one QEMU guest through the VM harness and prints its result as one JSON line (the last line
# of stdout). Prints {"available": false, ...} when the harness or `vfioctl bind` have not
# landed yet.
#
#   VFIOCTL_BIN   the vfioctl binary (absolute path)
#   BENCH_KERNEL  guest kernel series (default 6.12)
#   BENCH_QUICK   non-empty: fewer cycles
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=${VFIOCTL_BIN:-$REPO/.build/release/vfioctl}

unavailable() {
    printf '{"available": false, "reason": "%s"}\n' "$1"
    exit 0
}
[ -x "$REPO/Tests/vm/run.sh" ] || unavailable "the QEMU guest harness (Tests/vm/run.sh) has not landed yet"
# `unbind` may land later than `bind`; the scenario then compares the bind half only.
help=$("$BIN" bind --help 2>/dev/null || true)
[[ $help == *"USAGE: vfioctl bind"* ]] || unavailable "vfioctl bind is not available yet"

# The harness runs scenarios from its own directory, so give it a view of the repository whose
# scenario list is just this benchmark: relative symlinks to everything else (the guest's init
# checks paths before it enters the host's root, where an absolute link would not resolve). Not
# under /tmp, which the guest covers with its own tmpfs.
overlay=$REPO/.build/bench/vm-overlay
rm -rf "$overlay"
mkdir -p "$overlay/Tests/vm/scenarios"
for f in "$REPO"/* "$REPO"/.[!.]*; do
    name=$(basename "$f")
    case $name in Tests | .git | .build) continue ;; esac
    ln -sr "$f" "$overlay/$name"
done
for f in "$REPO"/Tests/*; do
    [ "$(basename "$f")" = vm ] || ln -sr "$f" "$overlay/Tests/$(basename "$f")"
done
for f in "$REPO"/Tests/vm/*; do
    case $(basename "$f") in scenarios | cache) continue ;; esac
    ln -sr "$f" "$overlay/Tests/vm/$(basename "$f")"
done
ln -sr "$HERE/90-bench-bind.sh" "$overlay/Tests/vm/scenarios/90-bench-bind.sh"
: >"$overlay/bench-guest.env"
if [ -n "${BENCH_QUICK:-}" ]; then printf 'BENCH_CYCLES=3\nBENCH_DPDK_CYCLES=2\n' >>"$overlay/bench-guest.env"; fi

# dpdk-devbind.py, the peer: unpacked from Debian's `dpdk` package (a Python script; nothing is
# installed), under .build so that the guest sees it through the host root.
devbind=$REPO/.build/bench/dpdk/usr/bin/dpdk-devbind.py
if [ ! -r "$devbind" ]; then
    (
        set -e
        work=$(mktemp -d)
        trap 'rm -rf "$work"' EXIT
        cd "$work"
        apt-get download -q dpdk >/dev/null 2>&1
        dpkg -x dpdk_*.deb "$REPO/.build/bench/dpdk"
    ) || echo "bench: could not unpack dpdk-devbind.py from Debian's dpdk package; comparing without it" >&2
fi
[ -r "$devbind" ] && echo "BENCH_DEVBIND=$devbind" >>"$overlay/bench-guest.env"

cache=${VM_CACHE:-$REPO/Tests/vm/cache}
mkdir -p "$cache/runs"
before=$(ls "$cache/runs")
set +e
VM_CACHE=$cache VM_KERNELS=${BENCH_KERNEL:-6.12} VFIOCTL_BIN=$BIN "$overlay/Tests/vm/run.sh" -k -j 1 90-bench-bind >&2
rc=$?
set -e
run=
for r in $(ls "$cache/runs"); do
    grep -qx "$r" <<<"$before" || run=$cache/runs/$r
done
result=$(cat "$run"/*/90-bench-bind/share/out/bench-bind.json 2>/dev/null || true)
[ -n "$run" ] && rm -rf "$run"
[ -n "$result" ] || unavailable "the guest scenario produced no result (harness exit $rc)"
echo "$result"
