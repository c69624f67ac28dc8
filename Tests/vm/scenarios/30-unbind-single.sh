# vfioctl unbind on the e1000e (alone in its group): with a VMM holding it, unbind waits and
# writes nothing; once the holder exits it gives the device back to e1000e, which enables it,
# and forgets the record. --timeout 2 with a holder that stays exits 3 after about 2 s with the
# device still on vfio-pci and no blocked write; --no-wait exits 3 at once; --to none; no
# record (bound by hand) lets the kernel choose; a second unbind is a no-op.
# vm-timeout: 300
. "$VM_LIB"

bdf=$VM_E1000E
dev=/sys/bus/pci/devices/$bdf
state=/run/vfioctl/state.json
g=$(pci_group "$bdf")
records() { json_get '[d["address"] for d in j["devices"]]' "$state"; }

expect_exit 0 "$VFIOCTL" bind "$bdf"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after bind"

# --- dry run: the exact writes, nothing changed -------------------------------------------
expect_exit 0 "$VFIOCTL" unbind "$bdf" --dry-run
expect_same_lines "$(grep -v '^#' <<<"$LAST_OUT")" "echo > $dev/driver_override
echo $bdf > /sys/bus/pci/drivers/vfio-pci/unbind
echo $bdf > /sys/bus/pci/drivers/e1000e/bind" "dry-run writes"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after --dry-run"

# --- held: the unbind waits, then completes when the holder exits ----------------------------
holder_start "$bdf"
out=$VM_TMP/unbind.out
"$VFIOCTL" unbind "$bdf" --timeout 60 >"$out" 2>&1 &
unbind_pid=$!
waiter_watching() { fd_targets "$unbind_pid" | grep -q pidfd; }
wait_until 60 waiter_watching || fail "unbind never watched the holder: $(cat "$out")"
kill -0 "$unbind_pid" 2>/dev/null || fail "unbind returned while $bdf was held: $(cat "$out")"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver while held"
expect_eq "$(cat "$dev/driver_override")" vfio-pci "override while held (nothing written)"
_vm_now; t0=$REPLY
holder_stop
wait "$unbind_pid"
rc=$?
_vm_now; t1=$REPLY
note "unbind returned $(awk "BEGIN { print $t1 - $t0 }") s after the holder stopped: $(tr '\n' ' ' <"$out")"
expect_eq "$rc" 0 "unbind status after the holder exited"
expect_contains "$(cat "$out")" "released $bdf to e1000e (was vfio-pci)" "unbind output"
expect_eq "$(pci_driver "$bdf")" e1000e "driver after unbind"
expect_eq "$(cat "$dev/driver_override")" "(null)" "override after unbind"
expect_eq "$(cat "$dev/enable")" 1 "enable after unbind (e1000e enabled it)"
expect_no_file "/dev/vfio/$g"
expect_eq "$(records)" "" "records after unbind"

# again: nothing to do
expect_exit 0 "$VFIOCTL" unbind "$bdf"
expect_contains "$LAST_OUT" "nothing to do" "second unbind"

# --- a holder that stays: --timeout 2 → exit 3, nothing written ------------------------------
expect_exit 0 "$VFIOCTL" bind "$bdf"
holder_start "$bdf"
_vm_now; t0=$REPLY
expect_exit 3 "$VFIOCTL" unbind "$bdf" --timeout 2
_vm_now; t1=$REPLY
note "unbind --timeout 2 took $(awk "BEGIN { print $t1 - $t0 }") s"
awk "BEGIN { exit !($t1 - $t0 >= 2 && $t1 - $t0 < 20) }" || fail "unbind --timeout 2 took $(awk "BEGIN { print $t1 - $t0 }") s"
expect_contains "$LAST_ERR" "timed out after " "timeout message"
expect_contains "$LAST_ERR" "$bdf is held by pid $HOLDER_PID (holder) through /dev/vfio/$g" "timeout message"
expect_contains "$LAST_ERR" "nothing was changed" "timeout message"
expect_eq "$(printf '%s\n' "$LAST_ERR" | wc -l)" 1 "lines on stderr"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after the timeout"
expect_eq "$(cat "$dev/driver_override")" vfio-pci "override after the timeout"
expect_eq "$(records)" "$bdf" "records after the timeout"

# --no-wait: at once
_vm_now; t0=$REPLY
expect_exit 3 "$VFIOCTL" unbind "$bdf" --no-wait --json
_vm_now; t1=$REPLY
awk "BEGIN { exit !($t1 - $t0 < 10) }" || fail "unbind --no-wait took $(awk "BEGIN { print $t1 - $t0 }") s"
expect_contains "$LAST_ERR" "in use (--no-wait)" "--no-wait message"
expect_eq "$(json_get '[j["timedOut"], [d["result"] for d in j["devices"]], [h["pid"] for h in j["holders"]]]' <<<"$LAST_OUT")" \
    "[true,[\"timed-out\"],[$HOLDER_PID]]" "--no-wait JSON"
expect_eq "$(pci_driver "$bdf")" vfio-pci "driver after --no-wait"
holder_stop

# The holder is gone: the same command works at once.
expect_exit 0 "$VFIOCTL" unbind "$bdf" --no-wait --to none
expect_eq "$(pci_driver "$bdf")" "" "driver after --to none"
expect_eq "$(cat "$dev/driver_override")" "(null)" "override after --to none"
expect_eq "$(records)" "" "records after --to none"
expect_exit 0 "$VFIOCTL" unbind "$bdf" --to e1000e
expect_eq "$(pci_driver "$bdf")" e1000e "driver after --to e1000e"

# --- no record (bound by hand): the kernel chooses ------------------------------------------
sysfs_bind "$bdf" vfio-pci
expect_exit 0 "$VFIOCTL" unbind "$bdf" --json
expect_eq "$(json_get '[(d["source"], d["driver"], d["result"]) for d in j["devices"]]' <<<"$LAST_OUT")" \
    '[["kernel","e1000e","released"]]' "no-record unbind JSON"
expect_eq "$(pci_driver "$bdf")" e1000e "driver after the no-record unbind"
