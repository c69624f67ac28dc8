#!/bin/bash
# Real-kernel suite: boots throwaway QEMU guests (TCG, emulated intel-iommu) and runs each
# scenario of Tests/vm/scenarios in a fresh guest, on each guest kernel. See README.md.
#
#   Tests/vm/run.sh [-k] [-j JOBS] [SCENARIO...]
#
#   VFIOCTL_BIN   absolute path of the vfioctl binary to test (default .build/release/vfioctl,
#                 as make vm-test builds it)
#   VM_KERNELS    kernel series to boot, default "6.1 6.12 6.12-vfio 6.12-cdev": Debian's
#                 packaged kernels (a full linux-image-* name works too) and the two the suite
#                 builds from linux-source-6.12 (Tests/vm/kernel: 6.12-vfio with both VFIO
#                 interfaces, iommufd and no-IOMMU mode; 6.12-cdev with the device cdev only)
#   VM_SCENARIOS  scenarios to run: names or globs, "01" = "01-*" (default all); arguments too
#   VM_TIMEOUT    default per-scenario time limit in seconds inside the guest (default 180);
#                 a scenario may set its own with a line "# vm-timeout: N"
#                 (add QEMU devices with "# vm-qemu-extra: -device ...", and keep it to
#                 some kernels with "# vm-kernels: 6.12"; "# vm-iommu: none|intel|virtio"
#                 picks the emulated IOMMU, default intel). 6.12-cdev, and 6.12 when
#                 VM_KERNELS is not given, boot only scenarios whose vm-kernels names them
#   VM_OPT_IN_KERNELS  kernels that boot only the scenarios naming them (see above; ""
#                 boots every scenario on every selected kernel)
#   VM_JOBS       guests run in parallel (default: number of CPUs, at most 2)
#   VM_CACHE      cache directory (default Tests/vm/cache)
#   VM_SCENARIO_DIR  where scenarios live (default Tests/vm/scenarios; Tests/vm/selftest holds
#                 scenarios that must fail, to check the harness itself)
#   VM_SELFTEST   1: also run the harness self-tests (Tests/vm/selftest) on the first kernel; 0:
#                 don't. Default: 1 when neither scenarios nor VM_SCENARIO_DIR are given (a full
#                 run, as make vm-test does)
#   -k            keep the run's logs (console, scenario output) under $VM_CACHE/runs/
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${VM_CACHE:-$HERE/cache}
KEEP=0
JOBS=${VM_JOBS:-}
FILTERS=()

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case $1 in
    -k | --keep) KEEP=1 ;;
    -j) JOBS=$2; shift ;;
    -h | --help) usage 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; usage 64 >&2 ;;
    *) FILTERS+=("$1") ;;
    esac
    shift
done
SELFTEST=${VM_SELFTEST:-}
if [ ${#FILTERS[@]} -eq 0 ] && [ -z "${VM_SCENARIOS:-}" ] && [ -z "${VM_SCENARIO_DIR:-}" ]; then SELFTEST=${SELFTEST:-1}; fi
[ ${#FILTERS[@]} -gt 0 ] || read -r -a FILTERS <<<"${VM_SCENARIOS:-*}"
read -r -a KERNELS <<<"${VM_KERNELS:-6.1 6.12 6.12-vfio 6.12-cdev}"
# Kernels that boot only the scenarios whose "# vm-kernels:" names them (the cdev-only kernel
# has no /dev/vfio/N, which every older scenario's holder and checks use).
# In the default selection Debian's 6.12 is opt-in too: it is the source of 6.12-vfio, so a
# scenario learns from it only what its modules and distribution options change (module
# loading, modules.alias, doctor's verdicts), which the scenarios that name it check; 6.1 boots
# every scenario as a modular distribution kernel. Kernels chosen with VM_KERNELS boot every
# scenario (but 6.12-cdev); VM_OPT_IN_KERNELS="" boots every scenario on every selected kernel.
if [ -n "${VM_KERNELS:-}" ]; then OPT_IN_KERNELS=${VM_OPT_IN_KERNELS-6.12-cdev}; else OPT_IN_KERNELS=${VM_OPT_IN_KERNELS-"6.12 6.12-cdev"}; fi
DEFAULT_TIMEOUT=${VM_TIMEOUT:-180}
SCENARIO_DIR=$(cd "${VM_SCENARIO_DIR:-$HERE/scenarios}" && pwd) || exit 64
SELFTEST_DIR=$HERE/selftest
BOOT_ALLOWANCE=${VM_BOOT_ALLOWANCE:-120} # host-side extra time for boot, setup, D-state check
if [ -z "$JOBS" ]; then
    JOBS=$(nproc)
    [ "$JOBS" -le 2 ] || JOBS=2
fi

VFIOCTL_BIN=${VFIOCTL_BIN:-$REPO/.build/release/vfioctl}
case $VFIOCTL_BIN in
/*) ;;
*) VFIOCTL_BIN=$(cd "$(dirname "$VFIOCTL_BIN")" && pwd)/$(basename "$VFIOCTL_BIN") ;;
esac
[ -x "$VFIOCTL_BIN" ] || { echo "run.sh: VFIOCTL_BIN=$VFIOCTL_BIN is not an executable file (make release builds it)" >&2; exit 69; }

log() { echo "[vm] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 70; }

# ---------------------------------------------------------------------------------
# Host tools
"$REPO/scripts/install-deps.sh" >/dev/null || die "scripts/install-deps.sh failed"
for t in qemu-system-x86_64 busybox depmod modprobe cpio gzip xz mkfs.ext2 gcc apt-get dpkg timeout python3; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done
mkdir -p "$CACHE/kernels" "$CACHE/bin" "$CACHE/runs"

# ---------------------------------------------------------------------------------
# Guest kernels: newest matching package, fetched with apt-get download, unpacked with
# dpkg -x into $CACHE/kernels/<package>_<version>/root.
kernel_regex() {
    case $1 in
    6.1) echo '^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
    6.12) echo '^linux-image-6\.12\.[0-9]+\+deb[0-9]+-amd64-unsigned$' ;;
    linux-image-*) printf '^%s$' "$(printf '%s' "$1" | sed 's/[.+]/\\&/g')" ;;
    *) printf '^linux-image-%s[-.+][0-9a-z.+-]*-amd64-unsigned$' "$(printf '%s' "$1" | sed 's/\./\\./g')" ;;
    esac
}
APT_UPDATED=0
apt_update_once() {
    [ "$APT_UPDATED" = 1 ] && return 1
    APT_UPDATED=1
    log "apt-get update"
    apt-get update -q >/dev/null 2>&1 || true
}
newest_package() {
    local re
    re=$(kernel_regex "$1")
    apt-cache search --names-only "$re" 2>/dev/null | awk '{print $1}' | grep -E "$re" | sort -V | tail -n 1
}
PREP_VERSION=2 # bump when the way a kernel is unpacked changes, to redo cached ones
# prepare_kernel SERIES: sets KDIR (cache dir of the kernel), KVER
prepare_kernel() {
    local series=$1 pkg ver dir tmp
    pkg=$(newest_package "$series")
    if [ -z "$pkg" ] && apt_update_once; then pkg=$(newest_package "$series"); fi
    if [ -z "$pkg" ]; then
        if [ -r "$CACHE/kernels/$series.last" ]; then
            dir=$CACHE/kernels/$(basename "$(cat "$CACHE/kernels/$series.last")")
            read -r pkg ver <"$dir/package" || die "no package for kernel $series, and no usable cache"
            log "no package for kernel $series in the apt lists; using cached $(basename "$dir")"
        else
            die "no package matches kernel series $series ($(kernel_regex "$series"))"
        fi
    else
        ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ {print $2; exit}')
        dir=$CACHE/kernels/${pkg}_$(printf '%s' "$ver" | tr ':~' '__')
    fi
    if [ "$(cat "$dir/.done" 2>/dev/null)" != "$PREP_VERSION" ]; then
        log "fetching $pkg $ver"
        rm -rf "$dir"
        tmp=$dir.dl
        rm -rf "$tmp" && mkdir -p "$tmp"
        if ! (cd "$tmp" && apt-get -q -o APT::Sandbox::User=root download "$pkg" >/dev/null 2>&1); then
            apt_update_once || true
            (cd "$tmp" && apt-get -q -o APT::Sandbox::User=root download "$pkg") >&2 ||
                die "apt-get download $pkg failed"
        fi
        mkdir -p "$dir/root"
        dpkg -x "$tmp"/*.deb "$dir/root" || die "dpkg -x of $pkg failed"
        rm -rf "$tmp"
        KVER=$(ls "$dir/root/lib/modules" | head -n 1)
        [ -n "$KVER" ] && [ -e "$dir/root/boot/vmlinuz-$KVER" ] || die "$pkg has no kernel/modules"
        # Uncompressed modules load much faster in a TCG guest than .ko.xz/.ko.zst.
        find "$dir/root/lib/modules/$KVER" -name '*.ko.xz' -print0 | xargs -0 -r -n 64 -P "$(nproc)" xz -d
        find "$dir/root/lib/modules/$KVER" -name '*.ko.zst' -print0 | xargs -0 -r -n 64 -P "$(nproc)" zstd -q -d --rm
        depmod -b "$dir/root" "$KVER" || die "depmod for $KVER failed"
        echo "$pkg $ver" >"$dir/package"
        echo "$PREP_VERSION" >"$dir/.done"
    fi
    # `.last` names the directory inside this cache (older files hold a full path: only its
    # last component counts), so a cache copied elsewhere never removes the original's kernels.
    local prev
    prev=$(cat "$CACHE/kernels/$series.last" 2>/dev/null || true)
    prev=${prev:+$CACHE/kernels/$(basename "$prev")}
    if [ -n "$prev" ] && [ "$prev" != "$dir" ] && [ -d "$prev" ]; then
        log "removing superseded $(basename "$prev")"
        rm -rf "$prev"
    fi
    basename "$dir" >"$CACHE/kernels/$series.last"
    KDIR=$dir
    KVER=$(ls "$dir/root/lib/modules" | head -n 1)
}

# Kernels the suite builds (Tests/vm/kernel/build.sh, cached outside the clone): the build's
# directory is shown in this cache as kernels/<build>/root, so the initramfs stays per clone.
is_built_series() { case $1 in 6.12-vfio | 6.12-cdev) return 0 ;; *) return 1 ;; esac; }
prepare_built_kernel() { # SERIES: sets KDIR, KVER
    local out dir
    out=$("$HERE/kernel/build.sh" "$1") || die "building kernel $1 failed"
    dir=$CACHE/kernels/$(basename "$out")
    mkdir -p "$dir"
    [ "$(readlink "$dir/root" 2>/dev/null)" = "$out/root" ] || ln -sfn "$out/root" "$dir/root"
    KDIR=$dir
    KVER=$(ls "$dir/root/lib/modules" | head -n 1)
    [ -n "$KVER" ] && [ -e "$dir/root/boot/vmlinuz-$KVER" ] || die "build of $1 in $out has no kernel"
}

# Initramfs: busybox, guest/init, and the modules needed to mount the host (decompressed,
# in load order). Everything else is loaded later by the host's modprobe inside the guest.
INITRD_MODULES="virtio_pci 9pnet_virtio 9p overlay"
# Loaded too where the kernel has them: with a virtio-iommu ("# vm-iommu: virtio") every PCI
# device behind it, the 9p ones included, waits for its driver before it probes (6.1 does not
# build it; such scenarios say "# vm-kernels: 6.12").
INITRD_OPTIONAL_MODULES="virtio_iommu"
build_initramfs() { # KDIR KVER
    local kdir=$1 kver=$2 out=$1/initramfs.gz tmp m line path name
    if [ -e "$out" ] && [ "$out" -nt "$HERE/guest/init" ] && [ "$out" -nt "$0" ]; then return; fi
    log "building initramfs for $kver"
    tmp=$(mktemp -d)
    mkdir -p "$tmp/bin" "$tmp/modules"
    cp "$(command -v busybox)" "$tmp/bin/busybox"
    cp "$HERE/guest/init" "$tmp/init"
    chmod 755 "$tmp/init"
    : >"$tmp/modules/order"
    for m in $INITRD_OPTIONAL_MODULES; do
        modprobe -d "$kdir/root" -S "$kver" --show-depends "$m" 2>/dev/null || true
    done >"$tmp/optional"
    for m in $INITRD_MODULES; do
        modprobe -d "$kdir/root" -S "$kver" --show-depends "$m" || die "module $m not found for $kver"
    done | cat - "$tmp/optional" | while read -r line; do
        set -- $line
        [ "$1" = insmod ] || continue
        path=$2
        name=$(basename "$path")
        name=${name%.xz}
        name=${name%.zst}
        grep -qx "$name" "$tmp/modules/order" && continue
        case $path in
        *.xz) xz -dc "$path" >"$tmp/modules/$name" ;;
        *.zst) zstd -qdc "$path" >"$tmp/modules/$name" ;;
        *) cp "$path" "$tmp/modules/$name" ;;
        esac
        echo "$name" >>"$tmp/modules/order"
    done
    (cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$tmp"
}


# ---------------------------------------------------------------------------------
# Scenarios. A job is KERNEL/SCENARIO; the scenario's file is SCENARIO_FILE[name].
SCENARIOS=()
declare -A SCENARIO_FILE JOB_KERNELS
for f in "$SCENARIO_DIR"/[0-9]*.sh; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .sh)
    for p in "${FILTERS[@]}"; do
        # shellcheck disable=SC2053
        if [[ $name == $p ]] || [[ $name == $p-* ]]; then
            SCENARIOS+=("$name")
            SCENARIO_FILE[$name]=$f
            JOB_KERNELS[$name]="${KERNELS[*]}"
            break
        fi
    done
done
[ ${#SCENARIOS[@]} -gt 0 ] || die "no scenario matches: ${FILTERS[*]}"
# The harness's self-tests (scenarios that must fail, each in its own way), on one kernel,
# first: a harness that cannot see a failure would pass everything after them.
if [ "${SELFTEST:-0}" = 1 ] && [ "$SCENARIO_DIR" != "$SELFTEST_DIR" ]; then
    SELFTEST_KERNEL=${KERNELS[0]} # the first selected kernel that boots every scenario
    for k in "${KERNELS[@]}"; do [[ " $OPT_IN_KERNELS " == *" $k "* ]] || { SELFTEST_KERNEL=$k; break; }; done
    selftests=()
    for f in "$SELFTEST_DIR"/[0-9]*.sh; do
        name=$(basename "$f" .sh)
        [ -z "${SCENARIO_FILE[$name]:-}" ] || die "self-test $name has the name of a scenario"
        selftests+=("$name")
        SCENARIO_FILE[$name]=$f
        JOB_KERNELS[$name]=$SELFTEST_KERNEL
    done
    SCENARIOS=("${selftests[@]}" "${SCENARIOS[@]}")
fi

header() { # SCENARIO KEY: the value of a "# KEY: value" line
    sed -n "s/^# *$2: *//p" "${SCENARIO_FILE[$1]}" | head -n 1
}
# "# vm-kernels: 6.12" runs a scenario only on those of the selected kernels (for checks whose
# subject does not depend on the kernel and whose guest time is long, such as Ansible's, and
# for those that need a built kernel's VFIO options); without it, on every selected kernel
# but the opt-in ones.
for sc in "${SCENARIOS[@]}"; do
    # A comment after the list, in parentheses, names no kernel to run on.
    only=$(header "$sc" vm-kernels)
    only=${only%%(*}
    if [ -z "$only" ]; then
        picked=
        for k in ${JOB_KERNELS[$sc]}; do
            [[ " $OPT_IN_KERNELS " == *" $k "* ]] || picked="$picked $k"
        done
        JOB_KERNELS[$sc]=${picked# }
        continue
    fi
    picked=
    for k in ${JOB_KERNELS[$sc]}; do
        for o in $only; do [ "$k" = "$o" ] && picked="$picked $k"; done
    done
    JOB_KERNELS[$sc]=${picked# }
    [ -n "${JOB_KERNELS[$sc]}" ] || log "$sc: none of the selected kernels (${KERNELS[*]}) is in its vm-kernels ($only)"
done
declare -A KDIRS KVERS
exec 9>"$CACHE/.lock"
flock 9 # another run preparing the same cache
# The holder, static so it runs anywhere.
HOLDER=$CACHE/bin/holder
if [ ! -x "$HOLDER" ] || [ "$HERE/holder.c" -nt "$HOLDER" ]; then
    log "compiling holder"
    gcc -static -O2 -Wall -Wextra -o "$HOLDER.tmp" "$HERE/holder.c" || die "cannot compile holder.c"
    mv "$HOLDER.tmp" "$HOLDER"
fi
# The host's python3 (the one scripts/install-deps.sh installed ansible-core for): the guest's
# PATH is the standard one, which need not lead to it.
HOST_PYTHON=$(python3 -c 'import sys; print(sys.executable)')
# Only the kernels some job boots are fetched or built.
for k in "${KERNELS[@]}"; do
    used=0
    for sc in "${SCENARIOS[@]}"; do
        [[ " ${JOB_KERNELS[$sc]} " == *" $k "* ]] && used=1 && break
    done
    [ "$used" = 1 ] || { log "kernel $k: no selected scenario runs on it"; continue; }
    if is_built_series "$k"; then prepare_built_kernel "$k"; else prepare_kernel "$k"; fi
    build_initramfs "$KDIR" "$KVER"
    KDIRS[$k]=$KDIR
    KVERS[$k]=$KVER
done
flock -u 9
exec 9>&-

scenario_timeout() {
    local t
    t=$(header "$1" vm-timeout | sed -n 's/^\([0-9][0-9]*\).*/\1/p')
    echo "${t:-$DEFAULT_TIMEOUT}"
}
# Host-side allowance for boot and teardown (a self-test that never reports sets a small one).
scenario_allowance() {
    local t
    t=$(header "$1" vm-boot-allowance | sed -n 's/^\([0-9][0-9]*\).*/\1/p')
    echo "${t:-$BOOT_ALLOWANCE}"
}

RUN=$CACHE/runs/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$RUN"

cleanup() {
    local p
    for p in $(jobs -p); do kill -TERM "$p" 2>/dev/null || true; done
    for p in "$RUN"/*/*/qemu.pid; do
        [ -e "$p" ] || continue
        kill -KILL "$(cat "$p")" 2>/dev/null || true
    done
    if [ "$KEEP" = 0 ]; then rm -rf "$RUN"; else log "logs kept in $RUN"; fi
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

q() { # single-quote for sh
    printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

run_job() { # SERIES SCENARIO
    local series=$1 sc=$2 job=$RUN/$1/$2 kdir=${KDIRS[$1]} kver=${KVERS[$1]} t allowance start rc
    mkdir -p "$job/share" "$job/fsroot"
    t=$(scenario_timeout "$sc")
    allowance=$(scenario_allowance "$sc")
    {
        echo "export VM_REPO=$(q "$REPO")"
        echo "export VM_SCENARIO=$(q "$sc")"
        echo "export VM_SCENARIO_FILE=$(q "${SCENARIO_FILE[$sc]}")"
        echo "export VM_SCENARIO_TIMEOUT=$t"
        echo "export VM_KERNEL=$(q "$series")"
        # "# vm-coldplug: udev": stage2 loads no driver; the scenario starts udevd and
        # coldplugs with udevadm trigger, so udev's own modalias rule loads the drivers.
        echo "export VM_COLDPLUG=$(q "$(header "$sc" vm-coldplug)")"
        echo "export VM_MODDIR=$(q "$kdir/root/lib/modules/$kver")"
        echo "export VM_VFIOCTL=$(q "$VFIOCTL_BIN")"
        echo "export VM_HOLDER=$(q "$HOLDER")"
        echo "export VM_PYTHON=$(q "$HOST_PYTHON")"
        echo "export VM_NVME_FS_MARKER=vfioctl-vm-fs"
    } >"$job/share/env"
    echo "vfioctl-vm-fs" >"$job/fsroot/marker"
    truncate -s 16M "$job/fs.img"
    mkfs.ext2 -q -F -L vmfs -d "$job/fsroot" "$job/fs.img" >/dev/null
    local nic='romfile=,mac=52:54:00:12:34'
    # Devices only some scenarios need ("# vm-qemu-extra: -device ..."), so the common topology
    # stays the same for all. @DISK@ stands for a fresh 16 MiB ext2 image (label vmextra) with
    # a marker file, for a USB stick or a second disk.
    local -a extra=()
    local extra_line
    extra_line=$(header "$sc" vm-qemu-extra)
    if [ -n "$extra_line" ]; then
        if [[ $extra_line == *@DISK@* ]]; then
            mkdir -p "$job/extraroot"
            echo "vfioctl-vm-extra" >"$job/extraroot/marker"
            truncate -s 16M "$job/extra.img"
            mkfs.ext2 -q -F -L vmextra -d "$job/extraroot" "$job/extra.img" >/dev/null
        fi
        read -r -a extra <<<"${extra_line//@DISK@/$job/extra.img}"
    fi
    # The emulated IOMMU ("# vm-iommu: intel|virtio|none", default intel): intel-iommu with
    # interrupt remapping (caching-mode so that VFIO's maps reach QEMU), virtio-iommu (no
    # interrupt remapping on x86), or none at all (for no-IOMMU mode).
    local iommu kargs="console=ttyS0 panic=-1 quiet no_timer_check"
    local -a iommu_dev=()
    iommu=$(header "$sc" vm-iommu)
    case ${iommu:-intel} in
    intel)
        iommu_dev=(-device intel-iommu,intremap=on,caching-mode=on)
        kargs="$kargs intel_iommu=on iommu=pt"
        ;;
    virtio) iommu_dev=(-device virtio-iommu-pci,bus=pcie.0,addr=0x1e) ;;
    none) ;;
    *) die "$sc: unknown vm-iommu '$iommu' (intel, virtio or none)" ;;
    esac
    # A built-in bonding driver would make bond0 at boot; the scenarios create their own, as
    # after `modprobe bonding max_bonds=0`.
    if is_built_series "$series"; then kargs="$kargs bonding.max_bonds=0"; fi
    start=$(date +%s)
    set +e
    timeout -k 10 $((t + allowance)) qemu-system-x86_64 \
        -machine q35,accel=tcg -cpu max -smp 1 -m 1024 \
        -nodefaults -no-user-config -display none -no-reboot \
        -kernel "$kdir/root/boot/vmlinuz-$kver" -initrd "$kdir/initramfs.gz" \
        -append "$kargs" \
        -serial "file:$job/console.log" -monitor none -pidfile "$job/qemu.pid" \
        "${iommu_dev[@]}" \
        -fsdev local,id=fshost,path=/,security_model=none,readonly=on,multidevs=remap \
        -device virtio-9p-pci,fsdev=fshost,mount_tag=host,bus=pcie.0,addr=0x10 \
        -fsdev local,id=fsvm,path="$job/share",security_model=none,multidevs=remap \
        -device virtio-9p-pci,fsdev=fsvm,mount_tag=vm,bus=pcie.0,addr=0x11 \
        -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1,addr=0x2 \
        -netdev user,id=n0,restrict=on -device e1000e,bus=rp1,netdev=n0,$nic:01 \
        -device pcie-pci-bridge,id=br1,bus=pcie.0,addr=0x3 \
        -netdev user,id=n1,restrict=on -device e1000,bus=br1,addr=0x1,netdev=n1,$nic:02 \
        -netdev user,id=n2,restrict=on -device e1000,bus=br1,addr=0x2,netdev=n2,$nic:03 \
        -device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2,addr=0x4 \
        -drive file="$job/fs.img",if=none,id=nvfs,format=raw \
        -device nvme,bus=rp2,drive=nvfs,serial=vmfs0001 \
        -device pcie-root-port,id=rp3,bus=pcie.0,chassis=3,slot=3,addr=0x5 \
        -device nvme-subsys,id=subsys0 \
        -device nvme,bus=rp3,serial=vmsriov01,subsys=subsys0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=12,msix_qsize=8 \
        -netdev user,id=n3,restrict=on -device e1000,bus=pcie.0,addr=0x6.0,multifunction=on,netdev=n3,$nic:04 \
        -device ich9-intel-hda,bus=pcie.0,addr=0x6.1 \
        "${extra[@]}" \
        >"$job/qemu.out" 2>&1 </dev/null
    rc=$?
    set -e
    echo "$rc $(($(date +%s) - start))" >"$job/status"
    rm -f "$job/qemu.pid"
}

log "kernels: $(for k in "${KERNELS[@]}"; do printf '%s=%s ' "$k" "${KVERS[$k]:-unused}"; done)"
log "scenarios: ${SCENARIOS[*]} (${JOBS} guest(s) at a time)"
T0=$(date +%s)
for sc in "${SCENARIOS[@]}"; do
    for k in ${JOB_KERNELS[$sc]}; do
        while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
        run_job "$k" "$sc" &
    done
done
wait

# ---------------------------------------------------------------------------------
# Report
pass=0 failn=0 details=
context() { # console lines around the first failure marker, else from the scenario's start
    local con=$1 n s total
    [ -s "$con" ] || { echo "  | (no console output)"; return; }
    n=$(grep -n -a -m 1 -E '^### FAIL|@@VM-INIT-FAILED' "$con" | cut -d: -f1)
    if [ -n "$n" ]; then
        sed -n "$((n > 30 ? n - 30 : 1)),$((n + 10))p" "$con"
    else
        total=$(wc -l <"$con")
        s=$(grep -n -a -m 1 '^@@VM-SCENARIO-START' "$con" | cut -d: -f1)
        s=${s:-$((total - 39))}
        [ "$s" -ge $((total - 59)) ] || s=$((total - 59))
        sed -n "$((s > 1 ? s : 1)),\$p" "$con"
    fi | tr -d '\r' | sed 's/^/  | /'
}
echo
echo "== vfioctl VM suite: $VFIOCTL_BIN"
selfok=0 selfn=0
for sc in "${SCENARIOS[@]}"; do
    # A self-test ("# vm-must-fail: ERE") passes when it fails with a reason matching ERE.
    mustfail=$(header "$sc" vm-must-fail)
    for k in ${JOB_KERNELS[$sc]}; do
        job=$RUN/$k/$sc
        read -r qrc secs <"$job/status" || { qrc=?; secs=?; }
        verdict=$(head -n 1 "$job/share/result" 2>/dev/null || true)
        why=
        if [ "$verdict" = FAIL ]; then
            why=$(tail -n +2 "$job/share/result")
        elif [ "$verdict" = PASS ]; then
            :
        elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
            why="guest killed after $((secs))s: no verdict (hung boot or scenario; limit $(($(scenario_timeout "$sc") + $(scenario_allowance "$sc")))s)"
        else
            why="guest ended without a verdict (QEMU exit $qrc)"
            [ -s "$job/qemu.out" ] && why="$why: $(head -c 400 "$job/qemu.out")"
        fi
        shown=${verdict:-FAIL}
        if [ -n "$mustfail" ]; then
            selfn=$((selfn + 1))
            if [ "$verdict" = PASS ]; then
                shown=XPASS
                why="HARNESS BROKEN: this self-test must fail (with /$mustfail/) but passed"
            elif printf '%s\n' "$why" | grep -qE -- "$mustfail"; then
                shown=XFAIL
                why=
                selfok=$((selfok + 1))
            else
                why="HARNESS BROKEN: this self-test must fail with /$mustfail/, but failed otherwise:
$why"
            fi
        fi
        if [ -z "$why" ] && [ "$shown" != FAIL ]; then
            pass=$((pass + 1))
        else
            failn=$((failn + 1))
            details+="
--- $shown  $k (${KVERS[$k]}) $sc
$(printf '%s\n' "$why" | sed 's/^/  /')
  console:
$(context "$job/console.log")
"
        fi
        printf '%-5s  %-5s %-24s %4ss\n' "$shown" "$k" "$sc" "$secs"
    done
done
[ -z "$details" ] || printf '%s\n' "$details"
echo "kernels: $(for k in "${KERNELS[@]}"; do printf '%s=%s ' "$k" "${KVERS[$k]:-unused}"; done)- wall time $(($(date +%s) - T0))s"
if [ "$selfn" -gt 0 ]; then
    if [ "$selfok" = "$selfn" ]; then
        echo "harness self-tests: all $selfn failed as they must (XFAIL)"
    else
        echo "HARNESS SELF-TESTS BROKEN: $((selfn - selfok)) of $selfn did not fail as they must: no verdict of this run can be trusted"
    fi
fi
echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
