#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vfioctl_facts
short_description: PCI devices, IOMMU groups, drivers and VFIO holders as facts
description:
  - Reads the host's PCI functions and IOMMU groups with C(vfioctl list --json), and who holds
    the VFIO-bound ones with C(vfioctl holders --json), and sets them as the fact C(vfioctl).
  - Changes nothing.
version_added: "0.1.0"
author:
  - vfioctl contributors (!UNKNOWN)
options:
  holders:
    description:
      - Also scan for the processes holding VFIO-bound functions (one C(vfioctl holders) run,
        which reads every process's descriptors).
    type: bool
    default: true
  root:
    description:
      - Read C(/sys), C(/proc) and C(/dev) under this directory (C(--root)), for fixture trees
        and rescue systems.
    type: path
seealso:
  - module: vfioctl.vfio.vfioctl_device
attributes:
  check_mode:
    description: Only reads, so check mode runs it as usual.
    support: full
  diff_mode:
    description: Nothing changes, so there is nothing to show.
    support: none
  facts:
    description: Sets the fact C(vfioctl).
    support: full
extends_documentation_fragment:
  - vfioctl.vfio.vfioctl
"""

EXAMPLES = r"""
- name: Gather VFIO facts
  vfioctl.vfio.vfioctl_facts:

- name: Show the groups that cannot be passed through, and why
  ansible.builtin.debug:
    msg: "group {{ item.key }}: {{ item.value.blockers | map(attribute='reason') | list }}"
  loop: "{{ ansible_facts.vfioctl.verdicts | dict2items | rejectattr('value.viable') }}"

- name: Fail when the GPU is not on vfio-pci
  ansible.builtin.assert:
    that: ansible_facts.vfioctl.drivers['0000:01:00.0'] == 'vfio-pci'
"""

RETURN = r"""
ansible_facts:
  description: Facts about PCI functions, IOMMU groups and VFIO holders.
  returned: always
  type: complex
  contains:
    vfioctl:
      description: What vfioctl reports.
      type: complex
      contains:
        iommu_enabled:
          description: Whether the host has IOMMU groups.
          type: bool
        devices:
          description: Every PCI function, as C(vfioctl list --json) prints it (address, ids, names, driver, iommuGroup, vfioBound, ...).
          type: list
          elements: dict
        groups:
          description: Every IOMMU group, as C(vfioctl list --json) prints it (id, devices, viable, blockers, ...).
          type: list
          elements: dict
        drivers:
          description: Address of each function to the driver it is bound to (null when unbound).
          type: dict
        verdicts:
          description: Group number (a string) to whether the group can be handed to VFIO, and the members that keep it from that.
          type: dict
        holders:
          description:
            - Address of each VFIO-bound function to its state (held, free, open-unattributed, ...)
              and the pids holding it; empty when O(holders=false).
          type: dict
        holder_processes:
          description: The processes holding VFIO-bound functions (pid, command, vmName, unit, handles, ...).
          type: list
          elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vfioctl.vfio.plugins.module_utils.vfioctl import COMMON_ARGUMENT_SPEC, Vfioctl


def facts_from(listing, holding):
    """The fact dictionary from a list document and a holders document (or None)."""
    devices = listing.get("devices") or []
    groups = listing.get("groups") or []
    facts = dict(
        iommu_enabled=bool(listing.get("iommuEnabled")),
        devices=devices,
        groups=groups,
        drivers=dict((d["address"], d.get("driver")) for d in devices),
        verdicts=dict(
            (str(g["id"]), dict(viable=bool(g.get("viable")), devices=g.get("devices") or [], blockers=g.get("blockers") or []))
            for g in groups
        ),
        holders={},
        holder_processes=[],
    )
    if holding:
        for target in holding.get("targets") or []:
            facts["holders"][target["address"]] = dict(state=target.get("state"), pids=target.get("holders") or [])
        facts["holder_processes"] = holding.get("holders") or []
    return facts


def main():
    argument_spec = dict(holders=dict(type="bool", default=True))
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    vfioctl = Vfioctl(module)

    listing = vfioctl.run("list")
    if not listing.ok:
        vfioctl.fail(listing)
    holding = None
    bound = [d["address"] for d in listing.document.get("devices") or [] if d.get("vfioBound")]
    if module.params["holders"] and bound:
        result = vfioctl.run("holders", ["--"] + bound)
        if not result.ok:
            vfioctl.fail(result)
        holding = result.document
    module.exit_json(changed=False, ansible_facts=dict(vfioctl=facts_from(listing.document, holding)))


if __name__ == "__main__":
    main()
