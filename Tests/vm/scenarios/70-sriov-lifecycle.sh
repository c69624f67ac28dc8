# vfioctl sriov on the SR-IOV NVMe: 2 VFs created with --bind never meet nvme (autoprobe off
# first; dmesg and the drivers say so), a re-run writes nothing, a held VF makes --vfs 0 wait
# and exit 3 with nothing written and nothing stuck, once released the VFs go, and restore
# puts sriov_numvfs and autoprobe back as they were.
. "$VM_LIB"

pf=$VM_NVME_SRIOV
pfdev=/sys/bus/pci/devices/$pf
state=/run/vfioctl/state.json
expect_eq "$(cat "$pfdev/sriov_numvfs") $(cat "$pfdev/sriov_drivers_autoprobe")" "0 1" "numvfs and autoprobe at start"
dmesg_before=$(dmesg | wc -l)

# Bad input: nothing written.
expect_exit 64 "$VFIOCTL" sriov "$pf" --vfs 5
expect_contains "$LAST_ERR" "supports 0 to 4 VFs" "count above sriov_totalvfs"
expect_exit 2 "$VFIOCTL" sriov "$VM_E1000E" --vfs 1
expect_contains "$LAST_ERR" "has no SR-IOV capability" "device without SR-IOV"
expect_exit 64 "$VFIOCTL" sriov "04:00" --vfs 1
expect_exit 77 setpriv --reuid=65534 --regid=65534 --clear-groups "$VFIOCTL" sriov "$pf" --vfs 2
expect_eq "$(cat "$pfdev/sriov_numvfs")" 0 "numvfs after bad input"

# The dry run names the VFs and the writes.
expect_exit 0 "$VFIOCTL" sriov "$pf" --vfs 2 --bind --dry-run --json
vfs=$(json_get 'j["vfs"]' <<<"$LAST_OUT")
expect_eq "$(json_get '[s["shell"] for s in j["steps"]]' <<<"$LAST_OUT")" \
    "echo 0 > $pfdev/sriov_drivers_autoprobe
echo 2 > $pfdev/sriov_numvfs" "dry-run steps"

expect_exit 0 "$VFIOCTL" sriov "$pf" --vfs 2 --bind --json
expect_eq "$(json_get 'j["vfs"]' <<<"$LAST_OUT")" "$vfs" "VFs where the dry run said"
vf1=$(basename "$(readlink "$pfdev/virtfn0")") vf2=$(basename "$(readlink "$pfdev/virtfn1")")
expect_eq "$vf1
$vf2" "$vfs" "virtfn links"
expect_eq "$(pci_driver "$vf1") $(pci_driver "$vf2") $(pci_driver "$pf")" "vfio-pci vfio-pci nvme" "drivers after sriov --bind"
expect_eq "$(cat "$pfdev/sriov_drivers_autoprobe")" 0 "autoprobe after sriov"
expect_file "/dev/vfio/$(pci_group "$vf1")"
expect_file "/dev/vfio/$(pci_group "$vf2")"
nvme_vf=$(dmesg | tail -n +"$((dmesg_before + 1))" | grep -E "nvme ($vf1|$vf2)" || true)
expect_eq "$nvme_vf" "" "dmesg lines of nvme on a VF"
expect_eq "$(json_get '[j["sriov"][0][k] for k in ("address","originalNumVFs","originalAutoprobe","numVFs","vfDriver")]' "$state")" \
    "$pf
0
true
2
vfio-pci" "state file's SR-IOV record"

# Again: nothing to do, nothing written.
expect_exit 0 "$VFIOCTL" sriov "$pf" --vfs 2 --bind --json
expect_eq "$(json_get 'j["changed"]' <<<"$LAST_OUT")" false "re-run changed"

# A held VF: refused at once without --timeout, exit 3 after it; nothing written, nothing stuck.
holder_start "$vf1"
expect_exit 2 "$VFIOCTL" sriov "$pf" --vfs 0
expect_contains "$LAST_ERR" "$vf1 is held by pid $HOLDER_PID" "holder named"
expect_exit 3 "$VFIOCTL" sriov "$pf" --vfs 0 --timeout 2s
expect_contains "$LAST_ERR" "nothing was changed" "timeout message"
expect_exit 3 "$VFIOCTL" sriov "$pf" --vfs 3 --bind --timeout 1s
expect_eq "$(cat "$pfdev/sriov_numvfs") $(pci_driver "$vf1")" "2 vfio-pci" "numvfs and VF driver while held"
holder_stop

# Released: the VFs are still on vfio-pci, so only with --timeout; then they go.
expect_exit 2 "$VFIOCTL" sriov "$pf" --vfs 0
expect_contains "$LAST_ERR" "on a VFIO driver" "refusal of VFIO-bound VFs"
expect_exit 0 "$VFIOCTL" sriov "$pf" --vfs 0 --timeout 5s
expect_eq "$(cat "$pfdev/sriov_numvfs")" 0 "numvfs after teardown"
expect_eq "$(json_get 'len(j["devices"])' "$state")" 0 "VF records after teardown"

# restore puts count and autoprobe back.
expect_exit 0 "$VFIOCTL" sriov "$pf" --vfs 2 --bind
expect_exit 0 "$VFIOCTL" restore
expect_contains "$LAST_OUT" "$pf: sriov_numvfs back to 0, sriov_drivers_autoprobe to 1" "restore output"
expect_eq "$(cat "$pfdev/sriov_numvfs") $(cat "$pfdev/sriov_drivers_autoprobe")" "0 1" "numvfs and autoprobe after restore"
expect_eq "$(json_get '"sriov" in j' "$state")" false "SR-IOV record after restore"
