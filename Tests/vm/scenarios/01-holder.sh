# The holder and the hand-made vfio-pci bind behave as the kernel facts say: a held device
# shows in /proc/PID/fd and has enable=1; releasing it drops enable to 0; the device goes
# back to e1000e. Checks the holder's --group-only and --mmap modes too.
. "$VM_LIB"

bdf=$VM_E1000E
dev=/sys/bus/pci/devices/$bdf
expect_eq "$(pci_driver "$bdf")" e1000e "driver of $bdf at boot"

expect_exit 0 modprobe vfio-pci
sysfs_bind "$bdf" vfio-pci
g=$(pci_group "$bdf")
expect_file "/dev/vfio/$g"
expect_file "$dev/vfio-dev"
expect_eq "$(cat "$dev/enable")" 0 "enable of idle $bdf on vfio-pci"

# container + group + device fd
holder_start "$bdf"
fds=$(fd_targets "$HOLDER_PID")
note "holder $HOLDER_PID fds: $(echo $fds)"
expect_contains "$fds" "/dev/vfio/vfio" "holder fds"
expect_contains "$fds" "/dev/vfio/$g" "holder fds"
expect_contains "$fds" "anon_inode:[vfio-device]" "holder fds"
expect_eq "$(cat "$dev/enable")" 1 "enable of $bdf while held"
expect_exit 1 "$VM_HOLDER" --seconds 1 "$bdf"
expect_contains "$LAST_ERR" "Device or resource busy" "second holder's error"
holder_stop
wait_until 5 grep -qx 0 "$dev/enable" || fail "enable of $bdf is $(cat "$dev/enable") after the holder exited"

# group fd only: ownership claimed, device not opened, so enable stays 0
holder_start --group-only "$bdf"
fds=$(fd_targets "$HOLDER_PID")
expect_contains "$fds" "/dev/vfio/$g" "group-only holder fds"
expect_not_contains "$fds" "vfio-device" "group-only holder fds"
expect_eq "$(cat "$dev/enable")" 0 "enable of $bdf with only the group open"
holder_stop

# BAR0 mapping with the device fd closed still holds the device
holder_start --mmap "$bdf"
expect_not_contains "$(fd_targets "$HOLDER_PID")" "vfio-device" "mmap holder fds"
expect_contains "$(cat "/proc/$HOLDER_PID/maps")" "vfio-device" "mmap holder maps"
expect_eq "$(cat "$dev/enable")" 1 "enable of $bdf held through a mapping"
holder_stop
wait_until 5 grep -qx 0 "$dev/enable" || fail "enable of $bdf is $(cat "$dev/enable") after the mmap holder exited"

# a time-limited holder exits 0 by itself
expect_exit 0 "$VM_HOLDER" --seconds 0.5 "$bdf"

# give it back
sysfs_release "$bdf" e1000e
expect_no_file "$dev/vfio-dev"
expect_eq "$(cat "$dev/driver_override")" "(null)" "driver_override after release"
