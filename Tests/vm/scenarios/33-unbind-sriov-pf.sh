# SR-IOV guard rails on the SR-IOV NVMe: bind refuses the PF while VFs exist (even with
# --force while a VF is on vfio-pci);
# the PF goes to vfio-pci (with the VF-token note) once they are gone; VFs created under
# vfio-pci are captured by it; while one is held, unbind of the PF is refused (exit 2) and
# nothing blocks; once free, unbind gives the PF back to nvme and its VFs go away.
# vm-timeout: 300
. "$VM_LIB"

pf=$VM_NVME_SRIOV
pfdev=/sys/bus/pci/devices/$pf
# vfio-pci creates VFs for a PF it owns only with enable_sriov=1.
expect_exit 0 modprobe vfio-pci enable_sriov=1
# A built-in vfio-pci ignores modprobe's options; the parameter is writable at run time.
[ "$(cat /sys/module/vfio_pci/parameters/enable_sriov)" = Y ] || echo Y >/sys/module/vfio_pci/parameters/enable_sriov
expect_eq "$(cat /sys/module/vfio_pci/parameters/enable_sriov)" Y "vfio_pci enable_sriov"
expect_exit 0 sh -c "echo 0 > $pfdev/sriov_drivers_autoprobe && echo 2 > $pfdev/sriov_numvfs"
vf1=$(basename "$(readlink "$pfdev/virtfn0")")

expect_exit 2 "$VFIOCTL" bind "$pf"
expect_contains "$LAST_ERR" "SR-IOV PF with 2 VFs enabled ($vf1 on no driver" "bind refusal"
# With a VF on vfio-pci, not even --force: the PF driver's unbind would block while the VF is held.
expect_exit 0 "$VFIOCTL" bind "$vf1"
expect_exit 2 "$VFIOCTL" bind "$pf" --force
expect_contains "$LAST_ERR" "unbinding its driver would block while a VF is held" "bind --force refusal"
expect_contains "$LAST_ERR" "vfioctl unbind $vf1" "bind --force refusal"
expect_eq "$(pci_driver "$pf")" nvme "PF driver after the refusals"
expect_exit 0 "$VFIOCTL" unbind "$vf1"
expect_eq "$(pci_driver "$vf1")" "" "VF driver after unbind (it had none)"
expect_exit 0 sh -c "echo 0 > $pfdev/sriov_numvfs && echo 1 > $pfdev/sriov_drivers_autoprobe"

# The PF on vfio-pci, with VFs it creates itself.
expect_exit 0 "$VFIOCTL" bind "$pf" --json
expect_contains "$(json_get 'j["notes"]' <<<"$LAST_OUT")" "VF token" "VF token note"
expect_eq "$(pci_driver "$pf")" vfio-pci "PF driver after bind"
expect_exit 0 sh -c "echo 2 > $pfdev/sriov_numvfs"
vf1=$(basename "$(readlink "$pfdev/virtfn0")")
wait_until 10 test "$(pci_driver "$vf1")" = vfio-pci || fail "VF $vf1 is on '$(pci_driver "$vf1")', not vfio-pci"

# A VF held (group only: opening the VF's device needs the VF token): the PF is refused.
holder_start --group-only "$vf1"
expect_exit 2 "$VFIOCTL" unbind "$pf" --timeout 30
expect_contains "$LAST_ERR" "$pf is an SR-IOV PF whose VFs are in use ($vf1 is held by pid $HOLDER_PID (holder)" "refusal"
expect_eq "$(pci_driver "$pf")" vfio-pci "PF driver after the refusal"
expect_eq "$(cat "$pfdev/sriov_numvfs")" 2 "numvfs after the refusal"
expect_exit 2 "$VFIOCTL" cycle "$pf"
holder_stop

# Free: the PF goes back to nvme, its VFs go away.
expect_exit 0 "$VFIOCTL" unbind "$pf"
expect_contains "$LAST_ERR" "removes them" "warning about the VFs"
expect_eq "$(pci_driver "$pf")" nvme "PF driver after unbind"
expect_eq "$(cat "$pfdev/sriov_numvfs")" 0 "numvfs after unbind"
expect_eq "$(json_get 'len(j["devices"])' /run/vfioctl/state.json)" 0 "records after unbind"
