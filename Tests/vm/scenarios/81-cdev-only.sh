# A kernel with the device cdev only (6.12-cdev: CONFIG_VFIO_GROUP=n): no /dev/vfio/N and no
# /dev/vfio/vfio. bind verifies the cdev and succeeds; show, list and doctor say what there is;
# an iommufd holder (cdev + /dev/iommu) is found by holders, wait and unbind --timeout 2 exit 3
# with nothing written; once it exits, wait returns, cycle rebinds and unbind gives the device back.
# vm-kernels: 6.12-cdev
# vm-timeout: 180
. "$VM_LIB"

fields() { json_get '"|".join(str(x) for x in ('"$1"'))' <<<"$LAST_OUT"; }

bdf=$VM_E1000E
dev=/sys/bus/pci/devices/$bdf
expect_file /dev/iommu
expect_no_file /dev/vfio/vfio
expect_no_file /sys/class/vfio
g=$(pci_group "$bdf")
expect_exit 0 "$VFIOCTL" bind "$bdf"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after bind"
name=$(ls "$dev/vfio-dev")
expect_file "/dev/vfio/devices/$name"
expect_no_file "/dev/vfio/$g"
expect_contains "$LAST_OUT" "group $g is viable: /dev/vfio/devices/$name" "bind output"

expect_exit 0 "$VFIOCTL" show "$bdf"
expect_contains "$LAST_OUT" "VFIO nodes:        /dev/vfio/devices/$name (root:root 0600)" "show: the cdev"
expect_not_contains "$LAST_OUT" "/dev/vfio/$g " "show: no group node"
expect_not_contains "$LAST_OUT" "missing" "show"
expect_exit 0 "$VFIOCTL" list --json
expect_eq "$(json_get '"|".join(str(d[k]) for d in j["devices"] if d["address"] == "'"$bdf"'" for k in ("groupNode", "deviceNode"))' <<<"$LAST_OUT")" \
    "None|/dev/vfio/devices/$name" "list --json: no group node, the cdev"
run "$VFIOCTL" doctor --json
expect_eq "$(fields '[f["status"] for f in j["findings"] if f["check"] == "vfio-interfaces"]')" warn "doctor: cdev-only finding"

holder_start --iommufd "$bdf"
expect_exit 0 "$VFIOCTL" holders "$bdf" --json
expect_eq "$(fields 'j["targets"][0]["state"], [p["pid"] for p in j["holders"]], j["targets"][0]["groupNode"]')" \
    "held|[$HOLDER_PID]|None" "holders: state, pid, no group node"
expect_exit 3 "$VFIOCTL" wait "$bdf" --timeout 2
expect_contains "$LAST_ERR" "$bdf is held by pid $HOLDER_PID (holder) through /dev/vfio/devices/$name" "wait timeout message"
expect_exit 3 "$VFIOCTL" unbind "$bdf" --timeout 2
expect_eq "$(cat "$dev/driver_override")" vfio-pci "override after unbind --timeout 2 (nothing written)"
expect_exit 3 "$VFIOCTL" cycle "$bdf" --timeout 1
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after cycle --timeout 1"

out=$VM_TMP/wait.out
"$VFIOCTL" wait "$bdf" --timeout 60 >"$out" 2>&1 &
wait_pid=$!
waiter_watching() { fd_targets "$wait_pid" | grep -q pidfd; }
wait_until 60 waiter_watching || fail "wait never watched the holder: $(cat "$out")"
holder_stop
wait "$wait_pid"
expect_eq "$?" 0 "wait status after the holder exited ($(tr '\n' ' ' <"$out"))"

expect_exit 0 "$VFIOCTL" cycle "$bdf"
expect_eq "$LAST_OUT" "cycled $bdf on vfio-pci" "cycle output"
name=$(ls "$dev/vfio-dev")
expect_file "/dev/vfio/devices/$name"
expect_exit 0 "$VFIOCTL" unbind "$bdf"
expect_eq "$(pci_driver "$bdf")" e1000e "driver after unbind"
expect_no_file "/dev/vfio/devices/$name"
