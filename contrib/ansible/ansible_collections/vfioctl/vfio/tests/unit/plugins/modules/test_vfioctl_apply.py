"""vfioctl_apply against the real vfioctl on a fixture tree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.vfioctl.vfio.plugins.modules import vfioctl_apply

from conftest import driver_of, sysfs

MATCHING = "[device 0000:02:00.0]\ndriver = vfio-pci\n\n[device 0000:04:00.0]\ndriver = igb\n"
MOVING = "[device 0000:01:00.0]\ndriver = vfio-pci\n\n[device 0000:02:00.0]\ndriver = vfio-pci\n"


def test_a_matching_file_is_ok(run_module, vfioctl_bin, tree, tmp_path):
    src = tmp_path / "state.conf"
    src.write_text(MATCHING)
    failed, r = run_module(vfioctl_apply, dict(binary=vfioctl_bin, root=tree, src=str(src)), diff=True)
    assert not failed and r["changed"] is False
    assert r["vfioctl"]["matches"] is True
    assert [d["status"] for d in r["vfioctl"]["devices"]] == ["unchanged", "unchanged"]
    assert r["diff"]["before"] == r["diff"]["after"] == "0000:02:00.0: vfio-pci\n0000:04:00.0: igb\n"


def test_check_mode_reports_the_planned_move(run_module, vfioctl_bin, tree):
    failed, r = run_module(vfioctl_apply, dict(binary=vfioctl_bin, root=tree, content=MOVING), check=True, diff=True)
    assert not failed and r["changed"] is True
    assert "--dry-run" in r["cmd"]
    assert r["diff"] == dict(before="0000:01:00.0: e1000e\n0000:02:00.0: vfio-pci\n",
                             after="0000:01:00.0: vfio-pci\n0000:02:00.0: vfio-pci\n")
    assert driver_of(tree, "0000:01:00.0") == "e1000e"
    assert sysfs(tree, "0000:01:00.0", "driver_override") == "(null)"
    # The inline content went through a temporary file, removed afterwards.
    assert not os.path.exists(r["cmd"][-1])


def test_a_failed_entry_fails_with_its_message(run_module, vfioctl_bin, tree):
    failed, r = run_module(vfioctl_apply, dict(binary=vfioctl_bin, root=tree, content=MOVING))
    assert failed and r["rc"] == 1 and r["outcome"] == "failed"
    assert r["msg"].startswith("bind failed: 0000:01:00.0: expected driver vfio-pci")
    assert [d["status"] for d in r["vfioctl"]["devices"]] == ["failed", "unchanged"]
    assert r["devices"][0] == dict(address="0000:01:00.0", before="e1000e", after="e1000e")


def test_refused_and_unmatched_entries(run_module, vfioctl_bin, tree):
    content = "[device 0000:04:00.0]\ndriver = vfio-pci\n\n[device 0000:07:00.0]\ndriver = vfio-pci\n"
    failed, r = run_module(vfioctl_apply, dict(binary=vfioctl_bin, root=tree, content=content))
    assert failed and r["rc"] == 2 and r["outcome"] == "refused"
    assert r["vfioctl"]["devices"][0]["status"] == "refused"
    assert "0000:04:00.1" in r["msg"]
    assert "no PCI device 0000:07:00.0" in r["msg"]
    assert driver_of(tree, "0000:04:00.0") == "igb"


def test_a_timeout_fails(run_module, vfioctl_bin, tree):
    content = "[defaults]\ntimeout = 300ms\n\n[device 0000:03:00.0]\ndriver = none\n"
    failed, r = run_module(vfioctl_apply, dict(binary=vfioctl_bin, root=tree, content=content))
    assert failed and r["rc"] == 3 and r["outcome"] == "timeout"
    assert "0000:03:00.0 is open" in r["msg"]


def test_a_bad_file_is_a_usage_error(run_module, vfioctl_bin, tree, tmp_path):
    failed, r = run_module(vfioctl_apply, dict(binary=vfioctl_bin, root=tree, content="[device 0000:01:00.0]\ncolour = red\n"))
    assert failed and r["rc"] == 64 and r["outcome"] == "usage"
    assert r["msg"] == r["vfioctl"]["error"]["message"]
    failed, r = run_module(vfioctl_apply, dict(binary=vfioctl_bin, root=tree, src=str(tmp_path / "missing.conf")))
    assert failed and r["rc"] == 64 and "missing.conf" in r["msg"]


def test_src_and_content_exclude_each_other(run_module, vfioctl_bin, tree):
    failed, r = run_module(vfioctl_apply, dict(binary=vfioctl_bin, root=tree, src="/x", content="y"))
    assert failed and "mutually exclusive" in r["msg"]


def test_without_a_file_the_default_config_under_the_root(run_module, vfioctl_bin, tree):
    with open(os.path.join(tree, "etc", "vfioctl.conf"), "w") as f:
        f.write(MATCHING)
    failed, r = run_module(vfioctl_apply, dict(binary=vfioctl_bin, root=tree, timeout="1s"))
    assert not failed and r["changed"] is False
    assert r["cmd"][-2:] == ["--timeout", "1s"]
    assert [d["address"] for d in r["vfioctl"]["devices"]] == ["0000:02:00.0", "0000:04:00.0"]
