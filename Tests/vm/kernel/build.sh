#!/bin/bash
# Builds (once) a guest kernel of the VM suite from Debian's linux-source-6.12 package and
# prints the directory that holds it, laid out as an unpacked kernel package:
#   DIR/root/boot/vmlinuz-KVER, DIR/root/lib/modules/KVER (modules.builtin, depmod'ed)
#
#   Tests/vm/kernel/build.sh SERIES      SERIES: 6.12-vfio (both VFIO interfaces, no-IOMMU
#                                        mode) or 6.12-cdev (the device cdev only)
#
#   VM_KERNEL_CACHE  where builds are kept (default /var/cache/vfioctl/vm-kernels), outside the
#                    clone so that every checkout on the machine shares them
#   VM_KERNEL_JOBS   make -j (default: number of CPUs)
#
# A build is keyed by the source package's version and a hash of the configuration fragments
# (and of this script's BUILD_VERSION): a new linux-source-6.12 or an edited fragment builds
# again, anything else reuses it. The configuration is `make allnoconfig` plus guest.config
# (plus cdev-only.config for 6.12-cdev), merged with the kernel's merge_config.sh; every
# option of the fragments must survive olddefconfig, else the build stops (an option whose
# dependencies are not met would otherwise vanish silently). 6.12-cdev starts from a copy of
# the 6.12-vfio tree, so that only what the changed options touch is compiled again.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_VERSION=1 # bump when the way a kernel is built or installed changes
SRC_PKG=linux-source-6.12
TARBALL=/usr/src/$SRC_PKG.tar.xz
CACHE=${VM_KERNEL_CACHE:-/var/cache/vfioctl/vm-kernels}
JOBS=${VM_KERNEL_JOBS:-$(nproc)}

log() { echo "[kernel] $*" >&2; }
die() { echo "build.sh: $*" >&2; exit 70; }

fragments() { # SERIES: the fragment files, in merge order
    case $1 in
    6.12-vfio) echo "$HERE/guest.config" ;;
    6.12-cdev) echo "$HERE/guest.config $HERE/cdev-only.config" ;;
    *) die "unknown built kernel series '$1' (6.12-vfio or 6.12-cdev)" ;;
    esac
}
key() { # SERIES
    # shellcheck disable=SC2046
    { echo "$BUILD_VERSION $SRC_VER"; cat $(fragments "$1"); } | sha256sum | cut -c1-12
}

[ $# = 1 ] || { sed -n '2,9s/^# \{0,1\}//p' "$0" >&2; exit 64; }
SERIES=$1
fragments "$SERIES" >/dev/null
SRC_VER=$(dpkg-query -W -f='${Version}' "$SRC_PKG" 2>/dev/null) ||
    die "$SRC_PKG is not installed (make deps installs it)"
[ -r "$TARBALL" ] || die "$TARBALL missing (reinstall $SRC_PKG)"
VER_TAG=$(printf '%s' "$SRC_VER" | tr ':~' '__')
OUT=$CACHE/$SERIES-$VER_TAG-$(key "$SERIES")
if [ -e "$OUT/.done" ]; then echo "$OUT"; exit 0; fi

mkdir -p "$CACHE"
exec 8>"$CACHE/.lock"
flock 8 # another run building into the same cache
if [ -e "$OUT/.done" ]; then echo "$OUT"; exit 0; fi

SRC=$CACHE/src-$VER_TAG
if [ ! -e "$SRC/.done" ]; then
    log "unpacking $TARBALL ($SRC_PKG $SRC_VER)"
    rm -rf "$SRC" && mkdir -p "$SRC"
    tar -xf "$TARBALL" -C "$SRC" --strip-components=1
    touch "$SRC/.done"
fi

BUILD=$CACHE/build-$SERIES-$VER_TAG-$(key "$SERIES")
if [ "$SERIES" = 6.12-cdev ] && [ ! -e "$BUILD/.config" ]; then
    base=$CACHE/build-6.12-vfio-$VER_TAG-$(key 6.12-vfio)
    if [ -e "$base/.built" ]; then
        log "starting from a copy of $(basename "$base")"
        rm -rf "$BUILD.tmp"
        cp -a "$base" "$BUILD.tmp"
        mv "$BUILD.tmp" "$BUILD"
    fi
fi
mkdir -p "$BUILD"
t0=$(date +%s)
log "configuring $SERIES in $BUILD"
# shellcheck disable=SC2046
{
    make -s -C "$SRC" O="$BUILD" allnoconfig
    (cd "$BUILD" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$BUILD" "$BUILD/.config" $(fragments "$SERIES"))
    make -s -C "$SRC" O="$BUILD" olddefconfig
} >"$BUILD/config.log" 2>&1 || { tail -n 20 "$BUILD/config.log" >&2; die "configuring $SERIES failed"; }
# Every option the fragments ask for must be in the result.
# shellcheck disable=SC2046
missing=$(cat $(fragments "$SERIES") | sed -n -e 's/^\(CONFIG_[A-Z0-9_]*=.*\)$/\1/p' -e 's/^# \(CONFIG_[A-Z0-9_]*\) is not set$/\1=n/p' |
    sort -u -t= -k1,1 | while IFS= read -r want; do
        opt=${want%%=*}
        val=${want#*=}
        # the last fragment wins (cdev-only.config over guest.config)
        val=$(cat $(fragments "$SERIES") | sed -n -e "s/^$opt=\(.*\)$/\1/p" -e "s/^# $opt is not set$/n/p" | tail -n 1)
        have=$(sed -n -e "s/^$opt=\(.*\)$/\1/p" -e "s/^# $opt is not set$/n/p" "$BUILD/.config")
        [ "$have" = "$val" ] || { [ "$val" = n ] && [ -z "$have" ]; } || echo "$opt=$val (got ${have:-unset})"
    done)
[ -z "$missing" ] || die "options of the fragments that olddefconfig dropped or changed: $(echo $missing)"

log "building $SERIES with $JOBS jobs (linux-source $SRC_VER)"
make -s -C "$SRC" O="$BUILD" -j"$JOBS" bzImage >"$BUILD/build.log" 2>&1 ||
    { tail -n 30 "$BUILD/build.log" >&2; die "building $SERIES failed (log: $BUILD/build.log)"; }
touch "$BUILD/.built"
KVER=$(make -s -C "$SRC" O="$BUILD" kernelrelease)
secs=$(($(date +%s) - t0))
log "built $SERIES ($KVER) in ${secs}s"

rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp/root/boot" "$OUT.tmp/root/lib/modules/$KVER"
cp "$BUILD/arch/x86/boot/bzImage" "$OUT.tmp/root/boot/vmlinuz-$KVER"
cp "$BUILD/.config" "$OUT.tmp/root/boot/config-$KVER"
# No module files: modules.builtin (and its modinfo, for the aliases) lets kmod's modprobe
# succeed for what is built in, as scenarios and vfioctl's own plans run `modprobe vfio-pci`.
mod=$OUT.tmp/root/lib/modules/$KVER
for f in modules.builtin modules.builtin.modinfo; do
    [ -e "$BUILD/$f" ] || die "$BUILD/$f missing after the build"
    cp "$BUILD/$f" "$mod/"
done
: >"$mod/modules.order"
depmod -b "$OUT.tmp/root" "$KVER" || die "depmod for $KVER failed"
echo "$SRC_PKG $SRC_VER $SERIES" >"$OUT.tmp/package"
echo "$secs" >"$OUT.tmp/build-seconds"
echo "$BUILD_VERSION" >"$OUT.tmp/.done"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
# Builds of this series with another key (older source or fragment) are superseded.
for old in "$CACHE/$SERIES"-* "$CACHE/build-$SERIES"-*; do
    [ -e "$old" ] || continue
    case $old in "$OUT" | "$BUILD") continue ;; esac
    log "removing superseded $(basename "$old")"
    rm -rf "$old"
done
echo "$OUT"
