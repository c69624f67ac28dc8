# Under a virtio-iommu, with the SR-IOV NVMe: enable VFs, disable them, bind the PF, attach its
# group to a type1 container and map memory, close; three rounds. A disabled VF the kernel
# forgot but the virtio-iommu still has attached has made a later map fail with EINVAL; each
# answer of the kernel is reported (and kept in $VM_OUT/rounds.txt), and anything but "ok" or
# that EINVAL at the map fails the scenario.
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
for round in 1 2 3; do
    # VFs come and go while nvme has the PF (VFs get no driver: autoprobe is off).
    echo 2 >"$pfdev/sriov_numvfs" || fail "round $round: enabling 2 VFs failed"
    expect_file "$pfdev/virtfn1"
    echo 0 >"$pfdev/sriov_numvfs" || fail "round $round: disabling the VFs failed"
    expect_no_file "$pfdev/virtfn0"
    if [ "$round" = 1 ]; then
        expect_exit 0 "$VFIOCTL" bind "$pf"
        expect_contains "$LAST_ERR" "only because vfio_iommu_type1.allow_unsafe_interrupts is on" "bind's warning"
    else
        sysfs_bind "$pf" vfio-pci
    fi
    run "$VM_HOLDER" --map-dma "$pf"
    { echo "round $round (exit $LAST_RC):"; printf '%s\n' "$LAST_OUT" "$LAST_ERR" | sed '/^$/d; s/^/  /'; } | tee -a "$VM_OUT/rounds.txt"
    expect_contains "$LAST_OUT" "VFIO_GROUP_SET_CONTAINER: ok" "round $round: set container"
    expect_contains "$LAST_OUT" "VFIO_SET_IOMMU: ok" "round $round: set iommu"
    case $LAST_OUT in
    *"VFIO_IOMMU_MAP_DMA: ok"*) expect_contains "$LAST_OUT" "VFIO_IOMMU_UNMAP_DMA: ok" "round $round: unmap" ;;
    *"VFIO_IOMMU_MAP_DMA: EINVAL"*) einval=$((einval + 1)) ;;
    *) fail "round $round: unexpected answer to VFIO_IOMMU_MAP_DMA" ;;
    esac
    # Back to nvme for the next round's VFs.
    sysfs_release "$pf" nvme
done
dmesg | grep -iE "virtio_iommu|viommu|vfio" | tail -n 20 >"$VM_OUT/dmesg.txt"
note "map failed with EINVAL in $einval of 3 rounds"
