# Under a virtio-iommu, with the SR-IOV NVMe: enable VFs, disable them, bind the PF, attach its
# group to a type1 container and map memory, close; three rounds. A disabled VF the kernel
# forgot but the virtio-iommu still has attached has made a later map fail with EINVAL; so each
# round also maps through a VF on vfio-pci before the VFs go (the same VF address comes back
# every round). Each answer of the kernel is reported (and kept in $VM_OUT/rounds.txt);
# anything but "ok" or that EINVAL at the map fails the scenario.
# vm-iommu: virtio
# vm-kernels: 6.12
# vm-timeout: 150
. "$VM_LIB"

pf=$VM_NVME_SRIOV
pfdev=/sys/bus/pci/devices/$pf
expect_exit 0 modprobe vfio-pci
expect_exit 0 modprobe vfio_iommu_type1
# vfio-pci loaded it already (a softdep of vfio), so set the parameter at run time.
echo 1 >/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
expect_eq "$(cat /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts)" Y "allow_unsafe_interrupts"
echo 0 >"$pfdev/sriov_drivers_autoprobe"
: >"$VM_OUT/rounds.txt"
einval=0
# map_round WHAT BDF: one holder --map-dma, reported and judged.
map_round() {
    run "$VM_HOLDER" --map-dma "$2"
    { echo "$1 $2 (exit $LAST_RC):"; printf '%s\n' "$LAST_OUT" "$LAST_ERR" | sed '/^$/d; s/^/  /'; } | tee -a "$VM_OUT/rounds.txt"
    expect_contains "$LAST_OUT" "VFIO_GROUP_SET_CONTAINER: ok" "$1: set container"
    expect_contains "$LAST_OUT" "VFIO_SET_IOMMU: ok" "$1: set iommu"
    case $LAST_OUT in
    *"VFIO_IOMMU_MAP_DMA: ok"*) expect_contains "$LAST_OUT" "VFIO_IOMMU_UNMAP_DMA: ok" "$1: unmap" ;;
    *"VFIO_IOMMU_MAP_DMA: EINVAL"*) einval=$((einval + 1)) ;;
    *) fail "$1: unexpected answer to VFIO_IOMMU_MAP_DMA" ;;
    esac
}
for round in 1 2 3; do
    # VFs come and go while nvme has the PF (VFs get no driver: autoprobe is off); one of
    # them is used through VFIO before they go.
    echo 2 >"$pfdev/sriov_numvfs" || fail "round $round: enabling 2 VFs failed"
    expect_file "$pfdev/virtfn1"
    vf=$(basename "$(readlink "$pfdev/virtfn0")")
    expect_ne "$(pci_group "$vf")" "" "round $round: $vf has an IOMMU group"
    sysfs_bind "$vf" vfio-pci
    map_round "round $round: VF" "$vf"
    echo 0 >"$pfdev/sriov_numvfs" || fail "round $round: disabling the VFs failed"
    expect_no_file "$pfdev/virtfn0"
    if [ "$round" = 1 ]; then
        expect_exit 0 "$VFIOCTL" bind "$pf"
        expect_contains "$LAST_ERR" "only because vfio_iommu_type1.allow_unsafe_interrupts is on" "bind's warning"
    else
        sysfs_bind "$pf" vfio-pci
    fi
    map_round "round $round: PF" "$pf"
    # Back to nvme for the next round's VFs.
    sysfs_release "$pf" nvme
done
dmesg | grep -iE "virtio_iommu|viommu|vfio" | tail -n 20 >"$VM_OUT/dmesg.txt"
note "VFIO_IOMMU_MAP_DMA failed with EINVAL $einval times in 6 maps (3 rounds of VF, then PF)"
