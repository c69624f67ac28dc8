"""vfioctl_device against the real vfioctl on a fixture tree, and against a stub for the
outcomes only a kernel or a holding process produce."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vfioctl.vfio.plugins.modules import vfioctl_device
from ansible_collections.vfioctl.vfio.plugins.module_utils.vfioctl import bind_moves, plan_changes, release_moves

from conftest import driver_of, sysfs


def args(vfioctl_bin, tree, **kw):
    kw.update(binary=vfioctl_bin, root=tree)
    return kw


def test_check_mode_plans_the_bind_and_writes_nothing(run_module, vfioctl_bin, tree):
    failed, r = run_module(vfioctl_device, args(vfioctl_bin, tree, target="0000:01:00.0"), check=True, diff=True)
    assert not failed
    assert r["changed"] is True
    assert "--dry-run" in r["cmd"]
    assert r["vfioctl"]["command"] == "bind" and r["vfioctl"]["dryRun"] is True
    assert r["devices"] == [dict(address="0000:01:00.0", before="e1000e", after="vfio-pci")]
    assert r["diff"] == dict(before="0000:01:00.0: e1000e\n", after="0000:01:00.0: vfio-pci\n")
    assert [s["kind"] for s in r["vfioctl"]["steps"]][-1] == "verify"
    assert driver_of(tree, "0000:01:00.0") == "e1000e"
    assert sysfs(tree, "0000:01:00.0", "driver_override") == "(null)"


def test_already_bound_is_ok_not_changed(run_module, vfioctl_bin, tree):
    for check in (False, True):
        failed, r = run_module(vfioctl_device, args(vfioctl_bin, tree, target="02:00.0"), check=check, diff=True)
        assert not failed
        assert r["changed"] is False
        assert r["devices"] == [dict(address="0000:02:00.0", before="vfio-pci", after="vfio-pci")]
        assert r["diff"]["before"] == r["diff"]["after"]
        # vfioctl's warning that the group stays not viable is passed on.
        assert any("group 2 is not viable" in w for w in r["warnings_vfioctl"])


def test_refusal_fails_with_vfioctls_reasons(run_module, vfioctl_bin, tree):
    failed, r = run_module(vfioctl_device, args(vfioctl_bin, tree, target="0000:04:00.0"))
    assert failed
    assert r["rc"] == 2 and r["outcome"] == "refused"
    assert r["msg"] == r["vfioctl"]["error"]["message"]
    assert [(x["kind"], x["address"]) for x in r["refusals"]] == [("group-not-viable", "0000:04:00.1")]
    assert "--group" in r["refusals"][0]["remedy"]
    assert driver_of(tree, "0000:04:00.0") == "igb"


def test_group_option_moves_the_peer_in_the_plan(run_module, vfioctl_bin, tree):
    failed, r = run_module(vfioctl_device, args(vfioctl_bin, tree, target="0000:04:00.0", group=True), check=True, diff=True)
    assert not failed and r["changed"] is True
    assert "--group" in r["cmd"]
    assert r["diff"]["after"] == "0000:04:00.0: vfio-pci\n0000:04:00.1: vfio-pci\n"


def test_bind_the_kernel_does_not_take_fails_rolled_back(run_module, vfioctl_bin, tree):
    # A fixture tree has no kernel: the writes land in plain files, the driver link never
    # changes, and vfioctl rolls back and exits 1.
    failed, r = run_module(vfioctl_device, args(vfioctl_bin, tree, target="0000:01:00.0"))
    assert failed
    assert r["rc"] == 1 and r["outcome"] == "failed"
    assert "rolled back" in r["msg"] and r["msg"] == r["vfioctl"]["error"]["message"]
    assert sysfs(tree, "0000:01:00.0", "driver_override") == ""


def test_release_of_a_device_on_the_host_is_ok(run_module, vfioctl_bin, tree):
    failed, r = run_module(vfioctl_device, args(vfioctl_bin, tree, target="0000:01:00.0", state="host"), diff=True)
    assert not failed and r["changed"] is False
    assert r["vfioctl"]["command"] == "unbind"
    assert r["devices"] == [dict(address="0000:01:00.0", before="e1000e", after="e1000e")]


def test_release_check_mode(run_module, vfioctl_bin, tree):
    failed, r = run_module(vfioctl_device, args(vfioctl_bin, tree, target="0000:02:00.0", state="host", driver="none"),
                           check=True, diff=True)
    assert not failed and r["changed"] is True
    assert r["cmd"][1:3] + r["cmd"][5:] == ["unbind", "--json", "--to", "none", "--dry-run", "--", "0000:02:00.0"]
    assert r["diff"] == dict(before="0000:02:00.0: vfio-pci\n", after="0000:02:00.0: none\n")
    assert driver_of(tree, "0000:02:00.0") == "vfio-pci"


def test_release_of_an_open_device_times_out(run_module, vfioctl_bin, tree):
    failed, r = run_module(vfioctl_device, args(vfioctl_bin, tree, target="0000:03:00.0", state="host", timeout="300ms"))
    assert failed
    assert r["rc"] == 3 and r["outcome"] == "timeout"
    assert r["vfioctl"]["timedOut"] is True
    assert r["msg"] == r["vfioctl"]["devices"][0]["message"]
    assert "0000:03:00.0 is open" in r["msg"]
    assert driver_of(tree, "0000:03:00.0") == "vfio-pci"


def test_missing_device_and_bad_target(run_module, vfioctl_bin, tree):
    failed, r = run_module(vfioctl_device, args(vfioctl_bin, tree, target="0000:09:00.0"))
    assert failed and r["rc"] == 69 and r["outcome"] == "unavailable"
    assert r["msg"] == "no PCI device 0000:09:00.0 (not in /sys/bus/pci/devices)"
    failed, r = run_module(vfioctl_device, args(vfioctl_bin, tree, target="--force"))
    assert failed and r["rc"] == 64 and "invalid target '--force'" in r["msg"]


def test_option_errors_do_not_run_vfioctl(run_module, stub, stub_args, tree):
    binary = stub({}, 0)
    failed, r = run_module(vfioctl_device, dict(binary=binary, target="01:00.0", timeout="2s"))
    assert failed and "timeout applies to state=host" in r["msg"]
    failed, r = run_module(vfioctl_device, dict(binary=binary, target="01:00.0", state="host", force=True))
    assert failed and "state=vfio only" in r["msg"]
    with pytest.raises(FileNotFoundError):
        stub_args()


def test_missing_binary(run_module, tree):
    failed, r = run_module(vfioctl_device, dict(binary="vfioctl-not-installed-here", target="01:00.0"))
    assert failed and "vfioctl-not-installed-here" in r["msg"]


def test_output_that_is_not_json(run_module, tmp_path):
    failed, r = run_module(vfioctl_device, dict(binary="/bin/echo", target="01:00.0"))
    assert failed and "printed no JSON document" in r["msg"]


# --- what only a kernel or a holder produce: vfioctl's documents from a stub ----------------

BOUND = {
    "schemaVersion": 1, "command": "bind", "dryRun": False, "changed": True, "driver": "vfio-pci", "loadModule": "vfio-pci",
    "devices": [
        {"address": "0000:01:00.0", "group": 9, "action": "bind", "reason": "requested", "fromDriver": "e1000e",
         "fromOverride": None, "toDriver": "vfio-pci"},
        {"address": "0000:01:00.1", "group": 9, "action": "keep", "reason": "unbound", "fromDriver": None,
         "fromOverride": None, "toDriver": None},
    ],
    "steps": [], "groups": [{"id": 9, "viable": True, "node": "/dev/vfio/9"}], "forced": [], "warnings": [], "notes": [],
    "stateFile": "/run/vfioctl/state.json", "owner": None, "ownedNodes": [], "rules": [],
}


def test_a_bind_that_moved_is_changed(run_module, stub, stub_args):
    failed, r = run_module(vfioctl_device, dict(binary=stub(BOUND, 0), target=["01:00.0", "01:00.1"], group=True,
                                                driver="vfio-pci", root="/srv/fixture"), diff=True)
    assert not failed and r["changed"] is True
    assert stub_args() == ["bind", "--json", "--root", "/srv/fixture", "--driver", "vfio-pci", "--group", "--", "01:00.0", "01:00.1"]
    assert r["diff"] == dict(before="0000:01:00.0: e1000e\n0000:01:00.1: none\n", after="0000:01:00.0: vfio-pci\n0000:01:00.1: none\n")
    assert r["vfioctl"] == BOUND


HELD = {
    "schemaVersion": 1, "command": "unbind", "dryRun": False, "changed": False, "timedOut": True, "waitedSeconds": 2.01,
    "devices": [{"address": "0000:01:00.0", "group": 9, "action": "release", "reason": "requested", "source": "recorded",
                 "fromDriver": "vfio-pci", "fromOverride": "vfio-pci", "toDriver": "e1000e", "driver": "vfio-pci",
                 "result": "timed-out", "message": "0000:01:00.0 is held by pid 4242 (qemu-system-x86) through /dev/vfio/9"}],
    "steps": [], "holders": [{"pid": 4242, "command": "qemu-system-x86", "handles": [{"kind": "group", "path": "/dev/vfio/9"}]}],
    "warnings": [], "stateFile": "/run/vfioctl/state.json",
}


def test_a_held_device_fails_naming_the_holder(run_module, stub, stub_args):
    failed, r = run_module(vfioctl_device, dict(binary=stub(HELD, 3, "vfioctl: timed out after 2.0 s ...\n"), target="01:00.0",
                                                state="host", timeout="2s"))
    assert failed and r["rc"] == 3 and r["outcome"] == "timeout"
    assert stub_args() == ["unbind", "--json", "--timeout", "2s", "--", "01:00.0"]
    assert r["msg"] == "0000:01:00.0 is held by pid 4242 (qemu-system-x86) through /dev/vfio/9"
    assert [h["pid"] for h in r["holders"]] == [4242]
    assert r["vfioctl"] == HELD


def test_a_release_that_moved_is_changed(run_module, stub):
    doc = dict(HELD, changed=True, timedOut=False, holders=[])
    doc["devices"] = [dict(HELD["devices"][0], driver="e1000e", result="restored", message=None)]
    failed, r = run_module(vfioctl_device, dict(binary=stub(doc, 0), target="01:00.0", state="host"), diff=True)
    assert not failed and r["changed"] is True
    assert r["diff"] == dict(before="0000:01:00.0: vfio-pci\n", after="0000:01:00.0: e1000e\n")


def test_moves_from_documents():
    assert bind_moves(BOUND) == [("0000:01:00.0", "e1000e", "vfio-pci"), ("0000:01:00.1", None, None)]
    dry = dict(HELD, dryRun=True)
    dry["devices"] = [
        dict(HELD["devices"][0], source="kernel", toDriver=None),
        dict(HELD["devices"][0], address="0000:01:00.1", source="requested", toDriver=None),
        dict(HELD["devices"][0], address="0000:01:00.2", action="keep", fromDriver="e1000e"),
    ]
    assert release_moves(dry) == [("0000:01:00.0", "vfio-pci", "(kernel)"), ("0000:01:00.1", "vfio-pci", "none"),
                                  ("0000:01:00.2", "e1000e", "e1000e")]


def test_plan_changes():
    assert not plan_changes(dict(steps=[]))
    assert not plan_changes(dict(steps=[dict(kind="verify")]))
    assert plan_changes(dict(steps=[dict(kind="chown"), dict(kind="verify")]))
    assert plan_changes(dict(steps=[dict(kind="write")]))


def test_check_mode_owner_change_of_a_bound_device(run_module, stub):
    doc = dict(BOUND, dryRun=True, changed=False, owner=dict(user="qemu"))
    doc["devices"] = [dict(BOUND["devices"][0], action="keep", reason="already-bound", fromDriver="vfio-pci")]
    doc["steps"] = [dict(kind="chown", path="/dev/vfio/9", value="1000:0", address=None, driver=None, module=None, shell="chown 1000:0 /dev/vfio/9")]
    failed, r = run_module(vfioctl_device, dict(binary=stub(doc, 0), target="01:00.0", owner="qemu"), check=True)
    assert not failed and r["changed"] is True
