# MUST FAIL: an unbind still waiting (interruptibly) for a holder when the scenario ends.
# vm-must-fail: left waiting in vfio_unregister_group_dev
. "$VM_LIB"
modprobe vfio-pci
sysfs_bind "$VM_E1000E" vfio-pci
holder_start --seconds 120 "$VM_E1000E"
echo "$VM_E1000E" >/sys/bus/pci/drivers/vfio-pci/unbind &
sleep 2
note "leaving with the unbind waiting"
