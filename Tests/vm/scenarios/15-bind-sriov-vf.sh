# VFs of the SR-IOV NVMe, created with autoprobe off so no host driver takes them: each is
# alone in its group and unbound; vfioctl binds one (its override lets vfio-pci probe it
# although autoprobe is off), records "no driver" as where it came from, and leaves the
# other VF and the PF alone.
. "$VM_LIB"

pf=$VM_NVME_SRIOV
pfdev=/sys/bus/pci/devices/$pf
state=/run/vfioctl/state.json
expect_exit 0 sh -c "echo 0 > $pfdev/sriov_drivers_autoprobe && echo 2 > $pfdev/sriov_numvfs"
vf1=$(basename "$(readlink "$pfdev/virtfn0")") vf2=$(basename "$(readlink "$pfdev/virtfn1")")
note "VFs: $vf1 $vf2"
expect_eq "$(pci_driver "$vf1")$(pci_driver "$vf2")" "" "VF drivers before"
g1=$(pci_group "$vf1")
expect_eq "$(group_devices "$g1")" "$vf1" "members of $vf1's group"

expect_exit 0 "$VFIOCTL" bind "$vf1" --json
expect_eq "$(json_get '[(d["address"], d["action"], d["fromDriver"]) for d in j["devices"]]' <<<"$LAST_OUT")" \
    "[[\"$vf1\",\"bind\",null]]" "devices in the JSON result"
expect_eq "$(pci_driver "$vf1")" vfio-pci "driver of $vf1"
expect_eq "$(pci_driver "$vf2")" "" "driver of $vf2"
expect_eq "$(pci_driver "$pf")" nvme "driver of the PF"
expect_file "/dev/vfio/$g1"
expect_eq "$(json_get '[(d["address"], d["group"], d["originalDriver"], d["originalOverride"], d["boundDriver"], d["status"]) for d in j["devices"]]' "$state")" \
    "[[\"$vf1\",$g1,null,null,\"vfio-pci\",\"bound\"]]" "state file"

holder_start "$vf1"
holder_stop

# The PF is refused while its VFs exist.
expect_exit 2 "$VFIOCTL" bind "$pf"
expect_contains "$LAST_ERR" "SR-IOV PF with 2 VFs enabled"

# Leave it as found: VF unbound, VFs removed.
sysfs_release "$vf1"
expect_eq "$(pci_driver "$vf1")" "" "driver of $vf1 after release"
expect_exit 0 sh -c "echo 0 > $pfdev/sriov_numvfs"
