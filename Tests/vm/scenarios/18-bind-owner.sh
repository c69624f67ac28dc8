# bind --owner nobody on the e1000e: the group node becomes nobody's (mode 0600), the holder
# run as nobody opens the group and holds the device while another uid cannot open it;
# unbind waits for that holder like any other and leaves nothing behind (the kernel removes
# the node with the group, the rule file and the record go). A rebind (cycle) gets the same
# owner again.
# udev does not run in this guest (no udevd: stage2 loads drivers by hand), so the owner after
# a rebind is vfioctl's own chown; the rule file is checked as written and removed.
# vm-timeout: 420
. "$VM_LIB"

bdf=$VM_E1000E
g=$(pci_group "$bdf")
rule=/run/udev/rules.d/70-vfioctl-${bdf//:/-}.rules
state=/run/vfioctl/state.json
as_uid() { local uid=$1; shift; setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }

if pidof systemd-udevd udevd >/dev/null 2>&1; then fail "udevd runs in the guest: this scenario assumes it does not"; fi
note "udev: not running in the guest; vfioctl's chown is what sets the owner"
command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing in the guest"
expect_exit 0 modprobe vfio-pci

# --- refusals: nothing changes ----------------------------------------------------------
expect_exit 64 "$VFIOCTL" bind "$bdf" --owner root
expect_contains "$LAST_ERR" "nothing to do"
expect_exit 64 "$VFIOCTL" bind "$bdf" --owner no-such-user
expect_contains "$LAST_ERR" "unknown user 'no-such-user'"
expect_eq "$(pci_driver "$bdf")" e1000e "driver after the refusals"
expect_no_file "$state"

# --- dry run: the chown and chmod as shell lines ---------------------------------------
expect_exit 0 "$VFIOCTL" bind "$bdf" --owner nobody --dry-run
expect_contains "$LAST_OUT" "chown 65534:0 /dev/vfio/$g"
expect_contains "$LAST_OUT" "chmod 0600 /dev/vfio/$g"
expect_eq "$(pci_driver "$bdf")" e1000e "driver after --dry-run"
expect_no_file "$rule"

# --- the bind ---------------------------------------------------------------------------
expect_exit 0 "$VFIOCTL" bind "$bdf" --owner nobody
expect_contains "$LAST_OUT" "/dev/vfio/$g belongs to nobody, mode 0600"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after bind"
expect_eq "$(stat -c '%u:%g %a %F' "/dev/vfio/$g")" "65534:0 600 character special file" "group node after bind --owner"
expect_eq "$(stat -c '%u:%g %a' /dev/vfio/vfio)" "0:0 666" "the container node is left as the kernel makes it"
# Why the rule matches the group node by name and membership, not KERNELS==: the group's
# device has no parent, it is a virtual device.
expect_eq "$(readlink -f "/sys/class/vfio/$g")" "/sys/devices/virtual/vfio/$g" "the group's class device"
expect_file "$rule"
expect_contains "$(cat "$rule")" "TEST==\"/sys/kernel/iommu_groups/\$kernel/devices/$bdf\""
expect_not_contains "$(cat "$rule")" 'KERNEL=="vfio'
expect_eq "$(json_get '[(d["address"], d["owner"]["user"], d["owner"]["uid"], d["owner"]["mode"]) for d in j["devices"]]' "$state")" \
    "[[\"$bdf\",\"nobody\",65534,384]]" "owner in the state file"

# show and list --json report the owner and mode of the node.
expect_exit 0 "$VFIOCTL" show "$bdf"
expect_contains "$LAST_OUT" "/dev/vfio/$g (nobody:root 0600)" "show's VFIO nodes"
expect_exit 0 "$VFIOCTL" list --json
expect_eq "$(json_get "[(d['groupNodeAccess']['uid'], d['groupNodeAccess']['mode']) for d in j['devices'] if d['address'] == '$bdf']" <<<"$LAST_OUT")" \
    '[[65534,"0600"]]' "list --json groupNodeAccess"

# --- nobody can hold it, uid 65533 cannot open it --------------------------------------
expect_exit 1 as_uid 65533 "$VM_HOLDER" --seconds 1 "$bdf"
expect_contains "$LAST_ERR" "Permission denied" "another uid opening the group"
ready_dir=$VM_TMP/owner-ready
mkdir -m 1777 "$ready_dir"
echo "+ holder as nobody"
# setpriv execs the holder, so $! is the holder's pid.
setpriv --reuid=65534 --regid=65534 --clear-groups "$VM_HOLDER" --ready "$ready_dir/ready" "$bdf" &
HOLDER_PID=$!
wait_until 30 test -e "$ready_dir/ready" || fail "the holder run as nobody did not get the device"
expect_eq "$(cat "$ready_dir/ready")" "$HOLDER_PID ready" "holder ready file"
expect_eq "$(stat -c %u "/proc/$HOLDER_PID")" 65534 "the holder runs as nobody"
expect_contains "$(fd_targets "$HOLDER_PID")" "anon_inode:[vfio-device]" "nobody's holder has the device fd"
expect_exit 1 as_uid 65533 "$VM_HOLDER" --seconds 1 "$bdf"
expect_contains "$LAST_ERR" "Permission denied" "another uid while nobody holds it"

# --- unbind waits for nobody's holder -------------------------------------------------------
"$VFIOCTL" unbind "$bdf" --timeout 60 >"$VM_TMP/unbind.out" 2>"$VM_TMP/unbind.err" &
unbind_pid=$!
sleep 3
kill -0 "$unbind_pid" 2>/dev/null || fail "unbind returned while nobody's holder held the device: $(cat "$VM_TMP/unbind.err")"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver while unbind waits"
holder_stop
wait "$unbind_pid"
rc=$?
expect_eq "$rc" 0 "unbind exit status after the holder exited ($(cat "$VM_TMP/unbind.err"))"
expect_eq "$(pci_driver "$bdf")" e1000e "driver after unbind"
expect_no_file "/dev/vfio/$g"
expect_no_file "$rule"
expect_eq "$(json_get 'j["devices"]' "$state")" "" "state file after unbind"

# --- a rebind gets the owner again; restore removes the rule --------------------------------
expect_exit 0 "$VFIOCTL" bind "$bdf" --owner nobody
expect_exit 0 "$VFIOCTL" cycle "$bdf"
expect_eq "$(stat -c '%u:%g %a' "/dev/vfio/$g")" "65534:0 600" "group node after cycle"
expect_file "$rule"
expect_exit 0 "$VFIOCTL" restore
expect_eq "$(pci_driver "$bdf")" e1000e "driver after restore"
expect_no_file "$rule"
expect_no_file "/dev/vfio/$g"

# --- apply with owner =: a persistent rule under /etc, removed when the device goes back ----------
persistent=/etc/udev/rules.d/70-vfioctl-${bdf//:/-}.rules
printf '[device %s]\ndriver = vfio-pci\nowner = nobody:nogroup\n' "$bdf" >"$VM_TMP/owner.conf"
expect_exit 0 "$VFIOCTL" apply "$VM_TMP/owner.conf"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after apply"
expect_eq "$(stat -c '%u:%g %a' "/dev/vfio/$g")" "65534:65534 660" "group node after apply owner = nobody:nogroup"
expect_file "$persistent"
expect_no_file "$rule"
expect_exit 0 "$VFIOCTL" apply "$VM_TMP/owner.conf" --json
expect_eq "$(json_get '[d["status"] for d in j["devices"]]' <<<"$LAST_OUT")" unchanged "second apply"
printf '[device %s]\ndriver = host\n' "$bdf" >"$VM_TMP/host.conf"
expect_exit 0 "$VFIOCTL" apply "$VM_TMP/host.conf"
expect_eq "$(pci_driver "$bdf")" e1000e "driver after apply driver = host"
expect_no_file "$persistent"
