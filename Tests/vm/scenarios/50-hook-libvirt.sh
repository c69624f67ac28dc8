# libvirt's qemu hook against a real QEMU: prepare begin binds the domain's managed='no'
# hostdevs (the two e1000 behind the bridge, one IOMMU group, passed to one VM) and leaves a
# managed one to libvirt; release end called while QEMU still holds them waits and gives both
# back together only once QEMU has exited; a release whose QEMU never exits ends at the
# configured bound with one clear line and nothing written. What the hook did reaches /dev/log.
# vm-timeout: 240
. "$VM_LIB"

nic1=$VM_BRIDGE_NIC1 nic2=$VM_BRIDGE_NIC2 managed=$VM_E1000E
g=$(pci_group "$nic1")
state=/run/vfioctl/state.json
hook() { "$VFIOCTL" hook libvirt win11 "$@"; }
drivers() { echo "$(pci_driver "$nic1") $(pci_driver "$nic2") $(pci_driver "$managed")"; }
domains() { json_get '" ".join(d["address"] + "=" + str(d.get("domain")) for d in j["devices"])' "$state"; }
hostdev() { # BDF MANAGED: a <hostdev> as libvirt writes it
    local b=$1
    echo "    <hostdev mode='subsystem' type='pci' managed='$2'>
      <driver name='vfio'/>
      <source>
        <address domain='0x${b:0:4}' bus='0x${b:5:2}' slot='0x${b:8:2}' function='0x${b:11:1}'/>
      </source>
      <alias name='hostdev0'/>
    </hostdev>"
}
xml=$VM_TMP/win11.xml
cat >"$xml" <<XML
<!-- WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE OVERWRITTEN -->
<domain type='kvm'>
  <name>win11</name>
  <description>games &amp; &quot;work&quot;</description>
  <devices>
$(hostdev "$nic1" no)
$(hostdev "$nic2" no)
$(hostdev "$managed" yes)
  </devices>
</domain>
XML

# A syslog daemon stand-in: every datagram on /dev/log, one a line.
log=$VM_TMP/syslog
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[2], "w").close()
while True:
    data = s.recv(8192)
    with open(sys.argv[1], "ab") as f:
        f.write(data + b"\n")
' "$log" "$VM_TMP/syslog.ready" &
syslog_pid=$!
wait_until 30 test -e "$VM_TMP/syslog.ready" || fail "syslog stand-in did not start"

qemu_start() { # start QEMU paused with both NICs; QEMU_PID; waits until it holds the group
    qemu-system-x86_64 -S -nodefaults -display none -machine q35,accel=tcg -m 64 -monitor none -serial none \
        -device vfio-pci,host="$nic1" -device vfio-pci,host="$nic2" >"$VM_TMP/qemu.out" 2>&1 &
    QEMU_PID=$!
    qemu_holds() { fd_targets "$QEMU_PID" | grep -qx "/dev/vfio/$g"; }
    wait_until 60 qemu_holds || fail "QEMU never opened /dev/vfio/$g: $(cat "$VM_TMP/qemu.out")"
}
qemu_stop() {
    kill -TERM "$QEMU_PID"
    wait "$QEMU_PID"
}

# --- other operations: nothing, quietly ----------------------------------------------------
expect_exit 0 hook start begin - <"$xml"
expect_eq "$LAST_OUT$LAST_ERR" "" "start begin output"
expect_eq "$(drivers)" "e1000 e1000 e1000e" "drivers after start begin"

# --- prepare begin binds the group; the managed hostdev is libvirt's ------------------------
expect_exit 0 hook prepare begin - <"$xml"
expect_eq "$LAST_OUT" "" "prepare begin stdout"
expect_eq "$(drivers)" "vfio-pci vfio-pci e1000e" "drivers after prepare begin"
expect_eq "$(domains)" "$nic1=win11 $nic2=win11" "state records the domain"
expect_contains "$(cat "$log")" "vfioctl[" "syslog line"
expect_contains "$(grep -a "bound $nic1" "$log")" "<30>" "facility daemon, severity info"
expect_contains "$(cat "$log")" "libvirt domain win11 prepare begin: bound $nic1 to vfio-pci (was e1000)" "syslog"
expect_exit 0 "$VFIOCTL" show "$nic2"
expect_contains "$LAST_OUT" "Bound for:         domain win11" "show"
expect_exit 0 "$VFIOCTL" holders "$nic1"
expect_contains "$LAST_OUT" "$nic1 is bound for domain win11" "holders"

# --- release end while QEMU still holds the group: waits, then both go back together ------
printf '[hooks]\ntimeout = 60s\n' >/etc/vfioctl.conf
qemu_start
out=$VM_TMP/release.out
"$VFIOCTL" hook libvirt win11 release end - </dev/null >"$out" 2>&1 &
release_pid=$!
watching() { fd_targets "$release_pid" | grep -q pidfd; }
wait_until 60 watching || fail "release end never watched QEMU: $(cat "$out")"
expect_eq "$(drivers)" "vfio-pci vfio-pci e1000e" "drivers while QEMU is alive"
kill -0 "$release_pid" || fail "release end returned while QEMU was alive: $(cat "$out")"
qemu_stop
wait "$release_pid"
expect_eq "$?" 0 "release end status: $(cat "$out")"
expect_eq "$(drivers)" "e1000 e1000 e1000e" "drivers after QEMU exited"
expect_eq "$(json_get 'len(j["devices"])' "$state")" 0 "records after release end"
expect_contains "$(cat "$log")" "libvirt domain win11 release end: restored $nic1 to e1000 (was vfio-pci)" "syslog"
expect_contains "$(cat "$log")" "libvirt domain win11 release end: restored $nic2 to e1000 (was vfio-pci)" "syslog"
expect_exit 0 hook release end -
expect_eq "$LAST_OUT$LAST_ERR" "" "a second release end"

# --- a QEMU that never exits: release end ends at the bound, nothing written -------------------
printf '[hooks]\ntimeout = 3s\n' >/etc/vfioctl.conf
expect_exit 0 hook prepare begin - <"$xml"
qemu_start
before=$(cat "$state")
_vm_now
t0=${REPLY%.*}
expect_exit 3 hook release end -
_vm_now
elapsed=$((${REPLY%.*} - t0))
# The bound is checked between /proc scans, which take a while under TCG.
[ "$elapsed" -ge 2 ] && [ "$elapsed" -le 20 ] || fail "release end took ${elapsed}s with a 3s bound"
expect_eq "$(printf '%s\n' "$LAST_ERR" | wc -l)" 1 "one line on stderr"
expect_contains "$LAST_ERR" "vfioctl: libvirt domain win11 release end: timed out after " "timeout message"
expect_contains "$LAST_ERR" "is held by pid $QEMU_PID (qemu-system-x86" "timeout message names QEMU"
expect_contains "$LAST_ERR" "nothing was changed" "timeout message"
expect_eq "$(drivers)" "vfio-pci vfio-pci e1000e" "drivers after the timeout"
expect_eq "$(cat "$state")" "$before" "state file after the timeout"
expect_contains "$(grep -a "timed out" "$log")" "<27>" "the timeout logged as an error"
qemu_stop
expect_exit 0 hook release end -
expect_eq "$(drivers)" "e1000 e1000 e1000e" "drivers at the end"
kill "$syslog_pid"
