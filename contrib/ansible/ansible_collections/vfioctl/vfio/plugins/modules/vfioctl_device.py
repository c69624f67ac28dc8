#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vfioctl_device
short_description: Give PCI devices to VFIO or back to the host with vfioctl
description:
  - Moves PCI functions to C(vfio-pci) (or a VFIO variant driver) with C(vfioctl bind), or gives
    them back to their host driver with C(vfioctl unbind), with vfioctl's safety checks
    (IOMMU group viability, devices in use by the host, processes holding the device).
  - The module talks to vfioctl only through C(--json) and its exit status.
  - A device already in the requested state is left alone and the task reports C(ok).
  - A refusal (exit 2), a time-out waiting for holders (exit 3) or any other failure fails the
    task with vfioctl's own message, the holders it named and its JSON document.
version_added: "0.1.0"
author:
  - vfioctl contributors (!UNKNOWN)
options:
  target:
    description:
      - What to move, as vfioctl takes it - a PCI address (V(0000:01:00.0) or V(01:00.0)),
        V(group:N) for every function of IOMMU group N, or V(vendor:device) ids.
      - A list moves all of them in one vfioctl run (one transaction).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(vfio) binds the functions to a VFIO driver (C(vfioctl bind)).
      - V(host) gives them back to the host (C(vfioctl unbind)), to the driver they had before
        vfioctl moved them unless O(driver) names another.
    type: str
    choices: [vfio, host]
    default: vfio
  driver:
    description:
      - With O(state=vfio), the VFIO driver to bind to (C(--driver)); vfioctl's default is
        C(vfio-pci).
      - With O(state=host), the host driver to bind instead of the recorded one, or V(none) to
        leave the functions unbound (C(--to)).
    type: str
  group:
    description:
      - Also move the other members of each function's IOMMU group (C(--group)), so that the
        group stays viable.
    type: bool
    default: false
  timeout:
    description:
      - With O(state=host), how long to wait for processes holding the devices (C(--timeout)),
        as vfioctl takes a duration - V(30), V(30s), V(500ms), V(2m). V(0) does not wait.
      - vfioctl's default is 30 seconds.
    type: str
  force:
    description:
      - With O(state=vfio), bind even when the host uses the function (C(--force)); see
        vfioctl(8) for what is never forced.
    type: bool
    default: false
  owner:
    description:
      - With O(state=vfio), give the group node and device nodes to C(USER) or C(USER:GROUP)
        (C(--owner)).
    type: str
  root:
    description:
      - Read and write C(/sys), C(/proc), C(/dev), C(/run) and C(/etc) under this directory
        (C(--root)), for tests on fixture trees and rescue systems.
    type: path
notes:
  - Check mode runs vfioctl with C(--dry-run) and reports what would move.
  - Diff mode shows the driver of each named device before and after.
seealso:
  - module: vfioctl.vfio.vfioctl_apply
  - module: vfioctl.vfio.vfioctl_facts
extends_documentation_fragment:
  - vfioctl.vfio.vfioctl
  - vfioctl.vfio.vfioctl.changes
"""

EXAMPLES = r"""
- name: Give the GPU and its audio function to vfio-pci
  vfioctl.vfio.vfioctl_device:
    target: "0000:01:00.0"
    group: true

- name: Give them back to the host once the VM has let go, waiting up to two minutes
  vfioctl.vfio.vfioctl_device:
    target: "0000:01:00.0"
    state: host
    group: true
    timeout: 2m

- name: Bind every function of IOMMU group 12 to a variant driver
  vfioctl.vfio.vfioctl_device:
    target: group:12
    driver: mlx5_vfio_pci
"""

RETURN = r"""
vfioctl:
  description:
    - vfioctl's JSON document for the run - the bind document (C(bind --json)) or the release
      document (C(unbind --json)), or on a failure the error document; see
      C(schema/vfioctl.schema.json).
  returned: always
  type: dict
devices:
  description: Each named device's driver before and after (after - where it would go, in check mode).
  returned: success
  type: list
  elements: dict
  contains:
    address:
      description: PCI address.
      type: str
    before:
      description: Driver before the run, null when unbound.
      type: str
    after:
      description: Driver after the run, null when unbound.
      type: str
cmd:
  description: The vfioctl command line that was run.
  returned: always
  type: list
  elements: str
holders:
  description:
    - On a time-out, the processes that still held the devices (pid, command, handles), as
      vfioctl reported them.
  returned: failure
  type: list
  elements: dict
refusals:
  description: On a refusal, each reason vfioctl gave (kind, address, message, remedy).
  returned: failure
  type: list
  elements: dict
outcome:
  description:
    - What vfioctl's exit status means - C(refused), C(timeout), C(failed), C(rollback-failed),
      C(usage), C(unavailable), C(internal) or C(permission-denied).
  returned: failure
  type: str
rc:
  description: vfioctl's exit status.
  returned: failure
  type: int
warnings_vfioctl:
  description: vfioctl's warnings (for example a group left not viable).
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vfioctl.vfio.plugins.module_utils.vfioctl import (
    COMMON_ARGUMENT_SPEC,
    Vfioctl,
    bind_moves,
    diff_of,
    plan_changes,
    release_moves,
)


def command_line(params, check_mode):
    """The vfioctl subcommand and arguments for these options."""
    args = []
    if params["state"] == "vfio":
        command = "bind"
        if params["driver"]:
            args += ["--driver", params["driver"]]
        if params["force"]:
            args.append("--force")
        if params["owner"]:
            args += ["--owner", params["owner"]]
    else:
        command = "unbind"
        if params["driver"]:
            args += ["--to", params["driver"]]
        if params["timeout"] is not None:
            args += ["--timeout", params["timeout"]]
    if params["group"]:
        args.append("--group")
    if check_mode:
        args.append("--dry-run")
    # "--" so that a target can never be read as an option.
    return command, args + ["--"] + list(params["target"])


def main():
    argument_spec = dict(
        target=dict(type="list", elements="str", required=True),
        state=dict(type="str", choices=["vfio", "host"], default="vfio"),
        driver=dict(type="str"),
        group=dict(type="bool", default=False),
        timeout=dict(type="str"),
        force=dict(type="bool", default=False),
        owner=dict(type="str"),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not params["target"]:
        module.fail_json(msg="target must name at least one device or group")
    if params["state"] == "vfio" and params["timeout"] is not None:
        module.fail_json(msg="timeout applies to state=host only (a bind does not wait for holders)")
    if params["state"] == "host" and (params["force"] or params["owner"]):
        module.fail_json(msg="force and owner apply to state=vfio only")

    vfioctl = Vfioctl(module)
    command, args = command_line(params, module.check_mode)
    result = vfioctl.run(command, args)
    if not result.ok:
        vfioctl.fail(result)

    document = result.document
    if command == "bind":
        moves = bind_moves(document)
    else:
        moves = release_moves(document)
    if module.check_mode:
        changed = plan_changes(document)
    else:
        changed = bool(document.get("changed"))
    out = dict(
        changed=changed,
        cmd=result.argv,
        vfioctl=document,
        devices=[dict(address=a, before=b, after=c) for a, b, c in moves],
        warnings_vfioctl=document.get("warnings") or [],
    )
    if module._diff:
        out["diff"] = diff_of(moves)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
