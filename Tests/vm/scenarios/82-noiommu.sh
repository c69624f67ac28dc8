# No IOMMU at all (6.12-vfio with CONFIG_VFIO_NOIOMMU, no emulated IOMMU): doctor says there is
# none and whether vfio's no-IOMMU mode is on; bind refuses (exit 69, nothing changed) while it
# is off and binds once it is on, which taints the kernel; list and show mark the group
# no-IOMMU; a holder on /dev/vfio/noiommu-N is found, unbind --timeout 2 exits 3, and unbind
# completes once it exits, the no-IOMMU group going with the device.
# vm-kernels: 6.12-vfio
# vm-iommu: none
# vm-timeout: 180
. "$VM_LIB"

fields() { json_get '"|".join(str(x) for x in ('"$1"'))' <<<"$LAST_OUT"; }

bdf=$VM_E1000E
dev=/sys/bus/pci/devices/$bdf
param=/sys/module/vfio/parameters/enable_unsafe_noiommu_mode
expect_eq "$(ls /sys/class/iommu /sys/kernel/iommu_groups | grep -v ':$' | grep -c .)" 0 "IOMMU units and groups"
expect_eq "$(cat "$param")" N "no-IOMMU mode at boot"
tainted_before=$(cat /proc/sys/kernel/tainted)

run "$VFIOCTL" doctor --json
expect_eq "$(fields '[(f["check"], f["status"]) for f in j["findings"] if f["check"] in ("iommu", "noiommu")]')" \
    "('iommu', 'fail')|('noiommu', 'warn')" "doctor verdicts, mode off"
expect_contains "$(fields '[f["message"] for f in j["findings"] if f["check"] == "noiommu"]')" "no-IOMMU mode is off" "doctor, mode off"
# The guest is a QEMU VM (CPU flag hypervisor; this small kernel shows no DMI to name it): the
# IOMMU must come from QEMU, not the firmware setup.
iommu_fix=$(fields '[f["fix"] for f in j["findings"] if f["check"] == "iommu"]')
expect_contains "$iommu_fix" "this is a virtual machine" "doctor's fix in a VM"
expect_contains "$iommu_fix" "-device intel-iommu,intremap=on" "doctor's fix in a VM"
expect_contains "$iommu_fix" "virtio-iommu-pci" "doctor's fix in a VM"

expect_exit 69 "$VFIOCTL" bind "$bdf"
expect_contains "$LAST_ERR" "no-IOMMU mode is off" "bind refusal"
expect_eq "$(printf '%s\n' "$LAST_ERR" | wc -l)" 1 "lines of the refusal"
expect_eq "$(pci_driver "$bdf") $(cat "$dev/driver_override")" "e1000e (null)" "driver and override after the refusal"

echo Y >"$param"
run "$VFIOCTL" doctor --json
expect_contains "$(fields '[f["message"] for f in j["findings"] if f["check"] == "noiommu"]')" "no-IOMMU mode is on" "doctor, mode on"

expect_exit 0 "$VFIOCTL" bind "$bdf"
expect_contains "$LAST_ERR" "unsafe no-IOMMU mode" "bind warning"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after bind"
g=$(pci_group "$bdf")
name=$(ls "$dev/vfio-dev")
expect_eq "$(cat "/sys/kernel/iommu_groups/$g/name")" vfio-noiommu "name of the group vfio made"
expect_file "/dev/vfio/noiommu-$g"
expect_no_file "/dev/vfio/$g"
expect_no_file "/dev/vfio/devices/$name"
[ $(($(cat /proc/sys/kernel/tainted) & 64)) = 64 ] || fail "kernel not tainted (TAINT_USER) after the bind: $tainted_before -> $(cat /proc/sys/kernel/tainted)"

expect_exit 0 "$VFIOCTL" list
expect_contains "$LAST_OUT" "$g viable no-IOMMU  $bdf" "list text"
expect_exit 0 "$VFIOCTL" show "$bdf"
expect_contains "$LAST_OUT" "no-IOMMU (no DMA isolation)" "show text"
expect_contains "$LAST_OUT" "VFIO nodes:        /dev/vfio/noiommu-$g (" "show: the no-IOMMU node"
expect_exit 0 "$VFIOCTL" show "$bdf" --json
expect_eq "$(fields 'j["group"]["noIOMMU"], j["device"]["groupNode"], j["device"]["deviceNode"]')" "True|/dev/vfio/noiommu-$g|None" "show --json"

holder_start "$bdf"
expect_exit 0 "$VFIOCTL" holders "$bdf" --json
expect_eq "$(fields 'j["targets"][0]["state"], [p["pid"] for p in j["holders"]], j["targets"][0]["groupNode"]')" \
    "held|[$HOLDER_PID]|/dev/vfio/noiommu-$g" "holders of the no-IOMMU device"
expect_exit 3 "$VFIOCTL" unbind "$bdf" --timeout 2
expect_contains "$LAST_ERR" "through /dev/vfio/noiommu-$g" "unbind timeout message"
expect_eq "$(cat "$dev/driver_override")" vfio-pci "override after unbind --timeout 2 (nothing written)"
holder_stop
expect_exit 0 "$VFIOCTL" unbind "$bdf"
expect_eq "$(pci_driver "$bdf")" e1000e "driver after unbind"
expect_no_file "/dev/vfio/noiommu-$g"
expect_no_file "/sys/kernel/iommu_groups/$g"
