# restore after binding several devices (the e1000e, the bridge group, the multi-function
# slot): --dry-run changes nothing; restore gives each back to its driver and empties the state
# file; a held group is reported as timed out while the others are restored. cycle on a free
# device re-binds it to vfio-pci with the record unchanged; on a held one it times out.
# vm-timeout: 300
. "$VM_LIB"

e=$VM_E1000E nic1=$VM_BRIDGE_NIC1 nic2=$VM_BRIDGE_NIC2 mf=$VM_MF_NIC audio=$VM_MF_AUDIO
state=/run/vfioctl/state.json
drivers() { echo "$(pci_driver "$e") $(pci_driver "$nic1") $(pci_driver "$nic2") $(pci_driver "$mf") $(pci_driver "$audio")"; }
at_boot=$(drivers)
expect_eq "$at_boot" "e1000e e1000 e1000 e1000 snd_hda_intel" "drivers at boot"

expect_exit 0 "$VFIOCTL" bind "$e"
expect_exit 0 "$VFIOCTL" bind --group "$nic1"
expect_exit 0 "$VFIOCTL" bind --group "$mf"
expect_eq "$(drivers)" "vfio-pci vfio-pci vfio-pci vfio-pci vfio-pci" "drivers after the binds"

# --- cycle a free device: same driver, record unchanged --------------------------------------
before=$(cat "$state")
expect_exit 0 "$VFIOCTL" cycle "$e"
expect_eq "$LAST_OUT" "cycled $e on vfio-pci" "cycle output"
expect_eq "$(pci_driver "$e")" vfio-pci "driver after cycle"
expect_eq "$(cat "$state")" "$before" "state file after cycle"
holder_start "$e"
holder_stop

# cycle a held device: waits, times out, nothing written
holder_start "$e"
expect_exit 3 "$VFIOCTL" cycle "$e" --timeout 1
expect_contains "$LAST_ERR" "$e is held by pid $HOLDER_PID" "cycle timeout"
expect_eq "$(pci_driver "$e")" vfio-pci "driver after the cycle timeout"

# --- restore while the e1000e is held: the others come back, it times out ----------------------
expect_exit 0 "$VFIOCTL" restore --dry-run
expect_eq "$(drivers)" "vfio-pci vfio-pci vfio-pci vfio-pci vfio-pci" "drivers after restore --dry-run"
expect_exit 3 "$VFIOCTL" restore --timeout 1 --json
results=$(json_get 'sorted((d["address"], d["result"]) for d in j["devices"])' <<<"$LAST_OUT")
expected=$(python3 -c "print(__import__('json').dumps(sorted([('$e','timed-out'),('$nic1','restored'),('$nic2','restored'),('$mf','restored'),('$audio','restored')]), separators=(',',':')))")
expect_eq "$results" "$expected" "restore results"
expect_eq "$(drivers)" "vfio-pci e1000 e1000 e1000 snd_hda_intel" "drivers after the partial restore"
expect_eq "$(json_get '[d["address"] for d in j["devices"]]' "$state")" "$e" "records after the partial restore"
holder_stop

expect_exit 0 "$VFIOCTL" restore
expect_contains "$LAST_OUT" "restored $e to e1000e (was vfio-pci)" "restore output"
expect_eq "$(drivers)" "$at_boot" "drivers after restore"
expect_eq "$(json_get 'len(j["devices"])' "$state")" 0 "records after restore"
expect_exit 0 "$VFIOCTL" restore
expect_contains "$LAST_OUT" "nothing to restore" "second restore"
