#!/bin/bash
# Runs inside the guest, chrooted into the overlay of the host's root (see guest/init).
# Prepares the scenario environment, runs one scenario with a deadline, checks for tasks
# stuck in D state, and writes the verdict to /vm/result for the host.
set -u
. /vm/env
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=dumb
unset PYTHONPATH PYTHONHOME

say() { echo "vm-stage2 [$(cut -d' ' -f1 /proc/uptime)]: $*"; }

verdict() { # PASS|FAIL, reasons on stdin
    { echo "$1"; cat; } >/vm/result.tmp && mv /vm/result.tmp /vm/result
    sync
    echo "@@VM-RESULT $1"
}

mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /dev/pts /dev/shm
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /dev/shm

# The harness's own files (repo, cache, binary under test) may live below /tmp or /run on
# the host: show them again through the fresh tmpfs, from the read-only host view.
show_host() { # PATH: bind the host's PATH over the guest's tmpfs
    mountpoint -q "$1" && return
    if [ -d "/.host$1" ]; then mkdir -p "$1"; else mkdir -p "${1%/*}" && : >>"$1"; fi &&
        mount --bind "/.host$1" "$1" || say "cannot show host $1 in the guest"
}
for p in "$VM_REPO" "$VM_MODDIR" "$VM_VFIOCTL" "$VM_HOLDER" "$VM_SCENARIO_FILE"; do
    [ -d "/.host$p" ] || case ${p%/*} in /tmp | /run) ;; *) p=${p%/*} ;; esac
    case $p in /tmp/* | /run/*) show_host "$p" ;; esac
done

# kmod looks for /lib/modules/$(uname -r); the host has no such tree, so show it the
# guest kernel's modules (unpacked and depmod'ed by the harness in its cache).
kver=$(uname -r)
mkdir -p "/lib/modules/$kver"
mount --bind "$VM_MODDIR" "/lib/modules/$kver" || { echo "cannot bind $VM_MODDIR" | verdict FAIL; exit 1; }

sysctl -qw kernel.hung_task_timeout_secs=30 2>/dev/null

# Coldplug, as udev would: load the driver of every PCI device present at boot. A scenario
# with "# vm-coldplug: udev" does it itself, with the real udevd (udev_start in lib.sh).
if [ "${VM_COLDPLUG:-}" = udev ]; then
    say "coldplug left to the scenario's udevd"
else
    say "coldplug"
    modprobe -qab $(cat /sys/bus/pci/devices/*/modalias) 2>/dev/null
    say "coldplug done"
fi

first_child() { # first PCI device below a bridge
    local d
    for d in /sys/bus/pci/devices/"$1"/0000:*; do
        [ -e "$d/vendor" ] && { basename "$d"; return; }
    done
}
nth_child() {
    local d i=0
    for d in /sys/bus/pci/devices/"$1"/0000:*; do
        [ -e "$d/vendor" ] || continue
        i=$((i + 1))
        [ "$i" = "$2" ] && { basename "$d"; return; }
    done
}
export VM_E1000E_PORT=0000:00:02.0
export VM_E1000E=$(first_child $VM_E1000E_PORT)
export VM_BRIDGE=0000:00:03.0
export VM_BRIDGE_NIC1=$(nth_child $VM_BRIDGE 1)
export VM_BRIDGE_NIC2=$(nth_child $VM_BRIDGE 2)
export VM_NVME_FS_PORT=0000:00:04.0
export VM_NVME_FS=$(first_child $VM_NVME_FS_PORT)
export VM_NVME_SRIOV_PORT=0000:00:05.0
export VM_NVME_SRIOV=$(first_child $VM_NVME_SRIOV_PORT)
export VM_MF_NIC=0000:00:06.0
export VM_MF_AUDIO=0000:00:06.1

export VFIOCTL="$VM_VFIOCTL"
export VM_LIB="$VM_REPO/Tests/vm/lib.sh"
export VM_OUT=/vm/out
export VM_TMP=/tmp/vm-scenario
export VM_KVER=$kver
mkdir -p "$VM_OUT" "$VM_TMP"

say "kernel $kver, scenario $VM_SCENARIO, timeout ${VM_SCENARIO_TIMEOUT}s"
say "e1000e=$VM_E1000E bridge=$VM_BRIDGE nics=$VM_BRIDGE_NIC1,$VM_BRIDGE_NIC2 mf=$VM_MF_NIC,$VM_MF_AUDIO nvme=$VM_NVME_FS sriov=$VM_NVME_SRIOV"
echo "@@VM-SCENARIO-START $VM_SCENARIO"

: >/vm/failures
cd "$VM_TMP"
start=$(date +%s)
setsid bash --noprofile --norc "$VM_SCENARIO_FILE" \
    > >(tee /vm/scenario.log) 2>&1 </dev/null &
pid=$!
deadline=$((start + VM_SCENARIO_TIMEOUT))
timed_out=0
while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        timed_out=1
        break
    fi
    sleep 0.2
done
if [ "$timed_out" = 1 ]; then
    rc=124
else
    wait "$pid"
    rc=$?
fi
sleep 0.3 # let tee drain
echo "@@VM-SCENARIO-END $VM_SCENARIO rc=$rc"

# stuck_tasks and vfio_waiters (lib.sh): what a blocked unbind leaves behind.
. "$VM_LIB"
stuck=$(stuck_tasks)

reasons=$(cat /vm/failures)
asserted=${reasons:+1}
if [ "$timed_out" = 1 ]; then
    reasons="${reasons:+$reasons
}scenario did not finish within ${VM_SCENARIO_TIMEOUT}s (killed)"
elif [ "$rc" != 0 ] && [ -z "$reasons" ]; then
    reasons="scenario exited with status $rc"
fi
waiters=$(vfio_waiters)
if [ -n "$waiters" ]; then
    for p in $waiters; do
        grep -qx "$p" <<<"$stuck" && continue
        reasons="${reasons:+$reasons
}task $p ($(cat "/proc/$p/comm" 2>/dev/null)) left waiting in vfio_unregister_group_dev (an unbind blocked by a holder)"
    done
fi
if [ -n "$stuck" ]; then
    for p in $stuck; do
        pcomm=$(cat "/proc/$p/comm" 2>/dev/null)
        reasons="${reasons:+$reasons
}task $p ($pcomm) stuck in D state: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
        echo "---- kernel stack of $p ($pcomm) ----"
        cat "/proc/$p/stack" 2>/dev/null
    done
fi
if [ -n "$reasons" ] && [ -z "$asserted" ]; then
    echo "---- processes ----"
    ps -e -o pid,ppid,stat,wchan:28,args | grep -v ' \[.*\]$'
    echo "---- dmesg (last 20 lines) ----"
    dmesg | tail -n 20
fi
[ "$timed_out" = 1 ] && kill -KILL -- "-$pid" 2>/dev/null

if [ -z "$reasons" ]; then
    verdict PASS </dev/null
else
    printf '%s\n' "$reasons" | verdict FAIL
fi
