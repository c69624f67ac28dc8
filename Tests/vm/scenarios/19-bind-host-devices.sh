# Host holders on devices this scenario adds to the guest: a DRM card (bochs-display), a sound
# card (ES1370) and a USB controller with a stick (qemu-xhci + usb-storage). A process holding
# the DRM card, the sound control node or the stick's disk refuses the bind, naming it; a
# mounted stick refuses it; once they are gone the bind goes through. bind --wait returns when
# the holder of the NVMe's namespace exits, and gives up (exit 3, nothing written) when it does
# not. An XDP program on the e1000e's interface refuses its bind, with the detach command.
# vm-timeout: 360
# vm-kernels: 6.1 6.12  (DRM, sound, USB and XDP host drivers: not in the small configuration of 6.12-vfio)
# vm-qemu-extra: -device bochs-display,bus=pcie.0,addr=0x7 -device ES1370,bus=pcie.0,addr=0x8 -device qemu-xhci,id=xhci,bus=pcie.0,addr=0x9 -drive file=@DISK@,if=none,id=stick,format=raw -device usb-storage,bus=xhci.0,drive=stick
. "$VM_LIB"

drm=0000:00:07.0
sound=0000:00:08.0
usb=0000:00:09.0
expect_eq "$(cat "$(pci_dev "$drm")/vendor"):$(cat "$(pci_dev "$drm")/device")" 0x1234:0x1111 "bochs-display at $drm"
expect_eq "$(cat "$(pci_dev "$sound")/vendor")" 0x1274 "ES1370 at $sound"
expect_eq "$(cat "$(pci_dev "$usb")/class")" 0x0c0330 "xHCI at $usb"

# start_opener NODE: a sleep with NODE open on fd 3; sets OPENER.
start_opener() {
    sleep 300 3<"$1" &
    OPENER=$!
    wait_until 10 grep -qx sleep "/proc/$OPENER/comm" || fail "opener of $1 did not start"
}
stop_opener() {
    kill "$OPENER"
    wait "$OPENER" 2>/dev/null
    OPENER=
}
expect_exit 0 modprobe vfio-pci

# --- DRM: a process with the card open ---------------------------------------------------------
modprobe bochs 2>/dev/null || modprobe bochs-drm 2>/dev/null || true
wait_until 20 sh -c "ls $(pci_dev "$drm")/drm | grep -q '^card'" || fail "no DRM card below $drm (driver: $(pci_driver "$drm"))"
card=$(ls "$(pci_dev "$drm")/drm" | grep '^card' | head -n 1)
drm_driver=$(pci_driver "$drm")
note "DRM: /dev/dri/$card on $drm_driver"
expect_file "/dev/dri/$card"
start_opener "/dev/dri/$card"
expect_exit 2 "$VFIOCTL" bind "$drm"
expect_contains "$LAST_ERR" "$drm is in use: pid $OPENER (sleep" "DRM refusal names the process"
expect_contains "$LAST_ERR" "has /dev/dri/$card open" "DRM refusal names the card"
expect_exit 0 "$VFIOCTL" holders "$drm"
expect_contains "$LAST_OUT" "in use on the host by pid $OPENER (sleep)" "holders on the DRM card"
stop_opener
# Without the process only the framebuffer the DRM driver registers remains (forceable).
"$VFIOCTL" bind "$drm" --dry-run >/dev/null 2>"$VM_OUT/drm.err"
expect_not_contains "$(cat "$VM_OUT/drm.err")" "pid " "no process named once it is gone"
expect_eq "$(pci_driver "$drm")" "$drm_driver" "DRM driver after the refusals"

# --- sound: a process with the control node open -----------------------------------------------
modprobe snd_ens1370 2>/dev/null || true
wait_until 20 sh -c "ls $(pci_dev "$sound")/sound/card*/ 2>/dev/null | grep -q '^controlC'" || fail "no sound control node below $sound"
control=$(basename "$(ls -d "$(pci_dev "$sound")"/sound/card*/controlC* | head -n 1)")
start_opener "/dev/snd/$control"
expect_exit 2 "$VFIOCTL" bind "$sound"
expect_contains "$LAST_ERR" "has /dev/snd/$control open" "sound refusal names the control node"
expect_eq "$(pci_driver "$sound")" snd_ens1370 "sound driver after the refusal"
stop_opener
expect_exit 0 "$VFIOCTL" bind "$sound"
expect_eq "$(pci_driver "$sound")" vfio-pci "sound card bound once free"
sysfs_release "$sound" snd_ens1370

# --- USB: the stick's disk held, then mounted ---------------------------------------------------
modprobe usb_storage 2>/dev/null || true
modprobe sd_mod 2>/dev/null || true
disk=
for _ in $(seq 1 60); do
    for b in /sys/block/sd*; do
        [ -e "$b" ] || continue
        case "$(readlink -f "$b")" in "$(readlink -f "$(pci_dev "$usb")")"/*) disk=${b##*/} ;; esac
    done
    [ -n "$disk" ] && break
    sleep 0.5
done
[ -n "$disk" ] || fail "no USB disk below $usb"
note "USB stick: /dev/$disk below $usb"
start_opener "/dev/$disk"
expect_exit 2 "$VFIOCTL" bind "$usb"
expect_contains "$LAST_ERR" "has /dev/$disk open" "USB refusal names the stick's disk"
stop_opener
mkdir -p /mnt/stick
expect_exit 0 mount -o ro "/dev/$disk" /mnt/stick
expect_eq "$(cat /mnt/stick/marker)" vfioctl-vm-extra "stick mounted"
expect_exit 2 "$VFIOCTL" bind "$usb"
expect_contains "$LAST_ERR" "mounted on /mnt/stick" "mounted stick refused"
umount /mnt/stick
expect_exit 0 "$VFIOCTL" bind "$usb"
expect_eq "$(pci_driver "$usb")" vfio-pci "USB controller bound once free"
sysfs_release "$usb" xhci_hcd

# --- bind --wait: the holder of a raw namespace exits ---------------------------------------------
nvme=$VM_NVME_FS
ns=
for d in "$(pci_dev "$nvme")"/nvme/nvme*/nvme*n*; do [ -e "$d/dev" ] && ns=${d##*/} && break; done
[ -n "$ns" ] || fail "no namespace below $nvme"
start_opener "/dev/$ns"
expect_exit 3 "$VFIOCTL" bind "$nvme" --wait --timeout 1
expect_contains "$LAST_ERR" "timed out after " "wait gave up"
expect_contains "$LAST_ERR" "pid $OPENER (sleep)" "the holder that stayed"
expect_eq "$(pci_driver "$nvme")" nvme "driver after the time-out"
"$VFIOCTL" bind "$nvme" --wait --timeout 60 >"$VM_OUT/wait.out" 2>"$VM_OUT/wait.err" &
binder=$!
sleep 1
expect_eq "$(pci_driver "$nvme")" nvme "still on nvme while held"
kill -0 "$binder" 2>/dev/null || fail "bind --wait returned while the namespace was held: $(cat "$VM_OUT/wait.err")"
_vm_now
killed=$REPLY
stop_opener
wait "$binder"
rc=$?
_vm_now
expect_eq "$rc" 0 "bind --wait exit status ($(cat "$VM_OUT/wait.err"))"
expect_eq "$(pci_driver "$nvme")" vfio-pci "bound once the holder exited"
note "bind --wait returned $(awk -v a="$killed" -v b="$REPLY" 'BEGIN { printf "%.2f", b - a }') s after the holder exited"
awk -v a="$killed" -v b="$REPLY" 'BEGIN { exit !(b - a < 20) }' || fail "bind --wait took too long after the holder exited"
sysfs_release "$nvme" nvme

# --- XDP on the e1000e ----------------------------------------------------------------------------
nic=$VM_E1000E
iface=$(ls "$(pci_dev "$nic")/net" | head -n 1)
[ -n "$iface" ] || fail "no interface below $nic"
expect_exit 0 "$VM_HOLDER" --xdp-attach "$iface"
expect_exit 2 "$VFIOCTL" bind "$nic"
expect_contains "$LAST_ERR" "$iface has an XDP program attached (program " "XDP refusal"
expect_contains "$LAST_ERR" "ip link set dev $iface xdpgeneric off" "XDP remedy"
expect_exit 2 "$VFIOCTL" bind "$nic" --json
expect_eq "$(json_get '[r["use"] for r in j["refusals"]]' <<<"$LAST_OUT")" xdp-program "XDP refusal JSON"
expect_exit 0 "$VM_HOLDER" --xdp-detach "$iface"
expect_exit 0 "$VFIOCTL" bind "$nic" --dry-run
