# holders and wait against a real VFIO holder (container + group + device fd, as QEMU does):
# holders names its pid on the group node; wait --timeout 2 exits 3 after about 2 s naming it;
# wait returns 0 soon after the holder exits, woken by its exit, with the device already
# released (enable 0); a group-only holder holds the group node with the device not open; a
# holder that keeps only a mapping is found through its maps.
# vm-timeout: 300
. "$VM_LIB"

# One python3 start per document (each costs about a second under TCG): FIELDS is a Python
# expression over j giving a list; prints its items separated by '|'.
fields() { json_get '"|".join(str(x) for x in ('"$1"'))' <<<"$LAST_OUT"; }

bdf=$VM_E1000E
dev=/sys/bus/pci/devices/$bdf
expect_exit 0 modprobe vfio-pci
sysfs_bind "$bdf" vfio-pci
g=$(pci_group "$bdf")
note "group $g"

# --- idle: free, and wait --timeout 0 says so at once -------------------------------------
expect_exit 0 "$VFIOCTL" holders "$bdf" --json
expect_eq "$(fields 'j["targets"][0]["state"], j["targets"][0]["groupNode"], len(j["holders"])')" "free|/dev/vfio/$g|0" \
    "idle $bdf: state, group node, number of holders"
expect_exit 0 "$VFIOCTL" wait "$bdf" --timeout 0

# --- a full holder ------------------------------------------------------------------------
holder_start "$bdf"
expect_exit 0 "$VFIOCTL" holders "$bdf" --json
t='j["targets"][0]'
h='j["holders"][0]'
# 6.1 and 6.12 have no vfio-device-syspath in fdinfo: the device fd is there, unnamed.
expect_eq "$(fields "$t[\"state\"], $t[\"open\"], $t[\"holders\"], $h[\"command\"], len(j[\"likelyHolders\"]),
    sorted((x[\"kind\"], x[\"path\"], x[\"device\"]) for x in $h[\"handles\"])")" \
    "held|True|[$HOLDER_PID]|holder|0|[('container', '/dev/vfio/vfio', None), ('device', 'anon_inode:[vfio-device]', None), ('group', '/dev/vfio/$g', None)]" \
    "held $bdf: state, open, holders, command, likely holders, handles"

expect_exit 0 "$VFIOCTL" holders "$bdf"
expect_contains "$LAST_OUT" "held by pid $HOLDER_PID (holder)" "holders text"
expect_contains "$LAST_OUT" "/dev/vfio/$g" "holders text"
expect_contains "$LAST_OUT" "device open (enable 1)" "holders text"

expect_exit 0 "$VFIOCTL" holders "group:$g" --json
expect_eq "$(fields '[t["address"] for t in j["targets"]], [p["pid"] for p in j["holders"]]')" "['$bdf']|[$HOLDER_PID]" "holders of group:$g"

# wait --timeout 2: exit 3 after about 2 s, naming the holder and the node
_vm_now; t0=$REPLY
expect_exit 3 "$VFIOCTL" wait "$bdf" --timeout 2
_vm_now; t1=$REPLY
note "wait --timeout 2 took $(awk "BEGIN { print $t1 - $t0 }") s"
# Wall time includes starting the binary, which takes seconds under TCG; the message has the
# wait's own measure.
awk "BEGIN { exit !($t1 - $t0 >= 2 && $t1 - $t0 < 20) }" || fail "wait --timeout 2 took $(awk "BEGIN { print $t1 - $t0 }") s"
# The wait's own measure: the deadline plus the last scan, which is slow under TCG.
waited=$(printf '%s' "$LAST_ERR" | sed -n 's/.*timed out after \([0-9.]*\) s.*/\1/p')
awk "BEGIN { exit !(\"$waited\" != \"\" && $waited >= 2 && $waited < 6) }" || fail "wait --timeout 2 reported $waited s: $LAST_ERR"
expect_contains "$LAST_ERR" "$bdf is held by pid $HOLDER_PID (holder) through /dev/vfio/$g" "timeout message"
expect_eq "$(printf '%s\n' "$LAST_ERR" | wc -l)" 1 "lines on stderr"

# wait returns soon after the holder exits, woken by the exit, and the device is released
out_file=$VM_TMP/wait.out
"$VFIOCTL" wait "$bdf" --timeout 60 -v >"$out_file" 2>&1 &
wait_pid=$!
# Stop the holder only once the wait has seen it: it then holds a pidfd on it.
waiter_watching() { fd_targets "$wait_pid" | grep -q pidfd; }
wait_until 60 waiter_watching || fail "wait never opened a pidfd on the holder: $(fd_targets "$wait_pid" | tr '\n' ' ') $(cat "$out_file")"
# And only once its /dev/vfio watch is set up too (a second into the wait): the close of the
# holder's fds is then an event, so no periodic rescan can be what first sees the device free.
sleep 1.5
kill -0 "$wait_pid" 2>/dev/null || fail "wait returned while the holder held $bdf: $(cat "$out_file")"
_vm_now; t0=$REPLY
holder_stop
wait "$wait_pid"
rc=$?
_vm_now; t1=$REPLY
enable_after=$(cat "$dev/enable")
note "wait returned $(awk "BEGIN { print $t1 - $t0 }") s after the stop: $(cat "$out_file" | tr '\n' ' ')"
expect_eq "$rc" 0 "wait status after the holder exited"
expect_contains "$(cat "$out_file")" "$bdf is free" "wait output"
# First seen free by a scan the holder's exit woke: its pidfd, or the close event on /dev/vfio.
# The kernel closes an exiting process's fds (exit_files, the inotify close) before its pidfd
# turns readable (exit_notify), and under TCG that gap can outlast the settle, so the wait may
# end on the confirming second look; `-v` then says what first saw it free. A periodic rescan
# ("timer") fails: it would mean neither event woke the wait.
case "$(cat "$out_file")" in
*"the last one after a process-exit"* | *"first seen free after a process-exit"* | *"first seen free after a node-event"*) ;;
*) fail "the wait did not first see $bdf free on the holder's exit or its close event: $(cat "$out_file" | tr '\n' ' ')" ;;
esac
expect_eq "$enable_after" 0 "enable right after wait said free"
awk "BEGIN { exit !($t1 - $t0 < 10) }" || fail "wait took $(awk "BEGIN { print $t1 - $t0 }") s after the holder exited"

# --- group-only holder: holds the group node, the device is not open ------------------------
holder_start --group-only "$bdf"
expect_exit 0 "$VFIOCTL" holders "$bdf" --json
expect_eq "$(fields "$t[\"state\"], $t[\"open\"], $h[\"pid\"], sorted(x[\"kind\"] for x in $h[\"handles\"])")" \
    "held|False|$HOLDER_PID|['container', 'group']" "group-only holder: state, open, pid, handle kinds"
expect_exit 0 "$VFIOCTL" holders "$bdf"
expect_contains "$LAST_OUT" "group     /dev/vfio/$g" "group-only holders text"
expect_contains "$LAST_OUT" "device not open" "group-only holders text"
expect_exit 3 "$VFIOCTL" wait "$bdf" --timeout 500ms
expect_contains "$LAST_ERR" "pid $HOLDER_PID (holder) through /dev/vfio/$g" "group-only timeout message"
holder_stop
expect_exit 0 "$VFIOCTL" wait "$bdf" --timeout 10

# --- mmap holder: device fd closed, BAR0 still mapped ---------------------------------------
holder_start --mmap "$bdf"
expect_exit 0 "$VFIOCTL" holders "$bdf" --json
expect_eq "$(fields "$t[\"open\"], $h[\"pid\"], sorted((x[\"kind\"], x[\"path\"]) for x in $h[\"handles\"])")" \
    "True|$HOLDER_PID|[('container', '/dev/vfio/vfio'), ('group', '/dev/vfio/$g'), ('mapping', 'anon_inode:[vfio-device]')]" \
    "mmap holder: open, pid, handles (no device fd left)"
holder_stop
expect_exit 0 "$VFIOCTL" wait "$bdf" --timeout 10
expect_eq "$(cat "$dev/enable")" 0 "enable after the mmap holder"

# --- back to the host: nothing can hold it through VFIO -----------------------------------
sysfs_release "$bdf" e1000e
expect_exit 0 "$VFIOCTL" holders "$bdf" --json
expect_eq "$(fields "$t[\"state\"], $t[\"driver\"], j[\"free\"]")" "not-vfio|e1000e|True" "after release: state, driver, free"
expect_exit 0 "$VFIOCTL" wait "$bdf" --timeout 0
