#!/usr/bin/python3
"""Checks vfioctl-agent.yaml without a cluster: it parses as YAML, and the DaemonSet is what
README.md promises (privileged, host PID namespace, the hostPath volumes, the ConfigMap as
/etc/vfioctl.conf.d with keys ending in .conf and a desired state vfioctl itself accepts, the
node selector matching the pod labels). Usage: check-manifest.py MANIFEST [VFIOCTL]
With VFIOCTL, each ConfigMap file is run through `VFIOCTL apply FILE --dry-run` on an empty
root (a temporary directory) to check it parses. Exits 1 with one line per problem."""
import os
import subprocess
import sys
import tempfile

import yaml


def main():
    manifest, vfioctl = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    docs = [d for d in yaml.safe_load_all(open(manifest)) if d]
    problems = []
    kinds = {d["kind"]: d for d in docs}
    for kind in ("Namespace", "ConfigMap", "DaemonSet"):
        if kind not in kinds:
            problems.append(f"no {kind}")
    if problems:
        return problems
    ds, cm = kinds["DaemonSet"], kinds["ConfigMap"]
    spec = ds["spec"]["template"]["spec"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    if ds["spec"]["selector"]["matchLabels"].items() - labels.items():
        problems.append("selector does not match the pod labels")
    selector = spec.get("nodeSelector", {})
    if "vfioctl.io/profile" not in selector:
        problems.append("no vfioctl.io/profile node selector")
    if not spec.get("hostPID"):
        problems.append("hostPID is not true: holders on the host would be invisible")
    (container,) = spec["containers"]
    if not container.get("securityContext", {}).get("privileged"):
        problems.append("container is not privileged")
    if container.get("args", [])[:2] != ["apply", "--watch"]:
        problems.append(f"args {container.get('args')} do not run apply --watch")
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    for path in ("/sys", "/dev", "/run/vfioctl", "/lib/modules"):
        mount = mounts.get(path)
        volume = volumes.get(mount["name"]) if mount else None
        if not volume or volume.get("hostPath", {}).get("path") != path:
            problems.append(f"{path} is not a hostPath mount of {path}")
    config = mounts.get("/etc/vfioctl.conf.d")
    if not config or volumes[config["name"]].get("configMap", {}).get("name") != cm["metadata"]["name"]:
        problems.append("/etc/vfioctl.conf.d is not the ConfigMap")
    if cm["metadata"]["namespace"] != ds["metadata"]["namespace"]:
        problems.append("ConfigMap and DaemonSet in different namespaces")
    for key, text in cm["data"].items():
        if not key.endswith(".conf"):
            problems.append(f"ConfigMap key {key} does not end in .conf (apply would skip it)")
        if vfioctl:
            with tempfile.TemporaryDirectory() as root:
                path = os.path.join(root, key)
                open(path, "w").write(text)
                os.makedirs(os.path.join(root, "sys/bus/pci/devices"))
                run = subprocess.run([vfioctl, "apply", path, "--dry-run", "--root", root], capture_output=True, text=True)
                # 0: nothing to do; 2: entries match nothing on an empty host. 64 is a parse error.
                if run.returncode not in (0, 2):
                    problems.append(f"ConfigMap {key}: {run.stderr.strip()}")
    return problems


if __name__ == "__main__":
    found = main()
    for p in found:
        print(f"{sys.argv[1]}: {p}")
    sys.exit(1 if found else 0)
