# -*- coding: utf-8 -*-

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # What every module of the collection takes: the vfioctl executable it drives.
    DOCUMENTATION = r"""
options:
  binary:
    description:
      - The vfioctl executable - a path, or a name looked up on E(PATH) and in the sbin directories.
    type: path
    default: vfioctl
requirements:
  - vfioctl on the managed host
"""

    # The modules that change bindings: check mode is vfioctl's dry run, diff mode the drivers.
    CHANGES = r"""
attributes:
  check_mode:
    description: Runs vfioctl with C(--dry-run), which changes nothing and reports what would move.
    support: full
  diff_mode:
    description: Shows each device's driver before and after.
    support: full
"""
