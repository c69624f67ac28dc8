# A Proxmox hookscript against a real QEMU: pre-start binds the hostpci devices of the VM's
# configuration (a slot id meaning all its functions, and a resource mapping naming the two
# e1000 of the bridge group), post-stop waits for QEMU and gives everything back;
# restore --domain gives back only that VM's devices.
# vm-timeout: 240
. "$VM_LIB"

nic1=$VM_BRIDGE_NIC1 nic2=$VM_BRIDGE_NIC2 e1000e=$VM_E1000E
g=$(pci_group "$e1000e")
state=/run/vfioctl/state.json
drivers() { echo "$(pci_driver "$e1000e") $(pci_driver "$nic1") $(pci_driver "$nic2")"; }
domains() { json_get '" ".join(d["address"] + "=" + str(d.get("domain")) for d in j["devices"])' "$state"; }

echo pve-test >/etc/hostname
mkdir -p /etc/pve/qemu-server /etc/pve/mapping
printf 'nics\n\tmap id=8086:100e,node=other,path=%s\n\tmap id=8086:100e,node=pve-test,path=%s;%s\n\tdescription bridge NICs\n' \
    "$nic1" "$nic1" "$nic2" >/etc/pve/mapping/pci.cfg
cat >/etc/pve/qemu-server/100.conf <<CONF
boot: order=scsi0
cores: 1
hostpci0: ${e1000e%.*},pcie=1,x-vga=1
hostpci1: mapping=nics,pcie=1
memory: 64
[pre-upgrade]
hostpci2: 0000:00:04.0
CONF

expect_exit 0 "$VFIOCTL" hook proxmox 100 post-start
expect_exit 0 "$VFIOCTL" hook proxmox 100 pre-start
expect_eq "$(drivers)" "vfio-pci vfio-pci vfio-pci" "drivers after pre-start"
expect_eq "$(domains)" "$e1000e=100 $nic1=100 $nic2=100" "state records the VM"
expect_contains "$LAST_ERR" "proxmox VM 100 pre-start: bound $e1000e to vfio-pci (was e1000e)" "log lines (no /dev/log: stderr)"

# post-stop while QEMU still holds the e1000e: waits for it, then everything goes back.
qemu-system-x86_64 -S -nodefaults -display none -machine q35,accel=tcg -m 64 -monitor none -serial none \
    -device vfio-pci,host="$e1000e" >"$VM_TMP/qemu.out" 2>&1 &
qemu=$!
qemu_holds() { fd_targets "$qemu" | grep -qx "/dev/vfio/$g"; }
wait_until 60 qemu_holds || fail "QEMU never opened /dev/vfio/$g: $(cat "$VM_TMP/qemu.out")"
out=$VM_TMP/post-stop.out
"$VFIOCTL" hook proxmox 100 post-stop --timeout 60s >"$out" 2>&1 &
stop_pid=$!
watching() { fd_targets "$stop_pid" | grep -q pidfd; }
wait_until 60 watching || fail "post-stop never watched QEMU: $(cat "$out")"
expect_eq "$(drivers)" "vfio-pci vfio-pci vfio-pci" "drivers while QEMU is alive"
kill -TERM "$qemu"
wait "$qemu"
wait "$stop_pid"
expect_eq "$?" 0 "post-stop status: $(cat "$out")"
expect_eq "$(drivers)" "e1000e e1000 e1000" "drivers after post-stop"
expect_eq "$(json_get 'len(j["devices"])' "$state")" 0 "records after post-stop"

# restore --domain: only that VM's devices.
expect_exit 0 "$VFIOCTL" hook proxmox 100 pre-start
expect_exit 0 "$VFIOCTL" restore --domain 101
expect_eq "$LAST_OUT" "nothing to restore: /run/vfioctl/state.json records no device bound for domain 101" "restore --domain 101"
expect_exit 0 "$VFIOCTL" restore --domain 100
expect_eq "$(drivers)" "e1000e e1000 e1000" "drivers after restore --domain"

# A configuration naming a device that is not there refuses before anything changes.
printf 'hostpci0: 0000:09:00.0\n' >/etc/pve/qemu-server/102.conf
expect_exit 69 "$VFIOCTL" hook proxmox 102 pre-start
expect_eq "$LAST_ERR" "vfioctl: proxmox VM 102 pre-start: hostpci0: no PCI device 0000:09:00.0 on this host" "missing device"
expect_eq "$(drivers)" "e1000e e1000 e1000" "drivers at the end"
