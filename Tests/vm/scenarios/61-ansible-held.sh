# A device a VFIO user holds: vfioctl.vfio.vfioctl_facts names the holder, and vfioctl_device
# giving the device back fails after its timeout with vfioctl's message naming the holder, the
# holders and vfioctl's document in the result; the device stays on vfio-pci, still held.
# vm-timeout: 480
# vm-kernels: 6.12  (the modules drive vfioctl, whose kernel behaviour the other scenarios check on both kernels; Ansible costs minutes of guest time)
. "$VM_LIB"
. "$VM_REPO/Tests/vm/ansible.sh"

bdf=$VM_E1000E
expect_exit 0 "$VFIOCTL" bind "$bdf"
holder_start "$bdf"
g=$(pci_group "$bdf")

cat >"$VM_TMP/held.yml" <<'YAML'
- hosts: localhost
  gather_facts: false
  vars:
    nic: "{{ lookup('env', 'VM_E1000E') }}"
  tasks:
    - name: facts
      vfioctl.vfio.vfioctl_facts:
        binary: "{{ vfioctl }}"
    - name: give back a held NIC
      vfioctl.vfio.vfioctl_device:
        binary: "{{ vfioctl }}"
        target: "{{ nic }}"
        state: host
        timeout: 2s
      register: held
      ignore_errors: true
    - assert:
        that:
          - held.failed
          - not held.changed
          - held.rc == 3 and held.outcome == 'timeout'
          - held.vfioctl.timedOut and held.vfioctl.waitedSeconds >= 2
          - held.holders | map(attribute='pid') | list == [holder | int]
          - "held.msg is search(nic ~ ' is held by pid ' ~ holder ~ ' \\(holder\\) through /dev/vfio/' ~ group)"
          - ansible_facts.vfioctl.iommu_enabled
          - ansible_facts.vfioctl.drivers[nic] == 'vfio-pci'
          - ansible_facts.vfioctl.verdicts[group | string].viable
          - ansible_facts.vfioctl.holders[nic].state == 'held'
          - ansible_facts.vfioctl.holders[nic].pids == [holder | int]
          - ansible_facts.vfioctl.holder_processes | map(attribute='command') | list == ['holder']
YAML

playbook "$VM_TMP/held.yml" -e "holder=$HOLDER_PID" -e "group=$g"
expect_eq "$LAST_RC" 0 "ansible-playbook exit status (output: $(printf '%s' "$LAST_OUT" | grep -E 'FAILED|fatal|msg' | head -n 8))"
expect_eq "$(recap)" "ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1" "play recap"
expect_contains "$LAST_OUT" "is held by pid $HOLDER_PID (holder)" "the failed task's message"
expect_eq "$(pci_driver "$bdf")" vfio-pci "NIC while held"
kill -0 "$HOLDER_PID" || fail "the holder is gone"
holder_stop
expect_exit 0 "$VFIOCTL" unbind "$bdf" --timeout 10
expect_eq "$(pci_driver "$bdf")" e1000e "NIC at the end"
