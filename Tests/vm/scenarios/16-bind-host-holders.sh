# Host processes holding a host-bound function through its own nodes, on a real kernel: a
# process with the NVMe's raw namespace open (nothing mounted), then one with the controller
# node open: bind refuses (exit 2, the device stays on nvme) naming the pid, command and node;
# holders and show name it too; once the process is gone the bind goes through. A multipath
# head below the SR-IOV NVMe (nvme-subsys), if it has a namespace, counts too. If the guest's
# HDA function has a sound control node, a process holding it refuses a dry run of its group.
# vm-timeout: 420
. "$VM_LIB"

# start_opener NODE: a sleep with NODE open on fd 3; sets OPENER. Waits until it has exec'd
# (before that its command is the shell's).
start_opener() {
    sleep 300 3<"$1" &
    OPENER=$!
    wait_until 10 grep -qx sleep "/proc/$OPENER/comm" || fail "opener of $1 did not start"
    note "pid $OPENER holds $1: $(readlink "/proc/$OPENER/fd/3")"
}
stop_opener() {
    kill "$OPENER"
    wait "$OPENER" 2>/dev/null
    OPENER=
}

nvme=$VM_NVME_FS
dev=/sys/bus/pci/devices/$nvme
ctrl=$(ls "$dev/nvme")
[ -n "$ctrl" ] || fail "no controller below $nvme"
ns=
for d in "$dev/nvme/$ctrl/$ctrl"n*; do [ -e "$d/dev" ] && ns=${d##*/} && break; done
[ -n "$ns" ] || fail "no namespace below $ctrl"
note "controller /dev/$ctrl, namespace /dev/$ns"
expect_file "/dev/$ns"
expect_exit 0 modprobe vfio-pci

# --- the raw namespace open, nothing mounted -----------------------------------------------
start_opener "/dev/$ns"
expect_exit 2 "$VFIOCTL" bind "$nvme"
expect_contains "$LAST_ERR" "$nvme is in use: pid $OPENER (sleep" "refusal names the process"
expect_contains "$LAST_ERR" "has /dev/$ns open" "refusal names the node"
expect_contains "$LAST_ERR" "kill $OPENER" "remedy"
expect_eq "$(pci_driver "$nvme")" nvme "driver after the refusal"
expect_exit 2 "$VFIOCTL" bind "$nvme" --json
expect_eq "$(json_get '[(r["kind"], r["use"], r["forceable"]) for r in j["refusals"]]' <<<"$LAST_OUT")" \
    '[["in-use","open-device-node",true]]' "refusal JSON"
expect_exit 0 "$VFIOCTL" holders "$nvme" --json
expect_eq "$(json_get '[j["targets"][0]["state"], j["targets"][0]["holders"], [h["kind"] for h in j["holders"][0]["handles"]], j["holders"][0]["handles"][0]["path"]]' <<<"$LAST_OUT")" \
    "[\"host-held\",[$OPENER],[\"host-node\"],\"/dev/$ns\"]" "holders JSON"
expect_exit 0 "$VFIOCTL" holders "$nvme"
expect_contains "$LAST_OUT" "in use on the host by pid $OPENER (sleep)" "holders text"
expect_exit 0 "$VFIOCTL" show "$nvme"
expect_contains "$LAST_OUT" "$nvme is in use on the host by pid $OPENER (sleep) through /dev/$ns" "show"
stop_opener

# --- the controller node open -----------------------------------------------------------------
start_opener "/dev/$ctrl"
expect_exit 2 "$VFIOCTL" bind "$nvme"
expect_contains "$LAST_ERR" "$nvme is in use: pid $OPENER (sleep" "refusal names the process"
expect_contains "$LAST_ERR" "has /dev/$ctrl open" "refusal names the controller node"
expect_eq "$(pci_driver "$nvme")" nvme "driver after the refusal"
stop_opener

# --- nobody holds it: the bind goes through (no false positive) --------------------------------
expect_exit 0 "$VFIOCTL" holders "$nvme" --json
expect_eq "$(json_get 'j["targets"][0]["state"]' <<<"$LAST_OUT")" not-vfio "state once free"
expect_exit 0 "$VFIOCTL" bind "$nvme"
expect_eq "$(pci_driver "$nvme")" vfio-pci "driver after bind"
sysfs_release "$nvme" nvme

# --- a multipath head (nvme-subsys): held through the head's node -------------------------------
sriov=$VM_NVME_SRIOV
head=
for d in /sys/block/nvme*; do
    for p in "$d"/multipath/*; do
        [ -e "$p" ] || continue
        case "$(readlink -f "$p")" in "$(readlink -f "/sys/bus/pci/devices/$sriov")"/*) head=${d##*/} ;; esac
    done
done
if [ -n "$head" ]; then
    start_opener "/dev/$head"
    expect_exit 2 "$VFIOCTL" bind "$sriov" --dry-run
    expect_contains "$LAST_ERR" "has /dev/$head open" "multipath head"
    stop_opener
    expect_exit 0 "$VFIOCTL" bind "$sriov" --dry-run
else
    note "no multipath head below $sriov (its controller has no namespace here): that case is covered by the unit tests"
fi

# --- the HDA function's sound control node, if the kernel made one ------------------------------
audio=$VM_MF_AUDIO
control=
for d in /sys/bus/pci/devices/"$audio"/sound/card*/controlC*; do [ -e "$d/dev" ] && control=${d##*/}; done
if [ -n "$control" ]; then
    start_opener "/dev/snd/$control"
    expect_exit 2 "$VFIOCTL" bind --group "group:$(pci_group "$audio")" --dry-run
    expect_contains "$LAST_ERR" "$audio is in use: pid $OPENER (sleep" "sound control node"
    stop_opener
else
    note "no sound card on $audio (no codec): the sound case is covered by the unit tests only"
fi
