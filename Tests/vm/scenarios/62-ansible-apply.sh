# vfioctl.vfio.vfioctl_apply with a desired-state file on the guest: the first run moves the
# devices it names (changed, the diff of their drivers), the second changes nothing (ok); check
# mode with inline content that gives them back reports the move and changes nothing.
# vm-timeout: 480
# vm-kernels: 6.12  (the modules drive vfioctl, whose kernel behaviour the other scenarios check on both kernels; Ansible costs minutes of guest time)
. "$VM_LIB"
. "$VM_REPO/Tests/vm/ansible.sh"

cat >"$VM_TMP/vfio.conf" <<CONF
[device $VM_E1000E]
driver = vfio-pci

[device $VM_MF_NIC]
driver = vfio-pci
group = whole
CONF

cat >"$VM_TMP/apply.yml" <<'YAML'
- hosts: localhost
  gather_facts: false
  vars:
    nic: "{{ lookup('env', 'VM_E1000E') }}"
    mf: "{{ lookup('env', 'VM_MF_NIC') }}"
    host_state: |
      [device {{ nic }}]
      driver = host

      [device {{ mf }}]
      driver = host
      group = whole
  tasks:
    - name: apply the file
      vfioctl.vfio.vfioctl_apply:
        binary: "{{ vfioctl }}"
        src: "{{ conf }}"
      diff: true
      register: first
    - name: apply it again
      vfioctl.vfio.vfioctl_apply:
        binary: "{{ vfioctl }}"
        src: "{{ conf }}"
      register: second
    - name: check mode, giving them back
      vfioctl.vfio.vfioctl_apply:
        binary: "{{ vfioctl }}"
        content: "{{ host_state }}"
      check_mode: true
      diff: true
      register: dry
    - assert:
        that:
          - first.changed and first.vfioctl.matches
          - first.vfioctl.devices | map(attribute='status') | unique == ['changed']
          - "first.diff.before is search(nic ~ ': e1000e\n')"
          - "first.diff.after is search(nic ~ ': vfio-pci\n')"
          - not second.changed and second.vfioctl.matches
          - second.vfioctl.devices | map(attribute='status') | unique == ['unchanged']
          - dry.changed and dry.vfioctl.dryRun
          - dry.vfioctl.devices | map(attribute='status') | unique == ['planned']
          - "dry.diff.before is search(nic ~ ': vfio-pci\n')"
          - "dry.diff.after is search(nic ~ ': (host|e1000e)\n')"
YAML

playbook "$VM_TMP/apply.yml" -e "conf=$VM_TMP/vfio.conf"
expect_eq "$LAST_RC" 0 "ansible-playbook exit status (output: $(printf '%s' "$LAST_OUT" | grep -E 'FAILED|fatal|msg' | head -n 8))"
expect_eq "$(recap)" "ok=4 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0" "play recap"
# The file was applied (group = whole took the audio function too), and check mode left it so.
expect_eq "$(pci_driver "$VM_E1000E")" vfio-pci "NIC at the end"
expect_eq "$(pci_driver "$VM_MF_NIC")" vfio-pci "MF NIC at the end"
expect_eq "$(pci_driver "$VM_MF_AUDIO")" vfio-pci "MF audio at the end"
