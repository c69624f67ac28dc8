# The device cdev beside the group (6.12-vfio: CONFIG_VFIO_GROUP and CONFIG_VFIO_DEVICE_CDEV
# with iommufd): bind, list and show name both nodes; a process holding only /dev/iommu is not
# a holder; a holder through the cdev and /dev/iommu alone (no group fd, as QEMU with iommufd)
# is found by holders with its pid and the cdev, wait --timeout 2 and unbind --timeout 2 exit 3
# with nothing written, and unbind completes once it exits.
# vm-kernels: 6.12-vfio
# vm-timeout: 180
. "$VM_LIB"

fields() { json_get '"|".join(str(x) for x in ('"$1"'))' <<<"$LAST_OUT"; }

bdf=$VM_E1000E
dev=/sys/bus/pci/devices/$bdf
expect_file /dev/iommu
expect_file /dev/vfio/vfio
expect_exit 0 "$VFIOCTL" bind "$bdf"
g=$(pci_group "$bdf")
name=$(ls "$dev/vfio-dev")
note "group $g, cdev $name"
expect_contains "$LAST_OUT" "group $g is viable: /dev/vfio/$g" "bind output"
expect_file "/dev/vfio/$g"
expect_file "/dev/vfio/devices/$name"

expect_exit 0 "$VFIOCTL" show "$bdf"
expect_contains "$LAST_OUT" "VFIO nodes:        /dev/vfio/$g (root:root 0600), /dev/vfio/devices/$name (root:root 0600)" "show: both nodes"
expect_exit 0 "$VFIOCTL" list --json
expect_eq "$(json_get '"|".join(str(d[k]) for d in j["devices"] if d["address"] == "'"$bdf"'" for k in ("groupNode", "deviceNode"))' <<<"$LAST_OUT")" \
    "/dev/vfio/$g|/dev/vfio/devices/$name" "list --json: both nodes"

# --- /dev/iommu alone is no hold ---------------------------------------------------------
holder_start --iommu-only
iommu_pid=$HOLDER_PID
expect_exit 0 "$VFIOCTL" holders "$bdf" --json
expect_eq "$(fields 'j["targets"][0]["state"], len(j["holders"])')" "free|0" "holders with only /dev/iommu open elsewhere"

# --- a holder through the cdev and iommufd ------------------------------------------------
holder_start --iommufd "$bdf"
expect_eq "$(cat "$dev/enable")" 1 "enable while the cdev is bound to an iommufd"
expect_exit 0 "$VFIOCTL" holders "$bdf" --json
h='j["holders"][0]'
expect_eq "$(fields "j[\"targets\"][0][\"state\"], [p[\"pid\"] for p in j[\"holders\"]], sorted((x[\"kind\"], x[\"path\"]) for x in $h[\"handles\"])")" \
    "held|[$HOLDER_PID]|[('cdev', '/dev/vfio/devices/$name'), ('container', '/dev/iommu')]" "holders: pid and handles of the iommufd holder"
expect_exit 0 "$VFIOCTL" holders "$bdf"
expect_contains "$LAST_OUT" "held by pid $HOLDER_PID (holder)" "holders text"
expect_contains "$LAST_OUT" "/dev/vfio/devices/$name" "holders text names the cdev"

expect_exit 3 "$VFIOCTL" wait "$bdf" --timeout 2
expect_contains "$LAST_ERR" "$bdf is held by pid $HOLDER_PID (holder) through /dev/vfio/devices/$name" "wait timeout message"
expect_exit 3 "$VFIOCTL" unbind "$bdf" --timeout 2
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after unbind --timeout 2"
expect_eq "$(cat "$dev/driver_override")" vfio-pci "override after unbind --timeout 2 (nothing written)"

out=$VM_TMP/unbind.out
"$VFIOCTL" unbind "$bdf" --timeout 60 >"$out" 2>&1 &
unbind_pid=$!
waiter_watching() { fd_targets "$unbind_pid" | grep -q pidfd; }
wait_until 60 waiter_watching || fail "unbind never watched the holder: $(cat "$out")"
kill -0 "$unbind_pid" 2>/dev/null || fail "unbind returned while $bdf was held: $(cat "$out")"
holder_stop
wait "$unbind_pid"
expect_eq "$?" 0 "unbind status after the holder exited ($(tr '\n' ' ' <"$out"))"
expect_eq "$(pci_driver "$bdf")" e1000e "driver after unbind"
expect_no_file "/dev/vfio/devices/$name"

HOLDER_PID=$iommu_pid
holder_stop
