# apply with VFs on the SR-IOV NVMe: vfs = 2 with vf-driver = vfio-pci creates and binds them
# (no VF ever on nvme), a second run changes nothing, an entry naming a VF is applied after
# the VFs exist, and vfs = 0 with a timeout removes them again.
. "$VM_LIB"

pf=$VM_NVME_SRIOV
pfdev=/sys/bus/pci/devices/$pf
dmesg_before=$(dmesg | wc -l)
cat >/etc/vfioctl.conf <<CONF
[device $pf]
vfs = 2
vf-driver = vfio-pci
CONF

run "$VFIOCTL" apply --json
expect_eq "$LAST_RC" 0 "apply with VFs"
expect_eq "$(json_get 'j["matches"]' <<<"$LAST_OUT")" true "matches"
expect_eq "$(json_get '[d["status"] for d in j["devices"]]' <<<"$LAST_OUT")" changed "statuses"
vf1=$(basename "$(readlink "$pfdev/virtfn0")") vf2=$(basename "$(readlink "$pfdev/virtfn1")")
expect_eq "$(cat "$pfdev/sriov_numvfs") $(pci_driver "$vf1") $(pci_driver "$vf2") $(pci_driver "$pf")" "2 vfio-pci vfio-pci nvme" "after apply"
expect_eq "$(dmesg | tail -n +"$((dmesg_before + 1))" | grep -cE "nvme ($vf1|$vf2)")" 0 "dmesg lines of nvme on a VF"

# Again: nothing to do.
run "$VFIOCTL" apply
expect_eq "$LAST_RC" 0 "re-apply"
expect_contains "$LAST_OUT" "0 changed, 1 unchanged" "re-apply summary"

# An entry for a VF runs after the VFs exist.
cat >>/etc/vfioctl.conf <<CONF

[device $vf2]
driver = none
CONF
run "$VFIOCTL" apply --json
expect_eq "$LAST_RC" 0 "apply with a VF entry"
expect_eq "$(json_get '[(d["address"], d["status"]) for d in j["devices"]]' <<<"$LAST_OUT")" \
    "[[\"$pf\",\"unchanged\"],[\"$vf2\",\"changed\"]]" "entries in order"
expect_eq "$(pci_driver "$vf1") $(pci_driver "$vf2")" "vfio-pci " "VF drivers after the VF entry"
run "$VFIOCTL" apply
expect_contains "$LAST_OUT" "0 changed, 2 unchanged" "re-apply with the VF entry"

# vfs = 0: the VFs are on vfio-pci, so only with a timeout.
cat >/etc/vfioctl.conf <<CONF
[device $pf]
vfs = 0
CONF
run "$VFIOCTL" apply
expect_eq "$LAST_RC" 2 "vfs = 0 without a timeout"
expect_eq "$(cat "$pfdev/sriov_numvfs")" 2 "numvfs after the refusal"
printf '[defaults]\ntimeout = 5s\n' >>/etc/vfioctl.conf
run "$VFIOCTL" apply
expect_eq "$LAST_RC" 0 "vfs = 0 with a timeout"
expect_eq "$(cat "$pfdev/sriov_numvfs")" 0 "numvfs after vfs = 0"
expect_exit 0 "$VFIOCTL" restore
expect_eq "$(cat "$pfdev/sriov_drivers_autoprobe")" 1 "autoprobe after restore"
