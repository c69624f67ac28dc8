# Claim at device add, with the real systemd-udevd: udev's own modalias rule loads the
# drivers (stage2 loads none). Without a claim, coldplug gives the e1000e to e1000e; once
# /etc/vfioctl.conf names it and apply wrote the claim rule, a coldplug (udevadm trigger
# --action=add, as at boot) and a hotplug (remove + rescan) end with it on vfio-pci while
# e1000e is loaded and never probed it (dmesg). Then the --owner rule applied by real udev
# across rebinds, never after it was removed (udevadm control --reload), and an unbind on a
# read-only /etc that warns about nothing.
# vm-kernels: 6.1 6.12  (udev loads the host driver as a module; the kernels built here have it built in)
# vm-coldplug: udev
# vm-timeout: 600
. "$VM_LIB"

bdf=$VM_E1000E
dev=/sys/bus/pci/devices/$bdf
rule=/etc/udev/rules.d/69-vfioctl-claim.rules
loaded() { grep -q "^$1 " /proc/modules; }

expect_eq "$(pci_driver "$bdf")" "" "driver before udev"
loaded e1000e && fail "e1000e loaded before udev ran"

# --- without a claim: udev's modalias rule loads e1000e, which takes the NIC --------------
udev_start
udev_coldplug
expect_eq "$(pci_driver "$bdf")" e1000e "driver after a coldplug without a claim"
expect_ne "$(probed_by e1000e "$bdf")" "" "e1000e's probe in dmesg (the check below can fail)"

# --- apply writes the claim rule and the softdep, and reloads udevd --------------------------
printf '[device %s]\ndriver = vfio-pci\n' "$bdf" >/etc/vfioctl.conf
expect_exit 0 "$VFIOCTL" apply --dry-run
expect_contains "$LAST_OUT" "# write $rule (claim at device add)"
expect_no_file "$rule"
expect_exit 0 "$VFIOCTL" apply --json
expect_json "$LAST_OUT"
expect_eq "$(json_get 'j["claim"]["udevReloaded"]' <<<"$LAST_OUT")" true "udevd reloaded"
expect_eq "$(json_get 'j["claim"]["initramfsCommand"]' <<<"$LAST_OUT")" "update-initramfs -u" "initramfs step named"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after apply"
expect_file "$rule"
expect_contains "$(cat "$rule")" "KERNEL==\"$bdf\", ATTR{driver_override}=\"vfio-pci\""
expect_contains "$(cat /etc/modprobe.d/vfioctl.conf)" "softdep e1000e pre: vfio-pci"
cat "$rule"

# what a boot starts from: no driver, no override, neither module loaded
fresh_boot() {
    echo "$bdf" >"$dev/driver/unbind" || fail "unbind of $bdf"
    echo >"$dev/driver_override"
    expect_exit 0 modprobe -r vfio-pci
    expect_exit 0 modprobe -r e1000e
    loaded vfio_pci && fail "vfio_pci still loaded"
    loaded e1000e && fail "e1000e still loaded"
    expect_ne "$(cat "$dev/driver_override")" vfio-pci "override before the add"
    dmesg -C
}

# --- coldplug: the add event of every PCI device, as systemd-udev-trigger sends it at boot ---
fresh_boot
udev_coldplug
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after a coldplug with the claim"
expect_eq "$(cat "$dev/driver_override")" vfio-pci "override set by the rule"
loaded e1000e || fail "udev did not load e1000e for the modalias (the rule's claim must not depend on it missing)"
expect_eq "$(probed_by e1000e "$bdf")" "" "e1000e probed $bdf"
expect_ne "$(dmesg | grep -i 'e1000e: Intel(R) PRO/1000')" "" "e1000e's init line (udev loaded it)"

# --- hotplug: the device goes and comes back (remove + rescan) -------------------------------
fresh_boot
echo 1 >"$dev/remove"
wait_until 10 test ! -e "$dev" || fail "$bdf still there after remove"
udev_settle
echo 1 >/sys/bus/pci/rescan
wait_until 10 test -e "$dev" || fail "$bdf not back after rescan"
udev_settle
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after a hotplug with the claim"
loaded e1000e || fail "udev did not load e1000e after the hotplug"
expect_eq "$(probed_by e1000e "$bdf")" "" "e1000e probed $bdf after the hotplug"

# --- the owner rule, applied by real udev across rebinds, and never once removed -------------
g=$(pci_group "$bdf")
rebind() { # the kernel makes the group node anew, and udevd runs the rules on it
    echo "$bdf" >"$dev/driver/unbind" || fail "unbind of $bdf"
    echo "$bdf" >/sys/bus/pci/drivers_probe || fail "drivers_probe of $bdf"
    expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after a rebind"
    udev_settle
}
unbound() { # no driver, no override (e1000e is loaded: no reprobe)
    echo >"$dev/driver_override"
    [ -e "$dev/driver" ] && echo "$bdf" >"$dev/driver/unbind"
    expect_eq "$(pci_driver "$bdf")" "" "driver of $bdf"
}
unbound # the rule bound it, not vfioctl: start each round from no driver, as bind records it
for i in 1 2 3 4; do
    expect_exit 0 "$VFIOCTL" bind "$bdf" --owner nobody
    udev_settle
    expect_eq "$(node_owner /dev/vfio/"$g")" "65534:0 600" "owner after bind --owner ($i)"
    rebind
    expect_eq "$(node_owner /dev/vfio/"$g")" "65534:0 600" "owner after a sysfs rebind, from udev's rule ($i)"
    expect_exit 0 "$VFIOCTL" unbind "$bdf" --to none
    expect_not_contains "$LAST_ERR" "warning"
    # Right after the unbind: the removed rule must not give the new node to nobody.
    sysfs_bind "$bdf" vfio-pci
    udev_settle
    expect_eq "$(node_owner /dev/vfio/"$g")" "0:0 600" "owner of a node made right after unbind removed the rule ($i)"
    unbound
done

# --- unbind on a read-only /etc: no rule there to remove, no warning -----------------------
mount --bind /etc /etc && mount -o remount,bind,ro /etc || fail "cannot make /etc read-only"
touch /etc/vfioctl-probe 2>/dev/null && fail "/etc is still writable"
expect_exit 0 "$VFIOCTL" bind "$bdf" --owner nobody
expect_exit 0 "$VFIOCTL" unbind "$bdf" --to none
expect_not_contains "$LAST_ERR" "cannot remove"
expect_not_contains "$LAST_ERR" "Read-only"
# udevd keeps files under /etc open, so the bind mount cannot go: make it writable again.
mount -o remount,bind,rw /etc || fail "cannot make /etc writable again"

# --- the entry removed: apply removes the rule and the softdep ------------------------------
: >/etc/vfioctl.conf
expect_exit 0 "$VFIOCTL" apply --json
expect_no_file "$rule"
expect_no_file /etc/modprobe.d/vfioctl.conf
