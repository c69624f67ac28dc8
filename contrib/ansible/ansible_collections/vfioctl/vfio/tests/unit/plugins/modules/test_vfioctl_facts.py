"""vfioctl_facts against the real vfioctl on a fixture tree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vfioctl.vfio.plugins.modules import vfioctl_facts


def test_facts(run_module, vfioctl_bin, tree):
    failed, r = run_module(vfioctl_facts, dict(binary=vfioctl_bin, root=tree), check=True)
    assert not failed and r["changed"] is False
    f = r["ansible_facts"]["vfioctl"]
    assert f["iommu_enabled"] is True
    assert f["drivers"] == {
        "0000:00:00.0": None, "0000:01:00.0": "e1000e", "0000:02:00.0": "vfio-pci", "0000:02:00.1": "snd_hda_intel",
        "0000:03:00.0": "vfio-pci", "0000:04:00.0": "igb", "0000:04:00.1": "igb",
    }
    assert f["verdicts"]["3"] == dict(viable=True, devices=["0000:03:00.0"], blockers=[])
    assert f["verdicts"]["1"]["viable"] is False
    assert f["verdicts"]["2"]["viable"] is False
    assert [b["address"] for b in f["verdicts"]["2"]["blockers"]] == ["0000:02:00.1"]
    assert [d["address"] for d in f["devices"] if d["vfioBound"]] == ["0000:02:00.0", "0000:03:00.0"]
    assert [g["id"] for g in f["groups"]] == [0, 1, 2, 3, 4]
    assert f["holders"] == {"0000:02:00.0": dict(state="free", pids=[]), "0000:03:00.0": dict(state="open-unattributed", pids=[])}
    assert f["holder_processes"] == []


def test_facts_without_holders(run_module, vfioctl_bin, tree):
    failed, r = run_module(vfioctl_facts, dict(binary=vfioctl_bin, root=tree, holders=False))
    assert not failed
    assert r["ansible_facts"]["vfioctl"]["holders"] == {}


def test_facts_on_a_missing_root_fail(run_module, vfioctl_bin, tmp_path):
    failed, r = run_module(vfioctl_facts, dict(binary=vfioctl_bin, root=str(tmp_path / "nothing")))
    assert failed and r["rc"] in (64, 69)
    assert r["msg"] == r["vfioctl"]["error"]["message"]
