# vfioctl bind on a device alone in its group (the e1000e): --dry-run prints the exact writes
# and changes nothing; the bind loads vfio-pci itself, moves the device, records where it came
# from, and a VMM can then open it; a second bind is a no-op; without root it is refused (77).
# vm-kernels: 6.1 6.12 6.12-vfio  (the bind that loads vfio-pci itself, from a module or built in)
. "$VM_LIB"

bdf=$VM_E1000E
dev=/sys/bus/pci/devices/$bdf
state=/run/vfioctl/state.json
g=$(pci_group "$bdf")
expect_eq "$(pci_driver "$bdf")" e1000e "driver of $bdf at boot"
# A built-in vfio-pci is there from boot, and the plan has nothing to load.
if vfio_pci_builtin; then load= loadkind= loadmodule=null; else load="modprobe vfio-pci
" loadkind="modprobe " loadmodule=vfio-pci; fi
vfio_pci_builtin || expect_no_file /sys/bus/pci/drivers/vfio-pci

# --- dry run: the plan, nothing else ------------------------------------------------
expect_exit 0 "$VFIOCTL" bind "$bdf" --dry-run
expect_same_lines "$(grep -v '^#' <<<"$LAST_OUT")" "${load}echo vfio-pci > $dev/driver_override
echo $bdf > /sys/bus/pci/drivers/e1000e/unbind
echo $bdf > /sys/bus/pci/drivers_probe" "dry-run writes"
expect_contains "$LAST_OUT" "# verify: $dev/driver -> vfio-pci"
expect_eq "$(pci_driver "$bdf")" e1000e "driver after --dry-run"
expect_eq "$(cat "$dev/driver_override")" "(null)" "driver_override after --dry-run"
vfio_pci_builtin || expect_no_file /sys/bus/pci/drivers/vfio-pci
expect_no_file "$state"

expect_exit 0 "$VFIOCTL" bind "$bdf" --dry-run --json
expect_eq "$(json_get '[s["kind"] for s in j["steps"]]' <<<"$LAST_OUT" | tr '\n' ' ')" "${loadkind}write write write verify " "dry-run JSON steps"
expect_eq "$(json_get 'j["loadModule"]' <<<"$LAST_OUT")" "$loadmodule" "dry-run JSON loadModule"

# --- not root: refused before anything happens --------------------------------------
expect_exit 77 setpriv --reuid=65534 --regid=65534 --clear-groups "$VFIOCTL" bind "$bdf"
expect_contains "$LAST_ERR" "needs root"
expect_eq "$(pci_driver "$bdf")" e1000e "driver after the unprivileged attempt"

# --- the bind -------------------------------------------------------------------------
expect_exit 0 "$VFIOCTL" bind "$bdf"
expect_contains "$LAST_OUT" "bound $bdf to vfio-pci (was e1000e)"
expect_contains "$LAST_OUT" "group $g is viable: /dev/vfio/$g"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after bind"
expect_eq "$(cat "$dev/driver_override")" vfio-pci "driver_override after bind"
expect_file /sys/bus/pci/drivers/vfio-pci
expect_file "$dev/vfio-dev"
expect_file "/dev/vfio/$g"
expect_file "$state"
expect_eq "$(json_get '[(d["address"], d["group"], d["originalDriver"], d["originalOverride"], d["boundDriver"], d["status"], d["currentDriver"]) for d in j["devices"]]' "$state")" \
    "[[\"$bdf\",$g,\"e1000e\",null,\"vfio-pci\",\"bound\",null]]" "state file after bind"
expect_eq "$(json_get 'j["schemaVersion"]' "$state")" 1 "state schemaVersion"
cp "$state" "$VM_OUT/state-after-bind.json" 2>/dev/null
before=$(cat "$state")

# A VMM can take it: the group is viable.
holder_start "$bdf"
holder_stop

# --- again: nothing to do ------------------------------------------------------------
expect_exit 0 "$VFIOCTL" bind "$bdf"
expect_eq "$LAST_OUT" "$bdf is already bound to vfio-pci" "second bind"
expect_exit 0 "$VFIOCTL" bind "$bdf" --json
expect_eq "$(json_get 'j["changed"]' <<<"$LAST_OUT")" false "second bind, JSON changed"
expect_eq "$(cat "$state")" "$before" "state file after the second bind"

# --- give it back by hand (unbind is another command) --------------------------------
sysfs_release "$bdf" e1000e
