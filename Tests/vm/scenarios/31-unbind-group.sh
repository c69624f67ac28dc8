# The group rule on the bridge group (two e1000 and the bridge): with a VMM holding NIC1,
# unbind NIC2 waits for the whole group and times out naming the holder, nothing written;
# --to none does not need the group; unbind --group after the holder exits gives both back to
# e1000. Releasing one member of a free group warns that the group is no longer viable, and a
# VMM then indeed cannot take the other.
# vm-timeout: 300
. "$VM_LIB"

nic1=$VM_BRIDGE_NIC1 nic2=$VM_BRIDGE_NIC2
state=/run/vfioctl/state.json
g=$(pci_group "$nic1")
records() { json_get '[d["address"] for d in j["devices"]]' "$state" | tr '\n' ' '; }

expect_exit 0 "$VFIOCTL" bind --group "$nic1"
expect_eq "$(pci_driver "$nic1") $(pci_driver "$nic2")" "vfio-pci vfio-pci" "drivers after bind --group"

# --- NIC1 held: unbind NIC2 waits for the group, times out ----------------------------------
holder_start "$nic1"
expect_exit 3 "$VFIOCTL" unbind "$nic2" --timeout 2
expect_contains "$LAST_ERR" "$nic1 is held by pid $HOLDER_PID (holder)" "timeout message"
expect_contains "$LAST_ERR" "$nic1 shares an IOMMU group with the devices to release" "timeout message"
expect_eq "$(pci_driver "$nic1") $(pci_driver "$nic2")" "vfio-pci vfio-pci" "drivers after the timeout"
expect_eq "$(cat /sys/bus/pci/devices/$nic2/driver_override)" vfio-pci "NIC2 override after the timeout"
expect_exit 3 "$VFIOCTL" unbind --group "$nic1" --no-wait
expect_eq "$(records)" "$nic1 $nic2 " "records while held"

# --group waits for the whole group and releases both once the holder exits.
out=$VM_TMP/unbind.out
"$VFIOCTL" unbind --group "$nic2" --timeout 60 >"$out" 2>&1 &
unbind_pid=$!
waiter_watching() { fd_targets "$unbind_pid" | grep -q pidfd; }
wait_until 60 waiter_watching || fail "unbind never watched the holder: $(cat "$out")"
expect_eq "$(pci_driver "$nic1") $(pci_driver "$nic2")" "vfio-pci vfio-pci" "drivers while waiting"
holder_stop
wait "$unbind_pid"
expect_eq "$?" 0 "unbind --group status: $(cat "$out")"
expect_contains "$(cat "$out")" "released $nic1 to e1000 (was vfio-pci)" "unbind --group output"
expect_contains "$(cat "$out")" "released $nic2 to e1000 (was vfio-pci)" "unbind --group output"
expect_eq "$(pci_driver "$nic1") $(pci_driver "$nic2")" "e1000 e1000" "drivers after unbind --group"
expect_no_file "/dev/vfio/$g"
expect_eq "$(records)" "" "records after unbind --group"

# --- one member of a free group: released, with a warning; the group is no longer usable -----
expect_exit 0 "$VFIOCTL" bind --group "$nic1"
expect_exit 0 "$VFIOCTL" unbind "$nic2"
expect_contains "$LAST_ERR" "warning: group $g will not be viable for VFIO: $nic2 goes to e1000 while $nic1 stays on vfio-pci" "warning"
expect_eq "$(pci_driver "$nic1") $(pci_driver "$nic2")" "vfio-pci e1000" "drivers after unbinding NIC2"
expect_exit 1 "$VM_HOLDER" --seconds 1 "$nic1"
expect_contains "$LAST_ERR" "holder:" "a VMM cannot take NIC1 now"
expect_exit 0 "$VFIOCTL" unbind "$nic1"
expect_eq "$(pci_driver "$nic1") $(pci_driver "$nic2")" "e1000 e1000" "drivers at the end"

