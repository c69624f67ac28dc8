# The guest is what the other scenarios assume: an IOMMU with groups, the expected
# devices and drivers, the group layout, working modprobe, the shared vfioctl and holder.
# vm-kernels: 6.1 6.12 6.12-vfio  (the guest itself, on every kernel)
. "$VM_LIB"

note "kernel $(uname -r) (series $VM_KERNEL)"

# IOMMU
[ -d /sys/class/iommu ] && [ -n "$(ls /sys/class/iommu)" ] || fail "no IOMMU in /sys/class/iommu"
ngroups=$(ls /sys/kernel/iommu_groups | wc -l)
[ "$ngroups" -gt 5 ] || fail "only $ngroups IOMMU groups"
expect_contains "$(cat /proc/cmdline)" "intel_iommu=on" "kernel command line"

# Devices: address -> vendor:device, driver
check_dev() { # BDF VENDOR:DEVICE DRIVER WHAT
    [ -n "$1" ] || fail "$4 not found in sysfs"
    local d=/sys/bus/pci/devices/$1
    expect_file "$d"
    expect_eq "$(cat "$d/vendor"):$(cat "$d/device")" "0x${2%%:*}:0x${2##*:}" "$4 ($1) vendor:device"
    expect_eq "$(pci_driver "$1")" "$3" "$4 ($1) driver"
    [ -n "$(pci_group "$1")" ] || fail "$4 ($1) has no IOMMU group"
}
check_dev "$VM_E1000E_PORT" 1b36:000c pcieport "root port of the e1000e"
check_dev "$VM_E1000E" 8086:10d3 e1000e "e1000e"
check_dev "$VM_BRIDGE" 1b36:000e "" "pcie-pci-bridge"
check_dev "$VM_BRIDGE_NIC1" 8086:100e e1000 "first NIC behind the bridge"
check_dev "$VM_BRIDGE_NIC2" 8086:100e e1000 "second NIC behind the bridge"
check_dev "$VM_MF_NIC" 8086:100e e1000 "multi-function NIC (fn 0)"
check_dev "$VM_MF_AUDIO" 8086:293e snd_hda_intel "multi-function audio (fn 1)"
check_dev "$VM_NVME_FS" 1b36:0010 nvme "NVMe with the ext2 image"
check_dev "$VM_NVME_SRIOV" 1b36:0010 nvme "SR-IOV NVMe"
expect_eq "$VM_E1000E" 0000:01:00.0 "e1000e address"
expect_eq "$VM_BRIDGE_NIC1 $VM_BRIDGE_NIC2" "0000:02:01.0 0000:02:02.0" "bridge NIC addresses"

# Group layout
g_e1000e=$(pci_group "$VM_E1000E")
expect_eq "$(group_devices "$g_e1000e" | tr '\n' ' ')" "$VM_E1000E " "members of the e1000e's group $g_e1000e"
g_br=$(pci_group "$VM_BRIDGE")
expect_eq "$(group_devices "$g_br" | tr '\n' ' ')" "$VM_BRIDGE $VM_BRIDGE_NIC1 $VM_BRIDGE_NIC2 " \
    "members of the bridge group $g_br"
g_mf=$(pci_group "$VM_MF_NIC")
expect_eq "$(group_devices "$g_mf" | tr '\n' ' ')" "$VM_MF_NIC $VM_MF_AUDIO " "members of the multi-function group $g_mf"
g_nv=$(pci_group "$VM_NVME_FS")
expect_eq "$(group_devices "$g_nv" | tr '\n' ' ')" "$VM_NVME_FS " "members of the NVMe group $g_nv"
expect_ne "$(pci_group "$VM_E1000E_PORT")" "$g_e1000e" "group of the e1000e's root port"
for g in $(ls /sys/kernel/iommu_groups | sort -n); do
    note "group $g: $(echo $(group_devices "$g"))"
done

# SR-IOV capability
expect_eq "$(cat /sys/bus/pci/devices/$VM_NVME_SRIOV/sriov_totalvfs)" 4 "sriov_totalvfs of the SR-IOV NVMe"
expect_eq "$(cat /sys/bus/pci/devices/$VM_NVME_SRIOV/sriov_numvfs)" 0 "sriov_numvfs at boot"

# modprobe works with the guest kernel's modules; vfio-pci is not loaded at boot, unless the
# kernel has it built in (the suite's own kernels: then modprobe succeeds through modules.builtin)
expect_file "/lib/modules/$(uname -r)/modules.dep"
if grep -q '/vfio-pci\.ko$' "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null; then
    expect_file /sys/bus/pci/drivers/vfio-pci
else
    expect_no_file /sys/bus/pci/drivers/vfio-pci
fi
expect_exit 0 modprobe vfio-pci
expect_file /sys/bus/pci/drivers/vfio-pci
expect_file /dev/vfio/vfio
expect_file /sys/module/vfio_iommu_type1
expect_exit 0 modprobe pci-stub
expect_file /sys/bus/pci/drivers/pci-stub

# The NVMe image can be mounted
dev=$(ls /sys/bus/pci/devices/$VM_NVME_FS/nvme/*/ 2>/dev/null | grep -m1 -E '^nvme[0-9]+n[0-9]+$')
[ -n "$dev" ] || fail "no namespace block device below $VM_NVME_FS"
mkdir -p "$VM_TMP/mnt"
expect_exit 0 mount "/dev/$dev" "$VM_TMP/mnt"
expect_eq "$(cat "$VM_TMP/mnt/marker")" "$VM_NVME_FS_MARKER" "marker file on the NVMe"
expect_exit 0 umount "$VM_TMP/mnt"

# Shared host tools
[ -x "$VFIOCTL" ] || fail "VFIOCTL=$VFIOCTL not executable in the guest"
[ -x "$VM_HOLDER" ] || fail "VM_HOLDER=$VM_HOLDER not executable in the guest"
expect_exit 0 python3 -c 'import json'
expect_exit 0 lspci -s "$VM_E1000E"
expect_contains "$LAST_OUT" "Ethernet controller" "lspci output"
