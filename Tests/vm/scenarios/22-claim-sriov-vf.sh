# VFs with the real systemd-udevd running (udev's modalias rule loads nvme for the PF, as at
# boot): the VFs `apply` (vfs = 2, vf-driver = vfio-pci) and `sriov --bind` create end on
# vfio-pci and nvme never probes one (dmesg), while udevd handles their add events; apply's
# claim rule names the VFs, and a VF made again after they went is claimed at its add.
# vm-kernels: 6.1 6.12  (nvme as a module, loaded by udev)
# vm-coldplug: udev
# vm-timeout: 420
. "$VM_LIB"

pf=$VM_NVME_SRIOV
pfdev=/sys/bus/pci/devices/$pf
rule=/etc/udev/rules.d/69-vfioctl-claim.rules
vf() { basename "$(readlink "$pfdev/virtfn$1")"; }

udev_start
udev_coldplug
expect_eq "$(pci_driver "$pf")" nvme "PF driver after coldplug (udev loaded nvme)"
dmesg -C

# --- apply: VFs made and bound while udevd sees their add events ---------------------------
printf '[device %s]\nvfs = 2\nvf-driver = vfio-pci\n' "$pf" >/etc/vfioctl.conf
expect_exit 0 "$VFIOCTL" apply --json
expect_json "$LAST_OUT"
udev_settle
vf1=$(vf 0)
vf2=$(vf 1)
expect_eq "$(pci_driver "$vf1")" vfio-pci "VF 1 after apply"
expect_eq "$(pci_driver "$vf2")" vfio-pci "VF 2 after apply"
expect_eq "$(probed_by nvme "$vf1")$(probed_by nvme "$vf2")" "" "nvme probed a VF"
expect_file "$rule"
expect_contains "$(cat "$rule")" "KERNEL==\"$vf1\", ATTR{driver_override}=\"vfio-pci\""
expect_contains "$(cat "$rule")" "KERNEL==\"$vf2\", ATTR{driver_override}=\"vfio-pci\""
expect_exit 0 "$VFIOCTL" apply --json
expect_eq "$(json_get 'all(d["status"] == "unchanged" for d in j["devices"])' <<<"$LAST_OUT")" true "a second apply changes nothing"
expect_eq "$(json_get 'j["claim"]["written"]' <<<"$LAST_OUT")" "" "a second apply rewrites no claim file"

# --- VFs made again by hand: the rule claims them at add ----------------------------------
# Autoprobe off, so the kernel offers a new VF to no driver; only the rule (udevd, on the add
# event: driver_override, then drivers_probe with vfio-pci loaded already) can bind it.
expect_exit 0 "$VFIOCTL" restore
udev_settle
expect_eq "$(cat "$pfdev/sriov_numvfs")" 0 "VFs after restore"
echo 0 >"$pfdev/sriov_drivers_autoprobe"
echo 2 >"$pfdev/sriov_numvfs"
udev_settle
for v in "$vf1" "$vf2"; do
    expect_eq "$(cat /sys/bus/pci/devices/"$v"/driver_override)" vfio-pci "override of $v set by the rule at add"
    expect_eq "$(pci_driver "$v")" vfio-pci "$v claimed at add (autoprobe off: nobody but the rule binds it)"
done
expect_eq "$(probed_by nvme "$vf1")$(probed_by nvme "$vf2")" "" "nvme probed a VF made by hand"
echo 0 >"$pfdev/sriov_numvfs"
udev_settle

# --- sriov --bind with udevd running ------------------------------------------------------
: >/etc/vfioctl.conf
expect_exit 0 "$VFIOCTL" apply
expect_no_file "$rule"
dmesg -C
expect_exit 0 "$VFIOCTL" sriov "$pf" --vfs 2 --bind
udev_settle
expect_eq "$(pci_driver "$vf1")" vfio-pci "VF 1 after sriov --bind"
expect_eq "$(pci_driver "$vf2")" vfio-pci "VF 2 after sriov --bind"
expect_eq "$(probed_by nvme "$vf1")$(probed_by nvme "$vf2")" "" "nvme probed a VF of sriov --bind"
expect_exit 0 "$VFIOCTL" restore
udev_settle
