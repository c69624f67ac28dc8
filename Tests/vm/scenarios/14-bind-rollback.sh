# A transaction that fails half-way on the real kernel rolls back. The SR-IOV NVMe with VFs
# enabled is refused (exit 2); with --force vfioctl tries, after moving the e1000e first (the
# devices go in address order), and vfio-pci's probe of the PF fails ("Cannot bind to PF with
# SR-IOV enabled"), although drivers_probe reports success. Verification catches it, both go
# back to their drivers and overrides (exit 1), and the state file is as before.
. "$VM_LIB"

nic=$VM_E1000E pf=$VM_NVME_SRIOV
state=/run/vfioctl/state.json
pfdev=/sys/bus/pci/devices/$pf
[[ "$nic" < "$pf" ]] || fail "the scenario needs $nic to come before $pf"

expect_exit 0 sh -c "echo 0 > $pfdev/sriov_drivers_autoprobe && echo 2 > $pfdev/sriov_numvfs"
expect_eq "$(cat "$pfdev/sriov_numvfs")" 2 "VFs enabled"

expect_exit 2 "$VFIOCTL" bind "$pf"
expect_contains "$LAST_ERR" "$pf is in use: it is an SR-IOV PF with 2 VFs enabled"
expect_contains "$LAST_ERR" "echo 0 > $pfdev/sriov_numvfs"

# A record from an earlier bind must survive the rollback untouched.
expect_exit 0 "$VFIOCTL" bind --group "$VM_BRIDGE_NIC1"
before=$(cat "$state")

expect_exit 1 "$VFIOCTL" bind --force "$nic" "$pf"
expect_contains "$LAST_ERR" "--force: $pf: ignoring: it is an SR-IOV PF with 2 VFs enabled"
expect_contains "$LAST_ERR" "bind failed: $pf: expected driver vfio-pci but it is unbound"
expect_contains "$LAST_ERR" "which vfio-pci refuses"
expect_contains "$LAST_ERR" "rolled back: $nic (e1000e), $pf (nvme)"
expect_eq "$(pci_driver "$nic")" e1000e "e1000e after the rollback"
expect_eq "$(pci_driver "$pf")" nvme "PF after the rollback"
expect_eq "$(cat /sys/bus/pci/devices/$nic/driver_override)" "(null)" "e1000e override after the rollback"
expect_eq "$(cat "$pfdev/driver_override")" "(null)" "PF override after the rollback"
expect_no_file /sys/bus/pci/devices/$nic/vfio-dev
expect_eq "$(cat "$state")" "$before" "state file after the rollback"
expect_contains "$(dmesg | tail -n 50)" "Cannot bind to PF with SR-IOV enabled" "kernel log"

# The e1000e still works as a NIC after its round trip.
expect_file "/sys/bus/pci/devices/$nic/net"

# With the VFs gone, the PF binds.
expect_exit 0 sh -c "echo 0 > $pfdev/sriov_numvfs"
expect_exit 0 "$VFIOCTL" bind "$pf"
expect_eq "$(pci_driver "$pf")" vfio-pci "PF after sriov_numvfs=0"
expect_eq "$(json_get '[d["address"] for d in j["devices"]]' "$state" | tr '\n' ' ')" "$VM_BRIDGE_NIC1 $VM_BRIDGE_NIC2 $pf " "state file at the end"
sysfs_release "$pf" nvme
sysfs_release "$VM_BRIDGE_NIC1" e1000
sysfs_release "$VM_BRIDGE_NIC2" e1000
