# Under a virtio-iommu (no interrupt remapping on x86): doctor names the unit by its driver and
# fails interrupt remapping while vfio_iommu_type1.allow_unsafe_interrupts is off; bind moves
# the e1000e (exit 0) and, like show, says VFIO will refuse its group; a VMM's VFIO_SET_IOMMU
# fails with EPERM. With the parameter on, doctor warns instead and the same VMM maps memory.
# vm-iommu: virtio
# vm-kernels: 6.12
# vm-timeout: 150
. "$VM_LIB"

bdf=$VM_E1000E
g=$(pci_group "$bdf")
refusal="viable, but VFIO will refuse to attach it here (no interrupt remapping; vfio_iommu_type1.allow_unsafe_interrupts=1 to accept the risk)"
expect_exit 0 modprobe vfio-pci
expect_exit 0 modprobe vfio_iommu_type1
expect_eq "$(cat /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts)" N "allow_unsafe_interrupts at boot"

# --- doctor, parameter off ------------------------------------------------------------
line() { printf '%s\n' "$LAST_OUT" | grep -E "^[a-zA-Z]+ +$1 " | head -n1; }
expect_exit 1 "$VFIOCTL" doctor
printf '%s\n' "$LAST_OUT"
expect_contains "$(line iommu)" "virtio-iommu on (0000:00:1e.0 [virtio_iommu])" "iommu line names the unit by its driver"
expect_contains "$(line interrupt-remapping)" "fail" "interrupt remapping verdict"
expect_contains "$(line interrupt-remapping)" "virtio-iommu remaps no interrupts on x86" "why"
expect_contains "$LAST_OUT" "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts" "the fix names the parameter"

# --- bind: exit 0, with the warning ---------------------------------------------------
expect_exit 0 "$VFIOCTL" bind "$bdf"
expect_contains "$LAST_OUT" "group $g is $refusal: /dev/vfio/$g" "bind's group line"
expect_contains "$LAST_ERR" "warning: group $g is $refusal" "bind's warning"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after bind"
expect_exit 0 "$VFIOCTL" show "$bdf"
expect_contains "$LAST_OUT" "IOMMU group:       $g ($refusal)" "show's group line"

# --- the VMM: refused, as announced ----------------------------------------------------
expect_exit 1 "$VM_HOLDER" --map-dma "$bdf"
printf '%s\n' "$LAST_OUT"
expect_contains "$LAST_OUT" "VFIO_GROUP_SET_CONTAINER: ok" "set container"
expect_contains "$LAST_OUT" "VFIO_SET_IOMMU: EPERM" "type1 refuses the group"
expect_contains "$(dmesg | tail -n 20)" "No interrupt remapping support" "the kernel's reason"

# --- parameter on: a warning, and the VMM attaches and maps ---------------------------
echo 1 >/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
expect_eq "$(cat /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts)" Y "allow_unsafe_interrupts set"
run "$VFIOCTL" doctor
printf '%s\n' "$LAST_OUT"
expect_contains "$(line interrupt-remapping)" "warn" "interrupt remapping with the parameter on"
expect_contains "$(line unsafe-interrupts)" "warn" "unsafe-interrupts switch"
expect_not_contains "$(line interrupt-remapping)" "fail" "no failure with the parameter on"
expect_exit 0 "$VFIOCTL" show "$bdf" --json
printf '%s\n' "$LAST_OUT" >"$VM_OUT/show-on.json"
expect_eq "$(json_get 'j["attach"]["status"] + " " + j["attach"]["iommu"] + " " + j["attach"]["interruptIsolation"]' <<<"$LAST_OUT")" "unsafe virtio-iommu missing" "show --json attach with the parameter on"
expect_exit 0 "$VM_HOLDER" --map-dma "$bdf"
printf '%s\n' "$LAST_OUT"
expect_contains "$LAST_OUT" "VFIO_SET_IOMMU: ok" "type1 attaches"
expect_contains "$LAST_OUT" "VFIO_IOMMU_MAP_DMA: ok" "map"
expect_contains "$LAST_OUT" "VFIO_IOMMU_UNMAP_DMA: ok" "unmap"

expect_eq "$(python3 "$VM_REPO/schema/validate.py" "$VM_REPO/schema/vfioctl.schema.json" any "$VM_OUT"/show-*.json)" "" "show documents validate"
