# vfioctl.vfio.vfioctl_device in a playbook run with `ansible-playbook -c local` on the guest:
# a bind reports changed and moves the device, with the diff of its driver; the same task again
# is ok; check mode on a device still on its host driver reports the move and changes nothing.
# One playbook run, three module tasks: Ansible starts slowly under TCG (about 15 s) and each
# module task costs 10 s or more, most of it Python compiling the module_utils bundled with the
# module (imported from a zip, so never cached). Giving a device back is scenario 61's.
# vm-timeout: 480
# vm-kernels: 6.12  (the modules drive vfioctl, whose kernel behaviour the other scenarios check on both kernels; Ansible costs minutes of guest time)
. "$VM_LIB"
. "$VM_REPO/Tests/vm/ansible.sh"

cat >"$VM_TMP/device.yml" <<'YAML'
- hosts: localhost
  gather_facts: false
  vars:
    nic: "{{ lookup('env', 'VM_E1000E') }}"
    other: "{{ lookup('env', 'VM_MF_NIC') }}"
  tasks:
    - name: bind the NIC
      vfioctl.vfio.vfioctl_device:
        binary: "{{ vfioctl }}"
        target: "{{ nic }}"
      register: bind1
      diff: true
    - name: bind it again
      vfioctl.vfio.vfioctl_device:
        binary: "{{ vfioctl }}"
        target: "{{ nic }}"
      register: bind2
    - name: check mode on a device on its host driver
      vfioctl.vfio.vfioctl_device:
        binary: "{{ vfioctl }}"
        target: "{{ other }}"
        group: true
      check_mode: true
      diff: true
      register: dry
    - assert:
        that:
          - bind1.changed
          - bind1.vfioctl.command == 'bind' and bind1.vfioctl.changed
          - "bind1.devices == [dict(address=nic, before='e1000e', after='vfio-pci')]"
          - "bind1.diff.before == nic ~ ': e1000e\n' and bind1.diff.after == nic ~ ': vfio-pci\n'"
          - not bind2.changed
          - bind2.vfioctl.devices[0].reason == 'already-bound'
          - dry.changed
          - dry.vfioctl.dryRun
          - "dry.diff.before is search(other ~ ': e1000\n')"
          - "dry.diff.after is search(other ~ ': vfio-pci\n')"
YAML

playbook "$VM_TMP/device.yml"
expect_eq "$LAST_RC" 0 "ansible-playbook exit status (output: $(printf '%s' "$LAST_OUT" | grep -E 'FAILED|fatal|msg' | head -n 8))"
# Three module tasks and an assert; the bind and the check-mode task changed.
expect_eq "$(recap)" "ok=4 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0" "play recap"
expect_contains "$LAST_OUT" "-$VM_E1000E: e1000e" "diff output"
expect_contains "$LAST_OUT" "+$VM_E1000E: vfio-pci" "diff output"
# Check mode changed nothing.
expect_eq "$(pci_driver "$VM_MF_NIC")" e1000 "MF NIC after check mode"
expect_eq "$(pci_driver "$VM_MF_AUDIO")" snd_hda_intel "MF audio after check mode"
expect_eq "$(cat "/sys/bus/pci/devices/$VM_MF_NIC/driver_override")" "(null)" "MF NIC override after check mode"
expect_eq "$(pci_driver "$VM_E1000E")" vfio-pci "NIC at the end"
expect_file "/dev/vfio/$(pci_group "$VM_E1000E")"
