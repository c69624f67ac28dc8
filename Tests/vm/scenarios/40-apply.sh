# vfioctl apply on a real kernel: from an empty state, again (nothing changes), with an entry that
# cannot be satisfied (refused, the others applied, exit 2), and as the boot unit runs it.
# vm-timeout: 300
. "$VM_LIB"

cat >/etc/vfioctl.conf <<CONF
[device $VM_E1000E]
driver = vfio-pci

[device $VM_MF_NIC]
driver = vfio-pci
group = whole
CONF

run "$VFIOCTL" apply --json
expect_eq "$LAST_RC" 0 "apply from an empty state"
expect_eq "$(json_get 'j["matches"]' <<<"$LAST_OUT")" true "matches"
expect_eq "$(pci_driver "$VM_E1000E")" vfio-pci "e1000e after apply"
expect_eq "$(pci_driver "$VM_MF_NIC")" vfio-pci "MF NIC after apply"
expect_eq "$(pci_driver "$VM_MF_AUDIO")" vfio-pci "MF audio (group = whole) after apply"
expect_file "/dev/vfio/$(pci_group "$VM_E1000E")"
expect_contains "$(cat /run/vfioctl/state.json)" '"originalDriver" : "e1000e"' "state file"

# Again: nothing to do, nothing written.
run "$VFIOCTL" apply
expect_eq "$LAST_RC" 0 "re-apply"
expect_contains "$LAST_OUT" "0 changed, 2 unchanged" "re-apply summary"

# One entry cannot be satisfied: a NIC behind the bridge alone (its sibling stays on e1000).
mkdir -p /etc/vfioctl.conf.d
cat >/etc/vfioctl.conf.d/20-extra.conf <<CONF
[device $VM_BRIDGE_NIC1]
driver = vfio-pci

[device $VM_NVME_SRIOV]
driver = vfio-pci
CONF
run "$VFIOCTL" apply --json
expect_eq "$LAST_RC" 2 "apply with an unsatisfiable entry"
expect_eq "$(json_get '[d["status"] for d in j["devices"] if d["address"]=="'"$VM_BRIDGE_NIC1"'"][0]' <<<"$LAST_OUT")" refused "bridge NIC status"
expect_eq "$(json_get '[d["status"] for d in j["devices"] if d["address"]=="'"$VM_NVME_SRIOV"'"][0]' <<<"$LAST_OUT")" changed "SR-IOV NVMe status"
expect_eq "$(pci_driver "$VM_BRIDGE_NIC1")" e1000 "refused NIC untouched"
expect_eq "$(pci_driver "$VM_NVME_SRIOV")" vfio-pci "other entry applied"
rm -f /etc/vfioctl.conf.d/20-extra.conf

# The boot unit's command line, as installed.
cmd=$(sed -n 's|^ExecStart=@SBINDIR@/vfioctl||p' "$VM_REPO/dist/vfioctl-apply.service")
expect_eq "$cmd" " apply" "unit ExecStart"
run "$VFIOCTL" $cmd
expect_eq "$LAST_RC" 0 "apply as the boot unit runs it"
