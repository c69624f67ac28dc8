# In-use guards on a real kernel: the NVMe whose file system is mounted is refused (exit 2)
# and keeps working; once unmounted it binds. An interface that is up with an address is
# refused; --force binds it anyway and says what it ignored.
. "$VM_LIB"

state=/run/vfioctl/state.json

# --- mounted NVMe --------------------------------------------------------------------------
nvme=$VM_NVME_FS
disk=$(findfs LABEL=vmfs) || fail "no block device with the label vmfs"
note "the ext2 image is $disk"
mkdir -p /mnt/vmfs
expect_exit 0 mount -t ext2 "$disk" /mnt/vmfs
expect_exit 2 "$VFIOCTL" bind "$nvme"
expect_contains "$LAST_ERR" "$nvme is in use: ${disk#/dev/} is mounted on /mnt/vmfs"
expect_contains "$LAST_ERR" "umount /mnt/vmfs"
expect_eq "$(pci_driver "$nvme")" nvme "driver of the mounted NVMe"
expect_eq "$(cat /mnt/vmfs/marker)" "$VM_NVME_FS_MARKER" "file on the mounted NVMe after the refusal"
expect_exit 2 "$VFIOCTL" bind "$nvme" --json
expect_eq "$(json_get '[(r["kind"], r["use"], r["forceable"]) for r in j["refusals"]]' <<<"$LAST_OUT")" \
    '[["in-use","mounted-filesystem",true]]' "refusal JSON"

expect_exit 0 umount /mnt/vmfs
expect_exit 0 "$VFIOCTL" bind "$nvme"
expect_eq "$(pci_driver "$nvme")" vfio-pci "driver of the unmounted NVMe after bind"
expect_eq "$(json_get '[(d["address"], d["originalDriver"]) for d in j["devices"]]' "$state")" "[[\"$nvme\",\"nvme\"]]" "state"

# Back to nvme by hand: the file system is there again.
sysfs_release "$nvme" nvme
# The namespace comes back asynchronously, possibly under another name.
wait_until 30 findfs LABEL=vmfs >/dev/null || fail "the ext2 image did not come back"
disk=$(findfs LABEL=vmfs)
expect_exit 0 mount -t ext2 -o ro "$disk" /mnt/vmfs
expect_eq "$(cat /mnt/vmfs/marker)" "$VM_NVME_FS_MARKER" "file after the round trip"
umount /mnt/vmfs

# --- an interface that is up with an address -------------------------------------------------
nic=$VM_E1000E
ifname=$(ls "/sys/bus/pci/devices/$nic/net")
[ -n "$ifname" ] || fail "no interface on $nic"
# QEMU's user network advertises an IPv6 prefix; a SLAAC address would (rightly) count as
# configuration too, and arrive at a random moment. Keep to the addresses set here.
echo 0 >"/proc/sys/net/ipv6/conf/$ifname/accept_ra"
echo 0 >"/proc/sys/net/ipv6/conf/$ifname/autoconf"
expect_exit 0 ip link set "$ifname" up
expect_exit 0 ip addr add 192.0.2.10/24 dev "$ifname"
expect_exit 2 "$VFIOCTL" bind "$nic"
expect_contains "$LAST_ERR" "$nic is in use: $ifname is up with address 192.0.2.10/24"
expect_contains "$LAST_ERR" "route 192.0.2.0/24"
expect_contains "$LAST_ERR" "ip link set $ifname down"
expect_eq "$(pci_driver "$nic")" e1000e "driver of the configured NIC"

# Up with only its link-local address: not configuration, so not in use.
expect_exit 0 ip -4 addr flush dev "$ifname"
grep -q " $ifname\$" /proc/net/if_inet6 && note "$ifname keeps: $(grep " $ifname\$" /proc/net/if_inet6)"
expect_exit 0 "$VFIOCTL" bind "$nic" --dry-run
expect_contains "$LAST_OUT" "echo $nic > /sys/bus/pci/drivers/e1000e/unbind" "dry-run plan"
expect_eq "$(pci_driver "$nic")" e1000e "driver after the dry run"

# --force takes it anyway and says what it ignored.
expect_exit 0 ip addr add 192.0.2.10/24 dev "$ifname"
expect_exit 0 "$VFIOCTL" bind --force "$nic"
expect_contains "$LAST_ERR" "--force: $nic: ignoring: $ifname is up with address 192.0.2.10/24"
expect_eq "$(pci_driver "$nic")" vfio-pci "driver after --force"
expect_no_file "/sys/class/net/$ifname"
sysfs_release "$nic" e1000e
