# A NIC with no address that the host's network still runs through, on a real kernel: a port of
# a bridge, a slave of a bond, and the lower device of a VLAN that is up are each refused (exit
# 2, naming the bridge, bond or VLAN and the command that frees it); a VLAN that is down is not
# a use; once the NIC is free the bind goes through. Modules bridge, bonding and 8021q.
# vm-timeout: 300
. "$VM_LIB"

nic=$VM_E1000E
ifname=$(ls "/sys/bus/pci/devices/$nic/net")
[ -n "$ifname" ] || fail "no interface on $nic"
# No SLAAC address may turn up and count as configuration (13-bind-in-use has that rule).
echo 0 >"/proc/sys/net/ipv6/conf/$ifname/accept_ra"
echo 0 >"/proc/sys/net/ipv6/conf/$ifname/autoconf"
expect_exit 0 modprobe vfio-pci

# --- a bridge port, down and with no address -----------------------------------------------------
expect_exit 0 modprobe bridge
expect_exit 0 ip link add br0 type bridge
expect_exit 0 ip link set "$ifname" master br0
expect_file "/sys/class/net/$ifname/brport"
expect_exit 2 "$VFIOCTL" bind "$nic"
expect_contains "$LAST_ERR" "$nic is in use: $ifname is a port of bridge br0" "bridge port"
expect_contains "$LAST_ERR" "ip link set $ifname nomaster" "remedy"
expect_eq "$(pci_driver "$nic")" e1000e "driver after the refusal"
expect_exit 2 "$VFIOCTL" bind "$nic" --json
expect_eq "$(json_get '[r["use"] for r in j["refusals"]]' <<<"$LAST_OUT")" bridge-port "refusal JSON"
expect_exit 0 ip link set "$ifname" nomaster
expect_exit 0 ip link delete br0

# --- a bond slave --------------------------------------------------------------------------------
expect_exit 0 modprobe bonding max_bonds=0
expect_exit 0 ip link add bond0 type bond
expect_exit 0 ip link set "$ifname" down
expect_exit 0 ip link set "$ifname" master bond0
expect_exit 2 "$VFIOCTL" bind "$nic" --dry-run
expect_contains "$LAST_ERR" "$nic is in use: $ifname is a slave of bond bond0" "bond slave"
expect_exit 0 ip link set "$ifname" nomaster
expect_exit 0 ip link delete bond0

# --- a VLAN on it: a use while the VLAN is up ------------------------------------------------------
expect_exit 0 modprobe 8021q
expect_exit 0 ip link set "$ifname" up
expect_exit 0 ip link add link "$ifname" name "$ifname.100" type vlan id 100
echo 0 >"/proc/sys/net/ipv6/conf/$ifname.100/accept_ra"
echo 0 >"/proc/sys/net/ipv6/conf/$ifname.100/autoconf"
expect_exit 0 "$VFIOCTL" bind "$nic" --dry-run
expect_exit 0 ip link set "$ifname.100" up
expect_exit 2 "$VFIOCTL" bind "$nic" --dry-run
expect_contains "$LAST_ERR" "$nic is in use: $ifname carries vlan $ifname.100, which is up" "VLAN"
expect_contains "$LAST_ERR" "ip link delete $ifname.100" "remedy"
expect_exit 0 ip link delete "$ifname.100"

# --- free: the bind goes through ---------------------------------------------------------------------
expect_exit 0 "$VFIOCTL" bind "$nic"
expect_eq "$(pci_driver "$nic")" vfio-pci "driver after bind"
sysfs_release "$nic" e1000e
