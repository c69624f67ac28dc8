# Helpers for VM scenarios. Source it first: . "$VM_LIB"
# A failed expectation prints "### FAIL: ..." (the harness shows the console around it),
# records the message for the report and ends the scenario with status 1.
# Do not call expect_*/fail inside $(...): the exit would only leave the subshell
# (the failure is still recorded, so the scenario still fails, but it keeps running).

VM_FAILURES=${VM_FAILURES:-/vm/failures}
[ -w "$(dirname "$VM_FAILURES")" ] || VM_FAILURES=/dev/null
LAST_OUT= LAST_ERR= LAST_RC=

_vm_where() { # first caller outside this file
    local i
    for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
        if [ "${BASH_SOURCE[$i]}" != "${BASH_SOURCE[0]}" ]; then
            echo "$(basename "${BASH_SOURCE[$i]}"):${BASH_LINENO[$((i - 1))]}"
            return
        fi
    done
}

fail() {
    local msg="$(_vm_where): $*"
    echo "### FAIL: $msg" >&2
    echo "$msg" >>"$VM_FAILURES"
    exit 1
}

# _vm_now: REPLY = guest uptime in seconds (no process started)
_vm_now() { local rest; read -r REPLY rest </proc/uptime; }

note() { echo "# $*"; }

expect_eq() { # ACTUAL EXPECTED [WHAT]
    [ "$1" == "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}

expect_ne() { # ACTUAL UNEXPECTED [WHAT]
    [ "$1" != "$2" ] || fail "${3:-value}: did not expect '$2'"
}

expect_contains() { # HAYSTACK NEEDLE [WHAT]
    [[ "$1" == *"$2"* ]] || fail "${3:-output} does not contain '$2'; it was: $(printf '%s' "$1" | head -c 600)"
}

expect_not_contains() { # HAYSTACK NEEDLE [WHAT]
    [[ "$1" != *"$2"* ]] || fail "${3:-output} contains '$2'; it was: $(printf '%s' "$1" | head -c 600)"
}

expect_same_lines() { # ACTUAL EXPECTED [WHAT]: multi-line values, shows a diff
    [ "$1" == "$2" ] && return
    fail "${3:-lines} differ (- expected, + actual):
$(diff -u <(printf '%s\n' "$2") <(printf '%s\n' "$1") | tail -n +3 | head -n 60)"
}

expect_json() { # TEXT [WHAT]: TEXT must be one JSON document
    printf '%s' "$1" | python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null ||
        fail "${2:-output} is not JSON: '$(printf '%s' "$1" | head -c 400)'"
}

expect_file() { # PATH: must exist
    [ -e "$1" ] || fail "$1 does not exist"
}

expect_no_file() { # PATH: must not exist
    [ ! -e "$1" ] || fail "$1 exists"
}

# expect_exit CODE CMD [ARGS...]: run CMD; its stdout, stderr and status are left in
# LAST_OUT, LAST_ERR and LAST_RC. Fails unless the status is CODE.
expect_exit() {
    local want=$1
    shift
    run "$@"
    if [ "$LAST_RC" != "$want" ]; then
        fail "'$*' exited $LAST_RC, expected $want
  stdout: $(printf '%s' "$LAST_OUT" | head -n 15)
  stderr: $(printf '%s' "$LAST_ERR" | head -n 15)"
    fi
}

# run CMD [ARGS...]: like expect_exit without the check.
run() {
    local o e
    o=$(mktemp) e=$(mktemp)
    _vm_now
    echo "+ [$REPLY] $*"
    "$@" >"$o" 2>"$e"
    LAST_RC=$?
    LAST_OUT=$(cat "$o") LAST_ERR=$(cat "$e")
    rm -f "$o" "$e"
    [ -z "$LAST_ERR" ] || printf '%s\n' "$LAST_ERR" | head -n 20 | sed 's/^/  stderr: /'
    return 0
}

# json_get EXPR [FILE]: evaluate the Python expression EXPR with the JSON document (from
# FILE, or stdin) bound to j. Strings print raw, None as null, booleans as true/false,
# lists of scalars one item per line, anything else as compact sorted JSON.
#   json_get 'j["schemaVersion"]' <<<"$LAST_OUT"
#   json_get '[d["address"] for d in j["devices"] if d["driver"] == "e1000"]' out.json
json_get() {
    python3 -c '
import json, sys
src = open(sys.argv[2]) if len(sys.argv) > 2 else sys.stdin
try:
    j = json.load(src)
except ValueError as e:
    sys.exit("json_get: input is not JSON: %s" % e)
try:
    v = eval(sys.argv[1], {"j": j, "json": json})
except Exception as e:
    sys.exit("json_get: %s: %s: %s" % (sys.argv[1], type(e).__name__, e))
def scalar(x):
    if x is None: return "null"
    if isinstance(x, bool): return "true" if x else "false"
    if isinstance(x, str): return x
    if isinstance(x, (int, float)): return str(x)
    return None
s = scalar(v)
if s is not None:
    print(s)
elif isinstance(v, list) and all(scalar(x) is not None for x in v):
    for x in v: print(scalar(x))
else:
    print(json.dumps(v, sort_keys=True, separators=(",", ":")))
' "$@"
}

# wait_until SECONDS CMD [ARGS...]: poll CMD every 0.1 s; status 1 if it never succeeded.
wait_until() {
    local end=$(($(date +%s%N) / 1000000 + $1 * 1000))
    shift
    until "$@"; do
        [ $(($(date +%s%N) / 1000000)) -lt "$end" ] || return 1
        sleep 0.1
    done
}

# --- tasks the kernel holds ------------------------------------------------------
# _vm_dscan: PIDs in uninterruptible sleep (D) now, sorted.
_vm_dscan() {
    local s line rest
    for s in /proc/[0-9]*/stat; do
        read -r line <"$s" 2>/dev/null || continue
        rest=${line##*) }
        [ "${rest%% *}" = D ] && echo "${line%% *}"
    done | sort
}
# stuck_tasks: PIDs in D state in four samples a second apart. One sample is not enough: the
# kernel's msleep() sleeps in D, so a driver's worker (e1000e's reset after a probe) or a
# module load shows as D for a moment; a writer blocked in unbind stays there.
stuck_tasks() {
    local stuck i
    stuck=$(_vm_dscan)
    for i in 1 2 3; do
        [ -n "$stuck" ] || break
        sleep 1
        stuck=$(comm -12 <(echo "$stuck") <(_vm_dscan) | grep .)
    done
    [ -z "$stuck" ] || echo "$stuck"
}
# vfio_waiters: PIDs waiting in vfio_unregister_group_dev. An unbind waiting for a VFIO device
# to be released first sleeps interruptibly (S), so D-state sampling alone misses it.
vfio_waiters() {
    local w c
    for w in /proc/[0-9]*/wchan; do
        c=
        read -r c <"$w" 2>/dev/null
        [ "$c" = vfio_unregister_group_dev ] && { w=${w#/proc/}; echo "${w%/wchan}"; }
    done
}

# --- sysfs views -----------------------------------------------------------------
pci_dev() { echo "/sys/bus/pci/devices/$1"; }
# _vm_link_name PATH: REPLY = last component of what the symlink PATH resolves to.
# (cd -P in the current shell: no process is started, which matters under TCG.)
_vm_link_name() {
    local old=$PWD
    REPLY=
    cd -P "$1" 2>/dev/null || return 1
    REPLY=${PWD##*/}
    cd "$old" || true
}
# vfio_pci_builtin: the guest kernel has vfio-pci built in (the suite's own kernels): its
# driver directory is there from boot and no plan loads it.
vfio_pci_builtin() { grep -q '/vfio-pci\.ko$' "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null; }

pci_driver() { # driver name or empty
    _vm_link_name "/sys/bus/pci/devices/$1/driver" && echo "$REPLY"
    return 0
}
pci_group() { # IOMMU group number or empty
    _vm_link_name "/sys/bus/pci/devices/$1/iommu_group" && echo "$REPLY"
    return 0
}
group_devices() { # N: member BDFs, sorted, one a line
    local d
    for d in /sys/kernel/iommu_groups/"$1"/devices/*; do
        [ -e "$d" ] && echo "${d##*/}"
    done
}

# sysfs_bind BDF DRIVER: hand a device to DRIVER by hand (driver_override, unbind, probe).
sysfs_bind() {
    local bdf=$1 drv=$2 d=/sys/bus/pci/devices/$1
    echo "+ sysfs_bind $bdf $drv"
    echo "$drv" >"$d/driver_override" || fail "cannot write driver_override of $bdf"
    if [ -e "$d/driver" ]; then
        echo "$bdf" >"$d/driver/unbind" || fail "cannot unbind $bdf from $(pci_driver "$bdf")"
    fi
    echo "$bdf" >/sys/bus/pci/drivers_probe || fail "drivers_probe of $bdf failed"
    expect_eq "$(pci_driver "$bdf")" "$drv" "driver of $bdf after sysfs_bind"
}

# sysfs_release BDF [EXPECTED_DRIVER]: clear driver_override, unbind, reprobe.
sysfs_release() {
    local bdf=$1 d=/sys/bus/pci/devices/$1
    echo "+ sysfs_release $bdf"
    echo >"$d/driver_override" || fail "cannot clear driver_override of $bdf"
    if [ -e "$d/driver" ]; then
        echo "$bdf" >"$d/driver/unbind" || fail "cannot unbind $bdf from $(pci_driver "$bdf")"
    fi
    echo "$bdf" >/sys/bus/pci/drivers_probe 2>/dev/null
    [ $# -lt 2 ] || expect_eq "$(pci_driver "$bdf")" "$2" "driver of $bdf after sysfs_release"
}

# --- holder ----------------------------------------------------------------------
# holder_start [--group-only|--mmap|--seconds N] BDF: start $VM_HOLDER in the background,
# wait until it holds the device; sets HOLDER_PID. Fails if it does not get there.
holder_start() {
    local ready
    ready=$(mktemp -u "$VM_TMP/holder.XXXXXX")
    echo "+ holder $*"
    "$VM_HOLDER" --ready "$ready" "$@" &
    HOLDER_PID=$!
    if ! wait_until 30 test -e "$ready"; then
        kill -0 "$HOLDER_PID" 2>/dev/null && kill "$HOLDER_PID"
        fail "holder $* did not become ready"
    fi
    expect_eq "$(cat "$ready")" "$HOLDER_PID ready" "holder ready file"
}

# holder_stop: SIGTERM the holder and reap it; fails unless it exits 0.
holder_stop() {
    local rc
    echo "+ holder_stop $HOLDER_PID"
    kill -TERM "$HOLDER_PID" 2>/dev/null
    wait "$HOLDER_PID"
    rc=$?
    [ "$rc" = 0 ] || fail "holder $HOLDER_PID exited $rc"
    HOLDER_PID=
}

# fd_targets PID: readlink of every fd of PID, one a line
fd_targets() {
    local f
    for f in /proc/"$1"/fd/*; do readlink "$f"; done 2>/dev/null
}

# --- udev (scenarios with "# vm-coldplug: udev") ------------------------------------------
# udev_start: start the host's systemd-udevd in the guest as a daemon, as at boot, and wait
# for its control socket; it is stopped when the scenario exits.
udev_start() {
    local bin
    for bin in /lib/systemd/systemd-udevd /usr/lib/systemd/systemd-udevd; do [ -x "$bin" ] && break; done
    [ -x "$bin" ] || fail "no systemd-udevd on the host (Debian package udev; make deps installs it)"
    echo "+ udev_start $bin"
    # The guest runs the scenario chrooted into the overlay (guest/init), and udevadm ignores
    # every request in a chroot without this; vfioctl passes it on to the udevadm it runs.
    export SYSTEMD_IGNORE_CHROOT=1
    "$bin" --daemon --resolve-names=never || fail "systemd-udevd did not start"
    wait_until 10 test -S /run/udev/control || fail "systemd-udevd made no /run/udev/control"
    trap 'udevadm control --exit 2>/dev/null' EXIT
}

# udev_coldplug: what systemd-udev-trigger.service does at boot, for the PCI devices: an add
# event for each, then wait until udevd has run every rule (and loaded the drivers).
udev_coldplug() {
    echo "+ udev_coldplug"
    udevadm trigger --action=add --subsystem-match=pci || fail "udevadm trigger failed"
    udev_settle
}

udev_settle() {
    udevadm settle --timeout=60 || fail "udevadm settle timed out"
}

# node_owner PATH: "uid:gid mode" of a device node.
node_owner() { stat -c '%u:%g %a' "$1"; }

# probed_by DRIVER BDF: dmesg lines in which DRIVER speaks about BDF (a probe prints them).
probed_by() { dmesg | grep -E "(^|\] )$1 $2" || true; }
