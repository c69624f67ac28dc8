# A VF on its host driver, in use, is not torn away by a change of sriov_numvfs: the emulated
# SR-IOV NVMe's first VF gets flexible resources (nvme virt-mgmt), is brought online and bound
# to nvme, so it has its own controller node /dev/nvmeN. A process holding that node makes
# `sriov --vfs 0` refuse (exit 2, pid named) and exit 3 after --timeout, with nothing written
# and nothing stuck; once it exits, the VF goes. restore --dry-run and --json show the SR-IOV
# part and write nothing.
. "$VM_LIB"

pf=$VM_NVME_SRIOV
pfdev=/sys/bus/pci/devices/$pf
ctrl=$(ls "$pfdev/nvme/")
[ -c "/dev/$ctrl" ] || fail "no controller node for the PF ($ctrl)"

expect_exit 0 "$VFIOCTL" sriov "$pf" --vfs 1
vf=$(basename "$(readlink "$pfdev/virtfn0")")
expect_eq "$(pci_driver "$vf")" "" "the new VF's driver (autoprobe off)"

# The VF's secondary controller (SCID 1) needs flexible queue and interrupt resources and must
# be online before a driver can use it; then bind it to nvme by hand, as an admin would.
expect_exit 0 nvme virt-mgmt "/dev/$ctrl" -c 1 -r 1 -a 8 -n 1
expect_exit 0 nvme virt-mgmt "/dev/$ctrl" -c 1 -r 0 -a 8 -n 2
expect_exit 0 nvme virt-mgmt "/dev/$ctrl" -c 1 -r 0 -a 9 -n 0
# With autoprobe off the kernel probes a VF only through driver_override.
echo nvme >"/sys/bus/pci/devices/$vf/driver_override"
echo "$vf" >/sys/bus/pci/drivers/nvme/bind || fail "nvme did not bind $vf"
expect_eq "$(pci_driver "$vf")" nvme "the VF's driver"
wait_until 10 test -d "/sys/bus/pci/devices/$vf/nvme" || fail "no nvme controller under $vf"
vfctrl=$(ls "/sys/bus/pci/devices/$vf/nvme/")
wait_until 10 test -c "/dev/$vfctrl" || fail "no /dev/$vfctrl"

sleep 300 3<"/dev/$vfctrl" &
opener=$!
wait_until 10 grep -qx sleep "/proc/$opener/comm" || fail "opener of /dev/$vfctrl did not start"

expect_exit 2 "$VFIOCTL" sriov "$pf" --vfs 0
expect_contains "$LAST_ERR" "pid $opener" "the holder of the VF's node is named"
expect_exit 2 "$VFIOCTL" sriov "$pf" --vfs 0 --json
expect_json "$LAST_OUT" "refusal document"
expect_exit 3 "$VFIOCTL" sriov "$pf" --vfs 0 --timeout 1s
expect_contains "$LAST_ERR" "nothing was changed" "timeout message"
expect_eq "$(cat "$pfdev/sriov_numvfs") $(pci_driver "$vf")" "1 nvme" "numvfs and VF driver while held"

# restore would be refused for this PF while the VF is held; its dry run says so.
expect_exit 0 "$VFIOCTL" restore --dry-run --json
expect_eq "$(json_get '" ".join(e["pf"] + ":" + e["result"] for e in j["sriov"])' <<<"$LAST_OUT")" "$pf:refused" "restore dry run while held"
expect_contains "$(json_get 'j["sriov"][0]["message"]' <<<"$LAST_OUT")" "pid $opener" "restore dry run names the holder"

kill "$opener"
wait "$opener" 2>/dev/null
# Free now: restore's dry run shows the count and autoprobe going back (text and JSON), and
# writes nothing.
expect_exit 0 "$VFIOCTL" restore --dry-run
expect_contains "$LAST_OUT" "echo 0 > $pfdev/sriov_numvfs" "restore dry run: the count"
expect_contains "$LAST_OUT" "echo 1 > $pfdev/sriov_drivers_autoprobe" "restore dry run: autoprobe"
expect_exit 0 "$VFIOCTL" restore --dry-run --json
expect_eq "$(json_get '" ".join(e["pf"] + ":" + str(e["numVFs"]) + ":" + e["result"] for e in j["sriov"])' <<<"$LAST_OUT")" "$pf:0:planned" "restore dry run's sriov entry"
expect_eq "$(cat "$pfdev/sriov_numvfs") $(pci_driver "$vf")" "1 nvme" "numvfs and VF driver after the dry runs"

expect_exit 0 "$VFIOCTL" sriov "$pf" --vfs 0 --timeout 5s
expect_eq "$(cat "$pfdev/sriov_numvfs")" 0 "numvfs once the holder exited"
expect_no_file "/sys/bus/pci/devices/$vf"
expect_exit 0 "$VFIOCTL" restore --json
expect_eq "$(json_get '" ".join(e["pf"] + ":" + e["result"] for e in j["sriov"])' <<<"$LAST_OUT")" "$pf:restored" "restore's sriov entry"
expect_eq "$(cat "$pfdev/sriov_drivers_autoprobe")" 1 "autoprobe after restore"
