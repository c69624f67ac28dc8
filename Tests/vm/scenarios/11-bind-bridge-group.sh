# The two e1000 behind the pcie-pci-bridge share a group with it: binding one is refused
# (exit 2) naming the other, its driver and the command that works; --group moves both and
# leaves the bridge; the bridge itself is refused. A VMM can then open the group.
. "$VM_LIB"

nic1=$VM_BRIDGE_NIC1 nic2=$VM_BRIDGE_NIC2 bridge=$VM_BRIDGE
state=/run/vfioctl/state.json
g=$(pci_group "$nic1")
expect_eq "$(pci_group "$nic2")" "$g" "group of the second NIC"

# --- one NIC: refused, nothing changed -------------------------------------------------
expect_exit 2 "$VFIOCTL" bind "$nic1"
expect_contains "$LAST_ERR" "group $g would not be viable: $nic2 stays on host driver e1000"
expect_contains "$LAST_ERR" "vfioctl bind --group $nic1"
expect_contains "$LAST_ERR" "nothing was changed"
expect_eq "$(pci_driver "$nic1") $(pci_driver "$nic2")" "e1000 e1000" "drivers after the refusal"
expect_eq "$(cat /sys/bus/pci/devices/$nic1/driver_override)" "(null)" "override after the refusal"
vfio_pci_builtin || expect_no_file /sys/bus/pci/drivers/vfio-pci
[ ! -e "$state" ] || expect_eq "$(json_get 'len(j["devices"])' "$state")" 0 "state after the refusal"

expect_exit 2 "$VFIOCTL" bind "$nic1" --json
expect_eq "$(json_get '[(r["kind"], r["address"], r["driver"]) for r in j["refusals"]]' <<<"$LAST_OUT")" \
    "[[\"group-not-viable\",\"$nic2\",\"e1000\"]]" "refusal JSON"

# --- the bridge: refused -----------------------------------------------------------------
expect_exit 2 "$VFIOCTL" bind "$bridge"
expect_contains "$LAST_ERR" "$bridge is a PCI bridge"

# --- the whole group ---------------------------------------------------------------------
expect_exit 0 "$VFIOCTL" bind --group "$nic1"
expect_contains "$LAST_OUT" "bound $nic2 to vfio-pci (was e1000; moved with its group)"
expect_eq "$(pci_driver "$nic1") $(pci_driver "$nic2")" "vfio-pci vfio-pci" "drivers after --group"
expect_eq "$(pci_driver "$bridge")" "" "bridge driver after --group"
expect_file "/dev/vfio/$g"
expect_eq "$(json_get '[(d["address"], d["originalDriver"], d["status"]) for d in j["devices"]]' "$state")" \
    "[[\"$nic1\",\"e1000\",\"bound\"],[\"$nic2\",\"e1000\",\"bound\"]]" "state after --group"

holder_start "$nic2"
holder_stop

# group:N says the same thing: already bound.
expect_exit 0 "$VFIOCTL" bind "group:$g"
expect_eq "$LAST_OUT" "$nic1, $nic2 are already bound to vfio-pci" "bind group:$g afterwards"

sysfs_release "$nic1" e1000
sysfs_release "$nic2" e1000
