# --driver auto on a real kernel: Debian's kernels ship no VFIO variant driver, so the only
# vfio_pci: alias in modules.alias is vfio-pci's own; show and list say auto takes vfio-pci and
# why, bind --driver auto and sriov --bind --driver auto fall back to it, doctor warns of nothing.
# vm-kernels: 6.1 6.12 6.12-vfio  (modules.alias of each kernel)
. "$VM_LIB"

aliases=/lib/modules/$(uname -r)/modules.alias
expect_file "$aliases"
variants=$(grep '^alias vfio_pci:' "$aliases" | grep -v ' vfio_pci$' || true)
note "variant aliases: ${variants:-none}"
expect_eq "$(grep -c 'virtio_vfio_pci' "$aliases")" 0 "virtio_vfio_pci in this kernel's modules.alias"

# A built-in vfio-pci has no alias anywhere (modpost writes device-table aliases for modules
# only; modules.builtin.modinfo has none): auto still takes vfio-pci, with no candidate.
candidates="
vfio_pci"
vfio_pci_builtin && candidates=
expect_exit 0 "$VFIOCTL" show "$VM_E1000E" --json
expect_eq "$(json_get '[j["device"]["vfioDrivers"]["auto"]] + [c["module"] for c in j["device"]["vfioDrivers"]["candidates"]]' <<<"$LAST_OUT")" \
    "vfio-pci$candidates" "auto and candidates in show --json"
expect_exit 0 "$VFIOCTL" show "$VM_E1000E"
expect_contains "$LAST_OUT" "--driver auto: vfio-pci (no variant driver's vfio_pci alias" "show text"
expect_exit 0 "$VFIOCTL" list --json
expect_eq "$(json_get '[d["vfioDrivers"]["auto"] for d in j["devices"] if d["address"]=="'"$VM_NVME_SRIOV"'"][0]' <<<"$LAST_OUT")" vfio-pci "list --json"

expect_exit 0 "$VFIOCTL" bind "$VM_E1000E" --driver auto --json
expect_contains "$(json_get 'j["notes"]' <<<"$LAST_OUT")" "--driver auto: vfio-pci" "bind note"
expect_eq "$(pci_driver "$VM_E1000E")" vfio-pci "e1000e after bind --driver auto"

expect_exit 0 "$VFIOCTL" sriov "$VM_NVME_SRIOV" --vfs 1 --bind --driver auto
vf=$(basename "$(readlink "/sys/bus/pci/devices/$VM_NVME_SRIOV/virtfn0")")
expect_eq "$(pci_driver "$vf")" vfio-pci "VF after sriov --driver auto"

run "$VFIOCTL" doctor --json
expect_eq "$(json_get '[f["check"] for f in j["findings"] if f["check"]=="variant-driver"]' <<<"$LAST_OUT")" "" "variant-driver findings"

expect_exit 0 "$VFIOCTL" restore
expect_eq "$(pci_driver "$VM_E1000E") $(cat "/sys/bus/pci/devices/$VM_NVME_SRIOV/sriov_numvfs")" "e1000e 0" "after restore"
