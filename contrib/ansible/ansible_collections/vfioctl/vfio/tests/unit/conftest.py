"""Fixtures for the module tests: the real vfioctl binary, a sysfs fixture tree for it to read
and write (with --root), and a way to run a module in-process as Ansible would.

VFIOCTL_BIN names the binary (default: the repository's debug build). The tree is built with the
repository's bench/gen_sysfs.py, which writes the attribute files and links the kernel shows.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

import pytest

from ansible.module_utils.testing import patch_module_args

HERE = os.path.dirname(os.path.abspath(__file__))


def repo_root():
    d = HERE
    while d != "/":
        if os.path.exists(os.path.join(d, "bench", "gen_sysfs.py")) and os.path.exists(os.path.join(d, "Package.swift")):
            return d
        d = os.path.dirname(d)
    return None


REPO = os.environ.get("VFIOCTL_REPO") or repo_root()


@pytest.fixture(scope="session")
def vfioctl_bin():
    path = os.environ.get("VFIOCTL_BIN") or (REPO and os.path.join(REPO, ".build", "debug", "vfioctl"))
    if not path or not os.access(path, os.X_OK):
        pytest.fail("no vfioctl binary: set VFIOCTL_BIN (tried %s)" % path)
    return path


def _tree_class():
    if not REPO:
        pytest.fail("cannot find the vfioctl repository (bench/gen_sysfs.py); set VFIOCTL_REPO")
    sys.path.insert(0, os.path.join(REPO, "bench"))
    try:
        from gen_sysfs import Tree  # pylint: disable=import-error
    finally:
        sys.path.pop(0)
    return Tree


# The fixture host, by address: (ids, driver, group, options).
#   0000:01:00.0  NIC alone in group 1, on e1000e              -> bind plans a move
#   0000:02:00.0  GPU on vfio-pci, 0000:02:00.1 audio on snd_hda_intel, group 2 (not viable)
#   0000:03:00.0  NVMe on vfio-pci, open (enable 1), group 3     -> unbind waits, times out
#   0000:04:00.0/.1  two igb ports sharing group 4               -> binding one alone is refused
LAYOUT = [
    ("0000:00:00.0", (0x8086, 0x4660, 0x060000), None, 0, dict(reset=None)),
    ("0000:01:00.0", (0x8086, 0x10D3, 0x020000), "e1000e", 1, {}),
    ("0000:02:00.0", (0x10DE, 0x2204, 0x030000), "vfio-pci", 2, dict(multi=True)),
    ("0000:02:00.1", (0x10DE, 0x1AEF, 0x040300), "snd_hda_intel", 2, dict(multi=True)),
    ("0000:03:00.0", (0x144D, 0xA808, 0x010802), "vfio-pci", 3, dict(enable=1)),
    ("0000:04:00.0", (0x8086, 0x1521, 0x020000), "igb", 4, dict(multi=True)),
    ("0000:04:00.1", (0x8086, 0x1521, 0x020000), "igb", 4, dict(multi=True)),
]


@pytest.fixture
def tree(tmp_path):
    """A host root with the devices of LAYOUT; returns its path."""
    root = str(tmp_path / "root")
    t = _tree_class()(root)
    top = t.sys + "/devices/pci0000:00"
    os.mkdir(top)
    groups = {}
    for address, ids, driver, group, options in LAYOUT:
        while group not in groups:
            groups[t.new_group()] = True
        bus, rest = address.split(":")[1:]
        dev, fn = rest.split(".")
        t.add(top, 0, int(bus, 16), int(dev, 16), int(fn), ids, driver=driver, group=group, **options)
    return root


def sysfs(root, address, attribute):
    with open(os.path.join(root, "sys/bus/pci/devices", address, attribute)) as f:
        return f.read().strip()


def driver_of(root, address):
    link = os.path.join(root, "sys/bus/pci/devices", address, "driver")
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else None


@pytest.fixture
def run_module(capsys, tmp_path):
    """run_module(MODULE, ARGS, check=False, diff=False) -> (failed, result)."""

    def run(module, args, check=False, diff=False):
        args = dict(args)
        args["_ansible_check_mode"] = check
        args["_ansible_diff"] = diff
        args["_ansible_remote_tmp"] = str(tmp_path / "ansible-tmp")
        args["_ansible_keep_remote_files"] = False
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exit_info:
                module.main()
        out = capsys.readouterr().out
        result = json.loads(out)
        failed = bool(result.get("failed"))
        assert failed == (exit_info.value.code != 0), out
        return failed, result

    return run


@pytest.fixture
def stub(tmp_path):
    """stub(DOCUMENT, RC, STDERR='') -> path of an executable that prints DOCUMENT as JSON, writes
    STDERR, records its arguments in ARGS_FILE and exits RC: for outcomes a fixture tree cannot
    produce (a real kernel moving a device, a process holding it)."""

    def make(document, rc, stderr=""):
        path = tmp_path / "vfioctl-stub"
        path.write_text(
            "#!%s\nimport json, sys\nopen(%r, 'w').write(json.dumps(sys.argv[1:]))\n"
            "sys.stdout.write(%r)\nsys.stderr.write(%r)\nsys.exit(%d)\n"
            % (sys.executable, str(tmp_path / "stub-args.json"), json.dumps(document), stderr, rc)
        )
        path.chmod(0o755)
        return str(path)

    return make


@pytest.fixture
def stub_args(tmp_path):
    def read():
        return json.loads((tmp_path / "stub-args.json").read_text())

    return read
