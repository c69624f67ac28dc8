#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vfioctl_apply
short_description: Make a host's PCI drivers match a vfioctl desired-state file
description:
  - Runs C(vfioctl apply) with a desired-state file (see FILES and C(apply) in vfioctl(8)) - a
    file already on the managed host (O(src)), the text of one (O(content)), or, with neither,
    C(/etc/vfioctl.conf) and C(/etc/vfioctl.conf.d/*.conf).
  - Each device the file names is moved with the rules of C(vfioctl bind) or given back with the
    rules of C(vfioctl unbind); a device already right is left alone.
  - The task fails, with vfioctl's messages and its JSON document, unless the host matches the
    file afterwards (an entry refused, failed, timed out waiting for holders, or matching no
    device).
version_added: "0.1.0"
author:
  - vfioctl contributors (!UNKNOWN)
options:
  src:
    description:
      - Path of the desired-state file on the managed host.
      - Mutually exclusive with O(content).
    type: path
  content:
    description:
      - The desired-state file's text; written to a temporary file on the managed host for the run.
      - Mutually exclusive with O(src).
    type: str
  timeout:
    description:
      - How long to wait for holders when the file does not say (C(--timeout)); vfioctl's
        default is 30 seconds.
    type: str
  root:
    description:
      - Read and write C(/sys), C(/proc), C(/dev), C(/run) and C(/etc) under this directory
        (C(--root)), for tests on fixture trees. O(src) is a path on the host, not under it.
    type: path
notes:
  - Check mode runs C(vfioctl apply --dry-run) and reports what would move.
  - Diff mode shows the driver of each device the file names before and after.
seealso:
  - module: vfioctl.vfio.vfioctl_device
extends_documentation_fragment:
  - vfioctl.vfio.vfioctl
  - vfioctl.vfio.vfioctl.changes
"""

EXAMPLES = r"""
- name: Install the desired state
  ansible.builtin.copy:
    dest: /etc/vfioctl.conf
    content: |
      [device 0000:01:00.0]
      driver = vfio-pci
      group = whole

- name: Make the host match it
  vfioctl.vfio.vfioctl_apply:

- name: Apply a state given inline, waiting up to a minute for holders
  vfioctl.vfio.vfioctl_apply:
    timeout: 1m
    content: |
      [ids 8086:154c]
      driver = vfio-pci
      count = 2
"""

RETURN = r"""
vfioctl:
  description:
    - vfioctl's apply document (devices with from, to, status, message and source; unmatched
      entries; matches), or the error document when the file could not be used.
  returned: always
  type: dict
devices:
  description: Each device the file names, its driver before and after (in check mode - where it would go).
  returned: always
  type: list
  elements: dict
cmd:
  description: The vfioctl command line that was run.
  returned: always
  type: list
  elements: str
outcome:
  description: What vfioctl's exit status means (C(refused), C(timeout), C(failed), ...).
  returned: failure
  type: str
rc:
  description: vfioctl's exit status.
  returned: failure
  type: int
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vfioctl.vfio.plugins.module_utils.vfioctl import COMMON_ARGUMENT_SPEC, Vfioctl, apply_moves, diff_of


def main():
    argument_spec = dict(
        src=dict(type="path"),
        content=dict(type="str"),
        timeout=dict(type="str"),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, mutually_exclusive=[("src", "content")])
    params = module.params
    vfioctl = Vfioctl(module)

    args = []
    if params["timeout"] is not None:
        args += ["--timeout", params["timeout"]]
    if module.check_mode:
        args.append("--dry-run")

    temp = None
    try:
        if params["content"] is not None:
            fd, temp = tempfile.mkstemp(prefix="vfioctl-apply-", suffix=".conf", dir=module.tmpdir)
            with os.fdopen(fd, "w") as f:
                f.write(params["content"])
            args += ["--", temp]
        elif params["src"]:
            args += ["--", params["src"]]
        result = vfioctl.run("apply", args)
    finally:
        if temp:
            os.unlink(temp)

    document = result.document
    moves = apply_moves(document) if "devices" in document else []
    devices = [dict(address=a, before=b, after=c) for a, b, c in moves]
    diff = diff_of(moves) if module._diff else None
    if not result.ok:
        extra = dict(devices=devices)
        if diff:
            extra["diff"] = diff
        vfioctl.fail(result, **extra)

    statuses = [d.get("status") for d in document.get("devices") or []]
    changed = "planned" in statuses if module.check_mode else "changed" in statuses
    out = dict(changed=changed, cmd=result.argv, vfioctl=document, devices=devices)
    if diff:
        out["diff"] = diff
    module.exit_json(**out)


if __name__ == "__main__":
    main()
